// Configuration comes from the environment, validated once at startup: a bad value
// stops the process with a message naming the variable, never a confusing failure later.
import { availableParallelism } from 'node:os';
import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const booleanish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z
  .object({
  /**
   * Server processes sharing the port (node:cluster): a number, or "auto" for one per core.
   * More than one needs DATABASE_URL (PGlite is one process's) and REDIS_URL (events and
   * budgets cross processes through Redis). Each worker holds its own pool of
   * DATABASE_POOL_SIZE PostgreSQL connections (at most 10 by default): mind max_connections
   * (100 by default).
   */
  WORKERS: z
    .union([z.literal('auto'), z.coerce.number().int().min(1).max(64)])
    .default(1)
    .transform((v) => (v === 'auto' ? Math.min(availableParallelism(), 64) : v)),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((v) => /^postgres(ql)?:\/\//.test(v), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  REDIS_URL: z
    .string()
    .refine((v) => /^rediss?:\/\//.test(v), 'must be a redis:// or rediss:// URL')
    .optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * The level of the access log's lines (one per HTTP request and per WebSocket operation);
   * they are written when it is LOG_LEVEL or above. "silent" turns the access log off.
   */
  ACCESS_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /**
   * Serve Prometheus metrics at /metrics to requests that send `Authorization: Bearer <token>`.
   * Unset: there is no /metrics (404).
   */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').regex(/^\S+$/, 'must not contain spaces').optional(),
  /**
   * Answer the dashboard's common queries (conversation lists) with one planned SQL statement
   * each instead of a resolver per field (src/planner/). The answers are the same; false is
   * for comparing the two.
   */
  QUERY_PLANNER: booleanish.default(true),
  /**
   * On PostgreSQL, run the query planner's statements as named prepared statements (each
   * connection parses a statement once, and PostgreSQL may keep its plan). false for a pooler
   * that cannot carry them (PgBouncer before 1.21, or without max_prepared_statements, in
   * transaction mode).
   */
  PG_PREPARED_STATEMENTS: booleanish.default(true),
  /**
   * PostgreSQL connections per server process; unset: two per core and one, at most 10. More
   * statements at once than the database's cores can run do not make it faster: they contend
   * for the same CPU (BENCHMARKS.md).
   */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).optional(),
  /** Create the demo workspace when the database has no workspace yet. */
  SEED_DEMO: booleanish.default(true),
  GRAPHIQL: booleanish.default(true),
  INTROSPECTION: booleanish.default(true),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  /** How long an authenticated API key is remembered; 0 looks it up on every request. */
  AUTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
  /** How often due snoozes are woken (they are also woken at startup). */
  SNOOZE_WAKE_INTERVAL_MS: z.coerce.number().int().min(50).default(15_000),
  // Abuse limits (src/security): per query, per request and per key.
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(12),
  MAX_ALIASES: z.coerce.number().int().min(0).default(30),
  MAX_TOKENS: z.coerce.number().int().min(100).default(4_000),
  MAX_QUERY_COST: z.coerce.number().int().min(1).default(20_000),
  /** Points a key may spend per minute; 0 turns the budget off. */
  COST_BUDGET_PER_MINUTE: z.coerce.number().int().min(0).default(200_000),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(512 * 1024),
  MAX_BATCH: z.coerce.number().int().min(1).default(10),
  EXECUTION_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000),
  // WebSocket (graphql-ws) limits, per connection.
  WS_MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).default(256 * 1024),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).default(100),
  WS_INIT_TIMEOUT_MS: z.coerce.number().int().min(100).default(3_000),
  WS_KEEPALIVE_MS: z.coerce.number().int().min(1_000).default(12_000),
  /**
   * Encrypts secrets Parley must read back (webhook signing secrets): 32 random bytes, base64
   * or hex. Without it, the embedded database keeps one in DATA_DIR/secret.key; on PostgreSQL,
   * webhooks need it.
   */
  SECRET_KEY: z.string().min(1).optional(),
  // Webhooks (src/workers/webhook-*.ts).
  /** Allow endpoints on private, loopback and link-local addresses, and plain http (development, tests). */
  WEBHOOK_ALLOW_PRIVATE_URLS: booleanish.default(false),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  /** How long a claimed delivery is held before another process may take it; longer than the timeout. */
  WEBHOOK_LEASE_MS: z.coerce.number().int().min(500).default(60_000),
  /** The waits before each attempt, in ms, comma-separated; Standard Webhooks' schedule by default. */
  WEBHOOK_RETRY_SCHEDULE_MS: z
    .string()
    .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'must be a comma-separated list of milliseconds, e.g. 0,5000,300000')
    .transform((v) => v.split(',').map((n) => Number(n.trim())))
    .optional(),
  /** Attempts in flight per endpoint. */
  WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100).default(4),
  /** Attempts in flight per server process. */
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(32),
  /** While an endpoint fails, how often one delivery probes it. */
  WEBHOOK_PROBE_INTERVAL_MS: z.coerce.number().int().min(50).default(10_000),
  /** An endpoint whose deliveries all fail for this long is disabled (5 days by default). */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce.number().int().min(100).default(5 * 24 * 60 * 60 * 1000),
  /** How often the timeline and the delivery queue are looked at when nothing wakes the workers. */
  WEBHOOK_POLL_MS: z.coerce.number().int().min(20).default(200),
  /**
   * Background work (webhook dispatch and delivery) waits, up to a second per batch, while at
   * least this many HTTP requests are in flight in the process: requests first. 0: never waits.
   */
  WORKER_YIELD_REQUESTS: z.coerce.number().int().min(0).default(4),
  WEBHOOK_RETENTION_DAYS: z.coerce.number().positive().default(30),
  // Automation rules (src/workers/automation-runner.ts).
  /** How often the runner looks at the timeline for events that trigger rules. */
  AUTOMATION_POLL_MS: z.coerce.number().int().min(20).default(200),
  /** How often the time-based triggers (waiting for a reply, open and unassigned, pending) are looked for. */
  AUTOMATION_SCAN_INTERVAL_MS: z.coerce.number().int().min(50).default(15_000),
  /** Matched runs of one rule on one conversation per hour, at most (a loop guard). */
  AUTOMATION_MAX_RUNS_PER_CONVERSATION_HOUR: z.coerce.number().int().min(1).default(20),
  // Satisfaction surveys (src/services/surveys.ts, src/http/survey-page.ts).
  /**
   * Where browsers reach this server (behind a proxy, its public address): survey links are
   * built from it. Unset: the address it listens on, which suits local use only.
   */
  PUBLIC_URL: z
    .string()
    .url('must be a URL such as https://support.example.com')
    .refine((v) => /^https?:\/\//.test(v), 'must be an http:// or https:// URL')
    .refine((v) => !/[?#]/.test(v), 'must not have a query or fragment')
    .transform((v) => v.replace(/\/+$/, ''))
    .optional(),
  /** How long a survey can be answered (and its answer changed) after it is sent. */
  SURVEY_TTL_DAYS: z.coerce.number().positive().max(3650).default(14),
  })
  .superRefine((c, ctx) => {
    if (c.WORKERS > 1 && !c.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: 'more than one worker needs DATABASE_URL: the embedded PGlite belongs to one process' });
    }
    if (c.WEBHOOK_LEASE_MS <= c.WEBHOOK_TIMEOUT_MS) {
      ctx.addIssue({ code: 'custom', path: ['WEBHOOK_LEASE_MS'], message: 'must be longer than WEBHOOK_TIMEOUT_MS: a claim must outlast its attempt' });
    }
    if (c.WORKERS > 1 && !c.REDIS_URL) {
      ctx.addIssue({ code: 'custom', path: ['WORKERS'], message: 'more than one worker needs REDIS_URL: live events and key budgets cross processes through Redis' });
    }
  });

export type Config = z.infer<typeof schema>;

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
