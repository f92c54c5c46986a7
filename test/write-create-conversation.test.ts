// createConversation end to end: the payload answered from the transaction's rows is what a
// read after the commit returns, for each way of finding or making the contact and for TEAM and
// CONNECTOR keys; scopes are still checked on those rows; one new contact however many creates
// race for it; and (PostgreSQL) a merge or an erase of the contact a create has found waits for
// that create, then moves or erases its conversation too (before: the conversation was deleted
// by the cascade after the caller had been told it was created, or erased without its event).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usePostgres } from './support/databases.js';
import { client } from './support/graphql.js';
import { IDLE_WORKERS } from './support/server.js';
import { api, globalId, localId, openWriteWorld, randomPhone, type Api, type SeededWorkspace, type TestServer } from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let a: Api;
let connector: Api;

beforeAll(async () => {
  // Idle workers: the PostgreSQL race below counts the sessions waiting on a lock.
  ({ server, ws, a } = await openWriteWorld('Create', IDLE_WORKERS));
  const key = await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS', 'READ_CONTACTS'], userId: null });
  connector = api(server.url, key.secret);
});
afterAll(() => server?.close());

const inbox = (name: 'whatsapp' | 'email' | 'web') => globalId('Inbox', ws.inboxes[name].id);
const CONV = `id number subject status controller priority version customAttributes messageCount unreadCount lastMessageAt lastMessagePreview
  firstResponseAt firstHumanResponseAt waitingSince snoozedUntil resolutionNote satisfactionRequested providerThreadId createdAt updatedAt`;
const CONTACT = `id name email phone customAttributes createdAt updatedAt`;
const MSG = `id content private status senderType createdAt updatedAt`;
const PAYLOAD = `conversation { ${CONV} } contact { ${CONTACT} } firstMessage { ${MSG} } duplicate`;

const CREATE = `mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename ... on CreateConversationPayload { ${PAYLOAD} } ... on Error { code message } } }`;

async function readBack(c: Api, res: any) {
  const d = await c.ok(
    `query($c: ID!, $k: ID!, $m: ID!) { c: node(id: $c) { ... on Conversation { ${CONV} } } k: node(id: $k) { ... on Contact { ${CONTACT} } } m: node(id: $m) { ... on Message { ${MSG} } } }`,
    { c: res.conversation.id, k: res.contact.id, m: res.firstMessage?.id ?? res.conversation.id },
  );
  return { conversation: d.c, contact: d.k, firstMessage: res.firstMessage ? d.m : null };
}

describe('payload from rows equals a read after the commit', () => {
  const cases: [string, (c: Api) => Record<string, unknown>][] = [
    ['new contact, contact message', () => ({ inboxId: inbox('whatsapp'), contact: { phone: randomPhone(), name: 'N' }, message: { senderType: 'CONTACT', content: 'hi' } })],
    ['new contact, no message', () => ({ inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, subject: 's', priority: 'HIGH' })],
    ['new contact, AI message', () => ({ inboxId: inbox('email'), contact: { email: `x${Date.now()}${Math.random()}@e.test` }, message: { senderType: 'AI_AGENT', content: 'hello' } })],
    ['anonymous web chat', () => ({ inboxId: inbox('web'), contact: {}, message: { senderType: 'CONTACT', content: 'anon' }, customAttributes: { a: 1 } })],
  ];
  for (const [name, input] of cases) {
    for (const who of ['team', 'connector'] as const) {
      it(`${name} (${who})`, async () => {
        const c = who === 'team' ? a : connector;
        const r = (await c.ok(CREATE, { input: input(c) })).createConversation;
        expect(r.__typename, JSON.stringify(r)).toBe('CreateConversationPayload');
        const back = await readBack(c, r);
        expect(r.conversation).toEqual(back.conversation);
        expect(r.contact).toEqual(back.contact);
        expect(r.firstMessage).toEqual(back.firstMessage);
      });
    }
  }

  it('existing contact found by phone, filled with a name and given the identity (team)', async () => {
    const phone = randomPhone();
    // A contact by email inbox with this phone, no name, no WhatsApp identity.
    const email = `fill${Date.now()}@e.test`;
    await a.ok(CREATE, { input: { inboxId: inbox('email'), contact: { email, phone } } });
    const r = (await a.ok(CREATE, { input: { inboxId: inbox('whatsapp'), contact: { phone, name: 'Filled' }, message: { senderType: 'CONTACT', content: 'x' } } })).createConversation;
    const back = await readBack(a, r);
    expect(r.contact).toEqual(back.contact);
    expect(r.conversation).toEqual(back.conversation);
  });

  it('contactId path, private first note (team)', async () => {
    const first = (await a.ok(CREATE, { input: { inboxId: inbox('whatsapp'), contact: { phone: randomPhone() } } })).createConversation;
    const r = (await a.ok(CREATE, { input: { inboxId: inbox('whatsapp'), contactId: first.contact.id, message: { senderType: 'HUMAN', content: 'note', private: true } } })).createConversation;
    const back = await readBack(a, r);
    expect(r).toMatchObject({ conversation: back.conversation, contact: back.contact, firstMessage: back.firstMessage });
    // A CONNECTOR reading that conversation: messageCount 0 (public), updatedAt unchanged.
    const asConnector = await readBack(connector, { ...r, firstMessage: null });
    expect(asConnector.conversation.messageCount).toBe(0);
  });
});

describe('scopes are checked on rows from the transaction', () => {
  it('a key with write:conversations alone gets nulls and FORBIDDEN for conversation, contact and firstMessage', async () => {
    const key = await ws.makeKey({ scopes: ['WRITE_CONVERSATIONS'] });
    const c = client(server.url, key.secret);
    const res = await c.request(CREATE, { input: { inboxId: inbox('whatsapp'), contact: { phone: randomPhone() }, message: { senderType: 'CONTACT', content: 'x' } } });
    expect(res.data.createConversation).toMatchObject({ __typename: 'CreateConversationPayload', conversation: null, contact: null, firstMessage: null, duplicate: false });
    const paths = (res.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code]).sort();
    expect(paths).toEqual([
      ['createConversation.contact', 'FORBIDDEN'],
      ['createConversation.conversation', 'FORBIDDEN'],
      ['createConversation.firstMessage', 'FORBIDDEN'],
    ]);
  });

  it('a key without read:contacts gets the conversation but a null contact with FORBIDDEN', async () => {
    const key = await ws.makeKey({ scopes: ['WRITE_CONVERSATIONS', 'READ_CONVERSATIONS'] });
    const c = client(server.url, key.secret);
    const res = await c.request(CREATE, { input: { inboxId: inbox('whatsapp'), contact: { phone: randomPhone() } } });
    expect(res.data.createConversation.conversation).not.toBeNull();
    expect(res.data.createConversation.contact).toBeNull();
    expect((res.errors ?? []).map((e) => [e.path?.join('.'), e.extensions?.code])).toEqual([['createConversation.contact', 'FORBIDDEN']]);
  });
});

describe('races on a new contact', () => {
  it('many createConversation with one new phone and different messages: all succeed, one contact', async () => {
    const phone = randomPhone();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.ok(CREATE, { input: { inboxId: inbox('whatsapp'), contact: { phone }, message: { senderType: 'CONTACT', content: `m${i}` } } })),
    );
    const rs = results.map((r) => r.createConversation);
    for (const r of rs) expect(r.__typename, JSON.stringify(r)).toBe('CreateConversationPayload');
    expect(new Set(rs.map((r) => r.contact.id)).size).toBe(1);
    expect(new Set(rs.map((r) => r.conversation.number)).size).toBe(6);
    expect(await server.db.prisma.contact.count({ where: { phone } })).toBe(1);
  });

  it('many createConversation with one new web-chat handle: all succeed, one contact, one identity', async () => {
    const handle = `visitor-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.ok(CREATE, { input: { inboxId: inbox('web'), contact: { handle }, message: { senderType: 'CONTACT', content: `m${i}` } } })),
    );
    const rs = results.map((r) => r.createConversation);
    for (const r of rs) expect(r.__typename, JSON.stringify(r)).toBe('CreateConversationPayload');
    expect(new Set(rs.map((r) => r.contact.id)).size).toBe(1);
    expect(await server.db.prisma.contactIdentity.count({ where: { workspaceId: ws.workspaceId, handle } })).toBe(1);
  });
});

if (usePostgres)
  describe('a merge or an erase of the contact a create has found', () => {
    let watcher: pg.Client;
    let holder: pg.Client;
    beforeAll(async () => {
      watcher = new pg.Client({ connectionString: server.database.url! });
      holder = new pg.Client({ connectionString: server.database.url! });
      await watcher.connect();
      await holder.connect();
    });
    afterAll(async () => {
      await watcher?.end().catch(() => {});
      await holder?.end().catch(() => {});
    });

    const waiters = async (n: number) => {
      for (let i = 0; i < 3000; i++) {
        const { rows } = await watcher.query(
          `SELECT pid, left(query, 120) AS query FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid()) AND wait_event_type = 'Lock'`,
        );
        if (rows.length >= n) return rows;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`never ${n} waiters`);
    };

    /**
     * A createConversation by `phone` that has found its contact (held FOR KEY SHARE) and waits
     * at its commit for the workspace's counter row, held by another session; `other` sent
     * while it waits, and waiting itself; then the row is let go. Both answers.
     */
    const raceAtCommit = async <T>(phone: string, other: () => Promise<T>) => {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "workspace_counter" WHERE "workspace_id" = $1 FOR UPDATE`, [ws.workspaceId]);
      const created = a.request(CREATE, { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone }, message: { senderType: 'CONTACT', content: 'new one' } } });
      await waiters(1);
      const second = other();
      await waiters(2);
      await holder.query('ROLLBACK');
      return { created: (await created).data!.createConversation, other: await second };
    };

    it('merge: the conversation created on the duplicate is not lost', async () => {
      const phone = randomPhone();
      const dup = (await a.ok(CREATE, { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone } } })).createConversation;
      const survivor = (await a.ok(CREATE, { input: { inboxId: globalId('Inbox', ws.inboxes.email.id), contact: { email: `s${Date.now()}@e.test` } } })).createConversation;
      // The merge waits FOR UPDATE on the duplicate, held FOR KEY SHARE by the create.
      const { created: c, other: merged } = await raceAtCommit(phone, () =>
        a.request(`mutation($i: MergeContactsInput!) { mergeContacts(input: $i) { __typename ... on Error { code message } } }`, {
          i: { survivorId: survivor.contact.id, duplicateId: dup.contact.id },
        }),
      );
      const m = merged.data!.mergeContacts;
      expect(c.__typename, JSON.stringify(c)).toBe('CreateConversationPayload');
      expect(m.__typename, JSON.stringify(m)).toBe('MergeContactsPayload');
      // The conversation the create answered with must still exist (moved to the survivor).
      const row = await server.db.prisma.conversation.findUnique({ where: { id: localId(c.conversation.id) } });
      expect(row, `conversation #${c.conversation.number} answered to the caller, then deleted by the merge's cascade`).not.toBeNull();
    });
    it('erase: the conversation created on the erased contact gets its CONVERSATION_DELETED event', async () => {
      const phone = randomPhone();
      const victim = (await a.ok(CREATE, { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone } } })).createConversation;
      const { created: c, other: erased } = await raceAtCommit(phone, () =>
        a.request(`mutation($i: DeleteContactInput!) { deleteContact(input: $i) { __typename ... on Error { code message } } }`, { i: { contactId: victim.contact.id } }),
      );
      const d = erased.data!.deleteContact;
      expect(c.__typename, JSON.stringify(c)).toBe('CreateConversationPayload');
      expect(d.__typename, JSON.stringify(d)).toBe('DeleteContactPayload');
      const id = localId(c.conversation.id);
      expect(await server.db.prisma.conversation.findUnique({ where: { id } })).toBeNull();
      const deletedEvents = await server.db.prisma.event.findMany({ where: { workspaceId: ws.workspaceId, type: 'CONVERSATION_DELETED' } });
      const contactDeleted = await server.db.prisma.event.findFirst({ where: { workspaceId: ws.workspaceId, type: 'CONTACT_DELETED' }, orderBy: { seq: 'desc' } });
      // Erased with the contact by the cascade, but the erase neither counted it nor recorded its CONVERSATION_DELETED (live lists keep it).
      expect(contactDeleted?.after, 'CONTACT_DELETED.after').toMatchObject({ conversations: 2 });
      expect(deletedEvents.map((e) => e.conversationId), 'CONVERSATION_DELETED events').toContain(id);
    });
  });
