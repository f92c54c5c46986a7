// `npm run parley -- <command>`: the operator's command line. It works on the database the
// environment names (DATABASE_URL, or PGlite in DATA_DIR, which no server may hold then).
//
//   migrate                                   apply pending migrations
//   workspace:create --name <name> [--admin-name <n> --admin-email <e>]
//                                             create a workspace (no demo data), with its first
//                                             ADMIN and their key when named. With
//                                             PARLEY_PLATFORM_KEY set, through the running
//                                             server's API (PARLEY_URL) instead of the database
//   platform-key:create --name <name>         a platform key (creates and lists workspaces over
//                                             the API); prints the secret, once
//   platform-key:list, platform-key:revoke --key <key id or prefix>
//   user:create --workspace <id> --name <n> --email <e> [--role ADMIN|AGENT]
//   key:create --workspace <id> --name <n> [--kind TEAM|CONNECTOR] [--scopes read:conversations,...]
//              [--user <user id>] [--expires <ISO date>]   prints the secret, once
//   key:revoke --key <key id or prefix>
//   key:list --workspace <id>
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { migrate, openDatabase, type Database } from '../db/client.js';
import type { ApiKeyKind, Role, Scope } from '../generated/prisma/client.js';
import { DataDirInUseError } from '../db/data-dir-lock.js';
import { ALL_SCOPES, createApiKey, scopeName } from '../services/api-keys.js';
import { createPlatformKey, createWorkspace, isPlatformSecret } from '../services/platform.js';
import { parseDateTime } from '../services/validation.js';
import { isUuid } from '../uuid.js';

class UsageError extends Error {}

const USAGE = `usage: npm run parley -- <command> [options]
  migrate
  workspace:create --name <name> [--admin-name <name> --admin-email <email>]
      (with PARLEY_PLATFORM_KEY: through the running server's API at PARLEY_URL, default http://HOST:PORT)
  platform-key:create --name <name>
  platform-key:list
  platform-key:revoke --key <key id or prefix>
  user:create --workspace <id> --name <name> --email <email> [--role ADMIN|AGENT]
  key:create --workspace <id> --name <name> [--kind TEAM|CONNECTOR] [--scopes a,b] [--user <id>] [--expires <ISO date>]
  key:revoke --key <key id or prefix>
  key:list --workspace <id>
scopes: ${ALL_SCOPES.map(scopeName).join(', ')}`;

function required(values: Record<string, string | undefined>, name: string): string {
  const v = values[name];
  if (!v) throw new UsageError(`--${name} is required`);
  return v;
}

function parseScopes(raw: string | undefined): Scope[] {
  if (!raw) return ALL_SCOPES;
  return raw.split(',').map((s) => {
    const scope = ALL_SCOPES.find((known) => scopeName(known) === s.trim() || known === s.trim());
    if (!scope) throw new UsageError(`unknown scope "${s}"; known: ${ALL_SCOPES.map(scopeName).join(', ')}`);
    return scope;
  });
}

function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], name: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

type Work = (db: Database) => Promise<string>;

/** The key an operator command may use to act through the running server's API. */
const PLATFORM_KEY_ENV = 'PARLEY_PLATFORM_KEY';

/** The running server's base URL: PARLEY_URL, or the address the configuration makes it listen on. */
function serverUrl(): string {
  if (process.env.PARLEY_URL) return process.env.PARLEY_URL.replace(/\/+$/, '');
  const { HOST, PORT } = loadConfig();
  const host = HOST === '0.0.0.0' ? '127.0.0.1' : HOST === '::' ? '[::1]' : HOST.includes(':') ? `[${HOST}]` : HOST;
  return `http://${host}:${PORT}`;
}

const localId = (globalId: string) => Buffer.from(globalId, 'base64').toString().split(':').slice(1).join(':');

/** workspace:create through the API of a running server, with a platform key: the data directory is never opened. */
async function createWorkspaceOverApi(key: string, input: { name: string; adminName: string; adminEmail: string }): Promise<string> {
  const url = serverUrl();
  let res: Response;
  try {
    res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key },
      body: JSON.stringify({
        query: `mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) {
          __typename ... on CreateWorkspacePayload { workspace { id name } adminUserId apiKeyId secret } ... on Error { message } } }`,
        variables: { input },
      }),
    });
  } catch (err) {
    throw new Error(`could not reach the server at ${url} (set PARLEY_URL): ${(err as Error).cause ?? (err as Error).message}`);
  }
  const body = (await res.json().catch(() => null)) as { data?: { createWorkspace?: Record<string, any> | null }; errors?: { message: string }[] } | null;
  if (body?.errors?.length) throw new Error(`the server at ${url} refused: ${body.errors.map((e) => e.message).join('; ')}`);
  const created = body?.data?.createWorkspace;
  if (!created) throw new Error(`the server at ${url} answered ${res.status} without a result`);
  if (created.__typename !== 'CreateWorkspacePayload') throw new UsageError(created.message as string);
  return createdWorkspaceText({
    workspaceId: localId(created.workspace.id),
    name: created.workspace.name,
    adminUserId: localId(created.adminUserId),
    apiKeyId: localId(created.apiKeyId),
    secret: created.secret,
  });
}

function createdWorkspaceText(w: { workspaceId: string; name: string; adminUserId: string; apiKeyId: string; secret: string }): string {
  return (
    `workspace ${w.workspaceId} "${w.name}"\nadmin user ${w.adminUserId}\n` +
    `key ${w.apiKeyId} created for the admin. Its secret, shown this once:\n\n  ${w.secret}\n`
  );
}

/**
 * Checks the command and its options, and returns the work to do on the database. Usage
 * errors are found here, before the database is opened: they need no database, and they
 * are reported even when a server holds the PGlite data directory.
 */
function plan(command: string, values: Record<string, string | undefined>): Work | { api: () => Promise<string> } {
  switch (command) {
    case 'migrate':
      return async (db) => {
        const applied = await migrate(db);
        return applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the database is up to date';
      };
    case 'workspace:create': {
      const name = required(values, 'name');
      const adminName = values['admin-name'];
      const adminEmail = values['admin-email'];
      if (!adminName !== !adminEmail) throw new UsageError('--admin-name and --admin-email go together');
      const platformKey = process.env[PLATFORM_KEY_ENV];
      if (platformKey) {
        if (!isPlatformSecret(platformKey)) throw new UsageError(`${PLATFORM_KEY_ENV} must be a platform key (prlp_...), not a workspace key`);
        if (!adminName || !adminEmail) throw new UsageError('through the API, a workspace is created with its first admin: --admin-name and --admin-email');
        return { api: () => createWorkspaceOverApi(platformKey, { name, adminName, adminEmail }) };
      }
      return async (db) => {
        await migrate(db);
        if (adminName && adminEmail) {
          const created = await createWorkspace(db.prisma, { name, adminName, adminEmail });
          return createdWorkspaceText({ ...created, name });
        }
        const ws = await db.prisma.workspace.create({ data: { name } });
        return `workspace ${ws.id} "${ws.name}"`;
      };
    }
    case 'platform-key:create': {
      const name = required(values, 'name');
      return async (db) => {
        await migrate(db);
        const key = await createPlatformKey(db.prisma, name);
        return `platform key ${key.id} created. Its secret, shown this once:\n\n  ${key.secret}\n`;
      };
    }
    case 'user:create': {
      const workspaceId = required(values, 'workspace');
      const role = oneOf<Role>(values.role, ['ADMIN', 'AGENT'], 'role', 'AGENT');
      const name = required(values, 'name');
      const email = required(values, 'email').toLowerCase();
      return async ({ prisma }) => {
        await prisma.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
        const user = await prisma.user.create({ data: { workspaceId, name, email, role } });
        return `user ${user.id} ${user.email} (${user.role})`;
      };
    }
    case 'key:create': {
      const workspaceId = required(values, 'workspace');
      const kind = oneOf<ApiKeyKind>(values.kind, ['TEAM', 'CONNECTOR'], 'kind', 'TEAM');
      const scopes = parseScopes(values.scopes);
      const name = required(values, 'name');
      const userId = values.user ?? null;
      const expires = values.expires ? parseDateTime(values.expires) : null;
      if (expires && 'problem' in expires) throw new UsageError(`--expires: ${expires.problem}`);
      const expiresAt = expires?.date ?? null;
      return async ({ prisma }) => {
        await prisma.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
        if (userId) await prisma.user.findFirstOrThrow({ where: { id: userId, workspaceId } });
        const key = await createApiKey(prisma, { workspaceId, name, kind, scopes, userId, expiresAt });
        return `key ${key.id} created. Its secret, shown this once:\n\n  ${key.secret}\n`;
      };
    }
    case 'platform-key:list':
      return async ({ prisma }) => {
        const keys = await prisma.platformKey.findMany({ orderBy: { createdAt: 'asc' } });
        return keys.map((k) => `${k.id}  ${k.prefix}…  ${k.revokedAt ? 'revoked' : 'active'}  ${k.name}`).join('\n') || 'no platform keys';
      };
    case 'platform-key:revoke': {
      const ref = required(values, 'key');
      return async ({ prisma }) => {
        const keys = await prisma.platformKey.findMany({ where: isUuid(ref) ? { id: ref } : { prefix: ref } });
        if (keys.length !== 1) throw new UsageError(keys.length ? `"${ref}" matches ${keys.length} platform keys: use the key id` : `no platform key "${ref}"`);
        await prisma.platformKey.update({ where: { id: keys[0]!.id }, data: { revokedAt: new Date() } });
        return `platform key ${keys[0]!.id} revoked`;
      };
    }
    case 'key:revoke': {
      const ref = required(values, 'key');
      return async ({ prisma }) => {
        const isId = isUuid(ref);
        const keys = await prisma.apiKey.findMany({ where: isId ? { id: ref } : { prefix: ref } });
        if (keys.length !== 1) throw new UsageError(keys.length ? `"${ref}" matches ${keys.length} keys: use the key id` : `no key "${ref}"`);
        await prisma.apiKey.update({ where: { id: keys[0]!.id }, data: { revokedAt: new Date() } });
        return `key ${keys[0]!.id} revoked`;
      };
    }
    case 'key:list': {
      const workspaceId = required(values, 'workspace');
      return async ({ prisma }) => {
        const keys = await prisma.apiKey.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } });
        return keys
          .map((k) => `${k.id}  ${k.prefix}…  ${k.kind}  ${k.scopes.map(scopeName).join(',')}  ${k.revokedAt ? 'revoked' : 'active'}  ${k.name}`)
          .join('\n');
      };
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: Object.fromEntries(
      ['name', 'workspace', 'email', 'role', 'kind', 'scopes', 'user', 'expires', 'key', 'admin-name', 'admin-email'].map((o) => [o, { type: 'string' as const }]),
    ),
  });
  const command = positionals[0] ?? '';
  const work = plan(command, values as Record<string, string | undefined>);
  if (typeof work !== 'function') {
    process.stdout.write(`${await work.api()}\n`);
    return;
  }
  const config = loadConfig();
  let db: Database;
  try {
    db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
  } catch (err) {
    if (err instanceof DataDirInUseError && command === 'workspace:create') {
      throw new Error(`${err.message}\nTo create a workspace while it runs, go through its API: set ${PLATFORM_KEY_ENV} to a platform key (and PARLEY_URL if it is not at HOST:PORT).`);
    }
    throw err;
  }
  try {
    process.stdout.write(`${await work(db)}\n`);
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  if (err instanceof UsageError) {
    process.stderr.write(`parley: ${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const name = (err as { name?: string }).name;
  process.stderr.write(`parley: ${name === 'PrismaClientKnownRequestError' ? 'not found or conflicting: ' : ''}${(err as Error).message}\n`);
  process.exit(1);
});
