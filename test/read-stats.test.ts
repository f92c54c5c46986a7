// conversationStats: every figure checked against a workspace whose numbers are known,
// computed by the database in one statement.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { createConversationRow, seedWorkspace, type ConversationRow, type SeededWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let api: ReturnType<typeof client>;
const rows: Record<string, ConversationRow> = {};
const D = (day: number, hour = 0, seconds = 0) => new Date(Date.UTC(2026, 4, day, hour) + seconds * 1000);
const RANGE = { from: D(1).toISOString(), to: D(2).toISOString() };

beforeAll(async () => {
  // No snooze wake (a background statement) lands in the statement counts below.
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS } });
  ws = await seedWorkspace(server.db.prisma, 'Stats');
  const other = await seedWorkspace(server.db.prisma, 'Noise');
  const p = server.db.prisma;
  const row = (name: string, spec: Parameters<typeof createConversationRow>[2]) =>
    createConversationRow(p, ws, spec).then((r) => (rows[name] = r));
  const c = (at: Date, s = 0) => ({ sender: 'CONTACT' as const, content: 'q', at: new Date(at.getTime() + s * 1000) });
  const ai = (at: Date, s: number) => ({ sender: 'AI_AGENT' as const, content: 'a', at: new Date(at.getTime() + s * 1000) });
  const human = (at: Date, s: number) => ({ sender: 'HUMAN' as const, content: 'h', at: new Date(at.getTime() + s * 1000) });

  await row('s1', { inbox: 'whatsapp', status: 'OPEN', priority: 'HIGH', createdAt: D(1, 0), messages: [c(D(1, 0)), ai(D(1, 0), 60)] });
  await row('s2', { inbox: 'email', status: 'OPEN', controller: 'HUMAN', assigneeId: ws.agent.id, createdAt: D(1, 1), messages: [c(D(1, 1)), human(D(1, 1), 300)] });
  await row('s3', { inbox: 'web', status: 'OPEN', priority: 'URGENT', createdAt: D(1, 2), messages: [c(D(1, 2))] });
  await row('s4', { inbox: 'whatsapp', status: 'OPEN', createdAt: D(1, 3), messages: [c(D(1, 3))] });
  await row('s5', {
    inbox: 'email', status: 'RESOLVED', createdAt: D(1, 4), resolvedAt: D(1, 5), satisfactionRating: 4,
    messages: [c(D(1, 4)), ai(D(1, 4), 120), human(D(1, 4), 600)],
  });
  await row('s6', {
    inbox: 'web', status: 'RESOLVED', createdAt: D(1, 5), resolvedAt: D(1, 7), satisfactionRequested: true,
    messages: [c(D(1, 5)), ai(D(1, 5), 180)],
  });
  await row('s7', { inbox: 'whatsapp', status: 'CLOSED', createdAt: D(0, 0), resolvedAt: D(1, 6), satisfactionRating: 2, messages: [c(D(0, 0)), ai(D(0, 0), 30)] });
  await row('s8', { inbox: 'whatsapp', status: 'ARCHIVED', createdAt: D(1, 8), messages: [c(D(1, 8))] });
  await row('s9', { inbox: 'email', status: 'PENDING', createdAt: D(3, 0), messages: [c(D(3, 0)), human(D(3, 0), 100)] });
  // Another workspace's conversations never count.
  await createConversationRow(p, other, { status: 'OPEN', createdAt: D(1, 0), messages: [c(D(1, 0))] });
  api = client(server.url, ws.key);
});
afterAll(() => server?.close());

const STATS = `query($filter: ConversationFilter, $range: TimeRange) {
  conversationStats(filter: $filter, range: $range) {
    total open unassigned
    byStatus { status count } byChannel { channel count } byPriority { priority count } byController { controller count }
    oldestUnansweredSince oldestUnanswered { number }
    firstResponseAi { count averageSeconds medianSeconds }
    firstResponseHuman { count averageSeconds medianSeconds }
    resolution { count averageSeconds medianSeconds }
    resolvedInRange
    satisfaction { requested rated averageRating responseRate }
    range { from to }
  }
}`;

const asMap = (list: { count: number }[], key: string) => Object.fromEntries(list.map((x: any) => [x[key], x.count]));

describe('conversationStats', () => {
  it('computes every figure over the filter, time-based ones over the range', async () => {
    const s = (await api.ok(STATS, { range: RANGE })).conversationStats;
    expect(s.total).toBe(8);
    expect(s.open).toBe(4);
    expect(s.unassigned).toBe(3);
    expect(asMap(s.byStatus, 'status')).toEqual({ OPEN: 4, PENDING: 1, SNOOZED: 0, RESOLVED: 2, CLOSED: 1, ARCHIVED: 0 });
    expect(asMap(s.byChannel, 'channel')).toEqual({ WHATSAPP: 3, EMAIL: 3, WEB_CHAT: 2, INSTAGRAM: 0, FACEBOOK: 0, SMS: 0, VOICE: 0 });
    expect(asMap(s.byPriority, 'priority')).toEqual({ NONE: 6, LOW: 0, MEDIUM: 0, HIGH: 1, URGENT: 1 });
    expect(asMap(s.byController, 'controller')).toEqual({ AI_AGENT: 7, HUMAN: 1 });
    expect(s.oldestUnansweredSince).toBe(D(1, 2).toISOString());
    expect(s.oldestUnanswered.number).toBe(rows.s3!.number);
    expect(s.firstResponseAi).toEqual({ count: 3, averageSeconds: 120, medianSeconds: 120 });
    expect(s.firstResponseHuman).toEqual({ count: 2, averageSeconds: 450, medianSeconds: 450 });
    expect(s.resolution).toEqual({ count: 3, averageSeconds: (3600 + 7200 + 30 * 3600) / 3, medianSeconds: 7200 });
    expect(s.resolvedInRange).toBe(3);
    expect(s.satisfaction.requested).toBe(3);
    expect(s.satisfaction.rated).toBe(2);
    expect(s.satisfaction.averageRating).toBe(3);
    expect(s.satisfaction.responseRate).toBeCloseTo(2 / 3, 10);
    expect(s.range).toEqual(RANGE);
  });

  it('takes the same filter as conversations', async () => {
    const whatsapp = (await api.ok(STATS, { range: RANGE, filter: { channels: ['WHATSAPP'] } })).conversationStats;
    expect(whatsapp.total).toBe(3);
    expect(whatsapp.open).toBe(2);
    expect(whatsapp.oldestUnanswered.number).toBe(rows.s4!.number);
    expect(whatsapp.firstResponseAi.count).toBe(1);
    const all = (await api.ok(STATS, { filter: { allStatuses: true } })).conversationStats;
    expect(all.total).toBe(9);
    expect(asMap(all.byStatus, 'status').ARCHIVED).toBe(1);
    // No range: all time.
    expect(all.firstResponseAi.count).toBe(4);
    expect(all.firstResponseHuman.count).toBe(3);
    expect(all.range).toEqual({ from: null, to: null });
  });

  it('answers an empty selection with zeros and nulls', async () => {
    const s = (await api.ok(STATS, { filter: { search: 'no-such-words' } })).conversationStats;
    expect(s).toMatchObject({
      total: 0, open: 0, unassigned: 0, oldestUnanswered: null, oldestUnansweredSince: null,
      firstResponseAi: { count: 0, averageSeconds: null, medianSeconds: null },
      satisfaction: { requested: 0, rated: 0, averageRating: null, responseRate: null },
    });
  });

  it('is one SQL statement', async () => {
    await api.ok(`{ conversationStats { total } }`);
    server.queries.length = 0;
    await api.ok(`{ conversationStats { total byStatus { count } firstResponseAi { medianSeconds } satisfaction { responseRate } } }`);
    expect(server.queries.filter((q) => !/"api_key"/.test(q))).toHaveLength(1);
  });

  it('does not count a conversation reopened since its resolution as resolved', async () => {
    const near = { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 3_600_000).toISOString() };
    const resolvedNow = async () => (await api.ok(STATS, { range: near })).conversationStats;
    const created = await api.ok(
      `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }`,
      { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: '+14155550142' }, message: { senderType: 'CONTACT', content: 'hi' } } },
    );
    const conversationId = created.createConversation.conversation.id;
    const lifecycle = (name: string, extra = '') =>
      api.ok(`mutation($id: ID!) { ${name}(input: { conversationId: $id${extra} }) { __typename } }`, { id: conversationId });
    await lifecycle('resolveConversation', ', reason: ISSUE_RESOLVED');
    expect((await resolvedNow()).resolvedInRange).toBe(1);
    await lifecycle('reopenConversation');
    const reopened = await resolvedNow();
    expect(reopened.resolvedInRange).toBe(0);
    expect(reopened.resolution.count).toBe(0);
    await lifecycle('resolveConversation', ', reason: ISSUE_RESOLVED');
    expect((await resolvedNow()).resolvedInRange).toBe(1);
    // Reopened, then closed without a new resolution: not resolved either.
    await lifecycle('reopenConversation');
    await lifecycle('closeConversation');
    expect((await resolvedNow()).resolvedInRange).toBe(0);
  });
});
