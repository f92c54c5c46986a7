// The input rules of the write API, checked by the services before they write. Each broken
// rule is a ValidationError naming the input field, which the schema shows as a typed error.
import { ValidationError } from '../errors.js';

export const LIMITS = {
  /** Message content, in bytes of UTF-8. */
  contentBytes: 64 * 1024,
  attachments: 20,
  cardActions: 10,
  shortText: 255,
  subject: 998,
  note: 10_000,
  /** Custom attributes: serialized JSON, levels of objects and lists (the attributes object is 1), keys in all, characters per key. */
  customAttributesBytes: 16 * 1024,
  customAttributesDepth: 5,
  customAttributesKeys: 100,
  customAttributesKeyLength: 64,
  idsPerCall: 100,
} as const;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9]\d{6,14}$/;

/** Trims an email, lowercases it and checks its form. */
export function normalizeEmail(value: string, field: string): string {
  const email = value.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) throw new ValidationError(`"${value.slice(0, 100)}" is not a valid email address.`, field);
  return email;
}

/** Removes spaces, dashes, dots and brackets, then requires E.164 (+14155550123). */
export function normalizePhone(value: string, field: string): string {
  const phone = value.replace(/[\s\-().]/g, '');
  if (!E164.test(phone)) {
    throw new ValidationError(`"${value.slice(0, 100)}" is not a phone number in E.164 form, e.g. +14155550123.`, field);
  }
  return phone;
}

export function checkUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ValidationError(`"${value.slice(0, 100)}" is not a valid URL.`, field);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ValidationError('URLs must use http or https.', field);
  if (value.length > 2048) throw new ValidationError('URLs are limited to 2048 characters.', field);
  return value;
}

/** A required short text: trimmed, not empty, at most `max` characters. */
export function requiredText(value: string, field: string, max: number = LIMITS.shortText): string {
  const text = value.trim();
  if (!text) throw new ValidationError('This value must not be empty.', field);
  if (text.length > max) throw new ValidationError(`This value is limited to ${max} characters.`, field);
  return text;
}

/** An optional text: null/undefined pass through, blank becomes null. */
export function optionalText(value: string | null | undefined, field: string, max: number = LIMITS.shortText): string | null | undefined {
  if (value === undefined || value === null) return value;
  const text = value.trim();
  if (!text) return null;
  if (text.length > max) throw new ValidationError(`This value is limited to ${max} characters.`, field);
  return text;
}

/**
 * What is wrong with custom attributes, if anything: too deep, too many keys, a key too long,
 * too large. Walked with a stack, and measured with JSON.stringify only once the depth is known
 * to be small: the value comes from a request, which may nest it 100,000 levels deep.
 */
export function customAttributesProblem(value: Record<string, unknown>): string | null {
  const stack: [unknown, number][] = [[value, 1]];
  let keys = 0;
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > LIMITS.customAttributesDepth) return `customAttributes may nest at most ${LIMITS.customAttributesDepth} levels deep.`;
    if (Array.isArray(item)) {
      for (const v of item) stack.push([v, depth + 1]);
      continue;
    }
    for (const [k, v] of Object.entries(item)) {
      if (++keys > LIMITS.customAttributesKeys) return `customAttributes may hold at most ${LIMITS.customAttributesKeys} keys in all, nested ones included.`;
      if (k.length > LIMITS.customAttributesKeyLength) return `customAttributes keys are limited to ${LIMITS.customAttributesKeyLength} characters.`;
      stack.push([v, depth + 1]);
    }
  }
  if (Buffer.byteLength(JSON.stringify(value)) > LIMITS.customAttributesBytes) {
    return `customAttributes are limited to ${LIMITS.customAttributesBytes / 1024} KB of JSON.`;
  }
  return null;
}

/** The same rules for callers other than the API, whose JSONObject scalar refuses such input already. */
export function checkCustomAttributes(value: Record<string, unknown>, field: string): Record<string, unknown> {
  const problem = customAttributesProblem(value);
  if (problem) throw new ValidationError(problem, field);
  return value;
}

export function checkIdCount(ids: readonly unknown[], field: string, max: number = LIMITS.idsPerCall): void {
  if (ids.length > max) throw new ValidationError(`At most ${max} ids may be given.`, field);
}

export function checkFuture(date: Date, field: string, now = new Date()): Date {
  if (date.getTime() <= now.getTime()) throw new ValidationError('This time must be in the future.', field);
  return date;
}

/**
 * PostgreSQL's timestamps run from 4713 BC to 294276 AD, but ISO 8601 strings (and Parley's
 * DateTime) from year 0001 to 9999: a Date outside that range is refused before it reaches
 * SQL, where it would fail as an internal error.
 */
export function isStorableDate(date: Date): boolean {
  const year = date.getUTCFullYear();
  return !Number.isNaN(date.getTime()) && year >= 1 && year <= 9999;
}

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
 * An ISO 8601 date and time with a time zone, as the API and the operator command take it.
 * Built from its components, each checked, rather than by Date.parse, which rolls an
 * impossible date over (February 30 to March 2, 24:00 to the next day) instead of refusing it.
 */
export function parseDateTime(value: unknown): { date: Date } | { problem: string } {
  const m = typeof value === 'string' ? ISO_8601.exec(value) : null;
  if (!m) return { problem: 'DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-21T09:30:00Z.' };
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
  if (problem || !roundTrips) return { problem: `"${value as string}" is not a valid date: ${problem ?? 'no such day or time'}.` };
  const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  const date = new Date(wall.getTime() - offset * 60_000);
  if (!isStorableDate(date)) return { problem: `"${value as string}" is out of range: dates run from year 0001 to 9999 (UTC).` };
  return { date };
}
