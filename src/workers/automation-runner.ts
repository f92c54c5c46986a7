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
// failure ends the pass, and the events are taken again at the next one. A rule whose
// conditions fail (read once per event, without a lock) does nothing, so its NOT_MATCHED row
// needs no transaction: those of an event are written together, under the same unique key.
import type { AutomationRule, Conversation, EventType, PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import type { Events } from '../pubsub.js';
import { scopeToWorkspace, type ScopedTx } from '../db/tenant.js';
import { DomainError } from '../errors.js';
import { evaluateConditions, type Facts } from '../services/automation-conditions.js';
import { applyActions, loadFacts, onRulesChanged, rulesActions, rulesConditions, sendsMessage, type RunSubject } from '../services/automation.js';
import { lockConversation } from '../services/conversation-store.js';
import { inTransaction, type ServiceContext } from '../services/timeline.js';
import { uuidv7 } from '../uuid.js';
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
  /**
   * False only in tests (PARLEY_TEST_AUTOMATION_NO_WAKE): commits and saved rules wake nothing,
   * the runner looks only at its start and every `pollMs`.
   */
  wakes?: boolean;
}

/** A chain of rule-caused events stops here: a rule run at this depth triggers no further rule. */
export const MAX_CHAIN_DEPTH = 3;

interface EventRow {
  id: string;
  seq: bigint;
  type: EventType;
  conversationId: string | null;
  messageId: string | null;
  before: unknown;
  after: unknown;
  actorType: string;
  actorDepth: number | null;
}

const valuesOf = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});
const afterOf = (e: Pick<EventRow, 'after'>) => valuesOf(e.after);

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
    case 'SNOOZE_WOKE':
      // The snooze waker's reopening (a contact's message also reopens a snoozed conversation: not this).
      return e.type === 'STATUS_CHANGED' && e.actorType === 'SYSTEM' && valuesOf(e.before).status === 'SNOOZED' && after.status === 'OPEN';
    case 'WAITING_FOR_REPLY':
    case 'OPEN_UNASSIGNED':
    case 'PENDING_TOO_LONG':
      // Time-based: src/workers/automation-timer.ts runs them, no event does.
      return false;
    default:
      return e.type === rule.trigger;
  }
}

type Outcome = { outcome: 'MATCHED' | 'NOT_MATCHED' | 'FAILED'; reason: string; actionsApplied?: string[]; error?: string | null };

/**
 * The chain depth a run of `rule` on `event` has, and the loop guard that stops it (recorded
 * NOT_MATCHED); null when the event does not concern the rule at all (caused by a rule, and
 * this one did not opt in).
 */
function guardOf(rule: AutomationRule, event: EventRow): { depth: number; guard: string | null } | null {
  const chain = chainGuard(rule, event);
  if (!chain || chain.guard) return chain;
  const depth = chain.depth;
  const sender = afterOf(event).senderType;
  if (event.type === 'MESSAGE_ADDED' && sendsMessage(rulesActions(rule)) && (sender === 'AI_AGENT' || sender === 'SYSTEM')) {
    return { depth, guard: 'a rule that sends messages never answers an AI or SYSTEM message' };
  }
  return { depth, guard: null };
}

/**
 * The loop guard of a run caused by an event with this actor (for the timer, the event that
 * started the episode): its chain depth, and the reason it stops there (null: it runs); null
 * when a rule caused the event and this one did not opt in to rule-caused events.
 */
export function chainGuard(
  rule: Pick<AutomationRule, 'allowRuleEvents'>,
  cause: { actorType: string; actorDepth: number | null },
): { depth: number; guard: string | null } | null {
  if (cause.actorType !== 'AUTOMATION') return { depth: 1, guard: null };
  // Events a rule caused trigger only rules that opted in; a chain stops at MAX_CHAIN_DEPTH.
  if (!rule.allowRuleEvents) return null;
  const depth = (cause.actorDepth ?? 1) + 1;
  if (depth > MAX_CHAIN_DEPTH) return { depth, guard: `chain depth limit: the event was caused at depth ${cause.actorDepth}, and chains stop at ${MAX_CHAIN_DEPTH}` };
  return { depth, guard: null };
}

/** A run log row. */
export
function runRow(workspaceId: string, ruleId: string, target: Pick<RunTarget, 'conversationId' | 'event' | 'episodeStart'>, o: Outcome, id = uuidv7()) {
  return {
    id,
    workspaceId,
    ruleId,
    eventId: target.event?.id ?? null,
    eventSeq: target.event?.seq ?? null,
    episodeStart: target.episodeStart ?? null,
    conversationId: target.conversationId,
    outcome: o.outcome,
    reason: o.reason,
    actionsApplied: o.actionsApplied ?? [],
    error: o.error ?? null,
  };
}

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
    if (this.options.wakes === false) return;
    this.rulesSeen = true;
    this.wake();
  }

  /** Looks at the timeline now (an event has just committed), unless no rule is enabled anywhere. */
  wake() {
    if (this.rulesSeen && this.options.wakes !== false) this.loop.wake();
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
      JOIN "workspace_counter" w ON w."workspace_id" = p."workspace_id" WHERE w."event_seq" > p."last_seq"
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
      select: { id: true, seq: true, type: true, conversationId: true, messageId: true, before: true, after: true, actorType: true, actorDepth: true },
    });
    if (!events.length) return false;
    for (const event of events) {
      if (!event.conversationId) continue;
      const due = rules.filter((rule) => event.seq > rule.startSeq && triggers(rule, event));
      if (due.length && !(await this.runEvent(workspaceId, due, event))) return false;
    }
    const last = events[events.length - 1]!.seq;
    await this.prisma.automationPosition.updateMany({ where: { workspaceId, lastSeq }, data: { lastSeq: last } });
    return last < eventSeq;
  }

  /**
   * Runs the rules an event triggers, in order. The conditions are read without a lock, once
   * for all of them (again after a rule acted, as it may change what the next ones look at): the
   * rules they fail, or a loop guard stops, are recorded NOT_MATCHED together in one statement;
   * one they pass runs in its own transaction, where they are checked again on the locked
   * conversation. False when the runner stopped meanwhile.
   */
  private async runEvent(workspaceId: string, rules: AutomationRule[], event: EventRow): Promise<boolean> {
    const db = scopeToWorkspace(this.prisma, workspaceId);
    const target = { conversationId: event.conversationId!, event: { id: event.id, seq: event.seq, type: event.type }, messageId: event.messageId };
    let facts: Promise<Facts | null> | null = null;
    const misses: ReturnType<typeof runRow>[] = [];
    for (const rule of rules) {
      if (!this.running) return false;
      const guarded = guardOf(rule, event);
      if (!guarded) continue;
      let miss = guarded.guard;
      if (!miss) {
        facts ??= db.conversation.findUnique({ where: { id: target.conversationId } }).then((c) => (c ? loadFacts(db, c, target.messageId) : null));
        const f = await facts;
        const verdict = f ? evaluateConditions(rulesConditions(rule), f) : { matched: false, reason: 'the conversation no longer exists' };
        if (!verdict.matched) miss = verdict.reason;
      }
      if (miss) {
        misses.push(runRow(workspaceId, rule.id, target, { outcome: 'NOT_MATCHED', reason: miss }));
        continue;
      }
      await executeRun(this.deps, workspaceId, rule, { ...target, depth: guarded.depth });
      facts = null;
    }
    // Under the same unique keys: a run already recorded (another process, a read before a crash) stays as it was.
    if (misses.length) await db.automationRun.createMany({ data: misses, skipDuplicates: true });
    return true;
  }

  private get deps(): RunDeps {
    return { prisma: this.prisma, pubsub: this.pubsub, maxRunsPerConversationHour: this.options.maxRunsPerConversationHour, surveys: this.options.surveys, committed: () => this.wake() };
  }

  async stop() {
    this.stopListening?.();
    await this.loop.stop();
  }
}

/** What running a rule needs besides the rule and what it runs on. */
export interface RunDeps {
  prisma: PrismaClient;
  pubsub?: Events['pubsub'];
  maxRunsPerConversationHour: number;
  /** How survey links are made, for REQUEST_SURVEY. */
  surveys?: SurveySettings;
  /** After a run that wrote events committed. */
  committed?: () => void;
}

/** One run: of a rule on an event, or of a time-based rule on a conversation's episode. */
export interface RunTarget {
  conversationId: string;
  event: RunSubject['event'];
  episodeStart?: Date;
  /** The message conditions look at. */
  messageId: string | null;
  depth: number;
  /**
   * Checked on the locked conversation before the run is claimed: false when the run no longer
   * applies (a time-based episode ended meanwhile); nothing is recorded then.
   */
  stillDue?: (tx: ScopedTx, conversation: Conversation) => Promise<boolean>;
}

/**
 * Runs a rule once on its target: the run row (unique on (rule, event), or on (rule,
 * conversation, episode start)) and the actions commit in one transaction. The row is inserted
 * first with ON CONFLICT DO NOTHING: when it was there already (another process, or this one
 * before a crash), nothing else happens. A domain failure rolls the actions back and records a
 * FAILED run under the same key; any other failure is thrown (the caller tries again later).
 */
export async function executeRun(deps: RunDeps, workspaceId: string, read: AutomationRule, target: RunTarget): Promise<void> {
  const db = scopeToWorkspace(deps.prisma, workspaceId);
  const sctx: ServiceContext = { db, workspaceId, actor: { type: 'AUTOMATION', ruleId: read.id, depth: target.depth }, pubsub: deps.pubsub, committed: deps.committed, surveys: deps.surveys };
  const runId = uuidv7();
  const row = (o: Outcome) => runRow(workspaceId, read.id, target, o, runId);
  try {
    await inTransaction(sctx, async (tx, events) => {
      // The rule as it is now, not as the batch or scan read it: one disabled, deleted, re-enabled
      // or retriggered since (startedAt moved) does not run, and nothing is recorded; one edited
      // runs its current conditions and actions. The key-share lock keeps it from being deleted
      // before the run's row (which references it) commits.
      await tx.$queryRaw`SELECT 1 FROM "automation_rule" WHERE "id" = ${read.id}::uuid FOR KEY SHARE`;
      const rule = await tx.automationRule.findUnique({ where: { id: read.id } });
      if (!rule || !rule.enabled || rule.startedAt.getTime() !== read.startedAt.getTime()) return;
      const actions = rulesActions(rule);
      const exists = await tx.conversation.findUnique({ where: { id: target.conversationId }, select: { id: true } });
      if (!exists && target.stillDue) return;
      const conversation = exists ? await lockConversation(tx, workspaceId, target.conversationId) : null;
      if (conversation && target.stillDue && !(await target.stillDue(tx, conversation))) return;
      // The exactly-once key: a run already recorded (by any process) is not run again.
      const claimed = await tx.automationRun.createMany({ data: [row({ outcome: 'NOT_MATCHED', reason: 'running' })], skipDuplicates: true });
      if (!claimed.count) return;
      const finish = (o: Outcome) => tx.automationRun.update({ where: { id: runId }, data: { ...row(o), id: undefined, workspaceId: undefined } });
      if (!conversation) return finish({ outcome: 'NOT_MATCHED', reason: 'the conversation no longer exists' });
      const recent = await tx.automationRun.count({
        where: { ruleId: rule.id, conversationId: conversation.id, outcome: 'MATCHED', createdAt: { gt: new Date(Date.now() - 3_600_000) } },
      });
      if (recent >= deps.maxRunsPerConversationHour) {
        return finish({ outcome: 'NOT_MATCHED', reason: `hourly cap: the rule ran ${recent} times on this conversation in the last hour` });
      }
      const verdict = evaluateConditions(rulesConditions(rule), await loadFacts(tx, conversation, target.messageId));
      if (!verdict.matched) return finish({ outcome: 'NOT_MATCHED', reason: verdict.reason });
      const subject: RunSubject = { runId, rule, event: target.event, episodeStart: target.episodeStart ?? null };
      const applied = await applyActions(tx, events, sctx, conversation, actions, subject);
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
