// The platform that hosts the workspaces: its keys create and list workspaces, each with its
// first ADMIN and a key for that admin. A platform key belongs to no workspace and reads or
// changes nothing inside one; a workspace key never manages workspaces. This is the one
// service that works across workspaces, on the unscoped client, and only for platform keys.
import type { PrismaClient } from '../generated/prisma/client.js';
import { unauthenticated } from '../errors.js';
import { ALL_SCOPES, hashSecret, newSecret } from './api-keys.js';
import { normalizeEmail, requiredText } from './validation.js';

/** Platform secrets start with this, so that a request is routed to the right table at once. */
export const PLATFORM_KEY_PREFIX = 'prlp_';

export interface PlatformAuth {
  platformKeyId: string;
  /** The key's visible prefix, for the access log. */
  keyPrefix: string;
}

export function isPlatformSecret(secret: string): boolean {
  return secret.startsWith(PLATFORM_KEY_PREFIX);
}

/** Creates a platform key; its secret is returned this once. */
export async function createPlatformKey(prisma: PrismaClient, name: string): Promise<{ id: string; secret: string }> {
  const made = newSecret();
  const secret = `${PLATFORM_KEY_PREFIX}${made.secret.slice(4)}`;
  const key = await prisma.platformKey.create({
    data: { name: requiredText(name, 'name'), prefix: secret.slice(0, 13), secretHash: hashSecret(secret) },
    select: { id: true },
  });
  return { id: key.id, secret };
}

/** The platform key a secret names, or UNAUTHENTICATED (unknown or revoked). */
export async function authenticatePlatform(prisma: PrismaClient, secret: string, now = new Date()): Promise<PlatformAuth> {
  if (secret.length > 200) throw unauthenticated('The API key is not valid.');
  const key = await prisma.platformKey.findUnique({ where: { secretHash: hashSecret(secret) } });
  if (!key) throw unauthenticated('The API key is not valid.');
  if (key.revokedAt && key.revokedAt <= now) throw unauthenticated('The API key has been revoked.');
  // Written at most once a minute, as for workspace keys.
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > 60_000) {
    await prisma.platformKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
  }
  return { platformKeyId: key.id, keyPrefix: key.prefix };
}

export interface CreatedWorkspace {
  workspaceId: string;
  adminUserId: string;
  apiKeyId: string;
  /** The admin's key's secret, shown this once. */
  secret: string;
}

/**
 * A workspace with its first ADMIN and a TEAM key with every scope that acts as that admin,
 * in one transaction: nothing is left of a workspace that failed half-way.
 */
export async function createWorkspace(
  prisma: PrismaClient,
  input: { name: string; adminName: string; adminEmail: string; keyName?: string | null },
): Promise<CreatedWorkspace> {
  const name = requiredText(input.name, 'input.name');
  const adminName = requiredText(input.adminName, 'input.adminName');
  const adminEmail = normalizeEmail(input.adminEmail, 'input.adminEmail');
  const keyName = requiredText(input.keyName ?? `${adminName} (first admin)`, 'input.keyName');
  const { secret, prefix, secretHash } = newSecret();
  return prisma.$transaction(async (tx) => {
    const workspace = await tx.workspace.create({ data: { name }, select: { id: true } });
    const admin = await tx.user.create({ data: { workspaceId: workspace.id, name: adminName, email: adminEmail, role: 'ADMIN' }, select: { id: true } });
    const key = await tx.apiKey.create({
      data: { workspaceId: workspace.id, name: keyName, kind: 'TEAM', scopes: ALL_SCOPES, userId: admin.id, prefix, secretHash },
      select: { id: true },
    });
    return { workspaceId: workspace.id, adminUserId: admin.id, apiKeyId: key.id, secret };
  });
}
