import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ViewerDocument } from './generated/graphql.js';
import { client, gql, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
const VIEWER = '{ viewer { kind scopes workspace { name } user { email } } }';

beforeAll(async () => {
  server = await startTestServer();
  ws = await seedWorkspace(server.db.prisma, 'Auth workspace');
});
afterAll(() => server?.close());

describe('authentication', () => {
  it('accepts a key in X-API-Key and answers for its workspace and user', async () => {
    const data = await client(server.url, ws.key).ok(ViewerDocument);
    expect(data.viewer).toEqual({
      kind: 'TEAM',
      scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS', 'WRITE_CONTACTS', 'ADMIN'],
      apiKeyId: globalId('ApiKey', ws.keyId),
      workspace: { id: globalId('Workspace', ws.workspaceId), name: 'Auth workspace' },
      user: { id: globalId('User', ws.admin.id), name: 'Ada Admin', email: 'ada@example.test', role: 'ADMIN' },
    });
  });

  it('accepts Authorization: Bearer', async () => {
    const res = await gql(server.url, VIEWER, {}, { headers: { authorization: `Bearer ${ws.key}` } });
    expect(res.errors).toBeUndefined();
    expect(res.data.viewer.workspace.name).toBe('Auth workspace');
  });

  it('answers a request without a key with UNAUTHENTICATED and no data', async () => {
    const res = await gql(server.url, VIEWER);
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.data?.viewer ?? null).toBeNull();
  });

  it('refuses an unknown key', async () => {
    const res = await gql(server.url, VIEWER, {}, { key: 'prl_not-a-real-key' });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]).toMatchObject({ message: 'The API key is not valid.', extensions: { code: 'UNAUTHENTICATED' } });
    expect(res.data).toBeUndefined();
  });

  it('refuses a revoked key', async () => {
    const k = await ws.makeKey();
    await server.db.prisma.apiKey.update({ where: { id: k.id }, data: { revokedAt: new Date(Date.now() - 1000) } });
    const res = await gql(server.url, VIEWER, {}, { key: k.secret });
    expect(res.errors?.[0]).toMatchObject({ message: 'The API key has been revoked.', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('remembers a key for AUTH_CACHE_MS at most: one revoked in the database stops within it', async () => {
    const k = await ws.makeKey();
    expect((await gql(server.url, VIEWER, {}, { key: k.secret })).data?.viewer.kind).toBe('TEAM');
    await server.db.prisma.apiKey.update({ where: { id: k.id }, data: { revokedAt: new Date() } });
    await new Promise((r) => setTimeout(r, 2_100)); // the default AUTH_CACHE_MS is 2 s
    const res = await gql(server.url, VIEWER, {}, { key: k.secret });
    expect(res.errors?.[0]).toMatchObject({ message: 'The API key has been revoked.', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses a remembered key as soon as it expires', async () => {
    const expiresAt = Date.now() + 1_500;
    const k = await ws.makeKey({ expiresAt: new Date(expiresAt) });
    expect((await gql(server.url, VIEWER, {}, { key: k.secret })).data?.viewer.kind).toBe('TEAM');
    // Still inside AUTH_CACHE_MS (2 s) of that first use, but past the key's expiry.
    await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 100));
    const res = await gql(server.url, VIEWER, {}, { key: k.secret });
    expect(res.errors?.[0]).toMatchObject({ message: 'The API key has expired.', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses an expired key', async () => {
    const k = await ws.makeKey({ expiresAt: new Date(Date.now() - 1000) });
    const res = await gql(server.url, VIEWER, {}, { key: k.secret });
    expect(res.errors?.[0]).toMatchObject({ message: 'The API key has expired.', extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('refuses a malformed Authorization header', async () => {
    const res = await gql(server.url, VIEWER, {}, { headers: { authorization: `Basic ${ws.key}` } });
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('ignores a key in the query string or a cookie', async () => {
    const attempts: { url: string; headers: Record<string, string> }[] = [
      { url: `${server.url}/graphql?apiKey=${ws.key}&api_key=${ws.key}`, headers: {} },
      { url: `${server.url}/graphql`, headers: { cookie: `apiKey=${ws.key}; api_key=${ws.key}` } },
    ];
    for (const init of attempts) {
      const res = await fetch(init.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: JSON.stringify({ query: VIEWER }),
      });
      const body = await res.json();
      expect(body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      expect(body.data?.viewer ?? null).toBeNull();
    }
  });

  it('stores only a hash of the secret, and records when a key was used', async () => {
    const row = await server.db.prisma.apiKey.findUniqueOrThrow({ where: { id: ws.keyId } });
    expect(row.secretHash).not.toContain(ws.key);
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(ws.key.startsWith(row.prefix)).toBe(true);
    expect(row.lastUsedAt).toBeInstanceOf(Date);
  });

  it('lets introspection through without a key (GraphiQL loads the schema before a key is typed)', async () => {
    const res = await gql(server.url, '{ __schema { queryType { name } } }');
    expect(res.errors).toBeUndefined();
    expect(res.data.__schema.queryType.name).toBe('Query');
  });
});
