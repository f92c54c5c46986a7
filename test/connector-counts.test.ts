// CONNECTOR keys sit in contact-facing widgets and must never learn that internal notes
// exist, not even as a number: Conversation.messageCount, the counts timeline events record
// in before/after (read by query, by node(id) and in live payloads), and updatedAt.
// A conversation with two public messages and one note: TEAM keys see 3, CONNECTOR keys 2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId, localId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { liveClient, sleep, startLiveServer, WAIT_MS, type LiveTestServer } from './support/ws.js';

let server: LiveTestServer;
let ws: SeededWorkspace;
let team: ReturnType<typeof client>;
let connector: ReturnType<typeof client>;
let connectorKey: string;
const live: ReturnType<typeof liveClient>[] = [];

beforeAll(async () => {
  server = await startLiveServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Counts');
  team = client(server.url, ws.key);
  connectorKey = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS'], userId: null })).secret;
  connector = client(server.url, connectorKey);
});
afterAll(async () => {
  await Promise.all(live.map((c) => c.dispose()));
  await server?.close();
});

let phones = 0;
async function mutate(name: string, input: Record<string, unknown>, selection: string): Promise<any> {
  const type = `${name[0]!.toUpperCase()}${name.slice(1)}`;
  const data = await team.ok(`mutation($input: ${type}Input!) { ${name}(input: $input) { __typename ... on Error { message } ... on ${type}Payload { ${selection} } } }`, { input });
  if (!data[name].__typename.endsWith('Payload')) throw new Error(JSON.stringify(data[name]));
  return data[name];
}

/** A conversation with one contact message; returns its global id and its contact's. */
async function newConversation() {
  const r = await mutate(
    'createConversation',
    {
      inboxId: globalId('Inbox', ws.inboxes.whatsapp.id),
      contact: { phone: `+1415777${String(1000 + ++phones)}` },
      message: { senderType: 'CONTACT', content: 'Hello' },
    },
    'conversation { id } contact { id }',
  );
  return { id: r.conversation.id as string, contactId: r.contact.id as string };
}
const send = (conversationId: string, input: Record<string, unknown>) =>
  mutate('sendMessage', { conversationId, ...input }, 'sentMessage { id }').then((r) => r.sentMessage.id as string);

const COUNTS = `query($id: ID!) { node(id: $id) { ... on Conversation {
  messageCount updatedAt
  timeline(first: 50) { edges { node { type before after } } } } } }`;

async function counts(api: ReturnType<typeof client>, id: string) {
  const node = (await api.ok(COUNTS, { id })).node;
  const events = node.timeline.edges.map((e: any) => e.node) as { type: string; before: any; after: any }[];
  return { messageCount: node.messageCount as number, updatedAt: node.updatedAt as string, events };
}

async function listedCount(api: ReturnType<typeof client>, id: string) {
  const data = await api.ok(`{ conversations(first: 100) { edges { node { id messageCount } } } }`);
  return data.conversations.edges.find((e: any) => e.node.id === id)?.node.messageCount;
}

const EVENTS = `subscription($filter: ConversationEventFilter) {
  conversationEvents(filter: $filter) { kind conversation { messageCount } event { type before after } }
}`;

async function follow(key: string, conversationId: string) {
  const c = liveClient(server.url, key);
  live.push(c);
  const joined = server.parley.live.stats.joined;
  const feed = c.subscribe(EVENTS, { filter: { conversation: conversationId } });
  const deadline = Date.now() + WAIT_MS;
  while (server.parley.live.stats.joined <= joined && !feed.results.length && !feed.error) {
    if (Date.now() > deadline) throw new Error('the subscription never reached the server');
    await sleep(5);
  }
  return feed;
}

describe('message counts and internal notes', () => {
  it('counts notes for TEAM keys only: the field, timeline events and live payloads', async () => {
    const { id } = await newConversation();
    const teamFeed = await follow(ws.key, id);
    const connectorFeed = await follow(connectorKey, id);
    const before = await counts(connector, id);

    await send(id, { senderType: 'HUMAN', content: 'VIP, be nice', private: true });
    // A note changes nothing a CONNECTOR key sees, updatedAt included.
    expect(await counts(connector, id)).toEqual(before);
    await send(id, { senderType: 'AI_AGENT', content: 'How can I help?' });

    expect((await counts(team, id)).messageCount).toBe(3);
    expect((await counts(connector, id)).messageCount).toBe(2);
    // The list builds its rows another way (one statement, JSON): the same rule holds.
    expect(await listedCount(team, id)).toBe(3);
    expect(await listedCount(connector, id)).toBe(2);

    // The timeline: TEAM keys get both figures, CONNECTOR keys the public one, by its plain name.
    const teamAdded = (await counts(team, id)).events.filter((e) => e.type === 'MESSAGE_ADDED');
    expect(teamAdded.map((e) => [e.before, e.after].map((v) => [v.messageCount, v.publicMessageCount]))).toEqual([
      [[0, 0], [1, 1]],
      [[1, 1], [2, 1]],
      [[2, 1], [3, 2]],
    ]);
    const connectorEvents = (await counts(connector, id)).events;
    const connectorAdded = connectorEvents.filter((e) => e.type === 'MESSAGE_ADDED');
    expect(connectorAdded.map((e) => [e.before.messageCount, e.after.messageCount])).toEqual([[0, 1], [1, 2]]);
    expect(JSON.stringify(connectorEvents)).not.toContain('publicMessageCount');

    // Live: the AI's message is the last event either key receives; the conversation is final then.
    const teamLive = (await teamFeed.take(2)).map((d) => d.conversationEvents);
    expect(teamLive[1]).toMatchObject({ kind: 'MESSAGE_ADDED', conversation: { messageCount: 3 }, event: { after: { messageCount: 3, publicMessageCount: 2 } } });
    const [connectorLive] = (await connectorFeed.take(1)).map((d) => d.conversationEvents);
    expect(connectorLive).toMatchObject({ kind: 'MESSAGE_ADDED', conversation: { messageCount: 2 }, event: { before: { messageCount: 1 }, after: { messageCount: 2 } } });
    expect(JSON.stringify(connectorLive)).not.toContain('publicMessageCount');
    await connectorFeed.nothingFor(100);
  });

  it('counts deletions the same way, and a deleted note leaves CONNECTOR keys none the wiser', async () => {
    const { id } = await newConversation();
    const note = await send(id, { senderType: 'HUMAN', content: 'Internal', private: true });
    const answer = await send(id, { senderType: 'AI_AGENT', content: 'Answer' });
    const seen = await counts(connector, id);

    await mutate('deleteMessage', { messageId: answer }, '__typename');
    const teamDeleted = (await counts(team, id)).events.find((e) => e.type === 'MESSAGE_DELETED')!;
    expect([teamDeleted.before.messageCount, teamDeleted.after.messageCount]).toEqual([3, 2]);
    const connectorDeleted = (await counts(connector, id)).events.find((e) => e.type === 'MESSAGE_DELETED')!;
    expect([connectorDeleted.before.messageCount, connectorDeleted.after.messageCount]).toEqual([2, 1]);
    expect(connectorDeleted.before.publicMessageCount).toBeUndefined();
    expect((await counts(connector, id)).messageCount).toBe(1);

    const afterAnswer = await counts(connector, id);
    await mutate('deleteMessage', { messageId: note }, '__typename');
    expect((await counts(team, id)).messageCount).toBe(1);
    expect(await counts(connector, id)).toEqual(afterAnswer);
    expect(seen.messageCount).toBe(2);
  });

  it('strips the figures with notes from the events a deletion leaves, read by node(id)', async () => {
    const { id, contactId } = await newConversation();
    await send(id, { senderType: 'HUMAN', content: 'Internal', private: true });
    await send(id, { senderType: 'AI_AGENT', content: 'Answer' });
    await mutate('deleteContact', { contactId }, '__typename');

    const rows = await server.db.prisma.event.findMany({
      where: { workspaceId: ws.workspaceId, OR: [{ conversationId: localId(id) }, { type: 'CONTACT_DELETED' }] },
      orderBy: { seq: 'asc' },
    });
    const conversationDeleted = rows.find((e) => e.type === 'CONVERSATION_DELETED')!;
    const contactDeleted = rows.filter((e) => e.type === 'CONTACT_DELETED').at(-1)!;
    const read = async (api: ReturnType<typeof client>, eventId: string) =>
      (await api.ok(`query($id: ID!) { node(id: $id) { ... on TimelineEvent { type before after } } }`, { id: globalId('TimelineEvent', eventId) })).node;

    expect((await read(team, conversationDeleted.id)).before).toMatchObject({ messageCount: 3, publicMessageCount: 2 });
    const forConnector = await read(connector, conversationDeleted.id);
    expect(forConnector.before.messageCount).toBe(2);
    expect(forConnector.before).not.toHaveProperty('publicMessageCount');

    expect((await read(team, contactDeleted.id)).after).toMatchObject({ conversations: 1, messages: 3, publicMessages: 2 });
    const erased = await read(connector, contactDeleted.id);
    expect(erased.after).toMatchObject({ conversations: 1, messages: 2 });
    expect(erased.after).not.toHaveProperty('publicMessages');
  });

  it('gives CONNECTOR keys no count from an event recorded before the public count existed', async () => {
    const { id } = await newConversation();
    const [event] = await server.db.prisma.event.findMany({ where: { conversationId: localId(id), type: 'MESSAGE_ADDED' } });
    // As the migration left events recorded before it: only the count with notes.
    await server.db.prisma.event.update({ where: { id: event!.id }, data: { before: { messageCount: 0, unreadCount: 0 }, after: { messageCount: 1, unreadCount: 1 } } });
    const read = async (api: ReturnType<typeof client>) =>
      (await api.ok(`query($id: ID!) { node(id: $id) { ... on TimelineEvent { before after } } }`, { id: globalId('TimelineEvent', event!.id) })).node;
    expect(await read(team)).toEqual({ before: { messageCount: 0, unreadCount: 0 }, after: { messageCount: 1, unreadCount: 1 } });
    expect(await read(connector)).toEqual({ before: { unreadCount: 0 }, after: { unreadCount: 1 } });
  });
});
