// Server configurations side by side under load, with the CPU of each request split by process:
// the floor (bench/page.ts's FLOOR_SQL through `pg`, 10 at a time) and one Parley process per
// configuration, taken in turn for several rounds, so that each figure has neighbours measured
// minutes apart at most on this noisy machine. Per request: Parley's CPU (its process, from
// /proc), PostgreSQL's (all the machine's busy CPU minus this process and Parley's: run it on
// an otherwise idle machine) and the latency. Medians over the rounds.
//
//   npx tsx bench/ab.ts [--duration 5] [--rounds 3] [--query '{ ... }'] A: B:PG_PREPARED_STATEMENTS=false C:DATABASE_POOL_SIZE=10
//
// Each `X:KEY=VALUE,KEY=VALUE` is a configuration (environment of its Parley process); the
// default query is the inbox page (bench/page.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import pg from 'pg';
import { createBenchKey, FLOOR_SQL, INBOX_PAGE } from './page.js';
import { ensureBenchDatabase } from './seed.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1]! : fallback);
const DURATION = Number(opt('--duration', '5'));
const ROUNDS = Number(opt('--rounds', '3'));
const QUERY = opt('--query', INBOX_PAGE);
const CONNECTIONS = 10;
const configs = args
  .filter((a) => /^[A-Z]:/.test(a))
  .map((a) => ({
    label: a.slice(0, 1),
    env: Object.fromEntries(
      a
        .slice(2)
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    ) as Record<string, string>,
  }));
if (!configs.length) configs.push({ label: 'A', env: {} });

/** CPU ticks (1/100 s) of a process, user and system. */
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
};
/** The machine's busy CPU ticks (user, nice, system, irq, softirq). */
const busy = () => {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
};

const { url, big } = await ensureBenchDatabase();
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const key = await createBenchKey(admin, big.id, 'ab');
const headers = { 'content-type': 'application/json', 'x-api-key': key.secret };
const body = JSON.stringify({ query: QUERY });
const servers: { label: string; child: ChildProcess; base: string }[] = [];
const others = () => servers.reduce((sum, s) => sum + ticks(s.child.pid!), 0) + ticks(process.pid);
const load = (base: string, seconds: number) =>
  new Promise<Result>((resolve, reject) =>
    autocannon({ url: `${base}/graphql`, connections: CONNECTIONS, duration: seconds, method: 'POST', headers, body, verifyBody: (b: string) => !b.includes('"errors"') }, (err, r) => (err ? reject(err) : resolve(r))),
  );

const figures: Record<string, { rps: number[]; parley: number[]; postgres: number[]; p50: number[]; p99: number[] }> = {};
const record = (name: string, rps: number, parley: number, postgres: number, p50: number, p99: number) => {
  const f = (figures[name] ??= { rps: [], parley: [], postgres: [], p50: [], p99: [] });
  f.rps.push(rps), f.parley.push(parley), f.postgres.push(postgres), f.p50.push(p50), f.p99.push(p99);
};
const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
try {
  for (const [i, c] of configs.entries()) {
    const port = 4790 + i;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', SEED_DEMO: 'false', GRAPHIQL: 'false', COST_BUDGET_PER_MINUTE: '0', MAX_QUERY_COST: '10000000', ...c.env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    servers.push({ label: `${c.label} ${JSON.stringify(c.env)}`, child, base });
    for (let k = 0; k < 120 && !(await fetch(`${base}/readyz`).then((r) => r.ok, () => false)); k++) await sleep(250);
    const probe = (await (await fetch(`${base}/graphql`, { method: 'POST', headers, body })).json()) as { errors?: unknown };
    if (probe.errors) throw new Error(`${c.label}: ${JSON.stringify(probe.errors)}`);
    await load(base, 3); // warm-up: JIT, plan caches, the pool's connections
  }
  for (let round = 0; round < ROUNDS; round++) {
    {
      const end = performance.now() + DURATION * 1000;
      const latencies: number[] = [];
      const b0 = busy(), o0 = others(), s0 = ticks(process.pid);
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) {
            const t = performance.now();
            await pool.query(FLOOR_SQL, [big.id]);
            latencies.push(performance.now() - t);
          }
        }),
      );
      const n = latencies.length;
      latencies.sort((a, b) => a - b);
      record('floor', n / DURATION, ((ticks(process.pid) - s0) * 10) / n, ((busy() - b0 - (others() - o0)) * 10) / n, latencies[n >> 1]!, latencies[Math.floor(n * 0.99)]!);
    }
    for (const s of servers) {
      const p0 = ticks(s.child.pid!), b0 = busy(), o0 = others();
      const r = await load(s.base, DURATION);
      const n = r.requests.total;
      if (r.errors || r.non2xx || r.mismatches) throw new Error(`${s.label}: ${r.errors} errors, ${r.non2xx} non-2xx, ${r.mismatches} answers with GraphQL errors`);
      record(s.label, n / DURATION, ((ticks(s.child.pid!) - p0) * 10) / n, ((busy() - b0 - (others() - o0)) * 10) / n, r.latency.p50, r.latency.p99);
    }
  }
} finally {
  await pool.end();
  await admin.query('DELETE FROM api_key WHERE prefix = $1', [key.prefix]);
  await admin.end();
  for (const s of servers) s.child.kill('SIGTERM');
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const floorRps = median(figures.floor!.rps);
process.stdout.write(
  `| Configuration | req/s (each round) | vs floor | p50 ms | p99 ms | Parley CPU ms/req | PostgreSQL CPU ms/req |\n|---|---:|---:|---:|---:|---:|---:|\n` +
    Object.entries(figures)
      .map(
        ([name, f]) =>
          `| ${name === 'floor' ? 'floor (the benchmark process\'s CPU)' : name} | ${median(f.rps).toFixed(0)} (${f.rps.map((x) => x.toFixed(0)).join(', ')}) | ${(median(f.rps) / floorRps).toFixed(2)} | ${median(f.p50).toFixed(1)} | ${median(f.p99).toFixed(1)} | ${median(f.parley).toFixed(2)} | ${median(f.postgres).toFixed(2)} |`,
      )
      .join('\n') +
    `\n\nload average after: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
);
process.exit(0);
