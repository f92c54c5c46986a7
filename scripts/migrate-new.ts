// `npm run migrate:new -- <name>`: writes the next migration, the SQL that takes the
// committed migrations to what prisma/schema.prisma now describes.
// It replays the migrations on an in-memory PGlite and diffs that database against the
// datamodel, so it needs neither a database server nor Prisma's native engine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { memoryPglite } from '../src/db/engine-db.js';
import {
  MIGRATIONS_DIR,
  applyMigrations,
  databaseTarget,
  datamodelTarget,
  diffSql,
  withSchemaEngine,
  withoutSearchObjects,
} from '../src/db/schema-engine.js';

const name = (process.argv[2] ?? '').replace(/[^a-z0-9_]+/gi, '_').toLowerCase();
if (!name) {
  console.error('usage: npm run migrate:new -- <name>   (e.g. add_contact_company)');
  process.exit(2);
}
const db = memoryPglite();
const sql = await withSchemaEngine(new PrismaPGlite(db), async (engine) => {
  await applyMigrations(engine);
  return withoutSearchObjects(await diffSql(engine, await databaseTarget(), await datamodelTarget()));
});
if (!sql.trim()) {
  console.log('prisma/schema.prisma and the migrations agree: no migration written.');
  process.exit(0);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
const dir = join(MIGRATIONS_DIR, `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, 'migration.sql'), `${sql}\n`);
console.log(`wrote ${dir}/migration.sql`);
await db.close();
