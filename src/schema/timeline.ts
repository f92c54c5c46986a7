import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { seesInternalNotes } from '../context.js';
import { eventVisibility } from '../services/conversation-query.js';
import { eventValuesFor } from '../services/event-values.js';
import { ContactNode } from './contact.js';
import { ActorTypeEnum, EventTypeEnum } from './enums.js';
import { rowById } from './loaders.js';
import { UserNode } from './user.js';

const COUNTS =
  'Figures that count internal notes come with their public counterpart for TEAM keys (messageCount and publicMessageCount; messages and publicMessages when a contact is erased); CONNECTOR keys get only the public figure, under the plain name (messageCount without notes, as Conversation.messageCount), and no figure at all from events recorded before the counterpart existed.';

export const TimelineEventNode = builder.prismaNode('Event', {
  name: 'TimelineEvent',
  description: "One thing that happened in the workspace, in commit order: the workspace's timeline.",
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the event.' },
  // Events about internal notes are hidden from CONNECTOR keys by id as in Conversation.timeline,
  // by the same condition. (Without a key, the client scoped to no workspace finds nothing.)
  findUnique: async (id, ctx) => {
    if (!ctx.auth || seesInternalNotes(ctx)) return { id };
    const visible = await ctx.db.$queryRaw<{ id: string }[]>`
      SELECT e."id" FROM "event" e
      WHERE e."id" = ${id}::uuid AND e."workspace_id" = ${ctx.auth.workspaceId}::uuid${eventVisibility(ctx.auth)}`;
    // OR: [] matches nothing: the node is null, as for an id that does not exist.
    return visible.length ? { id } : { id, OR: [] };
  },
  fields: (t) => ({
    type: t.expose('type', { type: EventTypeEnum, description: 'What happened.' }),
    cursor: t.string({
      description: "The event's position in the workspace's timeline: later events have larger cursors, in commit order.",
      resolve: (e) => e.seq.toString(),
    }),
    conversationId: t.id({
      nullable: true,
      description: 'Global id of the conversation concerned (it may since have been deleted); null for events about no conversation (labels, contacts).',
      resolve: (e) => (e.conversationId ? Buffer.from(`Conversation:${e.conversationId}`).toString('base64') : null),
    }),
    messageId: t.id({
      nullable: true,
      description: 'Global id of the message concerned, for message events; null for other events.',
      resolve: (e) => (e.messageId ? Buffer.from(`Message:${e.messageId}`).toString('base64') : null),
    }),
    actorType: t.expose('actorType', { type: ActorTypeEnum, description: 'Who did it.' }),
    actorUser: t.field({
      type: UserNode,
      nullable: true,
      description: 'The team member who did it (actorType USER); null otherwise, or if they have since been removed.',
      resolve: (e, _a, ctx) => (e.actorUserId ? rowById(ctx, 'user').load(e.actorUserId) : null),
    }),
    actorContact: t.field({
      type: ContactNode,
      nullable: true,
      description: 'The contact who did it (actorType CONTACT); null otherwise, or if the contact was erased. Needs read:contacts.',
      resolve: (e, _a, ctx) => (e.actorContactId ? rowById(ctx, 'contact').load(e.actorContactId) : null),
    }),
    actorRuleId: t.id({
      nullable: true,
      description: 'Global id of the automation rule that did it (actorType AUTOMATION); null otherwise.',
      resolve: (e) => (e.actorRuleId ? encodeGlobalID('AutomationRule', e.actorRuleId) : null),
    }),
    actorChainDepth: t.int({
      nullable: true,
      description: 'For actorType AUTOMATION: how many rule runs led to it (1: a rule answering an event no rule caused; chains stop at 3). Null otherwise.',
      resolve: (e) => e.actorDepth ?? null,
    }),
    actorApiKeyId: t.id({
      nullable: true,
      description: 'Global id of the API key it was done with, whoever it acted as (read the key itself with the admin scope); null when no key did it (Parley itself, e.g. waking a snoozed conversation).',
      resolve: (e) => (e.actorApiKeyId ? Buffer.from(`ApiKey:${e.actorApiKeyId}`).toString('base64') : null),
    }),
    before: t.field({
      type: 'JSONObject',
      nullable: true,
      description: `The values before the change; null when the event records none. ${COUNTS}`,
      resolve: (e, _a, ctx) => eventValuesFor(ctx.auth?.kind, e.before) as object | null,
    }),
    after: t.field({
      type: 'JSONObject',
      nullable: true,
      description: `The values after the change; null when the event records none. ${COUNTS}`,
      resolve: (e, _a, ctx) => eventValuesFor(ctx.auth?.kind, e.after) as object | null,
    }),
    note: t.string({
      nullable: true,
      description: 'An internal note left with the change; null for CONNECTOR keys.',
      resolve: (e, _a, ctx) => (seesInternalNotes(ctx) ? e.note : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it happened.' }),
  }),
});
