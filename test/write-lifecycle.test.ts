// The lifecycle through the HTTP server: every cell of the status transition matrix,
// generated from the one exported table; snoozes in the past; and the snooze waker (on its
// interval, at startup after a restart, and exactly once with several wakers on one database).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationStatus } from '../src/generated/prisma/client.js';
import { wakeDueSnoozes } from '../src/services/snooze-waker.js';
import { canTransition, STATUS_TRANSITIONS, STATUSES, transitionTableMarkdown } from '../src/services/status.js';
import { openDatabase } from '../src/db/client.js';
import { createTestDatabase, usePostgres } from './support/databases.js';
import { IDLE_WORKERS, startTestServer } from './support/server.js';
import {
  api,
  ERROR,
  events,
  expectNothingWritten,
  localId,
  newConversation,
  openWriteWorld,
  seedWorkspace,
  type Api,
  type SeededWorkspace,
  type TestServer,
} from './support/write-api.js';

let server: TestServer;
let ws: SeededWorkspace;
let a: Api;

beforeAll(async () => {
  ({ server, ws, a } = await openWriteWorld('Lifecycle', { SNOOZE_WAKE_INTERVAL_MS: '200' }));
});
afterAll(() => server?.close());

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

/** The mutation that moves a conversation to each status. */
const MUTATION: Record<ConversationStatus, [name: string, extra: () => Record<string, unknown>]> = {
  OPEN: ['reopenConversation', () => ({})],
  PENDING: ['setConversationPending', () => ({})],
  SNOOZED: ['snoozeConversation', () => ({ until: inAnHour() })],
  RESOLVED: ['resolveConversation', () => ({ reason: 'ISSUE_RESOLVED' })],
  CLOSED: ['closeConversation', () => ({})],
  ARCHIVED: ['archiveConversation', () => ({})],
};

const moveSelection = (name: string) =>
  `... on ${name[0]!.toUpperCase()}${name.slice(1)}Payload { conversation { status version snoozedUntil } }
   ... on InvalidTransitionError { currentStatus requestedStatus allowedStatuses } ${ERROR}`;

function move(conversationId: string, to: ConversationStatus) {
  const [name, extra] = MUTATION[to];
  return a.mutate(name, { conversationId, ...extra(), note: `to ${to}` }, moveSelection(name));
}

/** The shortest way from OPEN to each status, following the table itself. */
function pathTo(target: ConversationStatus): ConversationStatus[] {
  const queue: ConversationStatus[][] = [['OPEN']];
  while (queue.length) {
    const path = queue.shift()!;
    const last = path.at(-1)!;
    if (last === target) return path.slice(1);
    for (const next of STATUS_TRANSITIONS[last]) if (!path.includes(next)) queue.push([...path, next]);
  }
  throw new Error(`${target} cannot be reached from OPEN`);
}

async function conversationIn(status: ConversationStatus) {
  const { conversation } = await newConversation(a, ws);
  for (const step of pathTo(status)) expect((await move(conversation.id, step)).conversation?.status).toBe(step);
  return conversation.id as string;
}

describe('the status transition table', () => {
  it('is the one in the spec, and prints as a Markdown matrix', () => {
    expect(STATUS_TRANSITIONS).toEqual({
      OPEN: ['PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED'],
      PENDING: ['OPEN', 'SNOOZED', 'RESOLVED', 'CLOSED'],
      SNOOZED: ['OPEN', 'RESOLVED', 'CLOSED'],
      RESOLVED: ['OPEN', 'CLOSED', 'ARCHIVED'],
      CLOSED: ['OPEN', 'ARCHIVED'],
      ARCHIVED: [],
    });
    const table = transitionTableMarkdown();
    expect(table.split('\n')).toHaveLength(2 + STATUSES.length);
    expect(table).toContain('| **ARCHIVED** |  |  |  |  |  |  |');
    // The README prints this very table.
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const printed = /<!-- transitions:start[^>]*-->\n([\s\S]*?)\n<!-- transitions:end -->/.exec(readme)?.[1];
    expect(printed).toBe(table);
  });

  for (const from of STATUSES) {
    const allowed = STATUS_TRANSITIONS[from];
    it(`from ${from}: allows ${allowed.join(', ') || 'nothing'}; refuses the rest with InvalidTransitionError, writing nothing`, async () => {
      const id = await conversationIn(from);
      for (const to of STATUSES.filter((s) => !canTransition(from, s))) {
        await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
          const r = await move(id, to);
          expect(r, `${from} -> ${to}`).toMatchObject({
            __typename: 'InvalidTransitionError',
            code: 'INVALID_TRANSITION',
            currentStatus: from,
            requestedStatus: to,
            allowedStatuses: [...allowed],
          });
          expect(r.message).toContain(from);
        });
      }
      for (const to of allowed) {
        const fresh = await conversationIn(from);
        const before = await a.conversation(fresh);
        const r = await move(fresh, to);
        expect(r.conversation, `${from} -> ${to}`).toMatchObject({ status: to, version: before.version + 1 });
        expect(r.conversation.snoozedUntil === null).toBe(to !== 'SNOOZED');
        const [ev] = (await events(server.db.prisma, ws.workspaceId, fresh)).slice(-1);
        expect(ev).toMatchObject({ type: 'STATUS_CHANGED', actorType: 'USER', before: { status: from }, after: { status: to }, note: `to ${to}` });
      }
    });
  }

  it('records the resolution on the conversation', async () => {
    const { conversation } = await newConversation(a, ws);
    await a.must('resolveConversation', { conversationId: conversation.id, reason: 'DUPLICATE', note: 'Same as #1', requestSatisfaction: true }, '__typename');
    const row = await server.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(conversation.id) } });
    expect(row).toMatchObject({ resolutionReason: 'DUPLICATE', resolutionNote: 'Same as #1', resolvedById: ws.admin.id, satisfactionRequested: true });
    expect(row.resolvedAt).not.toBeNull();
  });
});

describe('snoozeConversation', () => {
  it('refuses a time in the past or now, writing nothing', async () => {
    const { conversation } = await newConversation(a, ws);
    for (const until of [new Date(Date.now() - 60_000).toISOString(), new Date(Date.now() - 1).toISOString()]) {
      await expectNothingWritten(server.db.prisma, ws.workspaceId, async () => {
        const r = await a.mutate('snoozeConversation', { conversationId: conversation.id, until }, `... on ValidationError { field } ${ERROR}`);
        expect(r).toMatchObject({ __typename: 'ValidationError', field: 'input.until' });
      });
    }
  });

  it('wakes by itself when the time comes, with a STATUS_CHANGED event by the SYSTEM actor', async () => {
    const { conversation } = await newConversation(a, ws);
    const until = new Date(Date.now() + 800).toISOString();
    const r = await a.must('snoozeConversation', { conversationId: conversation.id, until }, '... on SnoozeConversationPayload { conversation { status snoozedUntil version } }');
    expect(r.conversation).toEqual({ status: 'SNOOZED', snoozedUntil: until, version: 2 });
    let now = r.conversation;
    for (let i = 0; i < 50 && now.status === 'SNOOZED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = await a.conversation(conversation.id);
    }
    expect(now).toMatchObject({ status: 'OPEN', snoozedUntil: null, version: 3 });
    const [ev] = (await events(server.db.prisma, ws.workspaceId, conversation.id)).slice(-1);
    expect(ev).toMatchObject({ type: 'STATUS_CHANGED', actorType: 'SYSTEM', actorUserId: null, before: { status: 'SNOOZED', snoozedUntil: until }, after: { status: 'OPEN' } });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(until));
  });

  it('wakes each due snooze exactly once when several wakers share the database', async () => {
    const prisma = server.db.prisma;
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { conversation } = await newConversation(a, ws);
      await a.must('snoozeConversation', { conversationId: conversation.id, until: inAnHour() }, '__typename');
      ids.push(localId(conversation.id));
    }
    // Time passes: every snooze is due at once. Then wakers race: the server's own, several
    // more in this process and, on PostgreSQL, others on a second connection pool, as a
    // second server process would have.
    await prisma.conversation.updateMany({ where: { id: { in: ids } }, data: { snoozedUntil: new Date(Date.now() - 1000) } });
    const second = usePostgres ? await openDatabase({ databaseUrl: server.database.url, dataDir: 'unused' }) : null;
    try {
      const rounds = await Promise.all([
        wakeDueSnoozes(prisma),
        wakeDueSnoozes(prisma),
        wakeDueSnoozes(second?.prisma ?? prisma),
        wakeDueSnoozes(second?.prisma ?? prisma),
      ]);
      const wokenHere = rounds.flatMap((r) => r.woken).filter((id) => ids.includes(id));
      expect(new Set(wokenHere).size).toBe(wokenHere.length);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await second?.close();
    }
    const rows = await prisma.conversation.findMany({ where: { id: { in: ids } } });
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'OPEN'));
    expect(rows.map((r) => r.version)).toEqual(ids.map(() => 3));
    const wakes = await prisma.event.groupBy({
      by: ['conversationId'],
      where: { conversationId: { in: ids }, type: 'STATUS_CHANGED', actorType: 'SYSTEM' },
      _count: true,
    });
    expect(wakes.map((w) => w._count).sort()).toEqual(ids.map(() => 1));
  });

  it('wakes a snooze that fell due while no server ran, at startup', async () => {
    const dir = usePostgres ? null : mkdtempSync(join(tmpdir(), 'parley-snooze-'));
    const database = await createTestDatabase({ dataDir: dir ?? undefined });
    try {
      const env = { COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS };
      const first = await startTestServer({ database, env });
      const w = await seedWorkspace(first.db.prisma, 'Restart');
      const { conversation } = await newConversation(api(first.url, w.key), w);
      await api(first.url, w.key).must('snoozeConversation', { conversationId: conversation.id, until: inAnHour() }, '__typename');
      // While the server is down, the snooze's time comes.
      await first.db.prisma.conversation.update({ where: { id: localId(conversation.id) }, data: { snoozedUntil: new Date(Date.now() - 60_000) } });
      await first.close();

      const restarted = await startTestServer({ database, env });
      try {
        let status = 'SNOOZED';
        for (let i = 0; i < 50 && status === 'SNOOZED'; i++) {
          status = (await restarted.db.prisma.conversation.findUniqueOrThrow({ where: { id: localId(conversation.id) } })).status;
          if (status === 'SNOOZED') await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(status).toBe('OPEN');
        const [ev] = (await events(restarted.db.prisma, w.workspaceId, conversation.id)).slice(-1);
        expect(ev).toMatchObject({ type: 'STATUS_CHANGED', actorType: 'SYSTEM', after: { status: 'OPEN' } });
      } finally {
        await restarted.close();
      }
    } finally {
      await database.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });
});
