// The conversation row as the write services share it: locking it for a change, and
// inserting a new one with the workspace's next display number.
//
// Lock order, the same in every write transaction so that two never wait on each other:
// conversation rows, then contact and label rows, then the workspace's counter row (display numbers
// and timeline cursors), which is taken in the transaction's last step (EventLog's numbering
// statement, sent with the COMMIT on PostgreSQL) and held until commit.
import { randomInt } from 'node:crypto';
import { Prisma, type Conversation } from '../generated/prisma/client.js';
import { jsonRow, reviveRow } from '../db/rows.js';
import { txRows } from '../db/transaction-end.js';
import type { ScopedTx } from '../db/tenant.js';
import { ConversationArchivedError, NotFoundError } from '../errors.js';
import type { EventLog } from './timeline.js';

/** Reads a conversation of the workspace and locks it until the transaction ends. */
export async function lockConversation(tx: ScopedTx, workspaceId: string, conversationId: string): Promise<Conversation> {
  // One round trip: the lock and the row together (Prisma cannot lock a row it reads), mostly a
  // mutation's first statement, which its BEGIN goes with on PostgreSQL (txRows).
  const rows = await txRows<{ row: Record<string, unknown> }>(
    tx,
    Prisma.sql`SELECT ${jsonRow('Conversation', 'c')} AS row FROM "conversation" c
    WHERE c."id" = ${conversationId}::uuid AND c."workspace_id" = ${workspaceId}::uuid FOR UPDATE`,
  );
  if (!rows.length) throw new NotFoundError('Conversation', conversationId);
  return reviveRow<Conversation>('Conversation', rows[0]!.row);
}

/** ARCHIVED conversations are final and read-only. */
export function assertNotArchived(conversation: Conversation): void {
  if (conversation.status === 'ARCHIVED') throw new ConversationArchivedError(conversation.id);
}

/**
 * The number a new conversation holds until its transaction's numbering step gives it the
 * workspace's next display number (#1, #2...). Negative, so never a real number, and random,
 * so that two transactions creating conversations at once do not meet on the unique
 * (workspace, number) index (if they ever did, the second would only wait for the first).
 * Nobody else ever sees it: it is replaced before the commit.
 */
function placeholderNumber(): number {
  return -randomInt(1, 2 ** 31 - 1);
}

export interface NewConversation {
  inboxId: string;
  contactId: string;
  subject?: string | null;
  priority?: Prisma.ConversationUncheckedCreateInput['priority'];
  labelIds?: string[];
  customAttributes?: Record<string, unknown>;
  providerThreadId?: string | null;
  /** Recorded in the CONVERSATION_CREATED event, e.g. the archived conversation it follows. */
  previousConversationId?: string | null;
}

/** Inserts a conversation and records CONVERSATION_CREATED. Contact and labels must be held already (or made by this transaction). */
export async function insertConversation(tx: ScopedTx, events: EventLog, workspaceId: string, input: NewConversation): Promise<Conversation> {
  const conversation = await tx.conversation.create({
    data: {
      workspaceId,
      number: placeholderNumber(),
      inboxId: input.inboxId,
      contactId: input.contactId,
      subject: input.subject ?? null,
      priority: input.priority ?? 'NONE',
      customAttributes: (input.customAttributes ?? {}) as Prisma.InputJsonObject,
      providerThreadId: input.providerThreadId ?? null,
      ...startedNow(),
      labels: input.labelIds?.length ? { connect: input.labelIds.map((id) => ({ id })) } : undefined,
    },
  });
  const after = {
    number: conversation.number,
    status: conversation.status,
    controller: conversation.controller,
    priority: conversation.priority,
    inboxId: conversation.inboxId,
    contactId: conversation.contactId,
    subject: conversation.subject,
    labelIds: input.labelIds ?? [],
    ...(input.previousConversationId ? { previousConversationId: input.previousConversationId } : {}),
  };
  events.record({ type: 'CONVERSATION_CREATED', conversationId: conversation.id, after });
  events.numberConversation(conversation, after);
  return conversation;
}

/**
 * Records CONVERSATION_DELETED for a conversation that is gone. The event keeps what a live
 * list filters on (inbox, status, priority, assignee, controller), so that every list that
 * showed the conversation hears of its deletion, and no content.
 */
export async function recordConversationDeleted(
  events: EventLog,
  conversation: Pick<Conversation, 'id' | 'number' | 'status' | 'inboxId' | 'priority' | 'assigneeId' | 'controller' | 'messageCount' | 'publicMessageCount'>,
  reason: string,
): Promise<void> {
  const { id, number, status, inboxId, priority, assigneeId, controller, messageCount, publicMessageCount } = conversation;
  await events.record({
    type: 'CONVERSATION_DELETED',
    conversationId: id,
    before: { number, status, inboxId, priority, assigneeId, controller, messageCount, publicMessageCount },
    after: { deleted: true, reason },
  });
}

/** A new conversation's creation time, and its sort key (lastActivityAt), which starts equal to it. */
function startedNow(): { createdAt: Date; lastActivityAt: Date } {
  const at = new Date();
  return { createdAt: at, lastActivityAt: at };
}
