// One conversation in full: conversation(id), conversationByNumber, every field of the
// model, its thread (both orders, notes or not, by sender, paged) and its timeline; what
// CONNECTOR keys may not see, and which scope each query needs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId, localId } from './support/graphql.js';
import { createConversationRow, seedWorkspace, type ConversationRow, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let conv: ConversationRow;
let connectorKey: string;
let api: ReturnType<typeof client>;
const at = (m: number) => new Date(Date.UTC(2026, 2, 1, 9, m));

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Threads');
  conv = await createConversationRow(server.db.prisma, ws, {
    inbox: 'email',
    subject: 'Broken export',
    status: 'SNOOZED',
    snoozedUntil: at(59),
    controller: 'HUMAN',
    priority: 'HIGH',
    assigneeId: ws.agent.id,
    labels: ['bug', 'vip'],
    customAttributes: { plan: 'pro' },
    contact: { name: 'Ines', email: 'ines@example.test' },
    createdAt: at(0),
    messages: [
      { sender: 'CONTACT', content: 'm1 export is broken', at: at(1) },
      { sender: 'AI_AGENT', content: 'm2 which browser?', at: at(2) },
      { sender: 'CONTACT', content: 'm3 firefox', at: at(3) },
      { sender: 'HUMAN', content: 'm4 internal: known bug', private: true, at: at(4) },
      { sender: 'HUMAN', content: 'm5 fix coming', at: at(5) },
      { sender: 'SYSTEM', content: 'm6 snoozed', at: at(6) },
      { sender: 'CONTACT', content: 'm7 deleted', at: at(7), deleted: true },
    ],
    handoffs: [
      { startedAt: at(3), endedAt: at(4), assigneeId: ws.admin.id, reason: 'first' },
      { startedAt: at(5), assigneeId: ws.agent.id, reason: 'second' },
    ],
  });
  // Its timeline: events about it (one about the internal note) and one about another conversation.
  const events = [
    { type: 'CONVERSATION_CREATED' as const, messageId: null },
    { type: 'MESSAGE_ADDED' as const, messageId: conv.messageIds[0]! },
    { type: 'MESSAGE_ADDED' as const, messageId: conv.messageIds[3]! },
    { type: 'ASSIGNED' as const, messageId: null },
    { type: 'STATUS_CHANGED' as const, messageId: null },
  ];
  const elsewhere = await createConversationRow(server.db.prisma, ws, {});
  let seq = 0n;
  for (const e of events) {
    await server.db.prisma.event.create({
      data: { workspaceId: ws.workspaceId, seq: ++seq, type: e.type, conversationId: conv.id, messageId: e.messageId, actorType: 'SYSTEM', note: 'team only' },
    });
    await server.db.prisma.event.create({
      data: { workspaceId: ws.workspaceId, seq: ++seq, type: 'MESSAGE_ADDED', conversationId: elsewhere.id, actorType: 'SYSTEM' },
    });
  }
  connectorKey = (await ws.makeKey({ kind: 'CONNECTOR', userId: null, scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'] })).secret;
  api = client(server.url, ws.key);
});
afterAll(() => server?.close());

const contents = (conn: { edges: { node: { content: string | null } }[] }) => conn.edges.map((e) => e.node.content);

describe('conversation(id) and conversationByNumber', () => {
  it('exposes the whole model', async () => {
    const data = await api.ok(
      `query($id: ID!) { conversation(id: $id) {
        id number subject status controller priority snoozedUntil customAttributes messageCount unreadCount
        lastMessageAt lastMessagePreview waitingSince firstResponseAt firstHumanResponseAt createdAt version
        contact { name email } inbox { channel } assignee { id } labels { name }
        lastMessage { content senderType }
        handoffs { reason active endedAt assignee { id } }
      } }`,
      { id: globalId('Conversation', conv.id) },
    );
    expect(data.conversation).toMatchObject({
      number: conv.number,
      subject: 'Broken export',
      status: 'SNOOZED',
      controller: 'HUMAN',
      priority: 'HIGH',
      snoozedUntil: at(59).toISOString(),
      customAttributes: { plan: 'pro' },
      messageCount: 6,
      unreadCount: 0,
      lastMessageAt: at(6).toISOString(),
      lastMessagePreview: 'm6 snoozed',
      waitingSince: null,
      firstResponseAt: at(2).toISOString(),
      firstHumanResponseAt: at(5).toISOString(),
      contact: { name: 'Ines', email: 'ines@example.test' },
      inbox: { channel: 'EMAIL' },
      assignee: { id: globalId('User', ws.agent.id) },
      labels: [{ name: 'bug' }, { name: 'vip' }],
      lastMessage: { content: 'm6 snoozed', senderType: 'SYSTEM' },
      handoffs: [
        { reason: 'first', active: false, endedAt: at(4).toISOString(), assignee: { id: globalId('User', ws.admin.id) } },
        { reason: 'second', active: true, endedAt: null, assignee: { id: globalId('User', ws.agent.id) } },
      ],
    });
  });

  it('finds a conversation by its display number', async () => {
    const data = await api.ok(`query($n: Int!) { conversationByNumber(number: $n) { id subject } }`, { n: conv.number });
    expect(data.conversationByNumber).toEqual({ id: globalId('Conversation', conv.id), subject: 'Broken export' });
  });
});

describe('messages', () => {
  const THREAD = `query($id: ID!, $first: Int, $last: Int, $after: String, $before: String, $order: MessageOrder, $includePrivate: Boolean, $senderTypes: [SenderType!]) {
    conversation(id: $id) { messages(first: $first, last: $last, after: $after, before: $before, order: $order, includePrivate: $includePrivate, senderTypes: $senderTypes) {
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id content private deletedAt } }
    } }
  }`;
  const thread = async (vars: Record<string, unknown>, key = ws.key) =>
    (await client(server.url, key).ok(THREAD, { id: globalId('Conversation', conv.id), ...vars })).conversation.messages;

  it('lists the thread oldest first, tombstones and internal notes included for TEAM keys', async () => {
    const all = await thread({});
    expect(contents(all)).toEqual(['m1 export is broken', 'm2 which browser?', 'm3 firefox', 'm4 internal: known bug', 'm5 fix coming', 'm6 snoozed', null]);
    expect(all.edges[6].node.deletedAt).toBe(at(7).toISOString());
  });

  it('lists newest first, without notes, or by sender', async () => {
    expect(contents(await thread({ order: 'NEWEST_FIRST', first: 3 }))).toEqual([null, 'm6 snoozed', 'm5 fix coming']);
    expect(contents(await thread({ includePrivate: false }))).not.toContain('m4 internal: known bug');
    expect(contents(await thread({ senderTypes: ['CONTACT'] }))).toEqual(['m1 export is broken', 'm3 firefox', null]);
    expect(contents(await thread({ senderTypes: ['HUMAN', 'AI_AGENT'] }))).toEqual(['m2 which browser?', 'm4 internal: known bug', 'm5 fix coming']);
  });

  it('never shows internal notes to CONNECTOR keys, even when asked', async () => {
    const seen = await thread({ includePrivate: true }, connectorKey);
    expect(contents(seen)).toEqual(['m1 export is broken', 'm2 which browser?', 'm3 firefox', 'm5 fix coming', 'm6 snoozed', null]);
    const note = await client(server.url, connectorKey).ok(`query($id: ID!) { node(id: $id) { id } }`, { id: globalId('Message', conv.messageIds[3]!) });
    expect(note.node).toBeNull();
  });

  it('pages forward and backward in both orders', async () => {
    for (const order of ['OLDEST_FIRST', 'NEWEST_FIRST']) {
      const all = contents(await thread({ order }));
      const seen: (string | null)[] = [];
      let after: string | null = null;
      for (;;) {
        const page: any = await thread({ order, first: 2, after });
        seen.push(...contents(page));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(seen).toEqual(all);
      const tail = await thread({ order, last: 3 });
      expect(contents(tail)).toEqual(all.slice(-3));
      expect(tail.pageInfo.hasPreviousPage).toBe(true);
      const before = await thread({ order, last: 2, before: tail.pageInfo.startCursor });
      expect(contents(before)).toEqual(all.slice(-5, -3));
    }
  });

  it('refuses a cursor made for the other order', async () => {
    const page = await thread({ first: 1 });
    const res = await api.request(THREAD, { id: globalId('Conversation', conv.id), order: 'NEWEST_FIRST', after: page.pageInfo.endCursor });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('timeline', () => {
  const TIMELINE = `query($id: ID!, $first: Int, $last: Int, $after: String, $before: String) {
    conversation(id: $id) { timeline(first: $first, last: $last, after: $after, before: $before) {
      pageInfo { hasNextPage hasPreviousPage endCursor startCursor } edges { node { type note messageId } }
    } }
  }`;
  const timeline = async (vars: Record<string, unknown>, key = ws.key) =>
    (await client(server.url, key).ok(TIMELINE, { id: globalId('Conversation', conv.id), ...vars })).conversation.timeline;
  const types = (conn: any) => conn.edges.map((e: any) => e.node.type);

  it("lists the conversation's own events in commit order, and pages", async () => {
    expect(types(await timeline({}))).toEqual(['CONVERSATION_CREATED', 'MESSAGE_ADDED', 'MESSAGE_ADDED', 'ASSIGNED', 'STATUS_CHANGED']);
    const first = await timeline({ first: 2 });
    expect(types(first)).toEqual(['CONVERSATION_CREATED', 'MESSAGE_ADDED']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const next = await timeline({ first: 10, after: first.pageInfo.endCursor });
    expect(types(next)).toEqual(['MESSAGE_ADDED', 'ASSIGNED', 'STATUS_CHANGED']);
    expect(next.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const last = await timeline({ last: 2 });
    expect(types(last)).toEqual(['ASSIGNED', 'STATUS_CHANGED']);
    expect(types(await timeline({ last: 2, before: last.pageInfo.startCursor }))).toEqual(['MESSAGE_ADDED', 'MESSAGE_ADDED']);
  });

  it('hides events about internal notes, and notes, from CONNECTOR keys', async () => {
    const seen = await timeline({}, connectorKey);
    expect(types(seen)).toEqual(['CONVERSATION_CREATED', 'MESSAGE_ADDED', 'ASSIGNED', 'STATUS_CHANGED']);
    expect(seen.edges.every((e: any) => e.node.note === null)).toBe(true);
    expect(seen.edges.map((e: any) => e.node.messageId).filter(Boolean).map(localId)).toEqual([conv.messageIds[0]]);
    expect((await timeline({})).edges[0].node.note).toBe('team only');
  });

  it('keeps events about internal notes from CONNECTOR keys by id too: node and nodes', async () => {
    const p = server.db.prisma;
    const hidden = (await p.event.findFirstOrThrow({ where: { messageId: conv.messageIds[3]! } })).id;
    const shown = (await p.event.findFirstOrThrow({ where: { messageId: conv.messageIds[0]! } })).id;
    const FIELDS = `... on TimelineEvent { id type messageId conversationId before after note }`;
    const NODE = `query($id: ID!) { node(id: $id) { ${FIELDS} } }`;
    const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { ${FIELDS} } }`;
    const id = globalId('TimelineEvent', hidden);
    const ids = [globalId('TimelineEvent', shown), id];

    const connector = client(server.url, connectorKey);
    const one = await connector.request(NODE, { id });
    expect(one.errors).toBeUndefined();
    expect(one.data.node).toBeNull();
    const many = await connector.ok(NODES, { ids });
    expect(many.nodes.map((n: any) => n && localId(n.messageId))).toEqual([conv.messageIds[0], null]);
    for (const body of [one, many]) {
      const text = JSON.stringify(body);
      expect(text).not.toContain(conv.messageIds[3]!);
      expect(text).not.toContain(globalId('Message', conv.messageIds[3]!));
      expect(text).not.toContain('m4 internal');
      expect(text).not.toContain('team only');
    }

    const team = await api.ok(NODE, { id });
    expect(team.node).toMatchObject({ id, type: 'MESSAGE_ADDED', note: 'team only' });
    expect(localId(team.node.messageId)).toBe(conv.messageIds[3]);
    expect((await api.ok(NODES, { ids })).nodes.map((n: any) => localId(n.messageId))).toEqual([conv.messageIds[0], conv.messageIds[3]]);
  });
});

describe('scopes', () => {
  it('needs read:conversations for conversations, and read:contacts for contacts', async () => {
    const contactsOnly = (await ws.makeKey({ scopes: ['READ_CONTACTS'] })).secret;
    const conversationsOnly = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS'] })).secret;
    for (const q of [
      `{ conversations { edges { node { id } } } }`,
      `{ conversation(id: "${globalId('Conversation', conv.id)}") { id } }`,
      `{ conversationByNumber(number: 1) { id } }`,
      `{ conversationStats { total } }`,
      `{ labels { id } }`,
    ]) {
      const res = await client(server.url, contactsOnly).request(q);
      expect(res.errors?.[0]?.extensions?.code, q).toBe('FORBIDDEN');
      expect(res.errors?.[0]?.message, q).toMatch(/read:conversations/);
    }
    const res = await client(server.url, conversationsOnly).request(`{ contacts { edges { node { id } } } }`);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', scope: 'read:contacts' });
    // A contact's conversations need both.
    const nested = await client(server.url, contactsOnly).request(`{ contacts { edges { node { name conversations { edges { node { id } } } } } } }`);
    expect(nested.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await client(server.url, conversationsOnly).ok(`{ conversations { edges { node { id } } } }`)).conversations.edges).toHaveLength(2);
  });

  it('answers the fields the key may read next to the FORBIDDEN one (partial data)', async () => {
    const conversationsOnly = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS'] })).secret;
    const res = await client(server.url, conversationsOnly).request(
      `{ viewer { kind } conversations { edges { node { id subject } } } contacts { edges { node { id name } } } }`,
    );
    expect(res.status).toBe(200);
    // The refused field is null, with one error that names the missing scope and points at it...
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ path: ['contacts'], extensions: { code: 'FORBIDDEN', scope: 'read:contacts' } });
    expect(res.errors![0]!.message).toMatch(/read:contacts/);
    expect(res.data.contacts).toBeNull();
    // ...and the rest of the query answered in full.
    expect(res.data.viewer).toEqual({ kind: 'TEAM' });
    expect(res.data.conversations.edges).toHaveLength(2);
    expect(res.data.conversations.edges).toContainEqual({ node: { id: globalId('Conversation', conv.id), subject: 'Broken export' } });
    expect(JSON.stringify(res)).not.toContain('ines@example.test');
  });

  it("answers a contact's own fields and refuses only its conversations, without read:conversations", async () => {
    const contactsOnly = (await ws.makeKey({ scopes: ['READ_CONTACTS'] })).secret;
    const res = await client(server.url, contactsOnly).request(`{ contacts { edges { node { name email conversations { edges { node { id } } } } } } }`);
    expect(res.status).toBe(200);
    const nodes = res.data.contacts.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(2);
    expect(nodes).toContainEqual({ name: 'Ines', email: 'ines@example.test', conversations: null });
    expect(nodes.every((n: any) => n.conversations === null)).toBe(true);
    // One FORBIDDEN per contact, each at that contact's conversations, naming read:conversations.
    expect(res.errors).toHaveLength(nodes.length);
    for (const e of res.errors!) {
      expect(e).toMatchObject({ extensions: { code: 'FORBIDDEN', scope: 'read:conversations' } });
      expect(e.message).toMatch(/read:conversations/);
      expect(e.path).toEqual(['contacts', 'edges', expect.any(Number), 'node', 'conversations']);
    }
    expect(new Set(res.errors!.map((e) => e.path![2]))).toEqual(new Set(nodes.map((_n: unknown, i: number) => i)));
    expect(JSON.stringify(res)).not.toContain(globalId('Conversation', conv.id));
  });
});
