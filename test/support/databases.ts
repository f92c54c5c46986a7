// Each test file gets a database of its own: an in-memory PGlite by default, or, with
// PARLEY_TEST_DB=postgres, a fresh PostgreSQL database created here and dropped after.
import { randomBytes } from 'node:crypto';
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

export async function createTestDatabase(opts: { dataDir?: string; postgres?: boolean } = {}): Promise<TestDatabase> {
  if (!(opts.postgres ?? usePostgres)) {
    return { url: undefined, dataDir: opts.dataDir ?? 'memory://', drop: async () => {} };
  }
  const name = `parley_test_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir: './data-unused',
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}
