// The versions Parley answers, in Query.apiVersion and in the x-parley-version and
// x-parley-schema-version headers of every response from /graphql.
import { readFileSync } from 'node:fs';

/** The server's version: package.json's, the same from src/ (tsx) and from dist/ (npm start). */
export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The schema's major version. It stays the same while every change is compatible: additions,
 * deprecations, and removals of what the baseline (the last release's schema,
 * schema/baseline/v<SCHEMA_VERSION>.graphql) already marked deprecated. Any other breaking
 * change starts a new major version with a baseline of its own (README, "Versioning and
 * breaking changes"); test/schema.test.ts holds the schema to that.
 */
export const SCHEMA_VERSION = 1;

export const VERSION_HEADER = 'x-parley-version';
export const SCHEMA_VERSION_HEADER = 'x-parley-schema-version';
