// The fan-out benchmark (see BENCHMARKS.md, "Live fan-out"): N graphql-ws subscribers on
// ONE Parley process, all subscribed to the same inbox's events; one message is sent; how
// long until every subscriber has it, and what each idle subscriber costs the server.
//
//   npx tsx bench/fanout.ts [--tiers 1000,5000,10000,20000] [--rounds 3] [--pglite] [--profile]
//
// --profile writes a CPU profile of each tier's server process to bench/profiles/.
//
// - The server is its own process (bench/fanout-server.ts), started fresh for each tier,
//   on PostgreSQL when it answers on 127.0.0.1:5432 (a scratch database, dropped after),
//   else on an in-memory PGlite; in-process pubsub (no Redis: one server process).
// - The clients are other processes (bench/fanout-client.ts), about 5,000 subscribers each,
//   each from its own source address (127.0.0.2, 127.0.0.3, ...) so that neither one
//   process nor one address's port range is the limit. Every process is started through
//   `sh -c 'ulimit -n <hard limit>'`: the open-file limit is raised as far as it goes.
// - Delivery time is measured at the clients: the time each `next` message arrives minus the
//   time the event reached the server's live layer (right after the commit), on the same
//   machine's clock. p50, p99 and the last subscriber ("all").
// - Memory: the server's heap and RSS after a full GC, idle with N subscriptions, minus the
//   same after a warm-up with one, divided by N.
// When the hard open-file limit is lower than N plus the server's own descriptors, the
// subscriptions are spread so that some connections carry two; the report says how many
// connections there were.
import { spawn, type ChildProcess } from 'node:child_process';
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const arg = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const TIERS = (arg('--tiers') ?? '1000,5000,10000,20000').split(',').map(Number);
const ROUNDS = Number(arg('--rounds') ?? 3);
const PER_CLIENT_PROCESS = 5000;
const ADMIN_URL = process.env.PARLEY_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const QUERY = `subscription($inbox: ID!) {
  conversationEvents(filter: { inboxes: [$inbox] }) {
    cursor kind
    conversation { id number status lastMessagePreview unreadCount }
    message { id content senderType createdAt }
  }
}`;

const log = (msg: string) => process.stderr.write(`[fanout ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const hardLimit = Number(execSync('ulimit -Hn', { shell: '/bin/sh' }).toString().trim()) || 1024;

/** A Node process running a TypeScript file, with the open-file limit raised to the hard limit. */
function spawnNode(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
  return spawn('sh', ['-c', 'ulimit -n "$(ulimit -Hn)" && exec "$@"', 'sh', process.execPath, '--import', 'tsx', ...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/** Request/response over a child's IPC channel, plus a queue of the messages it sends unasked. */
class Channel {
  private next = 1;
  private readonly waiting = new Map<number, (m: any) => void>();
  readonly unasked: any[] = [];
  private wake: (() => void) | null = null;
  constructor(readonly child: ChildProcess) {
    child.on('message', (m: any) => {
      const w = m.id ? this.waiting.get(m.id) : undefined;
      if (w) {
        this.waiting.delete(m.id);
        w(m);
      } else {
        this.unasked.push(m);
        this.wake?.();
      }
    });
  }
  ask<T = any>(type: string): Promise<T> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, type });
    });
  }
  tell(type: string) {
    this.child.send({ type });
  }
  async expect<T = any>(type: string, timeoutMs = 120_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.unasked.findIndex((m) => m.type === type);
      if (i >= 0) return this.unasked.splice(i, 1)[0];
      if (Date.now() > deadline) throw new Error(`no ${type} within ${timeoutMs} ms`);
      await Promise.race([new Promise<void>((r) => (this.wake = r)), sleep(100)]);
    }
  }
}

async function postgresUrl(): Promise<{ url: string; drop: () => Promise<void> } | null> {
  if (args.includes('--pglite')) return null;
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `parley_bench_fanout_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}

async function gql(url: string, key: string, query: string, variables: Record<string, unknown>) {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: any; errors?: unknown };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

interface Round {
  received: number;
  p50: number;
  p99: number;
  all: number;
  mutationMs: number;
  serverCpuMs: number;
}

interface TierResult {
  subscribers: number;
  connections: number;
  clientProcesses: number;
  heapPerSubscriber: number;
  rssPerSubscriber: number;
  heapIdle: number;
  rssIdle: number;
  connectSeconds: number;
  cold: Round;
  rounds: Round[];
}

async function runTier(n: number, databaseUrl: string | undefined): Promise<TierResult> {
  log(`tier ${n}: starting the server`);
  const profile = args.includes('--profile') ? ['--cpu-prof', '--cpu-prof-dir=bench/profiles'] : [];
  const server = spawnNode('bench/fanout-server.ts', { NODE_ENV: 'production', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }, ['--expose-gc', ...profile]);
  const ch = new Channel(server);
  const clients: { child: ChildProcess; ch: Channel; subs: number }[] = [];
  try {
    const ready = await ch.expect<{ url: string; key: string; inboxId: string; gc: boolean }>('ready');
    if (!ready.gc) throw new Error('the server has no gc(): memory figures would be meaningless');
    const inbox = Buffer.from(`Inbox:${ready.inboxId}`).toString('base64');
    const created = await gql(ready.url, ready.key, 'mutation($i: CreateConversationInput!) { createConversation(input: $i) { ... on CreateConversationPayload { conversation { id } } } }', {
      i: { inboxId: inbox, contact: { phone: '+14155550100', name: 'Bench Contact' } },
    });
    const conversationId = created.createConversation.conversation.id as string;
    const sendMessage = (content: string) =>
      gql(ready.url, ready.key, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { __typename } }', { i: { conversationId, content, senderType: 'CONTACT' } });

    // Warm-up: one subscriber, one event, so the baseline has the code paths loaded.
    const warm = new WebSocket(`${ready.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      warm.on('open', () => warm.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: ready.key } })));
      warm.on('message', (d) => {
        const m = JSON.parse(String(d));
        if (m.type === 'connection_ack') {
          warm.send(JSON.stringify({ id: 'w', type: 'subscribe', payload: { query: QUERY, variables: { inbox } } }));
          setTimeout(() => void sendMessage('warm-up'), 300);
        } else if (m.type === 'next') resolve();
      });
      warm.on('error', reject);
    });
    warm.close();
    await sleep(500);
    while ((await ch.ask('stats')).members > 0) await sleep(100);
    const base = await ch.ask<{ heapUsed: number; rss: number }>('memory');

    // The clients: connections within what the server's open-file limit allows.
    const connections = Math.min(n, hardLimit - 64);
    const processes = Math.max(2, Math.ceil(n / PER_CLIENT_PROCESS));
    log(`tier ${n}: ${connections} connections from ${processes} client processes (open-file limit ${hardLimit})`);
    const started = Date.now();
    for (let i = 0; i < processes; i++) {
      const conns = Math.floor(connections / processes) + (i < connections % processes ? 1 : 0);
      const subs = Math.floor(n / processes) + (i < n % processes ? 1 : 0);
      const plan = { url: `${ready.url.replace('http', 'ws')}/graphql`, key: ready.key, query: QUERY, variables: { inbox }, connections: conns, subscriptions: subs, localAddress: `127.0.0.${2 + i}` };
      const child = spawnNode('bench/fanout-client.ts', { FANOUT_PLAN: JSON.stringify(plan) }, ['--max-old-space-size=2048']);
      clients.push({ child, ch: new Channel(child), subs });
    }
    const readies = await Promise.all(clients.map((c) => c.ch.expect<{ failures: number }>('ready', 300_000)));
    const failures = readies.reduce((s, r) => s + r.failures, 0);
    if (failures) throw new Error(`${failures} client connections failed`);
    for (;;) {
      const stats = await ch.ask('stats');
      if (stats.members >= n) break;
      if (Date.now() - started > 300_000) throw new Error(`only ${stats.members} of ${n} subscriptions after 5 minutes`);
      await sleep(250);
    }
    const connectSeconds = (Date.now() - started) / 1000;
    await sleep(2000);
    const idle = await ch.ask<{ heapUsed: number; rss: number }>('memory');
    log(`tier ${n}: ${n} subscribed in ${connectSeconds.toFixed(1)} s; heap ${(idle.heapUsed / 2 ** 20).toFixed(0)} MiB, RSS ${(idle.rss / 2 ** 20).toFixed(0)} MiB`);

    // Round 0 is the first event these subscribers see (cold code in the clients and the
    // server); it is reported apart. Rounds 1..ROUNDS are the measure.
    const rounds: Round[] = [];
    let cold: Round | undefined;
    for (let r = 0; r <= ROUNDS; r++) {
      for (const c of clients) c.ch.tell('arm');
      await sleep(300);
      ch.unasked.length = 0;
      const cpuBefore = (await ch.ask('stats')).cpu;
      const t0 = now();
      await sendMessage(`round ${r} of ${n}`);
      const mutationMs = now() - t0;
      const published = await ch.expect<{ seq: string; at: number }>('published', 10_000);
      // Small polls while deliveries run; the receive times are collected once they are done.
      const deadline = Date.now() + 20_000;
      const ask = async <T>(type: string) =>
        Promise.all(
          clients.map((c) => {
            c.ch.tell(type);
            return c.ch.expect<T>(type, 10_000);
          }),
        );
      while (Date.now() < deadline) {
        await sleep(250);
        if ((await ask<{ count: number }>('count')).reduce((s, x) => s + x.count, 0) >= n) break;
      }
      const reports = await ask<{ count: number; times: number[] }>('report');
      const received = reports.reduce((s, x) => s + x.count, 0);
      const cpuAfter = (await ch.ask('stats')).cpu;
      const latencies = reports.flatMap((x) => x.times.map((t) => t - published.at)).sort((a, b) => a - b);
      const round: Round = {
        received,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        all: latencies[latencies.length - 1]!,
        mutationMs,
        serverCpuMs: (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000,
      };
      if (r === 0) cold = round;
      else rounds.push(round);
      log(`tier ${n} ${r === 0 ? 'first event' : `round ${r}`}: ${received}/${n} received; p50 ${round.p50.toFixed(0)} ms, p99 ${round.p99.toFixed(0)} ms, all ${round.all.toFixed(0)} ms; server CPU ${round.serverCpuMs.toFixed(0)} ms`);
      await sleep(1000);
    }
    return {
      subscribers: n,
      connections,
      clientProcesses: processes,
      heapPerSubscriber: (idle.heapUsed - base.heapUsed) / n,
      rssPerSubscriber: (idle.rss - base.rss) / n,
      heapIdle: idle.heapUsed,
      rssIdle: idle.rss,
      connectSeconds,
      cold: cold!,
      rounds,
    };
  } finally {
    for (const c of clients) c.child.kill('SIGKILL');
    const exited = new Promise((r) => server.once('exit', r));
    ch.tell('stop');
    await Promise.race([exited, sleep(20_000)]);
    server.kill('SIGKILL');
  }
}

async function main() {
  const database = await postgresUrl();
  log(`database: ${database ? 'PostgreSQL' : 'PGlite (in memory)'}; ${cpus().length} cores; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results: TierResult[] = [];
  try {
    for (const n of TIERS) results.push(await runTier(n, database?.url));
  } finally {
    await database?.drop();
  }
  const kb = (b: number) => (b / 1024).toFixed(1);
  const ms = (x: number) => x.toFixed(0);
  // The round with the median p99 stands for the tier; the first (cold) event is shown apart.
  const typical = (r: TierResult) => [...r.rounds].sort((x, y) => x.p99 - y.p99)[Math.floor(r.rounds.length / 2)]!;
  const lines = [
    '| subscribers | connections | p50 | p99 | all | first event p99 / all | server CPU per event | heap per idle subscriber | RSS per idle subscriber |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...results.map((r) => {
      const t = typical(r);
      return `| ${r.subscribers.toLocaleString('en')} | ${r.connections.toLocaleString('en')} | ${ms(t.p50)} ms | ${ms(t.p99)} ms | ${ms(t.all)} ms | ${ms(r.cold.p99)} / ${ms(r.cold.all)} ms | ${ms(t.serverCpuMs)} ms | ${kb(r.heapPerSubscriber)} KB | ${kb(r.rssPerSubscriber)} KB |`;
    }),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n(the round with the median p99 of ${ROUNDS}, after a first event; database ${database ? 'PostgreSQL' : 'PGlite'})\n`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/fanout.json', JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, database: database ? 'postgres' : 'pglite', openFileLimit: hardLimit, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
