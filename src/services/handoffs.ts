// The AI-to-human handoff: a human takes control of a conversation (the AI goes quiet)
// and later gives it back. Each handoff is a row; the conversation's controller says who
// is in control now.
import type { Conversation, Handoff } from '../generated/prisma/client.js';
import { HumanInControlError, NoActiveHandoffError } from '../errors.js';
import { assertNotArchived, lockConversation } from './conversation-store.js';
import { applyAssignment } from './conversations.js';
import { inTransaction, type ServiceContext } from './timeline.js';
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
  return inTransaction(sctx, async (tx, events) => {
    let conversation = await lockConversation(tx, sctx.workspaceId, input.conversationId);
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
  });
}

export async function stopHumanHandoff(
  sctx: ServiceContext,
  input: { conversationId: string; note?: string | null },
): Promise<{ conversation: Conversation; handoff: Handoff | null }> {
  const note = optionalText(input.note, 'input.note', LIMITS.note) ?? null;
  return inTransaction(sctx, async (tx, events) => {
    const conversation = await lockConversation(tx, sctx.workspaceId, input.conversationId);
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
  });
}
