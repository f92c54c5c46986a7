// Starting and stopping a whole Parley process: database, migrations, demo data,
// events, HTTP server. src/main.ts calls it for `npm start`; the tests call it too.
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from './config.js';
import { migrate, openDatabase, pendingMigrations, type Database } from './db/client.js';
import { readMigrations } from './db/schema-engine.js';
import { RequestPressure } from './workers/request-pressure.js';
import { heldLockChannel } from './db/data-dir-lock.js';
import { serveOperatorCommands } from './control/operator.js';
import { createLogger, type DestinationStream, type Logger } from './logger.js';
import { collectProcessMetrics, watchGauges } from './metrics.js';
import { closeRedis, connectRedis, createEvents } from './pubsub.js';
import { demoWithUnusedKey, seedDemoIfEmpty, type SeedStep } from './seed/demo.js';
import type { LiveLimits } from './subscriptions/websocket.js';
import { MemoryBudget, RedisBudget, type Budget } from './security/budget.js';
import { DEFAULT_LIMITS } from './security/plugins.js';
import { createParley, type Parley } from './server.js';
import { createPlatformKey } from './services/platform.js';
import { startSnoozeWaker, type SnoozeWaker } from './services/snooze-waker.js';
import type { SurveySettings } from './services/surveys.js';
import type { Redis } from 'ioredis';
import { loadSecretBox } from './security/secret-key.js';
import { WebhookDispatcher } from './workers/webhook-dispatcher.js';
import { AutomationRunner } from './workers/automation-runner.js';
import { AutomationTimer } from './workers/automation-timer.js';
import { STANDARD_RETRY_SCHEDULE_MS, WebhookSender } from './workers/webhook-sender.js';

export interface RunningParley {
  url: string;
  db: Database;
  parley: Parley;
  logger: Logger;
  /** The demo workspace's key, when this start created the demo. */
  demoKey: string | null;
  /** Otherwise, the demo workspace if its key was never used (it may never have been seen). */
  demoKeyUnused: UnusedDemoKey | null;
  /** The first platform key, when this start created the demo and there was none. */
  platformKey: string | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  onQuery?: (sql: string) => void;
  /** An in-memory PGlite starts from this data directory image (see DatabaseOptions). */
  pgliteImage?: Blob;
  /**
   * Apply migrations and seed the demo first (the default). Cluster workers skip it: their
   * primary did it once before starting them.
   */
  prepare?: boolean;
  /** WebSocket limits other than the defaults (tests shorten the timeouts). */
  liveLimits?: Partial<LiveLimits>;
  /** Where the log goes instead of stdout (tests read it). */
  logDestination?: DestinationStream;
  /**
   * Aborted when the process is asked to stop while it starts (src/shutdown.ts): the start
   * gives up at its next step (the seed rolls back), closes what it opened and rejects with
   * the signal's reason.
   */
  signal?: AbortSignal;
}

export interface UnusedDemoKey {
  workspaceId: string;
  userId: string | null;
}

export interface PreparedDatabase {
  /** The demo workspace's key, when this start created the demo. */
  demoKey: string | null;
  /** Otherwise, the demo workspace if none of its keys was ever used. */
  demoKeyUnused: UnusedDemoKey | null;
  /** The first platform key (src/services/platform.ts), made beside the demo's when there was none. */
  platformKey: string | null;
}

/**
 * For the tests that kill a first start in the middle of seeding: with
 * PARLEY_TEST_SEED_HOLD_AT=<step> (a SeedStep), the seed announces that step on stderr and
 * stops there until the process is killed or asked to stop.
 */
function seedHoldForTests(signal?: AbortSignal): ((step: SeedStep) => Promise<void>) | undefined {
  const at = process.env.PARLEY_TEST_SEED_HOLD_AT;
  if (!at) return undefined;
  return async (step) => {
    if (step !== at) return;
    process.stderr.write(`seed held at step ${step} (PARLEY_TEST_SEED_HOLD_AT)\n`);
    const forever = setInterval(() => {}, 1 << 30);
    // Held until killed, or until asked to stop (then like any step that sees the signal).
    await new Promise<never>((_, reject) =>
      signal?.addEventListener('abort', () => {
        clearInterval(forever);
        reject(signal.reason);
      }),
    );
  };
}

/**
 * For the tests that kill a server before its automation runner took the events committed:
 * with PARLEY_TEST_AUTOMATION_NO_WAKE=true, commits and saved rules do not wake the runner (it
 * looks at the timeline at its start and every AUTOMATION_POLL_MS only).
 */
function automationWakesForTests(): boolean {
  if (process.env.PARLEY_TEST_AUTOMATION_NO_WAKE !== 'true') return true;
  process.stderr.write('automation runner: commits do not wake it (PARLEY_TEST_AUTOMATION_NO_WAKE)\n');
  return false;
}

/** Where a browser on this machine reaches a server listening on `host`:`port`. */
function listenedUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * How survey links are made: from PUBLIC_URL, else from the address listened on, which a start
 * on PORT=0 learns only once it listens (publicUrl null until then).
 */
function surveySettings(config: Config): SurveySettings {
  return { publicUrl: config.PUBLIC_URL ?? (config.PORT ? listenedUrl(config.HOST, config.PORT) : null), ttlMs: config.SURVEY_TTL_DAYS * 86_400_000 };
}

/**
 * Applies pending migrations, then seeds the demo workspace into an empty database (if
 * configured). When `signal` aborts, stops at the next step with its reason: after the
 * migrations, or at the seed's next step (the seed's transaction rolls back).
 */
export async function prepareDatabase(db: Database, config: Config, logger: Logger, signal?: AbortSignal): Promise<PreparedDatabase> {
  const pending = await pendingMigrations(db);
  if (pending.length) logger.info({ pending: pending.length }, 'migrating the database');
  const applied = await migrate(db);
  if (applied.length) logger.info({ migrations: applied }, 'applied migrations');
  signal?.throwIfAborted();
  if (!config.SEED_DEMO) return { demoKey: null, demoKeyUnused: null, platformKey: null };
  const hold = seedHoldForTests(signal);
  const demoKey = await seedDemoIfEmpty(db.prisma, {
    surveys: surveySettings(config),
    onStart: () => logger.info('seeding the demo workspace'),
    afterStep: async (step) => {
      signal?.throwIfAborted();
      await hold?.(step);
    },
  });
  if (demoKey) logger.info('created the demo workspace');
  // The first platform key is shown beside the demo's, once. A start stopped between the two
  // leaves none: `npm run parley -- platform-key:create` makes one.
  const platformKey = demoKey && (await db.prisma.platformKey.count()) === 0 ? (await createPlatformKey(db.prisma, 'First platform key')).secret : null;
  return { demoKey, demoKeyUnused: demoKey ? null : await demoWithUnusedKey(db.prisma), platformKey };
}

/**
 * Opens the database the configuration names. A process that prepares it says what it opens
 * first: on a first start, PGlite creating its data directory takes a while, before anything else.
 */
export async function openConfiguredDatabase(
  config: Config,
  logger: Logger,
  opts: { announce: boolean; onQuery?: (sql: string) => void; pgliteImage?: Blob },
): Promise<Database> {
  if (opts.announce && config.DATABASE_URL) logger.info({ database: 'PostgreSQL' }, 'opening the database');
  else if (opts.announce && !config.DATA_DIR.startsWith('memory://')) {
    const created = existsSync(join(config.DATA_DIR, 'PG_VERSION'));
    logger.info({ dataDir: config.DATA_DIR }, created ? 'opening the data directory' : 'creating the data directory');
  }
  return openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, onQuery: opts.onQuery, pgliteImage: opts.pgliteImage, preparedStatements: config.PG_PREPARED_STATEMENTS, poolSize: config.DATABASE_POOL_SIZE });
}

export async function startParley(config: Config, options: StartOptions = {}): Promise<RunningParley> {
  const logger = createLogger(config.LOG_LEVEL, options.logDestination);
  const db = await openConfiguredDatabase(config, logger, { announce: options.prepare !== false, onQuery: options.onQuery, pgliteImage: options.pgliteImage });
  let events: ReturnType<typeof createEvents> | undefined;
  let budgetRedis: Redis | undefined;
  let waker: SnoozeWaker | undefined;
  let sender: WebhookSender | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  let runner: AutomationRunner | undefined;
  let timer: AutomationTimer | undefined;
  const { signal } = options;
  try {
    signal?.throwIfAborted();
    const prepared: PreparedDatabase = options.prepare === false ? { demoKey: null, demoKeyUnused: null, platformKey: null } : await prepareDatabase(db, config, logger, signal);
    const { demoKey, demoKeyUnused, platformKey } = prepared;
    const committed = (await readMigrations()).migrationDirectories.map((d) => d.path);
    events = createEvents(config.REDIS_URL, logger);
    // Started after the migrations: a snooze that fell due while no server ran reopens now.
    waker = startSnoozeWaker({ prisma: db.prisma, pubsub: events.pubsub, logger, intervalMs: config.SNOOZE_WAKE_INTERVAL_MS });
    // A wrong or missing key stops the start here: stored webhook secrets are never re-keyed.
    const box = await loadSecretBox(config, db.prisma);
    const policy = { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_URLS };
    // The workers give way to requests (the server is made below; until it is, nothing is in flight).
    let requestsInFlight = () => 0;
    const pressure = new RequestPressure(() => requestsInFlight(), config.WORKER_YIELD_REQUESTS, 1000);
    sender = new WebhookSender(
      db.prisma,
      box,
      policy,
      {
        retryScheduleMs: config.WEBHOOK_RETRY_SCHEDULE_MS ?? STANDARD_RETRY_SCHEDULE_MS,
        timeoutMs: config.WEBHOOK_TIMEOUT_MS,
        leaseMs: config.WEBHOOK_LEASE_MS,
        concurrency: config.WEBHOOK_CONCURRENCY,
        perEndpoint: config.WEBHOOK_MAX_IN_FLIGHT,
        probeIntervalMs: config.WEBHOOK_PROBE_INTERVAL_MS,
        disableAfterMs: config.WEBHOOK_DISABLE_AFTER_MS,
        pollMs: config.WEBHOOK_POLL_MS,
        maxResponseBytes: 1024,
        pressure,
      },
      logger.child({ worker: 'webhook-sender' }),
    );
    let budget: Budget | null = null;
    if (config.COST_BUDGET_PER_MINUTE > 0) {
      if (config.REDIS_URL) {
        budgetRedis = connectRedis(config.REDIS_URL, logger);
        budget = new RedisBudget(budgetRedis, config.COST_BUDGET_PER_MINUTE);
      } else {
        budget = new MemoryBudget(config.COST_BUDGET_PER_MINUTE);
      }
    }
    const surveys = surveySettings(config);
    const parley = createParley({
      budget,
      maxBodyBytes: config.MAX_BODY_BYTES,
      authCacheMs: config.AUTH_CACHE_MS,
      maxBatch: config.MAX_BATCH,
      queryPlanner: config.QUERY_PLANNER,
      liveLimits: {
        maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
        maxSubscriptionsPerConnection: config.WS_MAX_SUBSCRIPTIONS,
        connectionInitTimeoutMs: config.WS_INIT_TIMEOUT_MS,
        keepAliveMs: config.WS_KEEPALIVE_MS,
        ...options.liveLimits,
      },
      limits: {
        ...DEFAULT_LIMITS,
        maxDepth: config.MAX_QUERY_DEPTH,
        maxAliases: config.MAX_ALIASES,
        maxTokens: config.MAX_TOKENS,
        maxCost: config.MAX_QUERY_COST,
        executionTimeoutMs: config.EXECUTION_TIMEOUT_MS,
        introspection: config.INTROSPECTION,
      },
      prisma: db.prisma,
      jsonText: db.jsonText,
      events,
      logger,
      webhooks: { box, policy, sender, maxDepth: config.MAX_QUERY_DEPTH },
      // The runner starts after the server listens: until then there is nothing to wake.
      onCommit: () => runner?.wake(),
      surveys,
      graphiql: config.GRAPHIQL,
      metricsToken: config.METRICS_TOKEN,
      accessLogLevel: config.ACCESS_LOG_LEVEL,
      ready: async () => {
        const rows = await db.prisma.$queryRaw<{ n: bigint }[]>`
          SELECT count(DISTINCT migration_name) AS n FROM _prisma_migrations
          WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL AND migration_name = ANY(${committed})`;
        return Number(rows[0]?.n ?? 0) === committed.length;
      },
    });
    signal?.throwIfAborted();
    if (config.METRICS_TOKEN) collectProcessMetrics();
    const unwatch = watchGauges({ live: () => parley.live.stats, pool: () => db.pool() });
    try {
      await new Promise<void>((resolve, reject) => {
        parley.server.once('error', reject);
        parley.server.listen(config.PORT, config.HOST, () => resolve());
      });
    } catch (e) {
      unwatch();
      throw e;
    }
    const webhookSender = sender;
    requestsInFlight = () => parley.requestsInFlight();
    dispatcher = new WebhookDispatcher(
      db.prisma,
      (auth, document, event, share) => parley.live.executeEvent(auth, document, undefined, {}, event, share),
      { pollMs: config.WEBHOOK_POLL_MS, batchSize: 200, retentionMs: config.WEBHOOK_RETENTION_DAYS * 86_400_000, pressure },
      logger.child({ worker: 'webhook-dispatcher' }),
      () => webhookSender.wake(),
    );
    // Started after the migrations, like the snooze waker: what was due while no server ran goes now.
    dispatcher.start();
    runner = new AutomationRunner(
      db.prisma,
      {
        pollMs: config.AUTOMATION_POLL_MS,
        batchSize: 200,
        maxRunsPerConversationHour: config.AUTOMATION_MAX_RUNS_PER_CONVERSATION_HOUR,
        surveys,
        wakes: automationWakesForTests(),
      },
      logger.child({ worker: 'automation-runner' }),
      events.pubsub,
    );
    runner.start();
    timer = new AutomationTimer(
      db.prisma,
      { intervalMs: config.AUTOMATION_SCAN_INTERVAL_MS, maxRunsPerConversationHour: config.AUTOMATION_MAX_RUNS_PER_CONVERSATION_HOUR, surveys },
      logger.child({ worker: 'automation-timer' }),
      events.pubsub,
    );
    timer.start();
    await sender.start({ soleProcess: !config.DATABASE_URL });
    const { port } = parley.server.address() as AddressInfo;
    const host = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
    const url = `http://${host}:${port}`;
    surveys.publicUrl ??= listenedUrl(config.HOST, port);
    const ev = events;
    // On PGlite this process owns the data directory: the operator command reaches it through
    // the lock's channel and runs here, on this database (src/control/operator.ts).
    const channel = db.kind === 'pglite' ? heldLockChannel(config.DATA_DIR) : undefined;
    const stopOperatorCommands = channel ? serveOperatorCommands(channel, { db, server: { pubsub: ev.pubsub } }, logger) : undefined;
    let stopping: Promise<void> | undefined;
    return {
      url,
      db,
      parley,
      logger,
      demoKey,
      demoKeyUnused,
      platformKey,
      stop: () =>
        (stopping ??= (async () => {
          await stopOperatorCommands?.();
          await parley.drain(config.SHUTDOWN_TIMEOUT_MS);
          await dispatcher?.stop();
          await runner?.stop();
          await timer?.stop();
          // Attempts in flight finish (or give their claims back) before the database closes.
          await sender?.stop(Math.min(config.SHUTDOWN_TIMEOUT_MS, config.WEBHOOK_TIMEOUT_MS));
          unwatch();
          await waker?.stop();
          await ev.close();
          if (budgetRedis) await closeRedis(budgetRedis);
          await db.close();
        })()),
    };
  } catch (e) {
    await dispatcher?.stop();
    await runner?.stop();
    await timer?.stop();
    await sender?.stop(0);
    await waker?.stop();
    if (budgetRedis) await closeRedis(budgetRedis);
    await events?.close();
    await db.close();
    throw e;
  }
}
