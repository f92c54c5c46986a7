// Labels (the workspace's set, and a conversation's) and contacts (create, update, merge,
// erase) through the HTTP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/graphql.js';
import {
  api,
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

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;

beforeAll(async () => {
  ({ server, ws, other, a } = await openWriteWorld('Labels and contacts'));
});
afterAll(() => server?.close());

const FRAGMENTS: Record<string, string> = {
  DuplicateError: '... on DuplicateError { entity field existingId }',
  ValidationError: '... on ValidationError { field }',
  NotFoundError: '... on NotFoundError { entity }',
};
/** The typed errors each payload's union carries (spreading any other is invalid GraphQL). */
const ERRORS_OF: Record<string, string[]> = {
  CreateLabelPayload: ['DuplicateError', 'ValidationError'],
  UpdateLabelPayload: ['DuplicateError', 'ValidationError', 'NotFoundError'],
  CreateContactPayload: ['DuplicateError', 'ValidationError'],
  UpdateContactPayload: ['DuplicateError', 'ValidationError', 'NotFoundError'],
  MergeContactsPayload: ['ValidationError', 'NotFoundError'],
};
const errorsOf = (payload: string) => `${ERRORS_OF[payload]!.map((t) => FRAGMENTS[t]).join(' ')} ${ERROR}`;
const LABEL = (payload: string) => `... on ${payload} { label { id name color description } } ${errorsOf(payload)}`;

async function label(name: string) {
  return (await a.must('createLabel', { name }, LABEL('CreateLabelPayload'))).label as { id: string; name: string };
}

describe('createLabel, updateLabel, deleteLabel', () => {
  it('creates, renames and recolours a label, recording LABEL_* events', async () => {
    const created = await a.mutate('createLabel', { name: ' billing ', color: '#1F6FEB', description: 'Money' }, LABEL('CreateLabelPayload'));
    expect(created.label).toMatchObject({ name: 'billing', color: '#1f6feb', description: 'Money' });
    const updated = await a.mutate('updateLabel', { labelId: created.label.id, name: 'invoices', color: '#d1242f' }, LABEL('UpdateLabelPayload'));
    expect(updated.label).toMatchObject({ id: created.label.id, name: 'invoices', color: '#d1242f', description: 'Money' });
    const evs = (await events(server.db.prisma, ws.workspaceId)).filter((e) => e.type.startsWith('LABEL_'));
    expect(evs.map((e) => e.type)).toEqual(['LABEL_CREATED', 'LABEL_UPDATED']);
    expect(evs[1]).toMatchObject({ before: { name: 'billing', color: '#1f6feb' }, after: { name: 'invoices', color: '#d1242f' } });
  });

  it('refuses a duplicate name (whatever its case), a bad colour or an empty name, writing nothing', async () => {
    const vip = await label('VIP');
    const second = await label('second');
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('createLabel', { name: 'vip' }, LABEL('CreateLabelPayload'))).toMatchObject({
        __typename: 'DuplicateError', code: 'DUPLICATE', entity: 'Label', field: 'input.name', existingId: vip.id,
      });
      expect(await a.mutate('updateLabel', { labelId: second.id, name: 'Vip' }, LABEL('UpdateLabelPayload'))).toMatchObject({ __typename: 'DuplicateError', existingId: vip.id });
      expect(await a.mutate('createLabel', { name: 'x', color: 'red' }, LABEL('CreateLabelPayload'))).toMatchObject({ __typename: 'ValidationError', field: 'input.color' });
      expect(await a.mutate('createLabel', { name: '  ' }, LABEL('CreateLabelPayload'))).toMatchObject({ __typename: 'ValidationError', field: 'input.name' });
      expect(await a.mutate('updateLabel', { labelId: globalId('Label', other.admin.id), name: 'z' }, LABEL('UpdateLabelPayload'))).toMatchObject({ __typename: 'NotFoundError', entity: 'Label' });
    });
    // The same name in another workspace is fine.
    expect((await api(server.url, other.key).must('createLabel', { name: 'VIP' }, LABEL('CreateLabelPayload'))).label.name).toBe('VIP');
  });

  it('deletes a label and takes it off every conversation', async () => {
    const doomed = await label('doomed');
    const { conversation } = await newConversation(a, ws);
    await a.must('addLabels', { conversationId: conversation.id, labelIds: [doomed.id] }, '__typename');
    const r = await a.mutate('deleteLabel', { labelId: doomed.id }, `... on DeleteLabelPayload { deletedLabelId } ${ERROR}`);
    expect(r).toEqual({ __typename: 'DeleteLabelPayload', deletedLabelId: doomed.id });
    expect((await a.conversation(conversation.id)).labels).toEqual([]);
    const [ev] = (await events(server.db.prisma, ws.workspaceId)).slice(-1);
    expect(ev).toMatchObject({ type: 'LABEL_DELETED', before: { name: 'doomed', conversations: 1 } });
    expect((await a.mutate('deleteLabel', { labelId: doomed.id }, `... on NotFoundError { entity } ${ERROR}`)).__typename).toBe('NotFoundError');
  });
});

describe('addLabels, removeLabels, setLabels', () => {
  const SEL = (payload: string) => `... on ${payload} { conversation { version labels { name } } } ... on NotFoundError { entity ref } ... on ConversationArchivedError { conversationId } ${ERROR}`;

  it('adds, removes and replaces labels, bumping the version only when something changes', async () => {
    const [red, green, blue] = [await label('red'), await label('green'), await label('blue')];
    const { conversation } = await newConversation(a, ws);
    const id = conversation.id;
    expect((await a.mutate('addLabels', { conversationId: id, labelIds: [red.id, green.id] }, SEL('AddLabelsPayload'))).conversation).toEqual({ version: 2, labels: [{ name: 'green' }, { name: 'red' }] });
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect((await a.mutate('addLabels', { conversationId: id, labelIds: [red.id] }, SEL('AddLabelsPayload'))).conversation.version).toBe(2);
    });
    expect((await a.mutate('removeLabels', { conversationId: id, labelIds: [red.id, blue.id] }, SEL('RemoveLabelsPayload'))).conversation).toEqual({ version: 3, labels: [{ name: 'green' }] });
    expect((await a.mutate('setLabels', { conversationId: id, labelIds: [blue.id, red.id] }, SEL('SetLabelsPayload'))).conversation).toEqual({ version: 4, labels: [{ name: 'blue' }, { name: 'red' }] });
    expect((await a.mutate('setLabels', { conversationId: id, labelIds: [] }, SEL('SetLabelsPayload'))).conversation).toEqual({ version: 5, labels: [] });
    const changes = (await events(server.db.prisma, ws.workspaceId, id)).filter((e) => e.type === 'LABELS_CHANGED');
    expect(changes.map((e) => [e.before, e.after])).toEqual([
      [{ labels: [] }, { labels: ['green', 'red'], added: ['green', 'red'], removed: [] }],
      [{ labels: ['green', 'red'] }, { labels: ['green'], added: [], removed: ['red'] }],
      [{ labels: ['green'] }, { labels: ['blue', 'red'], added: ['blue', 'red'], removed: ['green'] }],
      [{ labels: ['blue', 'red'] }, { labels: [], added: [], removed: ['blue', 'red'] }],
    ]);
  });

  it('shows each mutation of one document the labels as that mutation left them', async () => {
    const [amber, teal] = [await label('amber'), await label('teal')];
    const { conversation } = await newConversation(a, ws);
    const sel = 'conversation { labels { name } }';
    const data = await client(server.url, ws.key).ok(
      `mutation($add: AddLabelsInput!, $remove: RemoveLabelsInput!) {
        first: addLabels(input: $add) { ... on AddLabelsPayload { ${sel} } }
        second: removeLabels(input: $remove) { ... on RemoveLabelsPayload { ${sel} } }
      }`,
      { add: { conversationId: conversation.id, labelIds: [amber.id, teal.id] }, remove: { conversationId: conversation.id, labelIds: [amber.id] } },
    );
    expect(data.first.conversation.labels).toEqual([{ name: 'amber' }, { name: 'teal' }]);
    expect(data.second.conversation.labels).toEqual([{ name: 'teal' }]);
  });

  it("refuses another workspace's label, and any change to an ARCHIVED conversation", async () => {
    const theirs = (await api(server.url, other.key).must('createLabel', { name: 'theirs' }, LABEL('CreateLabelPayload'))).label;
    const { conversation } = await newConversation(a, ws);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('addLabels', { conversationId: conversation.id, labelIds: [theirs.id] }, SEL('AddLabelsPayload'))).toMatchObject({ __typename: 'NotFoundError', entity: 'Label', ref: theirs.id });
    });
    await a.must('closeConversation', { conversationId: conversation.id }, '__typename');
    await a.must('archiveConversation', { conversationId: conversation.id }, '__typename');
    const mine = await label('late');
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('addLabels', { conversationId: conversation.id, labelIds: [mine.id] }, SEL('AddLabelsPayload'))).toMatchObject({ __typename: 'ConversationArchivedError', code: 'CONVERSATION_ARCHIVED' });
    });
  });
});

const CONTACT = (payload: string) =>
  `... on ${payload} { contact { id name email phone customAttributes identities { channel handle } } } ${errorsOf(payload)}`;

describe('createContact and updateContact', () => {
  it('creates a contact with identities, normalising email and phone', async () => {
    const phone = randomPhone();
    const r = await a.mutate(
      'createContact',
      { name: 'Priya', email: ' Priya@Example.COM ', phone, customAttributes: { plan: 'pro' }, identities: [{ channel: 'SMS', handle: phone }, { channel: 'INSTAGRAM', handle: 'priya.r' }] },
      CONTACT('CreateContactPayload'),
    );
    expect(r.contact).toMatchObject({ name: 'Priya', email: 'priya@example.com', phone, customAttributes: { plan: 'pro' } });
    expect(r.contact.identities).toEqual([{ channel: 'SMS', handle: phone }, { channel: 'INSTAGRAM', handle: 'priya.r' }]);
    const [ev] = (await events(server.db.prisma, ws.workspaceId)).slice(-1);
    expect(ev).toMatchObject({ type: 'CONTACT_CREATED', after: { contactId: localId(r.contact.id), email: 'priya@example.com' } });
  });

  it('refuses invalid and duplicate values, writing nothing', async () => {
    const phone = randomPhone();
    const existing = await a.must('createContact', { email: 'taken@example.com', phone, identities: [{ channel: 'FACEBOOK', handle: 'fb-1' }] }, CONTACT('CreateContactPayload'));
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ email: 'nope@' }, { __typename: 'ValidationError', field: 'input.email' }],
      [{ phone: '0612345678' }, { __typename: 'ValidationError', field: 'input.phone' }],
      [{ identities: [{ channel: 'WHATSAPP', handle: 'abc' }] }, { __typename: 'ValidationError', field: 'input.identities.0.handle' }],
      [{ email: 'TAKEN@example.com' }, { __typename: 'DuplicateError', field: 'input.email', existingId: existing.contact.id }],
      [{ phone }, { __typename: 'DuplicateError', field: 'input.phone', existingId: existing.contact.id }],
      [{ identities: [{ channel: 'FACEBOOK', handle: 'fb-1' }] }, { __typename: 'DuplicateError', field: 'input.identities.0.handle' }],
    ];
    for (const [input, expected] of cases) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        expect(await a.mutate('createContact', { name: 'X', ...input }, CONTACT('CreateContactPayload')), JSON.stringify(input)).toMatchObject(expected);
      });
    }
  });

  it('updates fields, clears with null, and refuses a value another contact holds', async () => {
    const one = await a.must('createContact', { name: 'One', email: 'one@example.com' }, CONTACT('CreateContactPayload'));
    const two = await a.must('createContact', { name: 'Two', email: 'two@example.com' }, CONTACT('CreateContactPayload'));
    const r = await a.mutate('updateContact', { contactId: one.contact.id, name: 'Uno', email: null, customAttributes: { a: 1 } }, CONTACT('UpdateContactPayload'));
    expect(r.contact).toMatchObject({ name: 'Uno', email: null, customAttributes: { a: 1 } });
    const [ev] = (await events(server.db.prisma, ws.workspaceId)).slice(-1);
    expect(ev).toMatchObject({ type: 'CONTACT_UPDATED', before: { name: 'One', email: 'one@example.com' }, after: { name: 'Uno', email: null } });
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('updateContact', { contactId: one.contact.id, email: 'two@example.com' }, CONTACT('UpdateContactPayload'))).toMatchObject({ __typename: 'DuplicateError', existingId: two.contact.id });
      expect(await a.mutate('updateContact', { contactId: globalId('Contact', other.admin.id), name: 'x' }, CONTACT('UpdateContactPayload'))).toMatchObject({ __typename: 'NotFoundError', entity: 'Contact' });
    });
  });
});

describe('mergeContacts', () => {
  it("moves the duplicate's conversations and identities to the survivor, and the duplicate disappears", async () => {
    const phone = randomPhone();
    const byPhone = await newConversation(a, ws, { phone });
    const email = `merge${Date.now()}@example.com`;
    const byEmail = await a.createConversation({ inboxId: globalId('Inbox', ws.inboxes.email.id), contact: { email, name: 'Sam' }, message: { senderType: 'CONTACT', content: 'by email' } });
    expect(byEmail.contact.id).not.toBe(byPhone.contact.id);
    const r = await a.mutate('mergeContacts', { survivorId: byPhone.contact.id, duplicateId: byEmail.contact.id }, CONTACT('MergeContactsPayload'));
    expect(r.contact).toMatchObject({ id: byPhone.contact.id, name: 'Test contact', email, phone });
    expect(r.contact.identities.map((i: any) => i.channel).sort()).toEqual(['EMAIL', 'WHATSAPP']);
    expect(await server.db.prisma.contact.count({ where: { id: localId(byEmail.contact.id) } })).toBe(0);
    const moved = await a.conversation(byEmail.conversation.id);
    expect(moved).toMatchObject({ contact: { id: byPhone.contact.id }, version: 2 });
    const message = await server.db.prisma.message.findUniqueOrThrow({ where: { id: localId(byEmail.firstMessage!.id) } });
    expect(message.senderContactId).toBe(localId(byPhone.contact.id));
    const merged = (await events(server.db.prisma, ws.workspaceId)).find((e) => e.type === 'CONTACTS_MERGED');
    expect(merged).toMatchObject({ after: { contactId: localId(byPhone.contact.id), mergedContactId: localId(byEmail.contact.id), movedConversations: 1 } });
  });

  it('refuses merging a contact into itself, or one from another workspace', async () => {
    const { contact } = await newConversation(a, ws);
    const theirs = await newConversation(api(server.url, other.key), other);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('mergeContacts', { survivorId: contact.id, duplicateId: contact.id }, CONTACT('MergeContactsPayload'))).toMatchObject({ __typename: 'ValidationError', field: 'input.duplicateId' });
      expect(await a.mutate('mergeContacts', { survivorId: contact.id, duplicateId: theirs.contact.id }, CONTACT('MergeContactsPayload'))).toMatchObject({ __typename: 'NotFoundError', entity: 'Contact' });
    });
  });
  it('refuses a merge whose custom attributes together would break the limits of one contact, and writes nothing', async () => {
    const attrs = (prefix: string) => Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`${prefix}${i}`, i]));
    const one = await a.mutate('createContact', { name: 'Many A', customAttributes: attrs('a') }, CONTACT('CreateContactPayload'));
    const two = await a.mutate('createContact', { name: 'Many B', customAttributes: attrs('b') }, CONTACT('CreateContactPayload'));
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      const r = await a.mutate('mergeContacts', { survivorId: one.contact.id, duplicateId: two.contact.id }, CONTACT('MergeContactsPayload'));
      expect(r).toMatchObject({ __typename: 'ValidationError', field: 'input.duplicateId' });
      expect(r.message).toMatch(/100 keys/);
    });
  });
});

describe('deleteContact', () => {
  it('erases the contact with its conversations, messages and their events; one event without content remains', async () => {
    const phone = randomPhone();
    const one = await a.createConversation({
      inboxId: globalId('Inbox', ws.inboxes.whatsapp.id),
      contact: { phone, name: 'Erin Erased' },
      message: { senderType: 'CONTACT', content: 'My address is 1 Secret Lane' },
    });
    const two = await a.createConversation({ inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone }, subject: 'Private matter' });
    await a.must('assignConversation', { conversationId: two.conversation.id, assigneeId: globalId('User', ws.agent.id), note: 'About their divorce' }, '__typename');
    const keep = await newConversation(a, ws);
    const r = await a.mutate('deleteContact', { contactId: one.contact.id }, `... on DeleteContactPayload { deletedContactId } ${ERROR}`);
    expect(r).toEqual({ __typename: 'DeleteContactPayload', deletedContactId: one.contact.id });
    const prisma = server.db.prisma;
    const ids = [localId(one.conversation.id), localId(two.conversation.id)];
    expect(await prisma.contact.count({ where: { id: localId(one.contact.id) } })).toBe(0);
    expect(await prisma.conversation.count({ where: { id: { in: ids } } })).toBe(0);
    expect(await prisma.message.count({ where: { conversationId: { in: ids } } })).toBe(0);
    expect(await prisma.contactIdentity.count({ where: { handle: phone } })).toBe(0);
    const left = await prisma.event.findMany({ where: { workspaceId: ws.workspaceId } });
    const text = JSON.stringify(left, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    for (const secret of ['Secret Lane', 'Private matter', 'divorce', phone, 'Erin Erased']) expect(text).not.toContain(secret);
    // Of the erased conversations, only a content-free CONVERSATION_DELETED each remains.
    const aboutThem = left.filter((e) => e.conversationId && ids.includes(e.conversationId));
    expect(aboutThem.map((e) => [e.type, e.conversationId, e.note])).toEqual(ids.map((id) => ['CONVERSATION_DELETED', id, null]));
    expect(aboutThem[1]).toMatchObject({ before: { status: 'OPEN', inboxId: ws.inboxes.whatsapp.id, assigneeId: ws.agent.id }, after: { deleted: true } });
    const erased = left.filter((e) => e.type === 'CONTACT_DELETED');
    expect(erased).toHaveLength(1);
    expect(erased[0]).toMatchObject({ after: { contactId: localId(one.contact.id), conversations: 2, messages: 1 }, note: null });
    // Other contacts' conversations are untouched.
    expect((await a.conversation(keep.conversation.id)).messageCount).toBe(1);
  });
});
