// Satisfaction surveys: the Survey node, Conversation.surveys, answerSurvey (a CONNECTOR key
// answering for the contact; the public page is src/http/survey-page.ts) and the CSAT figures
// of conversationStats (src/schema/stats.ts). Sending one is resolveConversation's
// requestSatisfaction, or the REQUEST_SURVEY automation action.
import { builder } from '../builder.js';
import { serviceContext } from '../context.js';
import type { Survey } from '../generated/prisma/client.js';
import { NotFoundError, SurveyExpiredError, ValidationError } from '../errors.js';
import { answerSurvey, COMMENT_MAX, isExpired } from '../services/surveys.js';
import type { CsatFigures, CsatStats } from '../services/survey-stats.js';
import { ConversationNode } from './conversation.js';
import { perRequestLoader } from './loaders.js';
import { mutationErrors, noRow } from './mutations.js';
import { MUTATION_NULL } from './nullability.js';

const SurveyStatusEnum = builder.enumType('SurveyStatus', {
  description: 'Where a satisfaction survey stands.',
  values: {
    SENT: { description: 'Sent, not answered yet, still open.' },
    ANSWERED: { description: 'The contact answered (the answer may still change until the survey expires).' },
    EXPIRED: { description: 'Expired without an answer.' },
  } as const,
});

export const SurveyNode = builder.prismaNode('Survey', {
  description:
    'A satisfaction survey (CSAT) sent to the contact when a conversation was resolved: one per resolution. It keeps the assignee and whether the AI resolved alone as they were then, so reopening the conversation does not change whom its rating counts for.',
  authScopes: { scope: 'READ_CONVERSATIONS' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the survey.' },
  fields: (t) => ({
    conversation: t.relation('conversation', { description: 'The conversation it asks about.' }),
    status: t.field({
      type: SurveyStatusEnum,
      description: 'SENT, ANSWERED or EXPIRED.',
      select: { rating: true, expiresAt: true },
      resolve: (s) => (s.rating != null ? 'ANSWERED' : isExpired(s) ? 'EXPIRED' : 'SENT'),
    }),
    rating: t.exposeInt('rating', { nullable: true, description: "The contact's rating, 1 (very unhappy) to 5 (very happy); null until answered." }),
    comment: t.exposeString('comment', { nullable: true, description: "The contact's comment; null when none was given." }),
    answeredAt: t.expose('answeredAt', { type: 'DateTime', nullable: true, description: 'When the (latest) answer was given; null until answered.' }),
    sentAt: t.expose('sentAt', { type: 'DateTime', description: 'When the survey was sent.' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', description: 'Until when it can be answered, or its answer changed (SURVEY_TTL_DAYS after it was sent).' }),
    resolvedAt: t.expose('resolvedAt', { type: 'DateTime', description: 'The resolution it asks about.' }),
    assignee: t.relation('assignee', {
      nullable: true,
      description: 'Who was assigned when the conversation was resolved: the rating counts for them. Null when nobody was (or the user was deleted).',
    }),
    aiResolvedAlone: t.exposeBoolean('aiResolvedAlone', {
      description: "True when the AI resolved the conversation alone: no handoff, no reply from a human before the resolution, and not resolved by a person (a key of a user; the AI's CONNECTOR key, a key of no user and an automation rule are not persons).",
    }),
    message: t.relation('message', { nullable: true, description: 'The CARD message that carried the survey; null once that message was erased.' }),
  }),
});

function surveysOfConversation(ctx: Parameters<typeof perRequestLoader>[0]) {
  return perRequestLoader<Survey>(ctx, 'surveysOf:conversation', async (ids) => {
    const rows = await ctx.db.survey.findMany({ where: { conversationId: { in: [...ids] } }, orderBy: [{ sentAt: 'desc' }, { id: 'desc' }] });
    return ids.map((id) => rows.filter((r) => r.conversationId === id));
  });
}

builder.objectField(ConversationNode, 'surveys', (t) =>
  t.field({
    type: [SurveyNode],
    description: 'The satisfaction surveys sent to the contact, one per resolution that asked for one, latest first; empty when none was.',
    resolve: (c, _a, ctx) => surveysOfConversation(ctx).load(c.id),
  }),
);

// answerSurvey

const AnswerSurveyInput = builder.inputType('AnswerSurveyInput', {
  description: "The contact's answer to a satisfaction survey.",
  fields: (t) => ({
    token: t.string({ required: true, description: "The survey's token: the last path segment of the survey link (/survey/<token>) in the survey message's card." }),
    rating: t.int({ required: true, description: 'From 1 (very unhappy) to 5 (very happy).' }),
    comment: t.string({ description: `The contact's comment, up to ${COMMENT_MAX} characters; absent or blank for none.` }),
  }),
});

const AnswerSurveyPayload = builder.objectRef<{ surveyId: string }>('AnswerSurveyPayload').implement({
  description: 'The answered survey.',
  fields: (t) => ({
    survey: t.prismaField({
      type: 'Survey',
      nullable: true,
      description: 'The survey with its answer. Null, with a FORBIDDEN error, for a key without read:conversations.',
      resolve: (query, r, _args, ctx) => ctx.db.survey.findUniqueOrThrow({ ...query, where: { id: r.surveyId } }),
    }),
  }),
});

builder.mutationField('answerSurvey', (t) =>
  t.field({
    type: AnswerSurveyPayload,
    description:
      "Records the contact's answer to a satisfaction survey, for a chat widget or channel connector: a later answer replaces the first until the survey expires. Records a SURVEY_ANSWERED timeline event (actor: the contact). Needs a CONNECTOR key with write:conversations. A token of another workspace is a NotFoundError; an expired survey a SurveyExpiredError; nothing changes either way." +
      MUTATION_NULL,
    nullable: true,
    authScopes: { $all: { scope: 'WRITE_CONVERSATIONS', connectorKey: true } },
    args: { input: t.arg({ type: AnswerSurveyInput, required: true, description: 'The answer.' }) },
    errors: mutationErrors('answerSurvey', [NotFoundError, ValidationError, SurveyExpiredError]),
    resolve: async (_root, { input }, ctx) => ({ surveyId: (await answerSurvey(serviceContext(ctx), input)).id }),
  }),
);

// The CSAT figures of conversationStats

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The figures every CSAT group has. */
function figureFields<T extends CsatFigures>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, T>) {
  return {
    sent: t.int({ description: 'Surveys sent.', resolve: (s) => s.sent }),
    answered: t.int({ description: 'Of those, how many the contact answered.', resolve: (s) => s.answered }),
    averageRating: t.float({ nullable: true, description: 'The average rating, 1 to 5; null when none was answered.', resolve: (s) => s.averageRating }),
    satisfiedShare: t.float({
      nullable: true,
      description: 'The share of answers rated 4 or 5 (the CSAT score), 0 to 1; null when none was answered.',
      resolve: (s) => s.satisfiedShare,
    }),
    responseRate: t.float({ nullable: true, description: 'answered / sent, 0 to 1; null when none was sent.', resolve: (s) => s.responseRate }),
  };
}

const SurveyResolverEnum = builder.enumType('SurveyResolver', {
  description: 'Who resolved a surveyed conversation.',
  values: {
    AI_ALONE: { description: 'The AI alone: no handoff, no reply from a human, not resolved by a person (a key of a user).' },
    WITH_HUMAN: { description: 'A human took part: after a handoff, a human replied, or a person resolved it.' },
  } as const,
});

const CsatRatingCount = builder.objectRef<CsatStats['ratings'][number]>('CsatRatingCount').implement({
  description: 'How many answers gave one rating.',
  fields: (t) => ({
    rating: t.exposeInt('rating', { description: 'The rating, 1 to 5.' }),
    count: t.exposeInt('count', { description: 'How many answers gave it.' }),
  }),
});

const CsatAgentStats = builder.objectRef<CsatStats['byAgent'][number]>('CsatAgentStats').implement({
  description: 'The surveys of the conversations one team member was assigned when they were resolved.',
  fields: (t) => ({
    agent: t.prismaField({
      type: 'User',
      nullable: true,
      description: 'The assignee at resolution; null for the conversations resolved while assigned to nobody (or to a user deleted since).',
      resolve: (query, r, _a, ctx) => (r.agentId ? ctx.db.user.findUnique({ ...query, where: { id: r.agentId } }) : noRow(query)),
    }),
    ...figureFields(t),
  }),
});

const CsatResolverStats = builder.objectRef<CsatStats['byResolver'][number]>('CsatResolverStats').implement({
  description: 'The surveys of the conversations one kind of resolver resolved.',
  fields: (t) => ({
    resolver: t.expose('resolver', { type: SurveyResolverEnum, description: 'Who resolved them.' }),
    ...figureFields(t),
  }),
});

export const CsatStatsRef = builder.objectRef<CsatStats>('CsatStats').implement({
  description:
    'Satisfaction surveys sent in the range for the conversations the filter matches. Each survey counts for the assignee and the resolver it recorded when it was sent, whatever happened to its conversation since.',
  fields: (t) => ({
    ...figureFields(t),
    ratings: t.field({ type: [CsatRatingCount], description: 'How many answers gave each rating, 1 to 5 (0 included).', resolve: (s) => s.ratings }),
    byAgent: t.field({
      type: [CsatAgentStats],
      description: 'Per assignee at resolution, most surveys first; one entry (agent null) for the conversations resolved unassigned.',
      resolve: (s) => s.byAgent,
    }),
    byResolver: t.field({
      type: [CsatResolverStats],
      description: 'The AI alone vs with a human (after a handoff, a human replied, or a person resolved it): both listed, 0 included.',
      resolve: (s) => s.byResolver,
    }),
  }),
});
