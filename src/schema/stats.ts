// conversationStats: the figures of a dashboard's header, computed in the database.
import { builder } from '../builder.js';
import { READ_NULL } from './nullability.js';
import { conversationSelection, type ConversationSelection } from '../services/conversation-query.js';
import { csatStats } from '../services/survey-stats.js';
import { CsatStatsRef } from './survey.js';
import { conversationStats, type ConversationStats, type DurationFigures } from '../services/stats.js';
import { ConversationFilterInput, parseConversationFilter, TimeRangeInput, viewerOf } from './conversation.js';
import { ChannelEnum, ConversationStatusEnum, ControllerEnum, PriorityEnum } from './enums.js';

const StatusCount = builder.objectRef<ConversationStats['byStatus'][number]>('StatusCount').implement({
  description: 'How many conversations are in one status.',
  fields: (t) => ({
    status: t.expose('status', { type: ConversationStatusEnum, description: 'The status.' }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

const ChannelCount = builder.objectRef<ConversationStats['byChannel'][number]>('ChannelCount').implement({
  description: 'How many conversations arrived over one channel.',
  fields: (t) => ({
    channel: t.expose('channel', { type: ChannelEnum, description: 'The channel.' }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

const PriorityCount = builder.objectRef<ConversationStats['byPriority'][number]>('PriorityCount').implement({
  description: 'How many conversations have one priority.',
  fields: (t) => ({
    priority: t.expose('priority', { type: PriorityEnum, description: 'The priority.' }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

const ControllerCount = builder.objectRef<ConversationStats['byController'][number]>('ControllerCount').implement({
  description: 'How many conversations one side (AI or human) is in control of.',
  fields: (t) => ({
    controller: t.expose('controller', { type: ControllerEnum, description: 'Who is in control.' }),
    count: t.exposeInt('count', { description: 'How many.' }),
  }),
});

const Durations = builder.objectRef<DurationFigures>('DurationStats').implement({
  description: 'A duration measured over several conversations, in seconds.',
  fields: (t) => ({
    count: t.exposeInt('count', { description: 'How many conversations it is measured over.' }),
    averageSeconds: t.exposeFloat('averageSeconds', { nullable: true, description: 'The mean; null when count is 0.' }),
    medianSeconds: t.exposeFloat('medianSeconds', { nullable: true, description: 'The median; null when count is 0.' }),
  }),
});

const Satisfaction = builder.objectRef<ConversationStats['satisfaction']>('SatisfactionStats').implement({
  description: 'Satisfaction surveys (CSAT) of the conversations resolved in the range.',
  fields: (t) => ({
    requested: t.exposeInt('requested', { description: 'Conversations resolved in the range with a survey requested.' }),
    rated: t.exposeInt('rated', { description: 'Of those, how many the contact rated.' }),
    averageRating: t.exposeFloat('averageRating', { nullable: true, description: 'Average rating, 1 to 5; null when none was given.' }),
    responseRate: t.exposeFloat('responseRate', { nullable: true, description: 'rated / requested, 0 to 1; null when none was requested.' }),
  }),
});

const StatsRange = builder.objectRef<ConversationStats['range']>('StatsRange').implement({
  description: 'The span the time-based figures cover; an open end is null.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime', nullable: true, description: 'Start, inclusive; null when the range has no start.' }),
    to: t.expose('to', { type: 'DateTime', nullable: true, description: 'End, exclusive; null when the range has no end.' }),
  }),
});

/** The figures, and what they were computed over (the CSAT figures are computed when asked for). */
type StatsResult = ConversationStats & { selection: ConversationSelection; workspaceId: string };

const ConversationStatsRef = builder.objectRef<StatsResult>('ConversationStats').implement({
  description:
    'Figures over the conversations a filter matches. Counts describe their current state, whatever the range; time-based figures (first response, resolution, satisfaction) cover what happened in the range.',
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Conversations matching the filter.' }),
    open: t.exposeInt('open', { description: 'Of those, how many are OPEN.' }),
    unassigned: t.exposeInt('unassigned', { description: 'OPEN conversations assigned to nobody.' }),
    byStatus: t.field({ type: [StatusCount], description: 'Counts per status, every status listed (0 included).', resolve: (s) => s.byStatus }),
    byChannel: t.field({ type: [ChannelCount], description: 'Counts per channel, every channel listed.', resolve: (s) => s.byChannel }),
    byPriority: t.field({ type: [PriorityCount], description: 'Counts per priority, every priority listed.', resolve: (s) => s.byPriority }),
    byController: t.field({ type: [ControllerCount], description: 'Counts per controller (AI or human).', resolve: (s) => s.byController }),
    oldestUnansweredSince: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Since when the contact of the OPEN conversation that has waited longest has been waiting; null when nobody waits.',
      resolve: (s) => s.oldestUnanswered?.waitingSince ?? null,
    }),
    oldestUnanswered: t.prismaField({
      type: 'Conversation',
      nullable: true,
      description: 'The OPEN conversation whose contact has waited longest for an answer; null when nobody waits.',
      resolve: (query, s, _args, ctx) => {
        // Spread even when there is nothing to load: Pothos reports a query that is never read.
        const planned = { ...query };
        return s.oldestUnanswered ? ctx.db.conversation.findUnique({ ...planned, where: { id: s.oldestUnanswered.id } }) : null;
      },
    }),
    firstResponseAi: t.field({
      type: Durations,
      description:
        'Time from creation to the first answer, for conversations created in the range that the AI answered first.',
      resolve: (s) => s.firstResponseAi,
    }),
    firstResponseHuman: t.field({
      type: Durations,
      description: 'Time from creation to the first answer by a human, for conversations created in the range that a human answered.',
      resolve: (s) => s.firstResponseHuman,
    }),
    resolution: t.field({
      type: Durations,
      description:
        'Time from creation to (last) resolution, for conversations resolved in the range and not reopened since; its count is how many were resolved.',
      resolve: (s) => s.resolution,
    }),
    resolvedInRange: t.int({
      description: 'Conversations resolved in the range and not reopened since (resolution.count).',
      resolve: (s) => s.resolution.count,
    }),
    satisfaction: t.field({
      type: Satisfaction,
      description: 'The satisfaction rating on the conversations resolved in the range (recordSatisfaction, or the answer to their latest survey); see csat for the surveys themselves.',
      resolve: (s) => s.satisfaction,
    }),
    range: t.field({ type: StatsRange, description: 'The range the time-based figures cover.', resolve: (s) => s.range }),
    csat: t.field({
      type: CsatStatsRef,
      description:
        'Satisfaction surveys (CSAT) sent in the range for these conversations: average, share of 4-5 ratings, response rate, per agent and per resolver (the AI alone or with a human). Computed in a statement of its own, only when asked for.',
      resolve: (s, _a, ctx) => csatStats(ctx.db, s.workspaceId, s.selection, { from: s.range.from ?? undefined, to: s.range.to ?? undefined }),
    }),
  }),
});

builder.queryField('conversationStats', (t) =>
  t.field({
    type: ConversationStatsRef,
    description:
      'Dashboard figures over the conversations the filter matches (same filter and defaults as `conversations`: every status but ARCHIVED unless asked), computed in the database in one statement.' + READ_NULL,
    nullable: true,
    authScopes: { scope: 'READ_CONVERSATIONS' },
    args: {
      filter: t.arg({ type: ConversationFilterInput, required: false, description: 'Which conversations; see ConversationFilter.' }),
      range: t.arg({ type: TimeRangeInput, required: false, description: 'The span of the time-based figures; all time when omitted.' }),
    },
    resolve: async (_root, args, ctx) => {
      const viewer = viewerOf(ctx);
      const selection = conversationSelection(viewer, parseConversationFilter(args.filter));
      return { ...(await conversationStats(ctx.db, selection, args.range ?? {})), selection, workspaceId: viewer.workspaceId };
    },
  }),
);
