// `npm run schema:print`: writes schema/schema.graphql from the code (sorted).
// test/schema.test.ts fails when the committed file is stale.
import { writeFileSync } from 'node:fs';
import { printedSchema } from '../src/schema/print.js';

writeFileSync(new URL('../schema/schema.graphql', import.meta.url), printedSchema());
console.log('wrote schema/schema.graphql');
