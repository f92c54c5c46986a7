// A real Parley server on a free port, on the test file's own database.
import { readFileSync } from 'node:fs';
import { startParley, type RunningParley, type StartOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './databases.js';

/** The SECRET_KEY test servers on PostgreSQL use (32 bytes, base64). */
export const TEST_SECRET_KEY = 'q1gOqTjbH3oUcIv8Nf8mF8qg3E0o3hFXhD3Vt2yqJ0A=';

let image: Blob | undefined;
/** The migrated data directory image the global setup made (undefined when it made none). */
function pgliteImage(): Blob | undefined {
  const file = process.env.PARLEY_TEST_PGLITE_IMAGE;
  if (!file) return undefined;
  return (image ??= new Blob([readFileSync(file)]));
}

export interface TestServer extends RunningParley {
  database: TestDatabase;
  /** The SQL statements issued since the last reset (Prisma query events). */
  queries: string[];
  close(): Promise<void>;
}

export async function startTestServer(
  opts: { env?: Record<string, string>; database?: TestDatabase; start?: StartOptions } = {},
): Promise<TestServer> {
  const database = opts.database ?? (await createTestDatabase());
  const queries: string[] = [];
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.PARLEY_TEST_LOG_LEVEL ?? 'silent',
    SEED_DEMO: 'false',
    DATA_DIR: database.dataDir,
    // PostgreSQL deployments set SECRET_KEY (webhook secrets); PGlite makes one in its data directory.
    ...(database.url ? { DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY } : {}),
    ...(usePostgres ? { REDIS_URL } : {}),
    ...opts.env,
  });
  const app = await startParley(config, { pgliteImage: database.url ? undefined : pgliteImage(), ...opts.start, onQuery: (sql) => queries.push(sql) });
  return {
    ...app,
    database,
    queries,
    close: async () => {
      await app.stop();
      if (!opts.database) await database.drop();
    },
  };
}
