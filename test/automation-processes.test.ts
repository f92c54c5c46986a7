// Automation rules across real `src/main.ts` processes. A server killed with SIGKILL right after
// the triggers' commits runs each rule once per event after its restart (the runner's position
// is durable, the run's key makes its effects exactly-once); a time-based rule fires once per
// episode, also across the restart. On PostgreSQL, two server processes run each rule once,
// whichever of them sees the event or the episode first. Everything is awaited by polling.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './support/databases.js';
import { DEMO_KEY_LINE } from './support/demo.js';
import { client } from './support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, until, type ParleyProcess } from './support/process.js';

const ENV = { AUTOMATION_SCAN_INTERVAL_MS: '200', SHUTDOWN_TIMEOUT_MS: '5000' };
const WAIT_MS = 120_000;

async function start(env: Record<string, string>): Promise<{ p: ParleyProcess; url: string }> {
  const p = runParley(env);
  return { p, url: await listening(p) };
}

/** The calls these tests make, on one server process. */
function calls(url: string, key: string) {
  const c = client(url, key);
  const mutation = async (name: string, input: Record<string, unknown>, selection = '__typename') => {
    const type = `${name[0]!.toUpperCase()}${name.slice(1)}Input`;
    const data = await c.ok(`mutation($input: ${type}!) { ${name}(input: $input) { ${selection} ... on Error { code message } } }`, { input });
    if (data[name].code) throw new Error(`${name}: ${JSON.stringify(data[name])}`);
    return data[name];
  };
  return {
    rule: async (input: Record<string, unknown>) =>
      (await mutation('createAutomationRule', input, '... on CreateAutomationRulePayload { rule { id } }')).rule.id as string,
    whatsapp: async () => (await c.ok('{ inboxes { id channel } }')).inboxes.find((i: { channel: string }) => i.channel === 'WHATSAPP').id as string,
    conversation: async (inboxId: string, phone: string, tag: string, text?: string) =>
      (
        await mutation(
          'createConversation',
          { inboxId, contact: { phone }, customAttributes: { tag }, ...(text ? { message: { senderType: 'CONTACT', content: text } } : {}) },
          '... on CreateConversationPayload { conversation { id } }',
        )
      ).conversation.id as string,
    send: (conversationId: string, content: string, senderType = 'CONTACT') => mutation('sendMessage', { conversationId, content, senderType }),
    /** The rule's MATCHED runs on each conversation. */
    runs: async (ruleId: string): Promise<Map<string, number>> => {
      const data = await c.ok(`query($r: ID) { automationRuns(ruleId: $r, first: 100) { edges { node { outcome conversationId } } } }`, { r: ruleId });
      const out = new Map<string, number>();
      for (const { node } of data.automationRuns.edges) if (node.outcome === 'MATCHED') out.set(node.conversationId, (out.get(node.conversationId) ?? 0) + 1);
      return out;
    },
    /** The internal notes of a conversation (each rule here adds one per run). */
    notes: async (id: string) => {
      const data = await c.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 100) { edges { node { private } } } } } }`, { id });
      return data.node.messages.edges.filter((e: { node: { private: boolean } }) => e.node.private).length as number;
    },
  };
}

const tagged = (tag: string) => ({ all: [{ conversationAttribute: { key: 'tag', equals: { value: tag } } }] });

describe.each([
  ['PGlite', false],
  ['PostgreSQL', true],
  // One database per run of the suite: CI runs it once on each (the time is tight).
].filter(([, pg]) => pg === usePostgres) as [string, boolean][])('kill -9 on %s', (_name, postgres) => {
  let database: TestDatabase;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createTestDatabase({ postgres, dataDir: postgres ? undefined : mkdtempSync(join(tmpdir(), 'parley-rules-')) });
    env = { PORT: '0', ...(database.url ? { DATABASE_URL: database.url, REDIS_URL, SEED_DEMO: 'true' } : { DATA_DIR: database.dataDir }), ...ENV };
  });
  afterAll(async () => {
    await database?.drop();
    if (!postgres && database) rmSync(database.dataDir, { recursive: true, force: true });
  });

  it('runs each rule once per committed trigger after a SIGKILL, and a time-based rule once per episode across the restart', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    // The first server's runner never looks at the timeline after its start (no wakes, a poll
    // far away): the kill comes before any run of the noter, and the restart has to do them all.
    const first = await start({ ...env, PARLEY_TEST_AUTOMATION_NO_WAKE: 'true', AUTOMATION_POLL_MS: '1000000000' });
    const key = (await first.p.waitFor(DEMO_KEY_LINE))[1]!;
    let api = calls(first.url, key);
    const noter = await api.rule({ name: 'Noter', trigger: 'MESSAGE_RECEIVED', conditions: tagged('crash'), actions: [{ type: 'ADD_NOTE', content: 'seen' }] });
    const waiter = await api.rule({
      name: 'Waiter',
      trigger: 'WAITING_FOR_REPLY',
      thresholdSeconds: 1,
      conditions: tagged('wait'),
      actions: [{ type: 'ADD_NOTE', content: 'waited' }],
    });
    const inbox = await api.whatsapp();
    const waiting = await api.conversation(inbox, '+14155550201', 'wait', 'anyone?');
    await until(async () => (await api.runs(waiter)).get(waiting) === 1, 'the first wait to fire', WAIT_MS);

    // Ten contact messages, and the kill right after the last one's commit.
    const crash = await api.conversation(inbox, '+14155550202', 'crash');
    for (let i = 0; i < 10; i++) await api.send(crash, `message ${i}`);
    expect((await api.runs(noter)).get(crash) ?? 0).toBe(0);
    await first.p.kill();

    const second = await start(env);
    api = calls(second.url, key);
    await until(async () => (await api.runs(noter)).get(crash) === 10, 'a run for each of the 10 messages', WAIT_MS);
    expect(await api.notes(crash)).toBe(10);

    // After the restart, scans go on (a new wait fires), and the old episode does not fire again.
    const later = await api.conversation(inbox, '+14155550203', 'wait', 'me too');
    await until(async () => (await api.runs(waiter)).get(later) === 1, 'a wait after the restart', WAIT_MS);
    expect((await api.runs(waiter)).get(waiting)).toBe(1);
    // Still one run per message, none added late.
    expect((await api.runs(noter)).get(crash)).toBe(10);
    // Answered, then waiting again: a second episode, a second run.
    await api.send(waiting, 'here', 'HUMAN');
    await api.send(waiting, 'again?');
    await until(async () => (await api.runs(waiter)).get(waiting) === 2, 'the second wait to fire', WAIT_MS);
    expect(await api.notes(waiting)).toBe(2);
    await second.p.kill();
  });
});

if (usePostgres) {
  describe('two server processes on one PostgreSQL database', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ postgres: true });
    });
    afterAll(async () => {
      await database?.drop();
    });

    it('run each rule once per event and once per episode, whichever process sees it', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
      const env = { PORT: '0', DATABASE_URL: database.url!, REDIS_URL, SEED_DEMO: 'true', ...ENV };
      const one = await start(env);
      const key = (await one.p.waitFor(DEMO_KEY_LINE))[1]!;
      const two = await start(env);
      const apis = [calls(one.url, key), calls(two.url, key)];
      const noter = await apis[0]!.rule({ name: 'Noter', trigger: 'MESSAGE_RECEIVED', conditions: tagged('two'), actions: [{ type: 'ADD_NOTE', content: 'seen' }] });
      const waiter = await apis[1]!.rule({
        name: 'Waiter',
        trigger: 'WAITING_FOR_REPLY',
        thresholdSeconds: 1,
        conditions: tagged('two-wait'),
        actions: [{ type: 'ADD_NOTE', content: 'waited' }],
      });
      const inbox = await apis[0]!.whatsapp();
      // Writes through both processes; both run a runner and a timer.
      const noted: string[] = [];
      const waiting: string[] = [];
      for (let i = 0; i < 6; i++) {
        const api = apis[i % 2]!;
        noted.push(await api.conversation(inbox, `+1415555030${i}`, 'two', 'first'));
        waiting.push(await api.conversation(inbox, `+1415555031${i}`, 'two-wait', 'hello?'));
      }
      for (let i = 0; i < 12; i++) await apis[i % 2]!.send(noted[i % 6]!, `more ${i}`);
      await until(async () => [...(await apis[0]!.runs(noter)).values()].reduce((x, y) => x + y, 0) === 18, '18 runs of the noter', WAIT_MS);
      await until(async () => (await apis[1]!.runs(waiter)).size === 6, 'a run for each wait', WAIT_MS);
      const runs = await apis[0]!.runs(noter);
      for (const id of noted) {
        expect(runs.get(id)).toBe(3);
        expect(await apis[1]!.notes(id)).toBe(3);
      }
      const waits = await apis[0]!.runs(waiter);
      for (const id of waiting) {
        expect(waits.get(id)).toBe(1);
        expect(await apis[0]!.notes(id)).toBe(1);
      }
      await one.p.kill();
      await two.p.kill();
    });
  });
}
