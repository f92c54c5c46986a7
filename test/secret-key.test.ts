// SECRET_KEY: made in the data directory on the embedded database, checked against the
// database's fingerprint on every start. A wrong key, or a missing one once secrets exist, stops
// the start with a clear error; nothing is ever silently re-keyed.
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSecretKey, SecretBox } from '../src/security/secret-key.js';
import { createTestDatabase, usePostgres } from './support/databases.js';
import { PROCESS_TEST_TIMEOUT_MS, runParley } from './support/process.js';
import { startTestServer, TEST_SECRET_KEY } from './support/server.js';

const OTHER_KEY = Buffer.alloc(32, 7).toString('base64');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('SecretBox', () => {
  it('round-trips, authenticates, and parses keys in base64 or hex only when they are 32 bytes', () => {
    const box = new SecretBox(parseSecretKey(TEST_SECRET_KEY));
    const sealed = box.seal('whsec_abc');
    expect(sealed).not.toContain('whsec_abc');
    expect(box.open(sealed)).toBe('whsec_abc');
    expect(box.seal('x')).not.toBe(box.seal('x'));
    expect(() => new SecretBox(parseSecretKey(OTHER_KEY)).open(sealed)).toThrow();
    expect(parseSecretKey('ab'.repeat(32))).toHaveLength(32);
    for (const bad of ['short', Buffer.alloc(16).toString('base64'), 'z'.repeat(64)]) expect(() => parseSecretKey(bad), bad).toThrow(/32 random bytes/);
  });
});

describe('on the embedded database', () => {
  it('makes secret.key on the first start (owner-only), refuses another key, and refuses to start without it', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-secret-'));
    dirs.push(dataDir);
    const database = await createTestDatabase({ postgres: false, dataDir });
    const first = await startTestServer({ database });
    await first.close();
    const file = join(dataDir, 'secret.key');
    expect(existsSync(file)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Another key: a clear error, from the real process, exit code 2.
    const wrong = runParley({ DATA_DIR: dataDir, PORT: '0', SECRET_KEY: OTHER_KEY });
    const exit = await wrong.exited;
    expect(exit.code, wrong.output()).toBe(2);
    expect(wrong.output()).toMatch(/parley: SECRET_KEY is not the key this database's secrets were encrypted with/);
    expect(wrong.output()).not.toMatch(/\n\s+at /);

    // The key file lost: refused, never replaced by a new key.
    unlinkSync(file);
    await expect(startTestServer({ database })).rejects.toThrow(/secret\.key is missing/);
    expect(existsSync(file)).toBe(false);
  });
});

describe('on an in-memory database', () => {
  it('keeps its key in memory and writes no file (a memory:// data directory is not a path)', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'parley-secret-cwd-'));
    dirs.push(cwd);
    const before = process.cwd();
    process.chdir(cwd);
    try {
      const database = await createTestDatabase({ postgres: false });
      const server = await startTestServer({ database });
      await server.close();
      expect(readdirSync(cwd, { recursive: true })).toEqual([]);
    } finally {
      process.chdir(before);
    }
  });
});

// PostgreSQL only exists in the PostgreSQL suite (npm run test:pg, which CI runs).
if (usePostgres) describe('on PostgreSQL', () => {
  it('records the key on first start, then refuses a start without it or with another', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const database = await createTestDatabase({ postgres: true });
    try {
      const first = await startTestServer({ database });
      await first.close();
      await expect(startTestServer({ database, env: { SECRET_KEY: OTHER_KEY } })).rejects.toThrow(/not the key/);
      const { loadConfig } = await import('../src/config.js');
      const { startParley } = await import('../src/app.js');
      const config = loadConfig({ PORT: '0', LOG_LEVEL: 'silent', SEED_DEMO: 'false', DATABASE_URL: database.url! });
      await expect(startParley(config)).rejects.toThrow(/SECRET_KEY is not set, but this database holds webhook secrets/);
    } finally {
      await database.drop();
    }
  });
});
