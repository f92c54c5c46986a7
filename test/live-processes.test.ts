// Live events when there is more than one server process.
//
// Between processes, publications arrive late, out of order (each process publishes after
// its own commit) or not at all (a Redis reconnect). The timeline is the authority: a gap
// in cursors is read back from it, and so is a lost last event. That part runs on every
// database.
//
// Then two real `src/main.ts` processes on one PostgreSQL database, with Redis carrying the
// events: a mutation sent to one reaches a subscriber of the other, in order, also when both
// take writes at once; SIGTERM closes a process's sockets with 1001 after its last events,
// and the client resumes on the other. Redis and two processes on one database need
// PostgreSQL: those tests are registered only in the PostgreSQL suite (PARLEY_TEST_DB=postgres,
// `npm run test:pg`, which CI runs: see .ci/run), whose global setup starts PostgreSQL and
// Redis and fails when it cannot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { client, globalId, localId } from './support/graphql.js';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './support/databases.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, START_TIMEOUT_MS, stopCleanly, until, type ParleyProcess } from './support/process.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { liveClient, sleep, startLiveServer, wsUrl, type LiveTestServer } from './support/ws.js';
import { scopeToWorkspace } from '../src/db/tenant.js';
import { inTransaction } from '../src/services/timeline.js';

describe('publications that never arrive', () => {
  let server: LiveTestServer;
  let ws: SeededWorkspace;
  beforeAll(async () => {
    server = await startLiveServer();
    ws = await seedWorkspace(server.db.prisma, 'Lost publications');
  });
  afterAll(() => server?.close());

  /** A timeline event committed without being published, as if its publication were lost. */
  const unpublished = (conversationId: string, subject: string) =>
    inTransaction({ db: scopeToWorkspace(server.db.prisma, ws.workspaceId), workspaceId: ws.workspaceId, actor: { type: 'SYSTEM' } }, async (tx, events) => {
      await tx.conversation.update({ where: { id: conversationId }, data: { subject } });
      await events.record({ type: 'CONVERSATION_UPDATED', conversationId, before: {}, after: { subject } });
    });

  it('are read back from the timeline: a gap before the next event, and a lost last event', async () => {
    const api = client(server.url, ws.key);
    const created = await api.ok(
      'mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }',
      { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: '+14155557001' } } },
    );
    const id = created.createConversation.conversation.id as string;
    const c = liveClient(server.url, ws.key);
    const feed = c.subscribe('subscription($f: ConversationEventFilter) { conversationEvents(filter: $f) { cursor kind conversation { subject } } }', {
      f: { conversation: id },
    });
    while (server.parley.live.stats.members < 1) await sleep(10);

    await unpublished(localId(id), 'lost one');
    await api.ok('mutation($input: UpdateConversationInput!) { updateConversation(input: $input) { __typename } }', {
      input: { conversationId: id, priority: 'HIGH' },
    });
    const [gap, next] = await feed.take(2);
    expect([gap.conversationEvents.kind, next.conversationEvents.kind]).toEqual(['CONVERSATION_UPDATED', 'PRIORITY_CHANGED']);
    expect(BigInt(next.conversationEvents.cursor)).toBe(BigInt(gap.conversationEvents.cursor) + 1n);

    // Nothing comes after it: the periodic check of the workspace's last cursor finds it.
    await unpublished(localId(id), 'lost last');
    const [last] = await feed.take(1, 10_000);
    expect(last.conversationEvents).toMatchObject({ kind: 'CONVERSATION_UPDATED', conversation: { subject: 'lost last' } });
    expect(BigInt(last.conversationEvents.cursor)).toBe(BigInt(next.conversationEvents.cursor) + 1n);
    await c.dispose();
  });
});

if (usePostgres) {
  describe('two server processes, one database, events through Redis', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
    let database: TestDatabase;
    let db: Database;
    let ws: SeededWorkspace;
    let a: { p: ParleyProcess; url: string };
    let b: { p: ParleyProcess; url: string };

    const spawnServer = async () => {
      const p = runParley({ DATABASE_URL: database.url!, REDIS_URL, PORT: '0', SEED_DEMO: 'false', SHUTDOWN_TIMEOUT_MS: '5000' });
      return { p, url: await listening(p) };
    };

    beforeAll(async () => {
      database = await createTestDatabase();
      // One after the other: the first applies the migrations.
      a = await spawnServer();
      b = await spawnServer();
      db = await openDatabase({ databaseUrl: database.url, dataDir: 'unused' });
      ws = await seedWorkspace(db.prisma, 'Two processes');
    }, 3 * START_TIMEOUT_MS);
    afterAll(async () => {
      // The processes are reaped by support/process.ts.
      await db?.close();
      await database?.drop();
    });

    // Each event's wait, generous: between processes on a busy machine, not a measure of speed.
    const EVENT_TIMEOUT_MS = 60_000;
    const EVENTS = 'subscription($f: ConversationEventFilter, $after: String) { conversationEvents(filter: $f, after: $after) { cursor kind message { content } } }';
    let phones = 0;
    const conversation = async (url: string) => {
      const data = await client(url, ws.key).ok(
        'mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }',
        { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: `+1415556${String(1000 + ++phones)}` } } },
      );
      return data.createConversation.conversation.id as string;
    };
    const send = async (url: string, conversationId: string, content: string) => {
      const data = await client(url, ws.key).ok('mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }', {
        input: { conversationId, content, senderType: 'CONTACT' },
      });
      expect(data.sendMessage.__typename).toBe('SendMessagePayload');
    };
    /** Subscribes and proves the subscription is live with an event through the same process. */
    // No guess at how long registering takes: probe until one probe comes back, then send a
    // marker and read up to it, so that probes sent before the subscription was live and
    // probes still in flight are all consumed before the test's own events.
    type Feed = { take(n: number, timeoutMs?: number): Promise<any[]> };
    /** Reads a feed up to and including the event whose content is `marker`. */
    const drainTo = async (feed: Feed, marker: string) => {
      while (contents(await feed.take(1, EVENT_TIMEOUT_MS))[0] !== marker);
    };
    const subscribed = async (feed: Feed, url: string, id: string, marker = 'synced') => {
      const deadline = Date.now() + EVENT_TIMEOUT_MS;
      for (;;) {
        await send(url, id, 'ready?');
        try {
          await feed.take(1, 1000);
          break;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
      }
      await send(url, id, marker);
      await drainTo(feed, marker);
    };
    const contents = (events: any[]) => events.map((e) => e.conversationEvents.message?.content ?? e.conversationEvents.kind);

    it('a mutation sent to one process reaches a subscriber connected to the other, in order', async () => {
      const id = await conversation(a.url);
      const c = liveClient(b.url, ws.key);
      const feed = c.subscribe(EVENTS, { f: { conversation: id } });
      await subscribed(feed, b.url, id);
      for (let i = 1; i <= 20; i++) await send(a.url, id, `from A ${i}`);
      const got = await feed.take(20, EVENT_TIMEOUT_MS);
      expect(contents(got)).toEqual(Array.from({ length: 20 }, (_, i) => `from A ${i + 1}`));
      const cursors = got.map((e) => BigInt(e.conversationEvents.cursor));
      for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBe(cursors[i - 1]! + 1n);
      await c.dispose();
    });

    it('with both processes taking writes at once, each subscriber gets every event once, in cursor order', async () => {
      const id = await conversation(a.url);
      const ca = liveClient(a.url, ws.key);
      const cb = liveClient(b.url, ws.key);
      const onA = ca.subscribe(EVENTS, { f: { conversation: id } });
      const onB = cb.subscribe(EVENTS, { f: { conversation: id } });
      await subscribed(onA, a.url, id, 'synced A');
      await subscribed(onB, b.url, id, 'synced B');
      await drainTo(onA, 'synced B');
      await Promise.all([
        (async () => {
          for (let i = 1; i <= 25; i++) await send(a.url, id, `A${i}`);
        })(),
        (async () => {
          for (let i = 1; i <= 25; i++) await send(b.url, id, `B${i}`);
        })(),
      ]);
      const rows = await db.prisma.event.findMany({ where: { conversationId: localId(id) }, orderBy: { seq: 'asc' } });
      const committed = rows.slice(-50).map((r) => r.seq.toString());
      for (const feed of [onA, onB]) {
        const got = await feed.take(50, EVENT_TIMEOUT_MS);
        expect(got.map((e) => e.conversationEvents.cursor)).toEqual(committed);
        const text = contents(got);
        expect(text.filter((t) => t.startsWith('A'))).toEqual(Array.from({ length: 25 }, (_, i) => `A${i + 1}`));
        expect(text.filter((t) => t.startsWith('B'))).toEqual(Array.from({ length: 25 }, (_, i) => `B${i + 1}`));
        await feed.nothingFor(200);
      }
      await ca.dispose();
      await cb.dispose();
    });

    it('SIGTERM closes with 1001 after the last events; the client resumes on the other process and misses nothing', async () => {
      const id = await conversation(a.url);
      let target = a.url;
      const c = liveClient(() => wsUrl(target), ws.key, { retryAttempts: 20 });
      const feed = c.subscribe(EVENTS, { f: { conversation: id } }, { resume: true });
      await subscribed(feed, a.url, id);
      await send(a.url, id, 'one');
      await send(b.url, id, 'two');
      target = b.url;
      await stopCleanly(a.p);
      await until(() => c.closes.length > 0, 'the socket to close');
      expect(c.closes[0]).toMatchObject({ code: 1001 });
      // Sent while the client was away, to the process it is coming back to.
      await send(b.url, id, 'three');
      await send(b.url, id, 'four');
      const got = await feed.take(4, EVENT_TIMEOUT_MS);
      expect(contents(got)).toEqual(['one', 'two', 'three', 'four']);
      await feed.nothingFor(300);
      const cursors = feed.results.map((r: any) => BigInt(r.data.conversationEvents.cursor));
      for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBe(cursors[i - 1]! + 1n);
      expect(c.connects).toBe(2);
      await c.dispose();
    });
  });
}
