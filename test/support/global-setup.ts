// With PARLEY_TEST_DB=postgres the suite needs PostgreSQL (and Redis): start them when
// they are down, and fail, never skip, when they cannot be reached.
import { execFileSync, execSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.connect(port, '127.0.0.1');
  });
}

async function ensure(name: string, port: number, start: string) {
  if (await reachable(port)) return;
  try {
    execSync(start, { stdio: 'inherit', shell: '/bin/bash' });
  } catch {
    // reported below
  }
  for (let i = 0; i < 20 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 500));
  if (!(await reachable(port))) throw new Error(`${name} is not reachable on 127.0.0.1:${port} and could not be started`);
}

/**
 * The PGlite suite's servers start from one migrated data directory image, made here once
 * (test/support/server.ts loads it): initdb and the migrations cost each in-memory server a few
 * seconds of CPU, which, over every test file, was about a minute of the suite on two cores.
 */
async function migratedImage(): Promise<() => void> {
  const { migrate, openDatabase } = await import('../../src/db/client.js');
  const db = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrate(db);
    const file = join(tmpdir(), `parley-test-image-${process.pid}.tar`);
    writeFileSync(file, Buffer.from(await (await db.image!()).arrayBuffer()));
    process.env.PARLEY_TEST_PGLITE_IMAGE = file;
    return () => rmSync(file, { force: true });
  } finally {
    await db.close();
  }
}

export default async function setup() {
  // Child processes run the compiled server and operator command (test/support/process.ts), as
  // `npm start` does: built here once, or not at all when dist/ is up to date with src/.
  execFileSync(process.execPath, [join(import.meta.dirname, '../../scripts/build.mjs')], { stdio: 'inherit' });
  if (process.env.PARLEY_TEST_DB !== 'postgres') return migratedImage();
  await ensure('PostgreSQL', 5432, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
  await ensure(
    'Redis',
    6379,
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  );
}
