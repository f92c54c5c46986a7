// Conversations: creation (with its contact and an optional first message), edits,
// assignment, reading, the lifecycle, satisfaction and deletion.
import { Prisma, type Channel, type Contact, type Conversation, type ConversationStatus, type Message, type Priority, type ResolutionReason } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { txRows } from '../db/transaction-end.js';
import { retryOnUniqueViolation } from '../db/unique-violation.js';
import { NotFoundError, ValidationError, VersionConflictError } from '../errors.js';
import { contactForChannel, holdContact, type ConversationContactSpec } from './contacts.js';
import { assertNotArchived, insertConversation, lockConversation, recordConversationDeleted } from './conversation-store.js';
import { holdLabels } from './labels.js';
import {
  addMessage,
  findByProviderId,
  replayIdempotent,
  requestHash,
  validateMessage,
  type NewMessageInput,
  type SentMessage,
} from './messages.js';
import { changeStatus } from './status.js';
import { requestSurvey } from './surveys.js';
import { inTransaction, type EventLog, type ServiceContext } from './timeline.js';
import { LIMITS, checkCustomAttributes, checkFuture, optionalText, requiredText } from './validation.js';

export interface CreateConversationInput {
  inboxId: string;
  contactId?: string | null;
  contact?: { name?: string | null; email?: string | null; phone?: string | null; handle?: string | null } | null;
  subject?: string | null;
  priority?: Priority | null;
  labelIds?: string[] | null;
  customAttributes?: Record<string, unknown> | null;
  providerThreadId?: string | null;
  message?: NewMessageInput | null;
}

export interface CreatedConversation {
  conversationId: string;
  contactId: string;
  messageId: string | null;
  /** True when nothing was written: the first message was already stored (retry). */
  duplicate: boolean;
  /** The rows as the transaction wrote them, for the payload to answer from; absent for a replay, which wrote nothing. */
  rows?: { conversation: Conversation; contact: Contact; message: Message | null };
}

export async function createConversation(sctx: ServiceContext, input: CreateConversationInput): Promise<CreatedConversation> {
  if (!input.contactId === !input.contact) throw new ValidationError('Give either contactId or contact, not both.', 'input.contact');
  const subject = optionalText(input.subject, 'input.subject', LIMITS.subject) ?? null;
  const providerThreadId = optionalText(input.providerThreadId, 'input.providerThreadId') ?? null;
  const customAttributes = input.customAttributes ? checkCustomAttributes(input.customAttributes, 'input.customAttributes') : {};
  const labelIds = [...new Set(input.labelIds ?? [])];
  const spec: ConversationContactSpec = input.contactId ? { contactId: input.contactId } : { identity: input.contact! };
  const hash = requestHash({ mutation: 'createConversation', ...input });
  const firstKey = input.message?.idempotencyKey ?? null;

  // Two deliveries of one first message, or two first messages from one new contact, at once:
  // the loser runs again and finds the winner's message or contact.
  return retryOnUniqueViolation(() =>
    inTransaction(sctx, async (tx, events): Promise<CreatedConversation> => {
      // Raw (txRows): the transaction's first statement, which its BEGIN goes with.
      const [inbox] = await txRows<{ id: string; channel: Channel }>(
        tx,
        Prisma.sql`SELECT "id", "channel"::text AS "channel" FROM "inbox" WHERE "id" = ${input.inboxId}::uuid AND "workspace_id" = ${sctx.workspaceId}::uuid`,
      );
      if (!inbox) throw new NotFoundError('Inbox', input.inboxId);
      // A retried request (same first message) answers with what the first one created.
      const replay =
        (await replayIdempotent(tx, sctx.workspaceId, firstKey, hash)) ??
        (await findByProviderId(tx, sctx.workspaceId, inbox.id, input.message?.providerMessageId ?? null));
      if (replay) return createdFrom(tx, replay);

      await holdLabels(tx, sctx.workspaceId, labelIds, 'input.labelIds');
      const { contact, events: contactEvents, created: newContact } = await contactForChannel(tx, sctx.workspaceId, inbox.channel, spec, input.contactId ? 'input.contactId' : 'input.contact');
      if (!newContact) await holdContact(tx, sctx.workspaceId, contact.id);
      for (const event of contactEvents) await events.record(event);
      const conversation = await insertConversation(tx, events, sctx.workspaceId, {
        inboxId: inbox.id,
        contactId: contact.id,
        subject,
        priority: input.priority ?? 'NONE',
        labelIds,
        customAttributes,
        providerThreadId,
      });
      if (!input.message) return { conversationId: conversation.id, contactId: contact.id, messageId: null, duplicate: false, rows: { conversation, contact, message: null } };
      // Checked here, after the conversation exists: a bad first message undoes all of it.
      const message = validateMessage(input.message, 'input.message');
      const written = await addMessage(tx, events, sctx, conversation, message, { senderUserId: input.message.senderUserId, idempotencyHash: hash });
      return {
        conversationId: conversation.id,
        contactId: contact.id,
        messageId: written.message.id,
        duplicate: false,
        rows: { conversation: written.conversation ?? conversation, contact, message: written.message },
      };
    }),
  );
}

async function createdFrom(tx: ScopedTx, sent: SentMessage): Promise<CreatedConversation> {
  const conversation = await tx.conversation.findUniqueOrThrow({ where: { id: sent.conversationId }, select: { contactId: true } });
  return { conversationId: sent.conversationId, contactId: conversation.contactId, messageId: sent.messageId, duplicate: true };
}

/** Runs a change on one locked conversation in its own transaction. */
function onConversation<T>(sctx: ServiceContext, conversationId: string, work: (tx: ScopedTx, events: EventLog, c: Conversation) => Promise<T>) {
  return inTransaction(sctx, async (tx, events) => work(tx, events, await lockConversation(tx, sctx.workspaceId, conversationId)));
}

export interface UpdateConversationInput {
  conversationId: string;
  expectedVersion?: number | null;
  subject?: string | null;
  priority?: Priority | null;
  /** Replaces the conversation's custom attributes. */
  customAttributes?: Record<string, unknown> | null;
}

export async function updateConversation(sctx: ServiceContext, input: UpdateConversationInput): Promise<Conversation> {
  const subject = optionalText(input.subject, 'input.subject', LIMITS.subject);
  const customAttributes = input.customAttributes ? checkCustomAttributes(input.customAttributes, 'input.customAttributes') : undefined;
  return onConversation(sctx, input.conversationId, async (tx, events, conversation) => {
    if (input.expectedVersion != null && input.expectedVersion !== conversation.version) {
      throw new VersionConflictError(input.expectedVersion, conversation.version);
    }
    assertNotArchived(conversation);
    const data: Prisma.ConversationUncheckedUpdateInput = {};
    const before: Record<string, Prisma.InputJsonValue | null> = {};
    const after: Record<string, Prisma.InputJsonValue | null> = {};
    // An explicit null clears the subject; an absent one leaves it.
    if (input.subject !== undefined && subject !== conversation.subject) {
      data.subject = subject ?? null;
      before.subject = conversation.subject;
      after.subject = subject ?? null;
    }
    if (customAttributes && JSON.stringify(customAttributes) !== JSON.stringify(conversation.customAttributes)) {
      data.customAttributes = customAttributes as Prisma.InputJsonObject;
      before.customAttributes = conversation.customAttributes as Prisma.InputJsonValue;
      after.customAttributes = customAttributes as Prisma.InputJsonObject;
    }
    if (!Object.keys(data).length) return input.priority != null ? applyPriority(tx, events, conversation, input.priority) : conversation;
    let updated = await tx.conversation.update({ where: { id: conversation.id }, data: { ...data, version: { increment: 1 } } });
    if (input.priority != null) updated = await applyPriority(tx, events, updated, input.priority, false);
    if (Object.keys(after).length) {
      await events.record({ type: 'CONVERSATION_UPDATED', conversationId: conversation.id, before, after });
    }
    return updated;
  });
}

/**
 * Sets the priority of a locked conversation; records PRIORITY_CHANGED. No change, no write.
 * `bump` is false when the caller's own update of the row has bumped the version already.
 */
export async function applyPriority(tx: ScopedTx, events: EventLog, conversation: Conversation, priority: Priority, bump = true): Promise<Conversation> {
  assertNotArchived(conversation);
  if (priority === conversation.priority) return conversation;
  const updated = await tx.conversation.update({ where: { id: conversation.id }, data: { priority, ...(bump ? { version: { increment: 1 } } : {}) } });
  await events.record({ type: 'PRIORITY_CHANGED', conversationId: conversation.id, before: { priority: conversation.priority }, after: { priority } });
  return updated;
}

/** Sets the assignee of a locked conversation (null unassigns); records ASSIGNED. No change, no write. */
export async function applyAssignment(
  tx: ScopedTx,
  events: EventLog,
  conversation: Conversation,
  assigneeId: string | null,
  note: string | null,
): Promise<Conversation> {
  assertNotArchived(conversation);
  if (assigneeId && !(await tx.user.findUnique({ where: { id: assigneeId }, select: { id: true } }))) {
    throw new NotFoundError('User', assigneeId);
  }
  if (assigneeId === conversation.assigneeId) return conversation;
  const updated = await tx.conversation.update({ where: { id: conversation.id }, data: { assigneeId, version: { increment: 1 } } });
  await events.record({
    type: 'ASSIGNED',
    conversationId: conversation.id,
    before: { assigneeId: conversation.assigneeId },
    after: { assigneeId },
    note,
  });
  return updated;
}

export async function assignConversation(
  sctx: ServiceContext,
  input: { conversationId: string; assigneeId: string | null; note?: string | null },
): Promise<Conversation> {
  const note = optionalText(input.note, 'input.note', LIMITS.note) ?? null;
  return onConversation(sctx, input.conversationId, (tx, events, c) => applyAssignment(tx, events, c, input.assigneeId, note));
}

/** The team has read the conversation: its unread count goes back to zero. */
export async function markConversationRead(sctx: ServiceContext, conversationId: string): Promise<Conversation> {
  return onConversation(sctx, conversationId, async (tx, events, conversation) => {
    if (conversation.unreadCount === 0) return conversation;
    const updated = await tx.conversation.update({ where: { id: conversation.id }, data: { unreadCount: 0 } });
    await events.record({
      type: 'CONVERSATION_READ',
      conversationId: conversation.id,
      before: { unreadCount: conversation.unreadCount },
      after: { unreadCount: 0 },
    });
    return updated;
  });
}

export type LifecycleChange =
  | { to: 'RESOLVED'; reason: ResolutionReason; note?: string | null; requestSatisfaction?: boolean | null }
  | { to: 'SNOOZED'; until: Date; note?: string | null }
  | { to: Exclude<ConversationStatus, 'RESOLVED' | 'SNOOZED'>; note?: string | null };

/** Checks a lifecycle change before any transaction (the snooze time, the note). */
export function checkLifecycleChange(change: LifecycleChange, prefix = 'input'): LifecycleChange {
  const note = optionalText(change.note, `${prefix}.note`, LIMITS.note) ?? null;
  if (change.to === 'SNOOZED') return { ...change, until: checkFuture(change.until, `${prefix}.until`), note };
  return { ...change, note };
}

/**
 * Applies a checked lifecycle change to a locked conversation, through the transition table.
 * A resolution with requestSatisfaction also sends its survey.
 */
export async function applyLifecycleChange(tx: ScopedTx, events: EventLog, sctx: ServiceContext, conversation: Conversation, change: LifecycleChange) {
  const changed = await changeStatus(tx, events, conversation, {
    to: change.to,
    note: change.note ?? null,
    snoozedUntil: change.to === 'SNOOZED' ? change.until : undefined,
    resolution:
      change.to === 'RESOLVED'
        ? {
            reason: change.reason,
            note: change.note ?? null,
            satisfactionRequested: change.requestSatisfaction ?? false,
            resolvedById: sctx.actor.userId ?? null,
          }
        : undefined,
  });
  if (change.to === 'RESOLVED' && change.requestSatisfaction) return (await requestSurvey(tx, events, sctx, changed)).conversation;
  return changed;
}

export async function changeConversationStatus(sctx: ServiceContext, conversationId: string, change: LifecycleChange): Promise<Conversation> {
  const checked = checkLifecycleChange(change);
  return onConversation(sctx, conversationId, (tx, events, c) => applyLifecycleChange(tx, events, sctx, c, checked));
}

export async function recordSatisfaction(
  sctx: ServiceContext,
  input: { conversationId: string; rating: number; comment?: string | null },
): Promise<Conversation> {
  if (!Number.isInteger(input.rating) || input.rating < 1 || input.rating > 5) {
    throw new ValidationError('The rating is a whole number from 1 to 5.', 'input.rating');
  }
  const comment = optionalText(input.comment, 'input.comment', 2000) ?? null;
  return onConversation(sctx, input.conversationId, async (tx, events, conversation) => {
    const updated = await tx.conversation.update({
      where: { id: conversation.id },
      data: { satisfactionRating: input.rating, satisfactionComment: comment, satisfactionRecordedAt: new Date(), version: { increment: 1 } },
    });
    await events.record({
      type: 'SATISFACTION_RECORDED',
      conversationId: conversation.id,
      before: { rating: conversation.satisfactionRating, comment: conversation.satisfactionComment },
      after: { rating: input.rating, comment },
    });
    return updated;
  });
}

/** Deletes a conversation with its messages; the CONVERSATION_DELETED event keeps the reason. */
export async function deleteConversation(sctx: ServiceContext, input: { conversationId: string; reason: string }): Promise<void> {
  const reason = requiredText(input.reason, 'input.reason', 1000);
  await onConversation(sctx, input.conversationId, async (tx, events, conversation) => {
    await tx.conversation.delete({ where: { id: conversation.id } });
    await recordConversationDeleted(events, conversation, reason);
  });
}
