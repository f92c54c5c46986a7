// The first start is all or nothing. A start killed while it seeds the demo leaves nothing
// behind, and the next start seeds it whole and prints a working key; a start killed after
// the seed committed but before its key was printed is followed by starts that say exactly
// how to make another key. The kill lands at a chosen step of the seed, not at a moment:
// PARLEY_TEST_SEED_HOLD_AT makes the seed stop there and say so (src/app.ts).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/client.js';
import { demoWithUnusedKey } from '../src/seed/demo.js';
import { createTestDatabase, REDIS_URL, usePostgres } from './support/databases.js';
import { DEMO_KEY_LINE, DEMO_VIEWER, expectCompleteDemo } from './support/demo.js';
import { gql } from './support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runCli, runParley, stopCleanly } from './support/process.js';
import { startTestServer } from './support/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function emptyDataDir() {
  const dir = mkdtempSync(join(tmpdir(), 'parley-first-start-'));
  dirs.push(dir);
  return dir;
}

const held = (step: string) => new RegExp(`seed held at step ${step} `);

/** A JSON log line with this message. */
const logLine = (msg: string) => new RegExp(`^\\{"level":30,[^\\n]*"msg":"${msg}"\\}$`, 'm');

/** Each pattern matches the output, each after the one before it. */
function expectInOrder(output: string, patterns: RegExp[]) {
  let from = 0;
  for (const pattern of patterns) {
    const m = pattern.exec(output.slice(from));
    expect(m, `${pattern} after offset ${from} in:\n${output}`).not.toBeNull();
    from += m!.index + m![0].length;
  }
}

/** The key block a start that created the demo prints, whole: from its first line to the example command's end. */
const KEY_BLOCK = /\n\nCreated the demo workspace\. Its API key[^]*?\n {4}-d '[^\n]*'\n\n/;

async function workspaces(env: { DATA_DIR?: string; DATABASE_URL?: string }): Promise<string[]> {
  const db = await openDatabase({ databaseUrl: env.DATABASE_URL, dataDir: env.DATA_DIR ?? 'unused' });
  try {
    return (await db.prisma.workspace.findMany({ select: { name: true } })).map((w) => w.name);
  } finally {
    await db.close();
  }
}

// PGlite only (its data directory): registered in `npm test`, not in the PostgreSQL suite.
if (!usePostgres) describe('a first start killed while it seeds the demo (PGlite)', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('leaves nothing; the next start seeds the whole demo and prints a working key', async () => {
    // A directory that does not exist yet: the first start says what it does while it works.
    const env = { DATA_DIR: join(emptyDataDir(), 'data'), PORT: '0' };
    const first = runParley({ ...env, PARLEY_TEST_SEED_HOLD_AT: 'conversation-3' });
    await first.waitFor(held('conversation-3'));
    // The log is written asynchronously: its line may follow the hold's message on stderr.
    await first.waitFor(logLine('seeding the demo workspace'));
    expect((await first.kill()).signal).toBe('SIGKILL');
    expectInOrder(first.output(), [
      logLine('creating the data directory'),
      logLine('migrating the database'),
      logLine('applied migrations'),
      logLine('seeding the demo workspace'),
    ]);

    const second = runParley(env);
    const url = await listening(second);
    const key = (await second.waitFor(DEMO_KEY_LINE))[1]!;
    await second.waitFor(KEY_BLOCK);
    // The progress lines, "Parley is listening" and right after it the key, as one block that
    // no log line splits (the requests below come after it).
    const out = second.output();
    expectInOrder(out, [
      logLine('opening the data directory'),
      logLine('seeding the demo workspace'),
      logLine('created the demo workspace'),
      new RegExp(`${logLine('Parley is listening').source.slice(0, -1)}${KEY_BLOCK.source}`, 'm'),
    ]);
    expect(out).not.toMatch(logLine('migrating the database'));
    const block = KEY_BLOCK.exec(out)![0];
    expect(block).toContain(`  ${key}\n`);
    expect(block).not.toContain('{"level"');
    // In the same block, right after: the first platform key, which lists (and creates) workspaces.
    const platform = out.slice(KEY_BLOCK.exec(out)!.index + block.length).match(/^And a platform key[^\n]*\n[^\n]*\n\n {2}(prlp_[A-Za-z0-9]+)\n\n/);
    expect(platform, out).not.toBeNull();
    const workspacesSeen = await gql(url, '{ workspaces { name } }', {}, { key: platform![1]! });
    expect(workspacesSeen.data).toEqual({ workspaces: [{ name: 'Acme Support (demo)' }] });
    await expectCompleteDemo(url, key);
    await stopCleanly(second);
    expect(await workspaces(env)).toEqual(['Acme Support (demo)']);
  });

  it('stopped by SIGTERM while it seeds: exits 0, leaves nothing (no demo, no lock)', async () => {
    // SIGTERM is handled from the first moment (src/shutdown.ts), not only once the server
    // listens: a stop that lands during the start ends it cleanly, never by the signal.
    // A migrated, empty database (the template): the seed is what runs, without the initdb and
    // migrations the test above covers.
    const env = { DATA_DIR: (await createTestDatabase({ dataDir: emptyDataDir(), postgres: false })).dataDir, PORT: '0' };
    const first = runParley({ ...env, PARLEY_TEST_SEED_HOLD_AT: 'conversation-3' });
    await first.waitFor(held('conversation-3'));
    await stopCleanly(first);
    expect(first.output()).toContain('stopped while starting');
    expect(readdirSync(env.DATA_DIR).filter((f) => f.startsWith('parley'))).toEqual([]);
    expect(await workspaces(env)).toEqual([]);
  });

  it('after the seed committed but before the key was printed: the next start says how to make a key, and that works', async () => {
    // Migrated and empty, as above.
    const env = { DATA_DIR: (await createTestDatabase({ dataDir: emptyDataDir(), postgres: false })).dataDir, PORT: '0' };
    const first = runParley({ ...env, PARLEY_TEST_SEED_HOLD_AT: 'committed' });
    await first.waitFor(held('committed'));
    await first.kill();
    expect(first.output()).not.toMatch(/prl_/);

    const second = runParley(env);
    await listening(second);
    const note = await second.waitFor(/The demo workspace's API key has not been used yet[^]*?\n\n {2}(DATA_DIR=\S+) npm run parley -- (key:create .*)\n/);
    expect(note[1]).toBe(`DATA_DIR=${env.DATA_DIR}`);
    expect(second.output()).toContain('while Parley runs, the command goes through it');

    // The command, as printed, while the server runs (through its control channel).
    const args = note[2]!.match(/"[^"]*"|\S+/g)!.map((a) => a.replace(/^"(.*)"$/, '$1'));
    const created = await runCli(args, { DATA_DIR: env.DATA_DIR });
    expect(created.code, created.out).toBe(0);
    const key = created.out.match(/(prl_[A-Za-z0-9]+)/)![1]!;
    await stopCleanly(second);

    const server = await startTestServer({ database: { url: undefined, dataDir: env.DATA_DIR, drop: async () => {} } });
    try {
      await expectCompleteDemo(server.url, key);
      // Once a key of the demo is used, the note stops.
      expect(await demoWithUnusedKey(server.db.prisma)).toBeNull();
    } finally {
      await server.close();
    }
  });
});

// PostgreSQL: the cluster's primary seeds (src/cluster.ts), and two processes may start on one
// empty database at once. Registered only in the PostgreSQL suite (npm run test:pg).
describe('a data directory left without a key by an older version', () => {
  it('is found, so that the start says how to make a key for its admin', async () => {
    const server = await startTestServer();
    try {
      const ws = await server.db.prisma.workspace.create({ data: { name: 'Acme Support (demo)' } });
      await server.db.prisma.user.create({ data: { workspaceId: ws.id, name: 'Ada Lovelace', email: 'ada@example.com', role: 'AGENT' } });
      const admin = await server.db.prisma.user.create({ data: { workspaceId: ws.id, name: 'Grace Hopper', email: 'grace@example.com', role: 'ADMIN' } });
      expect(await demoWithUnusedKey(server.db.prisma)).toEqual({ workspaceId: ws.id, userId: admin.id });
    } finally {
      await server.close();
    }
  });
});

if (usePostgres) describe('first starts on PostgreSQL', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('a cluster primary killed while seeding leaves nothing; the next start seeds the whole demo', async () => {
    const database = await createTestDatabase({ postgres: true, empty: true });
    try {
      const env = { DATABASE_URL: database.url!, REDIS_URL, WORKERS: '2', PORT: '0', SHUTDOWN_TIMEOUT_MS: '5000' };
      const first = runParley({ ...env, PARLEY_TEST_SEED_HOLD_AT: 'conversation-5' });
      await first.waitFor(held('conversation-5'));
      await first.kill();
      // PostgreSQL rolls the open transaction back when its connection drops.
      const second = runParley(env);
      const url = await listening(second);
      const key = (await second.waitFor(DEMO_KEY_LINE))[1]!;
      await expectCompleteDemo(url, key);
      await stopCleanly(second);
      expect(await workspaces(env)).toEqual(['Acme Support (demo)']);
    } finally {
      await database.drop();
    }
  });

  it('two processes starting at once on an empty database seed one demo, and one of them prints its key', async () => {
    const database = await createTestDatabase({ postgres: true, empty: true });
    try {
      const env = { DATABASE_URL: database.url!, PORT: '0', SHUTDOWN_TIMEOUT_MS: '5000' };
      const both = [runParley(env), runParley(env)];
      const urls = await Promise.all(both.map((p) => listening(p)));
      const key = (await Promise.any(both.map((p) => p.waitFor(DEMO_KEY_LINE))))[1]!;
      await expectCompleteDemo(urls[0]!, key);
      expect((await gql(urls[1]!, DEMO_VIEWER, {}, { key })).data?.viewer.workspace.name).toBe('Acme Support (demo)');
      await Promise.all(both.map((p) => stopCleanly(p)));
      // Their whole output is in now: one key between them (printed by one, twice: alone and in
      // the example command). The JSON log lines name keys by their visible prefix: not printed keys.
      const printed = (p: (typeof both)[number]) => p.output().split('\n').filter((l) => !l.startsWith('{')).join('\n');
      const printedBy = both.filter((p) => printed(p).includes('prl_'));
      expect(printedBy).toHaveLength(1);
      expect(new Set(printed(printedBy[0]!).match(/prl_[A-Za-z0-9]+/g))).toEqual(new Set([key]));
      expect(await workspaces(env)).toEqual(['Acme Support (demo)']);
    } finally {
      await database.drop();
    }
  });
});
