// The WebSocket transport: the graphql-ws protocol on /graphql, authentication in
// connection_init, the legacy protocol refused, timeouts, limits, keep-alive, and yoga's
// plugins (shape limits, scopes, masking) applying to operations over the socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { client, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { liveClient, RawSocket, sleep, startLiveServer, type LiveTestServer } from './support/ws.js';

let server: LiveTestServer;
let ws: SeededWorkspace;
/**
 * A second server with short timeouts (2 s), for the two tests about them only; the first
 * server's are generous. With a 300 ms init timeout and pings every 200 ms on one server, a test
 * process starved for a moment on a loaded machine had its sockets closed under it ("no
 * connection_ack within 60000 ms" in the handshake test, load average 10).
 */
let quick: LiveTestServer;
let quickWs: SeededWorkspace;

const EVENTS = 'subscription { conversationEvents { cursor kind } }';

beforeAll(async () => {
  server = await startLiveServer({
    liveLimits: { connectionInitTimeoutMs: 30_000, maxSubscriptionsPerConnection: 3, maxPayloadBytes: 16 * 1024, keepAliveMs: 30_000 },
  });
  ws = await seedWorkspace(server.db.prisma, 'Transport workspace');
  quick = await startLiveServer({ liveLimits: { connectionInitTimeoutMs: 2_000, keepAliveMs: 2_000 } });
  quickWs = await seedWorkspace(quick.db.prisma, 'Transport timing workspace');
});
afterAll(async () => {
  await quick?.close();
  await server?.close();
});

let phones = 0;
/** A conversation made over HTTP (it commits timeline events); its global id. */
async function newConversation(): Promise<string> {
  phones += 1;
  const data = await client(server.url, ws.key).ok(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename ... on CreateConversationPayload { conversation { id } } ... on Error { code message } } }`,
    { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: `+1415556${String(phones).padStart(4, '0')}` } } },
  );
  if (data.createConversation.__typename !== 'CreateConversationPayload') throw new Error(JSON.stringify(data.createConversation));
  return data.createConversation.conversation.id;
}

describe('handshake', () => {
  it('speaks graphql-transport-ws on /graphql, the same port as HTTP', async () => {
    const raw = await RawSocket.open(server.url);
    expect(raw.ws.protocol).toBe('graphql-transport-ws');
    await raw.init(ws.key);
    raw.send({ type: 'ping', payload: { n: 1 } });
    expect(await raw.message('pong')).toEqual({ type: 'pong', payload: { n: 1 } });
    raw.close();
  });

  it('refuses the legacy graphql-ws subprotocol at the handshake', async () => {
    const refused = await RawSocket.open(server.url, ['graphql-ws']).then(
      () => null,
      (e) => e,
    );
    expect(refused?.status).toBe(400);
    expect(refused?.body).toContain('graphql-transport-ws');
  });

  it('refuses a socket that offers no subprotocol, and other paths', async () => {
    expect((await RawSocket.open(server.url, []).catch((e) => e)).status).toBe(400);
    const other = await new Promise<number>((resolve) => {
      const s = new WebSocket(`${server.url.replace('http', 'ws')}/elsewhere`, ['graphql-transport-ws']);
      s.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0));
      s.once('error', () => resolve(-1));
    });
    expect(other).toBe(404);
  });
});

describe('authentication in connection_init', () => {
  const closeOf = async (payload: unknown) => {
    const raw = await RawSocket.open(server.url);
    raw.send({ type: 'connection_init', ...(payload === undefined ? {} : { payload }) });
    return raw.closedWithin();
  };

  it('accepts { apiKey } and { authorization: "Bearer ..." }', async () => {
    for (const payload of [{ apiKey: ws.key }, { authorization: `Bearer ${ws.key}` }]) {
      const raw = await RawSocket.open(server.url);
      raw.send({ type: 'connection_init', payload });
      expect(await raw.message('connection_ack')).toEqual({ type: 'connection_ack' });
      raw.close();
    }
  });

  it('closes with 4403 when the key is missing, unknown, revoked or expired', async () => {
    const revoked = await ws.makeKey();
    await server.db.prisma.apiKey.update({ where: { id: revoked.id }, data: { revokedAt: new Date(Date.now() - 1000) } });
    const expired = await ws.makeKey({ expiresAt: new Date(Date.now() - 1000) });
    expect((await closeOf(undefined)).code).toBe(4403);
    expect((await closeOf({})).code).toBe(4403);
    expect((await closeOf({ authorization: `Basic ${ws.key}` })).code).toBe(4403);
    expect(await closeOf({ apiKey: 'prl_not-a-real-key' })).toEqual({ code: 4403, reason: 'Forbidden: The API key is not valid.' });
    expect(await closeOf({ apiKey: revoked.secret })).toEqual({ code: 4403, reason: 'Forbidden: The API key has been revoked.' });
    expect(await closeOf({ apiKey: expired.secret })).toEqual({ code: 4403, reason: 'Forbidden: The API key has expired.' });
  });

  it('a graphql-ws client with a bad key sees the 4403 close', async () => {
    const c = liveClient(server.url, 'prl_wrong');
    const feed = c.subscribe(EVENTS);
    const error = (await feed.failure()) as { code: number };
    expect(error.code).toBe(4403);
    await c.dispose();
  });

  it('closes a connection that never sends connection_init (4408)', async () => {
    const raw = await RawSocket.open(quick.url);
    const started = Date.now();
    expect(await raw.closedWithin()).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    // The server's timer starts when it accepts the socket, before the client sees it open: allow for that.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('refuses a subscribe before the ack (4401) and a second connection_init (4429)', async () => {
    const early = await RawSocket.open(server.url);
    early.send({ id: '1', type: 'subscribe', payload: { query: EVENTS } });
    expect((await early.closedWithin()).code).toBe(4401);

    const twice = await RawSocket.open(server.url);
    await twice.init(ws.key);
    twice.send({ type: 'connection_init', payload: { apiKey: ws.key } });
    expect((await twice.closedWithin()).code).toBe(4429);
  });
});

describe('protocol and limits', () => {
  it('closes on an invalid message (4400) and on a duplicate subscription id (4409)', async () => {
    const bad = await RawSocket.open(server.url);
    bad.send('{"type":');
    expect((await bad.closedWithin()).code).toBe(4400);

    const dup = await RawSocket.open(server.url);
    await dup.init(ws.key);
    dup.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS } });
    dup.send({ id: 'a', type: 'subscribe', payload: { query: EVENTS } });
    expect((await dup.closedWithin()).code).toBe(4409);
  });

  it('closes a connection that sends a message over maxPayload (1009)', async () => {
    const raw = await RawSocket.open(server.url);
    await raw.init(ws.key);
    raw.send({ id: 'big', type: 'subscribe', payload: { query: `query { __typename } # ${'x'.repeat(20_000)}` } });
    expect((await raw.closedWithin()).code).toBe(1009);
  });

  it('caps the operations running on one connection, through a flood of 500 subscribes', async () => {
    const CAP = 3;
    const FLOOD = 500;
    // With after: "0" a subscription replays the timeline before going live: whenever it
    // joined, it receives every event, so the test waits for events and never for time.
    const LIVE = 'subscription { conversationEvents(after: "0") { cursor kind conversationId } }';
    const raw = await RawSocket.open(server.url);
    await raw.init(ws.key);
    for (let i = 1; i <= FLOOD; i++) raw.send({ id: String(i), type: 'subscribe', payload: { query: LIVE } });

    // Every subscribe past the cap gets its own error, in order; the first three are not refused.
    const refused: any[] = [];
    for (let i = CAP + 1; i <= FLOOD; i++) refused.push(await raw.message('error', 30_000));
    expect(refused.map((m) => m.id)).toEqual(Array.from({ length: FLOOD - CAP }, (_, i) => String(CAP + 1 + i)));
    const capError = {
      message: `A connection may run at most ${CAP} operations at once; complete some or open another connection.`,
      extensions: { code: 'RATE_LIMITED', limit: CAP },
    };
    for (const m of refused) expect(m.payload).toEqual([capError]);
    // Refused operation by operation: the connection itself stays open.
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);

    // The three under the cap run: an event reaches each of them, and no other.
    await newConversation();
    const heard = new Set<string>();
    while (heard.size < CAP) {
      const m = await raw.message(undefined, 15_000);
      expect(m.type).toBe('next');
      heard.add(m.id);
    }
    expect([...heard].sort()).toEqual(['1', '2', '3']);

    // Completing one makes room on the same connection: the next subscribe runs (it replays).
    raw.send({ id: '1', type: 'complete' });
    raw.send({ id: String(FLOOD + 1), type: 'subscribe', payload: { query: LIVE } });
    for (;;) {
      const m = await raw.message(undefined, 15_000);
      expect(m.type).toBe('next');
      // (Events already on their way to '1' may still arrive; nothing for the refused ids.)
      expect(['1', '2', '3', String(FLOOD + 1)]).toContain(m.id);
      if (m.id === String(FLOOD + 1)) break;
    }

    // Right after the flood, the server still answers an HTTP query...
    const viewer = await client(server.url, ws.key).request('{ viewer { kind workspace { name } } }');
    expect(viewer).toMatchObject({ status: 200, data: { viewer: { kind: 'TEAM', workspace: { name: 'Transport workspace' } } } });
    expect(viewer.errors).toBeUndefined();
    // ...and a fresh WebSocket subscription, live: it receives the event of a conversation made after it.
    const fresh = liveClient(server.url, ws.key);
    try {
      const feed = fresh.subscribe<{ conversationEvents: { cursor: string; kind: string; conversationId: string } }>(LIVE);
      // The replay first: the subscription is running.
      const replayed = await feed.nextData(15_000);
      expect(replayed.conversationEvents.cursor).toMatch(/^\d+$/);
      const second = await newConversation();
      for (;;) {
        const e = await feed.nextData(15_000);
        if (e.conversationEvents.conversationId === second) break;
      }
    } finally {
      await fresh.dispose();
    }
    raw.close();
  }, 120_000);

  it('pings every socket and drops one that stops answering', async () => {
    const healthy = await RawSocket.open(quick.url);
    await healthy.init(quickWs.key);
    let pings = 0;
    healthy.ws.on('ping', () => pings++);
    const silent = await RawSocket.open(quick.url, ['graphql-transport-ws'], { autoPong: false });
    await silent.init(quickWs.key);
    const closed = await silent.closedWithin();
    expect(closed.code).toBe(1006); // terminated, no close frame
    // Sockets are pinged in slices spread over the interval (keepAliveMs 2000 here), so the
    // healthy one may have had a single ping when the silent one was dropped: wait for more.
    const deadline = Date.now() + 30_000;
    while (pings < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(healthy.ws.readyState).toBe(healthy.ws.OPEN);
    healthy.close();
  });
});

describe('operations go through the same yoga plugins as HTTP', () => {
  it('answers a query over the socket, with the key of connection_init', async () => {
    const c = liveClient(server.url, ws.key);
    const result = await c.request('{ viewer { kind workspace { name } } }');
    expect(result).toMatchObject({ data: { viewer: { kind: 'TEAM', workspace: { name: 'Transport workspace' } } } });
    await c.dispose();
  });

  it('refuses an invalid operation with an error message', async () => {
    const raw = await RawSocket.open(server.url);
    await raw.init(ws.key);
    raw.send({ id: 'v', type: 'subscribe', payload: { query: 'subscription { noSuchField }' } });
    const error = await raw.message('error');
    expect(error.id).toBe('v');
    expect(error.payload[0].message).toContain('noSuchField');
    raw.close();
  });

  it('applies the shape limits (depth) to subscriptions', async () => {
    const raw = await RawSocket.open(server.url);
    await raw.init(ws.key);
    const deep = `subscription { conversationEvents { conversation { contact { conversations(first: 1) { edges { node { contact { conversations(first: 1) { edges { node { contact { conversations(first: 1) { edges { node { id } } } } } } } } } } } } } } }`;
    raw.send({ id: 'd', type: 'subscribe', payload: { query: deep } });
    const error = await raw.message('error');
    expect(JSON.stringify(error.payload)).toMatch(/depth/i);
    raw.close();
  });

  it('refuses a subscription to a key without read:conversations (FORBIDDEN), before any event', async () => {
    const k = await ws.makeKey({ scopes: ['READ_CONTACTS'] });
    const c = liveClient(server.url, k.secret);
    const feed = c.subscribe(EVENTS);
    const result = await feed.next();
    expect(result.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', scope: 'read:conversations' } });
    await feed.done();
    await c.dispose();
  });

  it('refuses a malformed cursor or filter id with BAD_USER_INPUT', async () => {
    const c = liveClient(server.url, ws.key);
    for (const [query, variables] of [
      ['subscription($after: String) { conversationEvents(after: $after) { cursor } }', { after: 'yesterday' }],
      ['subscription($after: String) { conversationEvents(after: $after) { cursor } }', { after: '9999999999999999999' }],
      ['subscription($f: ConversationEventFilter) { conversationEvents(filter: $f) { cursor } }', { f: { inboxes: ['bm90LWFuLWlk'] } }],
    ] as const) {
      const feed = c.subscribe(query, variables);
      const result = await feed.next();
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      await feed.done();
    }
    await c.dispose();
  });
});

describe('the per-key cost budget', () => {
  it('charges subscriptions over WebSocket as it charges HTTP requests', async () => {
    const small = await startLiveServer({ env: { COST_BUDGET_PER_MINUTE: '30' } });
    try {
      const w = await seedWorkspace(small.db.prisma, 'Budget workspace');
      const c = liveClient(small.url, w.key);
      const outcomes: (Record<string, any> | null)[] = [];
      for (let i = 0; i < 40; i++) {
        const feed = c.subscribe(EVENTS);
        const outcome = await Promise.race([feed.next(500).then((r) => r.errors?.[0]?.extensions ?? { data: true }), sleep(150).then(() => null)]);
        outcomes.push(outcome);
        if (outcome) break;
      }
      // Subscribed (no answer: it waits for events) until the budget is spent.
      expect(outcomes.length).toBeGreaterThan(1);
      expect(outcomes.slice(0, -1).every((x) => x === null)).toBe(true);
      expect(outcomes.at(-1)).toMatchObject({ code: 'RATE_LIMITED', cost: { budget: 30 } });
      await c.dispose();
    } finally {
      await small.close();
    }
  });
});
