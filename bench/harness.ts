// What the process benchmarks (bench/write.ts, bench/webhooks.ts) share: a scratch PostgreSQL
// database made and dropped per run, a busy workspace seeded by SQL, and Parley started as its
// own process (NODE_ENV=production, one worker, no Redis) the way a deployment runs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { migrate, openDatabase } from '../src/db/client.js';
import { ADMIN_URL, admin } from './seed.js';

/**
 * The background workers' intervals for an in-process Parley that counts a request's SQL
 * statements: an hour apart, so that no worker's poll is counted with the request.
 */
export const IDLE_WORKERS: Record<string, string> = Object.fromEntries(
  ['SNOOZE_WAKE_INTERVAL_MS', 'WEBHOOK_POLL_MS', 'AUTOMATION_POLL_MS', 'AUTOMATION_SCAN_INTERVAL_MS'].map((k) => [k, String(3_600_000)]),
);

export const gid = (type: string, id: string) => Buffer.from(`${type}:${id}`).toString('base64');
export const fromGid = (g: string) => Buffer.from(g, 'base64').toString().split(':')[1]!;

/** The value at the p-th percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
}

/** Creates database `name` (dropping a leftover), migrates it, and returns its URL and a drop(). */
export async function scratchDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  await admin(async (c) => {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}"`);
  });
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  const url = u.toString();
  const db = await openDatabase({ databaseUrl: url, dataDir: '' });
  await migrate(db);
  await db.close();
  return { url, drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined) };
}

/** A workspace with an admin and a WhatsApp inbox. */
export async function seedWorkspace(c: pg.Client): Promise<{ ws: string; inbox: string }> {
  const ws = (await c.query(`INSERT INTO workspace (id, name, created_at, updated_at) VALUES (gen_random_uuid(), 'Busy', now(), now()) RETURNING id`)).rows[0].id as string;
  await c.query(`INSERT INTO workspace_counter (workspace_id) VALUES ($1)`, [ws]);
  await c.query(`INSERT INTO "user" (id, workspace_id, name, email, role, availability, created_at, updated_at) VALUES (gen_random_uuid(), $1, 'Admin', 'admin@bench.test', 'ADMIN', 'ONLINE', now(), now())`, [ws]);
  const inbox = (await c.query(`INSERT INTO inbox (id, workspace_id, name, channel, created_at, updated_at) VALUES (gen_random_uuid(), $1, 'WhatsApp', 'WHATSAPP', now(), now()) RETURNING id`, [ws])).rows[0].id as string;
  return { ws, inbox };
}

export interface ParleyProcess {
  base: string;
  child: ChildProcess;
  stop: () => Promise<void>;
}

/** Starts Parley on `url` as its own process and waits for /readyz. */
export async function startParleyProcess(url: string, port: number, { env = {}, nodeArgs = [] }: { env?: Record<string, string>; nodeArgs?: string[] } = {}): Promise<ParleyProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: url,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      SEED_DEMO: 'false',
      COST_BUDGET_PER_MINUTE: '0',
      RATE_LIMIT_PER_MINUTE: '0',
      WORKERS: '1',
      REDIS_URL: '',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 480; i++) {
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    if (child.exitCode !== null) throw new Error('Parley exited before it was ready');
    await sleep(250);
  }
  return { base, child, stop: () => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill('SIGTERM')))) };
}

/** A GraphQL client for `base` with an API key; throws on errors. */
export function graphqlClient(base: string, secret: string) {
  return async (query: string, variables: Record<string, unknown> = {}): Promise<any> => {
    const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': secret }, body: JSON.stringify({ query, variables }) });
    const j = (await res.json()) as any;
    if (j.errors) throw new Error(JSON.stringify(j.errors));
    return j.data;
  };
}

/**
 * Calls `write(i)` from `connections` loops, each sending its next as soon as its last is
 * answered, for `seconds`: writes per second and the latency percentiles (ms).
 */
export async function closedLoop(seconds: number, connections: number, write: (i: number) => Promise<void>): Promise<{ writes: number; wps: number; p50: number; p99: number }> {
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await write(i++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((x, y) => x - y);
  return { writes: latencies.length, wps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

/** Runs a benchmark's main and exits: 0 when it finished, 1 (with the error) when it threw. */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
