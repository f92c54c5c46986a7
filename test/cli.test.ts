// The operator command: workspaces, users and keys without the demo, and key revocation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../src/db/data-dir-lock.js';
import { client, gql } from './support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runCli, runParley, stopCleanly } from './support/process.js';
import { startTestServer } from './support/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const parley = (...args: string[]) => runCli(args, { DATA_DIR: dataDir });

async function viewer(key: string) {
  const server = await startTestServer({ database: { url: undefined, dataDir, drop: async () => {} } });
  try {
    return await client(server.url, key).request('{ viewer { kind scopes workspace { name } user { email } } }');
  } finally {
    await server.close();
  }
}

describe('npm run parley', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('creates a workspace, a user and a scoped key that works, then revokes it', async () => {
    expect((await parley('migrate')).out).toMatch(/applied: .*_init/);
    expect((await parley('migrate')).out).toContain('nothing to apply');
    const ws = (await parley('workspace:create', '--name', 'Globex')).out.match(/workspace (\S+)/)![1]!;
    const user = (await parley('user:create', '--workspace', ws, '--name', 'Hank', '--email', 'Hank@Globex.test', '--role', 'ADMIN')).out.match(
      /user (\S+)/,
    )![1]!;
    const created = await parley('key:create', '--workspace', ws, '--name', 'widget', '--kind', 'CONNECTOR', '--scopes', 'read:conversations,write:conversations', '--user', user);
    expect(created.code).toBe(0);
    const secret = created.out.match(/(prl_[A-Za-z0-9]+)/)![1]!;

    const res = await viewer(secret);
    expect(res.data.viewer).toEqual({
      kind: 'CONNECTOR',
      scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'],
      workspace: { name: 'Globex' },
      user: { email: 'hank@globex.test' },
    });

    const listed = (await parley('key:list', '--workspace', ws)).out;
    expect(listed).toContain('CONNECTOR');
    expect(listed).not.toContain(secret);
    expect((await parley('key:revoke', '--key', secret.slice(0, 12))).out).toMatch(/revoked/);
    expect((await viewer(secret)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('with the server running, creates a workspace through its API with a platform key, never opening the data directory', async () => {
    // The first platform key: made by the command while no server runs.
    const made = await parley('platform-key:create', '--name', 'provisioning');
    expect(made.code).toBe(0);
    const platformKey = made.out.match(/(prlp_[A-Za-z0-9]+)/)![1]!;

    const server = runParley({ DATA_DIR: dataDir, PORT: '0', SEED_DEMO: 'false' });
    const url = await listening(server);
    // Without a platform key the command would need the data directory, which the server owns.
    const refused = await parley('workspace:create', '--name', 'Initech');
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/in use by another Parley process/);
    expect(refused.out).toContain('PARLEY_PLATFORM_KEY');

    const api = (...args: string[]) => runCli(args, { DATA_DIR: dataDir, PARLEY_URL: url, PARLEY_PLATFORM_KEY: platformKey });
    const created = await api('workspace:create', '--name', 'Initech', '--admin-name', 'Bill Lumbergh', '--admin-email', 'bill@initech.test');
    expect(created.code, created.out).toBe(0);
    const workspaceId = created.out.match(/workspace (\S+) "Initech"/)![1]!;
    const secret = created.out.match(/(prl_[A-Za-z0-9]+)/)![1]!;
    const viewer = await client(url, secret).ok('{ viewer { workspace { id name } user { email role } } }');
    expect(viewer.viewer).toEqual({ workspace: { id: Buffer.from(`Workspace:${workspaceId}`).toString('base64'), name: 'Initech' }, user: { email: 'bill@initech.test', role: 'ADMIN' } });
    expect((await gql(url, '{ workspaces { name } }', {}, { key: platformKey })).data.workspaces.map((w: { name: string }) => w.name)).toContain('Initech');

    // The API's typed errors and the command's own checks.
    const invalid = await api('workspace:create', '--name', 'Initrode', '--admin-name', 'Bob', '--admin-email', 'bob');
    expect(invalid.code).toBe(2);
    expect(invalid.out).toContain('not a valid email address');
    const noAdmin = await api('workspace:create', '--name', 'Initrode');
    expect(noAdmin.code).toBe(2);
    expect(noAdmin.out).toContain('--admin-name and --admin-email');
    const workspaceKey = await runCli(['workspace:create', '--name', 'Initrode', '--admin-name', 'Bob', '--admin-email', 'bob@initrode.test'], {
      DATA_DIR: dataDir,
      PARLEY_URL: url,
      PARLEY_PLATFORM_KEY: secret,
    });
    expect(workspaceKey.code).toBe(2);
    expect(workspaceKey.out).toContain('must be a platform key');
    await stopCleanly(server);

    // Listed by its visible prefix, never its secret; revoked, it stops working (platform keys are not cached).
    const listed = (await parley('platform-key:list')).out;
    expect(listed).toMatch(/active {2}provisioning/);
    expect(listed).not.toContain(platformKey);
    expect((await parley('platform-key:revoke', '--key', platformKey.slice(0, 13))).out).toMatch(/platform key \S+ revoked/);
    const after = await startTestServer({ database: { url: undefined, dataDir, drop: async () => {} } });
    try {
      expect((await gql(after.url, '{ workspaces { name } }', {}, { key: platformKey })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    } finally {
      await after.close();
    }
  });

  it('explains bad usage and exits 2, without needing the database', async () => {
    // A server holds the data directory: usage is checked before the database is opened.
    const lock = await lockDataDir(dataDir);
    try {
      const unknown = await parley('key:create', '--workspace', '00000000-0000-0000-0000-000000000000', '--name', 'x', '--scopes', 'read:everything');
      expect(unknown.code).toBe(2);
      expect(unknown.out).toContain('unknown scope "read:everything"');
      const missing = await parley('user:create');
      expect(missing.code).toBe(2);
      expect(missing.out).toContain('--workspace is required');
      expect((await parley('frobnicate')).out).toContain('unknown command "frobnicate"');
      // An expiry that is not a real day is refused, not rolled over to March.
      const impossible = await parley('key:create', '--workspace', '00000000-0000-0000-0000-000000000000', '--name', 'x', '--expires', '2027-02-30T09:00:00Z');
      expect(impossible.code).toBe(2);
      expect(impossible.out).toContain('--expires: "2027-02-30T09:00:00Z" is not a valid date: February 2027 has 28 days.');
    } finally {
      await lock.release();
    }
  });
});
