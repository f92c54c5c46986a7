// Administration of a workspace: inboxes, team members and API keys. Every call needs the
// admin scope (checked by the schema); managing team members and keys also needs the
// acting user, if the key acts as one, to have the ADMIN role: an agent's key cannot mint
// keys or promote people, whatever scopes it was given.
import type { ApiKeyKind, Availability, Channel, Role, Scope } from '../generated/prisma/client.js';
import { DuplicateError, NotFoundError, forbidden } from '../errors.js';
import { violatedConstraint } from '../db/unique-violation.js';
import { KEY_REVOKED_TOPIC } from '../pubsub.js';
import { revokedHere } from '../subscriptions/live-stream.js';
import { newSecret } from './api-keys.js';
import { inTransaction, type ServiceContext } from './timeline.js';
import { checkFuture, normalizeEmail, requiredText } from './validation.js';

/** Refuses when the acting user is an AGENT (a key acting as no user is the workspace's own). */
export async function requireAdminRole(ctx: ServiceContext, what: string): Promise<void> {
  if (!ctx.actor.userId) return;
  const user = await ctx.db.user.findUnique({ where: { id: ctx.actor.userId }, select: { role: true } });
  if (user?.role !== 'ADMIN') {
    throw forbidden(`Only an ADMIN may ${what}; this key acts as an ${user?.role ?? 'unknown'} user.`, { requiredRole: 'ADMIN' });
  }
}

async function uniqueOr<T>(work: () => Promise<T>, entity: string, field: string): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (violatedConstraint(e)) throw new DuplicateError(entity, field, null);
    throw e;
  }
}

export async function createInbox(ctx: ServiceContext, input: { name: string; channel: Channel }) {
  return ctx.db.inbox.create({
    data: { workspaceId: ctx.workspaceId, name: requiredText(input.name, 'input.name'), channel: input.channel },
  });
}

export async function updateInbox(ctx: ServiceContext, input: { inboxId: string; name?: string | null }) {
  const inbox = await ctx.db.inbox.findUnique({ where: { id: input.inboxId } });
  if (!inbox) throw new NotFoundError('Inbox', input.inboxId);
  if (input.name == null) return inbox;
  return ctx.db.inbox.update({ where: { id: inbox.id }, data: { name: requiredText(input.name, 'input.name') } });
}

export async function inviteUser(ctx: ServiceContext, input: { name: string; email: string; role?: Role | null }) {
  await requireAdminRole(ctx, 'invite team members');
  const email = normalizeEmail(input.email, 'input.email');
  const existing = await ctx.db.user.findFirst({ where: { email }, select: { id: true } });
  if (existing) throw new DuplicateError('User', 'email', existing.id);
  return uniqueOr(
    () =>
      ctx.db.user.create({
        data: { workspaceId: ctx.workspaceId, name: requiredText(input.name, 'input.name'), email, role: input.role ?? 'AGENT', availability: 'OFFLINE' },
      }),
    'User',
    'email',
  );
}

export async function updateUser(
  ctx: ServiceContext,
  input: { userId: string; name?: string | null; role?: Role | null; availability?: Availability | null },
) {
  const user = await ctx.db.user.findUnique({ where: { id: input.userId } });
  if (!user) throw new NotFoundError('User', input.userId);
  // Anyone with the admin scope may set availability; names and roles are for ADMINs.
  if (input.role != null || input.name != null) await requireAdminRole(ctx, "change a team member's name or role");
  return inTransaction(ctx, async (tx) => {
    if (input.role === 'AGENT') {
      // Locks the workspace's ADMIN rows and decides on what they hold now (not on the row
      // read before): two demotions at once cannot both see "another admin is left".
      const admins = await tx.$queryRaw<{ id: string }[]>`
        SELECT "id" FROM "user" WHERE "workspace_id" = ${ctx.workspaceId}::uuid AND "role" = 'ADMIN' FOR UPDATE`;
      if (admins.length <= 1 && admins.some((a) => a.id === user.id)) {
        throw forbidden('The last ADMIN of a workspace cannot be demoted.');
      }
    }
    return tx.user.update({
      where: { id: user.id },
      data: {
        ...(input.name != null ? { name: requiredText(input.name, 'input.name') } : {}),
        ...(input.role != null ? { role: input.role } : {}),
        ...(input.availability != null ? { availability: input.availability } : {}),
      },
    });
  });
}

export interface ApiKeyInput {
  name: string;
  kind?: ApiKeyKind | null;
  scopes: Scope[];
  userId?: string | null;
  expiresAt?: Date | null;
}

export async function createApiKey(ctx: ServiceContext, input: ApiKeyInput) {
  await requireAdminRole(ctx, 'create API keys');
  if (input.userId) {
    const user = await ctx.db.user.findUnique({ where: { id: input.userId }, select: { id: true } });
    if (!user) throw new NotFoundError('User', input.userId);
  }
  const { secret, prefix, secretHash } = newSecret();
  const key = await ctx.db.apiKey.create({
    data: {
      workspaceId: ctx.workspaceId,
      name: requiredText(input.name, 'input.name'),
      kind: input.kind ?? 'TEAM',
      scopes: [...new Set(input.scopes)],
      userId: input.userId ?? null,
      expiresAt: input.expiresAt ? checkFuture(input.expiresAt, 'input.expiresAt') : null,
      prefix,
      secretHash,
    },
  });
  return { key, secret };
}

/** A new secret for the same key (same id, scopes and user); the old secret stops at once. */
export async function rotateApiKey(ctx: ServiceContext, input: { apiKeyId: string }) {
  await requireAdminRole(ctx, 'rotate API keys');
  const existing = await ctx.db.apiKey.findUnique({ where: { id: input.apiKeyId } });
  if (!existing || existing.revokedAt) throw new NotFoundError('ApiKey', input.apiKeyId);
  const { secret, prefix, secretHash } = newSecret();
  const key = await ctx.db.apiKey.update({ where: { id: existing.id }, data: { prefix, secretHash } });
  announceRevocation(ctx, key.id);
  return { key, secret };
}

export async function revokeApiKey(ctx: ServiceContext, input: { apiKeyId: string }) {
  await requireAdminRole(ctx, 'revoke API keys');
  const existing = await ctx.db.apiKey.findUnique({ where: { id: input.apiKeyId } });
  if (!existing) throw new NotFoundError('ApiKey', input.apiKeyId);
  if (existing.revokedAt) return existing;
  const key = await ctx.db.apiKey.update({ where: { id: existing.id }, data: { revokedAt: new Date() } });
  announceRevocation(ctx, key.id);
  return key;
}

/** Live connections authenticated with the old secret close at once (otherwise within seconds). */
function announceRevocation(ctx: ServiceContext, apiKeyId: string) {
  revokedHere(apiKeyId);
  ctx.pubsub?.publish(KEY_REVOKED_TOPIC, { apiKeyId });
}
