// Satisfaction surveys (CSAT): one per resolution, sent to the contact as a CARD message with
// the ratings as actions and a link to the public survey page (src/http/survey-page.ts); the
// contact's answer (through the page, or a CONNECTOR key) is recorded until the survey expires.
//
// The token in the link is the only way in: 32 random bytes, stored as a SHA-256 hash and
// looked up by it. Anyone who holds the link may answer; nobody can find a survey without it.
import { createHash, randomBytes } from 'node:crypto';
import type { Conversation, PrismaClient, Survey } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { hasLoneSurrogate } from '../security/input.js';
import { NotFoundError, SurveyExpiredError, ValidationError } from '../errors.js';
import { lockConversation } from './conversation-store.js';
import { addMessage, validateMessage } from './messages.js';
import { inTransaction, type EventLog, type ServiceContext } from './timeline.js';
import { optionalText } from './validation.js';

/** How survey links are made; from PUBLIC_URL and SURVEY_TTL_DAYS (src/config.ts). */
export interface SurveySettings {
  /** Where browsers reach the server, without a trailing slash; null until it is known. */
  publicUrl: string | null;
  /** How long a survey may be answered after it is sent. */
  ttlMs: number;
}

export const DEFAULT_SURVEY_SETTINGS: SurveySettings = { publicUrl: null, ttlMs: 14 * 86_400_000 };
/** The address of a server started with the defaults, for a context that knows no other. */
const FALLBACK_PUBLIC_URL = 'http://127.0.0.1:4000';

export const SURVEY_PATH_PREFIX = '/survey/';
export const COMMENT_MAX = 2000;
export const RATING_LABELS = ['Very unhappy', 'Unhappy', 'Neutral', 'Happy', 'Very happy'] as const;

const TOKEN_FORM = /^[A-Za-z0-9_-]{43}$/;

export const hashSurveyToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function surveyLink(settings: SurveySettings, token: string): string {
  return `${settings.publicUrl ?? FALLBACK_PUBLIC_URL}${SURVEY_PATH_PREFIX}${token}`;
}

/**
 * Checks a rating and a comment before any transaction. The survey page reaches this without
 * the GraphQL input checks (src/security/plugins.ts), so the comment's text is checked here
 * too: PostgreSQL text cannot hold U+0000 nor a lone surrogate.
 */
export function checkAnswer(rating: number, comment: string | null | undefined, prefix = 'input'): { rating: number; comment: string | null } {
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) throw new ValidationError('The rating is a whole number from 1 to 5.', `${prefix}.rating`);
  if (comment?.includes('\u0000')) throw new ValidationError('The comment may not contain the NUL character (U+0000).', `${prefix}.comment`);
  if (comment && hasLoneSurrogate(comment)) throw new ValidationError('The comment may not contain a lone UTF-16 surrogate.', `${prefix}.comment`);
  return { rating, comment: optionalText(comment, `${prefix}.comment`, COMMENT_MAX) ?? null };
}

/** The survey card: the five ratings (each a postback and a link to the page with it chosen), then the page itself. */
function surveyMessage(link: string) {
  return validateMessage({
    senderType: 'SYSTEM',
    contentType: 'CARD',
    content: `How would you rate our help? Answer from 1 (very unhappy) to 5 (very happy): ${link}`,
    card: {
      title: 'How would you rate our help?',
      description: 'Choose from 1 (very unhappy) to 5 (very happy). On the survey page you can add a comment.',
      actions: [
        ...RATING_LABELS.map((label, i) => ({ label: `${i + 1} - ${label}`, url: `${link}?rating=${i + 1}`, action: `survey_rating:${i + 1}` })),
        { label: 'Open the survey', url: link },
      ],
    },
  });
}

/**
 * Sends the survey of the locked conversation's current resolution, in the caller's
 * transaction: its card message, and the survey row with the assignee and whether the AI
 * resolved alone (no handoff, no human reply, not resolved by a person) as they are now. A resolution that has its survey already gets no second one.
 */
export async function requestSurvey(
  tx: ScopedTx,
  events: EventLog,
  sctx: ServiceContext,
  conversation: Conversation,
): Promise<{ conversation: Conversation; surveyId: string; sent: boolean }> {
  if (conversation.status !== 'RESOLVED' || !conversation.resolvedAt) {
    throw new ValidationError('A survey asks about a resolution: the conversation must be RESOLVED.', 'conversationId');
  }
  const existing = await tx.survey.findUnique({ where: { conversationId_resolvedAt: { conversationId: conversation.id, resolvedAt: conversation.resolvedAt } }, select: { id: true } });
  if (existing) return { conversation, surveyId: existing.id, sent: false };
  const handoffs = await tx.handoff.count({ where: { conversationId: conversation.id } });
  const settings = sctx.surveys ?? DEFAULT_SURVEY_SETTINGS;
  const token = randomBytes(32).toString('base64url');
  const sent = await addMessage(tx, events, sctx, conversation, surveyMessage(surveyLink(settings, token)), {});
  const sentAt = sent.message.createdAt;
  const survey = await tx.survey.create({
    data: {
      workspaceId: sctx.workspaceId,
      conversationId: conversation.id,
      contactId: conversation.contactId,
      tokenHash: hashSurveyToken(token),
      resolvedAt: conversation.resolvedAt,
      assigneeId: conversation.assigneeId,
      // The AI alone: no handoff, no human reply, and no person resolving (resolvedById is set
      // only when a user's key resolves; the AI's connector, a rule, a key of no user leave it null).
      aiResolvedAlone: handoffs === 0 && conversation.firstHumanResponseAt === null && conversation.resolvedById === null,
      messageId: sent.message.id,
      sentAt,
      expiresAt: new Date(sentAt.getTime() + settings.ttlMs),
    },
    select: { id: true },
  });
  return { conversation: sent.conversation, surveyId: survey.id, sent: true };
}

/** A survey as the public page shows it, found by its token in any workspace. */
export interface SurveyByToken {
  survey: Survey;
  workspaceName: string;
  conversationNumber: number;
}

/**
 * The survey a token opens, whatever its workspace (the page has no key: the token is the
 * authority); null for a malformed or unknown token.
 */
export async function findSurveyByToken(prisma: PrismaClient, token: string): Promise<SurveyByToken | null> {
  if (!TOKEN_FORM.test(token)) return null;
  const survey = await prisma.survey.findUnique({
    where: { tokenHash: hashSurveyToken(token) },
    include: { workspace: { select: { name: true } }, conversation: { select: { number: true } } },
  });
  if (!survey) return null;
  const { workspace, conversation, ...row } = survey;
  return { survey: row, workspaceName: workspace.name, conversationNumber: conversation.number };
}

export const isExpired = (survey: Pick<Survey, 'expiresAt'>, now = new Date()) => now.getTime() >= survey.expiresAt.getTime();

/**
 * Records the contact's answer: the rating and comment replace an earlier answer until the
 * survey expires. Records SURVEY_ANSWERED (actor: the contact, through the caller's key if
 * any); the answer of the conversation's latest survey is also its satisfaction rating.
 */
export async function answerSurvey(sctx: ServiceContext, input: { token: string; rating: number; comment?: string | null }): Promise<Survey> {
  const answer = checkAnswer(input.rating, input.comment);
  const tokenHash = TOKEN_FORM.test(input.token) ? hashSurveyToken(input.token) : null;
  return inTransaction(sctx, async (tx, events) => {
    const found = tokenHash ? await tx.survey.findUnique({ where: { tokenHash }, select: { conversationId: true } }) : null;
    if (!found) throw new NotFoundError('Survey', 'for this token');
    // Answers to one conversation's surveys take turns: the conversation's lock orders them.
    const conversation = await lockConversation(tx, sctx.workspaceId, found.conversationId);
    const survey = await tx.survey.findUniqueOrThrow({ where: { tokenHash: tokenHash! } });
    if (isExpired(survey)) throw new SurveyExpiredError(survey.id, survey.expiresAt);
    const now = new Date();
    const updated = await tx.survey.update({ where: { id: survey.id }, data: { rating: answer.rating, comment: answer.comment, answeredAt: now } });
    const later = await tx.survey.count({ where: { conversationId: conversation.id, sentAt: { gt: survey.sentAt } } });
    if (!later) {
      await tx.conversation.update({
        where: { id: conversation.id },
        data: { satisfactionRating: answer.rating, satisfactionComment: answer.comment, satisfactionRecordedAt: now, version: { increment: 1 } },
      });
    }
    events.record({
      type: 'SURVEY_ANSWERED',
      conversationId: conversation.id,
      actor: { type: 'CONTACT', contactId: survey.contactId, apiKeyId: sctx.actor.apiKeyId ?? null },
      before: { surveyId: survey.id, rating: survey.rating, comment: survey.comment },
      after: { surveyId: survey.id, rating: answer.rating, comment: answer.comment },
    });
    return updated;
  });
}
