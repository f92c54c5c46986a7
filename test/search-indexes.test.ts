// The search additions that schema.prisma cannot express (the hand-written migration):
// they exist after migrating, and PostgreSQL's planner uses them for the search predicates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../src/db/client.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

let testDb: TestDatabase;
let db: Database;

beforeAll(async () => {
  testDb = await createTestDatabase();
  db = await openDatabase({ databaseUrl: testDb.url, dataDir: testDb.dataDir });
  await migrate(db);
});
afterAll(async () => {
  await db?.close();
  await testDb?.drop();
});

async function plan(sql: string): Promise<string> {
  // Small tables make sequential scans cheapest; forbid them to see which index is chosen.
  return db.prisma.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
    const rows = await tx.$queryRawUnsafe<Record<string, string>[]>(`EXPLAIN ${sql}`);
    return rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

describe('search columns and indexes', () => {
  it('exist', async () => {
    const indexes = await db.prisma.$queryRaw<{ indexname: string; indexdef: string }[]>`
      SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'`;
    const byName = new Map(indexes.map((i) => [i.indexname, i.indexdef]));
    expect(byName.get('conversation_search_idx')).toMatch(/USING gin \(search_vector\)/);
    expect(byName.get('message_search_idx')).toMatch(/USING gin \(search_vector\)/);
    for (const column of ['name', 'email', 'phone']) {
      expect(byName.get(`contact_${column}_trgm_idx`)).toMatch(new RegExp(`USING gin \\(${column} gin_trgm_ops\\)`));
    }
    expect(byName.get('label_name_trgm_idx')).toMatch(/USING gin \(name gin_trgm_ops\)/);
  });

  it('keep the tsvector in step with the text, as generated columns', async () => {
    const ws = await db.prisma.workspace.create({ data: { name: 'search' } });
    const inbox = await db.prisma.inbox.create({ data: { workspaceId: ws.id, name: 'i', channel: 'EMAIL' } });
    const contact = await db.prisma.contact.create({ data: { workspaceId: ws.id, name: 'Zoë Quartermaine' } });
    const conv = await db.prisma.conversation.create({
      data: { workspaceId: ws.id, number: 1, inboxId: inbox.id, contactId: contact.id, subject: 'Refund for order 1234' },
    });
    await db.prisma.message.create({
      data: { workspaceId: ws.id, conversationId: conv.id, inboxId: inbox.id, content: 'The parcel arrived crushed', senderType: 'CONTACT', status: 'RECEIVED' },
    });
    const hits = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM message WHERE workspace_id = ${ws.id}::uuid AND search_vector @@ plainto_tsquery('simple', 'crushed')`;
    expect(Number(hits[0]!.n)).toBe(1);
    await db.prisma.conversation.update({ where: { id: conv.id }, data: { subject: 'Something else' } });
    const subject = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM conversation WHERE search_vector @@ plainto_tsquery('simple', 'refund')`;
    expect(Number(subject[0]!.n)).toBe(0);
    const fuzzy = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM contact WHERE name ILIKE ${'%quarter%'}`;
    expect(Number(fuzzy[0]!.n)).toBe(1);
  });

  it('are what the planner uses for full-text and substring search', async () => {
    expect(await plan(`SELECT id FROM message WHERE search_vector @@ plainto_tsquery('simple', 'refund')`)).toContain('message_search_idx');
    expect(await plan(`SELECT id FROM conversation WHERE search_vector @@ plainto_tsquery('simple', 'refund')`)).toContain(
      'conversation_search_idx',
    );
    expect(await plan(`SELECT id FROM contact WHERE name ILIKE '%quarter%'`)).toContain('contact_name_trgm_idx');
    expect(await plan(`SELECT id FROM contact WHERE email ILIKE '%example.com%'`)).toContain('contact_email_trgm_idx');
    expect(await plan(`SELECT id FROM label WHERE name ILIKE '%bill%'`)).toContain('label_name_trgm_idx');
  });
});
