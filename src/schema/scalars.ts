import { Kind, type ValueNode } from 'graphql';
import { builder } from '../builder.js';
import { badInput } from '../errors.js';
import { LIMITS, customAttributesProblem, isStorableDate } from '../services/validation.js';

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

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A UTC calendar day and time from its components, without the 1900 offset Date.UTC gives years 0 to 99. */
function utc(year: number, month: number, day: number, hour = 0, minute = 0, second = 0, ms = 0): Date {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date;
}

/**
 * Built from its components, each checked, rather than by Date.parse, which rolls an
 * impossible date over (February 30 to March 2, 24:00 to the next day) instead of refusing it.
 */
function parseDate(value: unknown): Date {
  const m = typeof value === 'string' ? ISO_8601.exec(value) : null;
  if (!m) throw badInput('DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-21T09:30:00Z.');
  const part = (i: number) => Number(m[i] ?? 0);
  const [year, month, day, hour, minute, second] = [part(1), part(2), part(3), part(4), part(5), part(6)];
  const [offsetHours, offsetMinutes] = [part(9), part(10)];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const days = month >= 1 && month <= 12 ? utc(year, month + 1, 0).getUTCDate() : 0;
  const problem =
    month < 1 || month > 12 ? `there is no month ${m[2]}`
    : day < 1 || day > days ? `${MONTHS[month - 1]} ${m[1]} has ${days} days`
    : hour > 23 ? 'hours run from 00 to 23'
    : minute > 59 ? 'minutes run from 00 to 59'
    : second > 59 ? 'seconds run from 00 to 59'
    : offsetHours > 23 || offsetMinutes > 59 ? 'a time zone offset runs from -23:59 to +23:59'
    : null;
  const wall = utc(year, month, day, hour, minute, second, ms);
  // The components must come back as given: nothing rolled over.
  const roundTrips =
    wall.getUTCFullYear() === year && wall.getUTCMonth() === month - 1 && wall.getUTCDate() === day &&
    wall.getUTCHours() === hour && wall.getUTCMinutes() === minute && wall.getUTCSeconds() === second;
  if (problem || !roundTrips) throw badInput(`"${value as string}" is not a valid date: ${problem ?? 'no such day or time'}.`);
  const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const date = new Date(wall.getTime() - offset * 60_000);
  if (!isStorableDate(date)) throw badInput(`"${value as string}" is out of range: dates run from year 0001 to 9999 (UTC).`);
  return date;
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
