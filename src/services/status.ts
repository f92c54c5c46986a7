// The conversation status lifecycle: the one transition table, and the one function that
// changes a status. Every status change goes through `changeStatus`: the lifecycle mutations,
// a contact's message reopening a conversation, bulk updates and the snooze waker.
import type { Conversation, ConversationStatus, Prisma, ResolutionReason } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { InvalidTransitionError } from '../errors.js';
import type { Actor, EventLog } from './timeline.js';

/** From each status, the statuses a conversation may move to. ARCHIVED is final. */
export const STATUS_TRANSITIONS: Readonly<Record<ConversationStatus, readonly ConversationStatus[]>> = Object.freeze({
  OPEN: ['PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED'],
  PENDING: ['OPEN', 'SNOOZED', 'RESOLVED', 'CLOSED'],
  SNOOZED: ['OPEN', 'RESOLVED', 'CLOSED'],
  RESOLVED: ['OPEN', 'CLOSED', 'ARCHIVED'],
  CLOSED: ['OPEN', 'ARCHIVED'],
  ARCHIVED: [],
});

export const STATUSES = Object.keys(STATUS_TRANSITIONS) as ConversationStatus[];

export function canTransition(from: ConversationStatus, to: ConversationStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to);
}

export function assertTransition(from: ConversationStatus, to: ConversationStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, STATUS_TRANSITIONS[from]);
}

/** The table as Markdown (from \ to), for the README. */
export function transitionTableMarkdown(): string {
  const header = `| from \\ to | ${STATUSES.join(' | ')} |`;
  const rule = `|---|${STATUSES.map(() => ':---:').join('|')}|`;
  const rows = STATUSES.map((from) => `| **${from}** | ${STATUSES.map((to) => (canTransition(from, to) ? 'yes' : '')).join(' | ')} |`);
  return [header, rule, ...rows].join('\n');
}

export interface StatusChange {
  to: ConversationStatus;
  /** Required when `to` is SNOOZED. */
  snoozedUntil?: Date;
  resolution?: { reason: ResolutionReason; note: string | null; satisfactionRequested: boolean; resolvedById: string | null };
  /** An internal note kept on the timeline event. */
  note?: string | null;
  /** Defaults to the transaction's actor. */
  actor?: Actor;
}

/**
 * Moves a (locked) conversation to another status, enforcing the table, and records the
 * STATUS_CHANGED event. Bumps the version. Returns the updated row.
 */
export async function changeStatus(tx: ScopedTx, events: EventLog, conversation: Conversation, change: StatusChange): Promise<Conversation> {
  assertTransition(conversation.status, change.to);
  const data: Prisma.ConversationUncheckedUpdateInput = {
    status: change.to,
    snoozedUntil: change.to === 'SNOOZED' ? change.snoozedUntil : null,
    version: { increment: 1 },
  };
  // Reopening ends the resolution: an OPEN conversation has none (the timeline keeps it).
  if (change.to === 'OPEN' && conversation.resolvedAt) {
    Object.assign(data, { resolutionReason: null, resolutionNote: null, resolvedAt: null, resolvedById: null });
  }
  const after: Record<string, Prisma.InputJsonValue | null> = { status: change.to };
  if (change.to === 'SNOOZED') after.snoozedUntil = change.snoozedUntil!.toISOString();
  if (change.resolution) {
    Object.assign(data, {
      resolutionReason: change.resolution.reason,
      resolutionNote: change.resolution.note,
      resolvedAt: new Date(),
      resolvedById: change.resolution.resolvedById,
      satisfactionRequested: change.resolution.satisfactionRequested,
    });
    after.resolutionReason = change.resolution.reason;
    after.satisfactionRequested = change.resolution.satisfactionRequested;
  }
  const updated = await tx.conversation.update({ where: { id: conversation.id }, data });
  await events.record({
    type: 'STATUS_CHANGED',
    conversationId: conversation.id,
    before: {
      status: conversation.status,
      ...(conversation.snoozedUntil ? { snoozedUntil: conversation.snoozedUntil.toISOString() } : {}),
    },
    after,
    note: change.note ?? null,
    actor: change.actor,
  });
  return updated;
}
