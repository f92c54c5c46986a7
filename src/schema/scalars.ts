import { Kind, type ValueNode } from 'graphql';
import { builder } from '../builder.js';
import { badInput } from '../errors.js';
import { LIMITS, customAttributesProblem, parseDateTime } from '../services/validation.js';

builder.scalarType('DateTime', {
  description:
    'A point in time, as an ISO 8601 string with a time zone (UTC on output), e.g. 2026-11-21T09:30:00.000Z; years 0001 to 9999. ' +
    'A day or time that does not exist (2027-02-30, 24:00) is refused, not rolled over.',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be a string.');
    return parseDate(ast.value);
  },
});

/** A DateTime input as a Date, or BAD_USER_INPUT saying what is wrong with it. */
function parseDate(value: unknown): Date {
  const parsed = parseDateTime(value);
  if ('problem' in parsed) throw badInput(parsed.problem);
  return parsed.date;
}

/** A literal's JSON value. Recursive, on a document whose nesting is bounded before it is parsed. */
function literalToJson(ast: ValueNode): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map(literalToJson);
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value)]));
    case Kind.ENUM:
      throw badInput(`JSONObject literals hold JSON values: write the string "${ast.value}" in quotes.`);
    default:
      throw badInput('JSONObject literals cannot contain variables.');
  }
}

/** An object within the limits of custom attributes (src/services/validation.ts). */
function customAttributes(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badInput('JSONObject must be an object.');
  }
  const problem = customAttributesProblem(value as Record<string, unknown>);
  if (problem) throw badInput(problem, { reason: 'CUSTOM_ATTRIBUTES_LIMIT' });
  return value as Record<string, unknown>;
}

builder.scalarType('JSONObject', {
  description:
    `A JSON object of custom attributes, e.g. { "plan": "pro", "seats": 12 }. As input: at most ${LIMITS.customAttributesDepth} levels deep ` +
    `(the object itself is one), ${LIMITS.customAttributesKeys} keys in all, keys of at most ${LIMITS.customAttributesKeyLength} characters, ` +
    `${LIMITS.customAttributesBytes / 1024} KB of JSON.`,
  serialize: (value) => value,
  parseValue: (value) => customAttributes(value),
  parseLiteral: (ast) => customAttributes(literalToJson(ast)),
});
