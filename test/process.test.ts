// `npm start` as a newcomer runs it: a database without a workspace gets the demo workspace
// and a key printed once; the data survives a restart; one process per data directory; a clean
// stop on SIGTERM; a clear message for bad configuration.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from './support/graphql.js';
import { createTestDatabase, usePostgres } from './support/databases.js';
import { DEMO_KEY_LINE, DEMO_VIEWER, expectCompleteDemo } from './support/demo.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, stopCleanly } from './support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-process-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
// Migrated and empty (the global setup's template): the first start seeds the demo and prints
// its key without the initdb and migrations (about 6 CPU-seconds), which the first test of
// test/first-start.test.ts runs from a directory that does not exist yet.
beforeAll(() => createTestDatabase({ dataDir, postgres: false }));

function start(env: Record<string, string> = {}) {
  return runParley({ DATA_DIR: dataDir, PORT: '0', ...env });
}

describe('a Parley process on PGlite', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let key: string;

  it('creates the demo workspace on first start and prints its key once', async () => {
    const p = start();
    const url = await listening(p);
    key = (await p.waitFor(DEMO_KEY_LINE))[1]!;
    await expectCompleteDemo(url, key);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });

    // A second process on the same data directory stops at once, saying why.
    const second = start();
    const { code } = await second.exited;
    expect(code).toBe(2);
    expect(second.output()).toMatch(/data directory .* is in use by another Parley process \(pid \d+\)/);
    expect(second.output()).toContain(`(pid ${p.pid})`);

    // SIGTERM: a clean exit that releases the directory.
    await stopCleanly(p);
    expect(p.output()).toContain('shutting down');
    expect(readdirSync(dataDir).filter((f) => f.startsWith('parley'))).toEqual([]);
  });

  it('keeps its data across a restart and does not seed twice', async () => {
    const p = start();
    const url = await listening(p);
    const res = await gql(url, DEMO_VIEWER, {}, { key });
    expect(res.data?.viewer.workspace.name).toBe('Acme Support (demo)');
    // Not seeded again, no key printed again (the access log names keys by their visible prefix only).
    expect(p.output()).not.toContain('Created the demo workspace');
    expect(p.output()).not.toContain(key);
    // The key has been used: no note about a key that may never have been seen.
    expect(p.output()).not.toContain('has not been used yet');
    await stopCleanly(p, 'SIGINT');
  });

  it('refuses bad configuration with a message naming each bad variable', async () => {
    const p = start({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' });
    const { code } = await p.exited;
    expect(code).toBe(2);
    const out = p.output();
    expect(out).toContain('Invalid configuration');
    expect(out).toMatch(/PORT: /);
    expect(out).toMatch(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
    expect(out).toMatch(/LOG_LEVEL: /);
  });
});

// Registered only in the PostgreSQL suite (npm run test:pg), which CI runs.
if (usePostgres) describe('a Parley process on PostgreSQL', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('migrates, seeds, answers, and exits promptly on SIGTERM (its pool closed)', async () => {
    const db = await createTestDatabase({ postgres: true, empty: true });
    try {
      const p = runParley({ DATABASE_URL: db.url!, PORT: '0' });
      const url = await listening(p);
      const key = (await p.waitFor(DEMO_KEY_LINE))[1]!;
      const res = await gql(url, DEMO_VIEWER, {}, { key });
      expect(res.data?.viewer.workspace.name).toBe('Acme Support (demo)');
      const t0 = Date.now();
      await stopCleanly(p);
      // Without a closed pool, adapter-pg holds the process about 10 s.
      expect(Date.now() - t0).toBeLessThan(8_000);
    } finally {
      await db.drop();
    }
  });
});
