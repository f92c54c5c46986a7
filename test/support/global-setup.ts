// With PARLEY_TEST_DB=postgres the suite needs PostgreSQL (and Redis): start them when
// they are down, and fail, never skip, when they cannot be reached.
import { execFileSync, execSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
 * The same image, unpacked, is also kept as a data directory on disk, which tests that need one
 * on disk copy (createTestDatabase({ dataDir })) instead of running initdb and the migrations again.
 */
async function migratedImage(): Promise<() => void> {
  const { migrate, openDatabase } = await import('../../src/db/client.js');
  const file = join(tmpdir(), `parley-test-image-${process.pid}.tar`);
  const memory = await openDatabase({ dataDir: 'memory://' });
  try {
    await migrate(memory);
    // PGlite zeroes PostgreSQL's shared buffers each time it opens a database: for the default
    // 128 MB, about half a CPU-second of every in-process test server and every child process
    // (server or operator command) started on a copy of this image. A test database holds a
    // few MB; 16 MB of buffers is plenty. It only reaches the test databases made from this
    // image (postgresql.auto.conf, in it): a first start on an empty directory, in the tests as
    // anywhere, keeps PostgreSQL's default.
    await memory.prisma.$executeRawUnsafe(`ALTER SYSTEM SET shared_buffers = '16MB'`);
    writeFileSync(file, Buffer.from(await (await memory.image!()).arrayBuffer()));
  } finally {
    await memory.close();
  }
  // The image is a tar of the data directory: unpacked, it is the same database on disk (no
  // second initdb and migration run, about 10 s of CPU).
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-template-'));
  execFileSync('tar', ['-xf', file, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  process.env.PARLEY_TEST_PGLITE_IMAGE = file;
  process.env.PARLEY_TEST_PGLITE_TEMPLATE_DIR = dir;
  return () => {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * The PostgreSQL suite's databases are made from one migrated template database
 * (`CREATE DATABASE ... TEMPLATE`, a file copy inside PostgreSQL) instead of each server
 * applying every migration through the schema engine.
 */
async function migratedTemplate(): Promise<() => Promise<void>> {
  const { ADMIN_URL } = await import('./databases.js');
  const { migrate, openDatabase } = await import('../../src/db/client.js');
  const pg = (await import('pg')).default;
  const name = `parley_test_template_${process.pid}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`DROP DATABASE IF EXISTS "${name}"`);
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ databaseUrl: url.toString(), dataDir: 'unused' });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
  process.env.PARLEY_TEST_PG_TEMPLATE = name;
  return () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
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
  return migratedTemplate();
}
