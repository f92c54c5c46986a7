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
