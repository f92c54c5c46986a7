// Webhooks through the real HTTP server and a real HTTP receiver on 127.0.0.1: endpoints,
// Standard Webhooks signatures (verified with the public `standardwebhooks` package),
// filters, visibility, custom payloads, retries, disabling, redelivery and replay, tenancy.
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, post, urlProblem } from '../src/security/outbound.js';
import { client } from './support/graphql.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { liveClient } from './support/ws.js';
import { until } from './support/process.js';
import { usePostgres } from './support/databases.js';
import { startTestServer } from './support/server.js';
import { api, ERROR, newConversation, openWriteWorld, type Api, type SeededWorkspace, type TestServer } from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;
let receiver: Receiver;

const METRICS_TOKEN = 'webhook-metrics-token-0123456789';
const ENV = {
  METRICS_TOKEN,
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_RETRY_SCHEDULE_MS: '0,150,150,150,150,150,150,150,150,150',
  WEBHOOK_PROBE_INTERVAL_MS: '100',
  // Disabling after days of failures is tried on a server of its own (below).
  WEBHOOK_DISABLE_AFTER_MS: '3600000',
  // Generous: a loaded machine must not turn a slow answer into a failure.
  WEBHOOK_TIMEOUT_MS: '20000',
  WEBHOOK_LEASE_MS: '40000',
};

beforeAll(async () => {
  ({ server, ws, other, a } = await openWriteWorld('Webhooks', ENV));
  receiver = await startReceiver();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const ENDPOINT = 'id url kind enabled disabledReason disabledAt eventKinds senderTypes filter payloadDocument failingSince startCursor';
const CREATED = `... on WebhookEndpointSecretPayload { secret endpoint { ${ENDPOINT} } } ... on ValidationError { field } ${ERROR}`;

let pathCounter = 0;
/** An endpoint with a path of its own on the receiver. */
async function endpoint(input: Record<string, unknown> = {}, using: Api = a) {
  const path = `/hook-${++pathCounter}`;
  const result = await using.mutate('createWebhookEndpoint', { url: `${receiver.url}${path}`, ...input }, CREATED);
  if (result.code) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(result)}`);
  return { path, secret: result.secret as string, endpoint: result.endpoint as { id: string; [k: string]: unknown } };
}

function verified(secret: string, r: { body: string; headers: Record<string, unknown> }) {
  return new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as any;
}

const DELIVERY = 'id webhookId kind state attemptCount eventCursor payload payloadBytes lastStatus nextAttemptAt completedAt attempts { startedAt httpStatus success error responseBody durationMs }';
async function deliveries(endpointId: string, using: Api = a) {
  const data = await using.ok(`query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) { edges { node { ${DELIVERY} } } } }`, { id: endpointId });
  return data.webhookDeliveries.edges.map((e: any) => e.node) as any[];
}
/** Deliveries as the receiver got them, put in timeline order by their cursor (several may be in flight at once). */
function byCursor<T extends { json: any }>(got: T[]): T[] {
  return [...got].sort((x, y) => Number(x.json.cursor) - Number(y.json.cursor));
}
async function endpointNode(id: string, using: Api = a) {
  return (await using.ok(`query($id: ID!) { node(id: $id) { ... on WebhookEndpoint { ${ENDPOINT} recentSuccessRate recentAttemptCount } } }`, { id })).node;
}

describe('endpoints and signed deliveries', () => {
  it('delivers every event after its creation, signed so that standardwebhooks verifies it, with the default payload', async () => {
    const before = await newConversation(a, ws, { text: 'before the endpoint' });
    const { path, secret, endpoint: ep } = await endpoint({ description: 'CRM sync' });
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(ep).toMatchObject({ enabled: true, kind: 'TEAM', eventKinds: [], filter: null });
    await a.send(before.conversation.id, { senderType: 'HUMAN', content: 'after the endpoint' });
    const [r] = await receiver.waitFor(path, 1);
    const payload = verified(secret, r!);
    expect(payload).toMatchObject({ type: 'MESSAGE_ADDED', cursor: expect.stringMatching(/^\d+$/) });
    expect(payload.data.conversation).toMatchObject({
      id: before.conversation.id,
      number: before.conversation.number,
      contact: { id: before.contact.id, name: 'Test contact' },
      inbox: { name: 'WhatsApp', channel: 'WHATSAPP' },
      labels: [],
    });
    expect(payload.data.message).toMatchObject({ content: 'after the endpoint', senderType: 'HUMAN' });
    expect(payload.data.event).toMatchObject({ type: 'MESSAGE_ADDED', actorType: 'USER' });
    expect(Number(payload.cursor)).toBeGreaterThan(Number(ep.startCursor));
    // Nothing from before the endpoint existed.
    expect(receiver.on(path).every((x) => x.json.data.message?.content !== 'before the endpoint')).toBe(true);
    expect(r!.headers['webhook-id']).toMatch(/^msg_/);
    // A tampered body does not verify.
    expect(() => verified(secret, { ...r!, body: r!.body.replace('after', 'AFTER') })).toThrow();
    // The receiver has it; the sender records the answer just after.
    await until(async () => (await deliveries(ep.id))[0]?.state !== 'PENDING', 'the attempt to be recorded', 30_000);
    const [d] = await deliveries(ep.id);
    expect(d).toMatchObject({ state: 'SUCCEEDED', webhookId: r!.headers['webhook-id'], attemptCount: 1, lastStatus: 200, payload: r!.body });
    expect(d.attempts).toEqual([expect.objectContaining({ httpStatus: 200, success: true, responseBody: 'ok' })]);
    expect((await endpointNode(ep.id)).recentSuccessRate).toBe(1);
  });

  it('delivers in timeline order, each event once per endpoint', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['MESSAGE_ADDED'] });
    const c = await newConversation(a, ws, { text: null });
    for (let i = 0; i < 8; i++) await a.send(c.conversation.id, { senderType: 'CONTACT', content: `m${i}` });
    const got = await receiver.waitFor(path, 8);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.on(path)).toHaveLength(8);
    // Up to WEBHOOK_MAX_IN_FLIGHT are in flight at once, so arrival order may differ; the cursor orders them.
    expect(byCursor(got).map((r) => r.json.data.message.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(8);
    await until(async () => (await deliveries(ep.id)).every((d) => d.state === 'SUCCEEDED'), 'every attempt to be recorded as succeeded', 30_000);
    // They leave in timeline order: in cursor order, each first attempt starts no earlier than the one before.
    const starts = (await deliveries(ep.id))
      .sort((x, y) => Number(x.eventCursor) - Number(y.eventCursor))
      .map((d) => Date.parse(d.attempts[0].startedAt));
    expect(starts).toHaveLength(8);
    for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThanOrEqual(starts[i - 1]!);
  });

  it('sends a signed test delivery and returns its attempt', async () => {
    const { path, secret, endpoint: ep } = await endpoint();
    const result = await a.must('sendTestWebhook', { endpointId: ep.id }, `... on WebhookDeliveryPayload { delivery { ${DELIVERY} } }`);
    expect(result.delivery).toMatchObject({ kind: 'WEBHOOK_TEST', state: 'SUCCEEDED', attempts: [{ httpStatus: 200, success: true }] });
    const [r] = receiver.on(path);
    expect(verified(secret, r!)).toMatchObject({ type: 'WEBHOOK_TEST', cursor: null });
  });

  it('refuses a bad URL, and an endpoint without the admin scope', async () => {
    const bad = await a.mutate('createWebhookEndpoint', { url: 'ftp://example.com/x' }, CREATED);
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'input.url' });
    const writer = await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'] });
    const res = await client(server.url, writer.secret).request(`mutation { createWebhookEndpoint(input: { url: "${receiver.url}/x" }) { __typename } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});

describe('what an endpoint receives', () => {
  it('an AI agent endpoint: contact messages on conversations the AI controls, nothing else', async () => {
    const { path } = await endpoint({ eventKinds: ['MESSAGE_ADDED'], senderTypes: ['CONTACT'], filter: { controller: 'AI_AGENT' } });
    const c = await newConversation(a, ws, { text: null });
    const id = c.conversation.id;
    await a.send(id, { senderType: 'CONTACT', content: 'hello AI' });
    await a.send(id, { senderType: 'AI_AGENT', content: 'hello human' });
    await a.must('startHumanHandoff', { conversationId: id, reason: 'asked for a person' }, '... on StartHumanHandoffPayload { conversation { id } }');
    await a.send(id, { senderType: 'CONTACT', content: 'hello person' });
    await a.must('stopHumanHandoff', { conversationId: id }, '... on StopHumanHandoffPayload { conversation { id } }');
    await a.send(id, { senderType: 'CONTACT', content: 'hello AI again' });
    await receiver.waitFor(path, 2);
    // The dispatcher has passed the last event when a later endpoint's delivery arrives.
    const probe = await endpoint({ eventKinds: ['MESSAGE_ADDED'] });
    await a.send(id, { senderType: 'HUMAN', content: 'marker' });
    await receiver.waitFor(probe.path, 1);
    expect(byCursor(receiver.on(path)).map((r) => r.json.data.message.content)).toEqual(['hello AI', 'hello AI again']);
  });

  it('TEAM endpoints receive internal notes; CONNECTOR endpoints never do', async () => {
    const team = await endpoint({ kind: 'TEAM', eventKinds: ['MESSAGE_ADDED'] });
    const connector = await endpoint({ kind: 'CONNECTOR', eventKinds: ['MESSAGE_ADDED'] });
    const c = await newConversation(a, ws, { text: null });
    await a.send(c.conversation.id, { senderType: 'HUMAN', content: 'secret note', private: true });
    await a.send(c.conversation.id, { senderType: 'HUMAN', content: 'public reply' });
    await receiver.waitFor(team.path, 2);
    await receiver.waitFor(connector.path, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(byCursor(receiver.on(team.path)).map((r) => r.json.data.message.content)).toEqual(['secret note', 'public reply']);
    expect(receiver.on(connector.path).map((r) => r.json.data.message.content)).toEqual(['public reply']);
    expect(receiver.on(connector.path).every((r) => !r.body.includes('secret note'))).toBe(true);
    // The CONNECTOR payload counts public messages only.
    expect(receiver.on(connector.path)[0]!.json.data.conversation.messageCount).toBe(1);
  });

  it('only a TEAM key acting as an ADMIN may create or change a TEAM endpoint', async () => {
    const connectorAdmin = api(server.url, (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['ADMIN'], userId: null })).secret);
    const refused = await connectorAdmin.request(`mutation { createWebhookEndpoint(input: { url: "${receiver.url}/x", kind: TEAM }) { __typename } }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const agentAdmin = api(server.url, (await ws.makeKey({ scopes: ['ADMIN'], userId: ws.agent.id })).secret);
    const byAgent = await agentAdmin.request(`mutation { createWebhookEndpoint(input: { url: "${receiver.url}/x", kind: TEAM }) { __typename } }`);
    expect(byAgent.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // A CONNECTOR key makes CONNECTOR endpoints, and sees only those.
    const own = await endpoint({}, connectorAdmin);
    expect(own.endpoint.kind).toBe('CONNECTOR');
    const team = await endpoint({ kind: 'TEAM' });
    const turn = await connectorAdmin.request(`mutation($id: ID!) { updateWebhookEndpoint(input: { endpointId: $id, kind: CONNECTOR }) { __typename } }`, { id: team.endpoint.id });
    expect(turn.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const listed = (await connectorAdmin.ok('{ webhookEndpoints { id kind } }')).webhookEndpoints as { kind: string }[];
    expect(listed.length).toBeGreaterThan(0);
    expect(listed.every((e) => e.kind === 'CONNECTOR')).toBe(true);
  });

  it('a custom GraphQL payload document chooses the fields; a bad one is refused when saved', async () => {
    const doc = 'subscription { conversationEvents { cursor kind conversation { number status contact { name } } } }';
    const { path, secret } = await endpoint({ eventKinds: ['RESOLVED'], payloadDocument: doc });
    const c = await newConversation(a, ws);
 await a.must('resolveConversation', { conversationId: c.conversation.id, reason: 'ISSUE_RESOLVED' }, '... on ResolveConversationPayload { conversation { id } }');
    const [r] = await receiver.waitFor(path, 1);
    expect(verified(secret, r!)).toEqual({
      type: 'RESOLVED',
      timestamp: expect.any(String),
      cursor: expect.stringMatching(/^\d+$/),
      data: { cursor: r!.json.cursor, kind: 'RESOLVED', conversation: { number: c.conversation.number, status: 'RESOLVED', contact: { name: 'Test contact' } } },
    });
    for (const [bad, reason] of [
      ['subscription { conversationEvents { nope } }', /Cannot query field "nope"/],
      ['query { viewer { id } }', /subscription/],
      ['subscription { conversationEvents(after: "1") { cursor } }', /no arguments/],
      ['subscription {', /does not parse/],
    ] as const) {
      const res = await a.mutate('createWebhookEndpoint', { url: `${receiver.url}/bad`, payloadDocument: bad }, CREATED);
      expect(res).toMatchObject({ __typename: 'ValidationError', field: 'input.payloadDocument' });
      expect(res.message).toMatch(reason);
    }
  });

  it('a CRM endpoint follows contacts: created, updated, erased, with the contact payload; contactEvents carries the same live', async () => {
    const { path, secret } = await endpoint({ contactEventKinds: ['CONTACT_CREATED', 'CONTACT_UPDATED', 'CONTACT_ERASED'] });
    const live = liveClient(server.url, ws.key);
    const feed = live.subscribe('subscription { contactEvents(kinds: [CONTACT_UPDATED]) { kind contactId contact { name } } }');
    await until(() => server.parley.live.stats.members >= 1, 'the live subscription');
    const created = await a.must('createContact', { name: 'Grace Hopper', email: 'grace@crm.test' }, '... on CreateContactPayload { contact { id } }');
    await a.must('updateContact', { contactId: created.contact.id, name: 'Grace B. Hopper' }, '... on UpdateContactPayload { contact { id } }');
    const grace = () => receiver.on(path).filter((r) => r.json.data.contactId === created.contact.id);
    // Erasing a contact erases its events that are not dispatched yet (and their payloads): the
    // CRM hears of Grace before she is erased, as it would in life.
    await until(() => grace().length >= 2, "Grace's first two contact events", 60_000);
    await newConversation(a, ws);
    await a.must('deleteContact', { contactId: created.contact.id }, '... on DeleteContactPayload { deletedContactId }');
    // Grace's three (and the events of the conversation's new contact, made with the conversation).
    await until(() => grace().length >= 3, "Grace's three contact events", 60_000);
    const bodies = grace()
      .map((r) => verified(secret, r))
      .sort((x, y) => Number(x.cursor) - Number(y.cursor));
    expect(bodies.map((b) => b.type)).toEqual(['CONTACT_CREATED', 'CONTACT_UPDATED', 'CONTACT_ERASED']);
    // Evaluated when dispatched: by then the contact may already be erased (null).
    expect([null, 'Grace B. Hopper']).toContain(bodies[1].data.contact?.name ?? null);
    expect(bodies[2].data.contact).toBeNull();
    // No conversation event among them: the endpoint named contact kinds only.
    expect(receiver.on(path).map((r) => r.json.type).filter((t) => !['CONTACT_CREATED', 'CONTACT_UPDATED', 'CONTACT_ERASED'].includes(t))).toEqual([]);
    const [update] = await feed.take(1);
    expect(update).toMatchObject({ contactEvents: { kind: 'CONTACT_UPDATED', contactId: created.contact.id } });
    await live.dispose();
  });

  it('conversationEvents takes the same kind and sender filter', async () => {
    const sdl = await a.ok('{ __type(name: "ConversationEventFilter") { inputFields { name } } }');
    expect(sdl.__type.inputFields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['kinds', 'senderTypes']));
  });
});

describe('failures', () => {
  it('retries on the schedule with the same webhook-id until the receiver answers 2xx', async () => {
    const { path, secret, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    let calls = 0;
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path && ++calls <= 2 ? { status: 500, body: 'boom' } : previous(r));
    await newConversation(a, ws);
    const got = await receiver.waitFor(path, 3);
    receiver.answer = previous;
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    for (const r of got) verified(secret, r);
    // Standard Webhooks' schedule, shortened by configuration: 150 ms apart (±10 % jitter).
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(100);
    await until(async () => (await deliveries(ep.id))[0]?.state === 'SUCCEEDED', 'the delivery to succeed', 30_000);
    const [d] = await deliveries(ep.id);
    expect(d.attempts.map((x: { httpStatus: number }) => x.httpStatus)).toEqual([500, 500, 200]);
    expect(d.attempts[0].responseBody).toBe('boom');
    expect((await endpointNode(ep.id)).failingSince).toBeNull();
  });

  it('honours Retry-After on 429', async () => {
    const { path } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    let calls = 0;
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path && ++calls === 1 ? { status: 429, headers: { 'retry-after': '1' } } : previous(r));
    await newConversation(a, ws);
    const got = await receiver.waitFor(path, 2);
    receiver.answer = previous;
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('410 Gone disables the endpoint', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path ? { status: 410 } : previous(r));
    await newConversation(a, ws);
    await receiver.waitFor(path, 1);
    await until(async () => (await endpointNode(ep.id)).enabled === false, 'the endpoint to be disabled', 30_000);
    receiver.answer = previous;
    expect(await endpointNode(ep.id)).toMatchObject({ enabled: false, disabledReason: 'The endpoint answered 410 Gone.', disabledAt: expect.any(String) });
    expect((await deliveries(ep.id))[0]).toMatchObject({ state: 'FAILED', lastStatus: 410 });
    // Disabled, it gets nothing.
    await newConversation(a, ws);
    const probe = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    await newConversation(a, ws);
    await receiver.waitFor(probe.path, 1);
    expect(receiver.on(path)).toHaveLength(1);
  });

  it('an endpoint that only fails is probed one delivery at a time; when it answers again, its backlog goes at once', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path ? { status: 503 } : previous(r));
    for (let i = 0; i < 3; i++) await newConversation(a, ws);
    await until(async () => (await deliveries(ep.id)).reduce((n, d) => n + d.attempts.length, 0) >= 8, 'eight attempts on the failing endpoint', 60_000);
    // Once the first attempts (up to three, one per delivery) have failed: one attempt at a time,
    // never two closer than the probe interval (100 ms here). Attempts start when they are claimed,
    // on the database's clock, which the probe gate uses (the receiver's own clock shares this
    // process with the server, and a busy event loop would squeeze its gaps).
    const starts = (await deliveries(ep.id))
      .flatMap((d) => d.attempts.map((x: { startedAt: string }) => Date.parse(x.startedAt)))
      .sort((x: number, y: number) => x - y);
    expect(starts.length).toBeGreaterThanOrEqual(8);
    const gaps = starts.slice(3).map((t: number, i: number) => t - starts[i + 2]!);
    // (Times are kept to the millisecond: a rounding either way.)
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(98);
    expect((await endpointNode(ep.id)).failingSince).not.toBeNull();
    // Back: the first probe that succeeds makes every waiting delivery due at once.
    receiver.answer = previous;
    await until(async () => (await deliveries(ep.id)).every((d) => d.state === 'SUCCEEDED'), 'the backlog to drain', 60_000);
    const node = await endpointNode(ep.id);
    expect(node.failingSince).toBeNull();
    expect(node.recentSuccessRate).toBeGreaterThan(0);
    expect(node.recentSuccessRate).toBeLessThan(1);
  });
});

describe('a server with a long attempt timeout, a short disabling time and a short retention', () => {
  let slow: TestServer;
  let s: Api;
  beforeAll(async () => {
    slow = await startTestServer({
      env: {
        ...ENV,
        COST_BUDGET_PER_MINUTE: '0',
        WEBHOOK_TIMEOUT_MS: '30000',
        WEBHOOK_LEASE_MS: '60000',
        WEBHOOK_DISABLE_AFTER_MS: '1000',
        SHUTDOWN_TIMEOUT_MS: '1000',
        // Three seconds.
        WEBHOOK_RETENTION_DAYS: String(3 / 86_400),
      },
    });
    const { seedWorkspace } = await import('./support/seed.js');
    const w = await seedWorkspace(slow.db.prisma, 'Slow');
    s = api(slow.url, w.key);
    ws2 = w;
  });
  let ws2: SeededWorkspace;
  afterAll(() => slow?.close());

  it('records an answered attempt even when the database is busy for longer than 2 s: the delivery is not sent twice', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const previous = receiver.answer;
    // When the attempt arrives, every connection gets busy for 3 s (on PGlite its only one; on
    // PostgreSQL the pool's 10), as under a burst of mutations, and the receiver answers 200
    // 300 ms later: the outcome must wait for a connection, not be dropped (Prisma's default
    // wait for a transaction is 2 s), or the delivery goes again when its lease runs out.
    let busy: Promise<unknown> | undefined;
    receiver.answer = (r) => {
      if (r.path !== path || busy) return previous(r);
      busy = Promise.all(
        Array.from({ length: usePostgres ? 10 : 1 }, () =>
          server.db.prisma.$transaction(
            async (tx) => {
              await tx.$queryRaw`SELECT 1`;
              // Held without blocking the event loop (PGlite runs in this process).
              await new Promise((r) => setTimeout(r, 3000));
            },
            { maxWait: 10_000, timeout: 10_000 },
          ),
        ),
      );
      setTimeout(() => receiver.release(), 300);
      return { hang: true };
    };
    await newConversation(a, ws);
    await until(() => busy !== undefined, 'the attempt to reach the receiver', 30_000);
    await busy;
    receiver.answer = previous;
    await until(async () => (await deliveries(ep.id))[0]?.state === 'SUCCEEDED', 'the outcome to be recorded', 8_000);
    const [d] = await deliveries(ep.id);
    expect(d.attempts.map((x: { httpStatus: number }) => x.httpStatus)).toEqual([200]);
    expect(receiver.on(path)).toHaveLength(1);
  });

  it('a receiver that never answers does not hold up mutations, and gets at most WEBHOOK_MAX_IN_FLIGHT requests at once', async () => {
    const { path } = await endpoint({ eventKinds: ['MESSAGE_ADDED'] }, s);
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path ? { hang: true } : previous(r));
    const c = await newConversation(s, ws2, { text: null });
    for (let i = 0; i < 12; i++) await s.send(c.conversation.id, { senderType: 'CONTACT', content: `stuck ${i}` });
    await until(() => receiver.holding >= 4, 'four requests held', 60_000);
    // While four attempts hang, writes and reads go on.
    for (let i = 0; i < 5; i++) await s.send(c.conversation.id, { senderType: 'HUMAN', content: `still writing ${i}` });
    expect((await s.conversation(c.conversation.id)).messageCount).toBe(17);
    expect(receiver.maxHolding).toBe(4);
    expect(receiver.on(path)).toHaveLength(4);
    receiver.answer = previous;
    receiver.release();
  });

  it('deletes finished deliveries, with their attempts, once they are older than the retention', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] }, s);
    await newConversation(s, ws2);
    await receiver.waitFor(path, 1);
    const id = Buffer.from(ep.id, 'base64').toString().split(':')[1]!;
    await until(async () => (await slow.db.prisma.webhookDelivery.count({ where: { endpointId: id, state: 'SUCCEEDED' } })) === 1, 'the delivery to succeed', 30_000);
    await until(async () => (await slow.db.prisma.webhookDelivery.count({ where: { endpointId: id } })) === 0, 'the delivery to be pruned', 60_000);
    expect(await slow.db.prisma.webhookAttempt.count({ where: { delivery: { endpointId: id } } })).toBe(0);
    // The endpoint itself stays.
    expect((await endpointNode(ep.id, s)).url).toContain(path);
  });

  it('an endpoint where every delivery fails for the configured time is disabled', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] }, s);
    const previous = receiver.answer;
    receiver.answer = (r) => (r.path === path ? { status: 503 } : previous(r));
    for (let i = 0; i < 3; i++) await newConversation(s, ws2);
    await until(async () => (await endpointNode(ep.id, s)).enabled === false, 'the endpoint to be disabled after 1 s of failures', 60_000);
    const node = await endpointNode(ep.id, s);
    expect(node.disabledReason).toMatch(/Every delivery failed for 1 second\./);
    expect(node.recentSuccessRate).toBe(0);
    // Disabled, it is not tried any more.
    const tried = receiver.on(path).length;
    await newConversation(s, ws2);
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.on(path)).toHaveLength(tried);
    receiver.answer = previous;
  });
});

describe('metrics', () => {
  it('/metrics counts webhook attempts by outcome, their duration, the deliveries queued and the queue', async () => {
    const { scrape } = await import('./support/metrics.js');
    const m = await scrape(server.url, METRICS_TOKEN);
    // By now this file's server has made successful attempts, and failed ones that were retried.
    expect(m.value('parley_webhook_attempts_total', { outcome: 'success' })).toBeGreaterThan(0);
    expect(m.value('parley_webhook_attempts_total', { outcome: 'retry' })).toBeGreaterThan(0);
    expect(m.value('parley_webhook_attempts_total', { outcome: 'gone' })).toBeGreaterThanOrEqual(1);
    expect(m.value('parley_webhook_deliveries_queued_total')).toBeGreaterThan(0);
    expect(m.histogram('parley_webhook_attempt_duration_seconds', {}).count).toBeGreaterThan(0);
    expect(m.value('parley_webhook_queue_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(m.value('parley_webhook_deliveries_due')).toBeGreaterThanOrEqual(0);
  });
});

describe('redelivery and replay', () => {
  it('redelivers one delivery with its webhook-id, and replays what a disabled endpoint missed', async () => {
    const { path, secret, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const first = await newConversation(a, ws);
    const [r1] = await receiver.waitFor(path, 1);
    // Received is not yet recorded: a delivery still in flight is PENDING, and redeliverWebhook
    // leaves a pending delivery as it is (the schema says so). Wait for its success first.
    await until(async () => (await deliveries(ep.id))[0]?.state === 'SUCCEEDED', 'the delivery', 30_000);
    const [d] = await deliveries(ep.id);
    await a.must('redeliverWebhook', { deliveryId: d.id }, `... on WebhookDeliveryPayload { delivery { id } }`);
    const again = await receiver.waitFor(path, 2);
    expect(again[1]!.headers['webhook-id']).toBe(r1!.headers['webhook-id']);
    expect(again[1]!.body).toBe(r1!.body);
    verified(secret, again[1]!);

    await a.must('updateWebhookEndpoint', { endpointId: ep.id, enabled: false }, '... on WebhookEndpointPayload { endpoint { id } }');
    const missed = [await newConversation(a, ws), await newConversation(a, ws)];
    // The dispatcher has passed them (while the endpoint was disabled) before it is enabled again.
    await until(async () => {
      const [w] = await server.db.prisma.$queryRaw<{ behind: boolean }[]>`
        SELECT p.last_seq < w.event_seq AS behind FROM webhook_dispatch_position p JOIN workspace_counter w ON w.workspace_id = p.workspace_id WHERE w.workspace_id = ${ws.workspaceId}::uuid`;
      return w?.behind === false;
    }, 'the dispatcher to pass the missed events');
    await a.must('updateWebhookEndpoint', { endpointId: ep.id, enabled: true }, '... on WebhookEndpointPayload { endpoint { id } }');
    const replay = await a.must('replayWebhookEvents', { endpointId: ep.id, after: r1!.json.cursor }, '... on ReplayWebhookEventsPayload { eventCount endpoint { id } }');
    expect(replay.eventCount).toBeGreaterThanOrEqual(2);
    const all = await receiver.waitFor(path, 4);
    // Up to WEBHOOK_MAX_IN_FLIGHT go at once: they leave in timeline order, receivers order them by cursor.
    const numbers = all
      .slice(2)
      .sort((x, y) => Number(x.json.cursor) - Number(y.json.cursor))
      .map((r) => r.json.data.conversation.number);
    expect(numbers).toEqual(missed.map((m) => m.conversation.number));
    expect(first.conversation.number).toBeLessThan(numbers[0]);
  });
});

describe('erasure', () => {
  it("erasing a contact erases the stored payloads that mention it, and they cannot be sent again", async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['MESSAGE_ADDED'] });
    const c = await newConversation(a, ws, { text: null });
    await a.send(c.conversation.id, { senderType: 'CONTACT', content: 'my address is 1 Private Road' });
    await receiver.waitFor(path, 1);
    await until(async () => (await deliveries(ep.id))[0]?.state === 'SUCCEEDED', 'the delivery', 30_000);
    await a.must('deleteContact', { contactId: c.contact.id }, '... on DeleteContactPayload { deletedContactId }');
    const [d] = await deliveries(ep.id);
    expect(d).toMatchObject({ payload: null, payloadBytes: expect.any(Number) });
    const rows = await server.db.prisma.webhookDelivery.findMany({ where: { endpointId: Buffer.from(ep.id, 'base64').toString().split(':')[1]! } });
    expect(rows.map((r) => r.body)).toEqual([null]);
    const again = await a.mutate('redeliverWebhook', { deliveryId: d.id }, `... on ValidationError { field } ${ERROR}`);
    expect(again).toMatchObject({ __typename: 'ValidationError', message: expect.stringMatching(/erased/) });
  });
});

describe('tenancy', () => {
  it("another workspace's endpoints and deliveries are invisible and untouchable", async () => {
    const { endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    await newConversation(a, ws);
    await until(async () => (await deliveries(ep.id)).length > 0, 'a delivery', 30_000);
    const [d] = await deliveries(ep.id);
    const stranger = api(server.url, other.key);
    expect((await stranger.ok(`query($id: ID!) { node(id: $id) { id } }`, { id: ep.id })).node).toBeNull();
    expect((await stranger.ok(`query($id: ID!) { node(id: $id) { id } }`, { id: d.id })).node).toBeNull();
    expect((await stranger.ok('{ webhookEndpoints { id } }')).webhookEndpoints).toEqual([]);
    expect((await stranger.ok('{ webhookDeliveries(first: 10) { edges { node { id } } } }')).webhookDeliveries.edges).toEqual([]);
    // An id of another type (here a delivery's, for an endpoint) is bad input, not a server error.
    const wrongType = await stranger.request(`query($id: ID) { webhookDeliveries(endpointId: $id, first: 1) { edges { node { id } } } }`, { id: d.id });
    expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    for (const [name, input] of [
      ['updateWebhookEndpoint', { endpointId: ep.id, url: `${receiver.url}/stolen` }],
      ['deleteWebhookEndpoint', { endpointId: ep.id }],
      ['rotateWebhookSecret', { endpointId: ep.id }],
      ['sendTestWebhook', { endpointId: ep.id }],
      ['replayWebhookEvents', { endpointId: ep.id, after: '0' }],
      ['redeliverWebhook', { deliveryId: d.id }],
    ] as const) {
      const res = await stranger.mutate(name, input, '... on NotFoundError { entity }');
      expect(res, name).toMatchObject({ __typename: 'NotFoundError' });
    }
    expect((await endpointNode(ep.id)).url).not.toContain('stolen');
  });
});

describe('secrets', () => {
  it('rotation signs with both secrets for a while, and the old one still verifies', async () => {
    const { path, secret: old, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const rotated = await a.must('rotateWebhookSecret', { endpointId: ep.id }, `... on WebhookEndpointSecretPayload { secret endpoint { previousSecretExpiresAt } }`);
    expect(rotated.secret).not.toBe(old);
    expect(new Date(rotated.endpoint.previousSecretExpiresAt).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    await newConversation(a, ws);
    const [r] = await receiver.waitFor(path, 1);
    expect(String(r!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    verified(old, r!);
    verified(rotated.secret, r!);
  });

  it('are stored encrypted, never as the secret itself', async () => {
    const { secret, endpoint: ep } = await endpoint();
    const row = await server.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { id: Buffer.from(ep.id, 'base64').toString().split(':')[1]! } });
    expect(row.secret).toMatch(/^v1:/);
    expect(row.secret).not.toContain(secret.slice(6, 20));
  });
});

describe('outbound safety', () => {
  it('refuses private, loopback, link-local and metadata addresses unless allowed', async () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '100.64.0.1', '0.0.0.0']) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    expect(isPrivateAddress('93.184.215.14')).toBe(false);
    const strict = { allowPrivate: false };
    expect(urlProblem('http://example.com/hook', strict)).toMatch(/https/);
    expect(urlProblem('https://127.0.0.1/hook', strict)).toMatch(/private/);
    expect(urlProblem('https://[::1]/hook', strict)).toMatch(/private/);
    expect(urlProblem('https://169.254.169.254/latest/meta-data', strict)).toMatch(/private/);
    expect(urlProblem('https://example.com/hook', strict)).toBeNull();
    expect(urlProblem(`${receiver.url}/x`, { allowPrivate: true })).toBeNull();
  });

  it('checks the address a name resolves to when it connects', async () => {
    // The machine's own name is not caught by name (it could be anything); its address is, at connection time.
    const port = new URL(receiver.url).port;
    const before = receiver.received.length;
    const res = await post({ url: `https://${hostname()}:${port}/x`, headers: {}, body: '{}', timeoutMs: 5000, maxBodyBytes: 1024, policy: { allowPrivate: false } });
    expect(res.status).toBeNull();
    expect(res.error).toMatch(/private, loopback or link-local/);
    expect(receiver.received.length).toBe(before);
  });

  it('does not follow redirects, and reads at most the first KB of an answer', async () => {
    const { path, endpoint: ep } = await endpoint({ eventKinds: ['CONVERSATION_CREATED'] });
    const previous = receiver.answer;
    let n = 0;
    receiver.answer = (r) => (r.path === path ? (++n === 1 ? { status: 302, headers: { location: `${receiver.url}/elsewhere` } } : { status: 200, body: 'x'.repeat(100_000) }) : previous(r));
    await newConversation(a, ws);
    await receiver.waitFor(path, 2);
    receiver.answer = previous;
    expect(receiver.on('/elsewhere')).toHaveLength(0);
    await until(async () => (await deliveries(ep.id))[0]?.state === 'SUCCEEDED', 'the retry to succeed', 30_000);
    const [d] = await deliveries(ep.id);
    expect(d.attempts[0]).toMatchObject({ httpStatus: 302, success: false, error: expect.stringMatching(/Redirect/) });
    expect(d.attempts[1].responseBody.length).toBe(1024);
  });

  it('a server without WEBHOOK_ALLOW_PRIVATE_URLS refuses local endpoints when they are saved', async () => {
    const strict = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
    try {
      const { seedWorkspace } = await import('./support/seed.js');
      const w = await seedWorkspace(strict.db.prisma, 'Strict');
      const s = api(strict.url, w.key);
      for (const url of [`${receiver.url}/x`, 'https://10.0.0.8/hook', 'https://localhost/hook']) {
        const res = await s.mutate('createWebhookEndpoint', { url }, CREATED);
        expect(res, url).toMatchObject({ __typename: 'ValidationError', field: 'input.url' });
      }
    } finally {
      await strict.close();
    }
  });
});
