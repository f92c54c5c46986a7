// A Parley process once src/main.ts has its signal handlers in place: one server, or with
// WORKERS > 1 a primary and that many worker processes on the same port (src/cluster.ts).
import cluster from 'node:cluster';
import { startParley, type UnusedDemoKey } from './app.js';
import { startPrimary, WORKER_ENV } from './cluster.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { DataDirError } from './db/data-dir-lock.js';
import { SecretKeyError } from './security/secret-key.js';
import { createLogger, writeToLog, type Logger } from './logger.js';
import { ShutdownRequested, type Shutdown } from './shutdown.js';
// The key and the note go through the log's stream (writeToLog), each as one block: after the
// progress lines and "Parley is listening", never before them or split by them.
function printDemoKey(logger: Logger, url: string, demoKey: string, platformKey: string | null) {
  writeToLog(
    logger,
    `\nCreated the demo workspace. Its API key (shown once, keep it):\n\n  ${demoKey}\n\n` +
      `Open ${url}/graphql and send it as the X-API-Key header, or:\n\n` +
      `  curl -s ${url}/graphql -H 'content-type: application/json' -H 'x-api-key: ${demoKey}' \\\n` +
      `    -d '{"query":"{ viewer { workspace { name } } }"}'\n\n` +
      (platformKey
        ? 'And a platform key, which creates and lists workspaces (createWorkspace, workspaces) and sees nothing inside them\n' +
          '(shown once, keep it; the operator command uses it as PARLEY_PLATFORM_KEY):\n\n' +
          `  ${platformKey}\n\n`
        : ''),
  );
}

const shellWord = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * The demo's key is printed once, when the demo is created. A start stopped between the
 * seed's commit and that printing (or one that could not listen after seeding) never showed
 * it; until a key of the demo workspace is used, each start says how to make another.
 */
function printUnusedDemoKeyNote(logger: Logger, config: Config, demo: UnusedDemoKey) {
  const command =
    `npm run parley -- key:create --workspace ${demo.workspaceId} --name "Demo key"` + (demo.userId ? ` --user ${demo.userId}` : '');
  const how = config.DATABASE_URL
    ? `create another with the same DATABASE_URL:\n\n  ${command}\n`
    : `create another (while Parley runs, the command goes through it):\n\n  DATA_DIR=${shellWord(config.DATA_DIR)} ${command}\n`;
  writeToLog(
    logger,
    `\nThe demo workspace's API key has not been used yet (or it has none). If you do not have one (a key is shown once, when the demo is created), ${how}\n` +
      'This note stops once a key of the demo workspace is used (or with SEED_DEMO=false).\n\n',
  );
}

async function start(config: Config, shutdown: Shutdown) {
  const worker = cluster.isWorker && process.env[WORKER_ENV] === '1';
  if (config.WORKERS > 1 && cluster.isPrimary) {
    const logger = createLogger(config.LOG_LEVEL);
    const primary = await startPrimary(config, logger, shutdown.signal);
    shutdown.running(logger, primary.stop);
    const url = await primary.listening;
    logger.info({ url: `${url}/graphql`, database: 'PostgreSQL', workers: config.WORKERS }, 'Parley is listening');
    if (primary.demoKey) printDemoKey(logger, url, primary.demoKey, primary.platformKey);
    else if (primary.demoKeyUnused) printUnusedDemoKeyNote(logger, config, primary.demoKeyUnused);
    return;
  }
  const app = await startParley(config, { prepare: !worker, signal: shutdown.signal });
  // Before anything says the server is up: whoever reads that may stop it at once.
  shutdown.running(app.logger, app.stop);
  if (worker) {
    // The primary forwards SIGTERM; a worker also leaves when the primary is gone.
    process.on('disconnect', () => void app.stop().then(() => process.exit(0)));
    return;
  }
  const where = config.DATABASE_URL ? 'PostgreSQL' : `PGlite in ${config.DATA_DIR}`;
  app.logger.info({ url: `${app.url}/graphql`, database: where }, 'Parley is listening');
  if (app.demoKey) printDemoKey(app.logger, app.url, app.demoKey, app.platformKey);
  else if (app.demoKeyUnused) printUnusedDemoKeyNote(app.logger, config, app.demoKeyUnused);
}

export async function serve(shutdown: Shutdown): Promise<void> {
  let config: Config | undefined;
  try {
    config = loadConfig();
    shutdown.starting();
    await start(config, shutdown);
  } catch (err) {
    if (err instanceof ShutdownRequested) {
      // The start gave up and closed what it had opened.
      createLogger(config?.LOG_LEVEL ?? 'info').info({ signal: err.signalName }, 'shutting down (stopped while starting)');
      process.exit(process.exitCode ?? 0);
    }
    if (err instanceof ConfigError || err instanceof DataDirError || err instanceof SecretKeyError) {
      process.stderr.write(`parley: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`parley: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  }
}
