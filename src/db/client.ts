// One Prisma client for both databases: PGlite in a data directory when DATABASE_URL is
// unset, PostgreSQL through @prisma/adapter-pg when it is a postgres:// URL.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { pgliteExtensions } from './engine-db.js';
import { applyMigrations, withSchemaEngine } from './schema-engine.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The adapter factory, for the schema engine (migrations). */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** PGlite data directory; `memory://` keeps it in memory (tests). */
  dataDir: string;
  /** Record every SQL statement (Prisma query events) for the N+1 tests. */
  onQuery?: (sql: string) => void;
}

function makeClient(adapter: SqlMigrationAwareDriverAdapterFactory, onQuery?: (sql: string) => void) {
  const prisma = new PrismaClient({
    adapter,
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (onQuery) (prisma as unknown as { $on(e: 'query', f: (e: { query: string }) => void): void }).$on('query', (e) => onQuery(e.query));
  return prisma;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const adapterFactory = new PrismaPg({ connectionString: opts.databaseUrl, max: 10 });
    const prisma = makeClient(adapterFactory, opts.onQuery);
    return { kind: 'postgres', prisma, adapterFactory, close: () => prisma.$disconnect() };
  }
  const inMemory = opts.dataDir.startsWith('memory://');
  const lock = inMemory ? undefined : await lockDataDir(opts.dataDir);
  try {
    const pglite = await PGlite.create(inMemory ? undefined : opts.dataDir, { extensions: pgliteExtensions() });
    const adapterFactory = new PrismaPGlite(pglite);
    const prisma = makeClient(adapterFactory, opts.onQuery);
    return {
      kind: 'pglite',
      prisma,
      adapterFactory,
      close: async () => {
        await prisma.$disconnect();
        await pglite.close();
        await lock?.release();
      },
    };
  } catch (e) {
    await lock?.release();
    throw e;
  }
}

/** Applies the committed migrations not yet applied; returns their names. */
export async function migrate(db: Database): Promise<string[]> {
  return withSchemaEngine(db.adapterFactory, (engine) => applyMigrations(engine));
}
