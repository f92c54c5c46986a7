// Automation rules through the HTTP server: managing them (admin scope), each trigger,
// condition and action, a domain failure that changes nothing, the loop guards (a rule written
// to loop stops at depth 3; a rule that sends never answers the AI), the dry run, and another
// workspace, the hourly cap, events read twice (exactly once) and no backfill; the snooze and
// time-based triggers (once per episode), least-busy assignment, webhook notification through a
// real receiver, and erasure. Effects are awaited by polling the run log, never by sleeping.
// Time-based rules use a threshold of 1 second and a 200 ms scan: no clock is mocked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { executeRun } from '../src/workers/automation-runner.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { counters, labelIds } from './support/seed.js';
import { api, ERROR, globalId, localId, openWriteWorld, randomPhone, type Api, type SeededWorkspace, type TestServer } from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;
let prisma: PrismaClient;
let receiver: Receiver;

beforeAll(async () => {
  // A slow poll: rules run at once because each commit wakes the runner (the poll is the fallback).
  ({ server, ws, other, a } = await openWriteWorld('Rules Co', {
    AUTOMATION_POLL_MS: '2000',
    AUTOMATION_MAX_RUNS_PER_CONVERSATION_HOUR: '8',
    AUTOMATION_SCAN_INTERVAL_MS: '200',
    SNOOZE_WAKE_INTERVAL_MS: '200',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_POLL_MS: '50',
  }));
  prisma = server.db.prisma;
  receiver = await startReceiver();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const RULE = 'id name enabled position trigger triggerStatus conditions actions allowRuleEvents';
const RESULT = (payload: string) => `... on ${payload} { rule { ${RULE} } } ... on ValidationError { field } ... on NotFoundError { entity ref } ${ERROR}`;

async function createRule(input: Record<string, unknown>, c: Api = a) {
  const r = await c.mutate('createAutomationRule', input, RESULT('CreateAutomationRulePayload'));
  if (r.code) throw new Error(`createAutomationRule failed: ${JSON.stringify(r)}`);
  return r.rule.id as string;
}
const deleteRule = (ruleId: string) => a.must('deleteAutomationRule', { ruleId }, '... on DeleteAutomationRulePayload { deletedRuleId }');

interface Run {
  outcome: string;
  reason: string;
  actionsApplied: string[];
  error: string | null;
  conversationId: string | null;
  eventId: string | null;
  episodeStart: string | null;
}
async function runs(ruleId: string, c: Api = a): Promise<Run[]> {
  const data = await c.ok(`query($r: ID) { automationRuns(ruleId: $r, first: 100) { edges { node { outcome reason actionsApplied error conversationId eventId episodeStart } } } }`, {
    r: ruleId,
  });
  return data.automationRuns.edges.map((e: { node: Run }) => e.node);
}
/** Polls the run log until `done` holds (generous deadline: the machine is shared). */
async function waitRuns(ruleId: string, done: (r: Run[]) => boolean, what: string): Promise<Run[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await runs(ruleId);
    if (done(r)) return r;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
const matched = (n = 1) => (r: Run[]) => r.length >= n;

async function conversationWith(customAttributes: Record<string, unknown>, text = 'Hello') {
  const created = await a.createConversation({
    inboxId: globalId('Inbox', ws.inboxes.whatsapp.id),
    contact: { phone: randomPhone(), name: 'Pat Doe' },
    customAttributes,
    message: { senderType: 'CONTACT', content: text },
  });
  return created.conversation.id as string;
}

/** Polls until the runner's position has passed every event committed so far in the workspace. */
async function caughtUp() {
  const { eventSeq } = await counters(prisma, ws.workspaceId);
  const deadline = Date.now() + 20_000;
  while ((await prisma.automationPosition.findUniqueOrThrow({ where: { workspaceId: ws.workspaceId } })).lastSeq < eventSeq) {
    if (Date.now() > deadline) throw new Error(`the runner did not pass event ${eventSeq}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

const mark = (tag: string) => ({ all: [{ conversationAttribute: { key: 'tag', equals: { value: tag } } }] });

describe('managing rules', () => {
  it('creates, lists, updates, reorders and deletes; needs the admin scope; refuses bad actions with a typed error', async () => {
    const [vip] = await labelIds(prisma, ws.workspaceId, ['vip']);
    const one = await createRule({ name: 'One', trigger: 'MESSAGE_RECEIVED', actions: [{ type: 'ADD_LABELS', labelIds: [globalId('Label', vip!)] }] });
    const two = await createRule({ name: 'Two', trigger: 'STATUS_CHANGED', triggerStatus: 'RESOLVED', enabled: false, actions: [{ type: 'UNASSIGN' }] });
    let list = await a.ok(`{ automationRules(first: 50) { edges { node { id name position enabled } } } }`);
    expect(list.automationRules.edges.map((e: { node: { name: string } }) => e.node.name)).toEqual(['One', 'Two']);
    const updated = await a.must('updateAutomationRule', { ruleId: one, name: 'First', enabled: false }, `... on UpdateAutomationRulePayload { rule { ${RULE} } }`);
    expect(updated.rule).toMatchObject({ name: 'First', enabled: false, trigger: 'MESSAGE_RECEIVED' });
    const reordered = await a.must('reorderAutomationRules', { ruleIds: [two] }, '... on ReorderAutomationRulesPayload { rules { id position } }');
    expect(reordered.rules.map((r: { id: string }) => r.id)).toEqual([two, one]);

    const bad = await a.mutate('createAutomationRule', { name: 'Bad', trigger: 'ASSIGNED', actions: [{ type: 'CHANGE_STATUS', status: 'RESOLVED' }] }, RESULT('CreateAutomationRulePayload'));
    expect(bad).toMatchObject({ __typename: 'ValidationError', field: 'input.actions.0' });
    const twoConditions = await a.mutate(
      'createAutomationRule',
      { name: 'Bad', trigger: 'ASSIGNED', conditions: { all: [{ messageContainsAny: ['x'], contactEmailDomains: ['y.test'] }] }, actions: [{ type: 'UNASSIGN' }] },
      RESULT('CreateAutomationRulePayload'),
    );
    expect(twoConditions).toMatchObject({ __typename: 'ValidationError', field: 'input.conditions.all.0' });

    // A key without the admin scope: refused, nothing created.
    const writer = await ws.makeKey({ scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'] });
    const w = api(server.url, writer.secret);
    const refused = await w.request(`mutation { createAutomationRule(input: { name: "x", trigger: ASSIGNED, actions: [{ type: UNASSIGN }] }) { __typename } }`);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const hidden = await w.request(`{ automationRules(first: 5) { edges { node { id } } } }`);
    expect(hidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    await deleteRule(one);
    await deleteRule(two);
    list = await a.ok(`{ automationRules(first: 50) { edges { node { id } } } }`);
    expect(list.automationRules.edges).toEqual([]);
  });
});

describe('running rules', () => {
  it('a contact message with a word: labels, priority and a note, in one run; another message does not match, with the reason', async () => {
    const [refund] = await labelIds(prisma, ws.workspaceId, ['refund']);
    const rule = await createRule({
      name: 'Refunds',
      trigger: 'MESSAGE_RECEIVED',
      conditions: {
        all: [
          { messageContainsAny: ['refund', 'money back'] },
          { messageContentTypes: ['TEXT'] },
          { messageSenderTypes: ['CONTACT'] },
          { conversation: { inboxes: [globalId('Inbox', ws.inboxes.whatsapp.id)], assignee: { unassigned: true } } },
          ...mark('refunds').all,
        ],
      },
      actions: [
        { type: 'ADD_LABELS', labelIds: [globalId('Label', refund!)] },
        { type: 'SET_PRIORITY', priority: 'HIGH' },
        { type: 'ADD_NOTE', content: 'Refund request: check the order.' },
      ],
    });
    try {
      const id = await conversationWith({ tag: 'refunds' }, 'hello');
      await waitRuns(rule, matched(1), 'the first message run');
      await a.send(id, { senderType: 'CONTACT', content: 'I want a REFUND please' });
      const log = await waitRuns(rule, (r) => r.some((x) => x.outcome === 'MATCHED'), 'the refund run');
      expect(log.find((x) => x.outcome === 'NOT_MATCHED')?.reason).toMatch(/message contains any of/);
      expect(log.find((x) => x.outcome === 'MATCHED')).toMatchObject({ conversationId: id, actionsApplied: ['ADD_LABELS 1', 'SET_PRIORITY HIGH', 'ADD_NOTE'] });
      const c = await a.conversation(id);
      expect(c.labels.map((l: { name: string }) => l.name)).toEqual(['refund']);
      expect(c.priority).toBe('HIGH');
      const events = await prisma.event.findMany({ where: { conversationId: localId(id), actorType: 'AUTOMATION' }, orderBy: { seq: 'asc' } });
      expect(events.map((e) => e.type)).toEqual(['LABELS_CHANGED', 'PRIORITY_CHANGED', 'MESSAGE_ADDED']);
      expect(events.every((e) => e.actorRuleId === localId(rule) && e.actorDepth === 1)).toBe(true);
      const seen = await a.ok(`query($id: ID!) { node(id: $id) { ... on TimelineEvent { actorType actorRuleId actorChainDepth } } }`, { id: globalId('TimelineEvent', events[0]!.id) });
      expect(seen.node).toEqual({ actorType: 'AUTOMATION', actorRuleId: rule, actorChainDepth: 1 });

      // Dry run: the conversation as it is now (its last message is the refund one).
      const dry = await a.must('dryRunAutomationRule', { ruleId: rule, conversationId: id }, '... on DryRunAutomationRulePayload { matched reason actions }');
      expect(dry).toMatchObject({ matched: true, actions: ['ADD_LABELS 1', 'SET_PRIORITY HIGH', 'ADD_NOTE'] });
      const otherId = await conversationWith({ tag: 'elsewhere' }, 'refund');
      const dryNo = await a.must('dryRunAutomationRule', { ruleId: rule, conversationId: otherId }, '... on DryRunAutomationRulePayload { matched reason actions }');
      expect(dryNo).toMatchObject({ matched: false, actions: [] });
      expect(dryNo.reason).toMatch(/conversation attribute tag/);
      expect(await prisma.automationRun.count({ where: { ruleId: localId(rule), conversationId: localId(otherId), outcome: 'MATCHED' } })).toBe(0);
    } finally {
      await deleteRule(rule);
    }
  });

  it('conversation created for a contact at a domain (any-of): assigned, greeted as SYSTEM, set pending', async () => {
    const rule = await createRule({
      name: 'Enterprise',
      trigger: 'CONVERSATION_CREATED',
      conditions: { any: [{ contactEmailDomains: ['bigcorp.test'] }, { contactAttribute: { key: 'plan', contains: 'enterprise' } }] },
      actions: [
        { type: 'ASSIGN', userId: globalId('User', ws.agent.id) },
        { type: 'SEND_MESSAGE', senderType: 'SYSTEM', content: 'An enterprise agent will answer you shortly.' },
        { type: 'CHANGE_STATUS', status: 'PENDING' },
      ],
    });
    try {
      const created = await a.createConversation({ inboxId: globalId('Inbox', ws.inboxes.email.id), contact: { email: 'ceo@BigCorp.test', name: 'Chief' } });
      const id = created.conversation.id;
      await waitRuns(rule, (r) => r.some((x) => x.conversationId === id && x.outcome === 'MATCHED'), 'the enterprise run');
      const c = await a.conversation(id);
      expect(c.assignee?.id).toBe(globalId('User', ws.agent.id));
      expect(c.status).toBe('PENDING');
      expect(c.lastMessagePreview).toBe('An enterprise agent will answer you shortly.');
      await prisma.contact.update({ where: { id: localId(created.contact.id) }, data: { email: 'someone@small.test' } });
      const dry = await a.must('dryRunAutomationRule', { ruleId: rule, conversationId: id }, '... on DryRunAutomationRulePayload { matched reason }');
      expect(dry).toMatchObject({ matched: false, reason: 'none of the any-of conditions held' });
      await prisma.contact.update({ where: { id: localId(created.contact.id) }, data: { customAttributes: { plan: 'Enterprise plus' } } });
      const dry2 = await a.must('dryRunAutomationRule', { ruleId: rule, conversationId: id }, '... on DryRunAutomationRulePayload { matched reason }');
      expect(dry2.matched).toBe(true);
    } finally {
      await deleteRule(rule);
    }
  });

  it('each remaining trigger, through the mutations people use, with the remaining actions', async () => {
    const [vip] = await labelIds(prisma, ws.workspaceId, ['vip-trigger']);
    const canned = await a.must(
      'createCannedResponse',
      { shortCode: '/rule-hi', title: 'Hi', content: 'Hi {{contact.first_name | "there"}}, we are on it.' },
      '... on CreateCannedResponsePayload { cannedResponse { id } }',
    );
    const rules = {
      sent: await createRule({ name: 'Human spoke', trigger: 'MESSAGE_SENT', conditions: { all: [...mark('t').all, { messageSenderTypes: ['HUMAN'] }] }, actions: [{ type: 'START_HANDOFF', reason: 'agent stepped in' }] }),
      handoffDone: await createRule({ name: 'Back to AI', trigger: 'HANDOFF_COMPLETED', conditions: mark('t'), actions: [{ type: 'CHANGE_STATUS', status: 'RESOLVED', resolutionReason: 'ISSUE_RESOLVED' }] }),
      handoffStarted: await createRule({ name: 'Undo handoff', trigger: 'HANDOFF_STARTED', conditions: mark('t'), actions: [{ type: 'END_HANDOFF', reason: 'the AI keeps it' }] }),
      assigned: await createRule({ name: 'Greet on assign', trigger: 'ASSIGNED', conditions: mark('t'), actions: [{ type: 'SEND_MESSAGE', senderType: 'AI_AGENT', cannedResponseId: canned.cannedResponse.id }] }),
      priority: await createRule({ name: 'Unassign on priority', trigger: 'PRIORITY_CHANGED', conditions: mark('t'), actions: [{ type: 'UNASSIGN' }] }),
      labels: await createRule({ name: 'No vip', trigger: 'LABELS_CHANGED', conditions: mark('t'), actions: [{ type: 'REMOVE_LABELS', labelIds: [globalId('Label', vip!)] }] }),
      pending: await createRule({ name: 'Snooze pending', trigger: 'STATUS_CHANGED', triggerStatus: 'PENDING', conditions: mark('t'), actions: [{ type: 'CHANGE_STATUS', status: 'SNOOZED', snoozeMinutes: 30 }] }),
    };
    try {
      const id = await conversationWith({ tag: 't' });
      const cid = { conversationId: id };
      const once = (rule: string, what: string) => waitRuns(rule, (r) => r.some((x) => x.outcome === 'MATCHED'), what);

      await a.send(id, { senderType: 'HUMAN', content: 'Let me look.' });
      await once(rules.sent, 'MESSAGE_SENT → START_HANDOFF');
      expect((await a.conversation(id)).controller).toBe('HUMAN');
      // The rule's own HANDOFF_STARTED triggers nothing: events caused by rules need an opt-in.
      // Asked only once the runner's position has passed it (it is committed by now).
      await caughtUp();
      expect(await runs(rules.handoffStarted)).toEqual([]);

      await a.must('stopHumanHandoff', cid, '... on StopHumanHandoffPayload { conversation { id } }');
      await once(rules.handoffDone, 'HANDOFF_COMPLETED → resolve');
      let c = await a.conversation(id);
      expect(c).toMatchObject({ status: 'RESOLVED', resolutionReason: 'ISSUE_RESOLVED', controller: 'AI_AGENT' });

      await a.must('startHumanHandoff', cid, '... on StartHumanHandoffPayload { conversation { id } }');
      await once(rules.handoffStarted, 'HANDOFF_STARTED → END_HANDOFF');
      expect((await a.conversation(id)).controller).toBe('AI_AGENT');

      await a.must('assignConversation', { ...cid, assigneeId: globalId('User', ws.agent.id) }, '... on AssignConversationPayload { conversation { id } }');
      await once(rules.assigned, 'ASSIGNED → canned response as the AI');
      c = await a.conversation(id);
      expect(c.lastMessagePreview).toBe('Hi Pat, we are on it.');

      await a.must('updateConversation', { ...cid, priority: 'URGENT' }, '... on UpdateConversationPayload { conversation { id } }');
      await once(rules.priority, 'PRIORITY_CHANGED → UNASSIGN');
      expect((await a.conversation(id)).assignee).toBeNull();

      await a.must('addLabels', { ...cid, labelIds: [globalId('Label', vip!)] }, '... on AddLabelsPayload { conversation { id } }');
      await once(rules.labels, 'LABELS_CHANGED → REMOVE_LABELS');
      expect((await a.conversation(id)).labels).toEqual([]);

      await a.must('reopenConversation', cid, '... on ReopenConversationPayload { conversation { id } }');
      await a.must('setConversationPending', cid, '... on SetConversationPendingPayload { conversation { id } }');
      await once(rules.pending, 'STATUS_CHANGED to PENDING → snooze');
      c = await a.conversation(id);
      expect(c.status).toBe('SNOOZED');
      expect(new Date(c.snoozedUntil).getTime()).toBeGreaterThan(Date.now() + 25 * 60_000);
      // Reopening (a status change to OPEN) did not trigger the rule that waits for PENDING.
      expect((await runs(rules.pending)).length).toBe(1);
    } finally {
      for (const r of Object.values(rules)) await deleteRule(r);
    }
  });

  it('a domain failure (the AI may not speak while a human is in control) records FAILED and changes nothing', async () => {
    const [l] = await labelIds(prisma, ws.workspaceId, ['failing']);
    const rule = await createRule({
      name: 'Fails',
      trigger: 'MESSAGE_RECEIVED',
      conditions: mark('fail'),
      actions: [{ type: 'ADD_LABELS', labelIds: [globalId('Label', l!)] }, { type: 'SEND_MESSAGE', senderType: 'AI_AGENT', content: 'AI here' }],
    });
    try {
      const id = await conversationWith({ tag: 'fail' }, 'first');
      await waitRuns(rule, matched(1), 'the first run');
      await a.must('startHumanHandoff', { conversationId: id }, '... on StartHumanHandoffPayload { conversation { id } }');
      await a.send(id, { senderType: 'CONTACT', content: 'anyone?' });
      const log = await waitRuns(rule, (r) => r.some((x) => x.outcome === 'FAILED'), 'the failed run');
      expect(log.find((x) => x.outcome === 'FAILED')?.error).toMatch(/^HUMAN_IN_CONTROL/);
      const c = await a.conversation(id);
      // The first run (AI in control) applied both actions; the failed one left nothing.
      expect(c.labels.map((x: { name: string }) => x.name)).toEqual(['failing']);
      expect(await prisma.message.count({ where: { conversationId: localId(id), senderType: 'AI_AGENT' } })).toBe(1);
    } finally {
      await deleteRule(rule);
    }
  });
});

describe('loop guards', () => {
  it('a rule written to loop (labels changed → change labels, opted in) stops at depth 3', async () => {
    const [l] = await labelIds(prisma, ws.workspaceId, ['loop']);
    const [start] = await labelIds(prisma, ws.workspaceId, ['loop-start']);
    const rule = await createRule({
      name: 'Loop',
      trigger: 'LABELS_CHANGED',
      allowRuleEvents: true,
      conditions: mark('loop'),
      actions: [{ type: 'ADD_LABELS', labelIds: [globalId('Label', l!)] }, { type: 'REMOVE_LABELS', labelIds: [globalId('Label', l!)] }],
    });
    try {
      const id = await conversationWith({ tag: 'loop' });
      await a.must('addLabels', { conversationId: id, labelIds: [globalId('Label', start!)] }, '... on AddLabelsPayload { conversation { id } }');
      // Depth 1: one run, two events; depth 2: two runs, four events; depth 3: four runs, eight events, which stop.
      const log = await waitRuns(rule, (r) => r.filter((x) => /chain depth/.test(x.reason)).length >= 8, 'the chain to stop');
      expect(log.filter((x) => x.outcome === 'MATCHED').length).toBe(7);
      const depths = await prisma.event.findMany({ where: { conversationId: localId(id), actorType: 'AUTOMATION' }, select: { actorDepth: true } });
      expect(Math.max(...depths.map((d) => d.actorDepth ?? 0))).toBe(3);
    } finally {
      await deleteRule(rule);
    }
  });

  it('a rule that sends a message never answers an AI message', async () => {
    const rule = await createRule({ name: 'Echo', trigger: 'MESSAGE_SENT', conditions: mark('echo'), actions: [{ type: 'SEND_MESSAGE', senderType: 'AI_AGENT', content: 'echo' }] });
    try {
      const id = await conversationWith({ tag: 'echo' });
      await a.send(id, { senderType: 'AI_AGENT', content: 'I am the AI' });
      const log = await waitRuns(rule, (r) => r.length >= 1, 'the guarded run');
      expect(log[0]).toMatchObject({ outcome: 'NOT_MATCHED', reason: 'a rule that sends messages never answers an AI or SYSTEM message' });
    } finally {
      await deleteRule(rule);
    }
  });
});

describe('exactly once, caps and no backfill', () => {
  it('the hourly cap stops a rule; events read again run nothing twice; a re-enabled rule skips what happened while it was off', async () => {
    const rule = await createRule({ name: 'Noter', trigger: 'MESSAGE_RECEIVED', conditions: mark('cap'), actions: [{ type: 'ADD_NOTE', content: 'seen' }] });
    try {
      const id = await conversationWith({ tag: 'cap' }, 'm0');
      for (let i = 1; i < 9; i++) await a.send(id, { senderType: 'CONTACT', content: `m${i}` });
      const log = await waitRuns(rule, (r) => r.length >= 9, 'nine runs');
      expect(log.filter((x) => x.outcome === 'MATCHED').length).toBe(8);
      // Found by outcome, not by place: run ids made in one millisecond need not sort in creation order.
      const capped = log.filter((x) => x.outcome === 'NOT_MATCHED');
      expect(capped).toHaveLength(1);
      expect(capped[0]!.reason).toMatch(/^hourly cap: the rule ran 8 times/);
      const notes = () => prisma.message.count({ where: { conversationId: localId(id), private: true } });
      expect(await notes()).toBe(8);

      // As after a crash before the position moved: the runner reads every event again.
      const startSeq = (await prisma.automationRule.findUniqueOrThrow({ where: { id: localId(rule) } })).startSeq;
      await prisma.automationPosition.update({ where: { workspaceId: ws.workspaceId }, data: { lastSeq: startSeq } });
      const deadline = Date.now() + 20_000;
      for (;;) {
        const [p, w] = await Promise.all([
          prisma.automationPosition.findUniqueOrThrow({ where: { workspaceId: ws.workspaceId } }),
          counters(prisma, ws.workspaceId),
        ]);
        if (p.lastSeq >= w.eventSeq) break;
        if (Date.now() > deadline) throw new Error('the runner did not catch up');
        await new Promise((res) => setTimeout(res, 50));
      }
      expect((await runs(rule)).length).toBe(9);
      expect(await notes()).toBe(8);

      // Disabled, then enabled again: the message in between gets no run.
      await a.must('updateAutomationRule', { ruleId: rule, enabled: false }, '... on UpdateAutomationRulePayload { rule { id } }');
      const quiet = await conversationWith({ tag: 'cap' }, 'while off');
      await a.must('updateAutomationRule', { ruleId: rule, enabled: true }, '... on UpdateAutomationRulePayload { rule { id } }');
      await a.send(quiet, { senderType: 'CONTACT', content: 'after' });
      const after = await waitRuns(rule, (r) => r.some((x) => x.conversationId === quiet), 'the run after re-enabling');
      expect(after.filter((x) => x.conversationId === quiet)).toHaveLength(1);
      expect(await prisma.message.count({ where: { conversationId: localId(quiet), private: true } })).toBe(1);
    } finally {
      await deleteRule(rule);
    }
  });
});

describe('a rule changed after the runner read it', () => {
  it('runs its current actions when edited, and nothing (no run recorded) once disabled or deleted', async () => {
    const rule = await createRule({ name: 'Stale', trigger: 'MESSAGE_RECEIVED', conditions: mark('stale'), actions: [{ type: 'ADD_NOTE', content: 'seen' }] });
    let deleted = false;
    try {
      const id = await conversationWith({ tag: 'stale' });
      await waitRuns(rule, matched(), 'the first run');
      // As a batch or scan that read the rule before the changes below.
      const stale = await prisma.automationRule.findUniqueOrThrow({ where: { id: localId(rule) } });
      const run = () =>
        executeRun({ prisma, maxRunsPerConversationHour: 8 }, ws.workspaceId, stale, { conversationId: localId(id), event: null, episodeStart: new Date(), messageId: null, depth: 1 });
      const count = () => prisma.automationRun.count({ where: { ruleId: stale.id } });
      await a.must('updateAutomationRule', { ruleId: rule, actions: [{ type: 'SET_PRIORITY', priority: 'HIGH' }] }, '... on UpdateAutomationRulePayload { rule { id } }');
      await run();
      expect(await count()).toBe(2);
      expect((await a.conversation(id)).priority).toBe('HIGH');
      expect(await prisma.message.count({ where: { conversationId: localId(id), private: true } })).toBe(1);
      await a.must('updateAutomationRule', { ruleId: rule, enabled: false }, '... on UpdateAutomationRulePayload { rule { id } }');
      await run();
      expect(await count()).toBe(2);
      await deleteRule(rule);
      deleted = true;
      await run();
      expect(await count()).toBe(0);
    } finally {
      if (!deleted) await deleteRule(rule);
    }
  });
});

describe('another workspace', () => {
  it('cannot see, change, dry-run or read the runs of our rules', async () => {
    const rule = await createRule({ name: 'Ours', trigger: 'ASSIGNED', actions: [{ type: 'UNASSIGN' }] });
    try {
      const o = api(server.url, other.key);
      const list = await o.ok(`{ automationRules(first: 50) { edges { node { id } } } }`);
      expect(list.automationRules.edges).toEqual([]);
      expect((await o.ok(`query($id: ID!) { node(id: $id) { id } }`, { id: rule })).node).toBeNull();
      const changed = await o.mutate('updateAutomationRule', { ruleId: rule, name: 'Theirs' }, RESULT('UpdateAutomationRulePayload'));
      expect(changed).toMatchObject({ __typename: 'NotFoundError' });
      const deleted = await o.mutate('deleteAutomationRule', { ruleId: rule }, `... on NotFoundError { entity } ${ERROR}`);
      expect(deleted).toMatchObject({ __typename: 'NotFoundError' });
      const id = await conversationWith({ tag: 'none' });
      const dry = await o.mutate('dryRunAutomationRule', { ruleId: rule, conversationId: id }, `... on NotFoundError { entity } ${ERROR}`);
      expect(dry).toMatchObject({ __typename: 'NotFoundError' });
      expect(await runs(rule, o)).toEqual([]);
      expect((await prisma.automationRule.findUniqueOrThrow({ where: { id: localId(rule) } })).name).toBe('Ours');
      // An id of another type is bad input, not a server error.
      const wrongType = await o.request(`query($r: ID) { automationRuns(ruleId: $r, first: 1) { edges { node { outcome } } } }`, { r: id });
      expect(wrongType.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    } finally {
      await deleteRule(rule);
    }
  });
});

describe('snooze and time-based triggers', () => {
  const onConversation = (id: string, outcome = 'MATCHED') => (r: Run[]) => r.filter((x) => x.conversationId === id && x.outcome === outcome);
  const conversationRow = (id: string) => prisma.conversation.findUniqueOrThrow({ where: { id: localId(id) } });

  it('SNOOZE_WOKE: the snooze waker reopening a conversation runs the rule (the snooze, and a contact message reopening one, do not)', async () => {
    const rule = await createRule({ name: 'Woke', trigger: 'SNOOZE_WOKE', conditions: mark('woke'), actions: [{ type: 'SET_PRIORITY', priority: 'HIGH' }] });
    try {
      // Reopened by its contact before its time: no run (the runner reads in timeline order, so
      // by the time the later wake below has run, this one has been read).
      const early = await conversationWith({ tag: 'woke' });
      await a.must('snoozeConversation', { conversationId: early, until: new Date(Date.now() + 3_600_000).toISOString() }, '... on SnoozeConversationPayload { conversation { id } }');
      await a.send(early, { senderType: 'CONTACT', content: 'back early' });
      expect((await a.conversation(early)).status).toBe('OPEN');
      const id = await conversationWith({ tag: 'woke' });
      await a.must('snoozeConversation', { conversationId: id, until: new Date(Date.now() + 1_000).toISOString() }, '... on SnoozeConversationPayload { conversation { id } }');
      const log = await waitRuns(rule, (r) => onConversation(id)(r).length >= 1, 'the run after the wake');
      expect(log).toHaveLength(1);
      expect(log[0]!.eventId).toBeTruthy();
      const c = await a.conversation(id);
      expect(c).toMatchObject({ status: 'OPEN', priority: 'HIGH' });
    } finally {
      await deleteRule(rule);
    }
  });

  it('WAITING_FOR_REPLY fires once per wait: waits, is answered, waits again → two runs, one per episode start', async () => {
    const [waited] = await labelIds(prisma, ws.workspaceId, ['waited']);
    const rule = await createRule({
      name: 'Waiting',
      trigger: 'WAITING_FOR_REPLY',
      thresholdSeconds: 1,
      conditions: mark('wait'),
      actions: [{ type: 'ADD_NOTE', content: 'Still waiting for us.' }, { type: 'ADD_LABELS', labelIds: [globalId('Label', waited!)] }],
    });
    try {
      const id = await conversationWith({ tag: 'wait' }, 'hello?');
      const firstStart = (await conversationRow(id)).waitingSince!;
      let log = await waitRuns(rule, (r) => onConversation(id)(r).length >= 1, 'the first wait');
      expect(log[0]).toMatchObject({ eventId: null, episodeStart: firstStart.toISOString(), actionsApplied: ['ADD_NOTE', 'ADD_LABELS 1'] });
      // Answered: the wait ends; the contact writes again: a new wait, a new episode.
      await a.send(id, { senderType: 'HUMAN', content: 'Here.' });
      await a.send(id, { senderType: 'CONTACT', content: 'and again?' });
      const secondStart = (await conversationRow(id)).waitingSince!;
      expect(secondStart.getTime()).toBeGreaterThan(firstStart.getTime());
      log = await waitRuns(rule, (r) => onConversation(id)(r).length >= 2, 'the second wait');
      expect(onConversation(id)(log).map((x) => x.episodeStart).sort()).toEqual([firstStart.toISOString(), secondStart.toISOString()]);
      // Scans went on (a later conversation's wait has run): still two, one per episode.
      const later = await conversationWith({ tag: 'wait' }, 'me too');
      log = await waitRuns(rule, (r) => onConversation(later)(r).length >= 1, 'a later wait');
      expect(onConversation(id)(log)).toHaveLength(2);
      expect(await prisma.message.count({ where: { conversationId: localId(id), private: true } })).toBe(2);
    } finally {
      await deleteRule(rule);
    }
  });

  it('OPEN_UNASSIGNED → ASSIGN_LEAST_BUSY: the ONLINE member with the fewest open conversations', async () => {
    const user = (name: string, availability: 'ONLINE' | 'OFFLINE') =>
      prisma.user.create({ data: { workspaceId: ws.workspaceId, name, email: `${name}-${randomPhone()}@rules.test`, availability } });
    const [away, busy, free] = [await user('away', 'OFFLINE'), await user('busy', 'ONLINE'), await user('free', 'ONLINE')];
    const held = await conversationWith({ tag: 'held' });
    await a.must('assignConversation', { conversationId: held, assigneeId: globalId('User', busy.id) }, '... on AssignConversationPayload { conversation { id } }');
    const rule = await createRule({
      name: 'Route',
      trigger: 'OPEN_UNASSIGNED',
      thresholdSeconds: 1,
      conditions: mark('route'),
      actions: [{ type: 'ASSIGN_LEAST_BUSY', userIds: [away, busy, free].map((u) => globalId('User', u.id)) }],
    });
    try {
      const id = await conversationWith({ tag: 'route' });
      const log = await waitRuns(rule, (r) => onConversation(id)(r).length >= 1, 'the routing run');
      expect(onConversation(id)(log)[0]!.actionsApplied).toEqual(['ASSIGN_LEAST_BUSY among 3']);
      expect((await a.conversation(id)).assignee?.id).toBe(globalId('User', free.id));
      // Nobody ONLINE: nothing assigned, and the run log says so.
      await prisma.user.updateMany({ where: { id: { in: [busy.id, free.id] } }, data: { availability: 'AWAY' } });
      const nobody = await conversationWith({ tag: 'route' });
      const log2 = await waitRuns(rule, (r) => onConversation(nobody)(r).length >= 1, 'the run with nobody online');
      expect(onConversation(nobody)(log2)[0]!.actionsApplied).toEqual(['ASSIGN_LEAST_BUSY skipped: none of them is ONLINE']);
      expect((await a.conversation(nobody)).assignee).toBeNull();
    } finally {
      await deleteRule(rule);
    }
  });

  it('time-based rules written to loop (open unassigned → pending → reopened) stop: the episode a rule started obeys the loop guards', async () => {
    const update = (ruleId: string, input: Record<string, unknown>) => a.must('updateAutomationRule', { ruleId, ...input }, '... on UpdateAutomationRulePayload { rule { id } }');
    const pair = async (tag: string, allowRuleEvents: boolean) => [
      await createRule({ name: `Park ${tag}`, trigger: 'OPEN_UNASSIGNED', thresholdSeconds: 1, conditions: mark(tag), allowRuleEvents, actions: [{ type: 'CHANGE_STATUS', status: 'PENDING' }] }),
      await createRule({ name: `Reopen ${tag}`, trigger: 'PENDING_TOO_LONG', thresholdSeconds: 1, conditions: mark(tag), allowRuleEvents, actions: [{ type: 'CHANGE_STATUS', status: 'OPEN' }] }),
    ];
    const [park, reopen] = await pair('bounce', false);
    const [park3, reopen3] = await pair('bounce3', true);
    try {
      // Not opted in: the reopening rule does not take the episode the parking rule started.
      const id = await conversationWith({ tag: 'bounce' });
      const missed = await waitRuns(reopen!, (r) => onConversation(id, 'NOT_MATCHED')(r).length >= 1, 'the reopening rule stopped by the guard');
      expect(onConversation(id, 'NOT_MATCHED')(missed)[0]!.reason).toMatch(/started by a rule/);
      expect(onConversation(id)(missed)).toHaveLength(0);
      expect(onConversation(id)(await runs(park!))).toHaveLength(1);
      expect((await a.conversation(id)).status).toBe('PENDING');
      // Opted in: depth 1 (park), 2 (reopen), 3 (park), then the chain's depth limit.
      const id3 = await conversationWith({ tag: 'bounce3' });
      const limited = await waitRuns(reopen3!, (r) => onConversation(id3, 'NOT_MATCHED')(r).length >= 1, 'the chain depth limit');
      expect(onConversation(id3, 'NOT_MATCHED')(limited)[0]!.reason).toMatch(/chain depth limit/);
      expect(onConversation(id3)(limited)).toHaveLength(1);
      expect(onConversation(id3)(await runs(park3!))).toHaveLength(2);
      expect((await a.conversation(id3)).status).toBe('PENDING');
    } finally {
      for (const r of [park, reopen, park3, reopen3]) await update(r!, { enabled: false });
      for (const r of [park, reopen, park3, reopen3]) await deleteRule(r!);
    }
  });

  it('a rule switched to a time-based trigger does not fire for an episode that passed its threshold before the switch', async () => {
    const rule = await createRule({ name: 'Switched', trigger: 'MESSAGE_RECEIVED', conditions: mark('switch'), actions: [{ type: 'ADD_NOTE', content: 'noted' }] });
    try {
      const old = await conversationWith({ tag: 'switch' }, 'waiting long');
      const since = (await conversationRow(old)).waitingSince!;
      // Waiting past the new threshold (1 s) before the switch: polled on the clock, not slept.
      while (Date.now() - since.getTime() < 2_000) await new Promise((res) => setTimeout(res, 50));
      await a.must('updateAutomationRule', { ruleId: rule, trigger: 'WAITING_FOR_REPLY', thresholdSeconds: 1 }, '... on UpdateAutomationRulePayload { rule { id } }');
      // A wait after the switch fires; by then a scan has seen the old one, which did not.
      const fresh = await conversationWith({ tag: 'switch' }, 'me now');
      const log = await waitRuns(rule, (r) => r.some((x) => x.conversationId === fresh && x.episodeStart), 'the wait after the switch');
      expect(log.filter((x) => x.conversationId === old && x.episodeStart)).toEqual([]);
    } finally {
      await deleteRule(rule);
    }
  });

  it('PENDING_TOO_LONG → NOTIFY_WEBHOOK: one delivery per run reaches a real receiver', async () => {
    const created = await a.mutate('createWebhookEndpoint', { url: `${receiver.url}/rules`, eventKinds: ['PRIORITY_CHANGED'] }, `... on WebhookEndpointSecretPayload { endpoint { id } } ${ERROR}`);
    const endpointId = created.endpoint.id as string;
    const rule = await createRule({ name: 'Pending alarm', trigger: 'PENDING_TOO_LONG', thresholdSeconds: 1, conditions: mark('alarm'), actions: [{ type: 'NOTIFY_WEBHOOK', endpointId }] });
    // The same action on an event: the body names the event.
    const onEvent = await createRule({ name: 'Went pending', trigger: 'STATUS_CHANGED', triggerStatus: 'PENDING', conditions: mark('alarm'), actions: [{ type: 'NOTIFY_WEBHOOK', endpointId }] });
    try {
      const id = await conversationWith({ tag: 'alarm' });
      await a.must('setConversationPending', { conversationId: id }, '... on SetConversationPendingPayload { conversation { id } }');
      const got = await receiver.waitFor('/rules', 2, 'the two rule notifications');
      const timed = got.find((r) => r.json.data.rule.id === rule)!;
      expect(timed.json).toMatchObject({ type: 'AUTOMATION_RULE', cursor: null, data: { rule: { id: rule, name: 'Pending alarm', trigger: 'PENDING_TOO_LONG' }, conversationId: id, event: null } });
      expect(timed.headers['webhook-id']).toMatch(/^msg_/);
      const log = await runs(rule);
      expect(onConversation(id)(log)).toMatchObject([{ actionsApplied: ['NOTIFY_WEBHOOK'] }]);
      expect(timed.json.data.episodeStart).toBe(onConversation(id)(log)[0]!.episodeStart);
      const evented = got.find((r) => r.json.data.rule.id === onEvent)!;
      const [eventRun] = onConversation(id)(await runs(onEvent));
      expect(evented.json.data).toMatchObject({ conversationId: id, episodeStart: null, event: { id: eventRun!.eventId, type: 'STATUS_CHANGED' } });
      expect(evented.json.cursor).toBe(evented.json.data.event.cursor);
      expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(2);
      const d = await a.ok(`query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) { edges { node { kind state } } } }`, { id: endpointId });
      expect(d.webhookDeliveries.edges.map((e: any) => e.node.kind)).toEqual(['AUTOMATION_RULE', 'AUTOMATION_RULE']);
    } finally {
      await deleteRule(rule);
      await deleteRule(onEvent);
      await a.must('deleteWebhookEndpoint', { endpointId }, '__typename');
    }
  });

  it('refuses a threshold on an event trigger and none on a time trigger; another workspace\'s user or endpoint is not found', async () => {
    const result = (input: Record<string, unknown>, c: Api = a) => c.mutate('createAutomationRule', input, RESULT('CreateAutomationRulePayload'));
    expect(await result({ name: 'x', trigger: 'PENDING_TOO_LONG', actions: [{ type: 'UNASSIGN' }] })).toMatchObject({ __typename: 'ValidationError', field: 'input.thresholdSeconds' });
    expect(await result({ name: 'x', trigger: 'ASSIGNED', thresholdSeconds: 60, actions: [{ type: 'UNASSIGN' }] })).toMatchObject({ __typename: 'ValidationError', field: 'input.thresholdSeconds' });
    const o = api(server.url, other.key);
    const theirs = await o.mutate('createWebhookEndpoint', { url: `${receiver.url}/theirs` }, `... on WebhookEndpointSecretPayload { endpoint { id } } ${ERROR}`);
    const ours = await result({ name: 'x', trigger: 'ASSIGNED', actions: [{ type: 'NOTIFY_WEBHOOK', endpointId: theirs.endpoint.id }] });
    expect(ours).toMatchObject({ __typename: 'NotFoundError', entity: 'WebhookEndpoint' });
    const users = await result({ name: 'x', trigger: 'ASSIGNED', actions: [{ type: 'ASSIGN_LEAST_BUSY', userIds: [globalId('User', ws.agent.id), globalId('User', other.agent.id)] }] });
    expect(users).toMatchObject({ __typename: 'NotFoundError', entity: 'User' });
    expect(await prisma.automationRule.count({ where: { workspaceId: ws.workspaceId, name: 'x' } })).toBe(0);
  });

  it('erasing a contact erases the run log of its conversations', async () => {
    const rule = await createRule({ name: 'Erasable', trigger: 'MESSAGE_RECEIVED', conditions: mark('erase'), actions: [{ type: 'ADD_NOTE', content: 'seen' }] });
    try {
      const created = await a.createConversation({
        inboxId: globalId('Inbox', ws.inboxes.whatsapp.id),
        contact: { phone: randomPhone(), name: 'Eve Erased' },
        customAttributes: { tag: 'erase' },
        message: { senderType: 'CONTACT', content: 'my secret' },
      });
      await waitRuns(rule, matched(1), 'the run');
      await a.must('deleteContact', { contactId: created.contact.id }, '... on DeleteContactPayload { deletedContactId }');
      expect(await runs(rule)).toEqual([]);
      expect(await prisma.automationRun.count({ where: { conversationId: localId(created.conversation.id) } })).toBe(0);
    } finally {
      await deleteRule(rule);
    }
  });
});
