// WORKERS > 1: a primary and worker processes sharing the port (src/cluster.ts), as `npm start`
// runs them. Refused without PostgreSQL and Redis; with them, every worker answers, a mutation
// reaches a subscriber whichever worker each is on, a dead worker is replaced, and SIGTERM
// stops them all.
import { execSync } from 'node:child_process';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './support/databases.js';
import { DEMO_KEY_LINE } from './support/demo.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, stopCleanly, until } from './support/process.js';
import { liveClient } from './support/ws.js';

/** A GraphQL request on a connection of its own, so that the cluster hands it to the next worker. */
function post(url: string, key: string, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ query, variables });
    const req = request(
      `${url}/graphql`,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'x-api-key': key, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve(JSON.parse(data)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const workersOf = (pid: number) =>
  execSync(`ps -o pid= --ppid ${pid} || true`).toString().split('\n').map((s) => s.trim()).filter(Boolean).map(Number);

describe('WORKERS', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('is refused without DATABASE_URL or REDIS_URL, naming what is missing', async () => {
    const noDb = runParley({ WORKERS: '2', REDIS_URL, PORT: '0' });
    expect((await noDb.exited).code).toBe(2);
    expect(noDb.output()).toMatch(/WORKERS: more than one worker needs DATABASE_URL/);
    const noRedis = runParley({ WORKERS: '2', DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/none', PORT: '0' });
    expect((await noRedis.exited).code).toBe(2);
    expect(noRedis.output()).toMatch(/WORKERS: more than one worker needs REDIS_URL/);
  });

  // The cluster itself needs PostgreSQL and Redis: the PostgreSQL run of the suite has both.
  if (usePostgres) {
    let database: TestDatabase;
    afterAll(async () => {
      await database?.drop();
    });

    it('serves from every worker, carries live events between them, replaces a dead one and stops on SIGTERM', async () => {
      database = await createTestDatabase({ empty: true });
      const primary = runParley({ WORKERS: '2', DATABASE_URL: database.url!, REDIS_URL, PORT: '0', SEED_DEMO: 'true', SHUTDOWN_TIMEOUT_MS: '5000' });
      const url = await listening(primary);
      const key = (await primary.waitFor(DEMO_KEY_LINE))[1]!;
      // The primary migrated and seeded once, before starting the workers.
      expect(primary.output().match(/applied migrations/g)).toHaveLength(1);
      const workers = workersOf(primary.pid);
      expect(workers).toHaveLength(2);

      const viewer = await Promise.all(Array.from({ length: 6 }, () => post(url, key, '{ viewer { workspace { name } } }')));
      for (const r of viewer) expect(r.data.viewer.workspace.name).toBe('Acme Support (demo)');

      // A subscriber on one worker; mutations on new connections, so they alternate between workers.
      const inbox = (await post(url, key, '{ inboxes { id channel } }')).data.inboxes.find((i: any) => i.channel === 'WHATSAPP');
      const created = await post(
        url,
        key,
        'mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }',
        { input: { inboxId: inbox.id, contact: { phone: '+14155558001' } } },
      );
      const id = created.data.createConversation.conversation.id as string;
      expect(id).toBeTruthy();
      const c = liveClient(url, key);
      const feed = c.subscribe('subscription($f: ConversationEventFilter) { conversationEvents(filter: $f) { message { content } } }', { f: { conversation: id } });
      const send = (content: string) =>
        post(url, key, 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }', { input: { conversationId: id, content, senderType: 'CONTACT' } });
      const contents = () => feed.results.map((r) => r.data?.conversationEvents.message?.content as string | undefined);
      // Live once an event through any worker arrives.
      await until(async () => {
        await send('ready?');
        return feed.results.length > 0;
      }, 'the subscription to receive an event');
      for (let i = 1; i <= 8; i++) expect((await send(`m${i}`)).data.sendMessage.__typename).toBe('SendMessagePayload');
      await until(() => contents().filter((m) => m !== 'ready?').length >= 8, 'eight messages');
      expect(contents().filter((m) => m !== 'ready?')).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
      await c.dispose();

      // A worker that dies is replaced (the primary logs the death, then the new worker
      // listens: the primary's log has no line for that), and the port keeps answering.
      process.kill(workers[0]!, 'SIGKILL');
      await primary.waitFor(new RegExp(`"worker":${workers[0]},[^\n]*"msg":"worker exited; starting another"`));
      await until(() => {
        const now = workersOf(primary.pid);
        return now.length === 2 && !now.includes(workers[0]!);
      }, 'a replacement worker');
      const after = workersOf(primary.pid);
      for (const r of await Promise.all(Array.from({ length: 4 }, () => post(url, key, '{ viewer { kind } }')))) expect(r.data.viewer.kind).toBe('TEAM');

      await stopCleanly(primary);
      for (const pid of after) expect(() => process.kill(pid, 0)).toThrow();
    });
  }
});
