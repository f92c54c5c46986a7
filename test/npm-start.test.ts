// `npm start` under a supervisor: a process manager or a container runtime signals the process
// it started, npm. The server must stop as it does when signalled itself (in-flight work done,
// the data directory released, the port closed), whichever process gets the signal, and even
// when npm is killed outright. `npm start` runs the compiled JavaScript in dist/, built first.
//
// It runs in a copy of the project (node_modules linked), as a newcomer's checkout after
// `npm install`: its `npm start` regenerates the Prisma client and builds dist/ there, not under
// the feet of the other test files, which import src/ of this tree while it runs.
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/databases.js';
import { DEMO_KEY_LINE, DEMO_VIEWER } from './support/demo.js';
import { gql } from './support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runCommand, until, type ChildRun } from './support/process.js';

const repo = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'parley-npm-'));
const project = join(work, 'parley');
const dataDir = join(work, 'data');

beforeAll(async () => {
  // The data directory starts migrated and empty (the global setup's template): the first
  // `npm start` still seeds the demo and prints its key, without the initdb and migrations that
  // test/first-start.test.ts covers (about 8 s of CPU).
  await createTestDatabase({ dataDir, postgres: false });
  for (const entry of ['package.json', 'package-lock.json', 'tsconfig.json', 'prisma.config.ts', 'prisma', 'scripts', 'src']) {
    cpSync(join(repo, entry), join(project, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(project, 'node_modules'), 'dir');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function npmStart(): ChildRun {
  return runCommand('npm', ['start'], { DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info', npm_config_update_notifier: 'false' }, project);
}

/** The server's pid, as its data-directory lock records it. */
function serverPid(): number {
  const file = readdirSync(dataDir).find((f) => /^parley\.\d+\.pid$/.test(f));
  if (!file) throw new Error(`no pid file in ${dataDir}: ${readdirSync(dataDir).join(', ')}`);
  return Number(readFileSync(join(dataDir, file), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The server is gone the clean way: its process, its port and its hold on the data directory. */
async function expectStoppedCleanly(npm: ChildRun, pid: number, url: string) {
  await npm.exited;
  await until(() => !alive(pid), `server process ${pid} to exit`, 30_000);
  expect(await portOpen(url)).toBe(false);
  expect(readdirSync(dataDir).filter((f) => f.startsWith('parley'))).toEqual([]);
  expect(npm.output()).toMatch(/"msg":"shutting down"/);
}

describe('npm start under a supervisor', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let key: string;

  it('builds dist/, serves from it, and stops gracefully when npm gets SIGTERM', async () => {
    const npm = npmStart();
    const url = await listening(npm);
    key = (await npm.waitFor(DEMO_KEY_LINE))[1]!;
    expect(existsSync(join(project, 'dist', 'main.js'))).toBe(true);
    const pid = serverPid();
    expect(pid).not.toBe(npm.pid);
    // The compiled server, with no TypeScript loader: npm runs node on dist/main.js itself.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('dist/main.js');
    expect(cmdline.join(' ')).not.toMatch(/tsx/);
    const res = await gql(url, DEMO_VIEWER, {}, { key });
    expect(res.data?.viewer.workspace.name).toBe('Acme Support (demo)');

    npm.signal('SIGTERM');
    await expectStoppedCleanly(npm, pid, url);
    expect(npm.output()).toMatch(/"signal":"SIGTERM"[^\n]*"msg":"shutting down"/);
    expect((await npm.exited).code).toBe(0);
  });

  it('does not build again when nothing changed, and stops on SIGINT to npm', async () => {
    const stamp = readFileSync(join(project, 'dist', '.build-hash'), 'utf8');
    const npm = npmStart();
    const url = await listening(npm);
    expect(npm.output()).not.toMatch(/built dist\//);
    expect(readFileSync(join(project, 'dist', '.build-hash'), 'utf8')).toBe(stamp);
    const pid = serverPid();
    npm.signal('SIGINT');
    await expectStoppedCleanly(npm, pid, url);
    expect(npm.output()).toMatch(/"signal":"SIGINT"[^\n]*"msg":"shutting down"/);
  });

  it('stops gracefully when the server process itself is signalled, and npm exits with it', async () => {
    const npm = npmStart();
    const url = await listening(npm);
    const pid = serverPid();
    process.kill(pid, 'SIGTERM');
    await expectStoppedCleanly(npm, pid, url);
    expect((await npm.exited).code).toBe(0);
  });

  it('stops gracefully when npm is killed outright (SIGKILL): the server notices its parent is gone', async () => {
    const npm = npmStart();
    const url = await listening(npm);
    const pid = serverPid();
    process.kill(npm.pid, 'SIGKILL');
    // The test's pipe stays open until the server, which shares it, has exited too.
    await expectStoppedCleanly(npm, pid, url);
    expect(npm.output()).toMatch(/"reason":"parent exited"[^\n]*"msg":"shutting down"/);
  });
});
