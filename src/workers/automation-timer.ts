// The time-based automation triggers (WAITING_FOR_REPLY, OPEN_UNASSIGNED, PENDING_TOO_LONG): a
// periodic scan finds the conversations whose condition has held longer than a rule's threshold
// and runs the rule on them through the same executeRun as the event-driven runner.
//
// Once per episode: a condition holding is an episode, and its start comes from the data (the
// unanswered contact message's time, waitingSince; the time of the last status change or
// assignment, which is when the conversation became open and unassigned or pending). A run is
// recorded under the unique key (rule, conversation, episode start), in the transaction of its
// actions: a conversation that waits, is answered and waits again has two episodes and two runs,
// and a scan that sees the same episode again (later, after a restart, in another process)
// finds the key taken and does nothing. The episode is computed again on the locked conversation
// before the run is claimed, so an episode that ended during the scan does not fire.
import { Prisma, type AutomationRule, type AutomationTrigger, type PrismaClient } from '../generated/prisma/client.js';
import { scopeToWorkspace, type ScopedTx } from '../db/tenant.js';
import type { Logger } from '../logger.js';
import type { Events } from '../pubsub.js';
import { TIME_TRIGGERS } from '../services/automation.js';
import type { SurveySettings } from '../services/surveys.js';
import { chainGuard, executeRun, runRow } from './automation-runner.js';
import { PassLoop } from './pass-loop.js';

export interface TimerOptions {
  /** How often the scan runs (AUTOMATION_SCAN_INTERVAL_MS). */
  intervalMs: number;
  maxRunsPerConversationHour: number;
  /** How survey links are made, for REQUEST_SURVEY. */
  surveys?: SurveySettings;
}

/** Conversations run per rule per scan; a full batch makes the next scan come at once. */
const BATCH = 100;

/** The conversation's latest event of these types (the one that started the episode, if any). */
const lastEvent = (types: string, column: string) =>
  `(SELECT e."${column}" FROM "event" e WHERE e."conversation_id" = c."id" AND e."workspace_id" = c."workspace_id" AND e."type"::text IN (${types}) ORDER BY e."created_at" DESC, e."seq" DESC LIMIT 1)`;

/** The latest of the conversation's events of these types, or its creation. */
const lastChange = (types: string) => `GREATEST(c."created_at", ${lastEvent(types, 'created_at')})`;

/**
 * When the trigger's condition started to hold for conversation c (null: it does not hold), and
 * the actor of the event that started it (null: a contact's message, or the conversation's
 * creation: not a rule).
 */
const EPISODE_START: Record<string, { holds: string; start: string; actorType: string; actorDepth: string }> = {
  WAITING_FOR_REPLY: { holds: `c."status" = 'OPEN' AND c."waiting_since" IS NOT NULL`, start: `c."waiting_since"`, actorType: 'NULL', actorDepth: 'NULL' },
  // Open and unassigned now: the last status change made it open, the last assignment event unassigned it.
  OPEN_UNASSIGNED: {
    holds: `c."status" = 'OPEN' AND c."assignee_id" IS NULL`,
    start: lastChange(`'STATUS_CHANGED', 'ASSIGNED'`),
    actorType: lastEvent(`'STATUS_CHANGED', 'ASSIGNED'`, 'actor_type'),
    actorDepth: lastEvent(`'STATUS_CHANGED', 'ASSIGNED'`, 'actor_depth'),
  },
  PENDING_TOO_LONG: {
    holds: `c."status" = 'PENDING'`,
    start: lastChange(`'STATUS_CHANGED'`),
    actorType: lastEvent(`'STATUS_CHANGED'`, 'actor_type'),
    actorDepth: lastEvent(`'STATUS_CHANGED'`, 'actor_depth'),
  },
} satisfies Partial<Record<AutomationTrigger, unknown>>;

interface Episode {
  id: string;
  start: Date;
  lastMessageId: string | null;
  /** Who caused the event that started the episode (null: no event of a rule). */
  actorType: string | null;
  actorDepth: number | null;
}

/**
 * The conversations of the rule's workspace (or the one given) whose episode has lasted past
 * the threshold, passed it after the rule started (no backfill) and has no run of the rule yet.
 */
function dueEpisodes(db: PrismaClient | ScopedTx, rule: AutomationRule, conversationId: string | null): Promise<Episode[]> {
  const e = EPISODE_START[rule.trigger]!;
  const seconds = rule.thresholdSeconds ?? 0;
  return db.$queryRaw<Episode[]>`
    SELECT x."id", x."start", x."lastMessageId", x."actorType", x."actorDepth" FROM (
      SELECT c."id", c."last_message_id" AS "lastMessageId", ${Prisma.raw(e.start)} AS "start",
        ${Prisma.raw(e.actorType)}::text AS "actorType", ${Prisma.raw(e.actorDepth)}::int AS "actorDepth"
      FROM "conversation" c
      WHERE c."workspace_id" = ${rule.workspaceId}::uuid AND ${Prisma.raw(e.holds)}
        ${conversationId ? Prisma.sql`AND c."id" = ${conversationId}::uuid` : Prisma.empty}
    ) x
    WHERE x."start" <= now() - ${seconds}::int * interval '1 second'
      AND x."start" + ${seconds}::int * interval '1 second' > ${rule.startedAt}
      AND NOT EXISTS (SELECT 1 FROM "automation_run" r WHERE r."rule_id" = ${rule.id}::uuid AND r."conversation_id" = x."id" AND r."episode_start" = x."start")
    ORDER BY x."start" LIMIT ${BATCH}`;
}

export class AutomationTimer {
  private readonly loop: PassLoop;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: TimerOptions,
    private readonly logger: Logger,
    private readonly pubsub?: Events['pubsub'],
  ) {
    this.loop = new PassLoop(() => this.pass(), options.intervalMs, (err) => this.logger.error({ err }, 'automation timer: a scan failed'));
  }

  start() {
    this.loop.start();
  }

  /** One scan over the enabled time-based rules; true when a rule had more due than one batch. */
  async pass(): Promise<boolean> {
    const rules = await this.prisma.automationRule.findMany({
      where: { enabled: true, trigger: { in: [...TIME_TRIGGERS] } },
      orderBy: [{ workspaceId: 'asc' }, { position: 'asc' }, { id: 'asc' }],
    });
    let more = false;
    for (const rule of rules) {
      if (!this.loop.running) return false;
      // One rule's failure is retried at the next scan; the others are served meanwhile.
      try {
        const due = await dueEpisodes(this.prisma, rule, null);
        for (const episode of due) {
          if (!this.loop.running) return false;
          const target = {
            conversationId: episode.id,
            event: null,
            episodeStart: episode.start,
            messageId: episode.lastMessageId,
          };
          // The loop guards of the event that started the episode: a rule's own status change or
          // assignment fires only the rules that opted in, and not past the chain's depth limit.
          const chain = chainGuard(rule, { actorType: episode.actorType ?? 'CONTACT', actorDepth: episode.actorDepth });
          const guard = chain ? chain.guard : 'the episode was started by a rule, and this rule does not take events caused by rules';
          if (!chain || guard) {
            // Recorded under the episode's key, so later scans do not take it again.
            await scopeToWorkspace(this.prisma, rule.workspaceId).automationRun.createMany({
              data: [runRow(rule.workspaceId, rule.id, target, { outcome: 'NOT_MATCHED', reason: guard! })],
              skipDuplicates: true,
            });
            continue;
          }
          await executeRun({ prisma: this.prisma, pubsub: this.pubsub, maxRunsPerConversationHour: this.options.maxRunsPerConversationHour, surveys: this.options.surveys }, rule.workspaceId, rule, {
            ...target,
            depth: chain.depth,
            stillDue: async (tx, c) => (await dueEpisodes(tx, rule, c.id)).some((x) => x.start.getTime() === episode.start.getTime()),
          });
        }
        if (due.length === BATCH) more = true;
      } catch (err) {
        this.logger.error({ err, ruleId: rule.id }, 'automation timer: a rule failed, retried at the next scan');
      }
    }
    return more;
  }

  async stop() {
    await this.loop.stop();
  }
}
