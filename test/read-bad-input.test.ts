// Bad input to the read API: each gets a typed error (BAD_USER_INPUT) or, where that is the
// honest answer, an empty result; never an internal error, never another workspace's data.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId, type GraphQLResponse } from './support/graphql.js';
import { buildReadWorld, T, type ReadWorld } from './support/read-world.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let world: ReadWorld;
let otherConversation: string;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Reader');
  other = await seedWorkspace(server.db.prisma, 'Other');
  world = await buildReadWorld(server.db.prisma, ws);
  otherConversation = (
    await createConversationRow(server.db.prisma, other, { subject: 'other secret', messages: [{ sender: 'CONTACT', content: 'hush', at: T(1) }] })
  ).id;
  api = client(server.url, ws.key);
});
afterAll(() => server?.close());

function expectBadInput(res: GraphQLResponse, pattern?: RegExp) {
  expect(res.status).toBeLessThan(500);
  expect(res.errors?.length, JSON.stringify(res)).toBeGreaterThan(0);
  expect(res.errors![0]!.extensions?.code, JSON.stringify(res.errors)).toBe('BAD_USER_INPUT');
  if (pattern) expect(res.errors![0]!.message).toMatch(pattern);
}

const LIST = `query($filter: ConversationFilter, $orderBy: ConversationOrder, $first: Int, $after: String, $last: Int, $before: String, $offset: Int) {
  conversations(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before, offset: $offset) {
    pageInfo { endCursor } edges { node { id } }
  }
}`;
const list = (vars: Record<string, unknown>) => api.request(LIST, vars);

describe('page sizes', () => {
  it('refuses first: 1000 and last: 101 instead of clamping them', async () => {
    expectBadInput(await list({ first: 1000 }), /first is 1000, more than the 100/);
    expectBadInput(await list({ last: 101 }), /last/);
    expectBadInput(await list({ first: -1 }));
    expectBadInput(await list({ first: 2, last: 2 }));
  });

  it('refuses oversized pages of nested connections too', async () => {
    const id = globalId('Conversation', world.rows.c1.id);
    expectBadInput(await api.request(`query($id: ID!) { conversation(id: $id) { messages(first: 1000) { edges { node { id } } } } }`, { id }));
    expectBadInput(await api.request(`query($id: ID!) { conversation(id: $id) { timeline(last: 101) { edges { node { id } } } } }`, { id }));
    expectBadInput(await api.request(`{ contacts(first: 500) { edges { node { id } } } }`));
    expectBadInput(await api.request(`{ contacts(first: 1) { edges { node { conversations(first: 101) { edges { node { id } } } } } } }`));
  });

  it('refuses a bad offset, or an offset mixed with cursors', async () => {
    expectBadInput(await list({ first: 2, offset: -1 }));
    expectBadInput(await list({ first: 2, offset: 1_000_000 }));
    const { data } = await list({ first: 2 });
    expectBadInput(await list({ first: 2, offset: 2, after: data.conversations.pageInfo.endCursor }));
    expectBadInput(await list({ last: 2, offset: 2 }));
  });
});

describe('cursors', () => {
  let cursor: string;
  beforeAll(async () => {
    cursor = (await list({ first: 2 })).data.conversations.pageInfo.endCursor;
  });

  it('refuses a malformed cursor', async () => {
    for (const after of ['garbage!', 'Zm9v', Buffer.from('{"l":"conversations"}').toString('base64url'), cursor.slice(0, -4), 'x'.repeat(5000)]) {
      expectBadInput(await list({ first: 2, after }), /cursor/);
    }
    expectBadInput(await list({ last: 2, before: 'nonsense' }), /cursor/);
  });

  it('refuses a cursor with values of the wrong kind', async () => {
    const forge = (body: unknown) => Buffer.from(JSON.stringify(body)).toString('base64url');
    const real = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    expectBadInput(await list({ first: 2, after: forge({ ...real, v: ['not a date'] }) }), /malformed/);
    expectBadInput(await list({ first: 2, after: forge({ ...real, v: [] }) }), /malformed/);
    expectBadInput(await list({ first: 2, after: forge({ ...real, i: "1' OR 1=1 --" }) }), /malformed/);
  });

  it('takes cursors written before their prefix was padded (the same JSON, compact)', async () => {
    // Cursors are base64url JSON whose start is padded with JSON whitespace to a multiple of 3
    // bytes (pagination.ts, cursorPrefix); a client may still hold one made without the padding.
    const json = Buffer.from(cursor, 'base64url').toString();
    expect(json).toMatch(/^\{ {0,2}"l":"conversations",/);
    const compact = Buffer.from(JSON.stringify(JSON.parse(json))).toString('base64url');
    const withPadded = await list({ first: 2, after: cursor });
    const withCompact = await list({ first: 2, after: compact });
    expect(withPadded.errors).toBeUndefined();
    expect(withPadded.data.conversations.edges).toHaveLength(2);
    expect(withCompact.errors).toBeUndefined();
    expect(withCompact.data).toEqual(withPadded.data);
  });

  it('refuses a cursor from another ordering, another list or another workspace', async () => {
    expectBadInput(await list({ first: 2, after: cursor, orderBy: { field: 'CREATED_AT' } }), /another ordering/);
    const contactCursor = (await api.ok(`{ contacts(first: 1) { pageInfo { endCursor } } }`)).contacts.pageInfo.endCursor;
    expectBadInput(await list({ first: 2, after: contactCursor }), /another list/);
    const messageCursor = (
      await api.ok(`query($id: ID!) { conversation(id: $id) { messages(first: 1) { pageInfo { endCursor } } } }`, {
        id: globalId('Conversation', world.rows.c1.id),
      })
    ).conversation.messages.pageInfo.endCursor;
    expectBadInput(await list({ first: 2, after: messageCursor }), /another list/);
    const theirs = (await client(server.url, other.key).ok(`{ conversations(first: 1) { pageInfo { endCursor } } }`)).conversations.pageInfo
      .endCursor;
    expectBadInput(await list({ first: 2, after: theirs }), /another workspace/);
  });

  it('refuses malformed cursors on nested connections', async () => {
    const id = globalId('Conversation', world.rows.c1.id);
    expectBadInput(await api.request(`query($id: ID!) { conversation(id: $id) { messages(after: "bogus") { edges { node { id } } } } }`, { id }));
    expectBadInput(await api.request(`query($id: ID!) { conversation(id: $id) { timeline(after: "bogus") { edges { node { id } } } } }`, { id }));
    expectBadInput(await api.request(`{ contacts(first: 1) { edges { node { conversations(after: "bogus") { edges { node { id } } } } } } }`));
  });
});

describe('ids', () => {
  const BY_ID = `query($id: ID!) { conversation(id: $id) { id subject } }`;

  it('answers an unknown id with null', async () => {
    const res = await api.request(BY_ID, { id: globalId('Conversation', '01234567-89ab-7def-8123-456789abcdef') });
    expect(res.errors).toBeUndefined();
    expect(res.data.conversation).toBeNull();
    expect((await api.ok(`{ conversationByNumber(number: 9999) { id } }`)).conversationByNumber).toBeNull();
  });

  it("answers another workspace's id with null, never its data", async () => {
    const id = globalId('Conversation', otherConversation);
    expect((await api.ok(BY_ID, { id })).conversation).toBeNull();
    expect((await api.ok(`query($id: ID!) { node(id: $id) { id } }`, { id })).node).toBeNull();
    // The other workspace has conversation #1 too: the number is looked up in ours.
    const own = await api.ok(`{ conversationByNumber(number: 1) { id } }`);
    expect(own.conversationByNumber.id).toBe(globalId('Conversation', world.rows.c1.id));
  });

  it('refuses an id of another type, or a malformed id', async () => {
    expectBadInput(await api.request(BY_ID, { id: globalId('Label', world.labels.vip) }), /expected the id of a Conversation/);
    expectBadInput(await api.request(BY_ID, { id: 'not-an-id' }));
    expectBadInput(await api.request(BY_ID, { id: globalId('Conversation', '42') }));
    expectBadInput(await list({ filter: { inboxes: [globalId('User', ws.agent.id)] } }), /filter.inboxes\[0\]/);
    expectBadInput(await list({ filter: { labels: { anyOf: ['@@@'] } } }));
    expectBadInput(await api.request(`{ conversationByNumber(number: 0) { id } }`));
  });

  it("answers filters on another workspace's ids with an empty page", async () => {
    const res = await list({ filter: { contacts: [globalId('Contact', world.rows.c1.contactId)] } });
    expect(res.data.conversations.edges).toHaveLength(1);
    const theirs = await client(server.url, other.key).request(LIST, { filter: { contacts: [globalId('Contact', world.rows.c1.contactId)] } });
    expect(theirs.errors).toBeUndefined();
    expect(theirs.data.conversations.edges).toEqual([]);
  });
});

describe('search', () => {
  it('refuses an empty or blank search (omit it for no search)', async () => {
    expectBadInput(await list({ filter: { search: '' } }), /search is empty/);
    expectBadInput(await list({ filter: { search: '   \n ' } }), /search is empty/);
    expectBadInput(await api.request(`{ contacts(filter: { search: "" }) { edges { node { id } } } }`));
  });

  it('refuses a 10,000-character search', async () => {
    const search = 'a'.repeat(10_000);
    expectBadInput(await list({ filter: { search } }), /at most 200 characters/);
    expectBadInput(await api.request(`query($s: String) { contacts(filter: { search: $s }) { edges { node { id } } } }`, { s: search }));
    expectBadInput(await api.request(`query($s: String) { conversationStats(filter: { search: $s }) { total } }`, { s: search }));
  });

  it("never finds another workspace's conversations", async () => {
    const res = await list({ filter: { search: 'hush', allStatuses: true } });
    expect(res.data.conversations.edges).toEqual([]);
    const secret = await list({ filter: { search: 'secret', allStatuses: true } });
    expect(secret.data.conversations.edges).toEqual([]);
  });
});

describe('other filter mistakes', () => {
  it('refuses a range whose end precedes its start', async () => {
    const range = { from: T(5).toISOString(), to: T(4).toISOString() };
    expectBadInput(await list({ filter: { createdAt: range } }), /createdAt: the end \(to\) precedes the start/);
    expectBadInput(await list({ filter: { lastMessageAt: range } }), /lastMessageAt/);
    expectBadInput(await api.request(`query($r: TimeRange) { conversationStats(range: $r) { total } }`, { r: range }), /range/);
  });

  it('refuses contradictory or impossible filters', async () => {
    expectBadInput(await list({ filter: { status: ['OPEN'], allStatuses: true } }));
    expectBadInput(await list({ filter: { assignee: { me: true, unassigned: true } } }), /exactly one/);
    expectBadInput(await list({ filter: { assignee: {} } }), /exactly one/);
    const noUser = await ws.makeKey({ userId: null });
    expectBadInput(await client(server.url, noUser.secret).request(LIST, { filter: { assignee: { me: true } } }), /acts as no user/);
    const many = Array.from({ length: 101 }, () => globalId('Label', world.labels.vip));
    expectBadInput(await list({ filter: { labels: { anyOf: many } } }), /at most 100/);
  });

  it('refuses dates PostgreSQL cannot store (before year 1 in UTC) instead of failing inside', async () => {
    for (const from of ['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+01:00']) {
      const res = await list({ filter: { createdAt: { from } } });
      expect(res.status, from).toBeLessThan(500);
      expect(res.errors?.[0]?.extensions?.code, from).not.toBe('INTERNAL_SERVER_ERROR');
      expect(res.errors?.[0]?.message, from).toMatch(/out of range/);
      const stats = await api.request(`query($r: TimeRange) { conversationStats(range: $r) { total } }`, { r: { from } });
      expect(stats.errors?.[0]?.message, from).toMatch(/out of range/);
    }
    // The same year written in a query literal, and the last storable instant, which works.
    const literal = await api.request(`{ conversations(filter: { lastMessageAt: { to: "0000-06-01T00:00:00Z" } }) { edges { cursor } } }`);
    expect(literal.errors?.[0]?.message).toMatch(/out of range/);
    expect((await list({ filter: { createdAt: { to: '9999-12-31T23:59:59Z' } } })).errors).toBeUndefined();
  });

  it('refuses text holding U+0000, which PostgreSQL cannot store, in variables and in literals', async () => {
    const nul = 'a\u0000b';
    const expectNul = (res: GraphQLResponse) => expectBadInput(res, /NUL character/);
    expectNul(await list({ filter: { search: nul } }));
    expectNul(await api.request(`{ conversations(filter: { search: "a\\u0000b" }) { edges { cursor } } }`));
    expectNul(await api.request(`query($s: String) { contacts(filter: { search: $s }) { edges { cursor } } }`, { s: nul }));
    expectNul(await api.request(`query($s: String) { labels(search: $s) { id } }`, { s: nul }));
    // A mutation's input too, object keys included: refused before anything is written.
    const labelsBefore = await server.db.prisma.label.count({ where: { workspaceId: ws.workspaceId } });
    expectNul(await api.request(`mutation($name: String!) { createLabel(input: { name: $name }) { __typename } }`, { name: nul }));
    expect(await server.db.prisma.label.count({ where: { workspaceId: ws.workspaceId } })).toBe(labelsBefore);
    const id = globalId('Conversation', world.rows.c1.id);
    expectNul(await api.request(`mutation($id: ID!, $attrs: JSONObject!) { updateConversation(input: { conversationId: $id, customAttributes: $attrs }) { __typename } }`, { id, attrs: { [nul]: 1 } }));
    // Written raw into the query text (the lexer accepts it), and nested deeper than any limit.
    expectNul(await api.request(`{ labels(search: "a\u0000b") { id } }`));
    let deep: Record<string, unknown> = { leaf: nul };
    for (let i = 0; i < 15; i++) deep = { level: deep };
    expectNul(await api.request(`mutation($id: ID!, $attrs: JSONObject!) { updateConversation(input: { conversationId: $id, customAttributes: $attrs }) { __typename } }`, { id, attrs: deep }));
    // A backslash-u that is not U+0000 is fine.
    expect((await api.request(`{ conversations(filter: { search: "caf\\u00e9" }) { edges { cursor } } }`)).errors).toBeUndefined();
  });

  it('refuses a DateTime without a time zone', async () => {
    const res = await list({ filter: { createdAt: { from: '2026-01-01T00:00:00' } } });
    expect(res.errors?.[0]?.extensions?.code).not.toBe('INTERNAL_SERVER_ERROR');
    expect(res.data).toBeUndefined();
  });
});
