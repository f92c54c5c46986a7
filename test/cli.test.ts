// The operator command: workspaces, users and keys without the demo, and key revocation; on
// PGlite with a server running, through the server's control channel (it runs the command).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestChannel } from '../src/control/channel.js';
import { OPERATOR_REQUEST, type CommandResult, type Options } from '../src/control/operator.js';
import { lockDataDir, ownerSocketPath } from '../src/db/data-dir-lock.js';
import { createTestDatabase } from './support/databases.js';
import { client, gql } from './support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runCli, runParley, stopCleanly } from './support/process.js';
import { startTestServer } from './support/server.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
const emptyDir = mkdtempSync(join(tmpdir(), 'parley-cli-empty-'));
afterAll(() => {
  for (const d of [dataDir, emptyDir]) rmSync(d, { recursive: true, force: true });
});
// The commands run on a migrated, empty database (the global setup's template, whose smaller
// shared buffers each of the many processes opening it zeroes faster); `migrate` itself runs on
// an empty directory of its own.
beforeAll(() => createTestDatabase({ dataDir, postgres: false }));

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
  it('migrates an empty data directory; creates a workspace, a user and a scoped key that works, then revokes it', async () => {
    expect((await runCli(['migrate'], { DATA_DIR: emptyDir })).out).toMatch(/applied: .*_init/);
    expect((await runCli(['migrate'], { DATA_DIR: emptyDir })).out).toContain('nothing to apply');
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

  it('with the server running, runs the commands through its control channel, or workspace:create through its API with a platform key, never opening the data directory', async () => {
    // The first platform key: made by the command while no server runs.
    const made = await parley('platform-key:create', '--name', 'provisioning');
    expect(made.code).toBe(0);
    const platformKey = made.out.match(/(prlp_[A-Za-z0-9]+)/)![1]!;

    const server = runParley({ DATA_DIR: dataDir, PORT: '0', SEED_DEMO: 'false' });
    const url = await listening(server);
    // Without a platform key, through the data directory's channel: the server runs the commands on its own database.
    const local = await parley('workspace:create', '--name', 'Hooli');
    expect(local.code, local.out).toBe(0);
    const hooli = local.out.match(/workspace (\S+) "Hooli"/)![1]!;
    const gavin = (await parley('user:create', '--workspace', hooli, '--name', 'Gavin', '--email', 'gavin@hooli.test')).out.match(/user (\S+)/)![1]!;
    const madeKey = await parley('key:create', '--workspace', hooli, '--name', 'console', '--scopes', 'read:conversations', '--user', gavin);
    expect(madeKey.code, madeKey.out).toBe(0);
    const hooliKey = madeKey.out.match(/(prl_[A-Za-z0-9]+)/)![1]!;
    expect(await client(url, hooliKey).ok('{ viewer { workspace { name } user { email } } }')).toEqual({
      viewer: { workspace: { name: 'Hooli' }, user: { email: 'gavin@hooli.test' } },
    });
    expect((await parley('key:list', '--workspace', hooli)).out).toMatch(/active {2}console/);
    expect((await parley('key:revoke', '--key', hooliKey.slice(0, 12))).out).toMatch(/key \S+ revoked/);
    expect((await client(url, hooliKey).request('{ viewer { kind } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A usage error found by the server is reported as it would be without one.
    const unknownKey = await parley('key:revoke', '--key', 'prl_nosuchkey');
    expect(unknownKey.code).toBe(2);
    expect(unknownKey.out).toContain('no key "prl_nosuchkey"');

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

  it('a server runs commands sent through its channel; key:revoke ends the key\'s live streams and its cached authentication at once', async () => {
    // In this process: the stream is ended by the revocation, not by the periodic key check.
    const server = await startTestServer({ database: { url: undefined, dataDir, drop: async () => {} }, start: { liveLimits: { keyCheckMs: 600_000 } } });
    try {
      const path = ownerSocketPath(dataDir)!;
      const operator = (command: string, options: Options = {}) => requestChannel(path, OPERATOR_REQUEST, { command, options }, 30_000) as Promise<CommandResult>;
      expect(await operator('migrate')).toEqual({ code: 0, stdout: expect.stringContaining('the running server applied the migrations'), stderr: '' });
      const workspace = (await operator('workspace:create', { name: 'Umbrella' })).stdout.match(/workspace (\S+)/)![1]!;
      const made = await operator('key:create', { workspace, name: 'live', scopes: 'read:conversations' });
      const keyId = made.stdout.match(/key (\S+) created/)![1]!;
      const secret = made.stdout.match(/(prl_[A-Za-z0-9]+)/)![1]!;
      // Authenticated now, so remembered by the auth cache (AUTH_CACHE_MS) for the next request.
      expect((await client(server.url, secret).ok('{ viewer { kind } }')).viewer.kind).toBe('TEAM');
      const stream = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': secret },
        body: JSON.stringify({ query: 'subscription { conversationEvents { cursor } }' }),
      });
      expect(stream.status).toBe(200);
      const body = stream.text();

      const revokedAt = Date.now();
      expect(await operator('key:revoke', { key: keyId })).toEqual({ code: 0, stdout: `key ${keyId} revoked\n`, stderr: '' });
      expect((await client(server.url, secret).request('{ viewer { kind } }')).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(await body).toMatch(/The API key has been revoked/);
      expect(Date.now() - revokedAt).toBeLessThan(5_000);

      // What the server cannot do is answered, never thrown.
      expect(await operator('frobnicate')).toMatchObject({ code: 2, stdout: '', stderr: expect.stringContaining('unknown command "frobnicate"') });
      expect(await operator('key:list', { workspace: 'not-a-uuid' })).toMatchObject({ code: 1, stderr: expect.stringMatching(/^parley: /) });
      await expect(requestChannel(path, OPERATOR_REQUEST, { command: 'key:list', options: { workspace: workspace, sudo: 'yes' } }, 30_000)).rejects.toThrow(
        'unknown option "sudo"',
      );
      await expect(requestChannel(path, OPERATOR_REQUEST, ['key:list'], 30_000)).rejects.toThrow(/an operator request is a JSON object/);
    } finally {
      await server.close();
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
