// Live events through a real graphql-ws client, caused by real mutations over HTTP: every
// event kind, filters (including the event that takes a conversation out of one), the
// thread feed, workspace isolation, internal notes, the after-commit rule, resuming with
// `after`, shared execution, and a revoked key. On PGlite, and on PostgreSQL with Redis
// carrying the events (npm run test:pg).
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationEventsDocument, type ConversationEventsSubscription, type ConversationEventsSubscriptionVariables } from './generated/graphql.js';
import { client, globalId, localId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { liveClient, sleep, startLiveServer, type Feed, type LiveTestServer } from './support/ws.js';

let server: LiveTestServer;
let ws: SeededWorkspace;
let api: ReturnType<typeof client>;
const queries: string[] = [];
const live: ReturnType<typeof liveClient>[] = [];

beforeAll(async () => {
  server = await startLiveServer({ liveLimits: { keyCheckMs: 200 }, start: { onQuery: (sql) => queries.push(sql) } });
  ws = await seedWorkspace(server.db.prisma, 'Live workspace');
  api = client(server.url, ws.key);
});
afterAll(async () => {
  await Promise.all(live.map((c) => c.dispose()));
  await server?.close();
});

function connect(key = ws.key) {
  const c = liveClient(server.url, key);
  live.push(c);
  return c;
}

// The typed document of test/operations/conversation-events.graphql: the events' fields and
// the filter's variables are checked against the schema when the tests typecheck.
type Events = ConversationEventsSubscription;
type Ev = NonNullable<Events['conversationEvents']>;
const ev = (d: Events): Ev => d.conversationEvents!;

/** Subscribes and waits until the server has the subscription, so no event can slip past. */
async function follow(c: ReturnType<typeof liveClient>, variables?: ConversationEventsSubscriptionVariables): Promise<Feed<Events>>;
async function follow(c: ReturnType<typeof liveClient>, variables: Record<string, unknown>, query: string): Promise<Feed<any>>;
async function follow(c: ReturnType<typeof liveClient>, variables: Record<string, unknown> = {}, query: string | typeof ConversationEventsDocument = ConversationEventsDocument) {
  const before = server.parley.live.stats.joined;
  const feed = c.subscribe<any>(query, variables);
  const deadline = Date.now() + 5000;
  while (server.parley.live.stats.joined <= before) {
    if (Date.now() > deadline) throw new Error('the subscription never reached the server');
    if (feed.results.length || feed.error) break;
    await sleep(5);
  }
  return feed;
}

let phones = 0;
const phone = () => `+1415555${String(1000 + ++phones).padStart(4, '0')}`;

async function mutate(name: string, input: Record<string, unknown>, selection = '__typename', key?: string): Promise<any> {
  const typeName = `${name[0]!.toUpperCase()}${name.slice(1)}Payload`;
  const data = await (key ? client(server.url, key) : api).ok(
    `mutation($input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $input) { __typename ... on Error { message } ... on ${typeName} { ${selection} } } }`,
    { input },
  );
  return data[name];
}

async function newConversation(inbox: { id: string } = ws.inboxes.whatsapp, extra: Record<string, unknown> = {}) {
  const r = await mutate('createConversation', { inboxId: globalId('Inbox', inbox.id), contact: { phone: phone() }, ...extra }, 'conversation { id }');
  if (r.__typename !== 'CreateConversationPayload') throw new Error(JSON.stringify(r));
  return r.conversation.id as string;
}

async function send(conversationId: string, content: string, extra: Record<string, unknown> = {}) {
  const r = await mutate('sendMessage', { conversationId, content, senderType: 'HUMAN', ...extra }, 'sentMessage { id }');
  if (r.__typename !== 'SendMessagePayload') throw new Error(JSON.stringify(r));
  return r.sentMessage.id as string;
}

describe('conversationEvents', () => {
  it('delivers every kind of conversation event, in order, with the conversation as it is now', async () => {
    const c = connect();
    const feed = await follow(c);
    const label = (await mutate('createLabel', { name: 'vip' }, 'label { id }')).label.id;

    const id = await newConversation(ws.inboxes.whatsapp);
    const created = ev(await feed.nextData());
    expect(created).toMatchObject({ kind: 'CONVERSATION_CREATED', conversationId: id, conversation: { id, status: 'OPEN' }, message: null, event: { type: 'CONVERSATION_CREATED' } });

    const messageId = await send(id, 'Hello there');
    const added = ev(await feed.nextData());
    expect(added).toMatchObject({ kind: 'MESSAGE_ADDED', message: { id: messageId, content: 'Hello there', private: false } });
    expect(BigInt(added.cursor)).toBeGreaterThan(BigInt(created.cursor));

    await mutate('updateMessageStatus', { messageId, status: 'DELIVERED' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'MESSAGE_STATUS_CHANGED', message: { id: messageId, status: 'DELIVERED' } });

    await mutate('assignConversation', { conversationId: id, assigneeId: globalId('User', ws.agent.id), note: 'yours' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'ASSIGNED', conversation: { assignee: { id: globalId('User', ws.agent.id) } }, event: { note: 'yours' } });

    await mutate('setLabels', { conversationId: id, labelIds: [label] });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'LABELS_CHANGED', conversation: { labels: [{ name: 'vip' }] } });

    await mutate('updateConversation', { conversationId: id, priority: 'HIGH' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'PRIORITY_CHANGED', conversation: { priority: 'HIGH' } });

    await mutate('startHumanHandoff', { conversationId: id, summary: 'wants a refund' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'HANDOFF_STARTED', conversation: { controller: 'HUMAN' } });

    await mutate('stopHumanHandoff', { conversationId: id });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'HANDOFF_COMPLETED', conversation: { controller: 'AI_AGENT' } });

    await mutate('snoozeConversation', { conversationId: id, until: new Date(Date.now() + 3_600_000).toISOString() });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'SNOOZED', conversation: { status: 'SNOOZED' } });

    await mutate('reopenConversation', { conversationId: id });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'STATUS_CHANGED', conversation: { status: 'OPEN' } });

    await mutate('resolveConversation', { conversationId: id, reason: 'ISSUE_RESOLVED' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'RESOLVED', conversation: { status: 'RESOLVED' } });

    await mutate('deleteMessage', { messageId });
    const deleted = ev(await feed.nextData());
    expect(deleted).toMatchObject({ kind: 'MESSAGE_DELETED', message: { id: messageId, content: null } });
    expect(deleted.message!.deletedAt).not.toBeNull();

    await mutate('deleteConversation', { conversationId: id, reason: 'test' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'CONVERSATION_DELETED', conversationId: id, conversation: null, event: { type: 'CONVERSATION_DELETED' } });

    // Label events concern no single conversation: not carried here.
    await mutate('updateLabel', { labelId: label, name: 'very important' });
    await feed.nothingFor(300);
  });

  it('follows one conversation', async () => {
    const a = await newConversation();
    const b = await newConversation();
    const feed = await follow(connect(), { filter: { conversation: a } });
    await send(b, 'to b');
    await send(a, 'to a');
    expect(ev(await feed.nextData())).toMatchObject({ conversationId: a, message: { content: 'to a' } });
    await feed.nothingFor(200);
  });

  it('filters by inbox and channel', async () => {
    const c = connect();
    const byInbox = await follow(c, { filter: { inboxes: [globalId('Inbox', ws.inboxes.web.id)] } });
    const byChannel = await follow(c, { filter: { channels: ['WEB_CHAT'] } });
    await newConversation(ws.inboxes.whatsapp);
    const web = await newConversation(ws.inboxes.web, { contact: { handle: `visitor-${phone()}` } });
    expect(ev(await byInbox.nextData()).conversationId).toBe(web);
    expect(ev(await byChannel.nextData()).conversationId).toBe(web);
    await byInbox.nothingFor(200);
    await byChannel.nothingFor(0);
  });

  it('delivers the event that takes a conversation out of a status filter, then nothing more of it', async () => {
    const id = await newConversation();
    const feed = await follow(connect(), { filter: { status: ['OPEN'], conversation: id } });
    await mutate('resolveConversation', { conversationId: id, reason: 'ISSUE_RESOLVED' });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'RESOLVED', conversation: { status: 'RESOLVED' } });
    await mutate('assignConversation', { conversationId: id, assigneeId: globalId('User', ws.agent.id) });
    await feed.nothingFor(200);
    // Back in: reopened, it matches again (as it is after the event).
    await mutate('reopenConversation', { conversationId: id });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'STATUS_CHANGED', conversation: { status: 'OPEN' } });
  });

  it('filters by assignee: a user, unassigned, me', async () => {
    const meKey = await ws.makeKey({ userId: ws.agent.id });
    const c = connect(meKey.secret);
    const mine = await follow(c, { filter: { assignee: { me: true } } });
    const unassigned = await follow(c, { filter: { assignee: { unassigned: true } } });
    const admins = await follow(c, { filter: { assignee: { users: [globalId('User', ws.admin.id)] } } });

    const id = await newConversation();
    expect(ev(await unassigned.nextData())).toMatchObject({ kind: 'CONVERSATION_CREATED', conversationId: id });
    await mutate('assignConversation', { conversationId: id, assigneeId: globalId('User', ws.agent.id) });
    // Assigned to me: mine gets it; unassigned gets it too, as the event that takes it out.
    expect(ev(await mine.nextData())).toMatchObject({ kind: 'ASSIGNED', conversationId: id });
    expect(ev(await unassigned.nextData())).toMatchObject({ kind: 'ASSIGNED', conversationId: id });
    await send(id, 'still mine');
    expect(ev(await mine.nextData())).toMatchObject({ kind: 'MESSAGE_ADDED' });
    await unassigned.nothingFor(200);
    await admins.nothingFor(0);
    await mutate('assignConversation', { conversationId: id, assigneeId: globalId('User', ws.admin.id) });
    expect(ev(await admins.nextData())).toMatchObject({ kind: 'ASSIGNED', conversation: { assignee: { id: globalId('User', ws.admin.id) } } });
    expect(ev(await mine.nextData())).toMatchObject({ kind: 'ASSIGNED' });
  });

  it('refuses assignee.me for a key that acts as no user', async () => {
    const k = await ws.makeKey({ userId: null });
    const feed = connect(k.secret).subscribe(ConversationEventsDocument, { filter: { assignee: { me: true } } });
    expect((await feed.next()).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('filters by label, priority and controller', async () => {
    const urgent = (await mutate('createLabel', { name: 'urgent-ish' }, 'label { id }')).label.id;
    const c = connect();
    const byLabel = await follow(c, { filter: { labels: { anyOf: [urgent] } } });
    const byPriority = await follow(c, { filter: { priorities: ['URGENT'] } });
    const byController = await follow(c, { filter: { controller: 'HUMAN' } });
    const id = await newConversation();
    await send(id, 'nothing matches yet');
    await mutate('setLabels', { conversationId: id, labelIds: [urgent] });
    expect(ev(await byLabel.nextData())).toMatchObject({ kind: 'LABELS_CHANGED', conversationId: id });
    await mutate('updateConversation', { conversationId: id, priority: 'URGENT' });
    expect(ev(await byPriority.nextData())).toMatchObject({ kind: 'PRIORITY_CHANGED' });
    expect(ev(await byLabel.nextData())).toMatchObject({ kind: 'PRIORITY_CHANGED' });
    await mutate('startHumanHandoff', { conversationId: id });
    expect(ev(await byController.nextData())).toMatchObject({ kind: 'HANDOFF_STARTED', conversation: { controller: 'HUMAN' } });
    await byController.nothingFor(100);
  });
});

describe('messageAdded', () => {
  const THREAD = `subscription($id: ID!, $after: String) { messageAdded(conversationId: $id, after: $after) { cursor message { id content private } } }`;

  it("is the thread's feed: that conversation's new messages only", async () => {
    const a = await newConversation();
    const b = await newConversation();
    const feed = await follow(connect(), { id: a }, THREAD);
    await send(b, 'elsewhere');
    await mutate('assignConversation', { conversationId: a, assigneeId: globalId('User', ws.agent.id) });
    await send(a, 'first');
    await send(a, 'second', { senderType: 'CONTACT' });
    const got = await feed.take(2);
    expect(got.map((g: any) => g.messageAdded.message.content)).toEqual(['first', 'second']);
    await feed.nothingFor(200);
  });

  it('answers NOT_FOUND for a conversation of another workspace', async () => {
    const other = await seedWorkspace(server.db.prisma, 'Other for thread');
    const theirs = await newConversation();
    const feed = connect(other.key).subscribe(THREAD, { id: theirs });
    expect((await feed.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('who sees what', () => {
  it("keeps each workspace's events to itself", async () => {
    const other = await seedWorkspace(server.db.prisma, 'Other workspace');
    const theirs = await follow(connect(other.key));
    const ours = await follow(connect());
    const id = await newConversation();
    await send(id, 'private to workspace A');
    await ours.take(2);
    await theirs.nothingFor(300);
    // Their own events do reach them.
    const r = await mutate('createConversation', { inboxId: globalId('Inbox', other.inboxes.whatsapp.id), contact: { phone: phone() } }, 'conversation { id }', other.key);
    expect(ev(await theirs.nextData()).conversationId).toBe(r.conversation.id);
  });

  it('shows internal notes (and event notes) to TEAM keys only, never to CONNECTOR keys', async () => {
    const connector = await ws.makeKey({ kind: 'CONNECTOR', userId: null, scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'] });
    const id = await newConversation();
    const team = await follow(connect(), { filter: { conversation: id } });
    const conn = await follow(connect(connector.secret), { filter: { conversation: id } });
    const THREAD = `subscription($id: ID!) { messageAdded(conversationId: $id) { message { content private } } }`;
    const teamThread = await follow(connect(), { id }, THREAD);
    const connThread = await follow(connect(connector.secret), { id }, THREAD);

    await send(id, 'note: customer is angry', { private: true });
    await mutate('assignConversation', { conversationId: id, assigneeId: globalId('User', ws.agent.id), note: 'handle with care' });
    await send(id, 'public reply');

    const teamSaw = await team.take(3);
    expect(teamSaw.map((d) => [ev(d).kind, ev(d).message?.private ?? null, ev(d).event!.note])).toEqual([
      ['MESSAGE_ADDED', true, null],
      ['ASSIGNED', null, 'handle with care'],
      ['MESSAGE_ADDED', false, null],
    ]);
    const connectorSaw = await conn.take(2);
    expect(connectorSaw.map((d) => [ev(d).kind, ev(d).message?.content ?? null, ev(d).event!.note])).toEqual([
      ['ASSIGNED', null, null],
      ['MESSAGE_ADDED', 'public reply', null],
    ]);
    await conn.nothingFor(200);
    expect((await teamThread.take(2)).map((d: any) => d.messageAdded.message.content)).toEqual(['note: customer is angry', 'public reply']);
    expect((await connThread.take(1)).map((d: any) => d.messageAdded.message.content)).toEqual(['public reply']);
    await connThread.nothingFor(100);
  });
});

describe('events are published only after commit', () => {
  it('a failed mutation emits nothing, and cursors have no gap', async () => {
    const id = await newConversation();
    const feed = await follow(connect(), { filter: { conversation: id } });
    await send(id, 'before');
    const first = ev(await feed.nextData());
    // Refused after it started: the AI may not talk while a human is in control.
    await mutate('startHumanHandoff', { conversationId: id });
    const handoff = ev(await feed.nextData());
    const refused = await mutate('sendMessage', { conversationId: id, content: 'AI talking over the human', senderType: 'AI_AGENT' }, 'sentMessage { id }');
    expect(refused.__typename).toBe('HumanInControlError');
    const invalid = await mutate('snoozeConversation', { conversationId: id, until: new Date(Date.now() - 1000).toISOString() });
    expect(invalid.__typename).toBe('ValidationError');
    await feed.nothingFor(300);
    await send(id, 'after');
    const last = ev(await feed.nextData());
    expect(last.message?.content).toBe('after');
    expect(BigInt(handoff.cursor)).toBe(BigInt(first.cursor) + 1n);
    expect(BigInt(last.cursor)).toBe(BigInt(handoff.cursor) + 1n);
  });
});

describe('resuming with after', () => {
  it('replays what was missed from the timeline, then goes live, with no gap and no duplicate', async () => {
    const id = await newConversation();
    const first = await follow(connect(), { filter: { conversation: id } });
    await send(id, 'one');
    const seen = ev(await first.nextData());
    first.unsubscribe();
    await send(id, 'two');
    await send(id, 'three');
    await mutate('resolveConversation', { conversationId: id, reason: 'ISSUE_RESOLVED' });

    const resumed = connect().subscribe(ConversationEventsDocument, { filter: { conversation: id }, after: seen.cursor });
    const replayed = (await resumed.take(3)).map(ev);
    expect(replayed.map((e) => e.message?.content ?? e.kind)).toEqual(['two', 'three', 'RESOLVED']);
    await send(id, 'four');
    expect(ev(await resumed.nextData()).message?.content).toBe('four');
    await resumed.nothingFor(200);
    const cursors = [...replayed.map((e) => BigInt(e.cursor))];
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : 1)));
  });

  it('with events committed while the replay runs, still delivers each once, in order', async () => {
    const id = await newConversation();
    const base = await follow(connect(), { filter: { conversation: id } });
    await send(id, 'm0');
    const from = ev(await base.nextData()).cursor;
    for (let i = 1; i <= 30; i++) await send(id, `m${i}`);
    const resumed = connect().subscribe(ConversationEventsDocument, { filter: { conversation: id }, after: from });
    const writes = (async () => {
      for (let i = 31; i <= 50; i++) await send(id, `m${i}`);
    })();
    const got = (await resumed.take(50, 15_000)).map((d) => ev(d).message?.content);
    await writes;
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i + 1}`));
    await resumed.nothingFor(200);
  });

  it('a resumed subscriber joins the group of the others', async () => {
    const id = await newConversation();
    const c = connect();
    const a = await follow(c, { filter: { conversation: id } });
    await send(id, 'x');
    const cursor = ev(await a.nextData()).cursor;
    const groupsBefore = server.parley.live.stats.groups;
    const b = c.subscribe(ConversationEventsDocument, { filter: { conversation: id }, after: cursor });
    await sleep(200);
    expect(server.parley.live.stats.groups).toBe(groupsBefore);
    await send(id, 'y');
    expect(ev(await a.nextData()).message?.content).toBe('y');
    expect(ev(await b.nextData()).message?.content).toBe('y');
  });
});

describe('erasing a contact', () => {
  it('tells a filtered live list that each of its conversations is gone', async () => {
    const c = connect();
    const feed = await follow(c, { filter: { inboxes: [globalId('Inbox', ws.inboxes.whatsapp.id)], status: ['OPEN'] } });
    const first = await newConversation(ws.inboxes.whatsapp);
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'CONVERSATION_CREATED', conversationId: first });
    const row = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(first) } });
    const contact = await server.db.prisma.contact.findUniqueOrThrow({ where: { id: row.contactId }, select: { phone: true } });
    const second = await newConversation(ws.inboxes.whatsapp, { contact: { phone: contact.phone } });
    expect(ev(await feed.nextData())).toMatchObject({ kind: 'CONVERSATION_CREATED', conversationId: second });
    await mutate('deleteContact', { contactId: globalId('Contact', row.contactId) });
    const gone = [ev(await feed.nextData()), ev(await feed.nextData())];
    expect(gone.map((e) => [e.kind, e.conversationId, e.conversation])).toEqual([
      ['CONVERSATION_DELETED', first, null],
      ['CONVERSATION_DELETED', second, null],
    ]);
    await feed.nothingFor(200);
  });
});

describe('erased events', () => {
  it('skips a number whose event was erased before this process passed it on, live and on resume', async () => {
    const id = await newConversation();
    const c = connect();
    const a = await follow(c, { filter: { conversation: id } });
    await send(id, 'before the hole');
    const before = ev(await a.nextData()).cursor;
    // What an erased event leaves (deleting a contact erases its history, perhaps before a
    // publication from another process arrived): its number is taken, its row is gone.
    await server.db.prisma.$executeRaw`UPDATE "workspace_counter" SET "event_seq" = "event_seq" + 1 WHERE "workspace_id" = ${ws.workspaceId}::uuid`;
    await send(id, 'after the hole');
    expect(ev(await a.nextData()).message?.content).toBe('after the hole');
    await send(id, 'and the next');
    expect(ev(await a.nextData()).message?.content).toBe('and the next');
    // A subscriber resuming from before the hole gets both, from the process's recent events.
    const b = c.subscribe(ConversationEventsDocument, { filter: { conversation: id }, after: before });
    expect(ev(await b.nextData()).message?.content).toBe('after the hole');
    expect(ev(await b.nextData()).message?.content).toBe('and the next');
  });
});

describe('shared execution', () => {
  it('resolves an event once for all subscribers of the same operation, variables and visibility', async () => {
    const id = await newConversation();
    const countFor = async (subscribers: number, label: string) => {
      const c = connect();
      const feeds = [];
      for (let i = 0; i < subscribers; i++) feeds.push(await follow(c, { filter: { conversation: id } }));
      await sleep(100);
      queries.length = 0;
      await send(id, label);
      for (const f of feeds) expect(ev(await f.nextData()).message?.content).toBe(label);
      await sleep(100);
      // Periodic checks (keys, each workspace's last cursor) may fall in the window either way.
      const n = queries.filter((q) => !/api_key|event_seq/.test(q)).length;
      for (const f of feeds) f.unsubscribe();
      await c.dispose();
      return n;
    };
    const one = await countFor(1, 'for one');
    const thirty = await countFor(30, 'for thirty');
    expect(thirty).toBe(one);
  });

  it('keeps keys of different visibility apart', async () => {
    const connector = await ws.makeKey({ kind: 'CONNECTOR', userId: null });
    const id = await newConversation();
    const before = server.parley.live.stats.groups;
    await follow(connect(), { filter: { conversation: id } });
    await follow(connect(connector.secret), { filter: { conversation: id } });
    expect(server.parley.live.stats.groups).toBe(before + 2);
  });
});

describe('a revoked key', () => {
  it('stops receiving events: its connections close with 4403', async () => {
    const k = await ws.makeKey();
    const c = connect(k.secret);
    const id = await newConversation();
    const feed = await follow(c, { filter: { conversation: id } });
    await send(id, 'while valid');
    expect(ev(await feed.nextData()).message?.content).toBe('while valid');
    await server.db.prisma.apiKey.update({ where: { id: k.id }, data: { revokedAt: new Date() } });
    const error = (await feed.failure(3000)) as { code: number; reason: string };
    expect(error).toMatchObject({ code: 4403, reason: 'Forbidden: The API key has been revoked.' });
    await send(id, 'after revocation');
    await feed.nothingFor(200);
    expect(feed.results).toHaveLength(1);
  });
});

describe('GraphQL over SSE', () => {
  it('delivers the same events to a subscription over server-sent events, resuming with after', async () => {
    const id = await newConversation();
    await send(id, 'before the stream');
    const [first] = await server.db.prisma.event.findMany({ where: { conversationId: localId(id), type: 'MESSAGE_ADDED' }, orderBy: { seq: 'asc' } });
    const controller = new AbortController();
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': ws.key },
      body: JSON.stringify({ query: print(ConversationEventsDocument), variables: { filter: { conversation: id }, after: String(BigInt(first!.seq) - 1n) } }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const received: Ev[] = [];
    let buffer = '';
    const readEvents = async (n: number) => {
      while (received.length < n) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buffer += new TextDecoder().decode(value);
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (block.startsWith('event: next') && data) received.push(JSON.parse(data.slice(6)).data.conversationEvents);
        }
      }
    };
    await readEvents(1);
    await send(id, 'during the stream');
    await readEvents(2);
    expect(received.map((e) => e.message?.content)).toEqual(['before the stream', 'during the stream']);
    controller.abort();
  });
});
