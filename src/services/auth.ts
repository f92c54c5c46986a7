// Who is calling: an API key, sent as `X-API-Key: <secret>` or `Authorization: Bearer <secret>`.
// Keys in query strings or cookies are ignored: they leak into logs and browsers.
import type { ApiKeyKind, PrismaClient, Scope } from '../generated/prisma/client.js';
import { unauthenticated } from '../errors.js';
import { hashSecret } from './api-keys.js';

export interface AuthInfo {
  workspaceId: string;
  apiKeyId: string;
  /** The key's visible prefix (the first characters of its secret, shown in the API and logs). */
  keyPrefix: string;
  kind: ApiKeyKind;
  scopes: ReadonlySet<Scope>;
  /** The team member the key acts as: "me". Null for a key that acts as no user. */
  userId: string | null;
}

/** The secret a request carries, or null when it carries none. */
export function secretFromHeaders(headers: { get(name: string): string | null }): string | null {
  const apiKey = headers.get('x-api-key')?.trim();
  if (apiKey) return apiKey;
  const authorization = headers.get('authorization')?.trim();
  if (!authorization) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (!match) throw unauthenticated('The Authorization header must be "Bearer <api key>".');
  return match[1]!;
}

/** lastUsedAt is written at most once a minute per key, not on every request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Keys authenticated in the last `ttlMs`, so that a busy key is not looked up on every request
 * (one statement and one Prisma call less per request: about a quarter of a dashboard page's
 * time). Revoking or rotating a key through the API publishes it on KEY_REVOKED_TOPIC, which
 * drops it at once in every process that shares the pubsub; a key revoked by other means (the
 * operator command, SQL) stops within `ttlMs`. Expiry is checked on every request.
 */
export class AuthCache {
  private readonly entries = new Map<string, { auth: AuthInfo; keyExpiresAt: number | null; until: number }>();
  constructor(
    readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(secretHash: string, now: number): AuthInfo | 'expired' | null {
    const entry = this.entries.get(secretHash);
    if (!entry || entry.until <= now) return null;
    return entry.keyExpiresAt !== null && entry.keyExpiresAt <= now ? 'expired' : entry.auth;
  }

  set(secretHash: string, auth: AuthInfo, keyExpiresAt: Date | null, now: number) {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(secretHash, { auth, keyExpiresAt: keyExpiresAt?.getTime() ?? null, until: now + this.ttlMs });
  }

  /** Forgets every secret of this key (after a revocation or a rotation). */
  dropKey(apiKeyId: string) {
    for (const [hash, entry] of this.entries) if (entry.auth.apiKeyId === apiKeyId) this.entries.delete(hash);
  }
}

export async function authenticate(prisma: PrismaClient, secret: string, now = new Date(), cache?: AuthCache): Promise<AuthInfo> {
  if (secret.length > 200) throw unauthenticated('The API key is not valid.');
  const secretHash = hashSecret(secret);
  const cached = cache?.get(secretHash, now.getTime());
  if (cached === 'expired') throw unauthenticated('The API key has expired.');
  if (cached) return cached;
  const key = await prisma.apiKey.findUnique({ where: { secretHash } });
  if (!key) throw unauthenticated('The API key is not valid.');
  if (key.revokedAt && key.revokedAt <= now) throw unauthenticated('The API key has been revoked.');
  if (key.expiresAt && key.expiresAt <= now) throw unauthenticated('The API key has expired.');
  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await prisma.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now } });
  }
  const auth: AuthInfo = {
    workspaceId: key.workspaceId,
    apiKeyId: key.id,
    keyPrefix: key.prefix,
    kind: key.kind,
    scopes: new Set(key.scopes),
    userId: key.userId,
  };
  cache?.set(secretHash, auth, key.expiresAt, now.getTime());
  return auth;
}
