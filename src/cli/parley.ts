// `npm run parley -- <command>`: the operator's command line. It works on the database the
// environment names: DATABASE_URL (opened directly, beside any running servers), or PGlite in
// DATA_DIR. A PGlite data directory held by a running Parley is never opened a second time:
// the command goes through the server's control channel (the socket in the data directory,
// which only the server's user can open) and the server runs it on its own database.
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
//
// The commands themselves are in src/control/operator.ts; this file parses and prints.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { ControlChannelError, requestChannel } from '../control/channel.js';
import {
  failure,
  OPERATOR_REQUEST,
  OPTION_NAMES,
  PLATFORM_KEY_ENV,
  plan,
  UsageError,
  type CommandResult,
  type Options,
  type OperatorRequest,
} from '../control/operator.js';
import { openDatabase, type Database } from '../db/client.js';
import { DataDirInUseError, ownerSocketPath } from '../db/data-dir-lock.js';

/** How long the running server may take over a command (it shares its one PGlite connection with its requests). */
const CHANNEL_TIMEOUT_MS = 60_000;

function parseCommandLine(): { command: string; options: Options } {
  try {
    const { positionals, values } = parseArgs({
      allowPositionals: true,
      options: Object.fromEntries(OPTION_NAMES.map((o) => [o, { type: 'string' as const }])),
    });
    return { command: positionals[0] ?? '', options: values as Options };
  } catch (err) {
    // An unknown option or one without its value: node:util's message says which.
    throw new UsageError((err as Error).message);
  }
}

function isCommandResult(v: unknown): v is CommandResult {
  const r = v as CommandResult | null;
  return !!r && typeof r === 'object' && typeof r.code === 'number' && typeof r.stdout === 'string' && typeof r.stderr === 'string';
}

/**
 * Sends the command to the Parley process that owns the data directory, which runs it on its
 * own database. Undefined when that owner is gone by now (it stopped between the lock's answer
 * and this request): the caller tries the directory again.
 */
async function throughRunningServer(inUse: DataDirInUseError, dataDir: string, request: OperatorRequest): Promise<CommandResult | undefined> {
  const path = ownerSocketPath(dataDir);
  if (!path) return undefined;
  let answer: unknown;
  try {
    answer = await requestChannel(path, OPERATOR_REQUEST, request, CHANNEL_TIMEOUT_MS);
  } catch (err) {
    if (!(err instanceof ControlChannelError)) throw err;
    if (!err.listening) return undefined;
    const owner = `the Parley process that owns the data directory ${inUse.dir} (pid ${inUse.pid ?? 'unknown'})`;
    if (err.message.startsWith(`unknown command "${OPERATOR_REQUEST}"`)) {
      throw new Error(`${owner} does not take operator commands: it is still starting (run the command again once it listens), or older than this command (stop it first)`);
    }
    throw new Error(`${owner} could not take the command "${request.command}": ${err.message}`);
  }
  if (!isCommandResult(answer)) throw new Error(`the Parley process that owns ${dataDir} answered something that is not a command's result`);
  return answer;
}

async function main(): Promise<CommandResult> {
  const { command, options } = parseCommandLine();
  const job = plan(command, options, { platformKey: process.env[PLATFORM_KEY_ENV] });
  if (!('work' in job)) return { code: 0, stdout: `${await job.api()}\n`, stderr: '' };
  const config = loadConfig();
  // Twice at most: an owner that stops while asked leaves the directory to this command.
  for (let attempt = 0; ; attempt++) {
    let db: Database;
    try {
      db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DATABASE_POOL_SIZE, preparedStatements: config.PG_PREPARED_STATEMENTS });
    } catch (err) {
      if (!(err instanceof DataDirInUseError)) throw err;
      const result = await throughRunningServer(err, config.DATA_DIR, { command, options });
      if (result) return result;
      if (attempt >= 1) throw err;
      continue;
    }
    try {
      return { code: 0, stdout: `${await job.work({ db })}\n`, stderr: '' };
    } finally {
      await db.close();
    }
  }
}

main()
  .catch(failure)
  // Exits once both are written (a pipe may be asynchronous): nothing else is left to wait for.
  .then(({ code, stdout, stderr }) => process.stdout.write(stdout, () => process.stderr.write(stderr, () => process.exit(code))));
