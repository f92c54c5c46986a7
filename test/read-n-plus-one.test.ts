// No N+1: a dashboard page with every nested field it shows issues a small, constant number
// of SQL statements: the same for 5 rows as for 100. Statements are counted from Prisma's
// query events (server.queries), for one request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/graphql.js';
import { createConversationRows, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let small: SeededWorkspace;
let big: SeededWorkspace;

const base = Date.UTC(2026, 0, 1);

async function fill(ws: SeededWorkspace, count: number) {
  await createConversationRows(server.db.prisma, ws, count, (i) => ({
    inbox: (['whatsapp', 'email', 'web'] as const)[i % 3],
    assigneeId: i % 2 ? ws.agent.id : ws.admin.id,
    labels: ['billing', 'vip', `tag-${i % 7}`],
    priority: 'HIGH',
    createdAt: new Date(base + i * 60_000),
    messages: [
      { sender: 'CONTACT', content: `question ${i}`, at: new Date(base + i * 60_000) },
      { sender: 'AI_AGENT', content: `answer ${i}`, at: new Date(base + i * 60_000 + 1000) },
      { sender: 'HUMAN', content: `note ${i}`, private: true, at: new Date(base + i * 60_000 + 2000) },
      { sender: 'CONTACT', content: `follow-up ${i}`, at: new Date(base + i * 60_000 + 3000) },
      { sender: 'HUMAN', content: `reply ${i}`, at: new Date(base + i * 60_000 + 4000), userId: ws.agent.id },
    ],
    handoffs: [{ startedAt: new Date(base + i * 60_000 + 1500), assigneeId: ws.agent.id }],
  }));
  // Timeline events, so that the timeline connection has rows to batch.
  // One by the contact, one by a team member: their actors are batched too.
  const conversations = await server.db.prisma.conversation.findMany({ where: { workspaceId: ws.workspaceId }, select: { id: true, contactId: true } });
  let seq = 0n;
  await server.db.prisma.event.createMany({
    data: conversations.flatMap((c) => [
      { workspaceId: ws.workspaceId, seq: ++seq, type: 'MESSAGE_ADDED' as const, conversationId: c.id, actorType: 'CONTACT' as const, actorContactId: c.contactId },
      { workspaceId: ws.workspaceId, seq: ++seq, type: 'MESSAGE_ADDED' as const, conversationId: c.id, actorType: 'USER' as const, actorUserId: ws.agent.id },
    ]),
  });
  await server.db.prisma.workspaceCounter.upsert({ where: { workspaceId: ws.workspaceId }, create: { workspaceId: ws.workspaceId, eventSeq: seq }, update: { eventSeq: seq } });
}

beforeAll(async () => {
  // The per-key cost budget would refuse a 100-row page with nested threads; it is not under test here.
  // No background statement lands in a count: no snooze wake during the test, and the key stays
  // remembered between the warm-up and the counted request however slow the machine is.
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0', MAX_QUERY_COST: '1000000', ...IDLE_WORKERS, AUTH_CACHE_MS: '60000' } });
  small = await seedWorkspace(server.db.prisma, 'Five');
  big = await seedWorkspace(server.db.prisma, 'Hundred');
  await fill(small, 5);
  await fill(big, 100);
}, 120_000);
afterAll(() => server?.close());

/** Everything a dashboard's conversation list shows. */
const DASHBOARD = `query($first: Int!) {
  conversations(first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id number subject status controller priority unreadCount lastMessageAt lastMessagePreview waitingSince
        contact { id name email phone }
        inbox { id name channel }
        assignee { id name availability }
        labels { id name color }
        lastMessage { id content senderType createdAt }
        messages(first: 3, order: NEWEST_FIRST) { edges { node { id content senderType senderUser { name } } } }
        handoffs { id startedAt assignee { name } }
      }
    }
  }
}`;

async function statements(key: string, query: string, variables: Record<string, unknown>) {
  const api = client(server.url, key);
  await api.ok(query, variables); // warms up (the key's lastUsedAt write happens at most once a minute)
  server.queries.length = 0;
  const data = await api.ok(query, variables);
  return { data, queries: [...server.queries] };
}

describe('no N+1', () => {
  it('a full dashboard page costs the same few statements for 5 rows as for 100', async () => {
    const five = await statements(small.key, DASHBOARD, { first: 100 });
    const hundred = await statements(big.key, DASHBOARD, { first: 100 });
    expect(five.data.conversations.edges).toHaveLength(5);
    expect(hundred.data.conversations.edges).toHaveLength(100);
    // Every nested field came back filled in, for every row.
    for (const { node } of hundred.data.conversations.edges) {
      expect(node.contact.name).toBeTruthy();
      expect(node.labels).toHaveLength(3);
      expect(node.assignee.name).toBeTruthy();
      expect(node.lastMessage.content).toMatch(/^reply /);
      expect(node.messages.edges.map((e: any) => e.node.content)).toEqual([
        `reply ${node.number - 1}`,
        `follow-up ${node.number - 1}`,
        `note ${node.number - 1}`,
      ]);
      expect(node.messages.edges[0].node.senderUser.name).toBe('Alan Agent');
      expect(node.handoffs[0].assignee.name).toBe('Alan Agent');
    }
    expect(hundred.queries.length).toBe(five.queries.length);
    // The count; the page with its rows and every relation (one JSON statement); the
    // handoffs' assignees; thread pages; thread rows with their senders: 5 (the key lookup is
    // remembered; the bound leaves room for small changes).
    expect(hundred.queries.length).toBeLessThanOrEqual(6);
  });

  it('stays constant with the timeline and a contact page with conversations too', async () => {
    const q = `query($first: Int!) {
      conversations(first: $first) { edges { node { id timeline(last: 2) { edges { node { type cursor actorType actorUser { name } actorContact { name } } } } } } }
      contacts(first: $first) { edges { node { id conversations(first: 2) { edges { node { id inbox { name } labels { name } } } } } } }
      users { id name openConversationCount }
    }`;
    const five = await statements(small.key, q, { first: 100 });
    const hundred = await statements(big.key, q, { first: 100 });
    expect(hundred.data.conversations.edges.every((e: any) => e.node.timeline.edges.length === 2)).toBe(true);
    const actors = hundred.data.conversations.edges[0].node.timeline.edges.map((e: any) => [e.node.actorType, e.node.actorUser?.name ?? null, typeof e.node.actorContact?.name]);
    expect(actors).toEqual([['CONTACT', null, 'string'], ['USER', 'Alan Agent', 'undefined']]);
    expect(hundred.data.contacts.edges).toHaveLength(100);
    expect(hundred.data.contacts.edges.every((e: any) => e.node.conversations.edges.length === 1)).toBe(true);
    expect(hundred.queries.length).toBe(five.queries.length);
    expect(hundred.queries.length).toBeLessThanOrEqual(10);
  });

  // Here because this workspace has more conversations than a default page holds.
  it('gives 20 conversations and contacts by default', async () => {
    const data = await client(server.url, big.key).ok(`{
      conversations { totalCount pageInfo { hasNextPage } edges { cursor } }
      contacts { edges { cursor } }
    }`);
    expect(data.conversations.totalCount).toBe(100);
    expect(data.conversations.edges).toHaveLength(20);
    expect(data.conversations.pageInfo.hasNextPage).toBe(true);
    expect(data.contacts.edges).toHaveLength(20);
  });
});
