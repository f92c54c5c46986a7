// Parley's Prometheus metrics: one registry for the process, the metric objects, and the
// /metrics endpoint that serves them (text format, behind a bearer token; off without one).
//
// Other code imports the metric it counts from here, or registers its own on `registry`
// (`new Counter({ name: 'parley_...', help, labelNames, registers: [registry] })`). Labels
// take values from small fixed sets only (operation types, error codes, event types, limit
// names): never an id, a URL, a key or anything else a caller can vary at will. An operation
// name is the one label a client chooses: operationNameLabel() caps it.
//
// Gauges of things a server instance holds (WebSockets, the database pool) are read when
// scraped, from the sources registered with watchGauges(): one per server in the process (the
// tests run several; a real process runs one), summed.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

let defaultsOn = false;
/** Process metrics (CPU, memory, handles, GC) and the event loop's delay, from prom-client. */
export function collectProcessMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
}

// GraphQL operations, over HTTP and WebSocket alike.

export const OPERATION_TYPES = ['query', 'mutation', 'subscription', 'unknown'] as const;
export type OperationType = (typeof OPERATION_TYPES)[number];

export const graphqlOperations = new Counter({
  name: 'parley_graphql_operations_total',
  help: 'GraphQL operations handled, by type and name (a subscription counts when it is set up or refused).',
  labelNames: ['operation_type', 'operation_name', 'transport'] as const,
  registers: [registry],
});

export const graphqlOperationDuration = new Histogram({
  name: 'parley_graphql_operation_duration_seconds',
  help: 'Time from receiving a query or mutation to its result (parse, validate, authenticate, execute). Subscriptions are not timed: they last as long as the client wants.',
  labelNames: ['operation_type', 'operation_name'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
  registers: [registry],
});

export const graphqlOperationErrors = new Counter({
  name: 'parley_graphql_operation_errors_total',
  help: "GraphQL operations whose result carried errors, once per operation and error code (extensions.code; INTERNAL_SERVER_ERROR for masked ones).",
  labelNames: ['operation_type', 'operation_name', 'code'] as const,
  registers: [registry],
});

export const httpRequests = new Counter({
  name: 'parley_http_requests_total',
  help: 'HTTP requests answered, by route (/graphql, /healthz, /readyz, /metrics, or other) and status.',
  labelNames: ['route', 'status'] as const,
  registers: [registry],
});

// Limits.

export const rateLimited = new Counter({
  name: 'parley_rate_limited_total',
  help: "Operations refused by a rate limit: cost_budget (a key's points per minute), websocket_operations (operations running on one socket).",
  labelNames: ['limit'] as const,
  registers: [registry],
});

// Live events.

export const liveEventsPublished = new Counter({
  name: 'parley_live_events_published_total',
  help: 'Timeline events this process published after their commit, by event type.',
  labelNames: ['type'] as const,
  registers: [registry],
});

export const liveEventsReceived = new Counter({
  name: 'parley_live_events_received_total',
  help: "Timeline events handed on to this process's subscribers' feeds, in cursor order (whichever process published them).",
  registers: [registry],
});

// Counted on the hot path of the fan-out (one per socket per event) as plain numbers, added to
// the counter when scraped.
const delivered = { websocket: 0, http: 0 };

/** One event payload sent to one subscriber. */
export function deliveredTo(transport: keyof typeof delivered): void {
  delivered[transport]++;
}

export const liveEventsDelivered = new Counter({
  name: 'parley_live_events_delivered_total',
  help: 'Event payloads sent to subscribers (one per subscriber and event), by transport (websocket, or http for GraphQL over SSE).',
  labelNames: ['transport'] as const,
  registers: [registry],
  collect() {
    for (const transport of ['websocket', 'http'] as const) {
      this.inc({ transport }, delivered[transport]);
      delivered[transport] = 0;
    }
  },
});

// Series of fixed label sets start at 0, so that a rate over them is defined from the first scrape.
for (const limit of ['cost_budget', 'websocket_operations']) rateLimited.inc({ limit }, 0);

// Background work.

export const snoozeWakes = new Counter({
  name: 'parley_snooze_wakes_total',
  help: 'Snoozed conversations this process reopened when their time came.',
  registers: [registry],
});

export const snoozeWakeFailures = new Counter({
  name: 'parley_snooze_wake_failures_total',
  help: 'Rounds of waking due snoozes that failed (logged; the next round retries).',
  registers: [registry],
});

export const WEBHOOK_OUTCOMES = ['success', 'retry', 'failed', 'gone'] as const;

export const webhookAttempts = new Counter({
  name: 'parley_webhook_attempts_total',
  help: 'Webhook attempts this process made, by outcome: success (2xx), retry (failed, will go again), failed (no attempt left), gone (410: the endpoint is disabled).',
  labelNames: ['outcome'],
  registers: [registry],
});
for (const outcome of WEBHOOK_OUTCOMES) webhookAttempts.inc({ outcome }, 0);

export const webhookAttemptDuration = new Histogram({
  name: 'parley_webhook_attempt_duration_seconds',
  help: 'How long webhook attempts took, from the request to the answer (or the timeout).',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
  registers: [registry],
});

export const webhookDeliveriesQueued = new Counter({
  name: 'parley_webhook_deliveries_queued_total',
  help: 'Deliveries the dispatcher of this process made from timeline events (one per event and endpoint that wants it).',
  registers: [registry],
});

export const webhookQueueAge = new Gauge({
  name: 'parley_webhook_queue_age_seconds',
  help: 'How long the oldest due webhook delivery has been waiting (0 when none is due), as last seen by this process\'s sender.',
  registers: [registry],
});

export const webhookDue = new Gauge({
  name: 'parley_webhook_deliveries_due',
  help: 'Webhook deliveries due now and not in flight (all endpoints, all processes), as last seen by this process\'s sender.',
  registers: [registry],
});

// What a server instance holds, read at scrape time.

export interface LiveGauges {
  connections: number;
  /** Operations running on sockets (subscriptions, and queries still executing). */
  operations: number;
}

export interface PoolGauges {
  /** Connections the pool may open (1 for PGlite: one connection, in process). */
  max: number;
  inUse: number;
  idle: number;
  /** Requests for a connection waiting for one to be free. */
  waiting: number;
  /** The query planner's statement texts named as prepared statements, and the most that will be (0 and 0 on PGlite). */
  prepared: { named: number; max: number };
}

export interface GaugeSource {
  live?: () => LiveGauges;
  pool?: () => PoolGauges;
}

const sources = new Set<GaugeSource>();

/** Reads `source` at each scrape until the returned function is called (when its server stops). */
export function watchGauges(source: GaugeSource): () => void {
  sources.add(source);
  return () => sources.delete(source);
}

const sum = <T>(pick: (s: GaugeSource) => (() => T) | undefined, of: (v: T) => number) => {
  let total = 0;
  for (const s of sources) {
    const read = pick(s);
    if (read) total += of(read());
  }
  return total;
};

new Gauge({
  name: 'parley_websocket_connections',
  help: 'WebSocket connections open now.',
  registers: [registry],
  collect() {
    this.set(sum((s) => s.live, (l) => l.connections));
  },
});

new Gauge({
  name: 'parley_websocket_operations',
  help: 'Operations running on WebSockets now (subscriptions, and queries or mutations still executing).',
  registers: [registry],
  collect() {
    this.set(sum((s) => s.live, (l) => l.operations));
  },
});

export const websocketConnectionsOpened = new Counter({
  name: 'parley_websocket_connections_opened_total',
  help: 'WebSocket connections accepted.',
  registers: [registry],
});

export const httpSubscriptions = new Gauge({
  name: 'parley_http_subscriptions',
  help: 'Subscriptions followed over HTTP (GraphQL over SSE) now.',
  registers: [registry],
});

new Gauge({
  name: 'parley_db_prepared_statements',
  help: 'Texts of the query planner\'s statements named as prepared statements (named), and the most that will be named (max). Each pool connection prepares the ones it runs and keeps them until it closes: some 0.3 MB of PostgreSQL memory per statement per connection. 0 on PGlite.',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.set({ state: 'named' }, sum((s) => s.pool, (p) => p.prepared.named));
    this.set({ state: 'max' }, sum((s) => s.pool, (p) => p.prepared.max));
  },
});

new Gauge({
  name: 'parley_db_pool_connections',
  help: 'Database connections by state (in_use, idle) and the most the pool may open (max). PGlite has one connection: in_use while a statement or transaction holds it.',
  labelNames: ['state'] as const,
  registers: [registry],
  collect() {
    this.set({ state: 'in_use' }, sum((s) => s.pool, (p) => p.inUse));
    this.set({ state: 'idle' }, sum((s) => s.pool, (p) => p.idle));
    this.set({ state: 'max' }, sum((s) => s.pool, (p) => p.max));
  },
});

new Gauge({
  name: 'parley_db_pool_waiting',
  help: 'Statements and transactions waiting for a database connection.',
  registers: [registry],
  collect() {
    this.set(sum((s) => s.pool, (p) => p.waiting));
  },
});

// Label values.

/** Operation names longer than this are not labels of their own. */
const MAX_NAME_LENGTH = 64;
/** Distinct operation names labelled per process; later ones are "other". */
export const MAX_OPERATION_NAMES = 200;
const GRAPHQL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const known = new Set<string>();

/**
 * The label for an operation's name, which the client chooses: "anonymous" without one; the
 * name itself once it has been admitted; "other" for the rest. A name is admitted (up to
 * MAX_OPERATION_NAMES of them) only by an operation that was authenticated and valid
 * (`trusted`), so that junk sent without a key cannot fill the list before real names do.
 */
export function operationNameLabel(name: string | null | undefined, trusted: boolean): string {
  if (!name) return 'anonymous';
  if (known.has(name)) return name;
  if (!trusted || name.length > MAX_NAME_LENGTH || !GRAPHQL_NAME.test(name) || known.size >= MAX_OPERATION_NAMES) return 'other';
  known.add(name);
  return name;
}

const CODE = /^[A-Z][A-Z0-9_]{0,39}$/;
/** An error code as a label: codes are the server's own, but one that does not look like one is "OTHER". */
export function errorCodeLabel(code: unknown): string {
  if (code === undefined || code === null) return 'NONE';
  return typeof code === 'string' && CODE.test(code) ? code : 'OTHER';
}

/** The route label of an HTTP path. */
export function routeLabel(path: string): string {
  return path === '/graphql' || path === '/healthz' || path === '/readyz' || path === '/metrics' ? path : 'other';
}

// The endpoint.

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * GET /metrics. Without a token configured it does not exist (404, as any unknown path); with
 * one, it answers only `Authorization: Bearer <token>` (401 otherwise). Returns the status.
 */
export async function serveMetrics(req: IncomingMessage, res: ServerResponse, token: string | undefined): Promise<number> {
  const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
    return status;
  };
  if (!token) return answer(404, '{"errors":[{"message":"Not Found"}]}');
  const match = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? '').trim());
  if (!match || !sameSecret(match[1]!, token)) {
    return answer(401, '{"errors":[{"message":"Send the metrics token as Authorization: Bearer <METRICS_TOKEN>."}]}', { 'www-authenticate': 'Bearer realm="metrics"' });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, '{"errors":[{"message":"Method Not Allowed"}]}', { allow: 'GET, HEAD' });
  const body = await registry.metrics();
  res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
  return 200;
}
