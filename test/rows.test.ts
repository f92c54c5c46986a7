// The list statement's rows (src/db/rows.ts, src/services/conversation-rows.ts) are the rows
// Prisma would return: every field of every model maps to a column, values and types agree
// (dates as Date, JSON as objects, nulls as null), relations are nested in full, and nothing of
// another workspace comes back even when asked for by id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rowShape, snakeCase, type RowModel } from '../src/db/rows.js';
import { randomUUID } from 'node:crypto';
import { SCOPED_CLIENTS_KEPT, scopeToWorkspace } from '../src/db/tenant.js';
import { CONVERSATION_RELATIONS, loadConversationRows } from '../src/services/conversation-rows.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let a: SeededWorkspace;
let b: SeededWorkspace;
let ids: string[];
let foreign: string;
/** Every relation, every column. */
const ALL = { relations: new Map(CONVERSATION_RELATIONS.map((r) => [r, null])) };

beforeAll(async () => {
  server = await startTestServer();
  a = await seedWorkspace(server.db.prisma, 'Rows A');
  b = await seedWorkspace(server.db.prisma, 'Rows B');
  const full = await createConversationRow(server.db.prisma, a, {
    subject: 'Refund',
    assigneeId: a.agent.id,
    labels: ['vip', 'billing'],
    customAttributes: { plan: 'pro', seats: 3 },
    contact: { name: 'Ada', email: 'ada@example.com', phone: '+14155550123', customAttributes: { tier: 'gold' } },
    resolvedAt: new Date('2026-01-02T03:04:05.678Z'),
    messages: [
      { sender: 'CONTACT', content: 'hello', at: new Date('2026-01-01T10:00:00.123Z') },
      { sender: 'HUMAN', content: 'hi', userId: a.agent.id, at: new Date('2026-01-01T10:01:00Z') },
    ],
    handoffs: [{ startedAt: new Date('2026-01-01T10:00:30Z'), assigneeId: a.agent.id, reason: 'asked' }],
  });
  const bare = await createConversationRow(server.db.prisma, a, { subject: null, messages: [] });
  foreign = (await createConversationRow(server.db.prisma, b, { subject: 'Not yours' })).id;
  ids = [bare.id, full.id];
}, 60_000);
afterAll(() => server?.close());

describe('rows built as JSON by PostgreSQL', () => {
  it('maps every field of every model to a column of its table', async () => {
    for (const model of ['Conversation', 'Contact', 'User', 'Inbox', 'Label', 'Message', 'Handoff'] as RowModel[]) {
      const shape = rowShape(model);
      const columns = await server.db.prisma.$queryRaw<{ column_name: string }[]>`
        SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ${shape.table}`;
      const names = new Set(columns.map((c) => c.column_name));
      expect(names.size, `table ${shape.table}`).toBeGreaterThan(0);
      for (const f of shape.fields) expect(names, `${model}.${f}`).toContain(snakeCase(f));
    }
  });

  it('returns what Prisma returns for the same rows and relations, in the order asked', async () => {
    const db = scopeToWorkspace(server.db.prisma, a.workspaceId);
    const rows = await loadConversationRows(db, a.workspaceId, ids, ALL);
    const expected = await server.db.prisma.conversation.findMany({
      where: { id: { in: ids } },
      include: {
        contact: true,
        inbox: true,
        assignee: true,
        resolvedBy: true,
        lastMessage: true,
        labels: { orderBy: [{ name: 'asc' }, { id: 'asc' }] },
        handoffs: { orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] },
      },
    });
    const byId = new Map(expected.map((r) => [r.id, r]));
    expect(rows.map((r) => r.id)).toEqual(ids);
    for (const row of rows) expect(row).toEqual(byId.get(row.id));
    const full = rows[1]!;
    expect(full.createdAt).toBeInstanceOf(Date);
    expect(full.resolvedAt?.toISOString()).toBe('2026-01-02T03:04:05.678Z');
    expect(full.labels!.map((l) => l.name)).toEqual(['billing', 'vip']);
    expect(full.contact!.customAttributes).toEqual({ tier: 'gold' });
    expect(full.lastMessage!.content).toBe('hi');
    expect(rows[0]!.assignee).toBeNull();
    expect(rows[0]!.labels).toEqual([]);
  });

  it('loads only the columns and relations asked for', async () => {
    const db = scopeToWorkspace(server.db.prisma, a.workspaceId);
    const [row] = await loadConversationRows(db, a.workspaceId, [ids[1]!], {
      columns: new Set(['id', 'subject']),
      relations: new Map([['contact', new Set(['id', 'name'])]]),
    });
    expect(row).toEqual({ id: ids[1], subject: 'Refund', contact: { id: expect.any(String), name: 'Ada' } });
  });

  it("leaves out another workspace's conversation, even asked for by id", async () => {
    const db = scopeToWorkspace(server.db.prisma, a.workspaceId);
    const rows = await loadConversationRows(db, a.workspaceId, [foreign, ids[0]!], ALL);
    expect(rows.map((r) => r.id)).toEqual([ids[0]]);
  });
});

describe('scoped clients kept per workspace (src/db/tenant.ts)', () => {
  /** The conversations `db` finds when asked for a's two and b's one by id. */
  const found = async (db: ReturnType<typeof scopeToWorkspace>) =>
    (await db.conversation.findMany({ where: { id: { in: [...ids, foreign] } }, select: { id: true } })).map((r) => r.id).sort();

  it('gives the same client for the same workspace, and each one sees only its own rows', async () => {
    const dbA = scopeToWorkspace(server.db.prisma, a.workspaceId);
    const dbB = scopeToWorkspace(server.db.prisma, b.workspaceId);
    expect(scopeToWorkspace(server.db.prisma, a.workspaceId)).toBe(dbA);
    expect(dbB).not.toBe(dbA);
    expect(await found(dbA)).toEqual([...ids].sort());
    expect(await found(dbB)).toEqual([foreign]);
  });

  it('lets the least recently used go past the limit, and a client made again is scoped as before', async () => {
    const fresh = (n: number) => Array.from({ length: n }, () => scopeToWorkspace(server.db.prisma, randomUUID()));
    // Whatever was kept before goes: the cache holds these alone.
    fresh(SCOPED_CLIENTS_KEPT);
    const dbA = scopeToWorkspace(server.db.prisma, a.workspaceId);
    const dbB = scopeToWorkspace(server.db.prisma, b.workspaceId);
    fresh(SCOPED_CLIENTS_KEPT - 2);
    // Full, a and b the oldest: a used again goes to the back, so the next one makes b go.
    expect(scopeToWorkspace(server.db.prisma, a.workspaceId)).toBe(dbA);
    const [newest] = fresh(1);
    expect(scopeToWorkspace(server.db.prisma, a.workspaceId)).toBe(dbA);
    const dbB2 = scopeToWorkspace(server.db.prisma, b.workspaceId);
    expect(dbB2).not.toBe(dbB);
    expect(await found(dbB2)).toEqual([foreign]);
    expect(await found(dbA)).toEqual([...ids].sort());
    // A workspace with no rows here finds none of them.
    expect(await found(newest!)).toEqual([]);
  });
});
