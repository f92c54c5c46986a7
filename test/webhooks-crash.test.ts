// Webhook delivery survives kill -9: real `src/main.ts` processes, a real receiver. A server
// killed with deliveries in flight and events not yet dispatched loses nothing when it starts
// again: every event reaches the receiver, an attempt cut short goes again with the same
// webhook-id. On PostgreSQL, two server processes send each delivery once.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/graphql.js';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './support/databases.js';
import { DEMO_KEY_LINE } from './support/demo.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, until, type ParleyProcess } from './support/process.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { TEST_SECRET_KEY } from './support/server.js';

const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_TIMEOUT_MS: '4000',
  // A claim left by a killed process runs out after this (PostgreSQL; PGlite voids them at start).
  WEBHOOK_LEASE_MS: '6000',
  WEBHOOK_RETRY_SCHEDULE_MS: '0,200,200,200,200,200,200,200,200,200',
  WEBHOOK_PROBE_INTERVAL_MS: '200',
  SECRET_KEY: TEST_SECRET_KEY,
  SHUTDOWN_TIMEOUT_MS: '5000',
};

interface World {
  database: TestDatabase;
  receiver: Receiver;
  env: Record<string, string>;
}

async function start(w: World): Promise<{ p: ParleyProcess; url: string }> {
  const p = runParley(w.env);
  return { p, url: await listening(p) };
}

const ids = (w: World, path: string) => w.receiver.on(path).map((r) => String(r.headers['webhook-id']));

describe.each([
  ['PGlite', false],
  ['PostgreSQL', true],
].filter(([, pg]) => !pg || usePostgres) as [string, boolean][])('kill -9 on %s', (_name, postgres) => {
  let w: World;
  beforeAll(async () => {
    const database = await createTestDatabase({ postgres, dataDir: postgres ? undefined : mkdtempSync(join(tmpdir(), 'parley-webhooks-')) });
    const receiver = await startReceiver();
    w = {
      database,
      receiver,
      env: {
        PORT: '0',
        ...(database.url ? { DATABASE_URL: database.url, REDIS_URL } : { DATA_DIR: database.dataDir }),
        ...WEBHOOK_ENV,
      },
    };
  });
  afterAll(async () => {
    await w?.receiver.close();
    await w?.database.drop();
    if (!postgres && w) rmSync(w.database.dataDir, { recursive: true, force: true });
  });

  it('mid-delivery and mid-dispatch loses nothing: every event arrives, a cut attempt goes again with its webhook-id', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const first = await start(w);
    const key = (await first.p.waitFor(DEMO_KEY_LINE))[1];
    const api = client(first.url, key!);
    const created = await api.ok(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
      ... on WebhookEndpointSecretPayload { endpoint { id } } ... on Error { code message } } }`, {
      input: { url: `${w.receiver.url}/crash`, eventKinds: ['MESSAGE_ADDED'] },
    });
    const endpointId = created.createWebhookEndpoint.endpoint.id as string;
    const inbox = (await api.ok('{ inboxes { id channel } }')).inboxes.find((i: { channel: string }) => i.channel === 'WHATSAPP').id as string;
    const conv = await api.ok(`mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } ... on Error { code message } } }`, {
      input: { inboxId: inbox, contact: { phone: '+14155550999', name: 'Crash test' } },
    });
    expect(conv.createConversation.conversation, JSON.stringify(conv)).toBeTruthy();
    const conversationId = conv.createConversation.conversation.id as string;
    const send = (u: string, content: string) =>
      client(u, key!).ok(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`, { input: { conversationId, senderType: 'CONTACT', content } });

    // The receiver holds every request: the first deliveries are in flight when the server dies.
    w.receiver.answer = () => ({ hang: true });
    for (let i = 0; i < 5; i++) await send(first.url, `in flight ${i}`);
    await until(() => w.receiver.on('/crash').length >= 1, 'a delivery in flight');
    // More events, and the kill right after the last commit: some are not dispatched yet.
    for (let i = 0; i < 15; i++) await send(first.url, `queued ${i}`);
    const inFlight = new Set(ids(w, '/crash'));
    await first.p.kill();
    w.receiver.release();
    w.receiver.answer = () => ({ status: 200 });

    const second = await start(w);
    await until(async () => new Set(ids(w, '/crash')).size >= 20, 'all 20 events delivered after the restart', 120_000);
    const after = client(second.url, key!);
    await until(async () => {
      const d = await after.ok(`query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) { edges { node { state } } } }`, { id: endpointId });
      return d.webhookDeliveries.edges.length === 20 && d.webhookDeliveries.edges.every((e: any) => e.node.state === 'SUCCEEDED');
    }, 'every delivery recorded as succeeded');
    const received = ids(w, '/crash');
    const contents = new Set(w.receiver.on('/crash').map((r) => r.json.data.message.content));
    expect(contents.size).toBe(20);
    // Only what was in flight at the kill was sent twice, with the same webhook-id.
    const counts = new Map<string, number>();
    for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, n] of counts) if (n > 1) expect(inFlight.has(id), `webhook-id ${id} sent ${n} times`).toBe(true);
    expect(inFlight.size).toBeGreaterThanOrEqual(1);
    expect([...inFlight].every((id) => counts.get(id)! >= 2)).toBe(true);
    second.p.signal('SIGTERM');
    expect((await second.p.exited).code).toBe(0);
  });
});

if (usePostgres) {
  describe('two server processes on one PostgreSQL database', () => {
    let w: World;
    beforeAll(async () => {
      const database = await createTestDatabase({ postgres: true });
      const receiver = await startReceiver();
      w = { database, receiver, env: { PORT: '0', DATABASE_URL: database.url!, REDIS_URL, SEED_DEMO: 'true', ...WEBHOOK_ENV } };
    });
    afterAll(async () => {
      await w?.receiver.close();
      await w?.database.drop();
    });

    it('send each delivery once', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
      const one = await start(w);
      const key = (await one.p.waitFor(DEMO_KEY_LINE))[1];
      const two = await start(w);
      const api = client(one.url, key!);
      await api.ok(`mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { __typename } }`, {
        input: { url: `${w.receiver.url}/two`, eventKinds: ['CONVERSATION_CREATED'] },
      });
      const inbox = (await api.ok('{ inboxes { id channel } }')).inboxes.find((i: { channel: string }) => i.channel === 'WHATSAPP').id as string;
      // Writes through both processes; both run a dispatcher and a sender.
      for (let i = 0; i < 30; i++) {
        await client(i % 2 ? two.url : one.url, key!).ok(
          `mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename } }`,
          { input: { inboxId: inbox, contact: { phone: `+1415555${String(1000 + i)}` } } },
        );
      }
      await until(() => new Set(ids(w, '/two')).size >= 30, '30 deliveries', 120_000);
      // Both processes are still polling: nothing more may come.
      await new Promise((r) => setTimeout(r, 1500));
      const received = ids(w, '/two');
      expect(received).toHaveLength(30);
      expect(new Set(received).size).toBe(30);
    });
  });
}
