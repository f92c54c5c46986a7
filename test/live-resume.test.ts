// A subscriber that outlives its server: the server stops (as on SIGTERM), delivering the
// events already committed and then closing the socket with 1001; the graphql-ws client
// retries, reaches the next server on the same database, resubscribes with the cursor of
// the last event it saw, and gets what it missed from the timeline, then live events: every
// event once, in order. On PGlite (a restart on the same data directory) and PostgreSQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { createTestDatabase, usePostgres, type TestDatabase } from './support/databases.js';
import { seedWorkspace } from './support/seed.js';
import { liveClient, sleep, startLiveServer, wsUrl, type LiveTestServer } from './support/ws.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-live-resume-'));
let database: TestDatabase;
const servers: LiveTestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => {});
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start() {
  const s = await startLiveServer({ database });
  servers.push(s);
  return s;
}

describe(`resuming across a server restart (${usePostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('misses nothing and repeats nothing', async () => {
    database = await createTestDatabase({ dataDir });
    const a = await start();
    const ws = await seedWorkspace(a.db.prisma, 'Resume workspace');

    const conversation = async (s: LiveTestServer) => {
      const data = await client(s.url, ws.key).ok(
        'mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }',
        { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: '+14155550199' } } },
      );
      return data.createConversation.conversation.id as string;
    };
    const send = async (s: LiveTestServer, conversationId: string, content: string) => {
      const data = await client(s.url, ws.key).ok(
        'mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }',
        { input: { conversationId, content, senderType: 'CONTACT' } },
      );
      expect(data.sendMessage.__typename).toBe('SendMessagePayload');
    };
    const id = await conversation(a);

    // The client asks where to connect each time it (re)connects: to whichever server is up.
    let current: string | null = a.url;
    let opened: () => void = () => {};
    let gate: Promise<void> = Promise.resolve();
    const c = liveClient(
      (async () => {
        await gate;
        return wsUrl(current!);
      }) as unknown as () => string,
      ws.key,
      { retryAttempts: 50 },
    );
    const feed = c.subscribe(
      'subscription($f: ConversationEventFilter, $after: String) { conversationEvents(filter: $f, after: $after) { cursor kind message { content } } }',
      { f: { conversation: id } },
      { resume: true },
    );
    while (a.parley.live.stats.members < 1) await sleep(10);

    await send(a, id, 'one');
    await send(a, id, 'two');
    expect((await feed.take(2)).map((d) => d.conversationEvents.message.content)).toEqual(['one', 'two']);

    // Committed, its delivery still in flight: the stop delivers it before closing with 1001.
    gate = new Promise((r) => (opened = r));
    await send(a, id, 'three');
    current = null;
    await a.stop();
    while (!c.closes.length) await sleep(10);
    expect(c.closes[0]).toMatchObject({ code: 1001 });
    // Delivered by the stopping server (the client cannot reconnect yet).
    expect(feed.results).toHaveLength(3);
    expect((await feed.take(1)).map((d) => d.conversationEvents.message.content)).toEqual(['three']);

    // Another server on the same database; events happen before the client is back.
    const b = await start();
    await send(b, id, 'four');
    await send(b, id, 'five');
    current = b.url;
    opened();
    expect((await feed.take(2, 10_000)).map((d) => d.conversationEvents.message.content)).toEqual(['four', 'five']);
    while (b.parley.live.stats.members < 1) await sleep(10);
    await send(b, id, 'six');
    expect((await feed.take(1)).map((d) => d.conversationEvents.message.content)).toEqual(['six']);
    await feed.nothingFor(300);

    const cursors = feed.results.map((r) => BigInt((r.data as any).conversationEvents.cursor));
    expect(cursors).toHaveLength(6);
    for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBe(cursors[i - 1]! + 1n);
    expect(c.connects).toBe(2);
    await c.dispose();
  });
});
