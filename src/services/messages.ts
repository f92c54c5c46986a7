// Messages: sending (with the conversation's counters kept in step, in the same
// transaction), delivery receipts, and deletion (a tombstone stays).
import { createHash } from 'node:crypto';
import { Prisma, type ContentType, type Conversation, type Message, type MessageStatus, type SenderType } from '../generated/prisma/client.js';
import { jsonRow, reviveRow } from '../db/rows.js';
import type { ScopedTx } from '../db/tenant.js';
import { txRows } from '../db/transaction-end.js';
import { retryOnUniqueViolation } from '../db/unique-violation.js';
import { uuidv7 } from '../uuid.js';
import { HumanInControlError, IdempotencyConflictError, NotFoundError, ValidationError } from '../errors.js';
import { renderCannedResponse } from './canned-responses.js';
import { holdContact } from './contacts.js';
import { assertNotArchived, insertConversation, lockConversation } from './conversation-store.js';
import { changeStatus } from './status.js';
import { inTransaction, type Actor, type EventLog, type ServiceContext } from './timeline.js';
import { LIMITS, checkUrl, optionalText, requiredText } from './validation.js';

export const PREVIEW_LENGTH = 140;

export interface AttachmentInput {
  name: string;
  url: string;
  mimeType: string;
  size: number;
}
export interface CardInput {
  title: string;
  description?: string | null;
  actions?: { label: string; url?: string | null; action?: string | null }[] | null;
}

/** A message as callers describe it (the conversation is given apart). */
export interface NewMessageInput {
  content?: string | null;
  contentType?: ContentType | null;
  attachments?: AttachmentInput[] | null;
  card?: CardInput | null;
  senderType: SenderType;
  /** For HUMAN messages; defaults to the key's user. */
  senderUserId?: string | null;
  private?: boolean | null;
  providerMessageId?: string | null;
  idempotencyKey?: string | null;
}

export interface SentMessage {
  conversationId: string;
  messageId: string;
  /** True when nothing was written: a retry (idempotency key) or a repeated provider message id. */
  duplicate: boolean;
  /** The rows as the transaction wrote them (not for a duplicate): the payload reads them, not the database. */
  rows?: WrittenRows;
}

/** What a write left, as it committed it. */
export interface WrittenRows {
  message: Message;
  conversation?: Conversation;
}

const FILE_TYPES: ContentType[] = ['IMAGE', 'AUDIO', 'VIDEO', 'DOCUMENT', 'ATTACHMENT'];

/** Checks a message's content and returns it in stored form. */
export function validateMessage(input: NewMessageInput, prefix = 'input') {
  const attachments = (input.attachments ?? []).map((a, i) => ({
    name: requiredText(a.name, `${prefix}.attachments.${i}.name`),
    url: checkUrl(a.url, `${prefix}.attachments.${i}.url`),
    mimeType: requiredText(a.mimeType, `${prefix}.attachments.${i}.mimeType`, 127),
    size: a.size,
  }));
  if (attachments.length > LIMITS.attachments) {
    throw new ValidationError(`A message has at most ${LIMITS.attachments} attachments.`, `${prefix}.attachments`);
  }
  for (const [i, a] of attachments.entries()) {
    if (!Number.isInteger(a.size) || a.size < 0) throw new ValidationError('The size must be a whole number of bytes.', `${prefix}.attachments.${i}.size`);
  }
  let card: Prisma.InputJsonObject | null = null;
  if (input.card) {
    const actions = input.card.actions ?? [];
    if (actions.length > LIMITS.cardActions) throw new ValidationError(`A card has at most ${LIMITS.cardActions} actions.`, `${prefix}.card.actions`);
    card = {
      title: requiredText(input.card.title, `${prefix}.card.title`),
      description: optionalText(input.card.description, `${prefix}.card.description`, 2000) ?? null,
      actions: actions.map((a, i) => {
        const field = `${prefix}.card.actions.${i}`;
        const url = a.url ? checkUrl(a.url, `${field}.url`) : null;
        const action = optionalText(a.action, `${field}.action`) ?? null;
        if (!url && !action) throw new ValidationError('A card action needs a url or an action name.', field);
        return { label: requiredText(a.label, `${field}.label`, 80), url, action };
      }),
    };
  }
  const contentType: ContentType = input.contentType ?? (card ? 'CARD' : attachments.length ? 'ATTACHMENT' : 'TEXT');
  if (contentType === 'CARD' && !card) throw new ValidationError('A CARD message needs a card.', `${prefix}.card`);
  if (card && contentType !== 'CARD') throw new ValidationError('Only CARD messages carry a card.', `${prefix}.contentType`);
  if (FILE_TYPES.includes(contentType) && !attachments.length) {
    throw new ValidationError(`A ${contentType} message needs at least one attachment.`, `${prefix}.attachments`);
  }
  const content = input.content ?? null;
  if (content !== null && Buffer.byteLength(content, 'utf8') > LIMITS.contentBytes) {
    throw new ValidationError(`Content is limited to ${LIMITS.contentBytes / 1024} KB.`, `${prefix}.content`);
  }
  const hasContent = content !== null && content.trim() !== '';
  if (!hasContent && !attachments.length && !card) throw new ValidationError('A message needs content, attachments or a card.', `${prefix}.content`);
  if (input.private && input.senderType === 'CONTACT') throw new ValidationError('A contact cannot write internal notes.', `${prefix}.private`);
  if (input.senderUserId && input.senderType !== 'HUMAN') throw new ValidationError('Only HUMAN messages have a sender user.', `${prefix}.senderUserId`);
  const providerMessageId = input.providerMessageId == null ? null : requiredText(input.providerMessageId, `${prefix}.providerMessageId`);
  const idempotencyKey = input.idempotencyKey == null ? null : requiredText(input.idempotencyKey, `${prefix}.idempotencyKey`);
  return {
    content: hasContent ? content : null,
    contentType,
    attachments,
    card,
    senderType: input.senderType,
    private: input.private ?? false,
    providerMessageId,
    idempotencyKey,
  };
}

/** The hash stored with an idempotency key: the same key must come with the same request. */
export function requestHash(request: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object' && !(v instanceof Date)
        ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== null).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)]))
        : v;
  return createHash('sha256').update(JSON.stringify(canonical(request))).digest('hex');
}

/**
 * A retry with the same key returns the first result; the same key for another request is an
 * error. Raw (txRows): often a mutation's first statement, which its BEGIN goes with.
 */
export async function replayIdempotent(tx: ScopedTx, workspaceId: string, key: string | null, hash: string): Promise<SentMessage | null> {
  if (!key) return null;
  const [first] = await txRows<{ id: string; conversation_id: string; idempotency_hash: string | null }>(
    tx,
    Prisma.sql`SELECT "id", "conversation_id", "idempotency_hash" FROM "message" WHERE "workspace_id" = ${workspaceId}::uuid AND "idempotency_key" = ${key} LIMIT 1`,
  );
  if (!first) return null;
  if (first.idempotency_hash !== hash) throw new IdempotencyConflictError(key, first.id);
  return { conversationId: first.conversation_id, messageId: first.id, duplicate: true };
}

/** An inbound message already stored under this provider id (per inbox) is not stored again. Raw (txRows), as above. */
export async function findByProviderId(tx: ScopedTx, workspaceId: string, inboxId: string, providerMessageId: string | null): Promise<SentMessage | null> {
  if (!providerMessageId) return null;
  const [existing] = await txRows<{ id: string; conversation_id: string }>(
    tx,
    Prisma.sql`SELECT "id", "conversation_id" FROM "message"
      WHERE "workspace_id" = ${workspaceId}::uuid AND "inbox_id" = ${inboxId}::uuid AND "provider_message_id" = ${providerMessageId} LIMIT 1`,
  );
  return existing ? { conversationId: existing.conversation_id, messageId: existing.id, duplicate: true } : null;
}

function actorFor(sender: SenderType, sctx: ServiceContext, conversation: Conversation, senderUserId: string | null): Actor {
  const apiKeyId = sctx.actor.apiKeyId ?? null;
  // A rule's message or note is the rule's act: its event names the rule (the loop guards read it).
  if (sctx.actor.type === 'AUTOMATION' && sender !== 'CONTACT' && sender !== 'HUMAN') return sctx.actor;
  switch (sender) {
    case 'CONTACT':
      return { type: 'CONTACT', contactId: conversation.contactId, apiKeyId };
    case 'AI_AGENT':
      return { type: 'AI_AGENT', apiKeyId };
    case 'HUMAN':
      return { type: 'USER', userId: senderUserId, apiKeyId };
    default:
      return { type: 'SYSTEM', apiKeyId };
  }
}

function previewOf(m: { content: string | null; card: Prisma.InputJsonObject | Prisma.JsonValue | null; attachments: { name: string }[]; contentType: ContentType }) {
  const text = m.content ?? (m.card as { title?: string } | null)?.title ?? m.attachments[0]?.name ?? m.contentType;
  return text.replace(/\s+/g, ' ').trim().slice(0, PREVIEW_LENGTH);
}

const REOPENED_BY_CONTACT = new Set(['PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED']);

/**
 * Adds a message to a locked conversation: the row, the counters, MESSAGE_ADDED, and the
 * reopening a contact's message causes. `message` must come from validateMessage.
 */
export async function addMessage(
  tx: ScopedTx,
  events: EventLog,
  sctx: ServiceContext,
  conversation: Conversation,
  message: ReturnType<typeof validateMessage>,
  opts: { senderUserId?: string | null; idempotencyHash?: string | null },
): Promise<{ message: Message; conversation: Conversation }> {
  if (message.senderType === 'AI_AGENT' && !message.private && conversation.controller === 'HUMAN') {
    const handoff = await tx.handoff.findFirst({ where: { conversationId: conversation.id, endedAt: null }, orderBy: { startedAt: 'desc' }, select: { id: true } });
    throw new HumanInControlError(conversation.id, handoff?.id ?? null);
  }
  let senderUserId: string | null = null;
  if (message.senderType === 'HUMAN') {
    senderUserId = opts.senderUserId ?? sctx.actor.userId ?? null;
    // The key's own user was found when the key was; another one named here is looked up.
    if (senderUserId && senderUserId !== sctx.actor.userId && !(await tx.user.findUnique({ where: { id: senderUserId }, select: { id: true } }))) {
      throw new NotFoundError('User', senderUserId);
    }
  }
  const status: MessageStatus = message.senderType === 'CONTACT' ? 'RECEIVED' : message.private ? 'SENT' : 'PENDING';
  // The message and the counters in one statement of our own, returning both rows: a
  // sendMessage's hottest work, where Prisma's model queries cost twice the CPU of raw ones and
  // each round trip costs more again (BENCHMARKS.md, "Writes"). The same values as Prisma would
  // write: an id v7 and the times made here (so the counters need nothing back from the insert),
  // the column's default for what is not given.
  const id = uuidv7();
  // As text with its zone: a Date would reach PostgreSQL without one, read in the session's time zone.
  const at = new Date().toISOString();

  // Counters: internal notes count in messageCount and change nothing else, not even
  // updatedAt (CONNECTOR keys, which see the conversation, must not learn of them).
  const set: Prisma.Sql[] = [Prisma.sql`"message_count" = c."message_count" + 1`];
  if (!message.private) {
    set.push(
      Prisma.sql`"updated_at" = ${at}::timestamptz`,
      Prisma.sql`"public_message_count" = c."public_message_count" + 1`,
      Prisma.sql`"last_message_at" = ${at}::timestamptz`,
      Prisma.sql`"last_activity_at" = ${at}::timestamptz`,
      Prisma.sql`"last_message_preview" = ${previewOf(message)}`,
      Prisma.sql`"last_message_id" = ${id}::uuid`,
      Prisma.sql`"last_message_sender_type" = ${message.senderType}::"SenderType"`,
    );
    if (message.senderType === 'CONTACT') {
      set.push(Prisma.sql`"unread_count" = c."unread_count" + 1`);
      if (!conversation.waitingSince) set.push(Prisma.sql`"waiting_since" = ${at}::timestamptz`);
    } else if (message.senderType === 'AI_AGENT' || message.senderType === 'HUMAN') {
      // An answer: the contact is no longer waiting, and the team has seen the thread.
      if (conversation.waitingSince && !conversation.firstResponseAt) set.push(Prisma.sql`"first_response_at" = ${at}::timestamptz`);
      if (message.senderType === 'HUMAN' && !conversation.firstHumanResponseAt && (conversation.waitingSince || conversation.firstResponseAt)) {
        set.push(Prisma.sql`"first_human_response_at" = ${at}::timestamptz`);
      }
      set.push(Prisma.sql`"waiting_since" = NULL`, Prisma.sql`"unread_count" = 0`);
    }
  }
  // The conversation's last_message_id is checked against the new message at the end of the
  // statement, when both writes are done.
  const [written] = await txRows<{ message: Record<string, unknown>; conversation: Record<string, unknown> }>(
    tx,
    Prisma.sql`
    WITH inserted AS (
      INSERT INTO "message" AS m ("id", "workspace_id", "conversation_id", "inbox_id", "content", "content_type", "attachments", "card",
        "sender_type", "sender_user_id", "sender_contact_id", "private", "status", "provider_message_id", "idempotency_key", "idempotency_hash",
        "created_at", "updated_at")
      VALUES (${id}::uuid, ${sctx.workspaceId}::uuid, ${conversation.id}::uuid, ${conversation.inboxId}::uuid, ${message.content},
        ${message.contentType}::"ContentType", ${JSON.stringify(message.attachments)}::jsonb, ${message.card == null ? null : JSON.stringify(message.card)}::jsonb,
        ${message.senderType}::"SenderType", ${senderUserId}::uuid, ${message.senderType === 'CONTACT' ? conversation.contactId : null}::uuid,
        ${message.private}, ${status}::"MessageStatus", ${message.providerMessageId ?? null}, ${message.idempotencyKey ?? null},
        ${message.idempotencyKey ? (opts.idempotencyHash ?? null) : null}, ${at}::timestamptz, ${at}::timestamptz)
      RETURNING ${jsonRow('Message', 'm')} AS row),
    counted AS (
      UPDATE "conversation" AS c SET ${Prisma.join(set)}
      WHERE c."id" = ${conversation.id}::uuid AND c."workspace_id" = ${sctx.workspaceId}::uuid
      RETURNING ${jsonRow('Conversation', 'c')} AS row)
    SELECT (SELECT row FROM inserted) AS message, (SELECT row FROM counted) AS conversation`,
  );
  const row = reviveRow<Message>('Message', written!.message);
  const updated = reviveRow<Conversation>('Conversation', written!.conversation);
  // A conversation this transaction started: its display number is given at the commit.
  events.numberCopy(updated);
  const actor = actorFor(message.senderType, sctx, conversation, senderUserId);
  await events.record({
    type: 'MESSAGE_ADDED',
    conversationId: conversation.id,
    messageId: row.id,
    actor,
    before: { messageCount: conversation.messageCount, publicMessageCount: conversation.publicMessageCount, unreadCount: conversation.unreadCount },
    after: {
      senderType: message.senderType,
      private: message.private,
      contentType: message.contentType,
      messageCount: updated.messageCount,
      publicMessageCount: updated.publicMessageCount,
      unreadCount: updated.unreadCount,
    },
  });
  if (message.senderType === 'CONTACT' && REOPENED_BY_CONTACT.has(conversation.status)) {
    return { message: row, conversation: await changeStatus(tx, events, updated, { to: 'OPEN', actor, note: null }) };
  }
  return { message: row, conversation: updated };
}

export interface SendMessageInput extends NewMessageInput {
  conversationId: string;
  /** A canned response whose text, rendered for the conversation in the send's transaction, is the content. */
  cannedResponseId?: string | null;
}

/** Stands for a canned response's text until it is rendered, so the rest of the message is checked first. */
const RENDERED_LATER = '-';

/** Content or a canned response, not both; and no contact sends a canned response. */
function checkContentSource(input: SendMessageInput): void {
  if (input.cannedResponseId == null) {
    const hasContent = input.content != null && input.content.trim() !== '';
    if (!hasContent && !input.attachments?.length && !input.card) {
      throw new ValidationError('A message needs content, a cannedResponseId, attachments or a card.', 'input.content');
    }
    return;
  }
  if (input.content != null) throw new ValidationError('Give content or cannedResponseId, not both: the canned response is the content.', 'input.cannedResponseId');
  if (input.senderType === 'CONTACT') throw new ValidationError('A contact does not send canned responses.', 'input.cannedResponseId');
}

/** The message with its canned response's rendered text as content, checked as any content is. */
export function withRenderedContent(message: ReturnType<typeof validateMessage>, content: string): ReturnType<typeof validateMessage> {
  if (!content.trim()) {
    throw new ValidationError('The canned response renders to nothing for this conversation: give its variables fallbacks.', 'input.cannedResponseId');
  }
  if (Buffer.byteLength(content, 'utf8') > LIMITS.contentBytes) {
    throw new ValidationError(`The rendered canned response exceeds the ${LIMITS.contentBytes / 1024} KB a message may hold.`, 'input.cannedResponseId');
  }
  return { ...message, content };
}

export async function sendMessage(sctx: ServiceContext, input: SendMessageInput): Promise<SentMessage> {
  checkContentSource(input);
  const cannedResponseId = input.cannedResponseId ?? null;
  const message = validateMessage(cannedResponseId ? { ...input, content: RENDERED_LATER } : input);
  // The canned response's id, not its text, goes into the hash: a retry is recognised (and
  // answered with the first message) before anything is rendered again.
  const hash = requestHash({ mutation: 'sendMessage', ...input });
  // Two deliveries of one message at once: the loser runs again and finds the winner's row.
  return retryOnUniqueViolation(
    () =>
      inTransaction(sctx, async (tx, events): Promise<SentMessage> => {
        const replay = await replayIdempotent(tx, sctx.workspaceId, message.idempotencyKey, hash);
        if (replay) return replay;
        let conversation = await lockConversation(tx, sctx.workspaceId, input.conversationId);
        const known = await findByProviderId(tx, sctx.workspaceId, conversation.inboxId, message.providerMessageId);
        if (known) return known;
        if (conversation.status === 'ARCHIVED') {
          // ARCHIVED is final: the contact writing again starts a new conversation.
          if (message.senderType !== 'CONTACT') assertNotArchived(conversation);
          await holdContact(tx, sctx.workspaceId, conversation.contactId);
          conversation = await insertConversation(tx, events, sctx.workspaceId, {
            inboxId: conversation.inboxId,
            contactId: conversation.contactId,
            providerThreadId: conversation.providerThreadId,
            previousConversationId: conversation.id,
          });
        }
        let final = message;
        if (cannedResponseId) {
          // The agent of {{agent.name}} is who the message is from: its sender user, else the key's.
          const agentUserId = (message.senderType === 'HUMAN' ? input.senderUserId : null) ?? sctx.actor.userId ?? null;
          final = withRenderedContent(message, await renderCannedResponse(tx, cannedResponseId, conversation, agentUserId));
        }
        const rows = await addMessage(tx, events, sctx, conversation, final, { senderUserId: input.senderUserId, idempotencyHash: hash });
        return { conversationId: conversation.id, messageId: rows.message.id, duplicate: false, rows };
      }),
    (constraint) => constraint.includes('provider_message_id') || constraint.includes('idempotency_key'),
  );
}

const RECEIPT_ORDER: Record<MessageStatus, number> = { RECEIVED: -1, PENDING: 0, SENT: 1, DELIVERED: 2, READ: 3, FAILED: 99 };

/** Whether a receipt moves a message forward (PENDING -> SENT -> DELIVERED -> READ, or FAILED before delivery). */
export function receiptApplies(current: MessageStatus, next: MessageStatus): boolean {
  if (current === 'FAILED' || current === next) return false;
  if (next === 'FAILED') return current === 'PENDING' || current === 'SENT';
  return RECEIPT_ORDER[next] > RECEIPT_ORDER[current];
}

export interface UpdateMessageStatusInput {
  messageId?: string | null;
  inboxId?: string | null;
  providerMessageId?: string | null;
  status: MessageStatus;
  errorReason?: string | null;
  /** CONNECTOR keys never see internal notes: for them a note does not exist. */
  hidePrivate: boolean;
}

export async function updateMessageStatus(
  sctx: ServiceContext,
  input: UpdateMessageStatusInput,
): Promise<{ messageId: string; conversationId: string; applied: boolean; rows: WrittenRows }> {
  if (!input.messageId === !input.providerMessageId) {
    throw new ValidationError('Give either messageId, or inboxId and providerMessageId.', 'input.messageId');
  }
  if (input.providerMessageId && !input.inboxId) throw new ValidationError('A provider message id is unique per inbox: give the inboxId too.', 'input.inboxId');
  if (input.status === 'RECEIVED') throw new ValidationError('RECEIVED is not a delivery status.', 'input.status');
  const errorReason = optionalText(input.errorReason, 'input.errorReason', 1000) ?? null;
  if (input.status === 'FAILED' && !errorReason) throw new ValidationError('A FAILED receipt needs an errorReason.', 'input.errorReason');
  if (input.status !== 'FAILED' && errorReason) throw new ValidationError('Only FAILED receipts carry an errorReason.', 'input.errorReason');
  return inTransaction(sctx, async (tx, events) => {
    const which = input.messageId
      ? Prisma.sql`m."id" = ${input.messageId}::uuid`
      : Prisma.sql`m."inbox_id" = ${input.inboxId!}::uuid AND m."provider_message_id" = ${input.providerMessageId!}`;
    // Receipts for one message can race each other: take them one at a time (the row, locked, in one round trip).
    const found = await txRows<{ row: Record<string, unknown> }>(
      tx,
      Prisma.sql`
      SELECT ${jsonRow('Message', 'm')} AS row FROM "message" m
      WHERE ${which} AND m."workspace_id" = ${sctx.workspaceId}::uuid ${input.hidePrivate ? Prisma.sql`AND NOT m."private"` : Prisma.empty}
      FOR UPDATE`,
    );
    if (!found.length) throw new NotFoundError('Message', input.messageId ?? input.providerMessageId!);
    const message = reviveRow<Message>('Message', found[0]!.row);
    if (message.senderType === 'CONTACT') throw new ValidationError('Messages from the contact have no delivery status.', 'input.messageId');
    if (message.private) throw new ValidationError('Internal notes are never delivered.', 'input.messageId');
    if (!receiptApplies(message.status, input.status)) return { messageId: message.id, conversationId: message.conversationId, applied: false, rows: { message } };
    const updated = await tx.message.update({ where: { id: message.id }, data: { status: input.status, errorReason } });
    await events.record({
      type: 'MESSAGE_STATUS_CHANGED',
      conversationId: message.conversationId,
      messageId: message.id,
      before: { status: message.status },
      after: { status: input.status, ...(errorReason ? { errorReason } : {}) },
    });
    return { messageId: message.id, conversationId: message.conversationId, applied: true, rows: { message: updated } };
  });
}

/**
 * Soft delete: content, attachments and card are removed, the tombstone stays. The
 * conversation's counters are recomputed as if the message had never been written.
 */
export async function deleteMessage(sctx: ServiceContext, messageId: string, hidePrivate: boolean): Promise<{ messageId: string; conversationId: string }> {
  return inTransaction(sctx, async (tx, events) => {
    const found = await tx.message.findFirst({ where: { id: messageId, ...(hidePrivate ? { private: false } : {}) }, select: { conversationId: true } });
    if (!found) throw new NotFoundError('Message', messageId);
    const conversation = await lockConversation(tx, sctx.workspaceId, found.conversationId);
    assertNotArchived(conversation);
    const message = await tx.message.findUniqueOrThrow({ where: { id: messageId } });
    if (message.deletedAt) return { messageId, conversationId: conversation.id };

    const data: Prisma.ConversationUncheckedUpdateInput = { messageCount: Math.max(0, conversation.messageCount - 1) };
    if (message.private) {
      data.updatedAt = conversation.updatedAt;
    } else {
      data.publicMessageCount = Math.max(0, conversation.publicMessageCount - 1);
      const visible: Prisma.MessageWhereInput = { conversationId: conversation.id, private: false, deletedAt: null, NOT: { id: message.id } };
      if (message.senderType === 'CONTACT' && conversation.unreadCount > 0) {
        // Unread messages are the latest contact messages: is this one of them?
        const sinceThis = await tx.message.count({ where: { ...visible, senderType: 'CONTACT', createdAt: { gte: message.createdAt } } });
        if (sinceThis < conversation.unreadCount) data.unreadCount = conversation.unreadCount - 1;
      }
      if (conversation.lastMessageId === message.id) {
        const last = await tx.message.findFirst({ where: visible, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
        Object.assign(data, {
          lastMessageId: last?.id ?? null,
          lastMessageAt: last?.createdAt ?? null,
          lastActivityAt: last?.createdAt ?? conversation.createdAt,
          lastMessagePreview: last
            ? previewOf({ ...last, attachments: (last.attachments as unknown as { name: string }[]) ?? [] })
            : null,
          lastMessageSenderType: last?.senderType ?? null,
        });
      }
      const lastAnswer = await tx.message.findFirst({
        where: { ...visible, senderType: { in: ['AI_AGENT', 'HUMAN'] } },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        select: { createdAt: true },
      });
      const oldestWaiting = await tx.message.findFirst({
        where: { ...visible, senderType: 'CONTACT', ...(lastAnswer ? { createdAt: { gt: lastAnswer.createdAt } } : {}) },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { createdAt: true },
      });
      data.waitingSince = oldestWaiting?.createdAt ?? null;
    }
    await tx.message.update({
      where: { id: message.id },
      data: { content: null, attachments: [], card: Prisma.DbNull, deletedAt: new Date() },
    });
    const updated = await tx.conversation.update({ where: { id: conversation.id }, data });
    await events.record({
      type: 'MESSAGE_DELETED',
      conversationId: conversation.id,
      messageId: message.id,
      before: { senderType: message.senderType, private: message.private, messageCount: conversation.messageCount, publicMessageCount: conversation.publicMessageCount },
      after: { deleted: true, messageCount: updated.messageCount, publicMessageCount: updated.publicMessageCount },
    });
    return { messageId, conversationId: conversation.id };
  });
}
