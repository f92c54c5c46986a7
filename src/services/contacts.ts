// Contacts: create, update, merge, erase; and finding (or creating) the contact a new
// conversation is with, from the identity its channel knows them by.
import { Prisma, type Channel, type Contact } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { txRows } from '../db/transaction-end.js';
import { violatedConstraint } from '../db/unique-violation.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import { recordConversationDeleted } from './conversation-store.js';
import { inTransaction, type EventInput, type ServiceContext } from './timeline.js';
import {
  checkCustomAttributes,
  normalizeEmail,
  normalizePhone,
  optionalText,
  requiredText,
} from './validation.js';

/** How each channel knows a contact. */
export const CHANNEL_IDENTITY: Readonly<Record<Channel, 'phone' | 'email' | 'handle'>> = {
  WHATSAPP: 'phone',
  SMS: 'phone',
  VOICE: 'phone',
  EMAIL: 'email',
  INSTAGRAM: 'handle',
  FACEBOOK: 'handle',
  WEB_CHAT: 'handle',
};

/** Web chat visitors may be anonymous; every other channel needs an address to answer to. */
const IDENTITY_REQUIRED = (channel: Channel) => channel !== 'WEB_CHAT';

export function normalizeHandle(channel: Channel, handle: string, field: string): string {
  const kind = CHANNEL_IDENTITY[channel];
  if (kind === 'phone') return normalizePhone(handle, field);
  if (kind === 'email') return normalizeEmail(handle, field);
  return requiredText(handle, field);
}

export interface ContactFieldsInput {
  name?: string | null;
  email?: string | null;
  phone?: string | null;
  customAttributes?: Record<string, unknown> | null;
}

function normalizeFields(input: ContactFieldsInput, prefix: string) {
  return {
    name: optionalText(input.name, `${prefix}.name`),
    email: input.email === undefined ? undefined : input.email === null || !input.email.trim() ? null : normalizeEmail(input.email, `${prefix}.email`),
    phone: input.phone === undefined ? undefined : input.phone === null || !input.phone.trim() ? null : normalizePhone(input.phone, `${prefix}.phone`),
    customAttributes:
      input.customAttributes === undefined || input.customAttributes === null
        ? undefined
        : checkCustomAttributes(input.customAttributes, `${prefix}.customAttributes`),
  };
}

async function assertFree(tx: ScopedTx, field: 'email' | 'phone', value: string, exceptId: string | null, inputField: string) {
  const other = await tx.contact.findFirst({
    where: { [field]: value, ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true },
  });
  if (other) throw new DuplicateError('Contact', inputField, other.id);
}

/** Turns a lost race on a unique column into the DuplicateError the check would have given. */
function duplicateFromRace(error: unknown, prefix: string): never {
  const constraint = violatedConstraint(error);
  if (constraint?.includes('email')) throw new DuplicateError('Contact', `${prefix}.email`, null);
  if (constraint?.includes('phone')) throw new DuplicateError('Contact', `${prefix}.phone`, null);
  if (constraint?.startsWith('contact_identity')) throw new DuplicateError('Contact', `${prefix}.identities`, null);
  throw error;
}

const contactValues = (c: Pick<Contact, 'id' | 'name' | 'email' | 'phone'>) => ({
  contactId: c.id,
  name: c.name,
  email: c.email,
  phone: c.phone,
});

export interface CreateContactInput extends ContactFieldsInput {
  identities?: { channel: Channel; handle: string }[] | null;
}

export async function createContact(sctx: ServiceContext, input: CreateContactInput): Promise<Contact> {
  const fields = normalizeFields(input, 'input');
  const identities = (input.identities ?? []).map((i, n) => ({
    channel: i.channel,
    handle: normalizeHandle(i.channel, i.handle, `input.identities.${n}.handle`),
  }));
  if (identities.length > 20) throw new ValidationError('A contact has at most 20 identities.', 'input.identities');
  const seen = new Set<string>();
  for (const [n, i] of identities.entries()) {
    const key = `${i.channel}:${i.handle}`;
    if (seen.has(key)) throw new ValidationError('The same identity is listed twice.', `input.identities.${n}`);
    seen.add(key);
  }
  try {
    return await inTransaction(sctx, async (tx, events) => {
      if (fields.email) await assertFree(tx, 'email', fields.email, null, 'input.email');
      if (fields.phone) await assertFree(tx, 'phone', fields.phone, null, 'input.phone');
      for (const [n, i] of identities.entries()) {
        const holder = await tx.contactIdentity.findFirst({ where: { channel: i.channel, handle: i.handle }, select: { contactId: true } });
        if (holder) throw new DuplicateError('Contact', `input.identities.${n}.handle`, holder.contactId);
      }
      const contact = await tx.contact.create({
        data: {
          workspaceId: sctx.workspaceId,
          name: fields.name ?? null,
          email: fields.email ?? null,
          phone: fields.phone ?? null,
          customAttributes: (fields.customAttributes ?? {}) as Prisma.InputJsonObject,
          identities: { create: identities.map((i) => ({ workspaceId: sctx.workspaceId, ...i })) },
        },
      });
      await events.record({ type: 'CONTACT_CREATED', after: { ...contactValues(contact), identities } });
      return contact;
    });
  } catch (e) {
    return duplicateFromRace(e, 'input');
  }
}

export interface UpdateContactInput extends ContactFieldsInput {
  contactId: string;
}

export async function updateContact(sctx: ServiceContext, input: UpdateContactInput): Promise<Contact> {
  const fields = normalizeFields(input, 'input');
  try {
    return await inTransaction(sctx, async (tx, events) => {
      const contact = await lockContact(tx, sctx.workspaceId, input.contactId);
      const data: Prisma.ContactUncheckedUpdateInput = {};
      const before: Record<string, Prisma.InputJsonValue | null> = {};
      const after: Record<string, Prisma.InputJsonValue | null> = {};
      for (const key of ['name', 'email', 'phone'] as const) {
        const value = fields[key];
        if (value === undefined || value === contact[key]) continue;
        if (value && key !== 'name') await assertFree(tx, key, value, contact.id, `input.${key}`);
        data[key] = value;
        before[key] = contact[key];
        after[key] = value;
      }
      if (fields.customAttributes && JSON.stringify(fields.customAttributes) !== JSON.stringify(contact.customAttributes)) {
        data.customAttributes = fields.customAttributes as Prisma.InputJsonObject;
        before.customAttributes = contact.customAttributes as Prisma.InputJsonValue;
        after.customAttributes = fields.customAttributes as Prisma.InputJsonObject;
      }
      if (!Object.keys(data).length) return contact;
      const updated = await tx.contact.update({ where: { id: contact.id }, data });
      await events.record({ type: 'CONTACT_UPDATED', before: { contactId: contact.id, ...before }, after: { contactId: contact.id, ...after } });
      return updated;
    });
  } catch (e) {
    return duplicateFromRace(e, 'input');
  }
}

/**
 * Locks a contact's row in the workspace: FOR UPDATE to change or remove it, FOR KEY SHARE to
 * keep it from being merged away or erased while rows that point at it are written. Raw
 * (txRows): often a transaction's first statement, which its BEGIN goes with.
 */
async function lockContactRow(tx: ScopedTx, workspaceId: string, contactId: string, mode: 'UPDATE' | 'KEY SHARE'): Promise<void> {
  const lock = mode === 'UPDATE' ? Prisma.sql`FOR UPDATE` : Prisma.sql`FOR KEY SHARE`;
  const rows = await txRows<{ id: string }>(tx, Prisma.sql`SELECT "id" FROM "contact" WHERE "id" = ${contactId}::uuid AND "workspace_id" = ${workspaceId}::uuid ${lock}`);
  if (!rows.length) throw new NotFoundError('Contact', contactId);
}

/**
 * Locks a contact's conversations, then the contact FOR UPDATE: conversations first, the order
 * every writer takes these locks in. A createConversation holding the contact (FOR KEY SHARE)
 * has committed by the time this returns, so the statements after it see its conversation.
 */
async function lockContactAndConversations(tx: ScopedTx, workspaceId: string, contactId: string): Promise<void> {
  await tx.$queryRaw`SELECT 1 FROM "conversation" WHERE "workspace_id" = ${workspaceId}::uuid AND "contact_id" = ${contactId}::uuid FOR UPDATE`;
  await lockContactRow(tx, workspaceId, contactId, 'UPDATE');
}

/** The contact, locked FOR UPDATE and read under the lock. */
async function lockContact(tx: ScopedTx, workspaceId: string, contactId: string): Promise<Contact> {
  await lockContactRow(tx, workspaceId, contactId, 'UPDATE');
  return tx.contact.findUniqueOrThrow({ where: { id: contactId } });
}

/**
 * Keeps a contact from being merged away or erased until the transaction ends, so rows
 * that point at it can be written after the workspace's event lock is taken.
 */
export async function holdContact(tx: ScopedTx, workspaceId: string, contactId: string): Promise<void> {
  await lockContactRow(tx, workspaceId, contactId, 'KEY SHARE');
}

export interface MergeContactsInput {
  survivorId: string;
  duplicateId: string;
}

/**
 * Moves the duplicate's conversations, messages, identities and surveys to the survivor, fills the
 * survivor's missing fields from the duplicate, and deletes the duplicate.
 */
export async function mergeContacts(sctx: ServiceContext, input: MergeContactsInput): Promise<Contact> {
  if (input.survivorId === input.duplicateId) throw new ValidationError('A contact cannot be merged into itself.', 'input.duplicateId');
  return inTransaction(sctx, async (tx, events) => {
    // One after the other: a transaction's queries share one connection (see loadFacts).
    const survivor = await tx.contact.findUnique({ where: { id: input.survivorId } });
    const duplicate = await tx.contact.findUnique({ where: { id: input.duplicateId } });
    if (!survivor) throw new NotFoundError('Contact', input.survivorId);
    if (!duplicate) throw new NotFoundError('Contact', input.duplicateId);
    // The duplicate's rows are moved under its lock: a conversation another transaction added
    // to it meanwhile has committed by now, and is moved too.
    await lockContactAndConversations(tx, sctx.workspaceId, duplicate.id);
    await lockContactRow(tx, sctx.workspaceId, survivor.id, 'UPDATE');
    const moved = await tx.$queryRaw<{ id: string }[]>`
      UPDATE "conversation" SET "contact_id" = ${survivor.id}::uuid, "version" = "version" + 1, "updated_at" = now()
      WHERE "workspace_id" = ${sctx.workspaceId}::uuid AND "contact_id" = ${duplicate.id}::uuid RETURNING "id"`;
    await tx.message.updateMany({ where: { senderContactId: duplicate.id }, data: { senderContactId: survivor.id } });
    const identities = await tx.contactIdentity.updateMany({ where: { contactId: duplicate.id }, data: { contactId: survivor.id } });
    // The duplicate's surveys (and their answers) are the survivor's now: deleting the duplicate would cascade to them.
    await tx.survey.updateMany({ where: { contactId: duplicate.id }, data: { contactId: survivor.id } });
    await tx.contact.delete({ where: { id: duplicate.id } });
    // The survivor's attributes win; the union must still keep within the limits of one contact.
    const customAttributes = checkCustomAttributes(
      { ...(duplicate.customAttributes as Record<string, unknown>), ...(survivor.customAttributes as Record<string, unknown>) },
      'input.duplicateId',
    );
    const data: Prisma.ContactUncheckedUpdateInput = { customAttributes: customAttributes as Prisma.InputJsonObject };
    if (!survivor.name && duplicate.name) data.name = duplicate.name;
    if (!survivor.email && duplicate.email) data.email = duplicate.email;
    if (!survivor.phone && duplicate.phone) data.phone = duplicate.phone;
    const merged = await tx.contact.update({ where: { id: survivor.id }, data });
    await events.record({
      type: 'CONTACTS_MERGED',
      before: { survivor: contactValues(survivor), duplicate: contactValues(duplicate) },
      after: {
        ...contactValues(merged),
        mergedContactId: duplicate.id,
        movedConversations: moved.length,
        movedIdentities: identities.count,
      },
    });
    for (const { id } of moved) {
      await events.record({
        type: 'CONVERSATION_UPDATED',
        conversationId: id,
        before: { contactId: duplicate.id },
        after: { contactId: survivor.id },
      });
    }
    return merged;
  });
}

/**
 * Erasure: the contact, its identities, conversations and messages, and the timeline
 * events about them, are deleted. What remains is content-free: a CONVERSATION_DELETED
 * event per conversation (so live lists drop them) and one CONTACT_DELETED event.
 */
export async function deleteContact(sctx: ServiceContext, contactId: string): Promise<void> {
  await inTransaction(sctx, async (tx, events) => {
    if (!(await tx.contact.findUnique({ where: { id: contactId }, select: { id: true } }))) throw new NotFoundError('Contact', contactId);
    await lockContactAndConversations(tx, sctx.workspaceId, contactId);
    // Locked, with what each one's CONVERSATION_DELETED event keeps of it.
    const erased = await tx.$queryRaw<Parameters<typeof recordConversationDeleted>[1][]>`
      SELECT "id", "number", "status", "inbox_id" AS "inboxId", "priority", "assignee_id" AS "assigneeId", "controller", "message_count" AS "messageCount",
        "public_message_count" AS "publicMessageCount"
      FROM "conversation" WHERE "workspace_id" = ${sctx.workspaceId}::uuid AND "contact_id" = ${contactId}::uuid
      ORDER BY "number" FOR UPDATE`;
    const ids = erased.map((c) => c.id);
    // Both figures: the event is CONNECTOR-visible, and the one with notes is stripped for them.
    const { messages, publicMessages } = (ids.length
      ? await tx.$queryRaw<{ messages: number; publicMessages: number }[]>`
          SELECT count(*)::int AS "messages", (count(*) FILTER (WHERE NOT "private"))::int AS "publicMessages"
          FROM "message" WHERE "workspace_id" = ${sctx.workspaceId}::uuid AND "conversation_id" = ANY(${ids}::uuid[])`
      : [])[0] ?? { messages: 0, publicMessages: 0 };
    await tx.event.deleteMany({
      where: {
        OR: [
          ...(ids.length ? [{ conversationId: { in: ids } }] : []),
          { actorContactId: contactId },
          { after: { path: ['contactId'], equals: contactId } },
          { before: { path: ['contactId'], equals: contactId } },
          { after: { path: ['mergedContactId'], equals: contactId } },
        ],
      },
    });
    await tx.contact.delete({ where: { id: contactId } });
    // Webhook payloads that mention the contact go too; one not yet sent never will be.
    await tx.webhookDelivery.updateMany({
      where: { contactId, state: 'PENDING' },
      data: { state: 'FAILED', lastError: 'The payload was erased with its contact.', nextAttemptAt: null, completedAt: new Date() },
    });
    await tx.webhookDelivery.updateMany({ where: { contactId }, data: { body: null } });
    // The rule-run log of its conversations goes too: a run's reason and error may quote what the
    // contact wrote (a failed action's message), and the runs' events are gone with them.
    if (ids.length) await tx.automationRun.deleteMany({ where: { conversationId: { in: ids } } });
    for (const conversation of erased) await recordConversationDeleted(events, conversation, 'The contact was erased.');
    await events.record({
      type: 'CONTACT_DELETED',
      after: { contactId, conversations: ids.length, messages, publicMessages },
    });
  });
}

export type ConversationContactSpec =
  | { contactId: string }
  | { identity: { name?: string | null; email?: string | null; phone?: string | null; handle?: string | null } };

/**
 * The contact a new conversation in a `channel` inbox is with: the given contact, or the
 * one already known by the identity the channel needs (then by the channel's kind of
 * address, email or phone, then by the other), or a new one. Adds the channel identity and
 * fills missing fields of a reused contact when they are free. Returns the events to record
 * once the conversation exists, and whether the contact is new (no other transaction can see
 * it yet: it needs no lock).
 */
export async function contactForChannel(
  tx: ScopedTx,
  workspaceId: string,
  channel: Channel,
  spec: ConversationContactSpec,
  field: string,
): Promise<{ contact: Contact; events: EventInput[]; created: boolean }> {
  const kind = CHANNEL_IDENTITY[channel];
  const events: EventInput[] = [];

  const addIdentity = async (contact: Contact, handle: string) => {
    const taken = await tx.contactIdentity.findFirst({ where: { channel, handle }, select: { contactId: true } });
    if (taken) return false;
    await tx.contactIdentity.create({ data: { workspaceId, contactId: contact.id, channel, handle } });
    return true;
  };

  if ('contactId' in spec) {
    const contact = await tx.contact.findUnique({ where: { id: spec.contactId }, include: { identities: { where: { channel } } } });
    if (!contact) throw new NotFoundError('Contact', spec.contactId);
    if (!contact.identities.length) {
      const handle = kind === 'phone' ? contact.phone : kind === 'email' ? contact.email : null;
      if (handle && (await addIdentity(contact, handle))) {
        events.push({ type: 'CONTACT_UPDATED', after: { contactId: contact.id, identities: [{ channel, handle }] } });
      } else if (IDENTITY_REQUIRED(channel)) {
        const needs = kind === 'handle' ? `a ${channel} identity` : `an ${kind === 'email' ? 'email address' : 'phone number'}`;
        throw new ValidationError(`The contact has no ${needs}, which a ${channel} inbox needs.`, field);
      }
    }
    const { identities: _identities, ...row } = contact;
    return { contact: row, events, created: false };
  }

  const prefix = field;
  const given = spec.identity;
  const name = optionalText(given.name, `${prefix}.name`);
  const email = given.email?.trim() ? normalizeEmail(given.email, `${prefix}.email`) : null;
  const phone = given.phone?.trim() ? normalizePhone(given.phone, `${prefix}.phone`) : null;
  const handle = given.handle?.trim() ? requiredText(given.handle, `${prefix}.handle`) : null;
  const key = kind === 'phone' ? phone : kind === 'email' ? email : handle;
  if (!key && IDENTITY_REQUIRED(channel)) {
    throw new ValidationError(`A ${channel} conversation needs the contact's ${kind}.`, `${prefix}.${kind}`);
  }

  let contact: Contact | null = null;
  let hasIdentity = false;
  if (key) {
    const identity = await tx.contactIdentity.findFirst({ where: { channel, handle: key }, include: { contact: true } });
    if (identity) {
      contact = identity.contact;
      hasIdentity = true;
    }
  }
  // Then by the channel's own kind of address, then by email, then by phone: each looked up once.
  const order: ('email' | 'phone')[] = kind === 'phone' ? ['phone', 'email'] : ['email', 'phone'];
  for (const column of order) {
    const value = column === 'email' ? email : phone;
    if (!contact && value) contact = await tx.contact.findFirst({ where: { [column]: value } });
  }

  if (!contact) {
    // The contact, then its identity: two statements (a nested create reads the contact back as a third).
    contact = await tx.contact.create({ data: { workspaceId, name: name ?? null, email, phone } });
    if (key) await tx.contactIdentity.createMany({ data: [{ workspaceId, contactId: contact.id, channel, handle: key }] });
    events.push({ type: 'CONTACT_CREATED', after: { ...contactValues(contact), identities: key ? [{ channel, handle: key }] : [] } });
    return { contact, events, created: true };
  }

  const fill: Prisma.ContactUncheckedUpdateInput = {};
  if (!contact.name && name) fill.name = name;
  if (!contact.email && email && !(await tx.contact.findFirst({ where: { email }, select: { id: true } }))) fill.email = email;
  if (!contact.phone && phone && !(await tx.contact.findFirst({ where: { phone }, select: { id: true } }))) fill.phone = phone;
  const addedIdentity = key && !hasIdentity ? await addIdentity(contact, key) : false;
  if (Object.keys(fill).length) contact = await tx.contact.update({ where: { id: contact.id }, data: fill });
  if (Object.keys(fill).length || addedIdentity) {
    events.push({
      type: 'CONTACT_UPDATED',
      after: { contactId: contact.id, ...(fill as Record<string, string>), ...(addedIdentity ? { identities: [{ channel, handle: key }] } : {}) },
    });
  }
  return { contact, events, created: false };
}
