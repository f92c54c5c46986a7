// The automation runner: reads each workspace's timeline from a durable position (like the
// webhook dispatcher) and runs the rules each committed event triggers, never inside the
// request that wrote the event.
//
// Exactly-once effects: a run's actions and its automation_run row, unique on (rule, event),
// commit in one transaction. The row is inserted first with ON CONFLICT DO NOTHING: when it
// was there already (another process, or this one before a crash), nothing else happens. The
// position moves (compare-and-set) after the batch; a process killed before that takes the same
// events again, and the unique key skips what already ran. A domain failure (an illegal
// transition, a human in control) rolls the actions back and records a FAILED run; any other
// failure ends the pass, and the events are taken again at the next one.
import type { AutomationRule, EventType, PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { Events } from '../pubsub.js';
import { scopeToWorkspace } from '../db/tenant.js';
import { DomainError } from '../errors.js';
import { evaluateConditions } from '../services/automation-conditions.js';
import { applyActions, loadFacts, onRulesChanged, rulesActions, rulesConditions, sendsMessage } from '../services/automation.js';
import { lockConversation } from '../services/conversation-store.js';
import { inTransaction, type ServiceContext } from '../services/timeline.js';
import type { SurveySettings } from '../services/surveys.js';
import { PassLoop } from './pass-loop.js';

export interface RunnerOptions {
  pollMs: number;
  /** Events taken per workspace per pass. */
  batchSize: number;
  /** Runs (matched) of one rule on one conversation per hour. */
  maxRunsPerConversationHour: number;
  /** How survey links are made, for REQUEST_SURVEY. */
  surveys?: SurveySettings;
}

/** A chain of rule-caused events stops here: a rule run at this depth triggers no further rule. */
export const MAX_CHAIN_DEPTH = 3;

interface EventRow {
  id: string;
  seq: bigint;
  type: EventType;
  conversationId: string | null;
  messageId: string | null;
  after: unknown;
  actorType: string;
  actorDepth: number | null;
}

const afterOf = (e: EventRow) => (e.after && typeof e.after === 'object' ? (e.after as Record<string, unknown>) : {});

/** Whether the event is of the kind the rule's trigger names. */
export function triggers(rule: Pick<AutomationRule, 'trigger' | 'triggerStatus'>, e: EventRow): boolean {
  const after = afterOf(e);
  switch (rule.trigger) {
    case 'MESSAGE_RECEIVED':
      return e.type === 'MESSAGE_ADDED' && after.senderType === 'CONTACT' && after.private !== true;
    case 'MESSAGE_SENT':
      return e.type === 'MESSAGE_ADDED' && (after.senderType === 'HUMAN' || after.senderType === 'AI_AGENT') && after.private !== true;
    case 'STATUS_CHANGED':
      return e.type === 'STATUS_CHANGED' && (rule.triggerStatus == null || after.status === rule.triggerStatus);
    case 'ASSIGNED':
      // Assigned to someone: an unassignment is not an assignment.
      return e.type === 'ASSIGNED' && after.assigneeId != null;
    default:
      return e.type === rule.trigger;
  }
}

type Outcome = { outcome: 'MATCHED' | 'NOT_MATCHED' | 'FAILED'; reason: string; actionsApplied?: string[]; error?: string | null };

export class AutomationRunner {
  private readonly loop: PassLoop;
  /** Whether an enabled rule existed at the last pass (or one was saved here since): until then, commits wake nothing. */
  private rulesSeen = true;
  private stopListening: (() => void) | null = null;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: RunnerOptions,
    private readonly logger: Logger,
    private readonly pubsub?: Events['pubsub'],
  ) {
    this.loop = new PassLoop(() => this.pass(), options.pollMs, (err) => this.logger.error({ err }, 'automation runner: a pass failed'));
  }

  private get running(): boolean {
    return this.loop.running;
  }

  start() {
    this.stopListening = onRulesChanged(() => this.rulesMayExist());
    this.loop.start();
  }

  /** A rule was saved in this process: commits wake the runner again. */
  rulesMayExist() {
    this.rulesSeen = true;
    this.wake();
  }

  /** Looks at the timeline now (an event has just committed), unless no rule is enabled anywhere. */
  wake() {
    if (this.rulesSeen) this.loop.wake();
  }

  /** One pass over the workspaces with events the runner has not taken; true if more are waiting. */
  async pass(): Promise<boolean> {
    let more = false;
    // Nothing to do anywhere until a rule is enabled: commits then wake nobody (rulesMayExist).
    const [any] = await this.prisma.$queryRaw<{ exists: boolean }[]>`SELECT EXISTS (SELECT 1 FROM "automation_rule" WHERE "enabled") AS "exists"`;
    this.rulesSeen = any?.exists ?? true;
    if (!this.rulesSeen) return false;
    const behind = await this.prisma.$queryRaw<{ workspace_id: string; last_seq: bigint; event_seq: bigint }[]>`
      SELECT p."workspace_id", p."last_seq", w."event_seq" FROM "automation_position" p
      JOIN "workspace" w ON w."id" = p."workspace_id" WHERE w."event_seq" > p."last_seq"
      ORDER BY p."updated_at" LIMIT 100`;
    for (const row of behind) {
      if (!this.running) return false;
      // One workspace's failure (a lock wait past its limit, the database going away) is
      // retried at the next pass; the other workspaces are served meanwhile.
      try {
        if (await this.runWorkspace(row.workspace_id, row.last_seq, row.event_seq)) more = true;
      } catch (err) {
        this.logger.error({ err, workspaceId: row.workspace_id }, 'automation runner: a workspace failed, retried at the next pass');
      }
    }
    return more;
  }

  private async runWorkspace(workspaceId: string, lastSeq: bigint, eventSeq: bigint): Promise<boolean> {
    const rules = await this.prisma.automationRule.findMany({ where: { workspaceId, enabled: true }, orderBy: [{ position: 'asc' }, { id: 'asc' }] });
    if (!rules.length) {
      await this.prisma.automationPosition.updateMany({ where: { workspaceId, lastSeq }, data: { lastSeq: eventSeq } });
      return false;
    }
    const events = await this.prisma.event.findMany({
      // Up to the cursor read before the rules were: a rule saved since starts after it.
      where: { workspaceId, seq: { gt: lastSeq, lte: eventSeq } },
      orderBy: { seq: 'asc' },
      take: this.options.batchSize,
      select: { id: true, seq: true, type: true, conversationId: true, messageId: true, after: true, actorType: true, actorDepth: true },
    });
    if (!events.length) return false;
    for (const event of events) {
      if (!event.conversationId) continue;
      for (const rule of rules) {
        if (!this.running) return false;
        if (event.seq <= rule.startSeq || !triggers(rule, event)) continue;
        await this.runRule(workspaceId, rule, event);
      }
    }
    const last = events[events.length - 1]!.seq;
    await this.prisma.automationPosition.updateMany({ where: { workspaceId, lastSeq }, data: { lastSeq: last } });
    return last < eventSeq;
  }

  /** Runs one rule on one event, once: its actions and its run row in one transaction. */
  private async runRule(workspaceId: string, rule: AutomationRule, event: EventRow): Promise<void> {
    let depth = 1;
    let guard: string | null = null;
    if (event.actorType === 'AUTOMATION') {
      // Events a rule caused trigger only rules that opted in; a chain stops at MAX_CHAIN_DEPTH.
      if (!rule.allowRuleEvents) return;
      depth = (event.actorDepth ?? 1) + 1;
      if (depth > MAX_CHAIN_DEPTH) guard = `chain depth limit: the event was caused at depth ${event.actorDepth}, and chains stop at ${MAX_CHAIN_DEPTH}`;
    }
    const actions = rulesActions(rule);
    const sender = afterOf(event).senderType;
    if (!guard && event.type === 'MESSAGE_ADDED' && sendsMessage(actions) && (sender === 'AI_AGENT' || sender === 'SYSTEM')) {
      guard = 'a rule that sends messages never answers an AI or SYSTEM message';
    }
    const db = scopeToWorkspace(this.prisma, workspaceId);
    const sctx: ServiceContext = { db, workspaceId, actor: { type: 'AUTOMATION', ruleId: rule.id, depth }, pubsub: this.pubsub, committed: () => this.wake(), surveys: this.options.surveys };
    const row = (o: Outcome) => ({
      workspaceId,
      ruleId: rule.id,
      eventId: event.id,
      eventSeq: event.seq,
      conversationId: event.conversationId,
      outcome: o.outcome,
      reason: o.reason,
      actionsApplied: o.actionsApplied ?? [],
      error: o.error ?? null,
    });
    try {
      await inTransaction(sctx, async (tx, events) => {
        // The exactly-once key: a run already recorded (by any process) is not run again.
        const claimed = await tx.automationRun.createMany({ data: [row({ outcome: 'NOT_MATCHED', reason: 'running' })], skipDuplicates: true });
        if (!claimed.count) return;
        const finish = (o: Outcome) => tx.automationRun.updateMany({ where: { ruleId: rule.id, eventId: event.id }, data: { ...row(o), workspaceId: undefined } });
        if (guard) return finish({ outcome: 'NOT_MATCHED', reason: guard });
        const exists = await tx.conversation.findUnique({ where: { id: event.conversationId! }, select: { id: true } });
        if (!exists) return finish({ outcome: 'NOT_MATCHED', reason: 'the conversation no longer exists' });
        const conversation = await lockConversation(tx, workspaceId, event.conversationId!);
        const recent = await tx.automationRun.count({
          where: { ruleId: rule.id, conversationId: conversation.id, outcome: 'MATCHED', createdAt: { gt: new Date(Date.now() - 3_600_000) } },
        });
        if (recent >= this.options.maxRunsPerConversationHour) {
          return finish({ outcome: 'NOT_MATCHED', reason: `hourly cap: the rule ran ${recent} times on this conversation in the last hour` });
        }
        const verdict = evaluateConditions(rulesConditions(rule), await loadFacts(tx, conversation, event.messageId));
        if (!verdict.matched) return finish({ outcome: 'NOT_MATCHED', reason: verdict.reason });
        const applied = await applyActions(tx, events, sctx, conversation, actions);
        return finish({ outcome: 'MATCHED', reason: verdict.reason, actionsApplied: applied });
      });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      // Nothing of the run stayed; the failure is recorded on its own, under the same key.
      await db.automationRun.createMany({
        data: [row({ outcome: 'FAILED', reason: 'an action failed: nothing was changed', error: `${e.code}: ${e.message}` })],
        skipDuplicates: true,
      });
    }
  }

  async stop() {
    this.stopListening?.();
    await this.loop.stop();
  }
}
