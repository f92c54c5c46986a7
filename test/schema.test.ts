// The printed schema is the documentation: it must be current, and describe everything.
import { existsSync, readFileSync } from 'node:fs';
import {
  buildSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { printedSchema } from '../src/schema/print.js';
import { SCHEMA_VERSION } from '../src/version.js';
import { breakingChanges } from './support/schema-compat.js';

describe('schema/schema.graphql', () => {
  it('is the schema the code builds (run `npm run schema:print` after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printedSchema());
  });

  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    const check = (what: string, description: string | null | undefined) => {
      if (!description?.trim()) missing.push(what);
    };
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      check(type.name, type.description);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields()) as (GraphQLField<unknown, unknown> | GraphQLInputField)[]) {
          check(`${type.name}.${field.name}`, field.description);
          for (const arg of ('args' in field ? field.args : []) as GraphQLArgument[]) {
            check(`${type.name}.${field.name}(${arg.name})`, arg.description);
          }
        }
      }
      if (isEnumType(type)) for (const v of type.getValues()) check(`${type.name}.${v.name}`, v.description);
      if (isUnionType(type)) check(type.name, type.description);
    }
    expect(missing).toEqual([]);
  });
});

describe(`compatibility with the last release (schema/baseline/v${SCHEMA_VERSION}.graphql)`, () => {
  const baselineFile = new URL(`../schema/baseline/v${SCHEMA_VERSION}.graphql`, import.meta.url);

  it('has a baseline for the current major version', () => {
    expect(existsSync(baselineFile), `run \`npm run schema:baseline\` when starting schema version ${SCHEMA_VERSION}`).toBe(true);
  });

  it('breaks no client of the baseline: only additions, deprecations, and removals of what the baseline deprecated', async () => {
    const baseline = buildSchema(readFileSync(baselineFile, 'utf8'));
    const breaking = (await breakingChanges(baseline, schema)).map((c) => `${c.path ?? ''}: ${c.message}`);
    expect(breaking, 'deprecate first (deprecationReason), release, then remove; see the README, "Versioning and breaking changes"').toEqual([]);
  });
});
