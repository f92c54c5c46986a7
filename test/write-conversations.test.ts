// The conversation mutations through the HTTP server: createConversation (contact by
// identity or id, first message, retries), updateConversation with expectedVersion,
// assignConversation, markConversationRead, recordSatisfaction, deleteConversation; the
// write scope; ids from another workspace or of another type; and a createConversation
// that fails after its first writes leaving nothing behind.
import type { CreateConversationInput } from './generated/graphql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  CONVERSATION,
  ERROR,
  events,
  expectNothingWritten,
  globalId,
  localId,
  newConversation,
  openWriteWorld,
  randomPhone,
  type Api,
  type SeededWorkspace,
  type TestServer,
} from './support/write-api.js';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { usePostgres } from './support/databases.js';
import { counters, seedWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;

beforeAll(async () => {
  ({ server, ws, other, a } = await openWriteWorld('Writer'));
});
afterAll(() => server?.close());

const inbox = (name: 'whatsapp' | 'email' | 'web', w = ws) => globalId('Inbox', w.inboxes[name].id);
const CREATE_SEL = `... on CreateConversationPayload { conversation { id number } contact { id } firstMessage { id } duplicate }
  ... on ValidationError { field } ... on NotFoundError { entity ref } ${ERROR}`;

describe('createConversation', () => {
  it('creates the contact from the identity the channel needs, with the first message and its counters', async () => {
    const phone = randomPhone();
    const created = await a.createConversation({
      inboxId: inbox('whatsapp'),
      contact: { phone: phone.replace(/^(\+\d)(\d{3})/, '$1 ($2) '), name: 'María' },
      subject: 'Double charge',
      priority: 'HIGH',
      customAttributes: { orderId: 'A-17' },
      message: { senderType: 'CONTACT', content: 'I was charged twice', providerMessageId: 'wamid.1' },
    });
    const c = created.conversation;
    expect(c).toMatchObject({ status: 'OPEN', controller: 'AI_AGENT', priority: 'HIGH', subject: 'Double charge', version: 1, customAttributes: { orderId: 'A-17' } });
    expect(c).toMatchObject({ messageCount: 1, unreadCount: 1, lastMessagePreview: 'I was charged twice', lastMessage: { id: created.firstMessage!.id } });
    expect(c.waitingSince).toBe(c.lastMessageAt);
    expect(created.duplicate).toBe(false);
    const contact = await server.db.prisma.contact.findUniqueOrThrow({ where: { id: localId(created.contact.id) }, include: { identities: true } });
    // The phone was normalised to E.164 and became the WhatsApp identity.
    expect(contact).toMatchObject({ name: 'María', phone });
    expect(contact.identities.map((i) => [i.channel, i.handle])).toEqual([['WHATSAPP', phone]]);
    const evs = await events(server.db.prisma, ws.workspaceId, c.id);
    expect(evs.map((e) => e.type)).toEqual(['CONVERSATION_CREATED', 'MESSAGE_ADDED']);
    expect(evs[1]!.actorType).toBe('CONTACT');
  });

  it('reuses a contact known by the identity, or by email or phone, and adds the new identity', async () => {
    const phone = randomPhone();
    const first = await a.createConversation({ inboxId: inbox('whatsapp'), contact: { phone } });
    const again = await a.createConversation({ inboxId: inbox('whatsapp'), contact: { phone, name: 'Named later' } });
    expect(again.contact.id).toBe(first.contact.id);
    expect(again.conversation.number).toBe(first.conversation.number + 1);
    // The same person writes by email, giving their phone too: same contact, new identity.
    const email = `p${Date.now()}@example.com`;
    const byEmail = await a.createConversation({ inboxId: inbox('email'), contact: { email: email.toUpperCase(), phone } });
    expect(byEmail.contact.id).toBe(first.contact.id);
    const contact = await server.db.prisma.contact.findUniqueOrThrow({ where: { id: localId(first.contact.id) }, include: { identities: { orderBy: { channel: 'asc' } } } });
    expect(contact).toMatchObject({ name: 'Named later', email, phone });
    expect(contact.identities.map((i) => i.channel).sort()).toEqual(['EMAIL', 'WHATSAPP']);
  });

  it('takes an existing contact by id, which needs the identity of the channel', async () => {
    const withPhone = await a.must('createContact', { name: 'Has phone', phone: randomPhone() }, '... on CreateContactPayload { contact { id } }');
    const c = await a.createConversation({ inboxId: inbox('whatsapp'), contactId: withPhone.contact.id });
    expect(c.contact.id).toBe(withPhone.contact.id);
    const noEmail = await a.mutate('createConversation', { inboxId: inbox('email'), contactId: withPhone.contact.id }, CREATE_SEL);
    expect(noEmail).toMatchObject({ __typename: 'ValidationError', field: 'input.contactId' });
    // Web chat visitors may be anonymous.
    const web = await a.createConversation({ inboxId: inbox('web'), contact: { name: 'Visitor' } });
    expect(web.conversation.number).toBeGreaterThan(0);
  });

  it('refuses bad input with typed errors and writes nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ inboxId: inbox('whatsapp'), contact: { name: 'No phone' } }, 'input.contact.phone'],
      [{ inboxId: inbox('whatsapp'), contact: { phone: '12345' } }, 'input.contact.phone'],
      [{ inboxId: inbox('email'), contact: { email: 'not-an-email' } }, 'input.contact.email'],
      [{ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, contactId: globalId('Contact', ws.admin.id) }, 'input.contact'],
      [{ inboxId: inbox('whatsapp') }, 'input.contact'],
      [{ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'CONTACT', content: '   ' } }, 'input.message.content'],
      [{ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'CONTACT', content: 'x'.repeat(64 * 1024 + 1) } }, 'input.message.content'],
    ];
    for (const [input, field] of cases) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        const result = await a.mutate('createConversation', input, CREATE_SEL);
        expect(result, JSON.stringify(input).slice(0, 200)).toMatchObject({ __typename: 'ValidationError', code: 'VALIDATION_FAILED', field });
      });
    }
  });

  it('answers an unknown, foreign or wrongly typed id with NotFoundError, and a malformed one with BAD_USER_INPUT', async () => {
    const phone = randomPhone();
    for (const [input, entity] of [
      [{ inboxId: inbox('whatsapp', other), contact: { phone } }, 'Inbox'],
      [{ inboxId: globalId('Label', ws.inboxes.whatsapp.id), contact: { phone } }, 'Inbox'],
      [{ inboxId: inbox('whatsapp'), contact: { phone }, labelIds: [globalId('Label', '01890000-0000-7000-8000-000000000000')] }, 'Label'],
      [{ inboxId: inbox('whatsapp'), contactId: globalId('Contact', '01890000-0000-7000-8000-000000000000') }, 'Contact'],
    ] as const) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        expect(await a.mutate('createConversation', input, CREATE_SEL)).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND', entity });
      });
    }
    const res = await a.request(`mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename } }`, {
      input: { inboxId: 'not-an-id', contact: { phone } },
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a createConversation that fails after its first writes leaves nothing: no contact, conversation, number or event', async () => {
    const before = await counters(server.db.prisma, ws.workspaceId);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      // The contact, its identity, the conversation, its number and two events are written
      // before the first message is checked; the message is refused, so all of it goes.
      const result = await a.mutate(
        'createConversation',
        {
          inboxId: inbox('whatsapp'),
          contact: { phone: randomPhone(), name: 'Ghost' },
          message: { senderType: 'CONTACT', content: 'hi', attachments: Array.from({ length: 21 }, (_, i) => ({ name: `f${i}`, url: 'https://x.test/f', mimeType: 'image/png', size: 1 })) },
        },
        CREATE_SEL,
      );
      expect(result).toMatchObject({ __typename: 'ValidationError', field: 'input.message.attachments' });
    });
    const after = await counters(server.db.prisma, ws.workspaceId);
    expect(after.conversationSeq).toBe(before.conversationSeq);
    expect(await server.db.prisma.contact.count({ where: { name: 'Ghost' } })).toBe(0);
  });

  it('a retry with the same provider message id or idempotency key returns the first conversation and writes nothing', async () => {
    const input = {
      inboxId: inbox('whatsapp'),
      contact: { phone: randomPhone() },
      message: { senderType: 'CONTACT', content: 'Retry me', providerMessageId: `wamid.${Date.now()}` },
    } satisfies CreateConversationInput;
    const first = await a.createConversation(input);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const again = await a.createConversation(input);
      expect(again).toMatchObject({ duplicate: true, conversation: { id: first.conversation.id }, firstMessage: { id: first.firstMessage!.id } });
    });
    const keyed = { inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'AI_AGENT', content: 'Hello', idempotencyKey: `k-${Date.now()}` } } satisfies CreateConversationInput;
    const k1 = await a.createConversation(keyed);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect((await a.createConversation(keyed)).conversation.id).toBe(k1.conversation.id);
      const conflict = await a.mutate('createConversation', { ...keyed, subject: 'different' }, `... on IdempotencyConflictError { idempotencyKey messageId } ${ERROR}`);
      expect(conflict).toMatchObject({ __typename: 'IdempotencyConflictError', idempotencyKey: keyed.message.idempotencyKey, messageId: k1.firstMessage!.id });
    });
  });

  it('settles concurrent deliveries of the same first message on one conversation and one contact', async () => {
    const input = {
      inboxId: inbox('whatsapp'),
      contact: { phone: randomPhone() },
      message: { senderType: 'CONTACT', content: 'Delivered four times at once', providerMessageId: `wamid.race.${Date.now()}` },
    } satisfies CreateConversationInput;
    const results = await Promise.all(Array.from({ length: 4 }, () => a.createConversation(input)));
    expect(new Set(results.map((r) => r.conversation.id)).size).toBe(1);
    expect(new Set(results.map((r) => r.contact.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(await server.db.prisma.contact.count({ where: { phone: input.contact.phone } })).toBe(1);
  });

  it('puts labels on a new conversation and hands out display numbers in order', async () => {
    const label = await a.must('createLabel', { name: `new-${Date.now()}` }, '... on CreateLabelPayload { label { id name } }');
    const one = await a.createConversation({ inboxId: inbox('web'), contact: {}, labelIds: [label.label.id] });
    const two = await a.createConversation({ inboxId: inbox('web'), contact: {} });
    expect(one.conversation.labels).toEqual([label.label]);
    expect(two.conversation.number).toBe(one.conversation.number + 1);
    const ws2 = await counters(server.db.prisma, ws.workspaceId);
    expect(ws2.conversationSeq).toBe(two.conversation.number);
  });
});

describe('updateConversation', () => {
  const SEL = `... on UpdateConversationPayload { conversation { ${CONVERSATION} } } ... on VersionConflictError { expectedVersion currentVersion } ... on ValidationError { field } ${ERROR}`;

  it('changes subject, priority and attributes, bumps the version once, and records events with before and after', async () => {
    const { conversation } = await newConversation(a, ws);
    const r = await a.mutate('updateConversation', { conversationId: conversation.id, expectedVersion: 1, subject: 'New subject', priority: 'URGENT', customAttributes: { tier: 'gold' } }, SEL);
    expect(r.conversation).toMatchObject({ subject: 'New subject', priority: 'URGENT', customAttributes: { tier: 'gold' }, version: 2 });
    const evs = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-2);
    expect(evs.map((e) => e.type)).toEqual(['PRIORITY_CHANGED', 'CONVERSATION_UPDATED']);
    expect(evs[0]).toMatchObject({ before: { priority: 'NONE' }, after: { priority: 'URGENT' }, actorType: 'USER', actorUserId: ws.admin.id });
    expect(evs[1]).toMatchObject({ before: { subject: null, customAttributes: {} }, after: { subject: 'New subject', customAttributes: { tier: 'gold' } } });
    // Sending a message does not change the version.
    await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'ok' });
    expect((await a.conversation(conversation.id)).version).toBe(2);
    // A change that changes nothing writes nothing.
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect((await a.mutate('updateConversation', { conversationId: conversation.id, priority: 'URGENT' }, SEL)).conversation.version).toBe(2);
    });
  });

  it('answers a stale expectedVersion with VersionConflictError and writes nothing', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.must('updateConversation', { conversationId: conversation.id, subject: 'First' }, SEL);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const r = await a.mutate('updateConversation', { conversationId: conversation.id, expectedVersion: 1, subject: 'Lost update' }, SEL);
      expect(r).toMatchObject({ __typename: 'VersionConflictError', code: 'VERSION_CONFLICT', expectedVersion: 1, currentVersion: 2 });
    });
    expect((await a.conversation(conversation.id)).subject).toBe('First');
  });
});

describe('assignConversation, markConversationRead, recordSatisfaction', () => {
  it('assigns and unassigns, keeping the note in the timeline', async () => {
    const { conversation } = await newConversation(a, ws);
    const SEL = `... on AssignConversationPayload { conversation { assignee { id } version } } ... on NotFoundError { entity } ${ERROR}`;
    const r = await a.mutate('assignConversation', { conversationId: conversation.id, assigneeId: globalId('User', ws.agent.id), note: 'VIP, be quick' }, SEL);
    expect(r.conversation).toEqual({ assignee: { id: globalId('User', ws.agent.id) }, version: 2 });
    const [assigned] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(assigned).toMatchObject({ type: 'ASSIGNED', before: { assigneeId: null }, after: { assigneeId: ws.agent.id }, note: 'VIP, be quick' });
    // The timeline names who did each thing: the key's user and the key; the contact for its message.
    const timeline = await a.ok(
      `query($id: ID!) { node(id: $id) { ... on Conversation { contact { id } timeline(first: 10) { edges { node { type actorType actorUser { id name } actorContact { id } actorApiKeyId } } } } } }`,
      { id: conversation.id },
    );
    const byType = Object.fromEntries(timeline.node.timeline.edges.map((e: any) => [e.node.type, e.node]));
    expect(byType.ASSIGNED).toEqual({
      type: 'ASSIGNED', actorType: 'USER', actorUser: { id: globalId('User', ws.admin.id), name: expect.any(String) }, actorContact: null, actorApiKeyId: globalId('ApiKey', ws.keyId),
    });
    expect(byType.MESSAGE_ADDED).toMatchObject({ actorType: 'CONTACT', actorUser: null, actorContact: { id: timeline.node.contact.id } });
    expect((await a.mutate('assignConversation', { conversationId: conversation.id, assigneeId: null }, SEL)).conversation).toEqual({ assignee: null, version: 3 });
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const foreign = await a.mutate('assignConversation', { conversationId: conversation.id, assigneeId: globalId('User', other.agent.id) }, SEL);
      expect(foreign).toMatchObject({ __typename: 'NotFoundError', entity: 'User' });
    });
  });

  it('markConversationRead resets the unread count', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.send(conversation.id, { senderType: 'CONTACT', content: 'second' });
    expect((await a.conversation(conversation.id)).unreadCount).toBe(2);
    const r = await a.must('markConversationRead', { conversationId: conversation.id }, '... on MarkConversationReadPayload { conversation { unreadCount version } }');
    expect(r.conversation).toEqual({ unreadCount: 0, version: 1 });
    const [ev] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(ev).toMatchObject({ type: 'CONVERSATION_READ', before: { unreadCount: 2 }, after: { unreadCount: 0 } });
  });

  it('records satisfaction requested on resolving, then the rating; a rating out of range is refused', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.must('resolveConversation', { conversationId: conversation.id, reason: 'ISSUE_RESOLVED', requestSatisfaction: true, note: 'Refunded' }, '... on ResolveConversationPayload { conversation { id } }');
    const SEL = `... on RecordSatisfactionPayload { conversation { satisfactionRequested satisfactionRating satisfactionComment resolutionNote resolutionReason } } ... on ValidationError { field } ${ERROR}`;
    for (const rating of [0, 6]) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        expect(await a.mutate('recordSatisfaction', { conversationId: conversation.id, rating }, SEL)).toMatchObject({ __typename: 'ValidationError', field: 'input.rating' });
      });
    }
    const r = await a.mutate('recordSatisfaction', { conversationId: conversation.id, rating: 4, comment: 'Quick, thanks' }, SEL);
    expect(r.conversation).toEqual({ satisfactionRequested: true, satisfactionRating: 4, satisfactionComment: 'Quick, thanks', resolutionNote: 'Refunded', resolutionReason: 'ISSUE_RESOLVED' });
  });
});

describe('deleteConversation', () => {
  it('removes the conversation and its messages; the CONVERSATION_DELETED event keeps the reason', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'reply' });
    const SEL = `... on DeleteConversationPayload { deletedConversationId } ... on ValidationError { field } ${ERROR}`;
    expect(await a.mutate('deleteConversation', { conversationId: conversation.id, reason: ' ' }, SEL)).toMatchObject({ __typename: 'ValidationError', field: 'input.reason' });
    const r = await a.mutate('deleteConversation', { conversationId: conversation.id, reason: 'Test data' }, SEL);
    expect(r).toEqual({ __typename: 'DeleteConversationPayload', deletedConversationId: conversation.id });
    const id = localId(conversation.id);
    expect(await server.db.prisma.conversation.count({ where: { id } })).toBe(0);
    expect(await server.db.prisma.message.count({ where: { conversationId: id } })).toBe(0);
    const evs = await events(server.db.prisma, ws.workspaceId, conversation.id);
    expect(evs.at(-1)).toMatchObject({ type: 'CONVERSATION_DELETED', after: { reason: 'Test data' } });
    expect(await a.conversation(conversation.id)).toBeNull();
    expect((await a.mutate('deleteConversation', { conversationId: conversation.id, reason: 'again' }, SEL)).__typename).toBe('NotFoundError');
  });
});

describe('the write scope and the workspace boundary', () => {
  it('refuses every conversation mutation to a key without write:conversations, with FORBIDDEN', async () => {
    const readOnly = await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS', 'WRITE_CONTACTS'] });
    const { conversation } = await newConversation(a, ws);
    const r = api(server.url, readOnly.secret);
    for (const [name, input] of [
      ['sendMessage', { conversationId: conversation.id, senderType: 'AI_AGENT', content: 'x' }],
      ['createConversation', { inboxId: inbox('web'), contact: {} }],
      ['resolveConversation', { conversationId: conversation.id, reason: 'SPAM' }],
      ['createLabel', { name: 'nope' }],
    ] as const) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        const res = await r.request(`mutation($input: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $input) { __typename } }`, { input });
        expect(res.errors?.[0]?.extensions?.code, name).toBe('FORBIDDEN');
        expect(res.errors?.[0]?.message).toContain('write:conversations');
      });
    }
    // Without a key at all: UNAUTHENTICATED.
    const anonymous = await api(server.url, '').request(`mutation { createLabel(input: { name: "x" }) { __typename } }`);
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // Contact mutations need write:contacts instead.
    const convOnly = api(server.url, (await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'] })).secret);
    const res = await convOnly.request(`mutation { createContact(input: { name: "x" }) { __typename } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.errors?.[0]?.message).toContain('write:contacts');
  });

  it("cannot touch another workspace's conversation: NotFoundError, nothing written", async () => {
    const theirs = await newConversation(api(server.url, other.key), other);
    const id = theirs.conversation.id;
    for (const [name, input] of [
      ['sendMessage', { conversationId: id, senderType: 'AI_AGENT', content: 'x' }],
      ['updateConversation', { conversationId: id, subject: 'x' }],
      ['assignConversation', { conversationId: id, assigneeId: null }],
      ['markConversationRead', { conversationId: id }],
      ['closeConversation', { conversationId: id }],
      ['deleteConversation', { conversationId: id, reason: 'x' }],
      ['startHumanHandoff', { conversationId: id }],
      ['addLabels', { conversationId: id, labelIds: [] }],
    ] as const) {
      await expectNothingWritten(server.db.prisma, other.workspaceId, async () => {
        const r = await a.mutate(name, input, `... on NotFoundError { entity ref } ${ERROR}`);
        expect(r, name).toMatchObject({ __typename: 'NotFoundError', entity: 'Conversation', ref: id });
      });
    }
  });
});

// Registered only in the PostgreSQL suite (npm run test:pg), which CI runs: PGlite has a
// single connection, so no other session can hold a lock against a mutation.
if (usePostgres) describe('a mutation that runs out of time (PostgreSQL)', () => {
  it('is stopped at its deadline, rolls back and answers TIMEOUT: nothing written, nothing published', async () => {
    const quick = await startTestServer({ env: { EXECUTION_TIMEOUT_MS: '3000', COST_BUDGET_PER_MINUTE: '0' } });
    const locker = new pg.Client({ connectionString: quick.database.url! });
    try {
      const w = await seedWorkspace(quick.db.prisma, 'Deadline');
      const b = api(quick.url, w.key);
      const { conversation } = await newConversation(b, w);
      const before = await quick.db.prisma.event.count({ where: { workspaceId: w.workspaceId } });
      // Another session holds the conversation's row: the mutation waits for it, and its
      // deadline (3 s: long enough for any mutation on a busy machine, short for a test) stops
      // the wait in PostgreSQL, while the row is still held.
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`SELECT "id" FROM "conversation" WHERE "id" = $1 FOR UPDATE`, [localId(conversation.id)]);
      const res = await Promise.race([
        b.request(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`, {
          input: { conversationId: conversation.id, senderType: 'HUMAN', content: 'too late' },
        }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the mutation was not stopped at its deadline')), 20_000)),
      ]);
      await locker.query('COMMIT');
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('TIMEOUT');
      expect(res.errors?.[0]?.message).toMatch(/rolled back: nothing was written/);
      expect(await quick.db.prisma.message.count({ where: { conversationId: localId(conversation.id), content: 'too late' } })).toBe(0);
      expect(await quick.db.prisma.event.count({ where: { workspaceId: w.workspaceId } })).toBe(before);
      // Once the row is free, the same mutation goes through.
      expect((await b.send(conversation.id, { senderType: 'HUMAN', content: 'in time' })).sentMessage?.content).toBe('in time');
    } finally {
      await locker.end().catch(() => {});
      await quick.close();
    }
  });
});

/** A deadline nothing in the watched tests waits for. */
const WATCHED_BUDGET = 60_000;

/**
 * PostgreSQL: a server whose every statement goes through the one connection watched here (a
 * pool of one, the workers idle, a long deadline), a workspace with a conversation, and two
 * sessions of the server's database beside it: `holder` holds rows, `watcher` reads
 * pg_stat_activity (outside any transaction: a transaction sees the statements' texts as they
 * were when it first looked). `waitingOnRow` returns the server's statement waiting for a row
 * the holder has: a wait for a row is a wait for its holder's transaction (or for the row,
 * behind another waiter). A statement waiting a moment on a lock of another kind is not the
 * one looked for: once, in a full run, the message insert was seen waiting on a lock (which
 * one, the run did not say: a relation's extension lock taken by autovacuum is one candidate).
 */
async function watchedServer(name: string) {
  const one = await startTestServer({
    env: { EXECUTION_TIMEOUT_MS: String(WATCHED_BUDGET), COST_BUDGET_PER_MINUTE: '0', DATABASE_POOL_SIZE: '1', ...IDLE_WORKERS },
  });
  const watcher = new pg.Client({ connectionString: one.database.url! });
  const holder = new pg.Client({ connectionString: one.database.url! });
  const close = async () => {
    await watcher.end().catch(() => {});
    await holder.end().catch(() => {});
    await one.close();
  };
  try {
    await watcher.connect();
    await holder.connect();
    const w = await seedWorkspace(one.db.prisma, name);
    const b = api(one.url, w.key);
    const { conversation } = await newConversation(b, w);
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const waitingOnRow = async (what: string) => {
      for (let i = 0; i < 3000; i++) {
        const { rows } = await watcher.query<{ pid: number; query: string; began_with_it: boolean }>(
          `SELECT pid, query, xact_start = query_start AS began_with_it FROM pg_stat_activity
           WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1) AND backend_type = 'client backend' AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')`,
          [holderPid],
        );
        if (rows.length) return rows[0]!;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`the mutation never waited for ${what}`);
    };
    return { one, watcher, holder, w, b, conversation, waitingOnRow, close };
  } catch (e) {
    await close();
    throw e;
  }
}

if (usePostgres) describe('the numbering statement sent with the COMMIT (PostgreSQL)', () => {
  // The workspace's counter row is taken by a transaction's last statement and held to its
  // commit. Sent as one simple query with the COMMIT, the row is held for the two alone, never
  // while the server reads an answer and sends the next statement (src/db/transaction-end.ts).
  it("takes the workspace's counter row only in the round trip that commits: a held row, once free, is committed with no step of the server; a failure there rolls back, answers TIMEOUT, and leaves the connection usable", async () => {
    const { one, watcher, holder, w, b, conversation, waitingOnRow, close } = await watchedServer('One trip');
    try {
      // Another session holds the workspace's counter row: a mutation does its work, then
      // waits for the row in the query that commits. Returns that query's text as PostgreSQL
      // shows it, and the server's connection.
      const heldAtTheEnd = async (content: string) => {
        await holder.query('BEGIN');
        expect((await holder.query(`SELECT 1 FROM "workspace_counter" WHERE "workspace_id" = $1 FOR UPDATE`, [w.workspaceId])).rowCount).toBe(1);
        const res = b.request(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename ... on SendMessagePayload { sentMessage { content } } } }`, {
          input: { conversationId: conversation.id, senderType: 'HUMAN', content },
        });
        return { res, ...(await waitingOnRow("the workspace's counter row")) };
      };

      // 1. The row is let go while this process (the server's too) is stopped in spawnSync:
      // another process sees the message committed meanwhile, so the numbering statement and
      // the COMMIT reached PostgreSQL together. Sent apart, the COMMIT would wait for the
      // server to read the statement's answer, and the other process would see nothing.
      const first = await heldAtTheEnd('committed while the server was stopped');
      // The timeouts again, to what is left of the deadline; then the numbering statement with
      // its values written in (a simple query: no $1 parameters).
      const commitQuery = /^SET LOCAL statement_timeout = (\d+); SET LOCAL lock_timeout = \1;\s*WITH s AS \(\s*INSERT INTO "workspace_counter"/.exec(first.query);
      expect(commitQuery, first.query).not.toBeNull();
      expect(Number(commitQuery![1])).toBeLessThanOrEqual(WATCHED_BUDGET);
      expect(first.query).not.toMatch(/\$1/);
      void holder.query('ROLLBACK'); // written to the socket now; answered after the stop
      const seen = spawnSync(
        process.execPath,
        [
          '-e',
          `const pg = require('pg'); (async () => { const c = new pg.Client({ connectionString: process.env.URL }); await c.connect();
           for (let i = 0; i < 1500; i++) { const r = await c.query("SELECT count(*)::int AS n FROM message WHERE content = 'committed while the server was stopped'");
             if (r.rows[0].n === 1) { await c.end(); process.exit(0); } await new Promise((r) => setTimeout(r, 20)); }
           process.exit(3); })().catch((e) => { console.error(e); process.exit(4); });`,
        ],
        { cwd: process.cwd(), env: { ...process.env, URL: one.database.url! }, encoding: 'utf8', timeout: 120_000 },
      );
      expect(seen.status, seen.stderr).toBe(0);
      const committed = await first.res;
      expect(committed.data?.sendMessage?.sentMessage?.content, JSON.stringify(committed)).toBe('committed while the server was stopped');

      // 2. The wait is cancelled there (as a statement timeout cancels it): the transaction is
      // rolled back, nothing is written, and the answer is TIMEOUT.
      const events = await one.db.prisma.event.count({ where: { workspaceId: w.workspaceId } });
      const second = await heldAtTheEnd('cancelled at the commit');
      await watcher.query('SELECT pg_cancel_backend($1)', [second.pid]);
      const res = await second.res;
      await holder.query('ROLLBACK');
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(res)).toBe('TIMEOUT');
      expect(await one.db.prisma.message.count({ where: { conversationId: localId(conversation.id), content: 'cancelled at the commit' } })).toBe(0);
      expect(await one.db.prisma.event.count({ where: { workspaceId: w.workspaceId } })).toBe(events);
      // The one connection was rolled back, not handed on in a failed transaction.
      const again = await b.send(conversation.id, { senderType: 'HUMAN', content: 'after the failure' });
      expect(again.sentMessage?.content, JSON.stringify(again)).toBe('after the failure');
      expect(await one.db.prisma.event.count({ where: { workspaceId: w.workspaceId } })).toBe(events + 1);
    } finally {
      await close();
    }
  });
});

// Registered only in the PostgreSQL suite (npm run test:pg), which CI runs: PGlite has a
// single connection, so its transactions never overlap and this would hold whatever the code.
if (usePostgres) describe('timeline order under concurrent transactions (PostgreSQL)', () => {
  // The timeline's cursors follow commit order: a reader that has seen cursor N never later
  // finds a new event at or before N. This is what lets subscribers resume with `after`.
  it('never shows a reader a new event at or before a cursor it has already passed', async () => {
    const conversations: string[] = [];
    for (let i = 0; i < 12; i++) conversations.push((await newConversation(a, ws, { text: null })).conversation.id);
    const start = (await counters(server.db.prisma, ws.workspaceId)).eventSeq;

    // The reader: reads what is past the start again and again, as a live feed catches up.
    const seen = new Set<bigint>();
    const late: bigint[] = [];
    let last = start;
    let writing = true;
    let readsDuringWrites = 0;
    const read = async () => {
      const rows = await server.db.prisma.event.findMany({ where: { workspaceId: ws.workspaceId, seq: { gt: start } }, select: { seq: true } });
      if (writing && rows.length > 0) readsDuringWrites++;
      for (const { seq } of rows) {
        if (seen.has(seq)) continue;
        if (seq <= last) late.push(seq); // committed after a later cursor was already visible
        seen.add(seq);
      }
      for (const s of seen) if (s > last) last = s;
    };
    const reader = (async () => {
      while (writing) await read();
    })();
    // The writers: three messages to each conversation, all at once.
    await Promise.all(conversations.flatMap((id) => [1, 2, 3].map((n) => a.send(id, { senderType: 'CONTACT', content: `message ${n}` }))));
    writing = false;
    await reader;
    await read();

    expect(late).toEqual([]);
    // The reader really read while the writes were committing (the check is not vacuous).
    expect(readsDuringWrites).toBeGreaterThan(0);
    // Every number after the start went to exactly one committed event: no holes.
    const numbers = [...seen].sort((x, y) => (x < y ? -1 : 1));
    expect(numbers).toHaveLength(conversations.length * 3);
    expect(numbers[0]).toBe(start + 1n);
    expect(numbers.at(-1)).toBe(start + BigInt(numbers.length));
  });

  // The workspace's sequence is taken as a transaction's last step, so a mutation that is slow
  // (here: waiting on another session's lock) after it has written rows and recorded events
  // does not hold up the rest of the workspace: writes to other conversations, and other
  // conversations being created, go through meanwhile. With the sequence taken at the first
  // event (the old way), both would wait for the slow one and end in TIMEOUT.
  it('does not serialise the writes of a workspace: two slow mutations on different conversations overlap', async () => {
    const other = (await newConversation(a, ws, { text: 'hello' })).conversation;
    const locker = new pg.Client({ connectionString: server.database.url! });
    await locker.connect();
    try {
      // Another session has stored, but not committed, a message with this provider id: the
      // unique index makes a second insert of it wait for that session.
      const providerMessageId = `wamid.slow.${randomPhone()}`;
      const host = localId((await newConversation(a, ws, { text: 'host' })).conversation.id);
      await locker.query('BEGIN');
      await locker.query(
        `INSERT INTO message (id, workspace_id, conversation_id, inbox_id, content, content_type, attachments, sender_type, private, status, provider_message_id, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, 'held', 'TEXT', '[]', 'CONTACT', false, 'RECEIVED', $4, now(), now())`,
        [ws.workspaceId, host, ws.inboxes.whatsapp.id, providerMessageId],
      );
      const seqBefore = (await counters(server.db.prisma, ws.workspaceId)).eventSeq;

      // The slow one: creates a contact and a conversation (events recorded), then waits on
      // the held provider id when it inserts its first message.
      let slowDone = false;
      const slow = a
        .createConversation({ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'CONTACT', content: 'slow', providerMessageId } })
        .finally(() => (slowDone = true));
      // Wait (by PostgreSQL's own account, not by a clock) until it is blocked on that lock.
      for (;;) {
        const waiting = await locker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event IN ('transactionid', 'tuple')`);
        if (waiting.rows[0].n > 0) break;
        if (slowDone) throw new Error(`the slow mutation ended before it blocked: ${JSON.stringify(await slow)}`);
        await new Promise((r) => setTimeout(r, 20));
      }

      // Meanwhile: a message to another conversation, and another conversation created.
      const sent = await a.send(other.id, { senderType: 'HUMAN', content: 'not queued behind the slow one' });
      const created = await a.createConversation({ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'CONTACT', content: 'fast' } });
      expect(sent.sentMessage?.content, JSON.stringify(sent)).toBe('not queued behind the slow one');
      expect(created.conversation?.number, JSON.stringify(created)).toBeGreaterThan(0);
      expect(slowDone).toBe(false);

      // The other session gives up its row: the slow one finishes, numbered after the fast
      // ones, which committed first.
      await locker.query('ROLLBACK');
      const slowResult = await slow;
      expect(slowResult.conversation?.number, JSON.stringify(slowResult)).toBe(created.conversation.number + 1);
      const events = await server.db.prisma.event.findMany({ where: { workspaceId: ws.workspaceId, seq: { gt: seqBefore } }, orderBy: { seq: 'asc' }, select: { seq: true, type: true, conversationId: true, after: true } });
      // Each CONVERSATION_CREATED event carries the number its conversation got at the commit.
      const createdNumbers = events.filter((e) => e.type === 'CONVERSATION_CREATED').map((e) => (e.after as { number: number }).number);
      expect(createdNumbers).toEqual([created.conversation.number, slowResult.conversation.number]);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => seqBefore + BigInt(i + 1)));
      const slowId = localId(slowResult.conversation.id);
      const firstSlow = events.findIndex((e) => e.conversationId === slowId);
      // The slow mutation's events come after every event of the two that overtook it.
      expect(events.slice(firstSlow).every((e) => e.conversationId === slowId || e.type === 'CONTACT_CREATED')).toBe(true);
      expect(events.slice(0, firstSlow).some((e) => e.conversationId === localId(other.id))).toBe(true);
      expect(events.slice(0, firstSlow).some((e) => e.conversationId === localId(created.conversation.id))).toBe(true);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      await locker.end().catch(() => {});
    }
  });
});

if (usePostgres) describe('the BEGIN sent with the first statement (PostgreSQL)', () => {
  // A mutation's BEGIN, with its timeouts, waits for the transaction's first statement and
  // goes with it as one simple query; the hottest statements skip Prisma's client
  // (src/db/transaction-end.ts, txRows).
  it('sends BEGIN, the timeouts and the conversation lock as one query, values written in as literals and quoted; a receipt found by a provider id full of quotes and backslashes', async () => {
    const { one, holder, w, b, conversation, waitingOnRow, close } = await watchedServer('First trip');
    try {
      // Another session holds the conversation's row: the mutation waits in its first query.
      await holder.query('BEGIN');
      expect((await holder.query(`SELECT 1 FROM "conversation" WHERE "id" = $1 FOR UPDATE`, [localId(conversation.id)])).rowCount).toBe(1);
      const res = b.send(conversation.id, { senderType: 'HUMAN', content: 'after the wait' });
      const waiting = await waitingOnRow("the conversation's row");
      // (PostgreSQL shows the first 1,024 bytes of a query: the row's columns, not yet its WHERE.)
      const first = /^BEGIN; SET LOCAL statement_timeout = (\d+); SET LOCAL lock_timeout = \1;\s*SELECT json_build_object\('id', c\."id"/.exec(waiting.query);
      expect(first, waiting.query).not.toBeNull();
      expect(Number(first![1])).toBeLessThanOrEqual(WATCHED_BUDGET);
      expect(waiting.query).not.toMatch(/\$1/);
      // The transaction began with that query, not in a round trip of its own before it.
      expect(waiting.began_with_it).toBe(true);
      await holder.query('ROLLBACK');
      expect((await res).sentMessage?.content).toBe('after the wait');

      // Values written into the first statement are quoted: a provider id made of quotes,
      // backslashes and a comment finds its message, and only it.
      const tricky = `it's \\' a \\\\ test'); DELETE FROM message; -- ${randomPhone()}`;
      const out = await b.send(conversation.id, { senderType: 'AI_AGENT', content: 'Out', providerMessageId: tricky });
      const receipt = await b.mutate(
        'updateMessageStatus',
        { inboxId: globalId('Inbox', w.inboxes.whatsapp.id), providerMessageId: tricky, status: 'DELIVERED' },
        `... on UpdateMessageStatusPayload { updatedMessage { id status } applied } ${ERROR}`,
      );
      expect(receipt).toMatchObject({ applied: true, updatedMessage: { id: out.sentMessage!.id, status: 'DELIVERED' } });
      expect(await one.db.prisma.message.count({ where: { workspaceId: w.workspaceId } })).toBe(3);
    } finally {
      await close();
    }
  });
});
