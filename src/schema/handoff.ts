import { builder } from '../builder.js';
import { seesInternalNotes } from '../context.js';
import { ActorTypeEnum } from './enums.js';

export const HandoffNode = builder.prismaNode('Handoff', {
  description: 'A period during which a human, not the AI, answered a conversation.',
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the handoff.' },
  fields: (t) => ({
    conversation: t.relation('conversation', { description: 'The conversation handed over.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the human took over.' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true, description: 'When control went back to the AI; null while the handoff is live.' }),
    active: t.boolean({ description: 'True while the human is in control.', resolve: (h) => h.endedAt === null }),
    startedByType: t.expose('startedByType', { type: ActorTypeEnum, description: 'Who started the handoff.' }),
    startedBy: t.relation('startedBy', { nullable: true, description: 'The team member who started it; null when no person did.' }),
    endedByType: t.expose('endedByType', { type: ActorTypeEnum, nullable: true, description: 'Who ended the handoff; null while it is live.' }),
    endedBy: t.relation('endedBy', { nullable: true, description: 'The team member who ended it; null while it is live, or when no person did.' }),
    assignee: t.relation('assignee', { nullable: true, description: 'The human the conversation went to; null when none was named.' }),
    reason: t.exposeString('reason', { nullable: true, description: 'Why the AI handed over; null when no reason was given.' }),
    // The summary and the end note are the notes of the handoff's timeline events: internal.
    summary: t.string({
      nullable: true,
      description: 'What the AI told the human about the conversation so far: an internal note, for TEAM keys only (null for CONNECTOR keys).',
      resolve: (h, _a, ctx) => (seesInternalNotes(ctx) ? h.summary : null),
    }),
    endNote: t.string({
      nullable: true,
      description: 'A note left when control went back to the AI: an internal note, for TEAM keys only (null for CONNECTOR keys).',
      resolve: (h, _a, ctx) => (seesInternalNotes(ctx) ? h.endNote : null),
    }),
  }),
});
