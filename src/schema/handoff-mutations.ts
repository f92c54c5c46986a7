// The AI-to-human handoff: startHumanHandoff, stopHumanHandoff.
import { builder } from '../builder.js';
import { MUTATION_NULL } from './nullability.js';
import { serviceContext } from '../context.js';
import { ConversationArchivedError, HumanInControlError, NoActiveHandoffError, NotFoundError, ValidationError } from '../errors.js';
import { startHumanHandoff, stopHumanHandoff } from '../services/handoffs.js';
import { decodeId, decodeOptionalId, mutationErrors, noRow } from './mutations.js';

interface HandoffResult {
  conversationId: string;
  handoffId: string | null;
}

const handoffPayload = (name: string, description: string, handoffDescription: string) =>
  builder.objectRef<HandoffResult>(name).implement({
    description,
    fields: (t) => ({
      // Nullable: reading it needs read:conversations, which a key that may write need not have.
      conversation: t.prismaField({
        type: 'Conversation',
        nullable: true,
        description: 'The conversation, with its controller. Null, with a FORBIDDEN error, for a key without read:conversations.',
        resolve: (query, r, _args, ctx) => ctx.db.conversation.findUniqueOrThrow({ ...query, where: { id: r.conversationId } }),
      }),
      handoff: t.prismaField({
        type: 'Handoff',
        nullable: true,
        description: `${handoffDescription} Null, with a FORBIDDEN error, for a key without read:conversations.`,
        resolve: (query, r, _args, ctx) => (r.handoffId ? ctx.db.handoff.findUnique({ ...query, where: { id: r.handoffId } }) : noRow(query)),
      }),
    }),
  });

const StartHumanHandoffInput = builder.inputType('StartHumanHandoffInput', {
  description: 'A human taking over a conversation from the AI.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    assigneeId: t.id({ description: 'The team member who takes it; the conversation is assigned to them.' }),
    reason: t.string({ description: 'Why the AI hands over.' }),
    summary: t.string({ description: 'What the AI tells the human about the conversation so far.' }),
  }),
});

builder.mutationField('startHumanHandoff', (t) =>
  t.field({
    type: handoffPayload('StartHumanHandoffPayload', 'The conversation, now under human control, and the handoff.', 'The handoff just opened.'),
    description:
      'Gives control of a conversation to a human: the controller becomes HUMAN and a handoff opens. Until stopHumanHandoff, AI_AGENT messages are refused.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: StartHumanHandoffInput, required: true, description: 'The handoff.' }) },
    errors: mutationErrors('startHumanHandoff', [NotFoundError, ValidationError, HumanInControlError, ConversationArchivedError]),
    resolve: async (_root, { input }, ctx) => {
      const { conversation, handoff } = await startHumanHandoff(serviceContext(ctx), {
        ...input,
        conversationId: decodeId(input.conversationId, 'Conversation', ctx),
        assigneeId: decodeOptionalId(input.assigneeId, 'User', ctx),
      });
      return { conversationId: conversation.id, handoffId: handoff.id };
    },
  }),
);

const StopHumanHandoffInput = builder.inputType('StopHumanHandoffInput', {
  description: 'A human giving a conversation back to the AI.',
  fields: (t) => ({
    conversationId: t.id({ required: true, description: 'The conversation.' }),
    note: t.string({ description: 'A note left for the record, e.g. what was done.' }),
  }),
});

builder.mutationField('stopHumanHandoff', (t) =>
  t.field({
    type: handoffPayload('StopHumanHandoffPayload', 'The conversation, back under AI control, and the handoff that ended.', 'The handoff that ended; null if none was recorded.'),
    description: 'Gives control of a conversation back to the AI: the open handoff ends and the controller becomes AI_AGENT.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'WRITE_CONVERSATIONS' },
    args: { input: t.arg({ type: StopHumanHandoffInput, required: true, description: 'The conversation.' }) },
    errors: mutationErrors('stopHumanHandoff', [NotFoundError, ValidationError, NoActiveHandoffError, ConversationArchivedError]),
    resolve: async (_root, { input }, ctx) => {
      const { conversation, handoff } = await stopHumanHandoff(serviceContext(ctx), {
        ...input,
        conversationId: decodeId(input.conversationId, 'Conversation', ctx),
      });
      return { conversationId: conversation.id, handoffId: handoff?.id ?? null };
    },
  }),
);
