// `npm run schema:baseline`, a release step: records the schema being released as the
// baseline of its major version, schema/baseline/v<SCHEMA_VERSION>.graphql. Until the next
// release, test/schema.test.ts refuses changes that break a client of this schema, except
// removals of what it already marks deprecated. See the README, "Versioning and breaking changes".
import { mkdirSync, writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema/print.js';
import { SCHEMA_VERSION } from '../src/version.js';

const dir = new URL('../schema/baseline/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL(`v${SCHEMA_VERSION}.graphql`, dir), printedSchema());
console.log(`wrote schema/baseline/v${SCHEMA_VERSION}.graphql`);
