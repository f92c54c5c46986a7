// /metrics scraped over HTTP from a real server after real operations (HTTP and WebSocket),
// read with a Prometheus text parser: what it counts, who may read it, and that no label
// carries an id, a URL or a key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId, gql, localId } from './support/graphql.js';
import { scrape, type Scrape } from './support/metrics.js';
import { usePostgres } from './support/databases.js';
import { until } from './support/process.js';
import { counters, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { liveClient, startLiveServer, type LiveTestServer } from './support/ws.js';

const TOKEN = 'metrics-token-for-the-tests-0123456789';
let server: LiveTestServer;
let ws: SeededWorkspace;
const live: ReturnType<typeof liveClient>[] = [];

beforeAll(async () => {
  server = await startLiveServer({
    env: { METRICS_TOKEN: TOKEN, COST_BUDGET_PER_MINUTE: '3000', SNOOZE_WAKE_INTERVAL_MS: '200' },
  });
  ws = await seedWorkspace(server.db.prisma, 'Metrics workspace');
});
afterAll(async () => {
  await Promise.all(live.map((c) => c.dispose()));
  await server?.close();
});

const read = () => scrape(server.url, TOKEN);
/** How much `name` (with `labels`) grew between two scrapes. */
const grew = (before: Scrape, after: Scrape, name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

const CREATE = `mutation OpenConversation($input: CreateConversationInput!) {
  createConversation(input: $input) { __typename ... on CreateConversationPayload { conversation { id } } }
}`;
let phones = 0;
async function createConversation(): Promise<string> {
  const data = await client(server.url, ws.key).ok(CREATE, {
    input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: `+1415666${String(1000 + ++phones)}` } },
  });
  return data.createConversation.conversation.id;
}

describe('/metrics', () => {
  it('answers only the bearer token', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer not-the-token-at-all-0000' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${server.url}/metrics`, { headers: { 'x-api-key': ws.key } })).status).toBe(401);
    expect((await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
  });

  it('has the process and event-loop metrics, and the database pool', async () => {
    const m = await read();
    expect(m.value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.value('process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(m.family('nodejs_eventloop_lag_seconds').type).toBe('GAUGE');
    expect(m.family('nodejs_eventloop_lag_p99_seconds').type).toBe('GAUGE');
    const max = m.value('parley_db_pool_connections', { state: 'max' });
    expect(max).toBeGreaterThanOrEqual(1);
    expect(m.value('parley_db_pool_connections', { state: 'in_use' }) + m.value('parley_db_pool_connections', { state: 'idle' })).toBeLessThanOrEqual(max);
    expect(m.value('parley_db_pool_waiting')).toBeGreaterThanOrEqual(0);
  });

  it("shows the query planner's prepared statements: named from a text's third run, none on PGlite", async () => {
    const page = `{ conversations(first: 7, orderBy: { field: CREATED_AT }) { edges { cursor node { id number } } } }`;
    const before = await read();
    for (let i = 0; i < 3; i++) await client(server.url, ws.key).ok(page);
    const after = await read();
    expect(after.value('parley_db_prepared_statements', { state: 'max' })).toBe(usePostgres ? 64 : 0);
    expect(grew(before, after, 'parley_db_prepared_statements', { state: 'named' })).toBe(usePostgres ? 1 : 0);
    expect(after.value('parley_db_prepared_statements', { state: 'named' })).toBeLessThanOrEqual(after.value('parley_db_prepared_statements', { state: 'max' }));
  });

  it('counts GraphQL operations by type and name, times them, and counts their errors by code', async () => {
    const api = client(server.url, ws.key);
    const before = await read();
    await api.ok('query Inbox { viewer { kind } }');
    await api.ok('query Inbox { viewer { kind } }');
    await createConversation();
    await api.ok('{ viewer { kind } }');
    // Failures: no key; a field that does not exist; a query over the cost limit.
    expect((await gql(server.url, 'query Inbox { conversations(first: 5) { totalCount } }', {}, { key: null })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await api.request('query Broken { nope }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const after = await read();

    const inbox = { operation_type: 'query', operation_name: 'Inbox' };
    expect(grew(before, after, 'parley_graphql_operations_total', { ...inbox, transport: 'http' })).toBe(3);
    expect(grew(before, after, 'parley_graphql_operations_total', { operation_type: 'mutation', operation_name: 'OpenConversation' })).toBe(1);
    expect(grew(before, after, 'parley_graphql_operations_total', { operation_type: 'query', operation_name: 'anonymous' })).toBe(1);
    // Timed: the histogram's count grew by the three; its buckets are cumulative, up to +Inf.
    const timed = (m: Scrape) => m.histogram('parley_graphql_operation_duration_seconds', inbox);
    expect(timed(after).count - timed(before).count).toBe(3);
    expect(timed(after).sum).toBeGreaterThan(timed(before).sum);
    const buckets = [...timed(after).buckets.values()];
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(timed(after).buckets.get('+Inf')).toBe(timed(after).count);
    expect(grew(before, after, 'parley_graphql_operation_errors_total', { ...inbox, code: 'UNAUTHENTICATED' })).toBe(1);
    // A name that was never seen in an authenticated, valid operation is not a label of its own.
    expect(grew(before, after, 'parley_graphql_operation_errors_total', { operation_name: 'other', code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(after.samples('parley_graphql_operations_total', { operation_name: 'Broken' })).toEqual([]);
    expect(grew(before, after, 'parley_http_requests_total', { route: '/graphql', status: '200' })).toBeGreaterThanOrEqual(4);
  });

  it('counts refusals by the cost budget', async () => {
    const key = (await ws.makeKey()).secret;
    const api = client(server.url, key);
    const before = await read();
    const costly = 'query Heavy { conversations(first: 100) { edges { node { id messages(first: 50) { edges { node { id } } } } } } }';
    let refused = 0;
    for (let i = 0; i < 10 && refused === 0; i++) {
      const res = await api.request(costly);
      if (res.errors?.[0]?.extensions?.code === 'RATE_LIMITED') refused++;
    }
    expect(refused).toBe(1);
    const after = await read();
    expect(grew(before, after, 'parley_rate_limited_total', { limit: 'cost_budget' })).toBe(1);
    expect(grew(before, after, 'parley_graphql_operation_errors_total', { operation_name: 'Heavy', code: 'RATE_LIMITED' })).toBe(1);
  });

  it('counts WebSocket connections, subscriptions, and live events published, received and delivered', async () => {
    const c = liveClient(server.url, ws.key);
    live.push(c);
    const joined = server.parley.live.stats.joined;
    const before = await read();
    const feed = c.subscribe('subscription Follow { conversationEvents { kind conversationId } }');
    await until(() => server.parley.live.stats.joined > joined, 'the subscription to reach the server', 60_000);
    const open = await read();
    expect(open.value('parley_websocket_connections')).toBe(1);
    expect(open.value('parley_websocket_operations')).toBe(1);
    expect(grew(before, open, 'parley_websocket_connections_opened_total')).toBe(1);
    expect(grew(before, open, 'parley_graphql_operations_total', { operation_type: 'subscription', operation_name: 'Follow', transport: 'websocket' })).toBe(1);

    const id = await createConversation();
    expect((await feed.nextData()).conversationEvents).toMatchObject({ kind: 'CONVERSATION_CREATED', conversationId: id });
    // A query over the socket is an operation too.
    expect((await c.request('query Inbox { viewer { kind } }')).data).toEqual({ viewer: { kind: 'TEAM' } });
    // Creating the conversation also created its contact: every event published reaches the
    // workspace's feed (through Redis in the PostgreSQL suite: perhaps a moment later).
    let after = await read();
    await until(async () => {
      after = await read();
      return grew(open, after, 'parley_live_events_received_total') === grew(open, after, 'parley_live_events_published_total');
    }, 'every event published to be received', 60_000);
    expect(grew(open, after, 'parley_live_events_published_total', { type: 'CONVERSATION_CREATED' })).toBe(1);
    expect(grew(open, after, 'parley_live_events_delivered_total', { transport: 'websocket' })).toBe(1);
    expect(grew(open, after, 'parley_graphql_operations_total', { operation_name: 'Inbox', transport: 'websocket' })).toBe(1);

    await c.dispose();
    await until(async () => (await read()).value('parley_websocket_connections') === 0, 'the connection to close', 60_000);
  });

  it('counts subscriptions over HTTP (SSE) while they last, and the events they deliver', async () => {
    const { eventSeq } = await counters(server.db.prisma, ws.workspaceId);
    const before = await read();
    const controller = new AbortController();
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': ws.key },
      // After the cursor of now: an event committed before the server has the subscription is replayed.
      body: JSON.stringify({ query: 'subscription Stream($after: String) { conversationEvents(after: $after) { kind } }', variables: { after: String(eventSeq) } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect((await read()).value('parley_http_subscriptions')).toBe(1);
    await createConversation();
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('CONVERSATION_CREATED')) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before the event:\n${text}`);
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    await until(async () => (await read()).value('parley_http_subscriptions') === 0, 'the stream to end', 60_000);
    const after = await read();
    expect(grew(before, after, 'parley_live_events_delivered_total', { transport: 'http' })).toBe(1);
    expect(grew(before, after, 'parley_graphql_operations_total', { operation_type: 'subscription', operation_name: 'Stream', transport: 'http' })).toBe(1);
  });

  it('counts snoozed conversations woken', async () => {
    const id = await createConversation();
    const snoozed = await client(server.url, ws.key).ok(
      `mutation Snooze($input: SnoozeConversationInput!) { snoozeConversation(input: $input) { __typename } }`,
      { input: { conversationId: id, until: new Date(Date.now() + 3_600_000).toISOString() } },
    );
    expect(snoozed.snoozeConversation.__typename).toBe('SnoozeConversationPayload');
    const before = await read();
    // Its time comes (as if an hour passed): the waker, every 200 ms here, reopens it.
    await server.db.prisma.conversation.update({ where: { id: localId(id) }, data: { snoozedUntil: new Date(Date.now() - 1000) } });
    await until(async () => (await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(id) } })).status === 'OPEN', 'the snooze to be woken', 60_000);
    const after = await read();
    expect(grew(before, after, 'parley_snooze_wakes_total')).toBe(1);
    expect(grew(before, after, 'parley_live_events_published_total', { type: 'STATUS_CHANGED' })).toBe(1);
  });

  it('carries no id, URL, key or free text in any label', async () => {
    // Names a client could use to blow up the label sets: long ones, and many unknown ones.
    const api = client(server.url, ws.key);
    await api.request(`query ${'A'.repeat(100)} { viewer { kind } }`);
    for (let i = 0; i < 5; i++) await gql(server.url, `query Probe${i}x${ws.workspaceId.replace(/-/g, '')} { viewer { kind } }`, {}, { key: null });
    await fetch(`${server.url}/graphql/${ws.workspaceId}?key=${ws.key}`);
    const m = await read();
    const allowed: Record<string, RegExp> = {
      operation_type: /^(query|mutation|subscription|unknown)$/,
      operation_name: /^[A-Za-z_][A-Za-z0-9_]{0,63}$/,
      transport: /^(http|websocket)$/,
      code: /^[A-Z][A-Z0-9_]*$/,
      route: /^(\/graphql|\/healthz|\/readyz|\/metrics|other)$/,
      status: /^\d{1,3}$/,
      limit: /^[a-z_]+$/,
      type: /^[A-Z_]+$/,
      state: /^(in_use|idle|max|named)$/,
      outcome: /^(success|retry|failed|gone)$/,
      executor: /^(planner|interpreter)$/,
    };
    const uuid = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/i;
    for (const { metric, label, value } of m.labelValues()) {
      if (!metric.startsWith('parley_')) continue; // prom-client's own (versions, GC kinds, heap spaces)
      expect(allowed[label], `label ${label} of ${metric}`).toBeDefined();
      expect(value, `${metric}{${label}}`).toMatch(allowed[label]!);
      expect(value).not.toMatch(uuid);
      expect(value).not.toContain('prl_');
      expect(value).not.toContain('://');
    }
    expect(m.samples('parley_graphql_operations_total', { operation_name: 'A'.repeat(100) })).toEqual([]);
    expect(m.text).not.toContain(ws.workspaceId);
    expect(m.text).not.toContain(ws.workspaceId.replace(/-/g, ''));
  });
});
