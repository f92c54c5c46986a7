import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { builder } from '../builder.js';
import { isStorableDate } from '../services/validation.js';

builder.scalarType('DateTime', {
  description: 'A point in time, as an ISO 8601 string with a time zone (UTC on output), e.g. 2026-11-21T09:30:00.000Z; years 0001 to 9999.',
  serialize: (value) => (value as Date).toISOString(),
  parseValue: (value) => parseDate(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string.');
    return parseDate(ast.value);
  },
});

function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new GraphQLError('DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-21T09:30:00Z.');
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new GraphQLError(`"${value}" is not a valid date.`);
  if (!isStorableDate(date)) throw new GraphQLError(`"${value}" is out of range: dates run from year 0001 to 9999 (UTC).`);
  return date;
}

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
    default:
      throw new GraphQLError('JSONObject literals cannot contain variables.');
  }
}

function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GraphQLError('JSONObject must be an object.');
  }
  return value as Record<string, unknown>;
}

builder.scalarType('JSONObject', {
  description: 'A JSON object of custom attributes, e.g. { "plan": "pro", "seats": 12 }.',
  serialize: (value) => value,
  parseValue: (value) => asObject(value),
  parseLiteral: (ast) => asObject(literalToJson(ast)),
});
