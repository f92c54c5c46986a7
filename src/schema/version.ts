// Query.apiVersion: which server and which schema a client talks to.
import { createHash } from 'node:crypto';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import { SCHEMA_VERSION, SERVER_VERSION } from '../version.js';

const digests = new WeakMap<GraphQLSchema, string>();

/** The SHA-256 of the printed schema (as schema/schema.graphql holds it), computed once. */
function schemaDigest(schema: GraphQLSchema): string {
  let digest = digests.get(schema);
  if (!digest) {
    digest = createHash('sha256').update(`${printSchema(lexicographicSortSchema(schema))}\n`).digest('hex');
    digests.set(schema, digest);
  }
  return digest;
}

const ApiVersion = builder.objectRef<Record<string, never>>('ApiVersion').implement({
  description: 'Which server and which schema answer. The same values are in the x-parley-version and x-parley-schema-version headers of every response.',
  fields: (t) => ({
    server: t.string({ description: "The server's version (semantic versioning), e.g. 0.1.0.", resolve: () => SERVER_VERSION }),
    schema: t.int({
      description:
        "The schema's major version. It changes only with a breaking change; until then every change is an addition, a deprecation, or the removal of what a previous release deprecated (see the README, \"Versioning and breaking changes\").",
      resolve: () => SCHEMA_VERSION,
    }),
    schemaDigest: t.string({
      description: 'The SHA-256 (hex) of the printed schema: it changes with every change of the schema, additions included. Cache introspection results by it.',
      resolve: (_v, _a, _c, info) => schemaDigest(info.schema),
    }),
  }),
});

builder.queryField('apiVersion', (t) =>
  t.field({
    type: ApiVersion,
    // Non-null, unlike the other root fields: it needs no key and takes no argument, so it cannot fail.
    description: 'Which server and which schema answer. Needs no API key, as the headers that carry the same values.',
    resolve: () => ({}),
  }),
);
