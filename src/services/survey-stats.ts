// CSAT figures: the satisfaction surveys sent in a range for the conversations a filter
// matches, in one statement (grouping sets: all, per agent, per who resolved). Each survey
// counts for the assignee and the resolver it recorded when it was sent, whatever happened
// to the conversation since.
import { Prisma } from '../generated/prisma/client.js';
import type { ScopedDb } from '../db/tenant.js';
import type { ConversationSelection, TimeRange } from './conversation-query.js';

export interface CsatFigures {
  sent: number;
  answered: number;
  averageRating: number | null;
  /** Answers rated 4 or 5, over answers. */
  satisfiedShare: number | null;
  /** answered / sent. */
  responseRate: number | null;
}

export type SurveyResolver = 'AI_ALONE' | 'WITH_HUMAN';

export interface CsatStats extends CsatFigures {
  ratings: { rating: number; count: number }[];
  byAgent: (CsatFigures & { agentId: string | null })[];
  byResolver: (CsatFigures & { resolver: SurveyResolver })[];
}

interface Row {
  g_agent: number;
  g_ai: number;
  agent_id: string | null;
  ai_alone: boolean | null;
  sent: number;
  answered: number;
  avg: number | null;
  satisfied: number;
  r1: number;
  r2: number;
  r3: number;
  r4: number;
  r5: number;
}

function figures(r: Row | undefined): CsatFigures {
  if (!r) return { sent: 0, answered: 0, averageRating: null, satisfiedShare: null, responseRate: null };
  return {
    sent: r.sent,
    answered: r.answered,
    averageRating: r.avg == null ? null : Number(r.avg),
    satisfiedShare: r.answered ? r.satisfied / r.answered : null,
    responseRate: r.sent ? r.answered / r.sent : null,
  };
}

/** The surveys sent in `range` for the conversations of `selection` (workspace included). */
export async function csatStats(db: ScopedDb, workspaceId: string, selection: ConversationSelection, range: TimeRange = {}): Promise<CsatStats> {
  const sentIn: Prisma.Sql[] = [];
  if (range.from) sentIn.push(Prisma.sql`AND s."sent_at" >= ${range.from.toISOString()}::timestamptz`);
  if (range.to) sentIn.push(Prisma.sql`AND s."sent_at" < ${range.to.toISOString()}::timestamptz`);
  const rows = await db.$queryRaw<Row[]>`
    SELECT GROUPING(s."assignee_id")::int AS g_agent, GROUPING(s."ai_resolved_alone")::int AS g_ai,
      s."assignee_id" AS agent_id, s."ai_resolved_alone" AS ai_alone,
      count(*)::int AS sent, count(s."rating")::int AS answered, avg(s."rating")::float8 AS avg,
      (count(*) FILTER (WHERE s."rating" >= 4))::int AS satisfied,
      (count(*) FILTER (WHERE s."rating" = 1))::int AS r1, (count(*) FILTER (WHERE s."rating" = 2))::int AS r2,
      (count(*) FILTER (WHERE s."rating" = 3))::int AS r3, (count(*) FILTER (WHERE s."rating" = 4))::int AS r4,
      (count(*) FILTER (WHERE s."rating" = 5))::int AS r5
    FROM "survey" s
    WHERE s."workspace_id" = ${workspaceId}::uuid ${sentIn.length ? Prisma.join(sentIn, ' ') : Prisma.empty}
      AND s."conversation_id" IN (SELECT c."id" FROM ${selection.from} WHERE ${selection.where})
    GROUP BY GROUPING SETS ((), (s."assignee_id"), (s."ai_resolved_alone"))`;
  const total = rows.find((r) => r.g_agent === 1 && r.g_ai === 1);
  const resolver = (aiAlone: boolean) => rows.find((r) => r.g_agent === 1 && r.g_ai === 0 && r.ai_alone === aiAlone);
  return {
    ...figures(total),
    ratings: [1, 2, 3, 4, 5].map((rating) => ({ rating, count: total ? total[`r${rating}` as 'r1'] : 0 })),
    byAgent: rows
      .filter((r) => r.g_agent === 0)
      .map((r) => ({ agentId: r.agent_id, ...figures(r) }))
      .sort((a, b) => b.sent - a.sent || String(a.agentId).localeCompare(String(b.agentId))),
    byResolver: [
      { resolver: 'AI_ALONE' as const, ...figures(resolver(true)) },
      { resolver: 'WITH_HUMAN' as const, ...figures(resolver(false)) },
    ],
  };
}
