// The operator's commands (workspaces, users, keys, platform keys, migrations), apart from
// the command line that parses them (src/cli/parley.ts): a running server imports this module
// to run the very same commands on its own open database when the command line reaches it
// through the data directory's control channel (src/control/channel.ts). Checking a command
// (plan) is kept apart from doing it (its work), so that usage errors are found before any
// database is opened, on either side of the channel. The rules stay in src/services/*.
import { loadConfig } from '../config.js';
import { migrate, type Database } from '../db/client.js';
import { scopeToWorkspace } from '../db/tenant.js';
import type { ApiKeyKind, Role, Scope } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { Events } from '../pubsub.js';
import { revokeApiKey } from '../services/admin.js';
import { ALL_SCOPES, createApiKey, scopeName } from '../services/api-keys.js';
import { createPlatformKey, createWorkspace, isPlatformSecret } from '../services/platform.js';
import { parseDateTime } from '../services/validation.js';
import { isUuid } from '../uuid.js';
import type { ControlChannel } from './channel.js';

/** The command or its options are wrong: exit status 2, with the usage. */
export class UsageError extends Error {}

export const USAGE = `usage: npm run parley -- <command> [options]
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

/** Every option a command takes; each takes a string. */
export const OPTION_NAMES = ['name', 'workspace', 'email', 'role', 'kind', 'scopes', 'user', 'expires', 'key', 'admin-name', 'admin-email'] as const;
export type Options = Partial<Record<(typeof OPTION_NAMES)[number], string>>;

/** The key an operator command may use to act through the running server's API. */
export const PLATFORM_KEY_ENV = 'PARLEY_PLATFORM_KEY';

/** Where a command's work runs: the command line's own database, or the running server's. */
export interface OperatorTarget {
  db: Database;
  /**
   * Set inside the running server: it applied the migrations when it started, and a
   * revocation is announced on its events, so that the key's live streams end at once.
   */
  server?: { pubsub: Events['pubsub'] };
}

export type Work = (target: OperatorTarget) => Promise<string>;
/** What a checked command does: work on a database, or a call to the running server's API. */
export type Job = { work: Work } | { api: () => Promise<string> };

/** A command's outcome as the command line shows it: what goes to stdout and stderr, and its exit status. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function required(values: Options, name: keyof Options): string {
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

/** Pending migrations first, on the command line's own database; the running server applied them when it started. */
async function migrated(target: OperatorTarget): Promise<void> {
  if (!target.server) await migrate(target.db);
}

/**
 * Checks the command and its options, and returns the work to do. Usage errors are found
 * here, before any database is opened: they need none, and they are reported even when a
 * server holds the PGlite data directory. `platformKey` (the command line's
 * PARLEY_PLATFORM_KEY) sends workspace:create to the server's API instead.
 */
export function plan(command: string, values: Options, env: { platformKey?: string } = {}): Job {
  switch (command) {
    case 'migrate':
      return {
        work: async (target) => {
          if (target.server) return 'nothing to apply: the running server applied the migrations when it started';
          const applied = await migrate(target.db);
          return applied.length ? `applied: ${applied.join(', ')}` : 'nothing to apply: the database is up to date';
        },
      };
    case 'workspace:create': {
      const name = required(values, 'name');
      const adminName = values['admin-name'];
      const adminEmail = values['admin-email'];
      if (!adminName !== !adminEmail) throw new UsageError('--admin-name and --admin-email go together');
      const platformKey = env.platformKey;
      if (platformKey) {
        if (!isPlatformSecret(platformKey)) throw new UsageError(`${PLATFORM_KEY_ENV} must be a platform key (prlp_...), not a workspace key`);
        if (!adminName || !adminEmail) throw new UsageError('through the API, a workspace is created with its first admin: --admin-name and --admin-email');
        return { api: () => createWorkspaceOverApi(platformKey, { name, adminName, adminEmail }) };
      }
      return {
        work: async (target) => {
          await migrated(target);
          const { prisma } = target.db;
          if (adminName && adminEmail) {
            const created = await createWorkspace(prisma, { name, adminName, adminEmail });
            return createdWorkspaceText({ ...created, name });
          }
          const ws = await prisma.workspace.create({ data: { name } });
          return `workspace ${ws.id} "${ws.name}"`;
        },
      };
    }
    case 'platform-key:create': {
      const name = required(values, 'name');
      return {
        work: async (target) => {
          await migrated(target);
          const key = await createPlatformKey(target.db.prisma, name);
          return `platform key ${key.id} created. Its secret, shown this once:\n\n  ${key.secret}\n`;
        },
      };
    }
    case 'user:create': {
      const workspaceId = required(values, 'workspace');
      const role = oneOf<Role>(values.role, ['ADMIN', 'AGENT'], 'role', 'AGENT');
      const name = required(values, 'name');
      const email = required(values, 'email').toLowerCase();
      return {
        work: async ({ db: { prisma } }) => {
          await prisma.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
          const user = await prisma.user.create({ data: { workspaceId, name, email, role } });
          return `user ${user.id} ${user.email} (${user.role})`;
        },
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
      return {
        work: async ({ db: { prisma } }) => {
          await prisma.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
          if (userId) await prisma.user.findFirstOrThrow({ where: { id: userId, workspaceId } });
          const key = await createApiKey(prisma, { workspaceId, name, kind, scopes, userId, expiresAt });
          return `key ${key.id} created. Its secret, shown this once:\n\n  ${key.secret}\n`;
        },
      };
    }
    case 'platform-key:list':
      return {
        work: async ({ db: { prisma } }) => {
          const keys = await prisma.platformKey.findMany({ orderBy: { createdAt: 'asc' } });
          return keys.map((k) => `${k.id}  ${k.prefix}…  ${k.revokedAt ? 'revoked' : 'active'}  ${k.name}`).join('\n') || 'no platform keys';
        },
      };
    case 'platform-key:revoke': {
      const ref = required(values, 'key');
      return {
        work: async ({ db: { prisma } }) => {
          const keys = await prisma.platformKey.findMany({ where: isUuid(ref) ? { id: ref } : { prefix: ref } });
          if (keys.length !== 1) throw new UsageError(keys.length ? `"${ref}" matches ${keys.length} platform keys: use the key id` : `no platform key "${ref}"`);
          await prisma.platformKey.update({ where: { id: keys[0]!.id }, data: { revokedAt: new Date() } });
          return `platform key ${keys[0]!.id} revoked`;
        },
      };
    }
    case 'key:revoke': {
      const ref = required(values, 'key');
      return {
        work: async ({ db: { prisma }, server }) => {
          const keys = await prisma.apiKey.findMany({ where: isUuid(ref) ? { id: ref } : { prefix: ref } });
          if (keys.length !== 1) throw new UsageError(keys.length ? `"${ref}" matches ${keys.length} keys: use the key id` : `no key "${ref}"`);
          const { id, workspaceId } = keys[0]!;
          // The revoke mutation's own service: inside the running server it also ends the key's
          // live streams and drops it from the auth cache at once.
          await revokeApiKey({ db: scopeToWorkspace(prisma, workspaceId), workspaceId, actor: { type: 'SYSTEM' }, pubsub: server?.pubsub }, { apiKeyId: id });
          return `key ${id} revoked`;
        },
      };
    }
    case 'key:list': {
      const workspaceId = required(values, 'workspace');
      return {
        work: async ({ db: { prisma } }) => {
          const keys = await prisma.apiKey.findMany({ where: { workspaceId }, orderBy: { createdAt: 'asc' } });
          return keys
            .map((k) => `${k.id}  ${k.prefix}…  ${k.kind}  ${k.scopes.map(scopeName).join(',')}  ${k.revokedAt ? 'revoked' : 'active'}  ${k.name}`)
            .join('\n');
        },
      };
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/** How a failed command reads: a usage error with the usage (exit 2), anything else as its message (exit 1), never a stack. */
export function failure(err: unknown): CommandResult {
  if (err instanceof UsageError) return { code: 2, stdout: '', stderr: `parley: ${err.message}\n${USAGE}\n` };
  const name = (err as { name?: string } | null)?.name;
  const message = err instanceof Error ? err.message : String(err);
  return { code: 1, stdout: '', stderr: `parley: ${name === 'PrismaClientKnownRequestError' ? 'not found or conflicting: ' : ''}${message}\n` };
}

/** Checks and runs a command against `target`, with the outcome the command line shows. */
export async function runCommand(command: string, values: Options, target: OperatorTarget): Promise<CommandResult> {
  try {
    const job = plan(command, values);
    if (!('work' in job)) throw new UsageError(`"${command}" cannot run inside the server`);
    return { code: 0, stdout: `${await job.work(target)}\n`, stderr: '' };
  } catch (err) {
    return failure(err);
  }
}

/** The control channel request that carries an operator command: `operator {"command": ..., "options": {...}}`. */
export const OPERATOR_REQUEST = 'operator';

export interface OperatorRequest {
  command: string;
  options: Options;
}

/** The request as the channel delivered it (any JSON): checked field by field, since any local process may send one. */
function operatorRequest(payload: unknown): OperatorRequest {
  const p = payload as { command?: unknown; options?: unknown } | null;
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw new Error('an operator request is a JSON object: {"command": "...", "options": {...}}');
  if (typeof p.command !== 'string') throw new Error('an operator request needs "command", a string');
  const raw = p.options ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('"options" of an operator request is an object of strings');
  const options: Options = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!(OPTION_NAMES as readonly string[]).includes(name)) throw new Error(`unknown option "${name.slice(0, 80)}"`);
    if (typeof value !== 'string') throw new Error(`option "${name}" must be a string`);
    options[name as keyof Options] = value;
  }
  return { command: p.command, options };
}

/**
 * Makes the running server answer operator commands on `channel`, against its own open
 * database. Returns the function to call when the server starts stopping: from then on a
 * command is refused (its database is about to close: the command line says to run it again),
 * and it resolves once the commands already running have finished.
 */
export function serveOperatorCommands(channel: ControlChannel, target: OperatorTarget & { server: object }, logger: Logger): () => Promise<void> {
  let stopping = false;
  const running = new Set<Promise<CommandResult>>();
  channel.handle(OPERATOR_REQUEST, async (payload): Promise<CommandResult> => {
    const { command, options } = operatorRequest(payload);
    if (stopping) return { code: 1, stdout: '', stderr: 'parley: the server is stopping: run the command again once it has stopped\n' };
    const run = runCommand(command, options, target);
    running.add(run);
    try {
      const result = await run;
      logger.info({ command, code: result.code }, 'operator command');
      return result;
    } finally {
      running.delete(run);
    }
  });
  return async () => {
    stopping = true;
    await Promise.all(running);
  };
}
