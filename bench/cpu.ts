// Where one inbox page's time goes, without load: an in-process Parley on the benchmark
// database serves the page N times in a row (through its HTTP server) while this process
// measures its own CPU per request (server and client together) and the latency. Quicker and
// steadier than throughput on a shared machine; use it to compare variants (alternate them,
// several runs each), and bench/run.ts for the figures BENCHMARKS.md quotes.
//
//   npx tsx bench/cpu.ts [--requests 400] [--interpreter] [--transaction-store]
//
// --interpreter turns the query planner off (QUERY_PLANNER=false): the page is then executed
// by graphql-js and the resolvers, field by field, as before the planner.
// --transaction-store runs the transaction store (src/db/transaction-end.ts) once first, as any
// mutation does: on Node 20 and 22 its AsyncLocalStorage then turns on promise hooks for the
// whole process, and this measures what that costs a page.
import { startParley } from '../src/app.js';
import { TransactionEnd, transactionEnds } from '../src/db/transaction-end.js';
import { loadConfig } from '../src/config.js';
import pg from 'pg';
import { createBenchKey, measureInboxPage } from './page.js';
import { ensureBenchDatabase } from './seed.js';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--requests') + 1] ?? 0) || 400;
const INTERPRETER = args.includes('--interpreter');
const STORE = args.includes('--transaction-store');

const { url, big } = await ensureBenchDatabase();
const c = new pg.Client({ connectionString: url });
await c.connect();
const { secret, prefix } = await createBenchKey(c, big.id, 'cpu-probe');
const app = await startParley(
  loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', SEED_DEMO: 'false', DATABASE_URL: url, COST_BUDGET_PER_MINUTE: '0', NODE_ENV: 'production', QUERY_PLANNER: String(!INTERPRETER) }),
);
try {
  if (STORE) await transactionEnds.run(new TransactionEnd(), async () => {});
  await measureInboxPage({ label: INTERPRETER ? 'parley (interpreter)' : 'parley (planner)', url: `${app.url}/graphql`, headers: { 'x-api-key': secret }, requests: N, warmup: 100 });
} finally {
  await c.query(`DELETE FROM api_key WHERE prefix = $1`, [prefix]);
  await c.end();
  await app.stop();
}
