// Canned responses through the HTTP server: managing them (admin scope), the template's
// variables and fallbacks, values kept literal, the list's ranking, the inbox limitation,
// preview, sending with an idempotency key, scopes, and another workspace.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { client } from './support/graphql.js';
import {
  api,
  ERROR,
  expectNothingWritten,
  globalId,
  localId,
  openWriteWorld,
  randomPhone,
  seedWorkspace,
  type Api,
  type SeededWorkspace,
  type TestServer,
} from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;
let prisma: PrismaClient;

beforeAll(async () => {
  ({ server, ws, other, a } = await openWriteWorld('Canned Co'));
  prisma = server.db.prisma;
});
afterAll(() => server?.close());

const MANAGE_ERRORS = `... on DuplicateError { entity field existingId } ... on UnknownTemplateVariableError { variable field knownVariables } ... on ValidationError { field } ... on NotFoundError { entity ref } ${ERROR}`;
const CANNED = 'id shortCode title content variables inboxes { id }';
const created = (payload: string) => `... on ${payload} { cannedResponse { ${CANNED} } } ${MANAGE_ERRORS}`;
const PREVIEW = `... on PreviewCannedResponsePayload { renderedContent cannedResponseId conversationId } ... on NotFoundError { entity ref } ... on CannedResponseNotInInboxError { cannedResponseId conversationId inboxId } ${ERROR}`;
const SEND = `... on SendMessagePayload { sentMessage { id content senderType } duplicate } ... on NotFoundError { entity ref } ... on ValidationError { field } ... on IdempotencyConflictError { idempotencyKey messageId } ... on CannedResponseNotInInboxError { inboxId } ${ERROR}`;

let codeCounter = 0;
const uniqueCode = (base: string) => `/${base}-${++codeCounter}`;

async function canned(c: Api, input: { shortCode?: string; title?: string; content?: string; inboxIds?: string[] }) {
  const r = await c.must('createCannedResponse', { shortCode: input.shortCode ?? uniqueCode('r'), title: input.title ?? 'A response', content: input.content ?? 'Hi', ...input }, created('CreateCannedResponsePayload'));
  return r.cannedResponse as { id: string; shortCode: string; content: string; variables: string[]; inboxes: { id: string }[] };
}

/** A conversation on `inbox` with a contact of these fields, made through the API. */
async function conversation(c: Api, w: SeededWorkspace, contact: { name?: string | null; email?: string | null; phone?: string | null }, opts: { inbox?: keyof SeededWorkspace['inboxes']; subject?: string } = {}) {
  const r = await c.createConversation({
    inboxId: globalId('Inbox', w.inboxes[opts.inbox ?? 'whatsapp'].id),
    contact: { phone: randomPhone(), ...contact },
    subject: opts.subject ?? null,
    message: { senderType: 'CONTACT', content: 'Hello?' },
  });
  return r.conversation;
}

const preview = (c: Api, cannedResponseId: string, conversationId: string) => c.mutate('previewCannedResponse', { cannedResponseId, conversationId }, PREVIEW);
const cannedCount = (workspaceId: string) => prisma.cannedResponse.count({ where: { workspaceId } });

describe('createCannedResponse, updateCannedResponse, deleteCannedResponse', () => {
  it('creates a response (short code normalised, variables listed), updates and deletes it', async () => {
    const r = await canned(a, { shortCode: ' Welcome ', title: 'Welcome', content: 'Hi {{contact.first_name | "there"}}, {{agent.name}} here.' });
    expect(r).toMatchObject({ shortCode: '/welcome', variables: ['contact.first_name', 'agent.name'], inboxes: [] });
    const updated = await a.mutate(
      'updateCannedResponse',
      { cannedResponseId: r.id, title: 'Welcome!', content: 'Hello {{contact.name}}', inboxIds: [globalId('Inbox', ws.inboxes.email.id)] },
      created('UpdateCannedResponsePayload'),
    );
    expect(updated.cannedResponse).toMatchObject({ id: r.id, shortCode: '/welcome', content: 'Hello {{contact.name}}', variables: ['contact.name'], inboxes: [{ id: globalId('Inbox', ws.inboxes.email.id) }] });
    // null inboxIds: every inbox again; absent fields unchanged.
    const cleared = await a.mutate('updateCannedResponse', { cannedResponseId: r.id, inboxIds: null }, created('UpdateCannedResponsePayload'));
    expect(cleared.cannedResponse).toMatchObject({ content: 'Hello {{contact.name}}', inboxes: [] });
    const node = await a.ok(`query($id: ID!) { node(id: $id) { ... on CannedResponse { shortCode title } } }`, { id: r.id });
    expect(node.node).toEqual({ shortCode: '/welcome', title: 'Welcome!' });
    expect(await a.mutate('deleteCannedResponse', { cannedResponseId: r.id }, `... on DeleteCannedResponsePayload { deletedCannedResponseId } ${ERROR}`)).toEqual({
      __typename: 'DeleteCannedResponsePayload',
      deletedCannedResponseId: r.id,
    });
    expect((await a.ok(`query($id: ID!) { node(id: $id) { id } }`, { id: r.id })).node).toBeNull();
    expect((await a.mutate('deleteCannedResponse', { cannedResponseId: r.id }, `... on NotFoundError { entity } ${ERROR}`)).__typename).toBe('NotFoundError');
  });

  it('refuses an unknown variable by name, at create and at update, writing nothing', async () => {
    const r = await canned(a, { content: 'Hi {{contact.name}}' });
    const before = await cannedCount(ws.workspaceId);
    const refused = await a.mutate('createCannedResponse', { shortCode: uniqueCode('bad'), title: 'Bad', content: 'Hi {{contact.nickname | "you"}} and {{foo}}' }, created('CreateCannedResponsePayload'));
    expect(refused).toMatchObject({ __typename: 'UnknownTemplateVariableError', code: 'UNKNOWN_TEMPLATE_VARIABLE', variable: 'contact.nickname', field: 'input.content' });
    expect(refused.message).toContain('{{contact.nickname}}');
    expect(refused.knownVariables).toEqual(expect.arrayContaining(['contact.name', 'contact.first_name', 'contact.email', 'contact.phone', 'agent.name', 'conversation.number', 'conversation.subject', 'inbox.name', 'workspace.name']));
    const onUpdate = await a.mutate('updateCannedResponse', { cannedResponseId: r.id, content: 'Dear {{customer.name}}' }, created('UpdateCannedResponsePayload'));
    expect(onUpdate).toMatchObject({ __typename: 'UnknownTemplateVariableError', variable: 'customer.name', field: 'input.content' });
    expect(await cannedCount(ws.workspaceId)).toBe(before);
    expect((await prisma.cannedResponse.findUniqueOrThrow({ where: { id: localId(r.id) } })).content).toBe('Hi {{contact.name}}');
  });

  it('refuses a template it cannot read, a bad short code, an empty title and an inbox of another workspace', async () => {
    const cases: [Record<string, unknown>, string, string][] = [
      [{ content: 'Hi {{contact.name' }, 'ValidationError', 'input.content'],
      [{ content: 'Hi {{contact.name | there}}' }, 'ValidationError', 'input.content'],
      [{ content: '   ' }, 'ValidationError', 'input.content'],
      [{ shortCode: '/hello world' }, 'ValidationError', 'input.shortCode'],
      [{ shortCode: '/' }, 'ValidationError', 'input.shortCode'],
      [{ title: ' ' }, 'ValidationError', 'input.title'],
    ];
    const before = await cannedCount(ws.workspaceId);
    for (const [change, type, field] of cases) {
      const r = await a.mutate('createCannedResponse', { shortCode: uniqueCode('x'), title: 'T', content: 'Hi', ...change }, created('CreateCannedResponsePayload'));
      expect(r, JSON.stringify(change)).toMatchObject({ __typename: type, field });
    }
    const foreignInbox = await a.mutate('createCannedResponse', { shortCode: uniqueCode('x'), title: 'T', content: 'Hi', inboxIds: [globalId('Inbox', other.inboxes.email.id)] }, created('CreateCannedResponsePayload'));
    expect(foreignInbox).toMatchObject({ __typename: 'NotFoundError', entity: 'Inbox' });
    expect(await cannedCount(ws.workspaceId)).toBe(before);
  });

  it('refuses a duplicate short code, whatever its case or slash; another workspace may use it', async () => {
    const first = await canned(a, { shortCode: '/hello' });
    const second = await canned(a, { shortCode: '/hello2' });
    const before = await cannedCount(ws.workspaceId);
    expect(await a.mutate('createCannedResponse', { shortCode: 'HELLO', title: 'Again', content: 'Hi' }, created('CreateCannedResponsePayload'))).toMatchObject({
      __typename: 'DuplicateError',
      code: 'DUPLICATE',
      entity: 'CannedResponse',
      field: 'input.shortCode',
      existingId: first.id,
    });
    expect(await a.mutate('updateCannedResponse', { cannedResponseId: second.id, shortCode: '/Hello' }, created('UpdateCannedResponsePayload'))).toMatchObject({
      __typename: 'DuplicateError',
      existingId: first.id,
    });
    expect(await cannedCount(ws.workspaceId)).toBe(before);
    expect((await canned(api(server.url, other.key), { shortCode: '/hello' })).shortCode).toBe('/hello');
  });
});

describe('variables, fallbacks and literal values', () => {
  it('renders every variable of a conversation', async () => {
    const r = await canned(a, {
      content:
        '{{contact.name}}|{{contact.first_name}}|{{contact.email}}|{{contact.phone}}|{{agent.name}}|{{agent.first_name}}|#{{conversation.number}}|{{conversation.subject}}|{{inbox.name}}|{{workspace.name}}',
    });
    const phone = randomPhone();
    const conv = await conversation(a, ws, { name: 'Grace Brewster Hopper', email: 'grace@example.test', phone }, { inbox: 'email', subject: 'Compiler' });
    expect(await preview(a, r.id, conv.id)).toEqual({
      __typename: 'PreviewCannedResponsePayload',
      renderedContent: `Grace Brewster Hopper|Grace|grace@example.test|${phone}|Ada Admin|Ada|#${conv.number}|Compiler|Email|Canned Co`,
      cannedResponseId: r.id,
      conversationId: conv.id,
    });
  });

  it('uses the fallback for a missing or blank value, and nothing when there is no fallback', async () => {
    const r = await canned(a, { content: 'Hi {{contact.first_name | "there"}}{{contact.email}}, re: {{conversation.subject | "your question"}}.' });
    const nameless = await conversation(a, ws, { name: null });
    expect((await preview(a, r.id, nameless.id)).renderedContent).toBe('Hi there, re: your question.');
    const named = await conversation(a, ws, { name: 'Linus' }, { subject: 'Kernel' });
    expect((await preview(a, r.id, named.id)).renderedContent).toBe('Hi Linus, re: Kernel.');
  });

  it('keeps template text in contact data literal, in preview and in the message sent', async () => {
    const r = await canned(a, { content: 'Dear {{contact.name}}, {{agent.name}} speaking. {{contact.email | "{{agent.name}}"}}' });
    const conv = await conversation(a, ws, { name: '{{agent.name}}' });
    const expected = 'Dear {{agent.name}}, Ada Admin speaking. {{agent.name}}';
    expect((await preview(a, r.id, conv.id)).renderedContent).toBe(expected);
    const sent = await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'HUMAN', cannedResponseId: r.id }, SEND);
    expect(sent).toMatchObject({ __typename: 'SendMessagePayload', duplicate: false, sentMessage: { content: expected, senderType: 'HUMAN' } });
  });
});

describe('cannedResponses', () => {
  const LIST = `query($search: String, $inboxId: ID, $first: Int, $after: String) {
    cannedResponses(search: $search, inboxId: $inboxId, first: $first, after: $after) { edges { cursor node { shortCode } } pageInfo { hasNextPage endCursor } }
  }`;
  let r: Api;
  let rws: SeededWorkspace;
  const codes = async (vars: Record<string, unknown>) => ((await r.ok(LIST, vars)).cannedResponses.edges as { node: { shortCode: string } }[]).map((e) => e.node.shortCode);

  beforeAll(async () => {
    rws = await seedWorkspace(prisma, 'Ranking');
    r = api(server.url, rws.key);
    for (const [shortCode, title, content, inbox] of [
      ['/delivery', 'Delivery', 'We SHIP every weekday.', null],
      ['/reship', 'Reship', 'Sent again.', null],
      ['/shipping', 'Shipping', 'Two days.', null],
      ['/ship', 'Ship', 'On its way.', 'email'],
      ['/zebra', 'Zebra', 'Nothing to do with it.', null],
      ['/a_ship', 'Another', 'Underscore.', null],
    ] as const) {
      await canned(r, { shortCode, title, content, inboxIds: inbox ? [globalId('Inbox', rws.inboxes[inbox].id)] : [] });
    }
  });

  it('lists by short code without a search, and pages with cursors', async () => {
    expect(await codes({})).toEqual(['/a_ship', '/delivery', '/reship', '/ship', '/shipping', '/zebra']);
    const page1 = (await r.ok(LIST, { first: 4 })).cannedResponses;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await r.ok(LIST, { first: 4, after: page1.pageInfo.endCursor })).cannedResponses;
    expect(page2.edges.map((e: { node: { shortCode: string } }) => e.node.shortCode)).toEqual(['/shipping', '/zebra']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
  });

  it('ranks a short-code prefix first, then short-code substrings, then title or content matches', async () => {
    expect(await codes({ search: 'ship' })).toEqual(['/ship', '/shipping', '/a_ship', '/reship', '/delivery']);
    // The leading slash is ignored for short codes (titles and content are searched as typed); case too.
    expect(await codes({ search: '/SHIP' })).toEqual(['/ship', '/shipping', '/a_ship', '/reship']);
    expect(await codes({ search: 'weekday' })).toEqual(['/delivery']);
    // A search cursor pages through the ranking.
    const first = (await r.ok(LIST, { search: 'ship', first: 2 })).cannedResponses;
    expect(first.edges.map((e: { node: { shortCode: string } }) => e.node.shortCode)).toEqual(['/ship', '/shipping']);
    expect(await codes({ search: 'ship', first: 10, after: first.pageInfo.endCursor })).toEqual(['/a_ship', '/reship', '/delivery']);
    // ...and is refused by another search or by the plain list.
    const refused = await r.request(LIST, { search: 'zebra', after: first.pageInfo.endCursor });
    expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await r.request(LIST, { search: '   ' })).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('with inboxId, lists what may be used in that inbox', async () => {
    expect(await codes({ inboxId: globalId('Inbox', rws.inboxes.whatsapp.id) })).toEqual(['/a_ship', '/delivery', '/reship', '/shipping', '/zebra']);
    expect(await codes({ inboxId: globalId('Inbox', rws.inboxes.email.id), search: 'ship' })).toEqual(['/ship', '/shipping', '/a_ship', '/reship', '/delivery']);
  });
});

describe('the inbox limitation', () => {
  it('refuses preview and send on a conversation of another inbox, writing nothing', async () => {
    const r = await canned(a, { content: 'Email only, {{contact.name}}.', inboxIds: [globalId('Inbox', ws.inboxes.email.id)] });
    const onWhatsapp = await conversation(a, ws, { name: 'Wanda' });
    const onEmail = await conversation(a, ws, { name: 'Emil', email: 'emil@example.test' }, { inbox: 'email' });
    const refusal = { __typename: 'CannedResponseNotInInboxError', code: 'CANNED_RESPONSE_NOT_IN_INBOX', cannedResponseId: r.id, conversationId: onWhatsapp.id, inboxId: globalId('Inbox', ws.inboxes.whatsapp.id) };
    expect(await preview(a, r.id, onWhatsapp.id)).toMatchObject(refusal);
    await expectNothingWritten(prisma, ws.workspaceId, async () => {
      expect(await a.mutate('sendMessage', { conversationId: onWhatsapp.id, senderType: 'HUMAN', cannedResponseId: r.id }, SEND)).toMatchObject({
        __typename: 'CannedResponseNotInInboxError',
        inboxId: globalId('Inbox', ws.inboxes.whatsapp.id),
      });
    });
    expect((await preview(a, r.id, onEmail.id)).renderedContent).toBe('Email only, Emil.');
  });
});

describe('sendMessage with cannedResponseId', () => {
  it('renders on the server; a retry with the same idempotency key returns the first message and writes nothing', async () => {
    const r = await canned(a, { content: 'Thanks {{contact.first_name | "friend"}}, ticket #{{conversation.number}}.' });
    const conv = await conversation(a, ws, { name: 'Barbara Liskov' });
    const input = { conversationId: conv.id, senderType: 'HUMAN', cannedResponseId: r.id, idempotencyKey: `canned-${conv.id}` };
    const first = await a.mutate('sendMessage', input, SEND);
    expect(first).toMatchObject({ __typename: 'SendMessagePayload', duplicate: false, sentMessage: { content: `Thanks Barbara, ticket #${conv.number}.` } });
    // Even with the response changed meanwhile, the retry is the first message, not a new rendering.
    await a.must('updateCannedResponse', { cannedResponseId: r.id, content: 'Changed {{contact.name}}' }, '__typename');
    await expectNothingWritten(prisma, ws.workspaceId, async () => {
      const again = await a.mutate('sendMessage', input, SEND);
      expect(again).toMatchObject({ __typename: 'SendMessagePayload', duplicate: true, sentMessage: { id: first.sentMessage.id, content: first.sentMessage.content } });
    });
    expect(await prisma.message.count({ where: { conversationId: localId(conv.id), idempotencyKey: input.idempotencyKey } })).toBe(1);
    // The same key with another response is a conflict.
    const other2 = await canned(a, { content: 'Other' });
    expect(await a.mutate('sendMessage', { ...input, cannedResponseId: other2.id }, SEND)).toMatchObject({ __typename: 'IdempotencyConflictError', messageId: first.sentMessage.id });
    // The thread shows the message once, with the conversation's counters in step.
    const thread = await a.conversation(conv.id);
    expect(thread).toMatchObject({ messageCount: 2, lastMessagePreview: `Thanks Barbara, ticket #${conv.number}.` });
  });

  it('takes content or cannedResponseId, not both nor neither; no contact sends one; an unknown response is not found', async () => {
    const r = await canned(a, { content: 'Hi' });
    const conv = await conversation(a, ws, { name: 'Niklaus' });
    await expectNothingWritten(prisma, ws.workspaceId, async () => {
      expect(await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'HUMAN', content: 'x', cannedResponseId: r.id }, SEND)).toMatchObject({
        __typename: 'ValidationError',
        field: 'input.cannedResponseId',
      });
      expect(await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'HUMAN' }, SEND)).toMatchObject({ __typename: 'ValidationError', field: 'input.content' });
      expect(await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'CONTACT', cannedResponseId: r.id }, SEND)).toMatchObject({
        __typename: 'ValidationError',
        field: 'input.cannedResponseId',
      });
      expect(await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'HUMAN', cannedResponseId: globalId('CannedResponse', '0190a0a0-0000-7000-8000-000000000000') }, SEND)).toMatchObject({
        __typename: 'NotFoundError',
        entity: 'CannedResponse',
      });
    });
    // A response that renders to nothing for this conversation is refused, not sent empty.
    const blank = await canned(a, { content: '{{conversation.subject}}' });
    expect(await a.mutate('sendMessage', { conversationId: conv.id, senderType: 'AI_AGENT', cannedResponseId: blank.id }, SEND)).toMatchObject({ __typename: 'ValidationError', field: 'input.cannedResponseId' });
  });
});

describe('scopes', () => {
  const forbidden = async (key: string, query: string, variables: Record<string, unknown>) => {
    const res = await client(server.url, key).request(query, variables);
    expect(res.errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
    return res;
  };
  const CREATE = `mutation($input: CreateCannedResponseInput!) { createCannedResponse(input: $input) { __typename } }`;
  const UPDATE = `mutation($input: UpdateCannedResponseInput!) { updateCannedResponse(input: $input) { __typename } }`;
  const DELETE = `mutation($input: DeleteCannedResponseInput!) { deleteCannedResponse(input: $input) { __typename } }`;

  it('managing needs admin: an agent key and a CONNECTOR key are FORBIDDEN, and write nothing', async () => {
    const r = await canned(a, { content: 'Hi {{contact.name}}' });
    const agent = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS', 'WRITE_CONTACTS'], userId: ws.agent.id })).secret;
    const connector = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret;
    const before = await prisma.cannedResponse.findMany({ where: { workspaceId: ws.workspaceId }, orderBy: { id: 'asc' } });
    for (const key of [agent, connector]) {
      const res = await forbidden(key, CREATE, { input: { shortCode: uniqueCode('nope'), title: 'x', content: 'x' } });
      expect(res.errors?.[0]?.message).toContain('admin');
      expect(res.data?.createCannedResponse).toBeNull();
      await forbidden(key, UPDATE, { input: { cannedResponseId: r.id, title: 'hijacked' } });
      await forbidden(key, DELETE, { input: { cannedResponseId: r.id } });
    }
    expect(await prisma.cannedResponse.findMany({ where: { workspaceId: ws.workspaceId }, orderBy: { id: 'asc' } })).toEqual(before);
  });

  it('using needs write:conversations: the agent lists, previews and sends (as the agent); a read-only key is FORBIDDEN', async () => {
    const r = await canned(a, { shortCode: uniqueCode('sign'), content: '{{agent.name | "The team"}} for {{workspace.name}}' });
    const conv = await conversation(a, ws, { name: 'Edsger' });
    const agent = api(server.url, (await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: ws.agent.id })).secret);
    expect((await agent.ok(`query($s: String!) { cannedResponses(search: $s) { edges { node { id } } } }`, { s: r.shortCode })).cannedResponses.edges).toEqual([{ node: { id: r.id } }]);
    expect((await preview(agent, r.id, conv.id)).renderedContent).toBe('Alan Agent for Canned Co');
    expect((await agent.mutate('sendMessage', { conversationId: conv.id, senderType: 'HUMAN', cannedResponseId: r.id }, SEND)).sentMessage.content).toBe('Alan Agent for Canned Co');
    // A key acting as no user: the agent's fallback.
    const connector = api(server.url, (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret);
    expect((await preview(connector, r.id, conv.id)).renderedContent).toBe('The team for Canned Co');

    const reader = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'] })).secret;
    await forbidden(reader, `{ cannedResponses { edges { node { id } } } }`, {});
    await forbidden(reader, `query($id: ID!) { node(id: $id) { ... on CannedResponse { content } } }`, { id: r.id });
    await forbidden(reader, `mutation($input: PreviewCannedResponseInput!) { previewCannedResponse(input: $input) { __typename } }`, { input: { cannedResponseId: r.id, conversationId: conv.id } });
  });
});

describe('another workspace', () => {
  it('cannot see, change or use any of it', async () => {
    const r = await canned(a, { shortCode: '/secret-sauce', title: 'Secret', content: 'The recipe is {{contact.name}} kumquat9931' });
    const mine = await conversation(a, ws, { name: 'Mine' });
    const b = api(server.url, other.key);
    const theirs = await conversation(b, other, { name: 'Theirs' });
    const before = await prisma.cannedResponse.findUniqueOrThrow({ where: { id: localId(r.id) }, include: { inboxes: true } });
    const seen: string[] = [];
    const look = (text: unknown) => {
      const s = JSON.stringify(text);
      if (s.includes('kumquat9931') || s.includes('secret-sauce')) seen.push(s);
    };
    look(await b.ok(`{ cannedResponses(first: 100) { edges { node { id shortCode content } } } }`));
    look(await b.ok(`{ cannedResponses(search: "secret") { edges { node { id content } } } }`));
    const node = await b.ok(`query($id: ID!) { node(id: $id) { id ... on CannedResponse { content } } nodes(ids: [$id]) { id } }`, { id: r.id });
    expect(node).toEqual({ node: null, nodes: [null] });
    const notFound = { __typename: 'NotFoundError', entity: 'CannedResponse', code: 'NOT_FOUND' };
    for (const conversationId of [theirs.id, mine.id]) {
      const p = await preview(b, r.id, conversationId);
      look(p);
      expect(p).toMatchObject(conversationId === theirs.id ? notFound : { __typename: 'NotFoundError' });
    }
    await expectNothingWritten(prisma, other.workspaceId, async () => {
      const sent = await b.mutate('sendMessage', { conversationId: theirs.id, senderType: 'HUMAN', cannedResponseId: r.id, idempotencyKey: 'steal' }, SEND);
      look(sent);
      expect(sent).toMatchObject(notFound);
    });
    look(await b.mutate('updateCannedResponse', { cannedResponseId: r.id, title: 'mine now' }, created('UpdateCannedResponsePayload')));
    expect(await b.mutate('updateCannedResponse', { cannedResponseId: r.id, content: 'x' }, created('UpdateCannedResponsePayload'))).toMatchObject(notFound);
    expect(await b.mutate('deleteCannedResponse', { cannedResponseId: r.id }, `... on NotFoundError { entity } ${ERROR}`)).toMatchObject(notFound);
    // Nor may A limit a response to B's inbox.
    expect(await a.mutate('updateCannedResponse', { cannedResponseId: r.id, inboxIds: [globalId('Inbox', other.inboxes.web.id)] }, created('UpdateCannedResponsePayload'))).toMatchObject({
      __typename: 'NotFoundError',
      entity: 'Inbox',
    });
    expect(seen).toEqual([]);
    expect(await prisma.cannedResponse.findUniqueOrThrow({ where: { id: localId(r.id) }, include: { inboxes: true } })).toEqual(before);
  });
});
