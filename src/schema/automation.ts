// Automation rules: the AutomationRule node, automationRules, the run log automationRuns, the
// managing mutations and dryRunAutomationRule. Everything needs the admin scope. Rules are
// checked and applied in src/services/automation.ts; run by src/workers/automation-runner.ts.
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.js';
import { serviceContext, type Context } from '../context.js';
import { CannedResponseNotInInboxError, NotFoundError, ValidationError } from '../errors.js';
import type { AutomationTrigger } from '../generated/prisma/client.js';
import type { Condition, Conditions } from '../services/automation-conditions.js';
import {
  createRule,
  deleteRule,
  dryRunRule,
  reorderRules,
  rulesActions,
  rulesConditions,
  updateRule,
  type AutomationAction,
  type AutomationActionType,
  type DryRun,
  type RuleInput,
} from '../services/automation.js';
import { ContentTypeEnum, ConversationStatusEnum, PriorityEnum, ResolutionReasonEnum, SenderTypeEnum } from './enums.js';
import { decodeId, decodeIds, decodeOptionalId, mutationErrors } from './mutations.js';
import { localId } from './ids.js';
import { MUTATION_NULL, READ_NULL } from './nullability.js';
import { ConversationEventFilterInput, parseEventFilter } from './subscriptions.js';

const TRIGGERS: Record<AutomationTrigger, string> = {
  CONVERSATION_CREATED: 'A conversation was created.',
  MESSAGE_RECEIVED: 'The contact sent a message.',
  MESSAGE_SENT: 'A team member or the AI sent a message (not an internal note).',
  STATUS_CHANGED: 'The status changed (to triggerStatus, when set).',
  ASSIGNED: 'The assignee changed.',
  LABELS_CHANGED: 'The labels changed.',
  PRIORITY_CHANGED: 'The priority changed.',
  HANDOFF_STARTED: 'A human took control from the AI.',
  HANDOFF_COMPLETED: 'A human gave control back to the AI.',
  SNOOZE_WOKE: "A snoozed conversation's time came and Parley reopened it.",
  WAITING_FOR_REPLY: 'Time-based: the contact has waited for a reply (an open conversation, its oldest unanswered message) longer than thresholdSeconds. Once per wait.',
  OPEN_UNASSIGNED: 'Time-based: the conversation has been open and unassigned longer than thresholdSeconds. Once per such stretch.',
  PENDING_TOO_LONG: 'Time-based: the conversation has been pending longer than thresholdSeconds. Once per such stretch.',
};

export const AutomationTriggerEnum = builder.enumType('AutomationTrigger', {
  description: 'The kind of timeline event that starts a rule.',
  values: Object.fromEntries(Object.entries(TRIGGERS).map(([k, d]) => [k, { value: k, description: d }])) as Record<AutomationTrigger, { value: AutomationTrigger; description: string }>,
});

const ACTIONS: Record<AutomationActionType, string> = {
  ADD_LABELS: 'Add labelIds.',
  REMOVE_LABELS: 'Remove labelIds.',
  SET_PRIORITY: 'Set priority.',
  ASSIGN: 'Assign to userId.',
  UNASSIGN: 'Remove the assignee.',
  CHANGE_STATUS: 'Move to status: RESOLVED needs resolutionReason, SNOOZED needs snoozeMinutes; OPEN, PENDING and CLOSED need nothing more.',
  ADD_NOTE: 'Add an internal note with content.',
  SEND_MESSAGE: 'Send a message as senderType (SYSTEM or AI_AGENT): content, or the rendered cannedResponseId.',
  START_HANDOFF: 'Hand the conversation to a human, with an optional reason.',
  END_HANDOFF: 'Give the conversation back to the AI, with an optional reason (kept as the note).',
  ASSIGN_LEAST_BUSY:
    'Assign to the ONLINE one of userIds with the fewest OPEN conversations assigned (the earlier in the list on a tie); skipped (and said so in the run log) when none is ONLINE.',
  NOTIFY_WEBHOOK:
    'Queue a delivery to the webhook endpoint endpointId, in the run\'s transaction (sent once per run, retried like any delivery): type AUTOMATION_RULE, with the rule, the conversation id and the triggering event or episode start. Skipped when the endpoint is disabled.',
  REQUEST_SURVEY:
    "Send the contact the satisfaction survey of the conversation's resolution (e.g. on STATUS_CHANGED to RESOLVED): once per resolution, nothing when it has one already; a run on a conversation that is not RESOLVED fails.",
};

export const AutomationActionTypeEnum = builder.enumType('AutomationActionType', {
  description: 'What an action of a rule does.',
  values: Object.fromEntries(Object.entries(ACTIONS).map(([k, d]) => [k, { value: k, description: d }])) as Record<AutomationActionType, { value: AutomationActionType; description: string }>,
});

export const AutomationRunOutcomeEnum = builder.enumType('AutomationRunOutcome', {
  description: 'How a run of a rule on an event ended.',
  values: {
    MATCHED: { description: 'The conditions held and every action was applied, in one transaction.' },
    NOT_MATCHED: { description: 'The conditions did not hold, or a loop guard stopped it (see reason); nothing was changed.' },
    FAILED: { description: 'An action failed (see error); nothing was changed.' },
  } as const,
});

const AttributeTestInput = builder.inputType('AutomationAttributeTestInput', {
  description: 'A custom attribute test: give equals, contains, or both.',
  fields: (t) => ({
    key: t.string({ required: true, description: 'The attribute key.' }),
    equals: t.field({ type: 'JSONObject', required: false, description: 'Holds when the attribute equals this value: give it as {"value": ...}.' }),
    contains: t.string({ required: false, description: 'Holds when the attribute, as text, contains this (case-insensitive).' }),
  }),
});

const ConditionInput = builder.inputType('AutomationConditionInput', {
  description: 'One condition of a rule: set exactly one field.',
  fields: (t) => ({
    conversation: t.field({
      type: ConversationEventFilterInput,
      required: false,
      description: 'The conversation matches this filter (inbox, channel, status, priority, labels, assignee incl. unassigned, controller); kinds, senderTypes and assignee.me are refused.',
    }),
    messageContainsAny: t.stringList({ required: false, description: "The event's message contains any of these words (case-insensitive, also inside words)." }),
    messageSenderTypes: t.field({ type: [SenderTypeEnum], required: false, description: "The event's message was sent by one of these." }),
    messageContentTypes: t.field({ type: [ContentTypeEnum], required: false, description: "The event's message is of one of these content types." }),
    contactEmailDomains: t.stringList({ required: false, description: "The contact's email is at one of these domains (example.com)." }),
    contactAttribute: t.field({ type: AttributeTestInput, required: false, description: 'A custom attribute of the contact.' }),
    conversationAttribute: t.field({ type: AttributeTestInput, required: false, description: 'A custom attribute of the conversation.' }),
  }),
});

const ConditionsInput = builder.inputType('AutomationConditionsInput', {
  description: 'When a rule applies: every `all` condition holds, and one of `any` (when any are given). None: always.',
  fields: (t) => ({
    all: t.field({ type: [ConditionInput], required: false, description: 'Conditions that must all hold.' }),
    any: t.field({ type: [ConditionInput], required: false, description: 'Conditions of which at least one must hold (ignored when empty).' }),
  }),
});

const ActionInput = builder.inputType('AutomationActionInput', {
  description: 'One action of a rule: its type, and the fields that type uses (see AutomationActionType).',
  fields: (t) => ({
    type: t.field({ type: AutomationActionTypeEnum, required: true, description: 'What the action does.' }),
    labelIds: t.idList({ required: false, description: 'For ADD_LABELS and REMOVE_LABELS: the labels.' }),
    priority: t.field({ type: PriorityEnum, required: false, description: 'For SET_PRIORITY.' }),
    userId: t.id({ required: false, description: 'For ASSIGN: the team member.' }),
    status: t.field({ type: ConversationStatusEnum, required: false, description: 'For CHANGE_STATUS.' }),
    resolutionReason: t.field({ type: ResolutionReasonEnum, required: false, description: 'For CHANGE_STATUS to RESOLVED.' }),
    snoozeMinutes: t.int({ required: false, description: 'For CHANGE_STATUS to SNOOZED: for how long, 1 to 525600 minutes.' }),
    content: t.string({ required: false, description: 'For ADD_NOTE and SEND_MESSAGE: the text.' }),
    cannedResponseId: t.id({ required: false, description: 'For SEND_MESSAGE instead of content: a canned response, rendered for the conversation.' }),
    senderType: t.field({ type: SenderTypeEnum, required: false, description: 'For SEND_MESSAGE: SYSTEM or AI_AGENT.' }),
    reason: t.string({ required: false, description: 'For START_HANDOFF and END_HANDOFF.' }),
    userIds: t.idList({ required: false, description: 'For ASSIGN_LEAST_BUSY: the team members to choose among (1 to 50), in order of preference on a tie.' }),
    endpointId: t.id({ required: false, description: 'For NOTIFY_WEBHOOK: the webhook endpoint of this workspace.' }),
  }),
});

type ConditionArg = typeof ConditionInput.$inferInput;
type ActionArg = typeof ActionInput.$inferInput;

function toCondition(c: ConditionArg, ctx: Context): Condition {
  const attribute = (a: typeof c.contactAttribute) =>
    a ? { key: a.key, ...(a.equals != null ? { equals: (a.equals as Record<string, unknown>).value } : {}), contains: a.contains ?? null } : undefined;
  return {
    ...(c.conversation != null ? { conversation: parseEventFilter(c.conversation, ctx) } : {}),
    ...(c.messageContainsAny != null ? { messageContainsAny: c.messageContainsAny } : {}),
    ...(c.messageSenderTypes != null ? { messageSenderTypes: c.messageSenderTypes } : {}),
    ...(c.messageContentTypes != null ? { messageContentTypes: c.messageContentTypes } : {}),
    ...(c.contactEmailDomains != null ? { contactEmailDomains: c.contactEmailDomains } : {}),
    ...(c.contactAttribute != null ? { contactAttribute: attribute(c.contactAttribute) } : {}),
    ...(c.conversationAttribute != null ? { conversationAttribute: attribute(c.conversationAttribute) } : {}),
  };
}

function toConditions(c: typeof ConditionsInput.$inferInput | null | undefined, ctx: Context): Conditions | undefined {
  if (c === undefined) return undefined;
  return { all: (c?.all ?? []).map((x) => toCondition(x, ctx)), any: (c?.any ?? []).map((x) => toCondition(x, ctx)) };
}

function toAction(a: ActionArg, ctx: Context): AutomationAction {
  return {
    type: a.type,
    ...(a.labelIds ? { labelIds: decodeIds(a.labelIds, 'Label', ctx) } : {}),
    ...(a.priority ? { priority: a.priority } : {}),
    ...(a.userId ? { userId: decodeId(a.userId, 'User', ctx) } : {}),
    ...(a.status ? { status: a.status } : {}),
    ...(a.resolutionReason ? { resolutionReason: a.resolutionReason } : {}),
    ...(a.snoozeMinutes != null ? { snoozeMinutes: a.snoozeMinutes } : {}),
    ...(a.content != null ? { content: a.content } : {}),
    ...(a.cannedResponseId ? { cannedResponseId: decodeOptionalId(a.cannedResponseId, 'CannedResponse', ctx)! } : {}),
    ...(a.senderType ? { senderType: a.senderType as 'SYSTEM' } : {}),
    ...(a.reason != null ? { reason: a.reason } : {}),
    ...(a.userIds ? { userIds: decodeIds(a.userIds, 'User', ctx) } : {}),
    ...(a.endpointId ? { endpointId: decodeId(a.endpointId, 'WebhookEndpoint', ctx) } : {}),
  };
}

const globals = (type: string, ids: readonly string[] | null | undefined) => (ids ? ids.map((id) => encodeGlobalID(type, id)) : ids);

/** A saved action as callers know it: ids as global ids. */
function actionOut(a: AutomationAction): Record<string, unknown> {
  return {
    ...a,
    ...(a.labelIds ? { labelIds: globals('Label', a.labelIds) } : {}),
    ...(a.userId ? { userId: encodeGlobalID('User', a.userId) } : {}),
    ...(a.userIds ? { userIds: globals('User', a.userIds) } : {}),
    ...(a.endpointId ? { endpointId: encodeGlobalID('WebhookEndpoint', a.endpointId) } : {}),
    ...(a.cannedResponseId ? { cannedResponseId: encodeGlobalID('CannedResponse', a.cannedResponseId) } : {}),
  };
}

/** A saved condition as callers know it: ids as global ids. */
function conditionOut(c: Condition): Record<string, unknown> {
  const f = c.conversation;
  if (!f) return { ...c };
  return {
    conversation: {
      ...f,
      inboxIds: globals('Inbox', f.inboxIds),
      contactIds: globals('Contact', f.contactIds),
      assignee: f.assignee ? { ...f.assignee, userIds: globals('User', f.assignee.userIds) } : f.assignee,
      labels: f.labels ? { anyOf: globals('Label', f.labels.anyOf), allOf: globals('Label', f.labels.allOf), noneOf: globals('Label', f.labels.noneOf) } : f.labels,
    },
  };
}

export const AutomationRuleNode = builder.prismaNode('AutomationRule', {
  description: "A workspace's own routine: on a trigger, when the conditions hold, Parley does the actions, as the rule (actor AUTOMATION). See the README, \"Automation rules\".",
  authScopes: { scope: 'ADMIN' },
  nullable: true,
  id: { field: 'id', description: 'Global id of the rule.' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'A name for people.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Whether it runs. Re-enabled, it starts from the current cursor: no backfill.' }),
    position: t.exposeInt('position', { description: 'Rules run in ascending position (1 first).' }),
    trigger: t.expose('trigger', { type: AutomationTriggerEnum, description: 'What starts it.' }),
    triggerStatus: t.expose('triggerStatus', { type: ConversationStatusEnum, nullable: true, description: 'For STATUS_CHANGED: only changes to this status; null for any.' }),
    thresholdSeconds: t.exposeInt('thresholdSeconds', {
      nullable: true,
      description: 'For the time-based triggers: how long the condition holds before the rule runs, in seconds; null for the others.',
    }),
    conditions: t.field({
      type: 'JSONObject',
      description: 'The conditions as saved: {all: [...], any: [...]}, each condition with the one field it sets (ids are global ids).',
      resolve: (r) => {
        const c = rulesConditions(r);
        return { all: c.all.map(conditionOut), any: c.any.map(conditionOut) };
      },
    }),
    actions: t.field({
      type: ['JSONObject'],
      description: 'The actions as saved, in order, with the fields of AutomationActionInput they use (ids are global ids).',
      resolve: (r) => rulesActions(r).map(actionOut),
    }),
    allowRuleEvents: t.exposeBoolean('allowRuleEvents', { description: 'Whether events caused by rules trigger it (a chain stops at depth 3).' }),
    startCursor: t.string({ description: 'The timeline cursor it started (or was re-enabled) at: it runs on later events.', resolve: (r) => r.startSeq.toString() }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the rule was created.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed.' }),
  }),
});

builder.prismaObject('AutomationRun', {
  description: 'One rule on one event: whether it matched and why, what it did, or why it failed.',
  fields: (t) => ({
    rule: t.relation('rule', { description: 'The rule.' }),
    eventId: t.id({
      nullable: true,
      description: 'Global id of the triggering timeline event (a TimelineEvent); null for a time-based run.',
      resolve: (r) => (r.eventId ? encodeGlobalID('TimelineEvent', r.eventId) : null),
    }),
    eventCursor: t.string({ nullable: true, description: "The triggering event's timeline cursor; null for a time-based run.", resolve: (r) => r.eventSeq?.toString() ?? null }),
    episodeStart: t.expose('episodeStart', {
      type: 'DateTime',
      nullable: true,
      description: 'For a time-based run: when the condition started to hold (a rule runs once per such episode); null otherwise.',
    }),
    conversationId: t.id({
      nullable: true,
      description: 'Global id of the conversation; null for none.',
      resolve: (r) => (r.conversationId ? encodeGlobalID('Conversation', r.conversationId) : null),
    }),
    outcome: t.expose('outcome', { type: AutomationRunOutcomeEnum, description: 'How it ended.' }),
    reason: t.exposeString('reason', { description: 'Why: the condition that failed, what held, or the loop guard that stopped it.' }),
    actionsApplied: t.stringList({ description: 'The actions applied (MATCHED runs), one line each.', resolve: (r) => r.actionsApplied as string[] }),
    error: t.exposeString('error', { nullable: true, description: 'For FAILED runs: the error code and message; null otherwise.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it ran.' }),
  }),
});

builder.queryField('automationRules', (t) =>
  t.prismaConnection({
    type: 'AutomationRule',
    cursor: 'id',
    description: "The workspace's automation rules, in the order they run. Needs the admin scope." + READ_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    resolve: (query, _r, _a, ctx) => ctx.db.automationRule.findMany({ ...query, orderBy: [{ position: 'asc' }, { id: 'asc' }] }),
  }),
);

builder.queryField('automationRuns', (t) =>
  t.prismaConnection({
    type: 'AutomationRun',
    cursor: 'id',
    description: 'The run log, newest first: every (rule, event) whose trigger fired. Needs the admin scope.' + READ_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: {
      ruleId: t.arg.id({ required: false, description: 'Only runs of this rule.' }),
      conversationId: t.arg.id({ required: false, description: 'Only runs on this conversation.' }),
    },
    resolve: (query, _r, args, ctx) =>
      ctx.db.automationRun.findMany({
        ...query,
        where: {
          ...(args.ruleId ? { ruleId: localId(args.ruleId, 'AutomationRule', 'ruleId') } : {}),
          ...(args.conversationId ? { conversationId: localId(args.conversationId, 'Conversation', 'conversationId') } : {}),
        },
        orderBy: { id: 'desc' },
      }),
  }),
);

// ---- managing ---------------------------------------------------------------------------

const RulePayload = (name: string, description: string) =>
  builder.objectRef<{ ruleId: string }>(name).implement({
    description,
    fields: (t) => ({
      rule: t.prismaField({
        type: 'AutomationRule',
        description: 'The rule, as it is now.',
        resolve: (query, r, _a, ctx) => ctx.db.automationRule.findUniqueOrThrow({ ...query, where: { id: r.ruleId } }),
      }),
    }),
  });

const CreateRuleInput = builder.inputType('CreateAutomationRuleInput', {
  description: 'A new automation rule; it runs on events after it is created (no backfill) and goes last in the order.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'A name, at most 100 characters.' }),
    enabled: t.boolean({ required: false, description: 'Whether it runs; true when absent.' }),
    trigger: t.field({ type: AutomationTriggerEnum, required: true, description: 'What starts it.' }),
    triggerStatus: t.field({ type: ConversationStatusEnum, required: false, description: 'For STATUS_CHANGED: only changes to this status.' }),
    thresholdSeconds: t.int({ required: false, description: 'For the time-based triggers (and only them): how long the condition holds before the rule runs, 1 to 2592000 seconds.' }),
    conditions: t.field({ type: ConditionsInput, required: false, description: 'When it applies; absent: always. At most 20 conditions.' }),
    actions: t.field({ type: [ActionInput], required: true, description: 'What it does, in order: 1 to 10 actions, all in one transaction.' }),
    allowRuleEvents: t.boolean({ required: false, description: 'Let events caused by rules trigger it (chains stop at depth 3); false when absent.' }),
  }),
});

const MANAGE_ERRORS = [ValidationError, NotFoundError];

builder.mutationField('createAutomationRule', (t) =>
  t.field({
    type: RulePayload('CreateAutomationRulePayload', 'The new rule.'),
    description: 'Creates an automation rule. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: CreateRuleInput, required: true, description: 'The rule.' }) },
    errors: mutationErrors('createAutomationRule', MANAGE_ERRORS),
    resolve: async (_root, { input }, ctx) => {
      const rule = await createRule(serviceContext(ctx), {
        name: input.name,
        enabled: input.enabled ?? true,
        trigger: input.trigger,
        triggerStatus: input.triggerStatus ?? null,
        thresholdSeconds: input.thresholdSeconds ?? null,
        conditions: toConditions(input.conditions ?? null, ctx),
        actions: input.actions.map((a) => toAction(a, ctx)),
        allowRuleEvents: input.allowRuleEvents ?? false,
      });
      return { ruleId: rule.id };
    },
  }),
);

const UpdateRuleInput = builder.inputType('UpdateAutomationRuleInput', {
  description: 'Changes to a rule; absent fields stay as they are.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The rule.' }),
    name: t.string({ required: false, description: 'New name.' }),
    enabled: t.boolean({ required: false, description: 'Enable or disable it; re-enabled, it starts from the current cursor.' }),
    trigger: t.field({ type: AutomationTriggerEnum, required: false, description: 'New trigger (clears triggerStatus unless given).' }),
    triggerStatus: t.field({ type: ConversationStatusEnum, required: false, description: 'For STATUS_CHANGED; null for any status.' }),
    thresholdSeconds: t.int({ required: false, description: 'For the time-based triggers: the new threshold in seconds.' }),
    conditions: t.field({ type: ConditionsInput, required: false, description: 'New conditions, replacing the current ones.' }),
    actions: t.field({ type: [ActionInput], required: false, description: 'New actions, replacing the current ones.' }),
    allowRuleEvents: t.boolean({ required: false, description: 'Whether events caused by rules trigger it.' }),
  }),
});

builder.mutationField('updateAutomationRule', (t) =>
  t.field({
    type: RulePayload('UpdateAutomationRulePayload', 'The updated rule.'),
    description: 'Changes an automation rule. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: UpdateRuleInput, required: true, description: 'The changes.' }) },
    errors: mutationErrors('updateAutomationRule', MANAGE_ERRORS),
    resolve: async (_root, { input }, ctx) => {
      const change: RuleInput = {
        ...(input.name != null ? { name: input.name } : {}),
        ...(input.enabled != null ? { enabled: input.enabled } : {}),
        ...(input.trigger != null ? { trigger: input.trigger } : {}),
        ...(input.triggerStatus !== undefined ? { triggerStatus: input.triggerStatus } : {}),
        ...(input.thresholdSeconds !== undefined ? { thresholdSeconds: input.thresholdSeconds } : {}),
        ...(input.conditions !== undefined ? { conditions: toConditions(input.conditions, ctx) } : {}),
        ...(input.actions != null ? { actions: input.actions.map((a) => toAction(a, ctx)) } : {}),
        ...(input.allowRuleEvents != null ? { allowRuleEvents: input.allowRuleEvents } : {}),
      };
      const rule = await updateRule(serviceContext(ctx), decodeId(input.ruleId, 'AutomationRule', ctx), change);
      return { ruleId: rule.id };
    },
  }),
);

const DeleteRuleInput = builder.inputType('DeleteAutomationRuleInput', {
  description: 'The rule to delete.',
  fields: (t) => ({ ruleId: t.id({ required: true, description: 'The rule.' }) }),
});

const DeleteRulePayload = builder.objectRef<{ ruleId: string }>('DeleteAutomationRulePayload').implement({
  description: 'What was deleted.',
  fields: (t) => ({
    deletedRuleId: t.id({ description: 'Global id of the deleted rule.', resolve: (r) => encodeGlobalID('AutomationRule', r.ruleId) }),
  }),
});

builder.mutationField('deleteAutomationRule', (t) =>
  t.field({
    type: DeleteRulePayload,
    description: 'Deletes an automation rule and its run log; what it did stays on the timeline. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: DeleteRuleInput, required: true, description: 'The rule.' }) },
    errors: mutationErrors('deleteAutomationRule', [NotFoundError]),
    resolve: async (_root, { input }, ctx) => {
      const ruleId = decodeId(input.ruleId, 'AutomationRule', ctx);
      await deleteRule(serviceContext(ctx), ruleId);
      return { ruleId };
    },
  }),
);

const ReorderRulesInput = builder.inputType('ReorderAutomationRulesInput', {
  description: 'A new order.',
  fields: (t) => ({ ruleIds: t.idList({ required: true, description: 'These rules first, in this order; the others keep their order after them.' }) }),
});

const ReorderRulesPayload = builder.objectRef<{ ok: true }>('ReorderAutomationRulesPayload').implement({
  description: 'The rules in their new order.',
  fields: (t) => ({
    rules: t.prismaField({
      type: ['AutomationRule'],
      description: 'Every rule of the workspace, in the order they run.',
      resolve: (query, _r, _a, ctx) => ctx.db.automationRule.findMany({ ...query, orderBy: [{ position: 'asc' }, { id: 'asc' }] }),
    }),
  }),
});

builder.mutationField('reorderAutomationRules', (t) =>
  t.field({
    type: ReorderRulesPayload,
    description: 'Changes the order rules run in. Needs the admin scope.' + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: ReorderRulesInput, required: true, description: 'The order.' }) },
    errors: mutationErrors('reorderAutomationRules', MANAGE_ERRORS),
    resolve: async (_root, { input }, ctx) => {
      await reorderRules(serviceContext(ctx), decodeIds(input.ruleIds, 'AutomationRule', ctx));
      return { ok: true as const };
    },
  }),
);

const DryRunInput = builder.inputType('DryRunAutomationRuleInput', {
  description: 'A rule and a conversation to evaluate it against.',
  fields: (t) => ({
    ruleId: t.id({ required: true, description: 'The rule.' }),
    conversationId: t.id({ required: true, description: 'The conversation; message conditions look at its last message.' }),
  }),
});

const DryRunPayload = builder.objectRef<DryRun>('DryRunAutomationRulePayload').implement({
  description: 'What the rule would do to the conversation now. Nothing was written.',
  fields: (t) => ({
    matched: t.exposeBoolean('matched', { description: 'Whether the conditions hold.' }),
    reason: t.exposeString('reason', { description: 'Why: the condition that failed, or what held.' }),
    actions: t.exposeStringList('actions', { description: 'The actions it would apply, one line each; empty when it does not match.' }),
    ruleId: t.id({ description: 'Global id of the rule.', resolve: (r) => encodeGlobalID('AutomationRule', r.ruleId) }),
    conversationId: t.id({ description: 'Global id of the conversation.', resolve: (r) => encodeGlobalID('Conversation', r.conversationId) }),
  }),
});

builder.mutationField('dryRunAutomationRule', (t) =>
  t.field({
    type: DryRunPayload,
    description: "Evaluates a rule's conditions against a conversation as it is now (its last message for message conditions) and answers what it would do, without doing it. Needs the admin scope." + MUTATION_NULL,
    nullable: true,
    authScopes: { scope: 'ADMIN' },
    args: { input: t.arg({ type: DryRunInput, required: true, description: 'The rule and the conversation.' }) },
    errors: mutationErrors('dryRunAutomationRule', [NotFoundError, CannedResponseNotInInboxError]),
    resolve: (_root, { input }, ctx) =>
      dryRunRule(serviceContext(ctx), decodeId(input.ruleId, 'AutomationRule', ctx), decodeId(input.conversationId, 'Conversation', ctx)),
  }),
);
