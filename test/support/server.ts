// A real Parley server on a free port, on the test file's own database.
import { readFileSync } from 'node:fs';
import { startParley, type RunningParley, type StartOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createTestDatabase, REDIS_URL, usePostgres, type TestDatabase } from './databases.js';

/** The SECRET_KEY test servers on PostgreSQL use (32 bytes, base64). */
export const TEST_SECRET_KEY = 'q1gOqTjbH3oUcIv8Nf8mF8qg3E0o3hFXhD3Vt2yqJ0A=';

/**
 * The migrated image as PGlite's `loadDataDir` takes it: a Blob, whose arrayBuffer() hands over
 * the bytes read once instead of copying them out through a stream as Node's Blob does. PGlite
 * only reads them (it copies each file out of the tar into its own file system), so every server
 * of a worker process can be given the same bytes.
 */
class ImageBlob extends Blob {
  readonly #bytes: ArrayBuffer;
  constructor(bytes: Buffer) {
    super([], { type: 'application/x-tar' });
    this.#bytes = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : new Uint8Array(bytes).buffer;
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    return Promise.resolve(this.#bytes);
  }
}

/**
 * The migrated data directory image the global setup made (undefined when it made none), read
 * once per worker process: test files share their worker (vitest.config.ts, isolate: false) and
 * each evaluates this module anew. Read, wrapped in a Blob and copied out of it again by every
 * test file's server, the 42 MB cost about 0.65 CPU-seconds per file.
 */
function pgliteImage(): Blob | undefined {
  const file = process.env.PARLEY_TEST_PGLITE_IMAGE;
  if (!file) return undefined;
  const shared = globalThis as { parleyTestImage?: { file: string; blob: Blob } };
  if (shared.parleyTestImage?.file !== file) shared.parleyTestImage = { file, blob: new ImageBlob(readFileSync(file)) };
  return shared.parleyTestImage.blob;
}

/**
 * The background workers at an hour's interval: for a test that counts statements, watches the
 * server's connections, or reads back what a mutation wrote, with no snooze wake-up, webhook
 * dispatch or automation pass of the server's own in between.
 */
export const IDLE_WORKERS: Record<string, string> = Object.fromEntries(
  ['SNOOZE_WAKE_INTERVAL_MS', 'WEBHOOK_POLL_MS', 'AUTOMATION_POLL_MS', 'AUTOMATION_SCAN_INTERVAL_MS'].map((k) => [k, String(3_600_000)]),
);

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
