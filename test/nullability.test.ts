// Non-null where a value is always there; nullable where a field can fail on its own. A
// FORBIDDEN on a field whose type (or the field itself) needs a scope the key lacks stays on
// that field: its parent, its siblings and the rest of the page still answer.
import { getNullableType, isListType, isNonNullType, isObjectType, type GraphQLField } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { client, localId } from './support/graphql.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Nullability');
  for (const name of ['Ana', 'Bo']) {
    await createConversationRow(server.db.prisma, ws, { contact: { name }, assigneeId: ws.agent.id, labels: ['vip'] });
  }
});
afterAll(() => server?.close());

type ErrorLike = { path?: (string | number)[]; extensions?: Record<string, unknown> };
const forbiddenPaths = (errors: ErrorLike[] | undefined) =>
  (errors ?? []).map((e) => {
    expect(e.extensions?.code).toBe('FORBIDDEN');
    return (e.path ?? []).join('.');
  });

describe('a FORBIDDEN stays on its field', () => {
  it('a key without read:contacts lists conversations: each contact is null, everything else answers', async () => {
    const key = await ws.makeKey({ scopes: ['READ_CONVERSATIONS'] });
    const res = await client(server.url, key.secret).request(`{
      conversations(first: 10) {
        totalCount
        pageInfo { hasNextPage }
        edges { node { id number status inbox { channel } labels { name } assignee { name } contact { name } } }
      }
    }`);
    const page = res.data!.conversations;
    expect(page.totalCount).toBe(2);
    expect(page.edges).toHaveLength(2);
    for (const { node } of page.edges) {
      expect(node).toMatchObject({ status: 'OPEN', inbox: { channel: 'WHATSAPP' }, labels: [{ name: 'vip' }], assignee: { name: 'Alan Agent' }, contact: null });
    }
    expect(forbiddenPaths(res.errors).sort()).toEqual(['conversations.edges.0.node.contact', 'conversations.edges.1.node.contact']);
  });

  it("a key without read:conversations reads a team member: the user answers, only the open count is null", async () => {
    const key = await ws.makeKey({ scopes: ['READ_CONTACTS'] });
    const res = await client(server.url, key.secret).request(`{ viewer { kind user { name role openConversationCount } } }`);
    expect(res.data).toEqual({ viewer: { kind: 'TEAM', user: { name: 'Ada Admin', role: 'ADMIN', openConversationCount: null } } });
    expect(forbiddenPaths(res.errors)).toEqual(['viewer.user.openConversationCount']);
    // With the scope, the count is there.
    const full = await client(server.url, ws.key).ok(`{ users { name openConversationCount } }`);
    expect(full.users).toEqual(expect.arrayContaining([{ name: 'Alan Agent', openConversationCount: 2 }]));
  });

  it('a key that may write but not read conversations gets its typed result, and a FORBIDDEN on the objects', async () => {
    const writer = await ws.makeKey({ scopes: ['WRITE_CONVERSATIONS'] });
    const conversationId = (await client(server.url, ws.key).ok(`{ conversations(first: 1) { edges { node { id } } } }`)).conversations.edges[0].node.id;
    const res = await client(server.url, writer.secret).request(
      `mutation($input: SendMessageInput!) {
        sendMessage(input: $input) { __typename ... on SendMessagePayload { duplicate sentMessage { id } conversation { id } } }
      }`,
      { input: { conversationId, senderType: 'AI_AGENT', content: 'Hello from a write-only key' } },
    );
    expect(res.data).toEqual({ sendMessage: { __typename: 'SendMessagePayload', duplicate: false, sentMessage: null, conversation: null } });
    expect(forbiddenPaths(res.errors).sort()).toEqual(['sendMessage.conversation', 'sendMessage.sentMessage']);
    // The message was written all the same.
    const written = await server.db.prisma.message.findFirst({ where: { conversationId: localId(conversationId), content: 'Hello from a write-only key' } });
    expect(written).not.toBeNull();
  });

  it('a FORBIDDEN on one root field leaves the others answered', async () => {
    const key = await ws.makeKey({ scopes: ['READ_CONVERSATIONS'] });
    const res = await client(server.url, key.secret).request(`{ contacts(first: 1) { totalCount } conversations(first: 1) { totalCount } }`);
    expect(res.data).toEqual({ contacts: null, conversations: { totalCount: 2 } });
    expect(forbiddenPaths(res.errors)).toEqual(['contacts']);
  });
});

describe('the schema', () => {
  const fieldsOf = (typeName: string) => Object.values(isObjectType(schema.getType(typeName)) ? (schema.getType(typeName) as any).getFields() : {}) as GraphQLField<unknown, unknown>[];

  it('every root field is nullable, so that its own scope check or argument error fails it alone', () => {
    const nonNull = ['Query', 'Mutation', 'Subscription'].flatMap((t) => fieldsOf(t).filter((f) => isNonNullType(f.type)).map((f) => `${t}.${f.name}`));
    // apiVersion needs no key and takes no argument: it cannot fail.
    expect(nonNull).toEqual(['Query.apiVersion']);
    expect(fieldsOf('Query').find((f) => f.name === 'apiVersion')?.args).toEqual([]);
  });

  it("connections' edges, their nodes and pageInfo are non-null", () => {
    const loose: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || !type.name.endsWith('Connection')) continue;
      const { edges, pageInfo } = type.getFields();
      if (!edges || !isNonNullType(edges.type) || !isNonNullType((getNullableType(edges.type) as any).ofType)) loose.push(`${type.name}.edges`);
      if (!pageInfo || !isNonNullType(pageInfo.type)) loose.push(`${type.name}.pageInfo`);
      const edge = edges && isListType(getNullableType(edges.type)) ? (getNullableType((getNullableType(edges.type) as any).ofType) as any) : null;
      if (!edge || !isNonNullType(edge.getFields().node.type)) loose.push(`${type.name}.edges.node`);
    }
    expect(loose).toEqual([]);
  });

  it('says what null means on every nullable field', () => {
    const unexplained: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || !isObjectType(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (!isNonNullType(field.type) && !/\bnull\b/i.test(field.description ?? '')) unexplained.push(`${type.name}.${field.name}`);
      }
    }
    expect(unexplained).toEqual([]);
  });
});
