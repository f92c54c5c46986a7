import { defineConfig } from 'prisma/config';

// The CLI only needs the schema's location for `prisma generate`; migrations are
// applied by src/db/migrate.ts through the WebAssembly schema engine (see README).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
