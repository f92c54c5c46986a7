// Prisma's schema engine, compiled to WebAssembly, driven through a driver adapter.
// The ordinary CLI downloads a native engine binary, which machines without access to
// Prisma's servers cannot do; this module does the two jobs Parley needs from it
// (apply the committed migrations, diff two schemas) with no download at all.
// It uses an internal API: the package versions are pinned exactly in package.json.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import pg from 'pg';
import type {
  DiffTarget,
  MigrationList,
  SchemaEngine,
} from '@prisma/schema-engine-wasm';

const require = createRequire(import.meta.url);

export const PRISMA_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../../prisma');
export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');
export const SCHEMA_PATH = join(PRISMA_DIR, 'schema.prisma');

type EngineModule = { SchemaEngine: typeof SchemaEngine };
/**
 * Kept on globalThis, not in this module: the glue is loaded once per process (Node's module
 * cache), and instantiating the wasm module again into it (this module evaluated a second time,
 * as the test runner does for each test file in a shared worker) left the engine hanging.
 */
const processWide = globalThis as { parleySchemaEngineModule?: Promise<EngineModule> };

/** Instantiates the wasm module once per process (its glue expects a bundler's wasm import). */
function loadEngineModule(): Promise<EngineModule> {
  return (processWide.parleySchemaEngineModule ??= (async () => {
    const pkgDir = dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const glue = await import(join(pkgDir, 'schema_engine_bg.js'));
    const bytes = await readFile(join(pkgDir, 'schema_engine_bg.wasm'));
    const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
    return glue as EngineModule;
  })());
}

/**
 * Runs `work` with a schema engine connected through `factory`, then frees the engine and
 * disposes of every connection it opened. (The engine takes PostgreSQL's session-level
 * migration lock on its connection; a connection left open would keep that lock and make
 * the next process that migrates the same database wait.)
 */
export async function withSchemaEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  work: (engine: SchemaEngine) => Promise<T>,
  log: (message: string) => void = () => {},
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = await readFile(SCHEMA_PATH, 'utf8');
  const opened: SqlDriverAdapter[] = [];
  const tracking: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => {
      const adapter = await factory.connect();
      opened.push(adapter);
      return adapter;
    },
    connectToShadowDb: async () => {
      const adapter = await factory.connectToShadowDb();
      opened.push(adapter);
      return adapter;
    },
  };
  const engine = await SchemaEngine.new(
    { datamodels: [[SCHEMA_PATH, schema]] },
    (message: string) => log(message),
    bindMigrationAwareSqlAdapterFactory(tracking),
  );
  try {
    return await work(engine);
  } finally {
    engine.free();
    await Promise.all(opened.map((a) => disposeAndWait(a).catch(() => {})));
  }
}

/** How long to wait for a closing connection's server to hang up before moving on. */
const HANG_UP_WAIT_MS = 5_000;

/**
 * Disposes of an adapter and, for a `pg` pool, waits until every one of its connections
 * has really closed. `pool.end()` resolves as soon as it has *asked* its clients to end,
 * before PostgreSQL has ended their sessions, so the engine's session-level migration
 * lock could outlive `migrate()` by a few milliseconds. A pool's `remove` event fires once
 * the server has closed the socket, which it does only after releasing the session's locks.
 */
async function disposeAndWait(adapter: SqlDriverAdapter): Promise<void> {
  // adapter-pg exposes its pool this way (not part of the adapter interface).
  const driver = (adapter as { underlyingDriver?: () => unknown }).underlyingDriver?.();
  if (!(driver instanceof pg.Pool) || driver.totalCount === 0) return adapter.dispose();
  let open = driver.totalCount;
  const closed = new Promise<void>((resolve) => {
    driver.on('remove', () => {
      if (--open === 0) resolve();
    });
  });
  await adapter.dispose();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, HANG_UP_WAIT_MS)))]);
  clearTimeout(timer);
}

/** The committed migrations, read the way Prisma's CLI reads them. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationList> {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    entries.map(async (name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: await readFile(join(dir, name, 'migration.sql'), 'utf8') },
      },
    })),
  );
  const lockPath = join(dir, 'migration_lock.toml');
  const lockContent = await readFile(lockPath, 'utf8').catch(() => null);
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: lockContent },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

const noFilters = { externalTables: [], externalEnums: [] };

/** Applies every committed migration not yet recorded in `_prisma_migrations`. */
export async function applyMigrations(engine: SchemaEngine): Promise<string[]> {
  const migrationsList = await readMigrations();
  const out = await engine.applyMigrations({ migrationsList, filters: noFilters });
  return out.appliedMigrationNames;
}

export async function datamodelTarget(): Promise<DiffTarget> {
  return { tag: 'schemaDatamodel', files: [{ path: SCHEMA_PATH, content: await readFile(SCHEMA_PATH, 'utf8') }] };
}

/** SQL that takes a schema from `from` to `to`; empty when they already agree. */
export async function diffSql(engine: SchemaEngine, from: DiffTarget, to: DiffTarget): Promise<string> {
  const out = await engine.diff({ from, to, script: true, exitCode: null, filters: noFilters });
  return out.stdout ?? '';
}

/**
 * Objects created by hand-written migrations (search, the webhook queue's partial indexes),
 * which Prisma's schema cannot describe. A diff against the datamodel would drop them; these
 * names are left out.
 */
export const SEARCH_OBJECTS = [
  'search_vector',
  'conversation_search_idx',
  'message_search_idx',
  'contact_name_trgm_idx',
  'contact_email_trgm_idx',
  'contact_phone_trgm_idx',
  'label_name_trgm_idx',
  'conversation_attributes_trgm_idx',
  'contact_attributes_trgm_idx',
  'pg_trgm',
  // Not search, but hand-written too: the webhook queue's partial indexes.
  'webhook_delivery_pending_order_idx',
  'webhook_delivery_leased_idx',
];

const mentionsSearchObject = (sql: string) =>
  SEARCH_OBJECTS.some((name) => sql.includes(`"${name}"`) || sql.includes(` ${name} `));

/**
 * Removes from a diff script what concerns {@link SEARCH_OBJECTS}. Prisma puts every column
 * change to one table into a single ALTER TABLE statement (`ALTER TABLE "message" ADD
 * COLUMN "x" TEXT,\nDROP COLUMN "search_vector"`), so such a statement loses only its
 * search clauses, and is left out only when no other clause remains.
 */
export function withoutSearchObjects(sql: string): string {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s && !s.split('\n').every((line) => line.startsWith('--')))
    .map(withoutSearchClauses)
    .filter((s) => s !== '')
    .map((s) => `${s};`)
    .join('\n\n');
}

const identifier = String.raw`(?:"(?:[^"]|"")*"|[\w$]+)`;
const ALTER_TABLE_HEAD = new RegExp(
  String.raw`^ALTER TABLE\s+(?:IF EXISTS\s+)?(?:ONLY\s+)?${identifier}(?:\.${identifier})?\s+`,
  'i',
);

/** One statement (its leading comment lines included) without its search clauses; '' if none is left. */
function withoutSearchClauses(statement: string): string {
  const lines = statement.split('\n');
  const start = lines.findIndex((line) => !line.startsWith('--'));
  const body = lines.slice(start).join('\n');
  const head = ALTER_TABLE_HEAD.exec(body)?.[0];
  if (head === undefined || mentionsSearchObject(head)) return mentionsSearchObject(statement) ? '' : statement;
  const clauses = splitTopLevel(body.slice(head.length));
  const kept = clauses.filter((clause) => !mentionsSearchObject(clause));
  if (kept.length === clauses.length) return statement;
  if (kept.length === 0) return '';
  return [...lines.slice(0, start), `${head.trimEnd()} ${kept.join(',\n')}`].join('\n');
}

/** Splits a clause list at the commas outside parentheses, quoted identifiers and strings. */
function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | null = null;
  let from = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === quote) quote = null; // a doubled quote closes and reopens: same result
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(list.slice(from, i).trim());
      from = i + 1;
    }
  }
  parts.push(list.slice(from).trim());
  return parts.filter((p) => p);
}

/** The database the engine is connected to, as a diff source. */
export async function databaseTarget(): Promise<DiffTarget> {
  const { files } = (await datamodelTarget()) as { files: { path: string; content: string }[] };
  return { tag: 'schemaDatasource', files, configDir: PRISMA_DIR };
}
