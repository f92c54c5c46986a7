// One process per PGlite data directory, decided by whether the owner's socket accepts a
// connection (src/db/data-dir-lock.ts), never by a PID: PIDs are reused, after a container
// restart above all. A stale lock does not refuse a start, a live owner refuses a second one
// at once, and of several processes taking over at once exactly one wins.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CHANNEL_MODE, MAX_REQUEST_BYTES, probeChannel, requestChannel } from '../src/control/channel.js';
import { CHANNEL_FILE, DataDirError, DataDirInUseError, lockDataDir, type DataDirLock } from '../src/db/data-dir-lock.js';
import { createTestDatabase } from './support/databases.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley, runScript, stopCleanly } from './support/process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function emptyDir(prefix = 'parley-lock-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

const lockFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('parley')).sort();

/** Leaves the state a crashed owner leaves: a generation socket nothing listens on. */
async function crashedOwner(dir: string) {
  const holder = runScript('test/support/lock-holder.mjs', [dir], {});
  await holder.waitFor(/locked \d+/);
  await holder.kill();
}

describe('the data directory lock', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('is not refused by a stale lock naming a live PID; refuses a second live Parley at once; passes to the next start when its owner is killed', async () => {
    const dir = await createTestDatabase({ postgres: false, dataDir: emptyDir() }).then((d) => d.dataDir);
    await crashedOwner(dir);
    // A lock file naming a PID that is alive but not Parley's (here, the test runner's own),
    // as after a container restart: it decides nothing.
    writeFileSync(join(dir, 'parley.lock'), String(process.pid));
    const env = { DATA_DIR: dir, PORT: '0', SEED_DEMO: 'false' };

    const owner = runParley(env);
    await listening(owner);
    const probe = await probeChannel(join(dir, CHANNEL_FILE));
    expect(probe).toMatchObject({ alive: true, answer: { pid: owner.pid, version: expect.any(String) } });

    const second = runParley(env);
    expect((await second.exited).code).toBe(2);
    expect(second.output()).toMatch(new RegExp(`data directory .* is in use by another Parley process \\(pid ${owner.pid}\\)`));

    await owner.kill();
    const next = runParley(env);
    await listening(next);
    await stopCleanly(next);
    // A clean stop leaves nothing of the lock behind (the old-style file was never ours).
    expect(lockFiles(dir)).toEqual(['parley.lock']);
  });

  it('two Parley processes starting at once on a directory with a stale lock: exactly one runs', async () => {
    const dir = await createTestDatabase({ postgres: false, dataDir: emptyDir() }).then((d) => d.dataDir);
    await crashedOwner(dir);
    const env = { DATA_DIR: dir, PORT: '0', SEED_DEMO: 'false' };
    const both = [runParley(env), runParley(env)];
    // One of them is refused; then the other one must be running.
    const refused = await Promise.any(both.map((p) => p.exited.then((e) => (e.code === 2 ? p : Promise.reject(new Error(`exit ${e.code}`))))));
    const winner = both.find((p) => p !== refused)!;
    await listening(winner);
    expect(refused.output()).toMatch(new RegExp(`is in use by another Parley process \\(pid ${winner.pid}\\)`));
    await stopCleanly(winner);
  });

  it('of many takers at once, over many take-overs from owners that died, exactly one wins each time', async () => {
    const dir = emptyDir();
    let owner: DataDirLock | undefined;
    for (let round = 0; round < 20; round++) {
      const takers = await Promise.allSettled(Array.from({ length: 6 }, () => lockDataDir(dir)));
      const won = takers.filter((t): t is PromiseFulfilledResult<DataDirLock> => t.status === 'fulfilled').map((t) => t.value);
      const lost = takers.filter((t): t is PromiseRejectedResult => t.status === 'rejected').map((t) => t.reason);
      expect(won).toHaveLength(1);
      for (const e of lost) expect(e).toBeInstanceOf(DataDirInUseError);
      owner = won[0]!;
      // The owner dies: its socket stops listening, its files stay.
      if (round < 19) await owner.channel.close();
    }
    // The last owner removed what its predecessors left; a clean release removes the rest.
    expect(lockFiles(dir)).toEqual(['parley.20.pid', 'parley.20.sock', 'parley.sock']);
    await owner!.release();
    expect(lockFiles(dir)).toEqual([]);
    const again = await lockDataDir(dir);
    await again.release();
  });

  it('works where the absolute socket path is too long, through a relative one, and says so clearly where both are', async () => {
    const base = emptyDir('pl-');
    const deep = join(base, 'd'.repeat(64));
    mkdirSync(deep);
    const cwd = process.cwd();
    // Too long either way from here.
    const refused = await lockDataDir(deep).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DataDirError);
    expect(String((refused as Error).message)).toMatch(/data directory path .* is too long for its lock socket/);
    process.chdir(base);
    try {
      expect(relative(process.cwd(), deep).length).toBeLessThan(70);
      const lock = await lockDataDir(deep);
      await expect(lockDataDir(deep)).rejects.toBeInstanceOf(DataDirInUseError);
      await lock.release();
      expect(lockFiles(deep)).toEqual([]);
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('the control channel', () => {
  it('is open to the owner only (0600, in a new data directory of mode 0700)', async () => {
    const dir = join(emptyDir(), 'data');
    const lock = await lockDataDir(dir);
    try {
      const socket = statSync(join(dir, CHANNEL_FILE));
      expect(socket.isSocket()).toBe(true);
      expect(socket.mode & 0o777).toBe(CHANNEL_MODE);
      expect(CHANNEL_MODE & 0o077).toBe(0);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      await lock.release();
    }
  });

  it('takes a JSON argument; answers unknown commands, malformed JSON, lines too long and failing handlers with an error, and goes on', async () => {
    const dir = emptyDir();
    const lock = await lockDataDir(dir);
    const path = join(dir, CHANNEL_FILE);
    const answerTo = async (line: string) => {
      const probe = await probeChannel(path, line);
      return probe.alive ? probe.answer : 'not listening';
    };
    try {
      lock.channel.handle('echo', (payload) => ({ got: payload }));
      lock.channel.handle('boom', () => {
        throw new Error('it broke');
      });
      expect(await requestChannel(path, 'echo', { a: [1, 'é'] }, 5_000)).toEqual({ got: { a: [1, 'é'] } });
      const big = 'x'.repeat(MAX_REQUEST_BYTES - 100);
      expect(await requestChannel(path, 'echo', big, 5_000)).toEqual({ got: big });
      await expect(requestChannel(path, 'nope', undefined, 5_000)).rejects.toThrow('unknown command "nope"');
      await expect(requestChannel(path, 'boom', undefined, 5_000)).rejects.toThrow(/^it broke$/);
      expect(await answerTo('echo {"a":')).toEqual({ error: expect.stringMatching(/^malformed JSON after "echo": /) });
      expect(await answerTo(`echo "${'x'.repeat(MAX_REQUEST_BYTES)}"`)).toEqual({
        error: `the request line is longer than ${MAX_REQUEST_BYTES} bytes`,
      });
      // Still answering.
      expect(await answerTo('who')).toMatchObject({ pid: process.pid });
    } finally {
      await lock.release();
    }
  });
});
