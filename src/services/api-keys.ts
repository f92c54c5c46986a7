// API keys: the secret is shown once at creation; only its SHA-256 is stored, with a
// short visible prefix so that people can tell their keys apart.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKeyKind, PrismaClient, Scope } from '../generated/prisma/client.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const KEY_PREFIX = 'prl_';
const PREFIX_LENGTH = 12;

function base62(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newSecret(): { secret: string; prefix: string; secretHash: string } {
  const secret = `${KEY_PREFIX}${base62(randomBytes(40))}`;
  return { secret, prefix: secret.slice(0, PREFIX_LENGTH), secretHash: hashSecret(secret) };
}

export const ALL_SCOPES: Scope[] = [
  'READ_CONVERSATIONS',
  'WRITE_CONVERSATIONS',
  'READ_CONTACTS',
  'WRITE_CONTACTS',
  'ADMIN',
];

/** `read:conversations` <-> READ_CONVERSATIONS: the wire form people type, and the enum. */
export function scopeName(scope: Scope): string {
  const [verb, ...rest] = scope.toLowerCase().split('_');
  return rest.length ? `${verb}:${rest.join('_')}` : verb!;
}

export interface CreatedKey {
  id: string;
  secret: string;
}

/** Creates a key. Used by the operator command and the demo seed (the admin API comes later). */
export async function createApiKey(
  prisma: PrismaClient,
  input: { workspaceId: string; name: string; kind?: ApiKeyKind; scopes?: Scope[]; userId?: string | null; expiresAt?: Date | null },
): Promise<CreatedKey> {
  const { secret, prefix, secretHash } = newSecret();
  const key = await prisma.apiKey.create({
    data: {
      workspaceId: input.workspaceId,
      name: input.name,
      kind: input.kind ?? 'TEAM',
      scopes: input.scopes ?? ALL_SCOPES,
      userId: input.userId ?? null,
      expiresAt: input.expiresAt ?? null,
      prefix,
      secretHash,
    },
    select: { id: true },
  });
  return { id: key.id, secret };
}
