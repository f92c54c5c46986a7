// The webhook benchmark (see BENCHMARKS.md, "Webhooks"): one Parley process on PostgreSQL, a
// receiver on 127.0.0.1 in this process, and messages written at a fixed rate.
//
//   npx tsx bench/webhooks.ts [--duration 60] [--rate 50] [--outage 30] [--warmup 10] [--profile]
//
// --profile writes a CPU profile of the Parley process to bench/profiles/.
//
// Scenarios, in one run:
//   1. 3 endpoints, --rate events/s for --duration s: commit-to-receipt p50/p99;
//   2. the same with 10 endpoints;
//   3. sendMessage as fast as 10 connections go, with no endpoint and with 3 (delivery runs
//      after the commit: the write path's throughput should not move);
//   4. 3 endpoints whose receiver is down for --outage s under --rate events/s, then back: how
//      long until its first successful probe, how long the backlog takes to drain after it,
//      and how many deliveries arrived twice or never.
// "Commit" is the event's timestamp, taken in the mutation's transaction just before it
// commits; "receipt" is when this process's receiver reads the request. Same clock.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createBenchKey } from './page.js';
import { closedLoop, fromGid, gid, graphqlClient, percentile, runBenchmark, scratchDatabase, seedWorkspace, startParleyProcess, type ParleyProcess } from './harness.js';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const DURATION = Number(arg('--duration') ?? 60);
const RATE = Number(arg('--rate') ?? 50);
const OUTAGE = Number(arg('--outage') ?? 30);
/** Seconds of writes (with the 3 endpoints) before anything is measured: the server's code warms up as in production. */
const WARMUP = Number(arg('--warmup') ?? 10);
const THROUGHPUT_SECONDS = 15;
const CONVERSATIONS = 50;
const PORT = Number(process.env.BENCH_PORT ?? 4713);
const DB = `parley_bench_webhooks_${process.pid}`;

const log = (msg: string) => process.stderr.write(`[bench:webhooks ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename ... on Error { message } } }`;
const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } ... on Error { message } } }`;
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { ... on WebhookEndpointSecretPayload { endpoint { id } } ... on Error { message } } }`;
const DELETE_ENDPOINT = `mutation($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { __typename } }`;

interface Receipt {
  path: string;
  webhookId: string;
  cursor: number;
  committedAt: number;
  receivedAt: number;
}

/** The local receiver: answers 200 at once and remembers every request; can go down and come back on its port. */
class Receiver {
  readonly receipts: Receipt[] = [];
  private server: Server | null = null;
  port = 0;

  async up(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      const receivedAt = Date.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        this.receipts.push({ path: req.url ?? '', webhookId: String(req.headers['webhook-id']), cursor: Number(body.cursor), committedAt: Date.parse(body.timestamp), receivedAt });
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening and drops every open connection: the sender sees refused connections. */
  async down(): Promise<void> {
    const server = this.server!;
    this.server = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  on(paths: Set<string>, afterCursor: number): Receipt[] {
    return this.receipts.filter((r) => paths.has(r.path) && r.cursor > afterCursor);
  }
}

/** Calls `write(i)` `rate` times a second for `seconds`, on schedule (not waiting for the previous answer). */
async function paced(rate: number, seconds: number, write: (i: number) => Promise<void>): Promise<{ sent: number; errors: number }> {
  const total = Math.round(rate * seconds);
  const t0 = performance.now();
  const pending = new Set<Promise<void>>();
  let errors = 0;
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    const p = write(i).catch((e) => {
      errors += 1;
      if (errors === 1) log(`write failed: ${(e as Error).message}`);
    });
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }
  await Promise.all(pending);
  return { sent: total - errors, errors };
}

async function main() {
  const loadBefore = loadavg();
  const { url, drop } = await scratchDatabase(DB);
  const stats = new pg.Client({ connectionString: url });
  let server: ParleyProcess | undefined;
  const receiver = new Receiver();
  await receiver.up();
  const lines: string[] = [];
  try {
    await stats.connect();
    const { ws, inbox } = await seedWorkspace(stats);
    const key = await createBenchKey(stats, ws, 'benchmark');
    server = await startParleyProcess(url, PORT, {
      env: { SECRET_KEY: randomBytes(32).toString('base64'), WEBHOOK_ALLOW_PRIVATE_URLS: 'true' },
      nodeArgs: args.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${new URL('./profiles/', import.meta.url).pathname}`] : [],
    });
    const gql = graphqlClient(server.base, key.secret);
    const conversations: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const d = await gql(CREATE, { input: { inboxId: gid('Inbox', inbox), contact: { phone: `+1555${String(i).padStart(7, '0')}`, name: `Contact ${i}` }, message: { senderType: 'CONTACT', content: 'Hello' } } });
      conversations.push(fromGid(d.createConversation.conversation.id));
    }
    const send = async (i: number) => {
      const d = await gql(SEND, { input: { conversationId: gid('Conversation', conversations[i % conversations.length]!), senderType: 'CONTACT', content: `Benchmark message ${i}` } });
      if (d.sendMessage.__typename !== 'SendMessagePayload') throw new Error(d.sendMessage.message);
    };
    const cursorNow = async () => Number((await stats.query(`SELECT coalesce((SELECT event_seq FROM workspace_counter WHERE workspace_id = $1), 0) AS event_seq`, [ws])).rows[0].event_seq);
    let pathCounter = 0;
    const addEndpoints = async (n: number) => {
      const made: { id: string; path: string }[] = [];
      for (let i = 0; i < n; i++) {
        const path = `/hook-${++pathCounter}`;
        const d = await gql(CREATE_ENDPOINT, { input: { url: receiver.url(path), eventKinds: ['MESSAGE_ADDED'] } });
        if (!d.createWebhookEndpoint.endpoint) throw new Error(d.createWebhookEndpoint.message);
        made.push({ id: d.createWebhookEndpoint.endpoint.id, path });
      }
      return made;
    };
    /** Waits until the endpoints got `expected` distinct deliveries after `from`; returns their receipts. */
    const received = async (endpoints: { path: string }[], from: number, expected: number, timeoutMs: number) => {
      const paths = new Set(endpoints.map((e) => e.path));
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = receiver.on(paths, from);
        if (new Set(got.map((r) => r.webhookId)).size >= expected || Date.now() > deadline) return got;
        await sleep(100);
      }
    };
    /** Where the time goes, from the database: event to delivery row (dispatch), row to first attempt (claim), the attempt itself (send). */
    const stages = async (endpoints: { id: string }[], from: number) => {
      const q = (expr: string) => `percentile_cont(0.5) WITHIN GROUP (ORDER BY ${expr})::int || ' / ' || percentile_cont(0.99) WITHIN GROUP (ORDER BY ${expr})::int`;
      const ms = (a: string, b: string) => `extract(epoch FROM ${a} - ${b}) * 1000`;
      const { rows } = await stats.query(
        `SELECT ${q(ms('d.created_at', 'e.created_at'))} AS dispatch, ${q(ms('a.started_at', 'd.created_at'))} AS claim, ${q('a.duration_ms')} AS send
           FROM webhook_delivery d JOIN event e ON e.id = d.event_id
           JOIN LATERAL (SELECT started_at, duration_ms FROM webhook_attempt WHERE delivery_id = d.id ORDER BY started_at LIMIT 1) a ON true
          WHERE d.endpoint_id = ANY($1::uuid[]) AND d.event_seq > $2`,
        [endpoints.map((e) => fromGid(e.id)), from],
      );
      return `${rows[0].dispatch} | ${rows[0].claim} | ${rows[0].send}`;
    };
    const latency = async (endpoints: { id: string; path: string }[]) => {
      const from = await cursorNow();
      log(`${endpoints.length} endpoints, ${RATE} events/s for ${DURATION} s`);
      const { sent, errors } = await paced(RATE, DURATION, send);
      const got = await received(endpoints, from, sent * endpoints.length, 120_000);
      const ms = got.map((r) => r.receivedAt - r.committedAt).sort((x, y) => x - y);
      const unique = new Set(got.map((r) => r.webhookId)).size;
      const s = await stages(endpoints, from);
      const row = `| ${endpoints.length} endpoints, ${RATE} events/s, ${DURATION} s | ${sent} | ${got.length} (${unique} distinct of ${sent * endpoints.length}) | ${percentile(ms, 50)} ms | ${percentile(ms, 99)} ms | ${ms.at(-1)} ms | ${s} | ${errors} |`;
      log(row);
      lines.push(row);
    };

    // 1 and 2: commit-to-receipt.
    const three = await addEndpoints(3);
    if (WARMUP > 0) {
      const from = await cursorNow();
      log(`warm-up: ${RATE} events/s for ${WARMUP} s with 3 endpoints (not measured)`);
      const { sent } = await paced(RATE, WARMUP, send);
      await received(three, from, sent * 3, 120_000);
    }
    await latency(three);
    const ten = [...three, ...(await addEndpoints(7))];
    await latency(ten);
    for (const e of ten) await gql(DELETE_ENDPOINT, { input: { endpointId: e.id } });

    // 3: the write path with and without endpoints.
    const writePath = async (label: string, endpoints: { path: string }[]) => {
      const from = await cursorNow();
      const { writes, wps, p50, p99 } = await closedLoop(THROUGHPUT_SECONDS, 10, send);
      // Let the deliveries of this run arrive before the next one starts.
      const t = Date.now();
      if (endpoints.length) await received(endpoints, from, writes * endpoints.length, 180_000);
      const drained = endpoints.length ? ` (their ${writes * endpoints.length} deliveries all in ${((Date.now() - t) / 1000).toFixed(1)} s after the last write)` : '';
      log(`${label}: ${wps.toFixed(0)} writes/s p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms${drained}`);
      return { wps, p50, p99, drained };
    };
    const without = await writePath('sendMessage x10 connections, no endpoint', []);
    const withThree = await addEndpoints(3);
    const withEndpoints = await writePath('sendMessage x10 connections, 3 endpoints', withThree);
    for (const e of withThree) await gql(DELETE_ENDPOINT, { input: { endpointId: e.id } });

    // 4: an outage and its backlog.
    const outage = await addEndpoints(3);
    const from = await cursorNow();
    await receiver.down();
    log(`receiver down; ${RATE} events/s for ${OUTAGE} s`);
    const { sent } = await paced(RATE, OUTAGE, send);
    const expected = sent * outage.length;
    await receiver.up();
    const back = Date.now();
    log(`receiver back; ${expected} deliveries to come`);
    const got = await received(outage, from, expected, 300_000);
    const done = Date.now();
    const paths = new Set(outage.map((e) => e.path));
    const firstOk = Math.min(...got.filter((r) => r.receivedAt >= back).map((r) => r.receivedAt));
    const lastOk = Math.max(...got.map((r) => r.receivedAt));
    const counts = new Map<string, number>();
    for (const r of receiver.on(paths, from)) counts.set(r.webhookId, (counts.get(r.webhookId) ?? 0) + 1);
    const duplicates = [...counts.values()].filter((n) => n > 1).length;
    const states = (await stats.query(`SELECT state, count(*)::int AS n FROM webhook_delivery WHERE endpoint_id = ANY($1::uuid[]) GROUP BY state ORDER BY state`, [outage.map((e) => fromGid(e.id))])).rows;
    const outageRow = `| ${OUTAGE} s down at ${RATE} events/s, 3 endpoints | ${expected} | ${((firstOk - back) / 1000).toFixed(1)} s | ${((lastOk - firstOk) / 1000).toFixed(1)} s | ${counts.size} | ${expected - counts.size} | ${duplicates} | ${states.map((s) => `${s.state} ${s.n}`).join(', ')} |`;
    log(`${outageRow} (waited ${((done - back) / 1000).toFixed(1)} s)`);

    const loadAfter = loadavg();
    console.log(`\n## Webhooks: bench/webhooks.ts, ${new Date().toISOString().slice(0, 16)}Z`);
    console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}\n`);
    console.log('| commit to receipt | events sent | deliveries received | p50 | p99 | max | dispatch p50 / p99 (ms) | claim p50 / p99 | send p50 / p99 | write errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const l of lines) console.log(l);
    console.log('\n| write path (sendMessage, 10 connections, 15 s) | writes/s | p50 | p99 |');
    console.log('|---|---:|---:|---:|');
    console.log(`| no endpoint | ${without.wps.toFixed(0)} | ${without.p50.toFixed(1)} ms | ${without.p99.toFixed(1)} ms |`);
    console.log(`| 3 endpoints${withEndpoints.drained} | ${withEndpoints.wps.toFixed(0)} | ${withEndpoints.p50.toFixed(1)} ms | ${withEndpoints.p99.toFixed(1)} ms |`);
    console.log(`| ratio | ${((withEndpoints.wps / without.wps) * 100).toFixed(0)} % | | |`);
    console.log('\n| outage | deliveries owed | back to first success (probe) | first success to last delivery | distinct received | lost | received twice | final states |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---|');
    console.log(outageRow);
  } finally {
    if (server) await server.stop();
    await receiver.down().catch(() => {});
    await stats.end().catch(() => {});
    await drop();
  }
}

runBenchmark(main);
