// The read-API benchmark, in one run (see BENCHMARKS.md for the figures and what they mean):
//   1. the floor: one hand-written SQL statement through `pg`, in this process, returning the
//      inbox page (50 conversations with contact, assignee, labels, last message) as JSON, at
//      10 concurrent requests;
//   2. Parley's conversations(first: 50) with the same fields, over HTTP at 10 connections;
//   3. a search for a word in 0.1 % of the messages, and a filtered page (status + label + assignee);
//      each page but the first is measured after its own floor: the filtered page's and the
//      10k workspace's by the floor's SQL narrowed the same way, the search's by the very
//      statement Parley's planner makes for it, run alone through `pg` (there is no shorter
//      hand-written search: it looks in the same five places);
//   4. the same inbox page on the 10,000-conversation workspace, and totalCount alone on each;
//   5. the inbox page again with the query planner off (QUERY_PLANNER=false), and with a pool of
//      10 connections instead of the default (2 per core, and one), for comparison.
// Parley runs as its own process (NODE_ENV=production), as it would be deployed; autocannon
// drives it. SQL statements per request are counted exactly by a second, in-process Parley
// that records Prisma's query events (one request per scenario, before the load).
//
//   npx tsx bench/run.ts [--duration 15] [--profile] [--workers 2]
//
// --profile writes a CPU profile of the Parley process to bench/profiles/. --workers N runs
// Parley as N server processes (WORKERS=N, with Redis), one per core as deployed on a bigger box.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import { parse } from 'graphql';
import pg from 'pg';
import { startParley } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { DEFAULT_POOL_SIZE } from '../src/db/client.js';
import { statementsFor } from '../src/planner/plugin.js';
import { schema } from '../src/schema/index.js';
import { IDLE_WORKERS } from './harness.js';
import { createBenchKey, FILTERED_FLOOR_SQL, FLOOR_SQL, INBOX_PAGE, PAGE_FIELDS } from './page.js';
import { DATABASE, ensureBenchDatabase, RARE_WORD, type BenchWorkspace } from './seed.js';

const args = process.argv.slice(2);
const DURATION = Number(args[args.indexOf('--duration') + 1] ?? 0) || 15;
const WARMUP = 3;
const CONNECTIONS = 10;
const PROFILE = args.includes('--profile');
/** Parley's server processes (WORKERS); more than one runs with Redis, as that deployment must. */
const WORKERS = Number(args[args.indexOf('--workers') + 1] ?? 0) || 1;
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORT = Number(process.env.BENCH_PORT ?? 4711);

const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Figures {
  name: string;
  requests: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  statements?: number;
  statementsUnderLoad?: number;
}

function percentile(sorted: number[], p: number) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function figures(name: string, latencies: number[], seconds: number, errors: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    errors,
  };
}

const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');

/**
 * A statement straight from PostgreSQL through `pg`, unnamed, CONNECTIONS at a time, for
 * `seconds`: the floor (FLOOR_SQL), and Parley's own statement for a page run alone.
 */
async function sqlLoad(name: string, url: string, text: string, values: unknown[], check: (row: Record<string, unknown>) => boolean, seconds: number): Promise<Figures> {
  const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
  const run = async (secs: number) => {
    const latencies: number[] = [];
    let errors = 0;
    const end = performance.now() + secs * 1000;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) {
          const start = performance.now();
          try {
            const r = await pool.query(text, values);
            if (!check(r.rows[0])) errors += 1;
          } catch {
            errors += 1;
          }
          latencies.push(performance.now() - start);
        }
      }),
    );
    return { latencies, errors };
  };
  try {
    await run(WARMUP);
    const start = performance.now();
    const { latencies, errors } = await run(seconds);
    const f = figures(name, latencies, (performance.now() - start) / 1000, errors);
    f.statements = 1;
    return f;
  } finally {
    await pool.end();
  }
}

async function xactCommits(c: pg.Client): Promise<number> {
  await sleep(1500); // backends flush their counters about once a second
  await c.query('SELECT pg_stat_clear_snapshot()');
  const r = await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = $1', [DATABASE]);
  return Number(r.rows[0]!.n);
}

/** One scenario over HTTP with autocannon: warm-up, then `seconds` of load. */
async function http(name: string, base: string, key: string, query: string, seconds: number, stats: pg.Client, check: (data: any) => boolean, connections = CONNECTIONS) {
  const body = JSON.stringify({ query });
  const headers = { 'content-type': 'application/json', 'x-api-key': key };
  // Check the answer once before loading it.
  const probe = await fetch(`${base}/graphql`, { method: 'POST', headers, body }).then((r) => r.json() as Promise<any>);
  if (probe.errors || !check(probe.data)) throw new Error(`${name}: unexpected answer ${JSON.stringify(probe).slice(0, 500)}`);
  const verifyBody = (b: string) => !b.includes('"errors"');
  const load = (secs: number, latencies: number[]) =>
    new Promise<Result>((resolve, reject) => {
      const instance = autocannon({ url: `${base}/graphql`, connections, duration: secs, method: 'POST', headers, body, verifyBody }, (err, r) =>
        err ? reject(err) : resolve(r),
      );
      instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
    });
  await load(WARMUP, []);
  const before = await xactCommits(stats);
  const latencies: number[] = [];
  const result = await load(seconds, latencies);
  const after = await xactCommits(stats);
  const f = figures(name, latencies, result.duration, result.errors + result.timeouts + result.mismatches + result.non2xx);
  f.statementsUnderLoad = (after - before) / result.requests.total;
  return f;
}

/** Statements per request, counted exactly on an in-process Parley (one warm request, then one counted). */
async function countStatements(url: string, requests: { name: string; key: string; query: string }[], extraEnv: Record<string, string> = {}): Promise<Map<string, number>> {
  const queries: string[] = [];
  const app = await startParley(
    loadConfig({
      PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SEED_DEMO: 'false', DATABASE_URL: url, COST_BUDGET_PER_MINUTE: '0', MAX_QUERY_COST: '10000000',
      ...IDLE_WORKERS,
      ...extraEnv,
    }),
    { onQuery: (sql) => queries.push(sql) },
  );
  const out = new Map<string, number>();
  try {
    for (const r of requests) {
      const send = () =>
        fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': r.key }, body: JSON.stringify({ query: r.query }) }).then(
          (res) => res.json() as Promise<any>,
        );
      await send();
      queries.length = 0;
      const answer = await send();
      if (answer.errors) throw new Error(`${r.name}: ${JSON.stringify(answer.errors)}`);
      out.set(r.name, queries.length);
    }
  } finally {
    await app.stop();
  }
  return out;
}

async function startServer(url: string, extraEnv: Record<string, string> = {}): Promise<{ base: string; child: ChildProcess; stop: () => Promise<void> }> {
  const profileDir = new URL('./profiles/', import.meta.url).pathname;
  if (PROFILE) mkdirSync(profileDir, { recursive: true });
  const child = spawn(
    process.execPath,
    [...(PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'src/main.ts'],
    {
      cwd: new URL('..', import.meta.url).pathname,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        DATABASE_URL: url,
        PORT: String(PORT),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        SEED_DEMO: 'false',
        GRAPHIQL: 'false',
        // The per-key budget exists to stop one key from hogging the server: exactly what a load test does.
        COST_BUDGET_PER_MINUTE: '0',
        MAX_QUERY_COST: '10000000',
        WORKERS: String(WORKERS),
        REDIS_URL: WORKERS > 1 ? BENCH_REDIS_URL : '',
        ...extraEnv,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${PORT}`;
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (child.exitCode !== null) throw new Error('Parley exited before it was ready');
    await sleep(250);
  }
  return {
    base,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function main() {
  const loadBefore = loadavg();
  const { url, big, small } = await ensureBenchDatabase();
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const keys = { big: await createBenchKey(admin, big.id, 'benchmark'), small: await createBenchKey(admin, small.id, 'benchmark') };

  // The filtered page: OPEN, the most common label among open conversations, their busiest assignee.
  const pick = (
    await admin.query<{ label: string; assignee: string; n: string }>(
      `SELECT cl."B" AS label, c.assignee_id AS assignee, count(*) AS n
       FROM conversation c JOIN "_ConversationToLabel" cl ON cl."A" = c.id
       WHERE c.workspace_id = $1 AND c.status = 'OPEN' AND c.assignee_id IS NOT NULL
       GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1`,
      [big.id],
    )
  ).rows[0]!;
  const rare = (
    await admin.query<{ messages: string; conversations: string }>(
      `SELECT count(*) AS messages, count(DISTINCT conversation_id) AS conversations FROM message
       WHERE workspace_id = $1 AND search_vector @@ plainto_tsquery('simple', $2)`,
      [big.id, RARE_WORD],
    )
  ).rows[0]!;
  log(`"${RARE_WORD}" is in ${rare.messages} of ${big.messages} messages (${rare.conversations} conversations)`);

  const SEARCH = `{ conversations(first: 50, filter: { search: "${RARE_WORD}" }) { ${PAGE_FIELDS} } }`;
  const FILTERED = `{ conversations(first: 50, filter: { status: [OPEN], labels: { anyOf: ["${gid('Label', pick.label)}"] }, assignee: { users: ["${gid('User', pick.assignee)}"] } }) { ${PAGE_FIELDS} } }`;
  const COUNT = `{ conversations { totalCount } }`;
  const searchStatement = statementsFor(schema, parse(SEARCH), { workspaceId: big.id, userId: keys.big.userId, kind: 'TEAM' })![0]!.sql;
  const pageOf = (r: Record<string, unknown>) => r.page as unknown[];
  /** A scenario, and the floor it is compared with besides the inbox page's: the same page by hand-written SQL, or the search's own statement. */
  type OwnFloor = { name: string; text: string; values: unknown[]; check: (row: Record<string, unknown>) => boolean };
  const scenarios: { name: string; key: string; query: string; check: (d: any) => boolean; connections?: number; own?: OwnFloor }[] = [
    { name: 'inbox page, 100k workspace', key: keys.big.secret, query: INBOX_PAGE, check: (d: any) => d.conversations.edges.length === 50 },
    {
      name: `search "${RARE_WORD}" (0.1 % of messages)`, key: keys.big.secret, query: SEARCH, check: (d: any) => d.conversations.edges.length > 0,
      own: {
        name: `search "${RARE_WORD}": Parley's own statement alone, through pg`, text: searchStatement.text, values: searchStatement.values,
        check: (r) => (JSON.parse(r.data as string).edges as unknown[]).length > 0,
      },
    },
    { name: `search "${RARE_WORD}", 1 connection`, key: keys.big.secret, query: SEARCH, check: (d: any) => d.conversations.edges.length > 0, connections: 1 },
    {
      name: `filtered: OPEN + label + assignee (${pick.n} match)`, key: keys.big.secret, query: FILTERED, check: (d: any) => d.conversations.edges.length > 0,
      own: { name: 'filtered floor: its SQL through pg', text: FILTERED_FLOOR_SQL, values: [big.id, pick.label, pick.assignee], check: (r) => pageOf(r).length > 0 },
    },
    {
      name: 'inbox page, 10k workspace', key: keys.small.secret, query: INBOX_PAGE, check: (d: any) => d.conversations.edges.length === 50,
      own: { name: '10k floor: SQL through pg', text: FLOOR_SQL, values: [small.id], check: (r) => pageOf(r).length === 50 },
    },
    { name: 'totalCount alone, 100k workspace', key: keys.big.secret, query: COUNT, check: (d: any) => d.conversations.totalCount > big.conversations * 0.8 },
    { name: 'totalCount alone, 10k workspace', key: keys.small.secret, query: COUNT, check: (d: any) => d.conversations.totalCount > small.conversations * 0.8 },
  ];

  log('counting SQL statements per request');
  const counts = await countStatements(url, scenarios);

  log(`floor: ${DURATION} s at ${CONNECTIONS} concurrent`);
  const floorFigures = await sqlLoad('floor: SQL through pg, in process', url, FLOOR_SQL, [big.id], (r) => pageOf(r).length === 50, DURATION);
  const results: Figures[] = [floorFigures];
  /** Each scenario's own floor, measured just before it. */
  const ownFloors = new Map<Figures, Figures>();

  const server = await startServer(url);
  try {
    for (const s of scenarios) {
      const connections = s.connections ?? CONNECTIONS;
      let own: Figures | undefined;
      if (s.own) {
        log(`${s.own.name}: ${DURATION} s at ${CONNECTIONS} concurrent`);
        own = await sqlLoad(s.own.name, url, s.own.text, s.own.values, s.own.check, DURATION);
        results.push(own);
      }
      log(`${s.name}: ${DURATION} s at ${connections} connection(s)`);
      const f = await http(s.name, server.base, s.key, s.query, DURATION, admin, s.check, connections);
      f.statements = counts.get(s.name);
      results.push(f);
      // The big workspace's inbox page is compared with the floor itself.
      const ownFloor = own ?? (s.query === INBOX_PAGE ? floorFigures : undefined);
      if (ownFloor) ownFloors.set(f, ownFloor);
    }
  } finally {
    await server.stop();
  }
  // The same inbox page again, in the same run, on a server configured otherwise: without the
  // query planner (graphql-js and the resolvers, field by field: the planner's before and
  // after), and with the 10 connections that were the pool's size before it followed the cores.
  const variants: { label: string; env: Record<string, string> }[] = [
    { label: 'interpreter (QUERY_PLANNER=false)', env: { QUERY_PLANNER: 'false' } },
    { label: 'DATABASE_POOL_SIZE=10', env: { DATABASE_POOL_SIZE: '10' } },
  ];
  try {
    for (const v of variants) {
      const variant = await startServer(url, v.env);
      try {
        const s = scenarios[0]!;
        const name = `${s.name}, ${v.label}`;
        log(`${name}: ${DURATION} s at ${CONNECTIONS} connection(s)`);
        const f = await http(name, variant.base, s.key, s.query, DURATION, admin, s.check, CONNECTIONS);
        f.statements = (await countStatements(url, [{ ...s, name }], v.env)).get(name);
        results.push(f);
        ownFloors.set(f, floorFigures);
      } finally {
        await variant.stop();
      }
    }
  } finally {
    await admin.end();
  }

  const floorRps = results[0]!.rps;
  const ms = (v: number) => v.toFixed(1);
  const lines = [
    `| Scenario | req/s | p50 ms | p95 ms | p99 ms | SQL statements / request | vs floor | vs its own floor | errors |`,
    `|---|---:|---:|---:|---:|---:|---:|---:|---:|`,
    ...results.map((r) => {
      const own = ownFloors.get(r);
      return `| ${r.name} | ${r.rps.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.statements ?? ''}${
        r.statementsUnderLoad !== undefined ? ` (${r.statementsUnderLoad.toFixed(2)} under load)` : ''
      } | ${r === results[0] ? '1.00' : (r.rps / floorRps).toFixed(2)} | ${own ? (r.rps / own.rps).toFixed(2) : ''} | ${r.errors} |`;
    }),
  ];
  const named = (prefix: string) => results.find((r) => r.name.startsWith(prefix))!;
  const vsOwn = (r: Figures) => `${((r.rps / ownFloors.get(r)!.rps) * 100).toFixed(0)} % of its own floor, ${((r.rps / floorRps) * 100).toFixed(0)} % of the inbox page's`;
  const inboxBig = named('inbox page, 100k workspace');
  const inboxSmall = named('inbox page, 10k workspace');
  const search = named(`search "${RARE_WORD}" (`);
  const searchAlone = ownFloors.get(search)!;
  const filtered = named('filtered:');
  const summary = [
    `Parley inbox page / floor throughput: ${((inboxBig.rps / floorRps) * 100).toFixed(0)} % (target >= 45 %)`,
    `Parley inbox page p99: ${ms(inboxBig.p99)} ms (target < 40 ms)`,
    `Search p95: ${ms(search.p95)} ms at ${CONNECTIONS} connections, ${ms(named(`search "${RARE_WORD}", 1 connection`).p95)} ms at 1 (target < 50 ms); its statement alone through pg: p95 ${ms(searchAlone.p95)} ms, ${searchAlone.rps.toFixed(0)} statements/s (Parley ${((search.rps / searchAlone.rps) * 100).toFixed(0)} % of that)`,
    `Filtered page: ${vsOwn(filtered)}; 10k workspace: ${vsOwn(inboxSmall)} (target >= 45 %)`,
    `Big vs small workspace, inbox page p50: ${(inboxBig.p50 / inboxSmall.p50).toFixed(2)}x, throughput: ${(inboxSmall.rps / inboxBig.rps).toFixed(2)}x (target <= 1.5x)`,
  ];
  const fmt = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const machine = `Node ${process.version}; Parley workers: ${WORKERS}, database pool ${process.env.DATABASE_POOL_SIZE || DEFAULT_POOL_SIZE} connections each; ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load average before the run ${fmt(loadBefore)}, after ${fmt(loadavg())}`;
  process.stdout.write(`\n${lines.join('\n')}\n\n${summary.join('\n')}\n\nMachine: ${machine}\n`);
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/latest.json', import.meta.url),
    `${JSON.stringify({ at: new Date().toISOString(), duration: DURATION, connections: CONNECTIONS, machine, rare, results }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
