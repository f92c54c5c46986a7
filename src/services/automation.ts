// Automation rules: managing them (create, update, delete, reorder; admin scope), checking their
// conditions and actions when saved, and running a rule's actions on a locked conversation
// through the same functions the mutations use. The runner (src/workers/automation-runner.ts)
// decides when; a dry run evaluates without writing.
import type { AutomationRule, AutomationTrigger, Conversation, ConversationStatus, Prisma, Priority, ResolutionReason } from '../generated/prisma/client.js';
import type { ScopedDb, ScopedTx } from '../db/tenant.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { LiveConversationFilter } from '../subscriptions/conversation-filter.js';
import { evaluateConditions, type Condition, type Conditions, type Facts, type Verdict } from './automation-conditions.js';
import { renderCannedResponse } from './canned-responses.js';
import { applyAssignment, applyLifecycleChange, applyPriority, type LifecycleChange } from './conversations.js';
import { applyStartHandoff, applyStopHandoff } from './handoffs.js';
import { applyLabelChange } from './labels.js';
import { addMessage, validateMessage, withRenderedContent } from './messages.js';
import { requestSurvey } from './surveys.js';
import { inTransaction, lastCursor, type EventLog, type ServiceContext } from './timeline.js';
import { LIMITS, requiredText } from './validation.js';
import { queueRuleNotification } from './webhooks.js';

export const MAX_RULES_PER_WORKSPACE = 100;
const MAX_CONDITIONS = 20;
const MAX_ACTIONS = 10;
const MAX_WORDS = 50;

export type AutomationActionType =
  | 'ADD_LABELS'
  | 'REMOVE_LABELS'
  | 'SET_PRIORITY'
  | 'ASSIGN'
  | 'UNASSIGN'
  | 'CHANGE_STATUS'
  | 'ADD_NOTE'
  | 'SEND_MESSAGE'
  | 'START_HANDOFF'
  | 'END_HANDOFF'
  | 'ASSIGN_LEAST_BUSY'
  | 'NOTIFY_WEBHOOK'
  | 'REQUEST_SURVEY';

/** An action as saved; which fields it uses depends on its type. */
export interface AutomationAction {
  type: AutomationActionType;
  labelIds?: string[];
  priority?: Priority;
  userId?: string;
  status?: ConversationStatus;
  resolutionReason?: ResolutionReason;
  snoozeMinutes?: number;
  content?: string;
  cannedResponseId?: string;
  senderType?: 'SYSTEM' | 'AI_AGENT';
  reason?: string;
  /** ASSIGN_LEAST_BUSY: the team members to choose among, in order of preference on a tie. */
  userIds?: string[];
  /** NOTIFY_WEBHOOK: the endpoint. */
  endpointId?: string;
}

/** What a run is about, for actions that report it (NOTIFY_WEBHOOK). */
export interface RunSubject {
  runId: string;
  rule: Pick<AutomationRule, 'id' | 'name' | 'trigger'>;
  event: { id: string; seq: bigint; type: string } | null;
  episodeStart: Date | null;
}

/** The triggers that are a condition holding for long enough rather than an event. */
export const TIME_TRIGGERS: ReadonlySet<AutomationTrigger> = new Set<AutomationTrigger>(['WAITING_FOR_REPLY', 'OPEN_UNASSIGNED', 'PENDING_TOO_LONG']);
/** Thresholds of time-based triggers: 1 second (so tests need no mocked clock) to 30 days. */
const MAX_THRESHOLD_SECONDS = 30 * 86_400;

export interface RuleInput {
  name?: string;
  enabled?: boolean;
  trigger?: AutomationTrigger;
  triggerStatus?: ConversationStatus | null;
  conditions?: Conditions;
  actions?: AutomationAction[];
  allowRuleEvents?: boolean;
  thresholdSeconds?: number | null;
}

const STATUS_ACTIONS: ReadonlySet<ConversationStatus> = new Set<ConversationStatus>(['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED']);

function checkCondition(c: Condition, field: string): Condition {
  const set = Object.entries(c).filter(([, v]) => v != null);
  if (set.length !== 1) throw new ValidationError('A condition sets exactly one of its fields.', field);
  const [key, value] = set[0]! as [keyof Condition, unknown];
  const list = (v: unknown, what: string) => {
    if (!Array.isArray(v) || !v.length || v.length > MAX_WORDS) throw new ValidationError(`${what}: give 1 to ${MAX_WORDS} values.`, `${field}.${key}`);
    return v as string[];
  };
  switch (key) {
    case 'messageContainsAny': {
      const words = list(value, 'messageContainsAny').map((w) => w.trim()).filter(Boolean);
      if (!words.length || words.some((w) => w.length > 100)) throw new ValidationError('Words are 1 to 100 characters, not blank.', `${field}.messageContainsAny`);
      return { messageContainsAny: words };
    }
    case 'contactEmailDomains':
      return { contactEmailDomains: list(value, 'contactEmailDomains').map((d) => d.trim().toLowerCase().replace(/^@/, '')) };
    case 'messageSenderTypes':
    case 'messageContentTypes':
      list(value, key);
      return { [key]: value } as Condition;
    case 'contactAttribute':
    case 'conversationAttribute': {
      const t = value as { key?: string; equals?: unknown; contains?: string | null };
      if (!t.key?.trim()) throw new ValidationError('An attribute test names its key.', `${field}.${key}.key`);
      if (t.equals === undefined && t.contains == null) throw new ValidationError('An attribute test gives equals or contains.', `${field}.${key}`);
      return { [key]: { key: t.key.trim(), ...(t.equals !== undefined ? { equals: t.equals } : {}), ...(t.contains != null ? { contains: t.contains } : {}) } } as Condition;
    }
    case 'conversation': {
      const f = value as LiveConversationFilter;
      if (f.kinds?.length || f.senderTypes?.length || f.assignee?.me != null) {
        throw new ValidationError('A rule\'s conversation condition takes no kinds, senderTypes or assignee.me: the trigger says which events, message conditions which senders.', `${field}.conversation`);
      }
      return { conversation: { ...f, kinds: null, senderTypes: null } };
    }
    default:
      throw new ValidationError(`Unknown condition ${String(key)}.`, field);
  }
}

export function checkConditions(c: Conditions | undefined, field = 'input.conditions'): Conditions {
  const all = c?.all ?? [];
  const any = c?.any ?? [];
  if (all.length + any.length > MAX_CONDITIONS) throw new ValidationError(`A rule has at most ${MAX_CONDITIONS} conditions.`, field);
  return { all: all.map((x, i) => checkCondition(x, `${field}.all.${i}`)), any: any.map((x, i) => checkCondition(x, `${field}.any.${i}`)) };
}

/** Checks the actions' shape; the rows they name (labels, users, canned responses) are checked in the transaction. */
export function checkActions(actions: AutomationAction[] | undefined, field = 'input.actions'): AutomationAction[] {
  if (!actions?.length || actions.length > MAX_ACTIONS) throw new ValidationError(`A rule has 1 to ${MAX_ACTIONS} actions.`, field);
  return actions.map((a, i) => {
    const f = `${field}.${i}`;
    const need = (ok: unknown, what: string) => {
      if (!ok) throw new ValidationError(`${a.type} needs ${what}.`, f);
    };
    switch (a.type) {
      case 'ADD_LABELS':
      case 'REMOVE_LABELS':
        need(a.labelIds?.length && a.labelIds.length <= LIMITS.idsPerCall, 'labelIds (1 to 100)');
        return { type: a.type, labelIds: [...new Set(a.labelIds)] };
      case 'SET_PRIORITY':
        need(a.priority, 'priority');
        return { type: a.type, priority: a.priority };
      case 'ASSIGN':
        need(a.userId, 'userId');
        return { type: a.type, userId: a.userId };
      case 'UNASSIGN':
        return { type: a.type };
      case 'CHANGE_STATUS':
        need(a.status && STATUS_ACTIONS.has(a.status), 'status (OPEN, PENDING, SNOOZED, RESOLVED or CLOSED)');
        if (a.status === 'RESOLVED') need(a.resolutionReason, 'resolutionReason to resolve');
        if (a.status === 'SNOOZED') need(a.snoozeMinutes && Number.isInteger(a.snoozeMinutes) && a.snoozeMinutes > 0 && a.snoozeMinutes <= 525_600, 'snoozeMinutes (1 to 525600) to snooze');
        return {
          type: a.type,
          status: a.status,
          ...(a.status === 'RESOLVED' ? { resolutionReason: a.resolutionReason } : {}),
          ...(a.status === 'SNOOZED' ? { snoozeMinutes: a.snoozeMinutes } : {}),
        };
      case 'ADD_NOTE':
        return { type: a.type, content: requiredText(a.content ?? '', `${f}.content`, LIMITS.note) };
      case 'SEND_MESSAGE':
        need(a.senderType === 'SYSTEM' || a.senderType === 'AI_AGENT', 'senderType SYSTEM or AI_AGENT');
        need((a.content != null) !== (a.cannedResponseId != null), 'content or cannedResponseId (one of them)');
        return {
          type: a.type,
          senderType: a.senderType,
          ...(a.content != null ? { content: requiredText(a.content, `${f}.content`, 10_000) } : { cannedResponseId: a.cannedResponseId }),
        };
      case 'START_HANDOFF':
      case 'END_HANDOFF':
        return { type: a.type, ...(a.reason?.trim() ? { reason: requiredText(a.reason, `${f}.reason`, 1000) } : {}) };
      case 'ASSIGN_LEAST_BUSY':
        need(a.userIds?.length && a.userIds.length <= MAX_WORDS, `userIds (1 to ${MAX_WORDS})`);
        return { type: a.type, userIds: [...new Set(a.userIds)] };
      case 'NOTIFY_WEBHOOK':
        need(a.endpointId, 'endpointId');
        return { type: a.type, endpointId: a.endpointId };
      case 'REQUEST_SURVEY':
        return { type: a.type };
      default:
        throw new ValidationError(`Unknown action ${String(a.type)}.`, f);
    }
  });
}

/** Whether the actions send a message (such a rule never answers an AI or SYSTEM message). */
export const sendsMessage = (actions: readonly AutomationAction[]) => actions.some((a) => a.type === 'SEND_MESSAGE');

async function currentSeq(tx: ScopedTx, workspaceId: string): Promise<bigint> {
  // Under the workspace counter row's lock, which every event takes its number under: no event can
  // commit later with a number at or below the one read here.
  const eventSeq = await lastCursor(tx, workspaceId, { lock: true });
  // The runner reads the workspace from here on (its position is created with the first rule).
  await tx.automationPosition.upsert({ where: { workspaceId }, create: { workspaceId, lastSeq: eventSeq }, update: {} });
  return eventSeq;
}

async function checkReferences(tx: ScopedTx, actions: AutomationAction[]) {
  for (const a of actions) {
    if (a.labelIds) {
      const found = await tx.label.count({ where: { id: { in: a.labelIds } } });
      if (found !== a.labelIds.length) throw new NotFoundError('Label', a.labelIds.join(', '));
    }
    if (a.userId && !(await tx.user.findUnique({ where: { id: a.userId }, select: { id: true } }))) throw new NotFoundError('User', a.userId);
    if (a.userIds) {
      const found = await tx.user.findMany({ where: { id: { in: a.userIds } }, select: { id: true } });
      if (found.length !== a.userIds.length) throw new NotFoundError('User', a.userIds.filter((id) => !found.some((u) => u.id === id)).join(', '));
    }
    if (a.endpointId && !(await tx.webhookEndpoint.findUnique({ where: { id: a.endpointId }, select: { id: true } }))) throw new NotFoundError('WebhookEndpoint', a.endpointId);
    if (a.cannedResponseId && !(await tx.cannedResponse.findUnique({ where: { id: a.cannedResponseId }, select: { id: true } }))) {
      throw new NotFoundError('CannedResponse', a.cannedResponseId);
    }
  }
}

function checkTrigger(trigger: AutomationTrigger, triggerStatus: ConversationStatus | null | undefined, thresholdSeconds: number | null | undefined) {
  if (triggerStatus != null && trigger !== 'STATUS_CHANGED') throw new ValidationError('triggerStatus goes with the STATUS_CHANGED trigger only.', 'input.triggerStatus');
  if (TIME_TRIGGERS.has(trigger)) {
    if (thresholdSeconds == null || !Number.isInteger(thresholdSeconds) || thresholdSeconds < 1 || thresholdSeconds > MAX_THRESHOLD_SECONDS) {
      throw new ValidationError(`${trigger} needs thresholdSeconds (1 to ${MAX_THRESHOLD_SECONDS}).`, 'input.thresholdSeconds');
    }
  } else if (thresholdSeconds != null) {
    throw new ValidationError('thresholdSeconds goes with the time-based triggers only (WAITING_FOR_REPLY, OPEN_UNASSIGNED, PENDING_TOO_LONG).', 'input.thresholdSeconds');
  }
}

const ruleListeners = new Set<() => void>();

/**
 * Calls `listener` after a rule is created or changed in this process (the runner, which stops
 * looking at commits while no rule is enabled anywhere, looks again at once). Returns the undo.
 */
export function onRulesChanged(listener: () => void): () => void {
  ruleListeners.add(listener);
  return () => ruleListeners.delete(listener);
}

function rulesChanged<T>(saved: T): T {
  for (const listener of ruleListeners) listener();
  return saved;
}

export async function createRule(sctx: ServiceContext, input: Required<Pick<RuleInput, 'name' | 'trigger' | 'actions'>> & RuleInput): Promise<AutomationRule> {
  const name = requiredText(input.name, 'input.name', 100);
  checkTrigger(input.trigger, input.triggerStatus, input.thresholdSeconds);
  const conditions = checkConditions(input.conditions);
  const actions = checkActions(input.actions);
  const saved = await inTransaction(sctx, async (tx) => {
    // The workspace counter row's lock first: two creations at once count and number the rules one after the other.
    const startSeq = await currentSeq(tx, sctx.workspaceId);
    await checkReferences(tx, actions);
    const count = await tx.automationRule.count();
    if (count >= MAX_RULES_PER_WORKSPACE) throw new ValidationError(`A workspace has at most ${MAX_RULES_PER_WORKSPACE} rules.`, 'input');
    const last = await tx.automationRule.aggregate({ _max: { position: true } });
    return tx.automationRule.create({
      data: {
        workspaceId: sctx.workspaceId,
        name,
        enabled: input.enabled ?? true,
        position: (last._max.position ?? 0) + 1,
        trigger: input.trigger,
        triggerStatus: input.triggerStatus ?? null,
        conditions: conditions as unknown as Prisma.InputJsonObject,
        actions: actions as unknown as Prisma.InputJsonArray,
        allowRuleEvents: input.allowRuleEvents ?? false,
        thresholdSeconds: input.thresholdSeconds ?? null,
        startSeq,
        startedAt: new Date(),
      },
    });
  });
  return rulesChanged(saved);
}

export async function updateRule(sctx: ServiceContext, ruleId: string, input: RuleInput): Promise<AutomationRule> {
  const name = input.name == null ? undefined : requiredText(input.name, 'input.name', 100);
  const conditions = input.conditions === undefined ? undefined : checkConditions(input.conditions);
  const actions = input.actions === undefined ? undefined : checkActions(input.actions);
  const saved = await inTransaction(sctx, async (tx) => {
    const rule = await tx.automationRule.findUnique({ where: { id: ruleId } });
    if (!rule) throw new NotFoundError('AutomationRule', ruleId);
    const trigger = input.trigger ?? rule.trigger;
    const changedTrigger = input.trigger && input.trigger !== rule.trigger;
    const triggerStatus = input.triggerStatus !== undefined ? input.triggerStatus : changedTrigger ? null : rule.triggerStatus;
    const thresholdSeconds = input.thresholdSeconds !== undefined ? input.thresholdSeconds : changedTrigger && !TIME_TRIGGERS.has(trigger) ? null : rule.thresholdSeconds;
    checkTrigger(trigger, triggerStatus, thresholdSeconds);
    if (actions) await checkReferences(tx, actions);
    const reenabled = input.enabled === true && !rule.enabled;
    // A rule that now fires on other events or episodes starts again: what happened before is not backfilled.
    const retriggered = trigger !== rule.trigger || triggerStatus !== rule.triggerStatus || thresholdSeconds !== rule.thresholdSeconds;
    return tx.automationRule.update({
      where: { id: ruleId },
      data: {
        ...(name !== undefined ? { name } : {}),
        ...(input.enabled != null ? { enabled: input.enabled } : {}),
        trigger,
        triggerStatus,
        thresholdSeconds,
        ...(conditions ? { conditions: conditions as unknown as Prisma.InputJsonObject } : {}),
        ...(actions ? { actions: actions as unknown as Prisma.InputJsonArray } : {}),
        ...(input.allowRuleEvents != null ? { allowRuleEvents: input.allowRuleEvents } : {}),
        // Re-enabled or retriggered: from the current cursor (under the workspace lock, as on
        // create), no backfill of what happened while it was off or fired on something else.
        ...(reenabled || retriggered ? { startSeq: await currentSeq(tx, sctx.workspaceId), startedAt: new Date() } : {}),
      },
    });
  });
  return rulesChanged(saved);
}

export async function deleteRule(sctx: ServiceContext, ruleId: string): Promise<void> {
  await inTransaction(sctx, async (tx) => {
    const { count } = await tx.automationRule.deleteMany({ where: { id: ruleId } });
    if (!count) throw new NotFoundError('AutomationRule', ruleId);
  });
}

/** Puts the named rules first, in the order given; the others keep their order after them. */
export async function reorderRules(sctx: ServiceContext, ruleIds: string[]): Promise<AutomationRule[]> {
  if (!ruleIds.length || ruleIds.length > MAX_RULES_PER_WORKSPACE || new Set(ruleIds).size !== ruleIds.length) {
    throw new ValidationError(`Give 1 to ${MAX_RULES_PER_WORKSPACE} distinct rule ids.`, 'input.ruleIds');
  }
  return inTransaction(sctx, async (tx) => {
    const rules = await tx.automationRule.findMany({ orderBy: [{ position: 'asc' }, { id: 'asc' }] });
    const byId = new Map(rules.map((r) => [r.id, r]));
    const missing = ruleIds.find((id) => !byId.has(id));
    if (missing) throw new NotFoundError('AutomationRule', missing);
    const order = [...ruleIds, ...rules.map((r) => r.id).filter((id) => !ruleIds.includes(id))];
    for (const [i, id] of order.entries()) {
      if (byId.get(id)!.position !== i + 1) await tx.automationRule.update({ where: { id }, data: { position: i + 1 } });
    }
    return tx.automationRule.findMany({ orderBy: { position: 'asc' } });
  });
}

// ---- evaluating and running ------------------------------------------------------------

/** What the conditions look at: the conversation as it is now, the event's message, the contact. */
export async function loadFacts(db: ScopedDb | ScopedTx, conversation: Conversation, messageId: string | null): Promise<Facts> {
  // One after the other: inside a transaction they share one connection, where pg queues
  // concurrent queries only with a deprecation warning (an error in pg 9).
  const labels = await db.label.findMany({ where: { conversations: { some: { id: conversation.id } } }, select: { id: true } });
  const message = messageId ? await db.message.findUnique({ where: { id: messageId }, select: { content: true, senderType: true, contentType: true } }) : null;
  const contact = await db.contact.findUnique({ where: { id: conversation.contactId }, select: { email: true, customAttributes: true } });
  const inbox = await db.inbox.findUnique({ where: { id: conversation.inboxId }, select: { channel: true } });
  return {
    conversation: {
      inboxId: conversation.inboxId,
      channel: inbox?.channel ?? '',
      status: conversation.status,
      priority: conversation.priority,
      controller: conversation.controller,
      assigneeId: conversation.assigneeId,
      contactId: conversation.contactId,
      labelIds: labels.map((l) => l.id),
      customAttributes: conversation.customAttributes,
    },
    message,
    contact,
  };
}

export const rulesConditions = (rule: Pick<AutomationRule, 'conditions'>) => rule.conditions as unknown as Conditions;
export const rulesActions = (rule: Pick<AutomationRule, 'actions'>) => rule.actions as unknown as AutomationAction[];

/** A one-line account of an action, for the run log and dry runs. */
export function describeAction(a: AutomationAction): string {
  switch (a.type) {
    case 'ADD_LABELS':
    case 'REMOVE_LABELS':
      return `${a.type} ${a.labelIds!.length}`;
    case 'SET_PRIORITY':
      return `SET_PRIORITY ${a.priority}`;
    case 'ASSIGN':
      return 'ASSIGN';
    case 'CHANGE_STATUS':
      return `CHANGE_STATUS ${a.status}${a.resolutionReason ? ` ${a.resolutionReason}` : ''}${a.snoozeMinutes ? ` ${a.snoozeMinutes}m` : ''}`;
    case 'SEND_MESSAGE':
      return `SEND_MESSAGE as ${a.senderType}`;
    case 'ASSIGN_LEAST_BUSY':
      return `ASSIGN_LEAST_BUSY among ${a.userIds!.length}`;
    default:
      return a.type;
  }
}

/**
 * Applies a rule's actions to a locked conversation, in the caller's transaction, with the
 * rule as the context's actor. A domain failure throws (the caller rolls everything back).
 */
export async function applyActions(
  tx: ScopedTx,
  events: EventLog,
  sctx: ServiceContext,
  locked: Conversation,
  actions: readonly AutomationAction[],
  subject: RunSubject,
): Promise<string[]> {
  let c = locked;
  const applied: string[] = [];
  for (const a of actions) {
    switch (a.type) {
      case 'ADD_LABELS':
        c = await applyLabelChange(tx, events, sctx.workspaceId, c, { add: a.labelIds }, 'actions.labelIds');
        break;
      case 'REMOVE_LABELS':
        c = await applyLabelChange(tx, events, sctx.workspaceId, c, { remove: a.labelIds }, 'actions.labelIds');
        break;
      case 'SET_PRIORITY':
        c = await applyPriority(tx, events, c, a.priority!);
        break;
      case 'ASSIGN':
        c = await applyAssignment(tx, events, c, a.userId!, null);
        break;
      case 'UNASSIGN':
        c = await applyAssignment(tx, events, c, null, null);
        break;
      case 'CHANGE_STATUS': {
        const change: LifecycleChange =
          a.status === 'RESOLVED'
            ? { to: 'RESOLVED', reason: a.resolutionReason!, note: null }
            : a.status === 'SNOOZED'
              ? { to: 'SNOOZED', until: new Date(Date.now() + a.snoozeMinutes! * 60_000), note: null }
              : { to: a.status as Exclude<ConversationStatus, 'RESOLVED' | 'SNOOZED'>, note: null };
        c = await applyLifecycleChange(tx, events, sctx, c, change);
        break;
      }
      case 'ADD_NOTE':
        c = (await addMessage(tx, events, sctx, c, validateMessage({ content: a.content, senderType: 'SYSTEM', private: true }), {})).conversation;
        break;
      case 'SEND_MESSAGE': {
        let message = validateMessage({ content: a.content ?? '-', senderType: a.senderType! });
        if (a.cannedResponseId) message = withRenderedContent(message, await renderCannedResponse(tx, a.cannedResponseId, c, null));
        c = (await addMessage(tx, events, sctx, c, message, {})).conversation;
        break;
      }
      case 'START_HANDOFF':
        c = (await applyStartHandoff(tx, events, sctx, c, { reason: a.reason ?? null, summary: null })).conversation;
        break;
      case 'END_HANDOFF':
        c = (await applyStopHandoff(tx, events, sctx, c, a.reason ?? null)).conversation;
        break;
      case 'ASSIGN_LEAST_BUSY': {
        const chosen = await leastBusyOnline(tx, a.userIds!, c.id);
        if (!chosen) {
          applied.push('ASSIGN_LEAST_BUSY skipped: none of them is ONLINE');
          continue;
        }
        c = await applyAssignment(tx, events, c, chosen, null);
        break;
      }
      case 'NOTIFY_WEBHOOK':
        if (!(await queueRuleNotification(tx, sctx.workspaceId, a.endpointId!, { ...subject, conversation: c }))) {
          applied.push('NOTIFY_WEBHOOK skipped: the endpoint is disabled');
          continue;
        }
        break;
      case 'REQUEST_SURVEY':
        // Once per resolution: a resolution that has its survey (asked on resolving, say) gets no other.
        c = (await requestSurvey(tx, events, sctx, c)).conversation;
        break;
    }
    applied.push(describeAction(a));
  }
  return applied;
}

/**
 * The ONLINE one of `userIds` with the fewest OPEN conversations assigned (the conversation
 * at hand not counted), the earlier in the list on a tie; null when none is ONLINE.
 */
export async function leastBusyOnline(tx: ScopedTx, userIds: readonly string[], conversationId: string): Promise<string | null> {
  const online = await tx.user.findMany({ where: { id: { in: [...userIds] }, availability: 'ONLINE' }, select: { id: true } });
  if (!online.length) return null;
  const counts = await tx.conversation.groupBy({
    by: ['assigneeId'],
    where: { assigneeId: { in: online.map((u) => u.id) }, status: 'OPEN', id: { not: conversationId } },
    _count: { _all: true },
  });
  const load = new Map(counts.map((c) => [c.assigneeId, c._count._all]));
  const candidates = userIds.filter((id) => online.some((u) => u.id === id));
  return candidates.reduce((best, id) => ((load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best), candidates[0]!);
}

export interface DryRun extends Verdict {
  ruleId: string;
  conversationId: string;
  /** The actions it would apply (empty when it does not match). */
  actions: string[];
}

/** Evaluates a rule's conditions against a conversation as it is now; writes nothing. */
export async function dryRunRule(sctx: ServiceContext, ruleId: string, conversationId: string): Promise<DryRun> {
  const rule = await sctx.db.automationRule.findUnique({ where: { id: ruleId } });
  if (!rule) throw new NotFoundError('AutomationRule', ruleId);
  const conversation = await sctx.db.conversation.findUnique({ where: { id: conversationId } });
  if (!conversation) throw new NotFoundError('Conversation', conversationId);
  const message = conversation.lastMessageId;
  const verdict = evaluateConditions(rulesConditions(rule), await loadFacts(sctx.db, conversation, message));
  return { ...verdict, ruleId, conversationId, actions: verdict.matched ? rulesActions(rule).map(describeAction) : [] };
}


