// The AI-to-human handoff and bulk updates through the HTTP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  ERROR,
  events,
  expectNothingWritten,
  footprint,
  globalId,
  localId,
  newConversation,
  openWriteWorld,
  type Api,
  type SeededWorkspace,
  type TestServer,
} from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;

beforeAll(async () => {
  ({ server, ws, other, a } = await openWriteWorld('Handoffs'));
});
afterAll(() => server?.close());

const START = `... on StartHumanHandoffPayload { conversation { controller version assignee { id } } handoff { id active reason summary startedByType assignee { id } } }
  ... on HumanInControlError { handoffId } ... on NotFoundError { entity } ... on ConversationArchivedError { conversationId } ${ERROR}`;
const STOP = `... on StopHumanHandoffPayload { conversation { controller version } handoff { id active endNote endedByType } }
  ... on NoActiveHandoffError { conversationId } ${ERROR}`;

describe('startHumanHandoff and stopHumanHandoff', () => {
  it('gives control to a human with a handoff and an assignee, then back to the AI', async () => {
    const { conversation } = await newConversation(a, ws);
    const agent = globalId('User', ws.agent.id);
    const started = await a.mutate('startHumanHandoff', { conversationId: conversation.id, assigneeId: agent, reason: 'Refund over limit', summary: 'Wants 120 EUR back' }, START);
    expect(started).toMatchObject({
      conversation: { controller: 'HUMAN', version: 3, assignee: { id: agent } },
      handoff: { active: true, reason: 'Refund over limit', summary: 'Wants 120 EUR back', startedByType: 'USER', assignee: { id: agent } },
    });
    const evs = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-2);
    expect(evs.map((e) => e.type)).toEqual(['ASSIGNED', 'HANDOFF_STARTED']);
    expect(evs[1]).toMatchObject({ before: { controller: 'AI_AGENT' }, after: { controller: 'HUMAN', handoffId: localId(started.handoff.id) }, note: 'Wants 120 EUR back' });

    // Handing over again while a human is in control is refused.
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('startHumanHandoff', { conversationId: conversation.id }, START)).toMatchObject({ __typename: 'HumanInControlError', handoffId: started.handoff.id });
    });

    const stopped = await a.mutate('stopHumanHandoff', { conversationId: conversation.id, note: 'Refunded, back to the bot' }, STOP);
    expect(stopped).toMatchObject({ conversation: { controller: 'AI_AGENT', version: 4 }, handoff: { id: started.handoff.id, active: false, endNote: 'Refunded, back to the bot', endedByType: 'USER' } });
    const [done] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(done).toMatchObject({ type: 'HANDOFF_COMPLETED', after: { controller: 'AI_AGENT' }, note: 'Refunded, back to the bot' });
    const handoffs = await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { handoffs { id active } } } }`, { id: conversation.id });
    expect(handoffs.node.handoffs).toEqual([{ id: started.handoff.id, active: false }]);

    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('stopHumanHandoff', { conversationId: conversation.id }, STOP)).toMatchObject({ __typename: 'NoActiveHandoffError', code: 'NO_ACTIVE_HANDOFF', conversationId: conversation.id });
    });
  });

  it('refuses an assignee from another workspace and an ARCHIVED conversation, writing nothing', async () => {
    const { conversation } = await newConversation(a, ws);
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('startHumanHandoff', { conversationId: conversation.id, assigneeId: globalId('User', other.agent.id) }, START)).toMatchObject({ __typename: 'NotFoundError', entity: 'User' });
    });
    await a.must('closeConversation', { conversationId: conversation.id }, '__typename');
    await a.must('archiveConversation', { conversationId: conversation.id }, '__typename');
    await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
      expect(await a.mutate('startHumanHandoff', { conversationId: conversation.id }, START)).toMatchObject({ __typename: 'ConversationArchivedError' });
    });
  });
});

const BULK = `... on BulkUpdateConversationsPayload { succeeded failed results { conversationId ok conversation { id status assignee { id } labels { name } version }
    error { __typename code message ... on InvalidTransitionError { currentStatus } ... on NotFoundError { entity ref } } } }
  ... on ValidationError { field } ... on NotFoundError { entity ref } ${ERROR}`;

describe('bulkUpdateConversations', () => {
  it('applies one change to each conversation in its own transaction, with a result per conversation', async () => {
    const label = (await a.must('createLabel', { name: 'bulk' }, '... on CreateLabelPayload { label { id } }')).label.id;
    const open = await newConversation(a, ws);
    const pending = await newConversation(a, ws);
    await a.must('setConversationPending', { conversationId: pending.conversation.id }, '__typename');
    // A CLOSED conversation cannot be resolved: its labels and assignee must not stick either.
    const closed = await newConversation(a, ws);
    await a.must('closeConversation', { conversationId: closed.conversation.id }, '__typename');
    const closedBefore = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(closed.conversation.id) }, include: { labels: true } });
    const closedEvents = (await events(server.db.prisma, ws.workspaceId, closed.conversation.id)).length;
    const theirs = (await newConversation(api(server.url, other.key), other)).conversation.id;
    const wrongType = globalId('Label', localId(open.conversation.id));

    const ids = [open.conversation.id, closed.conversation.id, theirs, pending.conversation.id, wrongType];
    const agent = globalId('User', ws.agent.id);
    const r = await a.mutate('bulkUpdateConversations', { conversationIds: ids, assigneeId: agent, addLabelIds: [label], status: 'RESOLVE', resolutionReason: 'SPAM', note: 'cleanup' }, BULK);
    expect(r).toMatchObject({ __typename: 'BulkUpdateConversationsPayload', succeeded: 2, failed: 3 });
    expect(r.results.map((x: any) => [x.conversationId, x.ok, x.error?.__typename ?? null])).toEqual([
      [open.conversation.id, true, null],
      [closed.conversation.id, false, 'InvalidTransitionError'],
      [theirs, false, 'NotFoundError'],
      [pending.conversation.id, true, null],
      [wrongType, false, 'NotFoundError'],
    ]);
    expect(r.results[0].conversation).toMatchObject({ status: 'RESOLVED', assignee: { id: agent }, labels: [{ name: 'bulk' }], version: 4 });
    expect(r.results[1]).toMatchObject({ conversation: null, error: { code: 'INVALID_TRANSITION', currentStatus: 'CLOSED' } });
    expect(r.results[2].error).toMatchObject({ entity: 'Conversation', ref: theirs });
    // The failed item kept nothing: no assignee, no label, no event, same version.
    const closedAfter = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(closed.conversation.id) }, include: { labels: true } });
    expect(closedAfter).toEqual(closedBefore);
    expect((await events(server.db.prisma, ws.workspaceId, closed.conversation.id)).length).toBe(closedEvents);
    // Each successful item wrote its own events.
    const evs = (await events(server.db.prisma, ws.workspaceId, open.conversation.id)).slice(-3);
    expect(evs.map((e) => e.type)).toEqual(['ASSIGNED', 'LABELS_CHANGED', 'STATUS_CHANGED']);
    expect(evs.every((e) => e.note === 'cleanup')).toBe(true);
  });

  it('snoozes, closes, unassigns and removes labels', async () => {
    const one = await newConversation(a, ws);
    const two = await newConversation(a, ws);
    const label = (await a.must('createLabel', { name: 'tmp' }, '... on CreateLabelPayload { label { id } }')).label.id;
    const both = [one.conversation.id, two.conversation.id];
    await a.must('bulkUpdateConversations', { conversationIds: both, assigneeId: globalId('User', ws.agent.id), addLabelIds: [label] }, BULK);
    const until = new Date(Date.now() + 3600_000).toISOString();
    const snoozed = await a.must('bulkUpdateConversations', { conversationIds: both, assigneeId: null, removeLabelIds: [label], status: 'SNOOZE', snoozeUntil: until }, BULK);
    expect(snoozed.results.map((x: any) => x.conversation)).toEqual(both.map((id) => ({ id, status: 'SNOOZED', assignee: null, labels: [], version: 6 })));
    const closed = await a.must('bulkUpdateConversations', { conversationIds: both, status: 'CLOSE' }, BULK);
    expect(closed.results.map((x: any) => x.conversation.status)).toEqual(['CLOSED', 'CLOSED']);
  });

  it('refuses a change that cannot apply to any conversation with one typed error, writing nothing', async () => {
    const { conversation } = await newConversation(a, ws);
    const ids = [conversation.id];
    for (const [input, expected] of [
      [{ conversationIds: ids }, { __typename: 'ValidationError', field: 'input' }],
      [{ conversationIds: ids, status: 'RESOLVE' }, { __typename: 'ValidationError', field: 'input.resolutionReason' }],
      [{ conversationIds: ids, status: 'SNOOZE', snoozeUntil: new Date(Date.now() - 1000).toISOString() }, { __typename: 'ValidationError', field: 'input.until' }],
      [{ conversationIds: ids, assigneeId: globalId('User', other.agent.id) }, { __typename: 'NotFoundError', entity: 'User' }],
      [{ conversationIds: ids, addLabelIds: [globalId('Label', other.agent.id)] }, { __typename: 'NotFoundError', entity: 'Label' }],
    ] as const) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        expect(await a.mutate('bulkUpdateConversations', input, BULK), JSON.stringify(input)).toMatchObject(expected);
      });
    }
  });

  it('takes at most 100 conversations: more is a request error (BAD_USER_INPUT)', async () => {
    const before = await footprint(server.db.prisma, ws.workspaceId);
    const ids = Array.from({ length: 101 }, () => globalId('Conversation', '01890000-0000-7000-8000-000000000000'));
    const res = await a.request(`mutation($input: BulkUpdateConversationsInput!) { bulkUpdateConversations(input: $input) { __typename } }`, { input: { conversationIds: ids, status: 'CLOSE' } });
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(await footprint(server.db.prisma, ws.workspaceId)).toEqual(before);
  });

  it('loads the conversations of its results in one statement, not one per result', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await newConversation(a, ws, { text: null })).conversation.id);
    await a.must('bulkUpdateConversations', { conversationIds: ids, status: 'CLOSE' }, '__typename');
    server.queries.length = 0;
    // Unassigning unassigned conversations changes nothing: each item only locks and reads.
    const r = await a.must('bulkUpdateConversations', { conversationIds: ids, assigneeId: null }, `... on BulkUpdateConversationsPayload { results { conversation { id status labels { name } } } }`);
    expect(r.results).toHaveLength(30);
    const selects = server.queries.filter((q) => /^SELECT/i.test(q.trim()) && /FROM "public"."conversation"/i.test(q) && !/FOR UPDATE/i.test(q));
    // One read per item inside its transaction, then one batched load for all the results.
    expect(selects.length).toBeLessThanOrEqual(30 + 2);
  });
});
