// `npm run parley -- <command>`: the operator's command line. It works on the database the
// environment names (DATABASE_URL, or PGlite in DATA_DIR, which no server may hold then).
//
//   migrate                                   apply pending migrations
//   workspace:create --name <name>            create a workspace (no demo data)
//   user:create --workspace <id> --name <n> --email <e> [--role ADMIN|AGENT]
//   key:create --workspace <id> --name <n> [--kind TEAM|CONNECTOR] [--scopes read:conversations,...]
//              [--user <user id>] [--expires <ISO date>]   prints the secret, once
//   key:revoke --key <key id or prefix>
//   key:list --workspace <id>
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { migrate, openDatabase, type Database } from '../db/client.js';
import type { ApiKeyKind, Role, Scope } from '../generated/prisma/client.js';
import { ALL_SCOPES, createApiKey, scopeName } from '../services/api-keys.js';
import { parseDateTime } from '../services/validation.js';
import { isUuid } from '../uuid.js';

class UsageError extends Error {}

const USAGE = `usage: npm run parley -- <command> [options]
  migrate
  workspace:create --name <name>
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

/**
 * Checks the command and its options, and returns the work to do on the database. Usage
 * errors are found here, before the database is opened: they need no database, and they
 * are reported even when a server holds the PGlite data directory.
 */
function plan(command: string, values: Record<string, string | undefined>): Work {
  switch (command) {
    case 'migrate':
      return async (db) => {
        const applied = await migrate(db);
        return applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the database is up to date';
      };
    case 'workspace:create': {
      const name = required(values, 'name');
      return async (db) => {
        await migrate(db);
        const ws = await db.prisma.workspace.create({ data: { name } });
        return `workspace ${ws.id} "${ws.name}"`;
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
      ['name', 'workspace', 'email', 'role', 'kind', 'scopes', 'user', 'expires', 'key'].map((o) => [o, { type: 'string' as const }]),
    ),
  });
  const work = plan(positionals[0] ?? '', values as Record<string, string | undefined>);
  const config = loadConfig();
  const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
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
