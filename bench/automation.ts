// The cost of automation rules on the write path (see BENCHMARKS.md): one Parley process on
// PostgreSQL, sendMessage (a contact message) as fast as 10 connections go, with
//   1. no rule;
//   2. 20 enabled MESSAGE_RECEIVED rules whose conditions never hold (each event is still
//      evaluated and logged NOT_MATCHED by every rule);
//   3. the same 20 and 5 that match (each adds an internal note).
// Rules run after the mutation's commit, in the runner: the mutation's own transaction does not
// grow. The write path shares the machine with the runner, though, so each row also says how
// long the runner took to catch up after the last write and how many runs it recorded.
//
//   npx tsx bench/automation.ts [--seconds 15] [--connections 10]
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createBenchKey } from './page.js';
import { closedLoop, fromGid, gid, graphqlClient, runBenchmark, scratchDatabase, seedWorkspace, startParleyProcess, type ParleyProcess } from './harness.js';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const SECONDS = Number(arg('--seconds') ?? 15);
const CONNECTIONS = Number(arg('--connections') ?? 10);
const CONVERSATIONS = 50;
const PORT = Number(process.env.BENCH_PORT ?? 4714);
const DB = `parley_bench_automation_${process.pid}`;

const log = (msg: string) => process.stderr.write(`[bench:automation ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename ... on Error { message } } }`;
const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } ... on Error { message } } }`;
const CREATE_RULE = `mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { ... on CreateAutomationRulePayload { rule { id } } ... on Error { message } } }`;

async function main() {
  const loadBefore = loadavg();
  const { url, drop } = await scratchDatabase(DB);
  const stats = new pg.Client({ connectionString: url });
  let server: ParleyProcess | undefined;
  const rows: string[] = [];
  try {
    await stats.connect();
    const { ws, inbox } = await seedWorkspace(stats);
    const key = await createBenchKey(stats, ws, 'benchmark');
    // No hourly cap in the way: every matching message is a matched run.
    server = await startParleyProcess(url, PORT, { env: { AUTOMATION_MAX_RUNS_PER_CONVERSATION_HOUR: '1000000000' } });
    const gql = graphqlClient(server.base, key.secret);
    const conversations: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const d = await gql(CREATE, { input: { inboxId: gid('Inbox', inbox), contact: { phone: `+1556${String(i).padStart(7, '0')}`, name: `Contact ${i}` } } });
      conversations.push(fromGid(d.createConversation.conversation.id));
    }
    const send = async (i: number) => {
      const d = await gql(SEND, { input: { conversationId: gid('Conversation', conversations[i % conversations.length]!), senderType: 'CONTACT', content: `Benchmark message ${i}` } });
      if (d.sendMessage.__typename !== 'SendMessagePayload') throw new Error(d.sendMessage.message);
    };
    const addRules = async (n: number, matching: boolean) => {
      for (let i = 0; i < n; i++) {
        const d = await gql(CREATE_RULE, {
          input: {
            name: `${matching ? 'Match' : 'Miss'} ${i}`,
            trigger: 'MESSAGE_RECEIVED',
            conditions: { all: [{ messageContainsAny: [matching ? 'Benchmark' : `never-${i}`] }] },
            actions: [{ type: 'ADD_NOTE', content: `rule ${i} saw it` }],
          },
        });
        if (!d.createAutomationRule.rule) throw new Error(d.createAutomationRule.message);
      }
    };
    /** Waits until the runner has read the workspace's timeline up to now; returns the seconds it took. */
    const caughtUp = async () => {
      const t = Date.now();
      for (;;) {
        const { rows: r } = await stats.query(
          `SELECT coalesce(p.last_seq, w.event_seq) >= w.event_seq AS done FROM workspace_counter w LEFT JOIN automation_position p ON p.workspace_id = w.workspace_id WHERE w.workspace_id = $1`,
          [ws],
        );
        if (r[0].done) return (Date.now() - t) / 1000;
        if (Date.now() - t > 600_000) throw new Error('the runner did not catch up in 10 minutes');
        await sleep(100);
      }
    };
    const runCount = async () => Number((await stats.query(`SELECT count(*)::int AS n FROM automation_run WHERE workspace_id = $1`, [ws])).rows[0].n);
    const measure = async (label: string) => {
      const before = await runCount();
      const r = await closedLoop(SECONDS, CONNECTIONS, send);
      const drain = await caughtUp();
      const runs = (await runCount()) - before;
      const row = `| ${label} | ${r.wps.toFixed(0)} | ${r.p50.toFixed(1)} ms | ${r.p99.toFixed(1)} ms | ${drain.toFixed(1)} s | ${runs} |`;
      log(row);
      rows.push(row);
      return r;
    };

    // A short warm-up, not measured.
    await closedLoop(Math.min(5, SECONDS), CONNECTIONS, send);
    const none = await measure('no rule');
    await addRules(20, false);
    const misses = await measure('20 rules, none matches');
    await addRules(5, true);
    const matches = await measure('20 that do not match + 5 that do');

    const loadAfter = loadavg();
    console.log(`\n## Automation rules on the write path: bench/automation.ts, ${new Date().toISOString().slice(0, 16)}Z`);
    console.log(`${SECONDS} s per row, ${CONNECTIONS} connections; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| sendMessage (contact) | writes/s | p50 | p99 | runner caught up after the last write | runs recorded |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const r of rows) console.log(r);
    console.log(`\nwrites/s relative to no rule: 20 non-matching ${((misses.wps / none.wps) * 100).toFixed(0)} %, +5 matching ${((matches.wps / none.wps) * 100).toFixed(0)} %`);
  } finally {
    if (server) await server.stop();
    await stats.end().catch(() => {});
    await drop();
  }
}

runBenchmark(main);
