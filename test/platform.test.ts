// Tenants on a running server (issue 13): a platform key creates and lists workspaces over the
// API, each new workspace with its first ADMIN and a working key for that admin. A platform key
// sees nothing inside a workspace; a workspace key never manages workspaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformKey } from '../src/services/platform.js';
import { gql } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let tenant: SeededWorkspace;
let platformKey: string;

beforeAll(async () => {
  server = await startTestServer();
  tenant = await seedWorkspace(server.db.prisma, 'Existing tenant');
  platformKey = (await createPlatformKey(server.db.prisma, 'provisioning')).secret;
});
afterAll(async () => {
  await server?.close();
});

const CREATE = `mutation($input: CreateWorkspaceInput!) {
  createWorkspace(input: $input) {
    __typename
    ... on CreateWorkspacePayload { workspace { id name createdAt } adminUserId apiKeyId secret }
    ... on ValidationError { code field message }
  }
}`;
const LIST = `query($first: Int, $after: ID) { workspaces(first: $first, after: $after) { id name } }`;
const VIEWER = '{ viewer { kind scopes apiKeyId workspace { id name } user { id name email role } } }';

describe('a platform key', () => {
  it('creates a workspace with its first admin and a key that works at once', async () => {
    const res = await gql(server.url, CREATE, { input: { name: 'Globex', adminName: 'Hank Scorpio', adminEmail: 'Hank@Globex.test' } }, { key: platformKey });
    expect(res.errors).toBeUndefined();
    const created = res.data.createWorkspace;
    expect(created.__typename).toBe('CreateWorkspacePayload');
    expect(created.workspace.name).toBe('Globex');
    expect(created.secret).toMatch(/^prl_[A-Za-z0-9]+$/);

    const viewer = await gql(server.url, VIEWER, {}, { key: created.secret });
    expect(viewer.errors).toBeUndefined();
    expect(viewer.data.viewer).toEqual({
      kind: 'TEAM',
      scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS', 'WRITE_CONTACTS', 'ADMIN'],
      apiKeyId: created.apiKeyId,
      workspace: { id: created.workspace.id, name: 'Globex' },
      user: { id: created.adminUserId, name: 'Hank Scorpio', email: 'hank@globex.test', role: 'ADMIN' },
    });
    // The admin runs the workspace from there: an inbox, and a key for a dashboard.
    const inbox = await gql(server.url, `mutation { createInbox(input: { name: "Support", channel: EMAIL }) { __typename } }`, {}, { key: created.secret });
    expect(inbox.data.createInbox.__typename).toBe('InboxPayload');

    // Listed beside the existing one, by the id its own keys see; paged with `after`.
    const all = await gql(server.url, LIST, {}, { key: platformKey });
    expect(all.errors).toBeUndefined();
    expect(all.data.workspaces.map((w: { name: string }) => w.name)).toEqual(['Existing tenant', 'Globex']);
    expect(all.data.workspaces[1].id).toBe(created.workspace.id);
    const page = await gql(server.url, LIST, { first: 1, after: all.data.workspaces[0].id }, { key: platformKey });
    expect(page.data.workspaces).toEqual([all.data.workspaces[1]]);
  });

  it('gets typed errors for bad input, and writes nothing then', async () => {
    const before = await server.db.prisma.workspace.count();
    const res = await gql(server.url, CREATE, { input: { name: 'Initech', adminName: 'Bill', adminEmail: 'not an email' } }, { key: platformKey });
    expect(res.data.createWorkspace).toMatchObject({ __typename: 'ValidationError', field: 'input.adminEmail' });
    const blank = await gql(server.url, CREATE, { input: { name: '  ', adminName: 'Bill', adminEmail: 'bill@initech.test' } }, { key: platformKey });
    expect(blank.data.createWorkspace).toMatchObject({ __typename: 'ValidationError', field: 'input.name' });
    expect(await server.db.prisma.workspace.count()).toBe(before);
    const bad = await gql(server.url, LIST, { first: 0 }, { key: platformKey });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('sees nothing inside a workspace: FORBIDDEN on workspace fields and mutations', async () => {
    for (const query of [
      VIEWER,
      '{ conversations(first: 5) { edges { node { id } } } }',
      '{ users { id name } }',
      `mutation { createLabel(input: { name: "platform was here" }) { __typename } }`,
    ]) {
      const res = await gql(server.url, query, {}, { key: platformKey });
      expect(res.errors?.map((e) => e.extensions?.code), query).toContain('FORBIDDEN');
      expect(JSON.stringify(res.data ?? null), query).not.toMatch(/platform was here|Existing tenant|[0-9a-f]{8}-/);
    }
    expect(await server.db.prisma.label.count({ where: { name: 'platform was here' } })).toBe(0);
    // node(id) answers as for an id of another workspace: nothing.
    const node = await gql(server.url, `query($id: ID!) { node(id: $id) { id } }`, { id: Buffer.from(`Workspace:${tenant.workspaceId}`).toString('base64') }, { key: platformKey });
    expect(node.data?.node ?? null).toBeNull();
  });

  it('stops working once revoked', async () => {
    const { id, secret } = await createPlatformKey(server.db.prisma, 'short-lived');
    expect((await gql(server.url, LIST, {}, { key: secret })).errors).toBeUndefined();
    await server.db.prisma.platformKey.update({ where: { id }, data: { revokedAt: new Date() } });
    const res = await gql(server.url, LIST, {}, { key: secret });
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('a workspace key', () => {
  it('never manages workspaces, whatever its scopes', async () => {
    for (const [query, variables] of [
      [LIST, {}],
      [CREATE, { input: { name: 'Hostile', adminName: 'Eve', adminEmail: 'eve@hostile.test' } }],
    ] as const) {
      const res = await gql(server.url, query, variables, { key: tenant.key });
      expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(res.errors?.[0]?.message).toContain('needs a platform key');
      expect(res.data === null || Object.values(res.data ?? {}).every((v) => v === null)).toBe(true);
    }
    expect(await server.db.prisma.workspace.count({ where: { name: 'Hostile' } })).toBe(0);
    // Without a key: UNAUTHENTICATED, as everywhere.
    expect((await gql(server.url, LIST, {})).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
