// The write-API benchmark (see BENCHMARKS.md, "Writes"): how many writes per second one Parley
// process takes from many clients of one busy workspace, against a raw-SQL floor doing the same
// durable work per write in one transaction through `pg`, in the same run.
//
//   npx tsx bench/write.ts [--duration 10] [--only sendMessage] [--profile]
//
// --profile writes a CPU profile of the Parley process to bench/profiles/.
//
// Scenarios, each at 10 and 50 connections:
//   - sendMessage from a HUMAN, spread over 500 conversations of one workspace;
//   - sendMessage from the CONTACT with a provider message id (a connector's inbound message);
//   - sendMessage, all on ONE conversation (writes must queue on that conversation only);
//   - createConversation with a new contact and a first message;
//   - updateMessageStatus receipts (SENT, DELIVERED, READ) on messages sent before.
// The floor does per write what the mutation must do durably: lock the conversation, insert the message, update the
// conversation's counters and last message, take the next event number (the workspace counter row,
// held to commit), insert the event; for createConversation also the contact and the display
// number; for a receipt, update the message and append its event.
//
// Parley runs as its own process (NODE_ENV=production) on a scratch PostgreSQL database made
// and dropped here; autocannon drives it. Transactions per write are PostgreSQL's own count
// (pg_stat_database.xact_commit over the run, autocommitted statements included); statements
// per write are those an in-process Parley logs (Prisma's query events and txRows' own, BEGIN
// not counted; one request, after one warm-up).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import pg from 'pg';
import { startParley } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createBenchKey } from './page.js';
import { fromGid, gid, graphqlClient, IDLE_WORKERS, percentile, runBenchmark, scratchDatabase, seedWorkspace, startParleyProcess, type ParleyProcess } from './harness.js';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const DURATION = Number(arg('--duration') ?? 0) || 10;
const ONLY = arg('--only');
const WARMUP = 2;
const CONVERSATIONS = 500;
const PORT = Number(process.env.BENCH_PORT ?? 4712);
const DB = `parley_bench_write_${process.pid}`;

const log = (msg: string) => process.stderr.write(`[bench:write ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Figures {
  scenario: string;
  side: 'floor' | 'parley';
  connections: number;
  writes: number;
  wps: number;
  p50: number;
  p99: number;
  errors: number;
  xactPerWrite?: number;
  cpuPerWrite?: number;
}

async function xactCommits(c: pg.Client): Promise<number> {
  // Statistics reach the view when a backend reports them (at most about once a second when busy).
  await sleep(1200);
  await c.query('SELECT pg_stat_clear_snapshot()');
  return Number((await c.query(`SELECT xact_commit FROM pg_stat_database WHERE datname = $1`, [DB])).rows[0].xact_commit);
}

// ---------------------------------------------------------------------------------------------
// The floor

type FloorWrite = (c: pg.PoolClient, i: number) => Promise<void>;

function floorWrites(ws: string, inbox: string, conversations: string[], messages: string[]): Record<string, FloorWrite> {
  const message = async (c: pg.PoolClient, conversation: string, sender: 'HUMAN' | 'CONTACT', providerId: string | null) => {
    await c.query('BEGIN');
    // The conversation's row first, as any correct writer of its counters takes it (without it,
    // writers of one conversation deadlock on the message's and the conversation's rows).
    await c.query(`SELECT id FROM conversation WHERE id = $1 FOR UPDATE`, [conversation]);
    const m = (await c.query(
      `INSERT INTO message (id, workspace_id, conversation_id, inbox_id, content, content_type, attachments, sender_type, private, status, provider_message_id, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'TEXT', '[]', $6, false, $7, $8, now(), now()) RETURNING id, created_at`,
      [randomUUID(), ws, conversation, inbox, 'Hello, a benchmark message', sender, sender === 'CONTACT' ? 'RECEIVED' : 'PENDING', providerId],
    )).rows[0];
    await c.query(
      `UPDATE conversation SET message_count = message_count + 1, public_message_count = public_message_count + 1, last_message_at = $2, last_activity_at = $2, last_message_preview = 'Hello, a benchmark message',
         last_message_id = $3, last_message_sender_type = $4::"SenderType", unread_count = CASE WHEN $5 THEN unread_count + 1 ELSE 0 END, updated_at = now()
       WHERE id = $1`,
      [conversation, m.created_at, m.id, sender, sender === 'CONTACT'],
    );
    const seq = (await c.query(`UPDATE workspace_counter SET event_seq = event_seq + 1 WHERE workspace_id = $1 RETURNING event_seq`, [ws])).rows[0].event_seq;
    await c.query(
      `INSERT INTO event (id, workspace_id, seq, type, conversation_id, message_id, actor_type, after, created_at)
       VALUES ($1, $2, $3, 'MESSAGE_ADDED', $4, $5, $6, '{"senderType":"HUMAN"}', now())`,
      [randomUUID(), ws, seq, conversation, m.id, sender === 'CONTACT' ? 'CONTACT' : 'USER'],
    );
    await c.query('COMMIT');
  };
  return {
    'sendMessage HUMAN, spread': (c, i) => message(c, conversations[i % conversations.length]!, 'HUMAN', null),
    'sendMessage CONTACT + provider id, spread': (c, i) => message(c, conversations[i % conversations.length]!, 'CONTACT', `wamid.floor.${randomUUID()}`),
    'sendMessage HUMAN, one conversation': (c) => message(c, conversations[0]!, 'HUMAN', null),
    'createConversation + first message': async (c) => {
      await c.query('BEGIN');
      const contact = (await c.query(`INSERT INTO contact (id, workspace_id, name, custom_attributes, created_at, updated_at) VALUES ($1, $2, 'New', '{}', now(), now()) RETURNING id`, [randomUUID(), ws])).rows[0].id;
      const number = (await c.query(`UPDATE workspace_counter SET conversation_seq = conversation_seq + 1 WHERE workspace_id = $1 RETURNING conversation_seq`, [ws])).rows[0].conversation_seq;
      const conv = (await c.query(
        `INSERT INTO conversation (id, workspace_id, number, inbox_id, contact_id, custom_attributes, created_at, last_activity_at, updated_at) VALUES ($1, $2, $3, $4, $5, '{}', now(), now(), now()) RETURNING id`,
        [randomUUID(), ws, number, inbox, contact],
      )).rows[0].id;
      const m = (await c.query(
        `INSERT INTO message (id, workspace_id, conversation_id, inbox_id, content, content_type, attachments, sender_type, private, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'Hi', 'TEXT', '[]', 'CONTACT', false, 'RECEIVED', now(), now()) RETURNING id, created_at`,
        [randomUUID(), ws, conv, inbox],
      )).rows[0];
      await c.query(
        `UPDATE conversation SET message_count = 1, public_message_count = 1, unread_count = 1, last_message_at = $2, last_activity_at = $2, last_message_id = $3, waiting_since = $2 WHERE id = $1`,
        [conv, m.created_at, m.id],
      );
      const seq = BigInt((await c.query(`UPDATE workspace_counter SET event_seq = event_seq + 3 WHERE workspace_id = $1 RETURNING event_seq`, [ws])).rows[0].event_seq);
      await c.query(
        `INSERT INTO event (id, workspace_id, seq, type, conversation_id, message_id, actor_type, created_at)
         VALUES ($1, $4::uuid, $5, 'CONTACT_CREATED', NULL, NULL, 'CONTACT', now()), ($2, $4, $6, 'CONVERSATION_CREATED', $8, NULL, 'CONTACT', now()), ($3, $4, $7, 'MESSAGE_ADDED', $8, $9, 'CONTACT', now())`,
        [randomUUID(), randomUUID(), randomUUID(), ws, String(seq - 2n), String(seq - 1n), String(seq), conv, m.id],
      );
      await c.query('COMMIT');
    },
    'updateMessageStatus receipts': async (c, i) => {
      const id = messages[i % messages.length]!;
      const status = ['SENT', 'DELIVERED', 'READ'][Math.floor(i / messages.length) % 3]!;
      await c.query('BEGIN');
      const row = (await c.query(`UPDATE message SET status = $2, updated_at = now() WHERE id = $1 RETURNING conversation_id`, [id, status])).rows[0];
      const seq = (await c.query(`UPDATE workspace_counter SET event_seq = event_seq + 1 WHERE workspace_id = $1 RETURNING event_seq`, [ws])).rows[0].event_seq;
      await c.query(
        `INSERT INTO event (id, workspace_id, seq, type, conversation_id, message_id, actor_type, created_at) VALUES ($1, $2, $3, 'MESSAGE_STATUS_CHANGED', $4, $5, 'SYSTEM', now())`,
        [randomUUID(), ws, seq, row.conversation_id, id],
      );
      await c.query('COMMIT');
    },
  };
}

async function runFloor(url: string, scenario: string, write: FloorWrite, connections: number): Promise<Figures> {
  const pool = new pg.Pool({ connectionString: url, max: connections });
  let counter = 0;
  const run = async (secs: number) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + secs * 1000;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        const c = await pool.connect();
        try {
          while (performance.now() < end) {
            const start = performance.now();
            try {
              await write(c, counter++);
              latencies.push(performance.now() - start);
            } catch (e) {
              // A failed write is not a write: it is counted apart, and any makes the run invalid.
              errors += 1;
              if (errors === 1) log(`floor error: ${(e as Error).message}`);
              await c.query('ROLLBACK').catch(() => {});
            }
          }
        } finally {
          c.release();
        }
      }),
    );
    return { latencies, errors };
  };
  try {
    await run(WARMUP);
    const t0 = performance.now();
    const { latencies, errors } = await run(DURATION);
    const secs = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return { scenario, side: 'floor', connections, writes: latencies.length, wps: latencies.length / secs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Parley

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename ... on SendMessagePayload { sentMessage { id status } conversation { id messageCount } } ... on Error { message } } }`;
const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename ... on CreateConversationPayload { conversation { id number } } ... on Error { message } } }`;
const RECEIPT = `mutation($input: UpdateMessageStatusInput!) { updateMessageStatus(input: $input) { __typename ... on UpdateMessageStatusPayload { applied } ... on Error { message } } }`;

type Body = (i: number) => { query: string; variables: Record<string, unknown> };

function parleyWrites(inbox: string, conversations: string[], messages: string[]): Record<string, Body> {
  const run = randomUUID().slice(0, 8);
  return {
    'sendMessage HUMAN, spread': (i) => ({ query: SEND, variables: { input: { conversationId: gid('Conversation', conversations[i % conversations.length]!), senderType: 'HUMAN', content: 'Hello, a benchmark message' } } }),
    'sendMessage CONTACT + provider id, spread': (i) => ({
      query: SEND,
      variables: { input: { conversationId: gid('Conversation', conversations[i % conversations.length]!), senderType: 'CONTACT', content: 'Hello, a benchmark message', providerMessageId: `wamid.${run}.${i}` } },
    }),
    'sendMessage HUMAN, one conversation': () => ({ query: SEND, variables: { input: { conversationId: gid('Conversation', conversations[0]!), senderType: 'HUMAN', content: 'Hello, a benchmark message' } } }),
    'createConversation + first message': (i) => ({
      query: CREATE,
      variables: { input: { inboxId: gid('Inbox', inbox), contact: { phone: `+1555${String(i).padStart(9, '0')}`, name: 'New' }, message: { senderType: 'CONTACT', content: 'Hi', providerMessageId: `wamid.c.${run}.${i}` } } },
    }),
    'updateMessageStatus receipts': (i) => ({
      query: RECEIPT,
      variables: { input: { messageId: gid('Message', messages[i % messages.length]!), status: ['SENT', 'DELIVERED', 'READ'][Math.floor(i / messages.length) % 3] } },
    }),
  };
}

const OK_TYPES = new Set(['SendMessagePayload', 'CreateConversationPayload', 'UpdateMessageStatusPayload']);

/** User + system CPU time of a process, in ms (Linux /proc). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (100/s)
}

// Bodies are numbered across every run of the process: a provider message id used at 10
// connections must not come again at 50 (it would be a duplicate, answered without a write).
let counter = 0;

async function runParley(base: string, key: string, scenario: string, body: Body, connections: number, stats: pg.Client, pid: number): Promise<Figures> {
  let errors = 0;
  const go = (secs: number) =>
    new Promise<Result>((resolve, reject) => {
      const inst = autocannon(
        {
          url: `${base}/graphql`,
          connections,
          duration: secs,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          requests: [
            {
              setupRequest: (req: any) => ({ ...req, body: JSON.stringify(body(counter++)) }),
              onResponse: (status: number, resBody: string) => {
                let ok = status === 200;
                if (ok) {
                  try {
                    const j = JSON.parse(resBody);
                    ok = !j.errors && OK_TYPES.has(Object.values(j.data ?? {})[0] ? (Object.values(j.data)[0] as any).__typename : '');
                    if (!ok && errors === 0) log(`error: ${resBody.slice(0, 300)}`);
                  } catch {
                    ok = false;
                  }
                }
                if (!ok) errors += 1;
              },
            },
          ],
        } as any,
        (err: Error | null, res: Result) => (err ? reject(err) : resolve(res)),
      );
      void inst;
    });
  await go(WARMUP);
  errors = 0;
  const x0 = await xactCommits(stats);
  const c0 = cpuMs(pid);
  const res = await go(DURATION);
  const c1 = cpuMs(pid);
  const x1 = await xactCommits(stats);
  const writes = res.requests.total;
  // The stats connection's own two reads count too.
  return {
    scenario,
    side: 'parley',
    connections,
    writes,
    wps: writes / DURATION,
    p50: res.latency.p50,
    p99: res.latency.p99,
    errors: errors + res.errors + res.non2xx,
    xactPerWrite: (x1 - x0 - 2) / writes,
    cpuPerWrite: (c1 - c0) / writes,
  };
}

async function startServer(url: string): Promise<ParleyProcess> {
  const profileDir = new URL('./profiles/', import.meta.url).pathname;
  return startParleyProcess(url, PORT, { nodeArgs: args.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
}

/** Statements per write on an in-process Parley (one warm-up request, then one counted). */
async function countStatements(url: string, key: string, bodies: Record<string, Body>): Promise<Map<string, number>> {
  const queries: string[] = [];
  const app = await startParley(
    loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SEED_DEMO: 'false', DATABASE_URL: url, COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS }),
    { onQuery: (sql) => queries.push(sql) },
  );
  const out = new Map<string, number>();
  try {
    for (const [name, body] of Object.entries(bodies)) {
      const send = (i: number) =>
        fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body(i)) }).then((r) => r.json() as Promise<any>);
      await send(900_001);
      queries.length = 0;
      const answer = await send(900_002);
      if (answer.errors) throw new Error(`${name}: ${JSON.stringify(answer.errors)}`);
      out.set(name, queries.length);
      if (args.includes('--trace')) log(`${name}:\n  ${queries.map((q) => q.replace(/\s+/g, ' ').slice(0, 200)).join('\n  ')}`);
    }
  } finally {
    await app.stop();
  }
  return out;
}

async function main() {
  const loadBefore = loadavg();
  const { url: dbUrl, drop } = await scratchDatabase(DB);
  let server: ParleyProcess | undefined;
  const stats = new pg.Client({ connectionString: dbUrl });
  try {
    await stats.connect();
    const { ws, inbox } = await seedWorkspace(stats);
    const key = await createBenchKey(stats, ws, 'benchmark');
    server = await startServer(dbUrl);
    log(`Parley ready on ${server.base}; creating ${CONVERSATIONS} conversations`);
    const gql = graphqlClient(server.base, key.secret);
    const conversations: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const d = await gql(CREATE, { input: { inboxId: gid('Inbox', inbox), contact: { phone: `+1444${String(i).padStart(7, '0')}`, name: `Contact ${i}` }, message: { senderType: 'CONTACT', content: 'Hello' } } });
      if (!d.createConversation.conversation) throw new Error(JSON.stringify(d));
      conversations.push(fromGid(d.createConversation.conversation.id));
    }
    // Messages for the receipts: one PENDING HUMAN message on each conversation.
    const messages: string[] = [];
    for (const c of conversations) {
      const d = await gql(SEND, { input: { conversationId: gid('Conversation', c), senderType: 'HUMAN', content: 'Receipt me' } });
      messages.push(fromGid(d.sendMessage.sentMessage.id));
    }
    const floor = floorWrites(ws, inbox, conversations, messages);
    const parley = parleyWrites(inbox, conversations, messages);
    const names = Object.keys(floor).filter((n) => !ONLY || n.includes(ONLY));
    if (args.includes('--trace')) names.splice(0, names.length, ...names.slice(0, 1));
    const results: Figures[] = [];
    for (const name of args.includes('--trace') ? [] : names) {
      for (const connections of [10, 50]) {
        // Receipts move forward only: fresh messages per run would be fairer, but each message takes three receipts, in order.
        const f = await runFloor(dbUrl, name, floor[name]!, connections);
        if (f.errors) throw new Error(`the floor failed ${f.errors} writes of "${name}": its figures would mean nothing`);
        log(`${name} @${connections} floor: ${f.wps.toFixed(0)} writes/s p50 ${f.p50.toFixed(1)} ms p99 ${f.p99.toFixed(1)} ms errors ${f.errors}`);
        const p = await runParley(server.base, key.secret, name, parley[name]!, connections, stats, server.child.pid!);
        log(`${name} @${connections} parley: ${p.wps.toFixed(0)} writes/s p50 ${p.p50} ms p99 ${p.p99} ms errors ${p.errors} xact/write ${p.xactPerWrite?.toFixed(2)} server CPU ${p.cpuPerWrite?.toFixed(2)} ms/write -> ${(p.wps / f.wps * 100).toFixed(0)} % of floor`);
        results.push(f, p);
      }
    }
    await server.stop();
    server = undefined;
    const statements = await countStatements(dbUrl, key.secret, Object.fromEntries(names.map((n) => [n, parley[n]!])));
    const loadAfter = loadavg();
    console.log(`\n## Writes: bench/write.ts, ${new Date().toISOString().slice(0, 16)}Z, ${DURATION} s per run, Node ${process.version}`);
    console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| scenario | conns | floor writes/s | Parley writes/s | ratio | Parley p50 | Parley p99 | floor p99 | xact/write | statements/write | server CPU/write | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (let i = 0; i < results.length; i += 2) {
      const f = results[i]!;
      const p = results[i + 1]!;
      console.log(
        `| ${p.scenario} | ${p.connections} | ${f.wps.toFixed(0)} | ${p.wps.toFixed(0)} | ${((p.wps / f.wps) * 100).toFixed(0)} % | ${p.p50} ms | ${p.p99} ms | ${f.p99.toFixed(1)} ms | ${p.xactPerWrite?.toFixed(2)} | ${statements.get(p.scenario)} | ${p.cpuPerWrite?.toFixed(2)} ms | ${p.errors + f.errors} |`,
      );
    }
  } finally {
    if (server) await server.stop();
    await stats.end().catch(() => {});
    await drop();
  }
}

runBenchmark(main);
