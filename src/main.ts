// `npm start`: a Parley server. One process by default; with WORKERS > 1, a primary and that
// many worker processes on the same port (src/cluster.ts). Stops cleanly on SIGTERM and SIGINT.
import cluster from 'node:cluster';
import { setFlagsFromString } from 'node:v8';
import { startParley, type UnusedDemoKey } from './app.js';
import { startPrimary, WORKER_ENV } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DataDirError } from './db/data-dir-lock.js';
import { createLogger, type Logger } from './logger.js';

// A request allocates a lot that dies young (rows, results, the response): a young generation of
// up to 32 MB per semi-space instead of V8's 16 MB cut the inbox page's CPU by about 10 %
// (bench/cpu.ts). Left alone when the operator sets it in NODE_OPTIONS or on the command line.
if (!/max-semi-space-size/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)) setFlagsFromString('--max-semi-space-size=32');

function printDemoKey(url: string, demoKey: string) {
  process.stdout.write(
    `\nCreated the demo workspace. Its API key (shown once, keep it):\n\n  ${demoKey}\n\n` +
      `Open ${url}/graphql and send it as the X-API-Key header, or:\n\n` +
      `  curl -s ${url}/graphql -H 'content-type: application/json' -H 'x-api-key: ${demoKey}' \\\n` +
      `    -d '{"query":"{ viewer { workspace { name } } }"}'\n\n`,
  );
}

const shellWord = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The demo's key is printed once, when the demo is created. A start stopped between the
 * seed's commit and that printing (or one that could not listen after seeding) never showed
 * it; until a key of the demo workspace is used, each start says how to make another.
 */
function printUnusedDemoKeyNote(config: Config, demo: UnusedDemoKey) {
  const command =
    `npm run parley -- key:create --workspace ${demo.workspaceId} --name "Demo key"` + (demo.userId ? ` --user ${demo.userId}` : '');
  const how = config.DATABASE_URL
    ? `create another with the same DATABASE_URL:\n\n  ${command}\n`
    : `stop Parley (one process owns the data directory) and create another:\n\n  DATA_DIR=${shellWord(config.DATA_DIR)} ${command}\n`;
  process.stdout.write(
    `\nThe demo workspace's API key has not been used yet (or it has none). If you do not have one (a key is shown once, when the demo is created), ${how}\n` +
      'This note stops once a key of the demo workspace is used (or with SEED_DEMO=false).\n\n',
  );
}

/**
 * Stops on the first SIGTERM or SIGINT; later ones (a group signal, an impatient operator) wait
 * for that stop. Returns the same stop, for other reasons to stop.
 */
function onSignals(logger: Logger, stop: () => Promise<void>): (why: { signal: NodeJS.Signals } | { reason: string }) => void {
  let shuttingDown = false;
  const shutdown = (why: { signal: NodeJS.Signals } | { reason: string }) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info(why, 'shutting down');
    stop().then(
      () => process.exit(process.exitCode ?? 0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown({ signal: 'SIGTERM' }));
  process.on('SIGINT', () => shutdown({ signal: 'SIGINT' }));
  return shutdown;
}

/**
 * Under `npm start` (which execs this process, with no shell between), npm passes SIGTERM and
 * SIGINT on. A supervisor that kills npm outright (SIGKILL at the end of its grace period, an
 * OOM kill) leaves nobody to pass them, and the server would go on listening, orphaned: it
 * notices the change of parent within a second and stops as if signalled. Only under npm: a
 * server started directly may have been detached from its parent on purpose.
 */
function stopWithParent(shutdown: (why: { reason: string }) => void) {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    shutdown({ reason: 'parent exited' });
  }, 1000);
  timer.unref();
}

async function main() {
  const config = loadConfig();
  const worker = cluster.isWorker && process.env[WORKER_ENV] === '1';
  if (config.WORKERS > 1 && cluster.isPrimary) {
    const logger = createLogger(config.LOG_LEVEL);
    const primary = await startPrimary(config, logger);
    stopWithParent(onSignals(logger, primary.stop));
    const url = await primary.listening;
    logger.info({ url: `${url}/graphql`, database: 'PostgreSQL', workers: config.WORKERS }, 'Parley is listening');
    if (primary.demoKey) printDemoKey(url, primary.demoKey);
    else if (primary.demoKeyUnused) printUnusedDemoKeyNote(config, primary.demoKeyUnused);
    return;
  }
  const app = await startParley(config, { prepare: !worker });
  if (worker) {
    // The primary forwards SIGTERM; a worker also leaves when the primary is gone.
    onSignals(app.logger, app.stop);
    process.on('disconnect', () => void app.stop().then(() => process.exit(0)));
    return;
  }
  // Before saying it listens: whoever waits for that line may signal at once.
  stopWithParent(onSignals(app.logger, app.stop));
  const where = config.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${config.DATA_DIR}`;
  app.logger.info({ url: `${app.url}/graphql`, database: where }, 'Parley is listening');
  if (app.demoKey) printDemoKey(app.url, app.demoKey);
  else if (app.demoKeyUnused) printUnusedDemoKeyNote(config, app.demoKeyUnused);
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof DataDirError) {
    process.stderr.write(`parley: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`parley: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
