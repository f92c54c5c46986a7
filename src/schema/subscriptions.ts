// The live API: subscriptions over graphql-ws (or yoga's GraphQL over SSE). Each field's
// `subscribe` only describes what it wants (src/subscriptions/live-stream.ts); delivery,
// resumption and sharing live in src/subscriptions/. Payloads carry ids: the conversation,
// message and timeline entry are loaded through the workspace-scoped client, as queries do.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { seesInternalNotes, type Context } from '../context.js';
import { noRow } from './mutations.js';
import { badInput, requestError } from '../errors.js';
import {
  CONTACT_EVENT_KINDS,
  CONVERSATION_EVENT_KINDS,
  acceptsContactEvent,
  acceptsConversationEvent,
  contactKindOf,
  type ContactEventKind,
  acceptsMessageAdded,
  kindOf,
  type ConversationEventKind,
  type LiveConversationFilter,
} from '../subscriptions/conversation-filter.js';
import type { LiveEvent } from '../subscriptions/live-event.js';
import { hubOf, LiveStream, parseCursor } from '../subscriptions/live-stream.js';
import { AssigneeFilterInput, LabelFilterInput } from './conversation.js';
import { ChannelEnum, ConversationStatusEnum, ControllerEnum, PriorityEnum, SenderTypeEnum } from './enums.js';
import { localId, localIds } from './ids.js';

const MAX_IDS = 100;

builder.subscriptionType({
  description:
    'Live events, over WebSocket (graphql-ws, subprotocol graphql-transport-ws; the key goes in the connection_init payload as {"apiKey": "..."}) or over SSE. Every field needs an API key with read:conversations.',
});

const KIND_DESCRIPTIONS: Record<ConversationEventKind, string> = {
  CONVERSATION_CREATED: 'A conversation was created.',
  MESSAGE_ADDED: 'A message (or, for TEAM keys, an internal note) was added.',
  MESSAGE_STATUS_CHANGED: "A message's delivery status changed.",
  MESSAGE_DELETED: 'A message was deleted; its tombstone stays in the thread.',
  ASSIGNED: 'The assignee changed (assigned, reassigned or unassigned).',
  STATUS_CHANGED: 'The status changed other than by snoozing or resolving: pending, close, archive, reopen, wake.',
  SNOOZED: 'The conversation was snoozed.',
  RESOLVED: 'The conversation was resolved.',
  LABELS_CHANGED: 'Labels were added or removed.',
  PRIORITY_CHANGED: 'The priority changed.',
  CONVERSATION_UPDATED: 'The subject or custom attributes changed.',
  CONVERSATION_READ: 'The team read the conversation: its unread count went back to zero.',
  SATISFACTION_RECORDED: "The contact's satisfaction rating was recorded.",
  SURVEY_ANSWERED: 'The contact answered a satisfaction survey, or changed the answer.',
  HANDOFF_STARTED: 'A human took over from the AI.',
  HANDOFF_COMPLETED: 'Control went back to the AI.',
  CONVERSATION_DELETED: 'The conversation was deleted: drop it from your lists.',
};

export const ConversationEventKindEnum = builder.enumType('ConversationEventKind', {
  description: 'What happened to a conversation, in a live event.',
  values: Object.fromEntries(CONVERSATION_EVENT_KINDS.map((k) => [k, { value: k, description: KIND_DESCRIPTIONS[k] }])) as Record<
    ConversationEventKind,
    { value: ConversationEventKind; description: string }
  >,
});

export const ConversationEventRef = builder.objectRef<LiveEvent>('ConversationEvent').implement({
  description: 'Something that happened to a conversation, delivered live. The conversation is shown as it is now.',
  fields: (t) => ({
    cursor: t.string({
      description: "The event's position in the workspace's timeline. Keep the last one you received and pass it as `after` when you subscribe again: you get what you missed, then live events.",
      resolve: (e) => e.cursor,
    }),
    kind: t.field({
      type: ConversationEventKindEnum,
      description: 'What happened.',
      resolve: async (e) => kindOf(e.type, (await e.facts()).after) ?? 'CONVERSATION_UPDATED',
    }),
    conversationId: t.id({
      description: 'Global id of the conversation, also once it has been deleted.',
      resolve: (e) => encodeGlobalID('Conversation', e.conversationId!),
    }),
    conversation: t.prismaField({
      type: 'Conversation',
      nullable: true,
      description: 'The conversation as it is now; null once it has been deleted.',
      resolve: (query, e, _args, ctx) => ctx.db.conversation.findUnique({ ...query, where: { id: e.conversationId! } }),
    }),
    message: t.prismaField({
      type: 'Message',
      nullable: true,
      description: 'For message events, the message as it is now (content removed if deleted); null for other events.',
      resolve: (query, e, _args, ctx) =>
        e.messageId
          ? ctx.db.message.findFirst({ ...query, where: { id: e.messageId, ...(seesInternalNotes(ctx) ? {} : { private: false }) } })
          : noRow(query),
    }),
    event: t.prismaField({
      type: 'Event',
      nullable: true,
      description:
        "The timeline entry: who did it and when, the values before and after, and any internal note (TEAM keys only). Null only if the entry was erased since (deleting a contact erases its history).",
      resolve: (query, e, _args, ctx) => ctx.db.event.findUnique({ ...query, where: { id: e.eventId } }),
    }),
  }),
});

export const MessageAddedEventRef = builder.objectRef<LiveEvent>('MessageAddedEvent').implement({
  description: 'A message added to a conversation, delivered live.',
  fields: (t) => ({
    cursor: t.string({
      description: "The event's position in the workspace's timeline: pass the last one you received as `after` when you subscribe again.",
      resolve: (e) => e.cursor,
    }),
    message: t.prismaField({
      type: 'Message',
      nullable: true,
      description: 'The message as it is now; null only if it was erased since (with its conversation or contact).',
      resolve: (query, e, _args, ctx) => ctx.db.message.findUnique({ ...query, where: { id: e.messageId! } }),
    }),
  }),
});

export const ConversationEventFilterInput = builder.inputType('ConversationEventFilter', {
  description:
    'Which conversations a live subscription follows. Every field is optional and they all combine (AND). A conversation matches as it is after the event, or as it was before it: the event that takes it out of your filter (resolved while you follow OPEN ones) still reaches you, so a live list knows to drop it.',
  fields: (t) => ({
    kinds: t.field({ type: [ConversationEventKindEnum], required: false, description: 'Only events of these kinds; all kinds without it.' }),
    senderTypes: t.field({
      type: [SenderTypeEnum],
      required: false,
      description: 'For message events (added, status changed, deleted): only messages from these senders. Other events are not narrowed by it.',
    }),
    conversation: t.id({ required: false, description: 'Only this conversation (its global id).' }),
    inboxes: t.idList({ required: false, description: 'In one of these inboxes (Inbox ids, at most 100).' }),
    channels: t.field({ type: [ChannelEnum], required: false, description: 'Arrived over one of these channels.' }),
    status: t.field({ type: [ConversationStatusEnum], required: false, description: 'In one of these statuses.' }),
    priorities: t.field({ type: [PriorityEnum], required: false, description: 'With one of these priorities.' }),
    controller: t.field({ type: ControllerEnum, required: false, description: 'Who is in control: the AI or a human.' }),
    assignee: t.field({ type: AssigneeFilterInput, required: false, description: 'Assigned to a user, to nobody, or to me.' }),
    labels: t.field({ type: LabelFilterInput, required: false, description: 'Carries labels: any of, all of, none of.' }),
    contacts: t.idList({ required: false, description: 'With one of these contacts (Contact ids, at most 100).' }),
  }),
});

export type FilterArg = typeof ConversationEventFilterInput.$inferInput;

function capped<T>(list: T[] | null, argument: string): T[] | null {
  if (list && list.length > MAX_IDS) throw badInput(`${argument} may hold at most ${MAX_IDS} ids.`, { argument });
  return list;
}

/** The filter with its global ids decoded; a malformed one is BAD_USER_INPUT naming the argument. */
export function parseEventFilter(input: FilterArg | null | undefined, ctx: Pick<Context, 'auth'>): LiveConversationFilter {
  if (!input) return {};
  if (input.assignee?.me != null && !ctx.auth?.userId) {
    throw badInput('filter.assignee.me needs a key that acts as a team member.', { argument: 'filter.assignee.me' });
  }
  return {
    kinds: input.kinds ?? null,
    senderTypes: input.senderTypes ?? null,
    conversationId: input.conversation ? localId(input.conversation, 'Conversation', 'filter.conversation') : null,
    inboxIds: capped(localIds(input.inboxes, 'Inbox', 'filter.inboxes'), 'filter.inboxes'),
    channels: input.channels ?? null,
    statuses: input.status ?? null,
    priorities: input.priorities ?? null,
    controller: input.controller ?? null,
    contactIds: capped(localIds(input.contacts, 'Contact', 'filter.contacts'), 'filter.contacts'),
    assignee: input.assignee
      ? {
          userIds: capped(localIds(input.assignee.users, 'User', 'filter.assignee.users'), 'filter.assignee.users'),
          unassigned: input.assignee.unassigned ?? null,
          me: input.assignee.me ?? null,
        }
      : null,
    labels: input.labels
      ? {
          anyOf: capped(localIds(input.labels.anyOf, 'Label', 'filter.labels.anyOf'), 'filter.labels.anyOf'),
          allOf: capped(localIds(input.labels.allOf, 'Label', 'filter.labels.allOf'), 'filter.labels.allOf'),
          noneOf: capped(localIds(input.labels.noneOf, 'Label', 'filter.labels.noneOf'), 'filter.labels.noneOf'),
        }
      : null,
  };
}

const AFTER_DESCRIPTION =
  'The cursor of the last event you received: first every matching event since then, from the timeline, then live ones, with no gap and no duplicate. Omit it to start from now.';

builder.subscriptionField('conversationEvents', (t) =>
  t.field({
    type: ConversationEventRef,
    description:
      "Every change to the workspace's conversations that matches the filter, in timeline order: created, messages added, assigned, status changes (snoozed and resolved told apart), labels, priority, handoffs, message delivery and deletion, conversation deleted. Internal notes reach TEAM keys only." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: {
      filter: t.arg({ type: ConversationEventFilterInput, required: false, description: 'Which conversations to follow; all of them without it.' }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: (_root, args, ctx) => {
      const auth = ctx.auth!;
      const filter = parseEventFilter(args.filter, ctx);
      const viewer = { kind: auth.kind, userId: auth.userId };
      return new LiveStream(
        hubOf(ctx),
        { workspaceId: auth.workspaceId, after: parseCursor(args.after), accept: (e) => acceptsConversationEvent(e, filter, viewer) },
        ctx,
      );
    },
    resolve: (event) => event,
  }),
);

builder.subscriptionField('messageAdded', (t) =>
  t.field({
    type: MessageAddedEventRef,
    description: "A conversation's new messages, in order: the thread view's feed. Internal notes reach TEAM keys only." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: {
      conversationId: t.arg.id({ required: true, description: 'Global id of the conversation.' }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: async (_root, args, ctx) => {
      const auth = ctx.auth!;
      const conversationId = localId(args.conversationId, 'Conversation', 'conversationId');
      const after = parseCursor(args.after);
      if (!(await ctx.db.conversation.count({ where: { id: conversationId } }))) {
        throw requestError('NOT_FOUND', 'There is no such conversation in your workspace.', { argument: 'conversationId' });
      }
      const viewer = { kind: auth.kind, userId: auth.userId };
      return new LiveStream(
        hubOf(ctx),
        { workspaceId: auth.workspaceId, after, accept: (e) => acceptsMessageAdded(e, conversationId, viewer) },
        ctx,
      );
    },
    resolve: (event) => event,
  }),
);

const CONTACT_KIND_DESCRIPTIONS: Record<ContactEventKind, string> = {
  CONTACT_CREATED: 'A contact was created (by an API call, or by a first message from someone new).',
  CONTACT_UPDATED: "A contact's name, email, phone, custom attributes or identities changed.",
  CONTACTS_MERGED: 'Two contacts were merged: the event is about the one that remains; the other is named in its `after` (mergedContactId).',
  CONTACT_ERASED: 'A contact was erased with its conversations and messages: delete what you keep of it.',
};

export const ContactEventKindEnum = builder.enumType('ContactEventKind', {
  description: 'What happened to a contact, in a live event or a webhook.',
  values: Object.fromEntries(CONTACT_EVENT_KINDS.map((k) => [k, { value: k, description: CONTACT_KIND_DESCRIPTIONS[k] }])) as Record<
    ContactEventKind,
    { value: ContactEventKind; description: string }
  >,
});

async function contactIdOf(e: LiveEvent): Promise<string | null> {
  const id = (await e.facts()).after?.contactId;
  return typeof id === 'string' ? id : null;
}

export const ContactEventRef = builder.objectRef<LiveEvent>('ContactEvent').implement({
  description: 'Something that happened to a contact, delivered live: what a CRM sync follows. The contact is shown as it is now.',
  fields: (t) => ({
    cursor: t.string({
      description: "The event's position in the workspace's timeline: pass the last one you received as `after` when you subscribe again.",
      resolve: (e) => e.cursor,
    }),
    kind: t.field({ type: ContactEventKindEnum, description: 'What happened.', resolve: (e) => contactKindOf(e.type)! }),
    contactId: t.id({
      nullable: true,
      description: 'Global id of the contact, also once it has been erased; null only if the timeline entry was erased before the event was read.',
      resolve: async (e) => {
        const id = await contactIdOf(e);
        return id ? encodeGlobalID('Contact', id) : null;
      },
    }),
    contact: t.prismaField({
      type: 'Contact',
      nullable: true,
      description: 'The contact as it is now; null once erased or merged away.',
      resolve: async (query, e, _args, ctx) => {
        const id = await contactIdOf(e);
        return id ? ctx.db.contact.findUnique({ ...query, where: { id } }) : noRow(query);
      },
    }),
    event: t.prismaField({
      type: 'Event',
      nullable: true,
      description: 'The timeline entry: who did it and when, the values before and after. Null only if the entry was erased since.',
      resolve: (query, e, _args, ctx) => ctx.db.event.findUnique({ ...query, where: { id: e.eventId } }),
    }),
  }),
});

builder.subscriptionField('contactEvents', (t) =>
  t.field({
    type: ContactEventRef,
    description: "Every change to the workspace's contacts, in timeline order: created, updated, merged, erased. What a CRM sync follows." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'READ_CONTACTS' },
    args: {
      kinds: t.arg({ type: [ContactEventKindEnum], required: false, description: 'Only events of these kinds; every kind without it.' }),
      after: t.arg.string({ required: false, description: AFTER_DESCRIPTION }),
    },
    subscribe: (_root, args, ctx) => {
      const auth = ctx.auth!;
      const kinds = args.kinds ?? null;
      return new LiveStream(hubOf(ctx), { workspaceId: auth.workspaceId, after: parseCursor(args.after), accept: async (e) => acceptsContactEvent(e, kinds) }, ctx);
    },
    resolve: (event) => event,
  }),
);
