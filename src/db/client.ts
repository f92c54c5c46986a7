// One Prisma client for both databases: PGlite in a data directory when DATABASE_URL is
// unset, PostgreSQL through @prisma/adapter-pg when it is a postgres:// URL.
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlMigrationAwareDriverAdapterFactory, Transaction } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { PoolGauges } from '../metrics.js';
import { PrismaClient, type Prisma } from '../generated/prisma/client.js';
import { lockDataDir } from './data-dir-lock.js';
import { pgliteExtensions } from './engine-db.js';
import { applyMigrations, readMigrations, withSchemaEngine } from './schema-engine.js';
import { inlineValues, statementValue, transactionEnds, type TransactionEnd } from './transaction-end.js';

export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  prisma: PrismaClient;
  /** The adapter factory, for the schema engine (migrations). */
  adapterFactory: SqlMigrationAwareDriverAdapterFactory;
  /** The application client's connections now, for the metrics. */
  pool(): PoolGauges;
  /**
   * The one value of a one-row, one-column statement that builds JSON as text (the query
   * planner's, src/planner/). On PostgreSQL it goes to the pool directly: Prisma's raw query
   * path costs some 0.3 ms of CPU more for a 60 KB page (BENCHMARKS.md). On PGlite it goes
   * through Prisma, which shares PGlite's one connection with its transactions. Raw SQL: the
   * statement itself filters by the workspace. Counted by `onQuery` like Prisma's statements.
   * `prepare`: on PostgreSQL, run it as a named prepared statement (StatementNames), for a
   * statement whose best plan does not depend on its parameters' values.
   */
  jsonText(sql: Prisma.Sql, opts?: { prepare?: boolean }): Promise<string>;
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
  /** PostgreSQL: connections in the pool (DEFAULT_POOL_SIZE). */
  poolSize?: number;
  /** PostgreSQL: name the query planner's statements (StatementNames); default true. */
  preparedStatements?: boolean;
}

/**
 * Connections per process to PostgreSQL (the application client's pool; migrations open pools
 * of their own), unless DATABASE_POOL_SIZE says otherwise: two per core of this machine and one
 * (the rule of Prisma's former query engine), at most 10 (pg's default, and a bound that
 * WORKERS multiplies against max_connections). More statements at once than
 * the cores can run only contend (BENCHMARKS.md, "Prepared statements, the pool, and the
 * cursors": on the 2-core benchmark machine 5 and 10 were within the noise of each other).
 */
export const DEFAULT_POOL_SIZE = Math.min(10, 2 * availableParallelism() + 1);

/**
 * Names for the query planner's statements, so that each pool connection parses and analyses a
 * statement once and then only binds and executes it, and PostgreSQL, after five runs, keeps a
 * generic plan when it costs no more than the custom ones (the inbox page's statement is some
 * 5 KB of SQL: preparing it took its PostgreSQL CPU under load from 6.3 to 2.8 ms).
 *
 * A dashboard sends a handful of documents, again and again. A text is named from its
 * `admitAfter`-th run on, so that one-off shapes (a page size tried once) take no name; at most
 * `max` texts are named, so that no client can fill the connections' memory with prepared
 * statements: past that, the others run unnamed (answered the same, planned each time). A
 * prepared inbox page holds some 0.3 MB of a connection's memory in PostgreSQL (its query tree,
 * source and kept plan, read from pg_backend_memory_contexts), so 64 names cost at most some
 * 20 MB per connection. Names are never taken back (a connection keeps what it prepared until
 * it closes); the metric parley_db_prepared_statements shows how many are in use.
 */
export class StatementNames {
  readonly #names = new Map<string, string>();
  /** Runs of texts not named yet (bounded: cleared when it holds 10 times `max`). */
  readonly #seen = new Map<string, number>();
  constructor(
    readonly max = 64,
    readonly admitAfter = 3,
  ) {}
  of(text: string): string | undefined {
    const name = this.#names.get(text);
    if (name !== undefined || this.#names.size >= this.max) return name;
    const runs = (this.#seen.get(text) ?? 0) + 1;
    if (runs < this.admitAfter) {
      if (this.#seen.size >= 10 * this.max) this.#seen.clear();
      this.#seen.set(text, runs);
      return undefined;
    }
    this.#seen.delete(text);
    const named = `parley_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    this.#names.set(text, named);
    return named;
  }
  /** Texts named so far. */
  get size(): number {
    return this.#names.size;
  }
}

type AnyMethod = (...args: never[]) => unknown;

/**
 * `target` with some of its methods replaced: each replacement is made from the original,
 * bound to `target`; every other property reads through (methods bound). The driver adapters,
 * their transactions and pg's pool are wrapped this way below.
 */
function withMethods<T extends object>(target: T, methods: { [K in keyof T]?: (original: T[K]) => AnyMethod }): T {
  return new Proxy(target, {
    get(t, prop) {
      const value = Reflect.get(t, prop, t);
      const replace = methods[prop as keyof T];
      if (replace) return replace((value as (...a: unknown[]) => unknown).bind(t) as T[keyof T]);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

/** The factory's adapters, each wrapped by `wrap` as it connects. */
function wrappingAdapters(factory: SqlDriverAdapterFactory, wrap: (adapter: SqlDriverAdapter) => SqlDriverAdapter): SqlDriverAdapterFactory {
  return { provider: factory.provider, adapterName: factory.adapterName, connect: async () => wrap(await factory.connect()) };
}

/**
 * PGlite has one connection, in process, which runs one statement or transaction at a time. To
 * tell whether it is in use, and how much work waits for it, the application client's adapter
 * counts what it has been asked and has not finished: statements outside transactions, and
 * transactions from the moment they are asked for until they end.
 */
function countingWork(factory: SqlDriverAdapterFactory, busy: { n: number }): SqlDriverAdapterFactory {
  const counted =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    (...args: A) => {
      busy.n++;
      return run(...args).finally(() => busy.n--);
    };
  const ending = (tx: Transaction): Transaction => {
    let ended = false;
    const end = (run: () => Promise<void>) => () =>
      run().finally(() => {
        if (!ended) busy.n--;
        ended = true;
      });
    return withMethods(tx, { commit: end, rollback: end });
  };
  return wrappingAdapters(factory, (adapter) =>
    withMethods(adapter, {
      queryRaw: counted,
      executeRaw: counted,
      startTransaction: (start) => async (...args: Parameters<typeof start>) => {
        busy.n++;
        try {
          return ending(await start(...args));
        } catch (e) {
          busy.n--;
          throw e;
        }
      },
    }),
  );
}

/** The column types whose values pg and Prisma's adapter read the same: json, jsonb, text, varchar, uuid, boolean. */
const SAME_EITHER_WAY = new Set([114, 3802, 25, 1043, 2950, 16]);

/**
 * PostgreSQL: a transaction's statements on its own connection (src/db/transaction-end.ts).
 * Prisma commits by sending COMMIT through the transaction's executeRaw; when the transaction
 * runs inside `transactionEnds` with a statement to end it, the two go as one simple query on
 * the transaction's connection. `end.query` runs txRows' statements there, with the held
 * BEGIN when it is the first. Counted by `onQuery` like Prisma's statements.
 */
function commitInOneTrip(factory: SqlDriverAdapterFactory, onQuery?: (sql: string) => void): SqlDriverAdapterFactory {
  const ending = (tx: Transaction): Transaction => {
    const end = transactionEnds.getStore();
    // The adapter's own connection (adapter-pg keeps it as `client`), and Prisma committing with
    // a COMMIT statement of its own (not a phantom one); otherwise the statement runs inside.
    const client = (tx as unknown as { client?: pg.PoolClient }).client;
    // The first transaction begun in the store is inTransaction's own; no other may take its statement.
    if (!end || end.supported || tx.options?.usePhantomQuery !== false || typeof client?.query !== 'function' || typeof client.escapeLiteral !== 'function') return tx;
    const quote = (v: string) => client.escapeLiteral(v);
    end.query = async (sql) => {
      if (end.closed) throw new Error('txRows: the transaction has ended (committed, or rolled back when it ran out of time); the statement was not sent');
      // What cannot be sent is refused before the held BEGIN is taken: taken, it would be lost.
      const values = sql.values.map(statementValue);
      const begin = end.takeBegin?.();
      let result: pg.QueryResult;
      if (begin === undefined) {
        onQuery?.(sql.text);
        result = await client.query({ text: sql.text, values });
      } else {
        // With the BEGIN, as one simple query: one result per statement, the last one ours.
        const text = inlineValues(sql, quote);
        onQuery?.(text);
        result = ((await client.query(`${begin};\n${text}`)) as unknown as pg.QueryResult[]).at(-1)!;
      }
      const other = result.fields.find((f) => !SAME_EITHER_WAY.has(f.dataTypeID));
      if (other) throw new Error(`txRows: column ${other.name} has type ${other.dataTypeID}; only json, text, uuid and boolean columns read the same as through Prisma`);
      return result.rows as Record<string, unknown>[];
    };
    return withMethods(tx, {
      executeRaw: (execute) => async (query: Parameters<typeof execute>[0]) => {
        if (query.sql === 'COMMIT' || query.sql === 'ROLLBACK') end.closed = true;
        const statement = end.statement;
        if (query.sql !== 'COMMIT' || !statement) return execute(query);
        end.statement = undefined;
        try {
          // The deadline holds to the commit: the statement and its lock wait get only the
          // time left now, and none left means no commit (57014, as a timeout reports it).
          let timeouts = '';
          if (end.deadline !== undefined) {
            const ms = Math.floor(end.deadline - Date.now());
            if (ms <= 0) throw Object.assign(new Error('canceling statement due to statement timeout: the deadline passed before the commit'), { code: '57014' });
            timeouts = `SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms};\n`;
          }
          const text = inlineValues(statement, quote);
          // A transaction whose only statement is this one: its BEGIN goes too (taken last, when
          // nothing above can fail: a BEGIN still held is not sent, nor its ROLLBACK below).
          const begin = end.takeBegin?.();
          // Prisma logs the COMMIT itself.
          onQuery?.(text);
          const results = (await client.query(`${begin === undefined ? '' : `${begin};\n`}${timeouts}${text};\nCOMMIT`)) as unknown as pg.QueryResult[];
          // One result per statement: the statement's is the one before the COMMIT's.
          end.rows = results.at(-2)!.rows;
          return 0;
        } catch (e) {
          end.error = e;
          // Nothing of the transaction may stay open on the connection the pool takes back
          // (the failed statement left it aborted; its COMMIT was never run). If even the
          // ROLLBACK fails, the connection is broken: it is closed, not handed on.
          await client.query('ROLLBACK').catch(() => client.end().catch(() => {}));
          throw e;
        }
      },
    });
  };
  return wrappingAdapters(factory, (adapter) =>
    withMethods(adapter, { startTransaction: (start) => async (...args: Parameters<typeof start>) => ending(await start(...args)) }),
  );
}

/** What a held BEGIN answers Prisma: nothing to report, as BEGIN never does. */
const NOTHING: Partial<pg.QueryResult> = { command: 'BEGIN', rowCount: null, rows: [], fields: [] };

/**
 * PostgreSQL: a transaction's BEGIN travels with its first statement (src/db/transaction-end.ts).
 * The pool as the adapter sees it: on a connection taken for inTransaction's transaction, the
 * BEGIN is answered at once and held. The statement sent next takes it along: txRows' and the
 * COMMIT's as one simple query (`end.takeBegin`), any other after it, as its own round trip
 * first. A transaction that ends with nothing sent never began on the server, and sends
 * nothing. With a deadline (a mutation's), the BEGIN brings `SET LOCAL statement_timeout` and
 * `lock_timeout` with the time left when it goes, instead of a statement of their own.
 */
function beginWithFirstStatement(pool: pg.Pool): pg.Pool {
  const beginning = (client: pg.PoolClient, end: TransactionEnd): pg.PoolClient => {
    let state: 'none' | 'held' | 'sent' = 'none';
    end.takeBegin = () => {
      if (state !== 'held') return undefined;
      state = 'sent';
      if (end.deadline === undefined) return 'BEGIN';
      // At least 1 ms: a transaction begun past its deadline is stopped by inTransaction's own checks.
      const ms = Math.max(1, Math.floor(end.deadline - Date.now()));
      return `BEGIN; SET LOCAL statement_timeout = ${ms}; SET LOCAL lock_timeout = ${ms}`;
    };
    let released = false;
    return withMethods(client, {
      // Once back in the pool, the connection is another request's: nothing more goes on it from here.
      release: (release) => (...args: unknown[]) => {
        released = true;
        return (release as (...a: unknown[]) => unknown)(...args);
      },
      query: (query) => (config: unknown, ...rest: unknown[]) => {
        const run = query as (...a: unknown[]) => Promise<unknown>;
        if (released) return Promise.reject(new Error('this transaction has ended: its connection is back in the pool'));
        const text = typeof config === 'string' ? config : (config as { text?: unknown } | null)?.text;
        if (state === 'none' && text === 'BEGIN') {
          state = 'held';
          return Promise.resolve(NOTHING);
        }
        if (state !== 'held') return run(config, ...rest);
        if (text === 'COMMIT' || text === 'ROLLBACK') {
          state = 'sent';
          return Promise.resolve({ ...NOTHING, command: text });
        }
        return run(end.takeBegin!()).then(() => run(config, ...rest));
      },
    });
  };
  return withMethods(pool, {
    connect: (connect) => (...args: unknown[]) => {
      const run = connect as (...a: unknown[]) => unknown;
      const end = transactionEnds.getStore();
      // The callback form is pg's own (pool.query); the adapter takes a transaction's connection
      // as a promise. Only the store's first transaction (inTransaction's own) is held back.
      if (args.length || !end || end.takeBegin) return run(...args);
      return (run() as Promise<pg.PoolClient>).then((client) => beginning(client, end));
    },
  });
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
    const poolSize = opts.poolSize ?? DEFAULT_POOL_SIZE;
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: poolSize });
    // An idle connection that PostgreSQL closes (a restart, pg_terminate_backend) is dropped by
    // the pool, and the next statement opens another; without a listener its error would be
    // uncaught (Prisma's own listener is there only once Prisma has connected).
    pool.on('error', () => {});
    const names = opts.preparedStatements === false ? undefined : new StatementNames();
    const prisma = makeClient(commitInOneTrip(new PrismaPg(beginWithFirstStatement(pool), { disposeExternalPool: true }), opts.onQuery), opts.onQuery);
    const adapterFactory = new PrismaPg({ connectionString: opts.databaseUrl, max: poolSize });
    return {
      kind: 'postgres',
      prisma,
      adapterFactory,
      pool: () => ({
        max: poolSize,
        inUse: pool.totalCount - pool.idleCount,
        idle: pool.idleCount,
        waiting: pool.waitingCount,
        prepared: { named: names?.size ?? 0, max: names?.max ?? 0 },
      }),
      jsonText: async (sql, run) => {
        opts.onQuery?.(sql.text);
        const name = run?.prepare ? names?.of(sql.text) : undefined;
        const result = await pool.query<[string]>({ name, text: sql.text, values: sql.values as unknown[], rowMode: 'array' });
        return result.rows[0]![0];
      },
      close: async () => {
        await prisma.$disconnect();
        // Prisma ends the pool when it had connected; the planner's statements may have used it alone.
        if (!pool.ending) await pool.end();
      },
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
      pool: () => ({ max: 1, inUse: busy.n > 0 ? 1 : 0, idle: busy.n > 0 ? 0 : 1, waiting: Math.max(0, busy.n - 1), prepared: { named: 0, max: 0 } }),
      image: () => pglite.dumpDataDir('none'),
      jsonText: async (sql) => Object.values((await prisma.$queryRaw<Record<string, string>[]>(sql))[0]!)[0]!,
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
  return (await migrationState(db)).pending;
}

/**
 * What the database's migration table says against the committed migrations: those not
 * applied yet, and whether the engine has anything else to look at (a migration that failed
 * half-way, or one whose file changed since it was applied: the engine reports both).
 */
async function migrationState(db: Database): Promise<{ pending: string[]; engineNeeded: boolean }> {
  const committed = (await readMigrations()).migrationDirectories;
  const table = await db.prisma.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('_prisma_migrations')::text AS name`;
  if (!table[0]?.name) return { pending: committed.map((d) => d.path), engineNeeded: true };
  const rows = await db.prisma.$queryRaw<{ migration_name: string; checksum: string; finished: boolean; rolled_back: boolean }[]>`
    SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back FROM _prisma_migrations`;
  const applied = new Map(rows.filter((r) => r.finished && !r.rolled_back).map((r) => [r.migration_name, r.checksum]));
  const pending = committed.filter((d) => !applied.has(d.path)).map((d) => d.path);
  const failed = rows.some((r) => !r.finished && !r.rolled_back);
  const edited = committed.some((d) => {
    const sum = applied.get(d.path);
    const content = d.migrationFile.content;
    return sum !== undefined && content.tag === 'ok' && sum !== createHash('sha256').update(content.value).digest('hex');
  });
  return { pending, engineNeeded: pending.length > 0 || failed || edited };
}

/**
 * Applies the committed migrations not yet applied; returns their names. When the migration
 * table shows every committed migration applied, unchanged, and none failed, the schema engine
 * (WebAssembly, seconds to load) is not started: every start and every operator command asks.
 */
export async function migrate(db: Database): Promise<string[]> {
  if (!(await migrationState(db)).engineNeeded) return [];
  return withSchemaEngine(db.adapterFactory, (engine) => applyMigrations(engine));
}
