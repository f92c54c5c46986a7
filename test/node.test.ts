import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let a: SeededWorkspace;
let b: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer();
  a = await seedWorkspace(server.db.prisma, 'A');
  b = await seedWorkspace(server.db.prisma, 'B');
});
afterAll(() => server?.close());

const NODE = `query($id: ID!) { node(id: $id) { id __typename ... on Inbox { name channel } ... on User { email } } }`;

describe('node(id) and nodes(ids)', () => {
  it('finds a row of the caller\'s workspace by its global id', async () => {
    const id = globalId('Inbox', a.inboxes.email.id);
    const data = await client(server.url, a.key).ok(NODE, { id });
    expect(data.node).toEqual({ id, __typename: 'Inbox', name: 'Email', channel: 'EMAIL' });
  });

  it("returns null for another workspace's row, for every type", async () => {
    const prisma = server.db.prisma;
    const inbox = await prisma.inbox.findFirstOrThrow({ where: { workspaceId: a.workspaceId } });
    const contact = await prisma.contact.create({ data: { workspaceId: a.workspaceId, name: 'Secret contact' } });
    const label = await prisma.label.create({ data: { workspaceId: a.workspaceId, name: 'secret' } });
    const conversation = await prisma.conversation.create({
      data: { workspaceId: a.workspaceId, number: 1, inboxId: inbox.id, contactId: contact.id },
    });
    const ids = [
      globalId('Workspace', a.workspaceId),
      globalId('User', a.admin.id),
      globalId('ApiKey', a.keyId),
      globalId('Inbox', inbox.id),
      globalId('Contact', contact.id),
      globalId('Label', label.id),
      globalId('Conversation', conversation.id),
    ];
    const asB = client(server.url, b.key);
    for (const id of ids) {
      const data = await asB.ok(`query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(data.node, id).toBeNull();
    }
    const data = await asB.ok(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(data.nodes).toEqual(ids.map(() => null));
    // ...while workspace A sees every one of them.
    const own = await client(server.url, a.key).ok(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(own.nodes.map((n: { id: string }) => n.id)).toEqual(ids);
  });

  it('returns null for an id of the wrong type', async () => {
    const data = await client(server.url, a.key).ok(NODE, { id: globalId('Label', a.inboxes.email.id) });
    expect(data.node).toBeNull();
  });

  it('answers a malformed id with BAD_USER_INPUT, not an internal error', async () => {
    const uuid = a.inboxes.email.id;
    // Made-up type names and types that have no ids (not Node types) are malformed too.
    const notNodes = ['Foo', 'Query', 'ContactIdentity', 'ConversationFilter', 'Node'].map((t) => globalId(t, uuid));
    for (const id of ['not-base64!', globalId('Inbox', '1'), Buffer.from('nocolon').toString('base64'), '', ...notNodes]) {
      const res = await client(server.url, a.key).request(NODE, { id });
      expect(res.errors?.[0]?.extensions?.code, id).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses more than 100 ids in nodes(ids)', async () => {
    const ids = Array.from({ length: 101 }, () => globalId('Inbox', a.inboxes.email.id));
    const res = await client(server.url, a.key).request(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, { ids });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
