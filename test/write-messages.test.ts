// Messages through the HTTP server: counters kept in step with every kind of message,
// internal notes, provider id dedupe, idempotency keys, the AI muted while a human is in
// control, a contact's message reopening or (on ARCHIVED) starting a conversation,
// content rules, delivery receipts out of order, and soft deletion.
import type { SendMessageInput } from './generated/graphql.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  ERROR,
  events,
  expectNothingWritten,
  globalId,
  localId,
  newConversation,
  openWriteWorld,
  type Api,
  type SeededWorkspace,
  type TestServer,
} from './support/write-api.js';
import { IDLE_WORKERS } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;
let connector: Api;

beforeAll(async () => {
  // No background statement (a snooze wake, a key looked up again) lands in a statement count.
  ({ server, ws, other, a } = await openWriteWorld('Messages', { ...IDLE_WORKERS, AUTH_CACHE_MS: '60000' }));
  const key = await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS'], userId: null });
  connector = api(server.url, key.secret);
});
afterAll(() => server?.close());

const SEND = `... on SendMessagePayload { sentMessage { id status private content } conversation { id status messageCount unreadCount lastMessagePreview lastMessage { id } } duplicate }
  ... on ValidationError { field } ... on NotFoundError { entity } ... on IdempotencyConflictError { idempotencyKey messageId }
  ... on HumanInControlError { conversationId handoffId } ... on ConversationArchivedError { conversationId } ${ERROR}`;

async function row(id: string) {
  return server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(id) } });
}

describe('sendMessage: counters', () => {
  it('keeps every counter in step: contact, AI, internal note, human, system', async () => {
    const { conversation } = await newConversation(a, ws, { text: 'First question' });
    let c = await row(conversation.id);
    const asked = c.waitingSince!;
    expect(c).toMatchObject({ messageCount: 1, unreadCount: 1, firstResponseAt: null, lastMessageSenderType: 'CONTACT' });

    await a.send(conversation.id, { senderType: 'CONTACT', content: 'Hello??' });
    c = await row(conversation.id);
    expect(c).toMatchObject({ messageCount: 2, unreadCount: 2, waitingSince: asked, lastMessagePreview: 'Hello??' });

    const ai = await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Hi! Let me look.' });
    c = await row(conversation.id);
    expect(c).toMatchObject({ messageCount: 3, unreadCount: 0, waitingSince: null, firstHumanResponseAt: null, lastMessageSenderType: 'AI_AGENT' });
    expect(c.firstResponseAt).not.toBeNull();
    const firstResponse = c.firstResponseAt;
    expect(ai.sentMessage).toMatchObject({ status: 'PENDING', private: false });

    // An internal note counts as a message and changes nothing else.
    await a.send(conversation.id, { senderType: 'CONTACT', content: 'Any news?' });
    const beforeNote = await row(conversation.id);
    const note = await a.send(conversation.id, { senderType: 'HUMAN', content: 'Customer is on the gold plan', private: true });
    expect(note.sentMessage).toMatchObject({ private: true, status: 'SENT' });
    c = await row(conversation.id);
    expect(c).toMatchObject({
      messageCount: beforeNote.messageCount + 1,
      unreadCount: beforeNote.unreadCount,
      waitingSince: beforeNote.waitingSince,
      lastMessageAt: beforeNote.lastMessageAt,
      lastMessagePreview: 'Any news?',
      lastMessageId: beforeNote.lastMessageId,
      firstHumanResponseAt: null,
    });
    expect(beforeNote.unreadCount).toBe(1);

    const human = await a.send(conversation.id, { senderType: 'HUMAN', content: 'Refund issued.' });
    c = await row(conversation.id);
    expect(c).toMatchObject({ unreadCount: 0, waitingSince: null, firstResponseAt: firstResponse, lastMessageId: localId(human.sentMessage!.id) });
    expect(c.firstHumanResponseAt).not.toBeNull();
    const msg = await server.db.prisma.message.findUniqueOrThrow({ where: { id: localId(human.sentMessage!.id) } });
    expect(msg.senderUserId).toBe(ws.admin.id);

    await a.send(conversation.id, { senderType: 'SYSTEM', content: 'Conversation transferred.' });
    c = await row(conversation.id);
    expect(c).toMatchObject({ messageCount: 7, lastMessageSenderType: 'SYSTEM', firstHumanResponseAt: msg.createdAt });
    // The thread agrees with the counters.
    expect(await server.db.prisma.message.count({ where: { conversationId: c.id } })).toBe(c.messageCount);
    // Sending never bumps the version.
    expect(c.version).toBe(1);
  });

  it('records MESSAGE_ADDED with the sender as actor and the counters before and after', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Reply' });
    const [ev] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(ev).toMatchObject({
      type: 'MESSAGE_ADDED',
      actorType: 'AI_AGENT',
      actorApiKeyId: ws.keyId,
      before: { messageCount: 1, unreadCount: 1 },
      after: { senderType: 'AI_AGENT', private: false, messageCount: 2, unreadCount: 0 },
    });
  });
});

describe('sendMessage: concurrency', () => {
  it('keeps the counters exact when many messages arrive at once', async () => {
    const { conversation } = await newConversation(a, ws);
    await Promise.all(Array.from({ length: 12 }, (_, i) => a.send(conversation.id, { senderType: i % 3 === 2 ? 'HUMAN' : 'CONTACT', content: `m${i}`, private: i % 3 === 2 })));
    const c = await row(conversation.id);
    const thread = await server.db.prisma.message.findMany({ where: { conversationId: c.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    expect(c.messageCount).toBe(13);
    expect(thread).toHaveLength(13);
    expect(c.unreadCount).toBe(thread.filter((m) => m.senderType === 'CONTACT').length);
    const lastPublic = thread.filter((m) => !m.private).at(-1)!;
    expect(c.lastMessageId).toBe(lastPublic.id);
    const added = (await events(server.db.prisma, ws.workspaceId, conversation.id)).filter((e) => e.type === 'MESSAGE_ADDED');
    expect(added).toHaveLength(13);
    // Each event saw the counter the one before it left.
    expect(added.map((e) => (e.after as { messageCount: number }).messageCount)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
  });
});

describe('sendMessage: internal notes and CONNECTOR keys', () => {
  it('never shows internal notes to CONNECTOR keys, and refuses notes from them', async () => {
    const { conversation } = await newConversation(a, ws);
    const note = await a.send(conversation.id, { senderType: 'HUMAN', content: 'Secret note', private: true });
    const thread = `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 10) { edges { node { id private } } } } } }`;
    const seen = await connector.ok(thread, { id: conversation.id });
    expect(seen.node.messages.edges.map((e: any) => e.node.private)).toEqual([false]);
    expect((await connector.ok(`query($id: ID!) { node(id: $id) { id } }`, { id: note.sentMessage!.id })).node).toBeNull();
    // A connector cannot write a note, nor act on one through a payload.
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const res = await connector.request(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`, {
        input: { conversationId: conversation.id, senderType: 'AI_AGENT', content: 'x', private: true },
      });
      expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const del = await connector.mutate('deleteMessage', { messageId: note.sentMessage!.id }, `... on NotFoundError { entity } ${ERROR}`);
      expect(del).toMatchObject({ __typename: 'NotFoundError', entity: 'Message' });
    });
    // An inbound message posted by the connector comes back to it.
    const inbound = await connector.send(conversation.id, { senderType: 'CONTACT', content: 'From WhatsApp', providerMessageId: 'wamid.conn.1' });
    expect(inbound.sentMessage).toMatchObject({ status: 'RECEIVED', private: false });
  });
});

describe('sendMessage: duplicates and retries', () => {
  it('stores an inbound message repeated with the same provider id once, per inbox', async () => {
    const { conversation } = await newConversation(a, ws);
    const input = { senderType: 'CONTACT', content: 'Only once', providerMessageId: 'wamid.dup.1' } satisfies Omit<SendMessageInput, 'conversationId'>;
    const first = await a.send(conversation.id, input);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const again = await a.send(conversation.id, input);
      expect(again).toMatchObject({ duplicate: true, sentMessage: { id: first.sentMessage!.id } });
    });
    // The same provider id in another inbox is another message.
    const email = await a.createConversation({ inboxId: globalId('Inbox', ws.inboxes.email.id), contact: { email: 'dup@example.com' } });
    const elsewhere = await a.send(email.conversation.id, input);
    expect(elsewhere.duplicate).toBe(false);
  });

  it('returns the first result for a retried idempotency key and refuses the key with other content', async () => {
    const { conversation } = await newConversation(a, ws);
    const input = { senderType: 'AI_AGENT', content: 'Your order shipped', idempotencyKey: 'ship-42' } satisfies Omit<SendMessageInput, 'conversationId'>;
    const first = await a.send(conversation.id, input);
    const stored = await server.db.prisma.message.findUniqueOrThrow({ where: { id: localId(first.sentMessage!.id) } });
    expect(stored.idempotencyHash).toMatch(/^[0-9a-f]{64}$/);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const retry = await a.mutate('sendMessage', { conversationId: conversation.id, ...input }, SEND);
      expect(retry).toMatchObject({ __typename: 'SendMessagePayload', duplicate: true, sentMessage: { id: first.sentMessage!.id }, conversation: { messageCount: 2 } });
      const conflict = await a.mutate('sendMessage', { conversationId: conversation.id, ...input, content: 'Your order is late' }, SEND);
      expect(conflict).toMatchObject({ __typename: 'IdempotencyConflictError', code: 'IDEMPOTENCY_CONFLICT', idempotencyKey: 'ship-42', messageId: first.sentMessage!.id });
    });
  });

  it('settles concurrent retries of one inbound message on a single stored message', async () => {
    const { conversation } = await newConversation(a, ws);
    const input = { senderType: 'CONTACT', content: 'Sent five times', providerMessageId: 'wamid.race.1' } satisfies Omit<SendMessageInput, 'conversationId'>;
    const results = await Promise.all(Array.from({ length: 5 }, () => a.send(conversation.id, input)));
    expect(new Set(results.map((r) => r.sentMessage!.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect((await row(conversation.id)).messageCount).toBe(2);
  });

  it('stores one message when conversations of one inbox receive the same provider message id at once', async () => {
    // Different conversations lock different rows: the sends run side by side and the losers
    // meet the unique index (on PostgreSQL), then run again and find the winner's message.
    const conversations = await Promise.all(Array.from({ length: 4 }, () => newConversation(a, ws)));
    const input = { senderType: 'CONTACT', content: 'Sent to four', providerMessageId: 'wamid.race.across' } satisfies Omit<SendMessageInput, 'conversationId'>;
    const results = await Promise.all(conversations.map(({ conversation }) => a.send(conversation.id, input)));
    expect(new Set(results.map((r) => r.sentMessage!.id)).size).toBe(1);
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const counts = await Promise.all(conversations.map(({ conversation }) => row(conversation.id).then((r) => r.messageCount)));
    expect(counts.sort()).toEqual([1, 1, 1, 2]);
  });
});

describe('sendMessage: the AI and the human', () => {
  it('refuses AI_AGENT messages while a human is in control, but takes AI notes and human messages', async () => {
    const { conversation } = await newConversation(a, ws);
    const started = await a.must('startHumanHandoff', { conversationId: conversation.id, reason: 'Angry customer' }, '... on StartHumanHandoffPayload { handoff { id } }');
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const r = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'AI_AGENT', content: 'I can help!' }, SEND);
      expect(r).toMatchObject({ __typename: 'HumanInControlError', code: 'HUMAN_IN_CONTROL', conversationId: conversation.id, handoffId: started.handoff.id });
    });
    await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Suggestion: offer a voucher', private: true });
    await a.send(conversation.id, { senderType: 'HUMAN', content: 'Hi, I am Ada.' });
    await a.must('stopHumanHandoff', { conversationId: conversation.id }, '... on StopHumanHandoffPayload { conversation { controller } }');
    expect((await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Back to me' })).sentMessage!.status).toBe('PENDING');
  });
});

describe("sendMessage: a contact's message and the status", () => {
  const moveTo: Record<string, (id: string) => Promise<unknown>> = {
    PENDING: (id) => a.must('setConversationPending', { conversationId: id }, '__typename'),
    SNOOZED: (id) => a.must('snoozeConversation', { conversationId: id, until: new Date(Date.now() + 3600_000).toISOString() }, '__typename'),
    RESOLVED: (id) => a.must('resolveConversation', { conversationId: id, reason: 'ISSUE_RESOLVED' }, '__typename'),
    CLOSED: (id) => a.must('closeConversation', { conversationId: id }, '__typename'),
  };

  for (const status of Object.keys(moveTo)) {
    it(`reopens a ${status} conversation, with a STATUS_CHANGED event by the contact`, async () => {
      const { conversation, contact } = await newConversation(a, ws);
      await moveTo[status]!(conversation.id);
      const sent = await a.send(conversation.id, { senderType: 'CONTACT', content: 'Me again' });
      expect(sent.conversation).toMatchObject({ id: conversation.id, status: 'OPEN', snoozedUntil: null });
      const evs = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-2);
      expect(evs.map((e) => e.type)).toEqual(['MESSAGE_ADDED', 'STATUS_CHANGED']);
      expect(evs[1]).toMatchObject({ actorType: 'CONTACT', actorContactId: localId(contact.id), before: { status }, after: { status: 'OPEN' } });
    });
  }

  it('does not reopen on a message from the AI or a human', async () => {
    const { conversation } = await newConversation(a, ws);
    await moveTo.PENDING!(conversation.id);
    expect((await a.send(conversation.id, { senderType: 'HUMAN', content: 'Any update?' })).conversation.status).toBe('PENDING');
  });

  it('starts a new conversation for the same contact and inbox when the contact writes to an ARCHIVED one', async () => {
    const { conversation, contact } = await newConversation(a, ws);
    await moveTo.RESOLVED!(conversation.id);
    await a.must('archiveConversation', { conversationId: conversation.id }, '__typename');
    const sent = await a.send(conversation.id, { senderType: 'CONTACT', content: 'New problem' });
    expect(sent.conversation.id).not.toBe(conversation.id);
    expect(sent.conversation).toMatchObject({ status: 'OPEN', messageCount: 1, unreadCount: 1, lastMessagePreview: 'New problem' });
    const fresh = await a.conversation(sent.conversation.id);
    expect(fresh).toMatchObject({ contact: { id: contact.id }, inbox: { id: globalId('Inbox', ws.inboxes.whatsapp.id) } });
    expect((await a.conversation(conversation.id)).status).toBe('ARCHIVED');
    const [created] = await events(server.db.prisma, ws.workspaceId, sent.conversation.id);
    expect(created).toMatchObject({ type: 'CONVERSATION_CREATED', after: { previousConversationId: localId(conversation.id) } });
    // Anyone else writing to the archived conversation is refused.
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const r = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'HUMAN', content: 'hello?' }, SEND);
      expect(r).toMatchObject({ __typename: 'ConversationArchivedError', conversationId: conversation.id });
    });
  });
});

describe('sendMessage: content rules', () => {
  const attachment = { name: 'photo.png', url: 'https://cdn.example.com/photo.png', mimeType: 'image/png', size: 2048 };

  it('refuses bad content with a ValidationError naming the field, and writes nothing', async () => {
    const { conversation } = await newConversation(a, ws);
    const cases: [Record<string, unknown>, string][] = [
      [{ content: '' }, 'input.content'],
      [{ content: ' \n ' }, 'input.content'],
      [{ content: 'é'.repeat(32 * 1024 + 1) }, 'input.content'],
      [{ content: 'x', attachments: Array.from({ length: 21 }, () => attachment) }, 'input.attachments'],
      [{ content: 'x', attachments: [{ ...attachment, url: 'ftp://files.example.com/a' }] }, 'input.attachments.0.url'],
      [{ content: 'x', attachments: [{ ...attachment, url: 'not a url' }] }, 'input.attachments.0.url'],
      [{ contentType: 'IMAGE', content: 'no file' }, 'input.attachments'],
      [{ contentType: 'CARD', content: 'no card' }, 'input.card'],
      [{ card: { title: 'Pay', actions: [{ label: 'Open', url: 'javascript:alert(1)' }] } }, 'input.card.actions.0.url'],
      [{ card: { title: 'Pay', actions: [{ label: 'Nothing' }] } }, 'input.card.actions.0'],
      [{ content: 'x', senderUserId: globalId('User', ws.agent.id), senderType: 'AI_AGENT' }, 'input.senderUserId'],
      [{ content: 'x', senderType: 'CONTACT', private: true }, 'input.private'],
    ];
    for (const [input, field] of cases) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        const r = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'HUMAN', ...input }, SEND);
        expect(r, JSON.stringify(input).slice(0, 120)).toMatchObject({ __typename: 'ValidationError', field });
      });
    }
  });

  it('takes exactly 64 KB, 20 attachments, an attachment-only message and a card', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.send(conversation.id, { senderType: 'HUMAN', content: 'x'.repeat(64 * 1024) });
    const files = await a.send(conversation.id, { senderType: 'CONTACT', contentType: 'IMAGE', attachments: Array.from({ length: 20 }, () => attachment) });
    expect(files.conversation.lastMessagePreview).toBe('photo.png');
    const card = await a.send(conversation.id, {
      senderType: 'AI_AGENT',
      card: { title: 'Track your parcel', description: 'Arrives Tuesday', actions: [{ label: 'Track', url: 'https://t.example.com/1' }, { label: 'Help', action: 'HELP' }] },
    });
    const m = await a.ok(`query($id: ID!) { node(id: $id) { ... on Message { contentType card { title actions { label url action } } } } }`, { id: card.sentMessage!.id });
    expect(m.node).toEqual({ contentType: 'CARD', card: { title: 'Track your parcel', actions: [{ label: 'Track', url: 'https://t.example.com/1', action: null }, { label: 'Help', url: null, action: 'HELP' }] } });
  });

  it('answers an unknown or foreign conversation or sender with NotFoundError', async () => {
    const theirs = await newConversation(api(server.url, other.key), other);
    const { conversation } = await newConversation(a, ws);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('sendMessage', { conversationId: theirs.conversation.id, senderType: 'HUMAN', content: 'x' }, SEND)).toMatchObject({ __typename: 'NotFoundError', entity: 'Conversation' });
      expect(await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'HUMAN', content: 'x', senderUserId: globalId('User', other.admin.id) }, SEND)).toMatchObject({ __typename: 'NotFoundError', entity: 'User' });
    });
  });
});

describe('updateMessageStatus', () => {
  const SEL = `... on UpdateMessageStatusPayload { updatedMessage { id status errorReason } applied } ... on ValidationError { field } ... on NotFoundError { entity } ${ERROR}`;

  it('moves forward, ignores receipts that arrive late, and finds messages by provider id', async () => {
    const { conversation } = await newConversation(a, ws);
    const out = await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Out', providerMessageId: 'wamid.out.1' });
    const id = out.sentMessage!.id;
    const receipt = (status: string, extra: Record<string, unknown> = {}) => a.mutate('updateMessageStatus', { messageId: id, status, ...extra }, SEL);
    expect(await receipt('DELIVERED')).toMatchObject({ applied: true, updatedMessage: { status: 'DELIVERED' } });
    // SENT arrives after DELIVERED: accepted, ignored, the answer shows the current status.
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await receipt('SENT')).toMatchObject({ __typename: 'UpdateMessageStatusPayload', applied: false, updatedMessage: { status: 'DELIVERED' } });
      expect(await receipt('FAILED', { errorReason: 'late failure' })).toMatchObject({ applied: false, updatedMessage: { status: 'DELIVERED' } });
    });
    const byProvider = await a.mutate('updateMessageStatus', { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), providerMessageId: 'wamid.out.1', status: 'READ' }, SEL);
    expect(byProvider).toMatchObject({ applied: true, updatedMessage: { id, status: 'READ' } });
    const [ev] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(ev).toMatchObject({ type: 'MESSAGE_STATUS_CHANGED', messageId: localId(id), before: { status: 'DELIVERED' }, after: { status: 'READ' } });
  });

  it('records FAILED with its reason, and refuses receipts that make no sense', async () => {
    const { conversation, firstMessage } = await newConversation(a, ws);
    const out = await a.send(conversation.id, { senderType: 'HUMAN', content: 'Out' });
    const id = out.sentMessage!.id;
    for (const [input, field] of [
      [{ messageId: id, status: 'FAILED' }, 'input.errorReason'],
      [{ messageId: id, status: 'SENT', errorReason: 'why' }, 'input.errorReason'],
      [{ messageId: id, status: 'RECEIVED' }, 'input.status'],
      [{ status: 'SENT' }, 'input.messageId'],
      [{ providerMessageId: 'x', status: 'SENT' }, 'input.inboxId'],
      [{ messageId: firstMessage!.id, status: 'READ' }, 'input.messageId'],
    ] as const) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        expect(await a.mutate('updateMessageStatus', input, SEL), JSON.stringify(input)).toMatchObject({ __typename: 'ValidationError', field });
      });
    }
    expect(await a.mutate('updateMessageStatus', { messageId: id, status: 'FAILED', errorReason: 'Number blocked' }, SEL)).toMatchObject({
      applied: true,
      updatedMessage: { status: 'FAILED', errorReason: 'Number blocked' },
    });
    expect(await a.mutate('updateMessageStatus', { messageId: id, status: 'READ' }, SEL)).toMatchObject({ applied: false, updatedMessage: { status: 'FAILED' } });
    const unknown = await a.mutate('updateMessageStatus', { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), providerMessageId: 'nope', status: 'SENT' }, SEL);
    expect(unknown).toMatchObject({ __typename: 'NotFoundError', entity: 'Message' });
  });
});

describe('deleteMessage', () => {
  const SEL = `... on DeleteMessagePayload { deletedMessage { id content deletedAt attachments { name } } conversation { messageCount unreadCount lastMessagePreview lastMessage { id } waitingSince } } ${ERROR}`;

  it('leaves a tombstone and puts the counters right', async () => {
    const { conversation, firstMessage } = await newConversation(a, ws, { text: 'Question' });
    const answer = await a.send(conversation.id, { senderType: 'AI_AGENT', content: 'Answer' });
    const followUp = await a.send(conversation.id, { senderType: 'CONTACT', content: 'Follow-up', attachments: [{ name: 'a.pdf', url: 'https://x.test/a.pdf', mimeType: 'application/pdf', size: 3 }] });
    // Deleting the last message: the one before becomes the last; the contact still waits.
    const r1 = await a.mutate('deleteMessage', { messageId: followUp.sentMessage!.id }, SEL);
    expect(r1.deletedMessage).toMatchObject({ id: followUp.sentMessage!.id, content: null, attachments: [] });
    expect(r1.deletedMessage.deletedAt).not.toBeNull();
    expect(r1.conversation).toMatchObject({ messageCount: 2, unreadCount: 0, lastMessagePreview: 'Answer', lastMessage: { id: answer.sentMessage!.id }, waitingSince: null });
    // Deleting the answer: the contact's question is unanswered again.
    const r2 = await a.mutate('deleteMessage', { messageId: answer.sentMessage!.id }, SEL);
    const q = await server.db.prisma.message.findUniqueOrThrow({ where: { id: localId(firstMessage!.id) } });
    expect(r2.conversation).toMatchObject({ messageCount: 1, lastMessagePreview: 'Question', waitingSince: q.createdAt.toISOString() });
    // The tombstones stay in the thread; deleting again changes nothing.
    expect(await server.db.prisma.message.count({ where: { conversationId: localId(conversation.id) } })).toBe(3);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect((await a.mutate('deleteMessage', { messageId: answer.sentMessage!.id }, SEL)).conversation.messageCount).toBe(1);
    });
    const evs = (await events(server.db.prisma, ws.workspaceId, conversation.id)).filter((e) => e.type === 'MESSAGE_DELETED');
    expect(evs).toHaveLength(2);
  });

  it('refuses to delete a message of an ARCHIVED conversation, which is read-only', async () => {
    const { conversation, firstMessage } = await newConversation(a, ws, { text: 'Keep me' });
    await a.must('closeConversation', { conversationId: conversation.id }, '__typename');
    await a.must('archiveConversation', { conversationId: conversation.id }, '__typename');
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('deleteMessage', { messageId: firstMessage!.id }, SEL)).toMatchObject({ __typename: 'ConversationArchivedError', code: 'CONVERSATION_ARCHIVED' });
    });
    expect((await server.db.prisma.message.findUniqueOrThrow({ where: { id: localId(firstMessage!.id) } })).content).toBe('Keep me');
  });

  it('decrements the unread count only for an unread contact message', async () => {
    const { conversation, firstMessage } = await newConversation(a, ws, { text: 'one' });
    await a.send(conversation.id, { senderType: 'CONTACT', content: 'two' });
    await a.must('markConversationRead', { conversationId: conversation.id }, '__typename');
    const three = await a.send(conversation.id, { senderType: 'CONTACT', content: 'three' });
    expect(three.conversation.unreadCount).toBe(1);
    // "one" was read: deleting it leaves one unread.
    expect((await a.mutate('deleteMessage', { messageId: firstMessage!.id }, SEL)).conversation.unreadCount).toBe(1);
    expect((await a.mutate('deleteMessage', { messageId: three.sentMessage!.id }, SEL)).conversation).toMatchObject({ unreadCount: 0, messageCount: 1, lastMessagePreview: 'two' });
  });

  it('deleting an internal note only changes the message count', async () => {
    const { conversation } = await newConversation(a, ws, { text: 'Hi' });
    const note = await a.send(conversation.id, { senderType: 'HUMAN', content: 'note', private: true });
    const before = await row(conversation.id);
    const r = await a.mutate('deleteMessage', { messageId: note.sentMessage!.id }, SEL);
    expect(r.conversation.messageCount).toBe(before.messageCount - 1);
    const after = await row(conversation.id);
    expect({ ...after, messageCount: before.messageCount, updatedAt: before.updatedAt }).toEqual(before);
  });
});

/** Where the (last) transaction committed in a statement log: PostgreSQL logs COMMIT, PGlite a comment naming it. */
const commitAt = (queries: string[]) => queries.findLastIndex((q) => /\bCOMMIT\b/.test(q));

describe('a write is one transaction', () => {
  // The payload of a mutation is served from the rows its transaction wrote, so sending a
  // message costs one transaction and no read after it; fields that need relations still
  // read them (and see the committed state).
  it('answers a payload of the written columns with no statement after the commit', async () => {
    const { conversation } = await newConversation(a, ws, { text: 'Hello' });
    server.queries.length = 0;
    const res = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'HUMAN', content: 'One transaction' },
      `... on SendMessagePayload { sentMessage { id status content private createdAt } conversation { id status messageCount unreadCount lastMessagePreview version } } ${ERROR}`);
    const queries = [...server.queries];
    expect(res.sentMessage).toMatchObject({ status: 'PENDING', content: 'One transaction', private: false });
    const stored = await row(conversation.id);
    expect(res.conversation).toMatchObject({ status: stored.status, messageCount: stored.messageCount, unreadCount: 0, lastMessagePreview: 'One transaction', version: stored.version });
    const commit = commitAt(queries);
    expect(commit, queries.join('\n')).toBeGreaterThan(0);
    expect(queries.slice(commit + 1), 'statements after the commit').toEqual([]);
    expect(queries.filter((q) => /\bCOMMIT\b/.test(q))).toHaveLength(1);

    // With a relation in the selection, the payload reads it.
    server.queries.length = 0;
    const withContact = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'CONTACT', content: 'And again' },
      `... on SendMessagePayload { sentMessage { content } conversation { messageCount contact { name } } } ${ERROR}`);
    expect(withContact.conversation).toMatchObject({ messageCount: stored.messageCount + 1, contact: { name: 'Test contact' } });
    expect(server.queries.slice(commitAt(server.queries) + 1).length).toBeGreaterThan(0);
  });

  it('gives a conversation started by the write its real number in the payload, and events their own time', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.must('resolveConversation', { conversationId: conversation.id, reason: 'ISSUE_RESOLVED' }, '__typename');
    await a.must('archiveConversation', { conversationId: conversation.id }, '__typename');
    // Only columns of the rows written: the payload is answered from the transaction's rows.
    const sent = await a.mutate('sendMessage', { conversationId: conversation.id, senderType: 'CONTACT', content: 'Starting again' },
      `... on SendMessagePayload { sentMessage { id createdAt } conversation { id number } } ${ERROR}`);
    const stored = await row(sent.conversation.id);
    expect(sent.conversation.number).toBeGreaterThan(0);
    expect(sent.conversation.number).toBe(stored.number);
    const evs = await events(server.db.prisma, ws.workspaceId, sent.conversation.id);
    const created = evs.find((e) => e.type === 'CONVERSATION_CREATED')!;
    expect((created.after as { number: number }).number).toBe(stored.number);
    // An event is dated when it happened in its transaction, not when the transaction began.
    const added = evs.find((e) => e.type === 'MESSAGE_ADDED')!;
    expect(added.createdAt.getTime()).toBeGreaterThanOrEqual(new Date(sent.sentMessage.createdAt).getTime());
  });

  it('creates a conversation with a new contact and its first message in one transaction, and answers from its rows', async () => {
    const phone = `+1555${String(process.pid % 1000).padStart(3, '0')}9${String(Date.now() % 1000).padStart(3, '0')}`;
    server.queries.length = 0;
    const res = await a.must(
      'createConversation',
      { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone, name: 'Nova' }, message: { senderType: 'CONTACT', content: 'First words' } },
      `... on CreateConversationPayload { conversation { id number status messageCount unreadCount lastMessagePreview } contact { id name phone } firstMessage { id content private } duplicate }`,
    );
    const queries = [...server.queries];
    const commit = commitAt(queries);
    expect(commit, queries.join('\n')).toBeGreaterThan(0);
    expect(queries.slice(commit + 1), 'statements after the commit').toEqual([]);
    expect(queries.filter((q) => /\bCOMMIT\b/.test(q))).toHaveLength(1);
    // Each lookup once: the contact by phone was asked for twice, and read back after its insert.
    const written = queries.slice(0, commit);
    expect(new Set(written).size, written.join('\n')).toBe(written.length);
    const stored = await row(res.conversation.id);
    expect(res.conversation).toMatchObject({ number: stored.number, status: 'OPEN', messageCount: 1, unreadCount: 1, lastMessagePreview: 'First words' });
    expect(stored.number).toBeGreaterThan(0);
    const contact = await server.db.prisma.contact.findUniqueOrThrow({ where: { id: localId(res.contact.id) }, include: { identities: true } });
    expect(res.contact).toMatchObject({ name: 'Nova', phone: contact.phone });
    expect(contact.identities.map((i) => [i.channel, i.handle])).toEqual([['WHATSAPP', contact.phone]]);
    expect(res.firstMessage).toMatchObject({ content: 'First words', private: false });
    expect(res.duplicate).toBe(false);
    const evs = await events(server.db.prisma, ws.workspaceId, res.conversation.id);
    expect(evs.map((e) => e.type)).toEqual(['CONVERSATION_CREATED', 'MESSAGE_ADDED']);

    // The same contact again: found by its identity (and held against a merge), nothing created.
    const again = await a.must(
      'createConversation',
      { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone }, message: { senderType: 'CONTACT', content: 'Me again' } },
      `... on CreateConversationPayload { conversation { number } contact { id name } }`,
    );
    expect(again.contact).toEqual({ id: res.contact.id, name: 'Nova' });
    expect(again.conversation.number).toBe(stored.number + 1);
  });

  it('answers a receipt from the row it updated, and a CONNECTOR key never gets an internal note from it', async () => {
    const { conversation } = await newConversation(a, ws, { text: 'Hello' });
    const sent = await a.send(conversation.id, { senderType: 'HUMAN', content: 'Deliver me' });
    server.queries.length = 0;
    const receipt = await connector.mutate('updateMessageStatus', { messageId: sent.sentMessage!.id, status: 'DELIVERED' },
      `... on UpdateMessageStatusPayload { applied updatedMessage { id status } } ${ERROR}`);
    expect(receipt).toMatchObject({ applied: true, updatedMessage: { id: sent.sentMessage!.id, status: 'DELIVERED' } });
    expect(server.queries.slice(commitAt(server.queries) + 1)).toEqual([]);
    // An internal note sent by a TEAM key: its payload has it; a CONNECTOR key's receipt for it finds nothing.
    const note = await a.send(conversation.id, { senderType: 'HUMAN', content: 'internal', private: true });
    expect(note.sentMessage?.private).toBe(true);
    const hidden = await connector.mutate('updateMessageStatus', { messageId: note.sentMessage!.id, status: 'READ' }, `... on UpdateMessageStatusPayload { applied } ... on NotFoundError { entity } ${ERROR}`);
    expect(hidden.entity).toBe('Message');
  });
});
