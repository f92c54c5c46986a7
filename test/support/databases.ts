// Each test file gets a database of its own: an in-memory PGlite by default, or, with
// PARLEY_TEST_DB=postgres, a PostgreSQL database created here (from the global setup's migrated
// template) and dropped after.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, readdirSync } from 'node:fs';
import pg from 'pg';

export const usePostgres = process.env.PARLEY_TEST_DB === 'postgres';
export const ADMIN_URL = process.env.PARLEY_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  /** DATABASE_URL for PostgreSQL, undefined for PGlite. */
  url: string | undefined;
  /** DATA_DIR for PGlite. */
  dataDir: string;
  drop(): Promise<void>;
}

/**
 * A database for a test: migrated already when the global setup made a template (a PostgreSQL
 * template database; a PGlite data directory copied into `dataDir` when that is empty), as a
 * fresh server would leave it. `empty: true` for tests of what a first start does to an empty one.
 */
export async function createTestDatabase(opts: { dataDir?: string; postgres?: boolean; empty?: boolean } = {}): Promise<TestDatabase> {
  if (!(opts.postgres ?? usePostgres)) {
    const template = process.env.PARLEY_TEST_PGLITE_TEMPLATE_DIR;
    if (opts.dataDir && !opts.empty && template && (!existsSync(opts.dataDir) || readdirSync(opts.dataDir).length === 0)) {
      cpSync(template, opts.dataDir, { recursive: true });
    }
    return { url: undefined, dataDir: opts.dataDir ?? 'memory://', drop: async () => {} };
  }
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  const template = opts.empty ? undefined : process.env.PARLEY_TEST_PG_TEMPLATE;
  await admin((c) => c.query(template ? `CREATE DATABASE "${name}" TEMPLATE "${template}"` : `CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir: './data-unused',
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}
