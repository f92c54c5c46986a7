// The AI-to-human handoff: a human takes control of a conversation (the AI goes quiet)
// and later gives it back. Each handoff is a row; the conversation's controller says who
// is in control now.
import type { Conversation, Handoff } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { HumanInControlError, NoActiveHandoffError } from '../errors.js';
import { assertNotArchived, lockConversation } from './conversation-store.js';
import { applyAssignment } from './conversations.js';
import { inTransaction, type EventLog, type ServiceContext } from './timeline.js';
import { LIMITS, optionalText } from './validation.js';

export interface StartHandoffInput {
  conversationId: string;
  assigneeId?: string | null;
  reason?: string | null;
  summary?: string | null;
}

export async function startHumanHandoff(sctx: ServiceContext, input: StartHandoffInput): Promise<{ conversation: Conversation; handoff: Handoff }> {
  const reason = optionalText(input.reason, 'input.reason', 1000) ?? null;
  const summary = optionalText(input.summary, 'input.summary', LIMITS.note) ?? null;
  return inTransaction(sctx, async (tx, events) =>
    applyStartHandoff(tx, events, sctx, await lockConversation(tx, sctx.workspaceId, input.conversationId), { ...input, reason, summary }),
  );
}

/** Hands a locked conversation to a human; `input` is checked (reason and summary trimmed). */
export async function applyStartHandoff(
  tx: ScopedTx,
  events: EventLog,
  sctx: ServiceContext,
  locked: Conversation,
  input: { assigneeId?: string | null; reason: string | null; summary: string | null },
): Promise<{ conversation: Conversation; handoff: Handoff }> {
  const { reason, summary } = input;
  let conversation = locked;
  assertNotArchived(conversation);
  if (conversation.controller === 'HUMAN') {
    const open = await tx.handoff.findFirst({ where: { conversationId: conversation.id, endedAt: null }, select: { id: true } });
    throw new HumanInControlError(conversation.id, open?.id ?? null, 'A human is already in control of this conversation.');
  }
  if (input.assigneeId) conversation = await applyAssignment(tx, events, conversation, input.assigneeId, reason);
  const handoff = await tx.handoff.create({
    data: {
      workspaceId: sctx.workspaceId,
      conversationId: conversation.id,
      startedByType: sctx.actor.type,
      startedByUserId: sctx.actor.userId ?? null,
      assigneeId: input.assigneeId ?? null,
      reason,
      summary,
    },
  });
  conversation = await tx.conversation.update({ where: { id: conversation.id }, data: { controller: 'HUMAN', version: { increment: 1 } } });
  await events.record({
    type: 'HANDOFF_STARTED',
    conversationId: conversation.id,
    before: { controller: 'AI_AGENT' },
    after: { controller: 'HUMAN', handoffId: handoff.id, assigneeId: handoff.assigneeId, reason },
    note: summary,
  });
  return { conversation, handoff };
}

export async function stopHumanHandoff(
  sctx: ServiceContext,
  input: { conversationId: string; note?: string | null },
): Promise<{ conversation: Conversation; handoff: Handoff | null }> {
  const note = optionalText(input.note, 'input.note', LIMITS.note) ?? null;
  return inTransaction(sctx, async (tx, events) =>
    applyStopHandoff(tx, events, sctx, await lockConversation(tx, sctx.workspaceId, input.conversationId), note),
  );
}

/** Gives a locked conversation back to the AI; `note` is checked. */
export async function applyStopHandoff(
  tx: ScopedTx,
  events: EventLog,
  sctx: ServiceContext,
  conversation: Conversation,
  note: string | null,
): Promise<{ conversation: Conversation; handoff: Handoff | null }> {
  assertNotArchived(conversation);
  if (conversation.controller !== 'HUMAN') throw new NoActiveHandoffError(conversation.id);
  const open = await tx.handoff.findFirst({ where: { conversationId: conversation.id, endedAt: null }, orderBy: { startedAt: 'desc' } });
  const handoff = open
    ? await tx.handoff.update({
        where: { id: open.id },
        data: { endedAt: new Date(), endedByType: sctx.actor.type, endedByUserId: sctx.actor.userId ?? null, endNote: note },
      })
    : null;
  const updated = await tx.conversation.update({ where: { id: conversation.id }, data: { controller: 'AI_AGENT', version: { increment: 1 } } });
  await events.record({
    type: 'HANDOFF_COMPLETED',
    conversationId: conversation.id,
    before: { controller: 'HUMAN' },
    after: { controller: 'AI_AGENT', handoffId: handoff?.id ?? null },
    note,
  });
  return { conversation: updated, handoff };
}
