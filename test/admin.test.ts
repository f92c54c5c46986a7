// The admin API: inboxes, team members, API keys; roles and scopes decide who may use it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';
import { liveClient, sleep } from './support/ws.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;

beforeAll(async () => {
  // The periodic key check is an hour away: a revoked key's socket that closes was closed by the revocation itself.
  server = await startTestServer({ start: { liveLimits: { keyCheckMs: 3_600_000 } } });
  ws = await seedWorkspace(server.db.prisma, 'Admin A');
  other = await seedWorkspace(server.db.prisma, 'Admin B');
});
afterAll(() => server?.close());

const CREATE_KEY = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) {
    __typename
    ... on ApiKeySecretPayload { secret apiKey { id name kind scopes prefix user { email } expiresAt } }
    ... on Error { code message }
  }
}`;
const VIEWER = '{ viewer { kind scopes user { email } } }';

describe('API keys', () => {
  it('creates a scoped key whose secret is shown once and works at once', async () => {
    const admin = client(server.url, ws.key);
    const res = await admin.ok(CREATE_KEY, {
      input: { name: 'widget', kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS'], userId: globalId('User', ws.agent.id) },
    });
    const { secret, apiKey } = res.createApiKey;
    expect(apiKey).toMatchObject({ name: 'widget', kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS'], user: { email: 'alan@example.test' }, expiresAt: null });
    expect(secret.startsWith(apiKey.prefix)).toBe(true);
    expect(await client(server.url, secret).ok(VIEWER)).toEqual({ viewer: { kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS'], user: { email: 'alan@example.test' } } });
    const listed = await admin.ok('{ apiKeys { id name prefix } }');
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed.apiKeys.map((k: { id: string }) => k.id)).toContain(apiKey.id);
  });

  it('rotates a key (the old secret stops, the new one works) and revokes it', async () => {
    const admin = client(server.url, ws.key);
    const created = (await admin.ok(CREATE_KEY, { input: { name: 'rotating', scopes: ['READ_CONTACTS'] } })).createApiKey;
    // Used once, so that the server remembers it (AUTH_CACHE_MS): the rotation must still take effect at once.
    expect((await client(server.url, created.secret).ok(VIEWER)).viewer.scopes).toEqual(['READ_CONTACTS']);
    const rotated = await admin.ok(
      `mutation($id: ID!) { rotateApiKey(input: { apiKeyId: $id }) { ... on ApiKeySecretPayload { secret apiKey { id scopes } } } }`,
      { id: created.apiKey.id },
    );
    expect(rotated.rotateApiKey.apiKey).toEqual({ id: created.apiKey.id, scopes: ['READ_CONTACTS'] });
    expect((await client(server.url, created.secret).request(VIEWER)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const fresh = rotated.rotateApiKey.secret;
    expect((await client(server.url, fresh).ok(VIEWER)).viewer.scopes).toEqual(['READ_CONTACTS']);
    const revoked = await admin.ok(`mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { ... on ApiKeyPayload { apiKey { revokedAt } } } }`, {
      id: created.apiKey.id,
    });
    expect(revoked.revokeApiKey.apiKey.revokedAt).toBeTruthy();
    expect((await client(server.url, fresh).request(VIEWER)).errors?.[0]?.message).toBe('The API key has been revoked.');
  });

  it("refuses an agent's key, a key without the admin scope, and another workspace's key", async () => {
    const agentKey = (await ws.makeKey({ userId: ws.agent.id })).secret;
    const asAgent = await client(server.url, agentKey).request(CREATE_KEY, { input: { name: 'x', scopes: ['ADMIN'] } });
    expect(asAgent.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(asAgent.errors?.[0]?.message).toMatch(/Only an ADMIN may create API keys/);
    const noAdmin = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'] })).secret;
    const res = await client(server.url, noAdmin).request(CREATE_KEY, { input: { name: 'x', scopes: ['ADMIN'] } });
    expect(res.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN', scope: 'admin' } });
    const revokeForeign = await client(server.url, other.key).ok(
      `mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { __typename ... on Error { code } } }`,
      { id: globalId('ApiKey', ws.keyId) },
    );
    expect(revokeForeign.revokeApiKey).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect((await client(server.url, ws.key).ok(VIEWER)).viewer.kind).toBe('TEAM');
    const count = await server.db.prisma.apiKey.count({ where: { workspaceId: ws.workspaceId, name: 'x' } });
    expect(count).toBe(0);
  });

  it('refuses an expiry in the past, and an unknown user, as typed errors', async () => {
    const admin = client(server.url, ws.key);
    const past = await admin.ok(CREATE_KEY, { input: { name: 'old', scopes: ['ADMIN'], expiresAt: '2020-01-01T00:00:00Z' } });
    expect(past.createApiKey).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED' });
    const foreignUser = await admin.ok(CREATE_KEY, { input: { name: 'u', scopes: ['ADMIN'], userId: globalId('User', other.admin.id) } });
    expect(foreignUser.createApiKey).toMatchObject({ __typename: 'NotFoundError' });
  });
});

describe('revocation over the admin API, live', () => {
  it('closes the revoked key\'s WebSocket at once, not at the next periodic check', async () => {
    const admin = client(server.url, ws.key);
    const created = (await admin.ok(CREATE_KEY, { input: { name: 'live', scopes: ['READ_CONVERSATIONS'] } })).createApiKey;
    const live = liveClient(server.url, created.secret);
    try {
      const feed = live.subscribe('subscription { conversationEvents { cursor } }');
      while (server.parley.live.stats.members < 1) await sleep(20);
      expect(live.connects).toBe(1);
      await admin.ok(`mutation($id: ID!) { revokeApiKey(input: { apiKeyId: $id }) { __typename } }`, { id: created.apiKey.id });
      const t0 = Date.now();
      while (!live.closes.length && Date.now() - t0 < 60_000) await sleep(20);
      expect(live.closes[0]?.code).toBe(4403);
      void feed;
    } finally {
      await live.dispose();
    }
  });
});

describe('inboxes and team members', () => {
  it('creates and renames an inbox', async () => {
    const admin = client(server.url, ws.key);
    const created = await admin.ok(`mutation { createInbox(input: { name: "SMS line", channel: SMS }) { ... on InboxPayload { inbox { id name channel } } } }`);
    expect(created.createInbox.inbox).toMatchObject({ name: 'SMS line', channel: 'SMS' });
    const renamed = await admin.ok(`mutation($id: ID!) { updateInbox(input: { inboxId: $id, name: "SMS +1 555" }) { ... on InboxPayload { inbox { name } } } }`, {
      id: created.createInbox.inbox.id,
    });
    expect(renamed.updateInbox.inbox.name).toBe('SMS +1 555');
  });

  it('invites a user, refuses a duplicate email, changes availability and role, and keeps the last admin', async () => {
    const admin = client(server.url, ws.key);
    const invite = `mutation($input: InviteUserInput!) { inviteUser(input: $input) { __typename ... on UserPayload { user { id email role availability } } ... on Error { code } } }`;
    const first = await admin.ok(invite, { input: { name: 'Barbara', email: 'Barbara@Example.test' } });
    expect(first.inviteUser.user).toMatchObject({ email: 'barbara@example.test', role: 'AGENT', availability: 'OFFLINE' });
    expect((await admin.ok(invite, { input: { name: 'B2', email: 'barbara@example.test' } })).inviteUser).toEqual({ __typename: 'DuplicateError', code: 'DUPLICATE' });
    expect((await admin.ok(invite, { input: { name: 'B3', email: 'not-an-email' } })).inviteUser.__typename).toBe('ValidationError');
    const update = `mutation($input: UpdateUserInput!) { updateUser(input: $input) { __typename ... on UserPayload { user { role availability } } } }`;
    const promoted = await admin.ok(update, { input: { userId: first.inviteUser.user.id, role: 'ADMIN', availability: 'ONLINE' } });
    expect(promoted.updateUser.user).toEqual({ role: 'ADMIN', availability: 'ONLINE' });
    // Demoting one of two admins is fine; the last one cannot be demoted.
    await admin.ok(update, { input: { userId: first.inviteUser.user.id, role: 'AGENT' } });
    const last = await admin.request(update, { input: { userId: globalId('User', ws.admin.id), role: 'AGENT' } });
    expect(last.errors?.[0]?.message).toMatch(/last ADMIN/);
    // Two admins demoting each other at the same moment: one demotion wins, one admin stays.
    await admin.ok(update, { input: { userId: first.inviteUser.user.id, role: 'ADMIN' } });
    const results = await Promise.all(
      [first.inviteUser.user.id, globalId('User', ws.admin.id)].map((userId) => admin.request(update, { input: { userId, role: 'AGENT' } })),
    );
    expect(results.filter((r) => r.data?.updateUser?.user?.role === 'AGENT')).toHaveLength(1);
    expect(results.filter((r) => /last ADMIN/.test(r.errors?.[0]?.message ?? ''))).toHaveLength(1);
    expect(await server.db.prisma.user.count({ where: { workspaceId: ws.workspaceId, role: 'ADMIN' } })).toBe(1);
  });
});
