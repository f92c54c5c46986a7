// One Prisma client for both databases: PGlite in a data directory when DATABASE_URL is
// unset, PostgreSQL through @prisma/adapter-pg when it is a postgres:// URL.
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlMigrationAwareDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { PoolGauges } from '../metrics.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { pgliteExtensions } from './engine-db.js';
import { applyMigrations, readMigrations, withSchemaEngine } from './schema-engine.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The adapter factory, for the schema engine (migrations). */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** The application client's connections now, for the metrics. */
  pool(): PoolGauges;
  close(): Promise<void>;
  /** PGlite only: an image of the data directory as it is now (loadable as `pgliteImage`). */
  image?: () => Promise<Blob>;
}

export interface DatabaseOptions {
  databaseUrl?: string;
  /** PGlite data directory; `memory://` keeps it in memory (tests). */
  dataDir: string;
  /** Record every SQL statement (Prisma query events) for the N+1 tests. */
  onQuery?: (sql: string) => void;
  /**
   * For an in-memory PGlite: start from this image of a data directory (PGlite's dumpDataDir)
   * instead of an empty one. The test suite starts its servers from one migrated image, made
   * once, rather than running initdb and every migration per server.
   */
  pgliteImage?: Blob;
}

/** PostgreSQL connections of the application client's pool (migrations open pools of their own). */
const POOL_MAX = 10;

/**
 * PGlite has one connection, in process, which runs one statement or transaction at a time. To
 * tell whether it is in use, and how much work waits for it, the application client's adapter
 * counts what it has been asked and has not finished: statements outside transactions, and
 * transactions from the moment they are asked for until they end.
 */
function countingWork(factory: SqlDriverAdapterFactory, busy: { n: number }): SqlDriverAdapterFactory {
  const counted = <T>(work: Promise<T>) => {
    busy.n++;
    return work.finally(() => busy.n--);
  };
  const ending = (tx: Transaction): Transaction => {
    let ended = false;
    const end = <T>(work: Promise<T>) =>
      work.finally(() => {
        if (!ended) busy.n--;
        ended = true;
      });
    return new Proxy(tx, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === 'commit' || prop === 'rollback') return () => end((value as () => Promise<void>).call(target));
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  };
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      return new Proxy(adapter, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target);
          if (prop === 'queryRaw' || prop === 'executeRaw') {
            return (...args: unknown[]) => counted((value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
          }
          if (prop === 'startTransaction') {
            return async (...args: unknown[]) => {
              busy.n++;
              try {
                return ending(await (value as (...a: unknown[]) => Promise<Transaction>).apply(target, args));
              } catch (e) {
                busy.n--;
                throw e;
              }
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as SqlDriverAdapter;
    },
  };
}

function makeClient(adapter: SqlDriverAdapterFactory, onQuery?: (sql: string) => void) {
  const prisma = new PrismaClient({
    adapter,
    log: onQuery ? [{ emit: 'event', level: 'query' }] : [],
  });
  if (onQuery) (prisma as unknown as { $on(e: 'query', f: (e: { query: string }) => void): void }).$on('query', (e) => onQuery(e.query));
  return prisma;
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.databaseUrl) {
    // The client's pool is made here, to read its figures; the schema engine's factory makes
    // (and ends) pools of its own, as before.
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: POOL_MAX });
    const prisma = makeClient(new PrismaPg(pool, { disposeExternalPool: true }), opts.onQuery);
    const adapterFactory = new PrismaPg({ connectionString: opts.databaseUrl, max: POOL_MAX });
    return {
      kind: 'postgres',
      prisma,
      adapterFactory,
      pool: () => ({ max: POOL_MAX, inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      close: () => prisma.$disconnect(),
    };
  }
  const inMemory = opts.dataDir.startsWith('memory://');
  const lock = inMemory ? undefined : await lockDataDir(opts.dataDir);
  try {
    const pglite = await PGlite.create(inMemory ? undefined : opts.dataDir, {
      extensions: pgliteExtensions(),
      ...(inMemory && opts.pgliteImage ? { loadDataDir: opts.pgliteImage } : {}),
    });
    const adapterFactory = new PrismaPGlite(pglite);
    const busy = { n: 0 };
    const prisma = makeClient(countingWork(adapterFactory, busy), opts.onQuery);
    return {
      kind: 'pglite',
      prisma,
      adapterFactory,
      pool: () => ({ max: 1, inUse: busy.n > 0 ? 1 : 0, idle: busy.n > 0 ? 0 : 1, waiting: Math.max(0, busy.n - 1) }),
      image: () => pglite.dumpDataDir('none'),
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

/** The committed migrations not applied yet (all of them on an empty database), for the start's progress line. */
export async function pendingMigrations(db: Database): Promise<string[]> {
  const committed = (await readMigrations()).migrationDirectories.map((d) => d.path);
  const table = await db.prisma.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('_prisma_migrations')::text AS name`;
  if (!table[0]?.name) return committed;
  const applied = await db.prisma.$queryRaw<{ migration_name: string }[]>`
    SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
  const done = new Set(applied.map((r) => r.migration_name));
  return committed.filter((name) => !done.has(name));
}

/** Applies the committed migrations not yet applied; returns their names. */
export async function migrate(db: Database): Promise<string[]> {
  return withSchemaEngine(db.adapterFactory, (engine) => applyMigrations(engine));
}
