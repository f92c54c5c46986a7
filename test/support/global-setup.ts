// With PARLEY_TEST_DB=postgres the suite needs PostgreSQL (and Redis): start them when
// they are down, and fail, never skip, when they cannot be reached.
import { execSync } from 'node:child_process';
import { Socket } from 'node:net';

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

export default async function setup() {
  if (process.env.PARLEY_TEST_DB !== 'postgres') return;
  await ensure('PostgreSQL', 5432, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
  await ensure(
    'Redis',
    6379,
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
  );
}
