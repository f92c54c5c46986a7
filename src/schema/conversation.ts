import { queryFromInfo } from '@pothos/plugin-prisma';
import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { seesInternalNotes, type Context } from '../context.js';
import { badInput } from '../errors.js';
import type { Event, Message } from '../generated/prisma/client.js';
import {
  conversationPageRequest,
  conversationSelection,
  countConversations,
  DEFAULT_ORDER,
  findConversationPage,
  findMessagePageIds,
  findTimelinePageIds,
  messageCursor,
  messagePageRequest,
  timelineCursor,
  timelinePageRequest,
  type ConversationFilter,
  type ConversationOrder,
  type Viewer,
} from '../services/conversation-query.js';
import type { GraphQLResolveInfo } from 'graphql';
import type { RowModel } from '../db/rows.js';
import {
  CONVERSATION_RELATIONS,
  conversationJson,
  type ConversationRelation,
  type ConversationRow,
  type ConversationRowsPlan,
} from '../services/conversation-rows.js';
import { pageInfoOf, type PageArgs } from '../services/pagination.js';
import {
  ChannelEnum,
  ConversationStatusEnum,
  ControllerEnum,
  PriorityEnum,
  ResolutionReasonEnum,
  SenderTypeEnum,
} from './enums.js';
import { localId, localIds } from './ids.js';
import { ContactNode } from './contact.js';
import { HandoffNode } from './handoff.js';
import { InboxNode } from './inbox.js';
import { LabelNode } from './label.js';
import { fieldKey, grouped, handoffsOfConversation, labelsOfConversation, perRequestLoader, rowById } from './loaders.js';
import { columnsFor } from './row-columns.js';
import { selectedFields } from './selection.js';
import { UserNode } from './user.js';
import { MessageNode } from './message.js';
import { TimelineEventNode } from './timeline.js';

export const MessageOrderEnum = builder.enumType('MessageOrder', {
  description: 'The order of a thread.',
  values: {
    OLDEST_FIRST: { value: 'asc', description: 'Chronological: the first message first.' },
    NEWEST_FIRST: { value: 'desc', description: 'Latest first, as a chat view loads backwards.' },
  } as const,
});

/**
 * A relation nested in the row by the list statement (services/conversation-rows.ts), null
 * included; when the row came another way, what `load` (its batch loader) fetches.
 */
function loaded<K extends ConversationRelation, T>(row: object, relation: K, load: () => T): NonNullable<ConversationRow[K]> | null | T {
  return relation in row ? ((row as ConversationRow)[relation] ?? null) : load();
}

/** A relation that always exists: its absence is a broken invariant (a masked INTERNAL error), not a null. */
function present<T>(value: T | null | undefined, relation: string, conversationId: string): T {
  if (value == null) throw new Error(`Conversation ${conversationId} has no ${relation}.`);
  return value;
}

export const ConversationNode = builder.prismaNode('Conversation', {
  description: 'A thread between a contact and the workspace, in one inbox.',
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the conversation.' },
  fields: (t) => ({
    number: t.exposeInt('number', { description: 'Display number in the workspace (#42).' }),
    inbox: t.field({
      type: InboxNode,
      description: 'The inbox (and so the channel) it arrived in.',
      // Every conversation has an inbox in its workspace, and inboxes are never deleted.
      resolve: async (c, _a, ctx) => present(await loaded(c, 'inbox', () => rowById(ctx, 'inbox').load(c.inboxId)), 'inbox', c.id),
    }),
    contact: t.field({
      type: ContactNode,
      nullable: true,
      description: 'The customer. Null, with a FORBIDDEN error, for a key without read:contacts.',
      resolve: (c, _a, ctx) => loaded(c, 'contact', () => rowById(ctx, 'contact').load(c.contactId)),
    }),
    subject: t.exposeString('subject', { nullable: true, description: 'Subject line, e.g. for email; null when it has none.' }),
    status: t.expose('status', { type: ConversationStatusEnum, description: 'Lifecycle status.' }),
    controller: t.expose('controller', { type: ControllerEnum, description: 'Who answers the contact: the AI or a human.' }),
    priority: t.expose('priority', { type: PriorityEnum, description: 'How urgent it is.' }),
    assignee: t.field({
      type: UserNode,
      nullable: true,
      description: 'The team member responsible; null while unassigned.',
      resolve: (c, _a, ctx) => loaded(c, 'assignee', () => (c.assigneeId ? rowById(ctx, 'user').load(c.assigneeId) : null)),
    }),
    labels: t.field({
      type: [LabelNode],
      description: 'Labels, by name; empty when it has none.',
      resolve: async (c, _a, ctx) => (await loaded(c, 'labels', () => labelsOfConversation(ctx).load(c.id))) ?? [],
    }),
    snoozedUntil: t.expose('snoozedUntil', { type: 'DateTime', nullable: true, description: 'When a SNOOZED conversation reopens by itself; null when it is not snoozed.' }),
    resolutionReason: t.expose('resolutionReason', { type: ResolutionReasonEnum, nullable: true, description: 'Why it was resolved; null while it is not (reopening clears the resolution; the timeline keeps it).' }),
    resolutionNote: t.string({
      nullable: true,
      description: 'Internal note left on resolving; null for CONNECTOR keys.',
      resolve: (c, _a, ctx) => (ctx.auth?.kind === 'TEAM' ? c.resolutionNote : null),
    }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', nullable: true, description: 'When it was resolved; null once it reopens.' }),
    resolvedBy: t.field({
      type: UserNode,
      nullable: true,
      description: 'Who resolved it; null while it is not resolved, or when no team member did (the AI, an integration, Parley).',
      resolve: (c, _a, ctx) => loaded(c, 'resolvedBy', () => (c.resolvedById ? rowById(ctx, 'user').load(c.resolvedById) : null)),
    }),
    satisfactionRequested: t.exposeBoolean('satisfactionRequested', { description: 'Whether a satisfaction survey was requested on resolving.' }),
    satisfactionRating: t.exposeInt('satisfactionRating', { nullable: true, description: "The contact's rating, 1 to 5; null until one is recorded." }),
    satisfactionComment: t.exposeString('satisfactionComment', { nullable: true, description: "The contact's comment with the rating; null when none was given." }),
    providerThreadId: t.exposeString('providerThreadId', { nullable: true, description: "The channel provider's thread id; null where the channel has none." }),
    customAttributes: t.expose('customAttributes', { type: 'JSONObject', description: 'Free-form attributes set by integrations.' }),
    messageCount: t.int({
      description: 'Messages in the thread, deleted ones not: internal notes included for TEAM keys, left out for CONNECTOR keys.',
      resolve: (c, _a, ctx) => (seesInternalNotes(ctx) ? c.messageCount : c.publicMessageCount),
    }),
    unreadCount: t.exposeInt('unreadCount', { description: 'Contact messages the team has not read.' }),
    lastMessageAt: t.expose('lastMessageAt', { type: 'DateTime', nullable: true, description: 'When the last public message was written; null while there is none.' }),
    lastMessagePreview: t.exposeString('lastMessagePreview', { nullable: true, description: 'The start of the last public message; null while there is none.' }),
    lastMessage: t.field({
      type: MessageNode,
      nullable: true,
      description: 'The last public (non-private) message; null while there is none.',
      resolve: (c, _a, ctx) => loaded(c, 'lastMessage', () => (c.lastMessageId ? rowById(ctx, 'message').load(c.lastMessageId) : null)),
    }),
    firstResponseAt: t.expose('firstResponseAt', { type: 'DateTime', nullable: true, description: 'When the AI or a human first answered; null until then.' }),
    firstHumanResponseAt: t.expose('firstHumanResponseAt', { type: 'DateTime', nullable: true, description: 'When a human first answered; null until one does.' }),
    waitingSince: t.expose('waitingSince', { type: 'DateTime', nullable: true, description: 'The oldest contact message not yet answered; null when nobody is waiting.' }),
    version: t.exposeInt('version', { description: 'Increases with every change to the conversation (not its messages); pass it as expectedVersion to update safely.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the conversation started.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the conversation last changed. Writing or deleting an internal note does not change it.' }),
    handoffs: t.field({
      type: [HandoffNode],
      description: 'Every handoff to a human, oldest first; empty when there was none.',
      resolve: async (c, _a, ctx) => (await loaded(c, 'handoffs', () => handoffsOfConversation(ctx).load(c.id))) ?? [],
    }),
  }),
});

// ---- reading conversations -------------------------------------------------------------

/** The caller as the read queries see it. The field's auth scopes guarantee a key. */
export function viewerOf(ctx: Context): Viewer {
  const auth = ctx.auth!;
  return { workspaceId: auth.workspaceId, userId: auth.userId, kind: auth.kind };
}

export const OrderDirectionEnum = builder.enumType('OrderDirection', {
  description: 'Which way an ordering runs.',
  values: {
    ASC: { description: 'Ascending: oldest, lowest or shortest first.' },
    DESC: { description: 'Descending: newest, highest or longest first.' },
  } as const,
});

export const ConversationOrderFieldEnum = builder.enumType('ConversationOrderField', {
  description: 'What conversations can be ordered by.',
  values: {
    LAST_MESSAGE_AT: {
      description:
        'Time of the last public message, or, for a conversation without one yet, the time it started: a new conversation takes its place among the others by its creation time.',
    },
    CREATED_AT: { description: 'When the conversation started.' },
    PRIORITY: { description: 'Priority (NONE < LOW < MEDIUM < HIGH < URGENT), then creation time in the same direction.' },
    WAITING_TIME: {
      description:
        'How long the contact has waited for an answer (since waitingSince): DESC puts the longest wait first. Conversations nobody is waiting on come last either way.',
    },
  } as const,
});

export const ConversationOrderInput = builder.inputType('ConversationOrder', {
  description: 'An ordering of conversations. Ties are broken by id, so pages never overlap.',
  fields: (t) => ({
    field: t.field({ type: ConversationOrderFieldEnum, required: true, description: 'What to order by.' }),
    direction: t.field({ type: OrderDirectionEnum, required: false, defaultValue: 'DESC', description: 'Which way; DESC by default.' }),
  }),
});

export const TimeRangeInput = builder.inputType('TimeRange', {
  description: 'A span of time: from (inclusive) to (exclusive); either end may be left open. `to` before `from` is refused.',
  fields: (t) => ({
    from: t.field({ type: 'DateTime', required: false, description: 'Start, inclusive.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'End, exclusive.' }),
  }),
});

export const AssigneeFilterInput = builder.inputType('AssigneeFilter', {
  description: 'Who a conversation is assigned to. Give exactly one field.',
  fields: (t) => ({
    users: t.idList({ required: false, description: 'Assigned to one of these team members (User ids, at most 100).' }),
    unassigned: t.boolean({ required: false, description: 'true: assigned to nobody; false: assigned to someone.' }),
    me: t.boolean({
      required: false,
      description: "true: assigned to the key's user; false: not assigned to them. Refused for a key that acts as no user.",
    }),
  }),
});

export const LabelFilterInput = builder.inputType('LabelFilter', {
  description: 'Labels a conversation carries (Label ids, at most 100 each). The fields combine.',
  fields: (t) => ({
    anyOf: t.idList({ required: false, description: 'Carries at least one of these labels.' }),
    allOf: t.idList({ required: false, description: 'Carries every one of these labels.' }),
    noneOf: t.idList({ required: false, description: 'Carries none of these labels.' }),
  }),
});

export const ConversationFilterInput = builder.inputType('ConversationFilter', {
  description: 'Narrows a list of conversations. Every field is optional and they all combine (AND).',
  fields: (t) => ({
    status: t.field({
      type: [ConversationStatusEnum],
      required: false,
      description: 'One of these statuses. Without it (and without allStatuses), every status but ARCHIVED.',
    }),
    allStatuses: t.boolean({ required: false, description: 'Every status, ARCHIVED included. Not together with status.' }),
    channels: t.field({ type: [ChannelEnum], required: false, description: 'Arrived over one of these channels.' }),
    inboxes: t.idList({ required: false, description: 'In one of these inboxes (Inbox ids, at most 100).' }),
    assignee: t.field({ type: AssigneeFilterInput, required: false, description: 'Assigned to a user, to nobody, or to me.' }),
    labels: t.field({ type: LabelFilterInput, required: false, description: 'Carries labels: any of, all of, none of.' }),
    priorities: t.field({ type: [PriorityEnum], required: false, description: 'One of these priorities.' }),
    contacts: t.idList({ required: false, description: 'With one of these contacts (Contact ids, at most 100).' }),
    controller: t.field({ type: ControllerEnum, required: false, description: 'Who is in control: the AI or a human.' }),
    createdAt: t.field({ type: TimeRangeInput, required: false, description: 'Started in this span.' }),
    lastMessageAt: t.field({ type: TimeRangeInput, required: false, description: 'Last public message written in this span.' }),
    unreadOnly: t.boolean({ required: false, description: 'true: only conversations with contact messages the team has not read.' }),
    waitingForReply: t.boolean({
      required: false,
      description: "true: the last public message is the contact's (they wait for a reply); false: it is not.",
    }),
    search: t.string({
      required: false,
      description:
        'Free text, matched against the subject, message text (whole words), contact name, email and phone, label names and custom-attribute values (substrings). Internal notes are searched for TEAM keys only. At most 200 characters; an empty or blank search is refused with BAD_USER_INPUT (omit the field to list without searching).',
    }),
  }),
});

type FilterArg = typeof ConversationFilterInput.$inferInput;

/** The filter argument with its global ids checked and decoded. */
export function parseConversationFilter(input: FilterArg | null | undefined): ConversationFilter {
  if (!input) return {};
  return {
    statuses: input.status ?? null,
    allStatuses: input.allStatuses ?? null,
    channels: input.channels ?? null,
    inboxIds: localIds(input.inboxes, 'Inbox', 'filter.inboxes'),
    assignee: input.assignee
      ? {
          userIds: localIds(input.assignee.users, 'User', 'filter.assignee.users'),
          unassigned: input.assignee.unassigned ?? null,
          me: input.assignee.me ?? null,
        }
      : null,
    labels: input.labels
      ? {
          anyOf: localIds(input.labels.anyOf, 'Label', 'filter.labels.anyOf'),
          allOf: localIds(input.labels.allOf, 'Label', 'filter.labels.allOf'),
          noneOf: localIds(input.labels.noneOf, 'Label', 'filter.labels.noneOf'),
        }
      : null,
    priorities: input.priorities ?? null,
    contactIds: localIds(input.contacts, 'Contact', 'filter.contacts'),
    controller: input.controller ?? null,
    createdAt: input.createdAt ?? null,
    lastMessageAt: input.lastMessageAt ?? null,
    unreadOnly: input.unreadOnly ?? null,
    waitingForReply: input.waitingForReply ?? null,
    search: input.search ?? null,
  };
}

/** The arguments of Query.conversations, as graphql-js coerces them. */
export interface ConversationListArgs extends PageArgs {
  filter?: FilterArg | null;
  orderBy?: { field: ConversationOrder['field']; direction?: ConversationOrder['direction'] | null } | null;
}

/**
 * What Query.conversations lists, its arguments checked (BAD_USER_INPUT otherwise): for its
 * resolver, and for the query planner, which builds the same page in one statement.
 */
export function conversationListQuery(viewer: Viewer, args: ConversationListArgs) {
  const order: ConversationOrder = {
    field: args.orderBy?.field ?? DEFAULT_ORDER.field,
    direction: args.orderBy?.direction ?? DEFAULT_ORDER.direction,
  };
  const selection = conversationSelection(viewer, parseConversationFilter(args.filter));
  const request = conversationPageRequest(viewer, order, args);
  return { order, selection, request };
}

const RELATION_MODEL: Record<ConversationRelation, RowModel> = {
  contact: 'Contact',
  inbox: 'Inbox',
  assignee: 'User',
  resolvedBy: 'User',
  lastMessage: 'Message',
  labels: 'Label',
  handoffs: 'Handoff',
};

/**
 * What the list statement loads for the conversations a query selects at `path` below the
 * field: the columns its fields read (and `alsoColumns`, e.g. what a cursor is made of), and
 * each selected relation with the columns of its own.
 */
export function conversationRowsPlan(info: GraphQLResolveInfo, path: string[], alsoColumns: string[] = []): ConversationRowsPlan {
  const fields = new Set([...selectedFields(info, path), ...alsoColumns]);
  const relations = new Map<ConversationRelation, ReadonlySet<string>>();
  for (const r of CONVERSATION_RELATIONS) if (fields.has(r)) relations.set(r, columnsFor(RELATION_MODEL[r], selectedFields(info, [...path, r])));
  return { columns: columnsFor('Conversation', fields), relations };
}

/** A connection whose page is loaded only if edges or pageInfo are asked for, and counted only if totalCount is. */
function lazyConnection<Node>(
  loadPage: () => Promise<{ edges: { cursor: string; node: Node }[]; pageInfo: unknown }>,
  count: () => Promise<number>,
) {
  let page: ReturnType<typeof loadPage> | undefined;
  const load = () => (page ??= loadPage());
  return {
    get edges() {
      return load().then((p) => p.edges);
    },
    get pageInfo() {
      return load().then((p) => p.pageInfo);
    },
    totalCount: count,
  };
}

builder.queryField('conversations', (t) =>
  t.connection(
    {
      type: ConversationNode,
      description:
        'Conversations of the workspace, filtered and ordered; by default every status but ARCHIVED, the latest message first. Page forward with first/after (or first/offset for page-number screens: slower on deep pages) and backward with last/before; at most 100 per page.' + READ_NULL,
      nullable: true,
      authScopes: { scope: 'READ_CONVERSATIONS' },
      args: {
        filter: t.arg({ type: ConversationFilterInput, required: false, description: 'What to list; see ConversationFilter.' }),
        orderBy: t.arg({ type: ConversationOrderInput, required: false, description: 'Ordering; LAST_MESSAGE_AT DESC by default.' }),
        offset: t.arg.int({
          required: false,
          description:
            'Skip this many conversations, instead of `after`, for page-number screens (with `first` only). Slower than cursors on deep pages: the database walks every skipped row. At most 100000.',
        }),
      },
      resolve: (_root, args, ctx, info) => {
        const viewer = viewerOf(ctx);
        const { order, selection, request } = conversationListQuery(viewer, args);
        const plan = conversationRowsPlan(info, ['edges', 'node']);
        return lazyConnection(
          async () => {
            // One statement: the page's ids and cursors, and its rows with what the query selects.
            const page = await findConversationPage(ctx.db, viewer, selection, order, request, conversationJson(viewer.workspaceId, plan));
            const edges = page.items.flatMap((i) => (i.row ? [{ cursor: i.cursor, node: i.row }] : []));
            return { edges, pageInfo: page.pageInfo };
          },
          () => countConversations(ctx.db, selection),
        ) as never;
      },
    },
    {
      name: 'ConversationConnection',
      description: 'A page of conversations.',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many conversations match the filter, all pages together. Computed only when asked for.',
          resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
        }),
      }),
    },
    { name: 'ConversationEdge', description: 'A conversation in a page, with its cursor.' },
  ),
);

builder.queryField('conversation', (t) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    description:
      'A conversation by its global id; null when there is none in your workspace, and (with an error) without read:conversations or for a malformed id.',
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: { id: t.arg.id({ required: true, description: 'Global id of the conversation.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.db.conversation.findUnique({ ...query, where: { id: localId(args.id, 'Conversation', 'id') } }),
  }),
);

builder.queryField('conversationByNumber', (t) =>
  t.prismaField({
    type: 'Conversation',
    nullable: true,
    description:
      'A conversation by its display number (#42); null when the workspace has no such number, and (with an error) without read:conversations or for a number below 1.',
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: { number: t.arg.int({ required: true, description: 'The display number.' }) },
    resolve: (query, _root, args, ctx) => {
      if (args.number < 1) throw badInput('number must be 1 or more.', { argument: 'number' });
      return ctx.db.conversation.findFirst({ ...query, where: { number: args.number } });
    },
  }),
);

// A conversation's messages and timeline are loaded per request by DataLoaders: the
// threads (or timelines) of every conversation on a page come from two statements, a
// LATERAL page per conversation and then the rows, whatever the page size or thread length.
// (A Prisma relation include would load every message of every thread and slice them.)
builder.prismaObjectField('Conversation', 'messages', (t) =>
  t.connection(
    {
      type: MessageNode,
      description:
        'The thread, oldest first by default. Internal notes are included for TEAM keys unless includePrivate is false; CONNECTOR keys never see them. Deleted messages stay as tombstones. At most 100 per page.'
        + ' Null only with an error on this field, e.g. BAD_USER_INPUT for a page size over 100 or a bad cursor.',
      nullable: true,
      args: {
        order: t.arg({ type: MessageOrderEnum, defaultValue: 'asc', description: 'Oldest or newest first.' }),
        includePrivate: t.arg.boolean({ defaultValue: true, description: 'Include internal notes (TEAM keys only).' }),
        senderTypes: t.arg({ type: [SenderTypeEnum], required: false, description: 'Only messages from these senders.' }),
      },
      resolve: async (conversation, args, ctx, info) => {
        const viewer = viewerOf(ctx);
        const order = args.order ?? 'asc';
        const request = messagePageRequest(viewer, order, args);
        const options = { order, includePrivate: args.includePrivate ?? true, senderTypes: args.senderTypes ?? null };
        const key = `messages:${fieldKey(info)}:${JSON.stringify([options, args.first, args.last, args.after, args.before])}`;
        // Planned for every row (which records where the nested selections will be found for
        // this row's messages); the batch runs the first row's plan, the same for all of them.
        const query = queryFromInfo({ context: ctx, info, path: ['edges', 'node'] });
        const loader = perRequestLoader<Message>(ctx, key, async (ids) => {
          const pages = await findMessagePageIds(ctx.db, viewer, ids, options, request);
          const all = [...pages.values()].flat();
          const rows = all.length ? await ctx.db.message.findMany({ ...query, where: { id: { in: all } } }) : [];
          return grouped(ids, pages, rows);
        });
        const rows = await loader.load(conversation.id);
        const { rows: page, pageInfo } = pageInfoOf(request, rows, (m) => messageCursor(viewer, order, m));
        return { edges: page.map((node) => ({ cursor: messageCursor(viewer, order, node), node })), pageInfo };
      },
    },
    { name: 'ConversationMessagesConnection', description: 'A page of a thread.' },
    { name: 'ConversationMessagesEdge', description: 'A message and its cursor.' },
  ),
);

builder.prismaObjectField('Conversation', 'timeline', (t) =>
  t.connection(
    {
      type: TimelineEventNode,
      description:
        "What happened to the conversation, in commit order (oldest first): a connection over its timeline events. Events about internal notes are left out for CONNECTOR keys. Cursors are the workspace timeline's, so they work on any conversation."
        + ' Null only with an error on this field, e.g. BAD_USER_INPUT for a page size over 100 or a bad cursor.',
      nullable: true,
      resolve: async (conversation, args, ctx) => {
        const viewer = viewerOf(ctx);
        const request = timelinePageRequest(viewer, args);
        const key = `timeline:${JSON.stringify([args.first, args.last, args.after, args.before])}`;
        const loader = perRequestLoader<Event>(ctx, key, async (ids) => {
          const pages = await findTimelinePageIds(ctx.db, viewer, ids, request);
          const all = [...pages.values()].flat();
          const rows = all.length ? await ctx.db.event.findMany({ where: { id: { in: all } } }) : [];
          return grouped(ids, pages, rows);
        });
        const rows = await loader.load(conversation.id);
        const { rows: page, pageInfo } = pageInfoOf(request, rows, (e) => timelineCursor(viewer, e));
        return { edges: page.map((node) => ({ cursor: timelineCursor(viewer, node), node })), pageInfo };
      },
    },
    { name: 'ConversationTimelineConnection', description: "A page of a conversation's timeline." },
    { name: 'ConversationTimelineEdge', description: 'A timeline event and its cursor.' },
  ),
);
