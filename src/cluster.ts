// WORKERS > 1: one primary process and that many server processes sharing the port
// (node:cluster hands connections to the workers in turn). The primary prepares the database
// once (migrations, the demo), starts the workers, restarts one that dies, and on SIGTERM or
// SIGINT passes the signal on and waits for every worker to drain. Workers are ordinary
// Parley processes; Redis carries live events and key budgets between them (config.ts
// requires REDIS_URL and DATABASE_URL for more than one worker).
import cluster, { type Worker } from 'node:cluster';
import { openConfiguredDatabase, prepareDatabase, type PreparedDatabase, type UnusedDemoKey } from './app.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** The environment variable that tells a forked process it is a worker of a prepared cluster. */
export const WORKER_ENV = 'PARLEY_CLUSTER_WORKER';

export interface Primary {
  /** The demo key, when preparing created the demo. */
  demoKey: string | null;
  /** Otherwise, the demo workspace if its key was never used. */
  demoKeyUnused: UnusedDemoKey | null;
  /** The first platform key, made beside the demo's. */
  platformKey: string | null;
  /** Resolves with the address once every worker listens. */
  listening: Promise<string>;
  /**
   * Stops the workers (SIGTERM, then SIGKILL after the shutdown timeout, which sets exit code
   * 1); resolves when all exited. Calling it again returns the same promise.
   */
  stop(): Promise<void>;
}

/** `signal`: as startParley's (src/app.ts); checked until the workers are started. */
export async function startPrimary(config: Config, logger: Logger, signal?: AbortSignal): Promise<Primary> {
  const db = await openConfiguredDatabase(config, logger, { announce: true });
  let prepared: PreparedDatabase;
  try {
    signal?.throwIfAborted();
    prepared = await prepareDatabase(db, config, logger, signal);
  } finally {
    await db.close();
  }
  signal?.throwIfAborted();

  let stopping = false;
  const restarts: number[] = [];
  const fork = (): Worker => cluster.fork({ [WORKER_ENV]: '1' });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    // A worker that dies is replaced, unless workers keep dying (then the primary gives up
    // rather than spin: more than 5 deaths in a minute).
    const now = Date.now();
    restarts.push(now);
    while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
    logger.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting another');
    if (restarts.length > 5) {
      logger.fatal('workers keep exiting; stopping');
      process.exitCode = 1;
      void stop();
      return;
    }
    fork();
  });

  let listeners = 0;
  const listening = new Promise<string>((resolve) => {
    cluster.on('listening', (_worker, address) => {
      if (++listeners === config.WORKERS) {
        const host = address.address?.includes(':') ? `[${address.address}]` : (address.address ?? config.HOST);
        resolve(`http://${host}:${address.port}`);
      }
    });
  });
  for (let i = 0; i < config.WORKERS; i++) fork();

  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stopWorkers());
  const stopWorkers = async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const kill = setTimeout(() => {
              logger.error({ worker: w.process.pid }, 'worker did not stop in time; killed');
              process.exitCode = 1;
              w.process.kill('SIGKILL');
            }, config.SHUTDOWN_TIMEOUT_MS + 2_000);
            w.process.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };
  return { ...prepared, listening, stop };
}
