// The committed migrations produce exactly what prisma/schema.prisma describes (the
// hand-written search additions aside), apply once, and are recorded in Prisma's table.
// Runs on PGlite, and on PostgreSQL in the PARLEY_TEST_DB=postgres suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase, type Database } from '../src/db/client.js';
import {
  SEARCH_OBJECTS,
  databaseTarget,
  datamodelTarget,
  diffSql,
  withSchemaEngine,
  readMigrations,
  withoutSearchObjects,
} from '../src/db/schema-engine.js';
import { createTestDatabase, usePostgres, type TestDatabase } from './support/databases.js';

let testDb: TestDatabase;
let db: Database;
/** Always a PGlite: the schema engine introspects through it (see the PostgreSQL note below). */
let pglite: Database;
let applied: string[];

beforeAll(async () => {
  testDb = await createTestDatabase({ empty: true });
  db = await openDatabase({ databaseUrl: testDb.url, dataDir: testDb.dataDir });
  applied = await migrate(db);
  pglite = usePostgres ? await openDatabase({ dataDir: 'memory://' }) : db;
  if (usePostgres) await migrate(pglite);
});
afterAll(async () => {
  if (pglite !== db) await pglite?.close();
  await db?.close();
  await testDb?.drop();
});

/**
 * The schema as PostgreSQL's catalog describes it, normalised for comparison: columns,
 * enums, constraints and index definitions of the public schema.
 */
async function catalog(target: Database): Promise<string[]> {
  const q = (sql: string) => target.prisma.$queryRawUnsafe<Record<string, unknown>[]>(sql);
  const rows = [
    ...(await q(`SELECT 'column ' || table_name || '.' || column_name || ' ' || udt_name || ' null=' || is_nullable
                 || ' default=' || coalesce(column_default, '') || ' generated=' || coalesce(generation_expression, '') AS d
               FROM information_schema.columns WHERE table_schema = 'public'`)),
    ...(await q(`SELECT 'enum ' || t.typname || ' ' || string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) AS d
               FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname`)),
    ...(await q(`SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS d
               FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'n'`)),
    ...(await q(`SELECT 'index ' || indexdef AS d FROM pg_indexes WHERE schemaname = 'public'`)),
  ];
  return rows.map((r) => String(r.d)).sort();
}

describe(`migrations on ${usePostgres ? 'PostgreSQL' : 'PGlite'}`, () => {
  it('applies every committed migration on an empty database, in order', async () => {
    const committed = (await readMigrations()).migrationDirectories.map((d) => d.path);
    expect(committed.length).toBeGreaterThanOrEqual(2);
    expect(applied).toEqual(committed);
    const rows = await db.prisma.$queryRaw<{ migration_name: string; finished_at: Date | null }[]>`
      SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name`;
    expect(rows.map((r) => r.migration_name)).toEqual(committed);
    expect(rows.every((r) => r.finished_at instanceof Date)).toBe(true);
  });

  it('applies nothing the second time', async () => {
    expect(await migrate(db)).toEqual([]);
  });

  // The engine takes PostgreSQL's migration lock on a connection of its own: that connection
  // must be closed afterwards, or the next process to migrate waits for the lock. Only this
  // file's database counts: other test files migrate their own databases at the same time.
  if (usePostgres) it('leaves no migration lock held once migrated', async () => {
    const locks = await db.prisma.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_locks
      WHERE locktype = 'advisory' AND granted
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    expect(Number(locks[0]!.n)).toBe(0);
    const second = await openDatabase({ databaseUrl: testDb.url, dataDir: testDb.dataDir });
    try {
      const t0 = Date.now();
      expect(await migrate(second)).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      await second.close();
    }
  });

  // Prisma's wasm schema engine cannot introspect through @prisma/adapter-pg (it fails on
  // the catalog's "char" columns), so the diff runs on PGlite, and on PostgreSQL the test
  // shows that the same migrations produced the very same catalog there.
  if (usePostgres) it('produces on PostgreSQL the same schema as on PGlite', async () => {
    const [onPostgres, onPglite] = [await catalog(db), await catalog(pglite)];
    expect(onPostgres.length).toBeGreaterThan(100);
    expect(onPostgres).toEqual(onPglite);
  });

  it('leaves no drift between the migrated database and schema.prisma, search additions aside', async () => {
    const raw = await withSchemaEngine(pglite.adapterFactory, async (engine) => diffSql(engine, await databaseTarget(), await datamodelTarget()));
    // The raw diff does see the search objects (it would drop them)...
    for (const name of ['search_vector', 'conversation_search_idx', 'message_search_idx', 'contact_name_trgm_idx']) {
      expect(raw).toContain(name);
    }
    // ...and nothing else differs.
    expect(withoutSearchObjects(raw)).toBe('');
  });

  // Prisma puts every column change to a table into one ALTER TABLE statement, so a probe
  // on "message" or "conversation" shares its statement with their search_vector column:
  // the filter must keep the probe's clause while it drops the search one.
  it('would report a real difference (the drift check is not vacuous)', async () => {
    const tables = ['label', 'message', 'conversation'];
    try {
      for (const table of tables) await pglite.prisma.$executeRawUnsafe(`ALTER TABLE "${table}" ADD COLUMN "drift_probe" TEXT`);
      const raw = await withSchemaEngine(pglite.adapterFactory, async (engine) => diffSql(engine, await databaseTarget(), await datamodelTarget()));
      const filtered = withoutSearchObjects(raw);
      for (const table of tables) expect(filtered).toMatch(new RegExp(`ALTER TABLE "${table}"[^;]*"drift_probe"`));
      expect(filtered).not.toContain('search_vector');
    } finally {
      for (const table of tables) await pglite.prisma.$executeRawUnsafe(`ALTER TABLE "${table}" DROP COLUMN IF EXISTS "drift_probe"`);
    }
  });

  it('names every search object the hand-written migration creates', async () => {
    const search = (await readMigrations()).migrationDirectories.find((d) => d.path.endsWith('_search'));
    const sql = search?.migrationFile.content.tag === 'ok' ? search.migrationFile.content.value : '';
    const created = [...sql.matchAll(/CREATE (?:INDEX|EXTENSION IF NOT EXISTS) "?([a-z_]+)"?/g)].map((m) => m[1]);
    expect(created.length).toBeGreaterThan(0);
    for (const name of created) expect(SEARCH_OBJECTS).toContain(name);
  });
});

describe('withoutSearchObjects', () => {
  it('keeps the clauses of an ALTER TABLE statement that do not concern a search object', () => {
    const diff = [
      '-- DropIndex',
      'DROP INDEX "message_search_idx";',
      '',
      '-- AlterTable',
      'ALTER TABLE "message" DROP COLUMN "search_vector",',
      'ADD COLUMN "subject" TEXT,',
      'ALTER COLUMN "body" SET DEFAULT \'a, b\';',
      '',
      '-- AlterTable',
      'ALTER TABLE "conversation" DROP COLUMN "search_vector";',
      '',
      '-- AddForeignKey',
      'ALTER TABLE "message" ADD CONSTRAINT "message_pair_fkey" FOREIGN KEY ("a", "b") REFERENCES "pair"("a", "b") ON DELETE CASCADE ON UPDATE CASCADE;',
      '',
    ].join('\n');
    expect(withoutSearchObjects(diff)).toBe(
      [
        '-- AlterTable',
        'ALTER TABLE "message" ADD COLUMN "subject" TEXT,',
        'ALTER COLUMN "body" SET DEFAULT \'a, b\';',
        '',
        '-- AddForeignKey',
        'ALTER TABLE "message" ADD CONSTRAINT "message_pair_fkey" FOREIGN KEY ("a", "b") REFERENCES "pair"("a", "b") ON DELETE CASCADE ON UPDATE CASCADE;',
      ].join('\n'),
    );
  });

  it('leaves nothing when only search objects differ', () => {
    expect(withoutSearchObjects('-- DropIndex\nDROP INDEX "conversation_search_idx";\n\n-- AlterTable\nALTER TABLE "message" DROP COLUMN "search_vector";\n')).toBe('');
  });
});
