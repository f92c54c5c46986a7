// Dashboard figures for a set of conversations, computed by the database in one statement
// (never by loading rows): counts by status, channel, priority and controller, the open and
// unassigned load, the longest wait, first-response and resolution times, and satisfaction.
//
// Two kinds of figure, both over the conversations the filter matches:
// - the current state (counts, open, unassigned, oldest unanswered) ignores the range;
// - the time-based figures count what happened in the range: first responses of the
//   conversations created in it, resolutions (and their surveys) with resolvedAt in it.
import type { Channel, ConversationStatus, Controller, Priority } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { ScopedDb } from '../db/tenant.js';
import { checkRange, type ConversationSelection, type TimeRange } from './conversation-query.js';

export interface DurationFigures {
  /** How many conversations the figure is computed over. */
  count: number;
  averageSeconds: number | null;
  medianSeconds: number | null;
}

export interface ConversationStats {
  total: number;
  open: number;
  unassigned: number;
  byStatus: { status: ConversationStatus; count: number }[];
  byChannel: { channel: Channel; count: number }[];
  byPriority: { priority: Priority; count: number }[];
  byController: { controller: Controller; count: number }[];
  oldestUnanswered: { id: string; waitingSince: Date } | null;
  firstResponseAi: DurationFigures;
  firstResponseHuman: DurationFigures;
  resolution: DurationFigures;
  satisfaction: { requested: number; rated: number; averageRating: number | null; responseRate: number | null };
  range: { from: Date | null; to: Date | null };
}

const ALL = {
  status: ['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED', 'ARCHIVED'] as ConversationStatus[],
  channel: ['WHATSAPP', 'INSTAGRAM', 'FACEBOOK', 'SMS', 'EMAIL', 'WEB_CHAT', 'VOICE'] as Channel[],
  priority: ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'URGENT'] as Priority[],
  controller: ['AI_AGENT', 'HUMAN'] as Controller[],
};

interface Row {
  total: number;
  open: number;
  unassigned: number;
  by_status: Record<string, number> | null;
  by_channel: Record<string, number> | null;
  by_priority: Record<string, number> | null;
  by_controller: Record<string, number> | null;
  oldest_id: string | null;
  oldest_since: Date | null;
  ai_count: number;
  ai_avg: number | null;
  ai_median: number | null;
  human_count: number;
  human_avg: number | null;
  human_median: number | null;
  resolved_count: number;
  resolved_avg: number | null;
  resolved_median: number | null;
  csat_requested: number;
  csat_rated: number;
  csat_avg: number | null;
}

/** `selection` is what the conversation filter selects (see conversationSelection), workspace included. */
export async function conversationStats(db: ScopedDb, selection: ConversationSelection, range: TimeRange = {}): Promise<ConversationStats> {
  checkRange('range', range);
  const inRange = (column: string) => {
    const parts: Prisma.Sql[] = [Prisma.sql`b.${Prisma.raw(`"${column}"`)} IS NOT NULL`];
    if (range.from) parts.push(Prisma.sql`b.${Prisma.raw(`"${column}"`)} >= ${range.from.toISOString()}::timestamptz`);
    if (range.to) parts.push(Prisma.sql`b.${Prisma.raw(`"${column}"`)} < ${range.to.toISOString()}::timestamptz`);
    return Prisma.join(parts, ' AND ');
  };
  const seconds = (later: string, earlier: string) =>
    Prisma.raw(`extract(epoch FROM (b."${later}" - b."${earlier}"))::float8`);
  const aiFirst = Prisma.sql`${inRange('created_at')} AND b."first_response_at" IS NOT NULL
    AND (b."first_human_response_at" IS NULL OR b."first_response_at" < b."first_human_response_at")`;
  const humanFirst = Prisma.sql`${inRange('created_at')} AND b."first_human_response_at" IS NOT NULL`;
  // Reopening clears resolved_at (src/services/status.ts); the status check also keeps out
  // rows reopened before that rule, which may still hold one.
  const resolved = Prisma.sql`${inRange('resolved_at')} AND b."status" IN ('RESOLVED', 'CLOSED', 'ARCHIVED')`;
  const ai = seconds('first_response_at', 'created_at');
  const human = seconds('first_human_response_at', 'created_at');
  const resolution = seconds('resolved_at', 'created_at');
  const groupCount = (expr: string, join = Prisma.empty) =>
    Prisma.sql`(SELECT json_object_agg(k, n) FROM (SELECT ${Prisma.raw(expr)}::text AS k, count(*)::int AS n FROM base b${join} GROUP BY 1) g)`;

  const rows = await db.$queryRaw<Row[]>`
    WITH base AS MATERIALIZED (
      SELECT c."id", c."inbox_id", c."status", c."priority", c."controller", c."assignee_id", c."waiting_since",
             c."created_at", c."first_response_at", c."first_human_response_at", c."resolved_at",
             c."satisfaction_requested", c."satisfaction_rating"
      FROM ${selection.from} WHERE ${selection.where}
    )
    SELECT
      agg.*,
      ${groupCount('b."status"')} AS by_status,
      ${groupCount('i."channel"', Prisma.sql` JOIN "inbox" i ON i."id" = b."inbox_id"`)} AS by_channel,
      ${groupCount('b."priority"')} AS by_priority,
      ${groupCount('b."controller"')} AS by_controller,
      oldest."id" AS oldest_id, oldest."waiting_since" AS oldest_since
    FROM (
      SELECT
        count(*)::int AS total,
        (count(*) FILTER (WHERE b."status" = 'OPEN'))::int AS open,
        (count(*) FILTER (WHERE b."status" = 'OPEN' AND b."assignee_id" IS NULL))::int AS unassigned,
        (count(*) FILTER (WHERE ${aiFirst}))::int AS ai_count,
        avg(${ai}) FILTER (WHERE ${aiFirst}) AS ai_avg,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY ${ai}) FILTER (WHERE ${aiFirst}) AS ai_median,
        (count(*) FILTER (WHERE ${humanFirst}))::int AS human_count,
        avg(${human}) FILTER (WHERE ${humanFirst}) AS human_avg,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY ${human}) FILTER (WHERE ${humanFirst}) AS human_median,
        (count(*) FILTER (WHERE ${resolved}))::int AS resolved_count,
        avg(${resolution}) FILTER (WHERE ${resolved}) AS resolved_avg,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY ${resolution}) FILTER (WHERE ${resolved}) AS resolved_median,
        (count(*) FILTER (WHERE ${resolved} AND b."satisfaction_requested"))::int AS csat_requested,
        (count(*) FILTER (WHERE ${resolved} AND b."satisfaction_requested" AND b."satisfaction_rating" IS NOT NULL))::int AS csat_rated,
        (avg(b."satisfaction_rating") FILTER (WHERE ${resolved} AND b."satisfaction_rating" IS NOT NULL))::float8 AS csat_avg
      FROM base b
    ) agg
    LEFT JOIN LATERAL (
      SELECT b."id", b."waiting_since" FROM base b
      WHERE b."status" = 'OPEN' AND b."waiting_since" IS NOT NULL
      ORDER BY b."waiting_since", b."id" LIMIT 1
    ) oldest ON TRUE`;
  const r = rows[0]!;
  const counts = <K extends string>(all: K[], got: Record<string, number> | null) =>
    all.map((k) => ({ key: k, count: got?.[k] ?? 0 }));
  const num = (v: unknown) => (v == null ? null : Number(v));
  return {
    total: r.total,
    open: r.open,
    unassigned: r.unassigned,
    byStatus: counts(ALL.status, r.by_status).map(({ key, count }) => ({ status: key, count })),
    byChannel: counts(ALL.channel, r.by_channel).map(({ key, count }) => ({ channel: key, count })),
    byPriority: counts(ALL.priority, r.by_priority).map(({ key, count }) => ({ priority: key, count })),
    byController: counts(ALL.controller, r.by_controller).map(({ key, count }) => ({ controller: key, count })),
    oldestUnanswered: r.oldest_id && r.oldest_since ? { id: r.oldest_id, waitingSince: new Date(r.oldest_since) } : null,
    firstResponseAi: { count: r.ai_count, averageSeconds: num(r.ai_avg), medianSeconds: num(r.ai_median) },
    firstResponseHuman: { count: r.human_count, averageSeconds: num(r.human_avg), medianSeconds: num(r.human_median) },
    resolution: { count: r.resolved_count, averageSeconds: num(r.resolved_avg), medianSeconds: num(r.resolved_median) },
    satisfaction: {
      requested: r.csat_requested,
      rated: r.csat_rated,
      averageRating: num(r.csat_avg),
      responseRate: r.csat_requested ? r.csat_rated / r.csat_requested : null,
    },
    range: { from: range.from ?? null, to: range.to ?? null },
  };
}
