// Page arguments and keyset cursors shared by Parley's list queries.
//
// A cursor names a position in one ordering of one list of one workspace: the sort-key
// values of the row and its id, so the next page starts strictly after that row whatever
// was inserted or deleted meanwhile (keyset, not offset). Cursors are base64url JSON,
// opaque to clients; every value is checked on the way back in, and a cursor made for
// another list, ordering or workspace is refused with BAD_USER_INPUT.
import { createHash } from 'node:crypto';
import { badInput } from '../errors.js';
import { isUuid } from '../uuid.js';
import { isStorableDate } from './validation.js';

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
/** Deeper than this, `offset` is refused: keyset cursors are the way through a long list. */
export const MAX_OFFSET = 100_000;


export interface PageArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  offset?: number | null;
}

/** A cursor as decoded: the row's sort-key values (in order) and its id. */
export interface Position {
  values: (string | null)[];
  id: string;
}

/** What a list query is asked for, once the arguments are checked. */
export type PageRequest =
  | { backward: false; size: number; after: Position | null; offset: number }
  | { backward: true; size: number; before: Position | null };

/** What identifies the list a cursor belongs to. */
export interface CursorScope {
  /** The list, e.g. "conversations". */
  list: string;
  /** The ordering, e.g. "LAST_MESSAGE_AT:DESC". */
  order: string;
  workspaceId: string;
}

const tags = new Map<string, string>();

/** A short digest of the workspace id (memoised: every edge of every page needs it). */
function workspaceTag(workspaceId: string): string {
  let tag = tags.get(workspaceId);
  if (tag === undefined) {
    tag = createHash('sha256').update(workspaceId).digest('base64url').slice(0, 10);
    if (tags.size > 10_000) tags.clear();
    tags.set(workspaceId, tag);
  }
  return tag;
}

const prefixes = new Map<string, string>();

/**
 * The base64url of a cursor's JSON up to its values (`{"l":...,"o":...,"w":"...","v":[`),
 * padded with JSON whitespace to a multiple of 3 bytes, so that it encodes on its own: a
 * cursor is this prefix followed by the base64url of the rest (its values and id). PostgreSQL
 * writes the query planner's cursors that way, with the prefix as a parameter
 * (conversationCursorSql): it encodes only the row's own 70 bytes, and the statement's text is
 * the same for every workspace. Cursors made before the padding decode as before.
 */
export function cursorPrefix(scope: CursorScope): string {
  const key = `${scope.list}\n${scope.order}\n${scope.workspaceId}`;
  let prefix = prefixes.get(key);
  if (prefix === undefined) {
    const json = `${JSON.stringify({ l: scope.list, o: scope.order, w: workspaceTag(scope.workspaceId) }).slice(0, -1)},"v":[`;
    // Spaces after the opening brace, as many as bring the UTF-8 length to a multiple of 3.
    const padding = ' '.repeat((3 - (Buffer.byteLength(json) % 3)) % 3);
    prefix = Buffer.from(`{${padding}${json.slice(1)}`).toString('base64url');
    if (prefixes.size > 10_000) prefixes.clear();
    prefixes.set(key, prefix);
  }
  return prefix;
}

export function encodeCursor(scope: CursorScope, position: Position): string {
  return cursorPrefix(scope) + Buffer.from(`${JSON.stringify(position.values).slice(1)},"i":${JSON.stringify(position.id)}}`).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same list, ordering and workspace.
 * `check` validates each sort-key value (a date, an enum value...) and returns it normalised.
 */
export function decodeCursor(
  cursor: string,
  scope: CursorScope,
  argument: string,
  check: (value: unknown, index: number) => string | null,
): Position {
  const refuse = (why: string) =>
    badInput(`The ${argument} cursor ${why}. Use a cursor from this connection's edges or pageInfo.`, { argument });
  if (cursor.length > 1000 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse('is malformed');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refuse('is malformed');
  }
  const b = body as { l?: unknown; o?: unknown; w?: unknown; v?: unknown; i?: unknown };
  if (typeof body !== 'object' || body === null || typeof b.l !== 'string' || !Array.isArray(b.v) || typeof b.i !== 'string') {
    throw refuse('is malformed');
  }
  if (b.l !== scope.list) throw refuse(`belongs to another list (${b.l.slice(0, 40)})`);
  if (b.w !== workspaceTag(scope.workspaceId)) throw refuse('belongs to another workspace');
  if (b.o !== scope.order) throw refuse('was made for another ordering');
  if (!isUuid(b.i)) throw refuse('is malformed');
  let values: (string | null)[];
  try {
    values = b.v.map((v, i) => check(v, i));
  } catch {
    throw refuse('is malformed');
  }
  return { values, id: b.i.toLowerCase() };
}

/** Checks a cursor value that is a timestamp (or null when `nullable`). */
export function timestampValue(nullable: boolean) {
  return (value: unknown): string | null => {
    if (value === null && nullable) return null;
    if (typeof value !== 'string' || !isStorableDate(new Date(value))) throw new Error('not a timestamp');
    return new Date(value).toISOString();
  };
}

/** Checks a cursor value that is one of `allowed`. */
export function enumValue(allowed: readonly string[]) {
  return (value: unknown): string => {
    if (typeof value !== 'string' || !allowed.includes(value)) throw new Error('not an allowed value');
    return value;
  };
}

/**
 * Checks first/last/after/before/offset: at most {@link MAX_PAGE_SIZE} items (more is an
 * error, not a silent clamp), `first` and `last` not together, `offset` only going forward
 * without a cursor.
 */
export function pageRequest(
  args: PageArgs,
  decode: (cursor: string, argument: 'after' | 'before') => Position,
  opts: { allowOffset?: boolean } = {},
): PageRequest {
  const { first, last, after, before, offset } = args;
  for (const [name, value] of [['first', first], ['last', last]] as const) {
    if (value == null) continue;
    if (value < 0) throw badInput(`${name} must be 0 or more.`, { argument: name });
    if (value > MAX_PAGE_SIZE) {
      throw badInput(`${name} is ${value}, more than the ${MAX_PAGE_SIZE} items a page may hold; page with the cursors.`, { argument: name, max: MAX_PAGE_SIZE });
    }
  }
  if (first != null && last != null) throw badInput('Pass first or last, not both.', { argument: 'last' });
  if (after != null && before != null) throw badInput('Pass after or before, not both.', { argument: 'before' });
  if (offset != null) {
    if (!opts.allowOffset) throw badInput('This connection pages with cursors only.', { argument: 'offset' });
    if (offset < 0) throw badInput('offset must be 0 or more.', { argument: 'offset' });
    if (offset > MAX_OFFSET) throw badInput(`offset may be at most ${MAX_OFFSET}; use the after cursor to go deeper.`, { argument: 'offset', max: MAX_OFFSET });
    if (after != null || before != null || last != null) {
      throw badInput('offset is an alternative to after: pass it with first only, without after, before or last.', { argument: 'offset' });
    }
  }
  const backward = last != null || (before != null && first == null);
  if (backward) {
    if (after != null) throw badInput('Pass after with first, not with last.', { argument: 'after' });
    return { backward: true, size: last ?? DEFAULT_PAGE_SIZE, before: before != null ? decode(before, 'before') : null };
  }
  if (before != null) throw badInput('Pass before with last, not with first.', { argument: 'before' });
  return { backward: false, size: first ?? DEFAULT_PAGE_SIZE, after: after != null ? decode(after, 'after') : null, offset: offset ?? 0 };
}

/** The Relay page info of a page fetched with one extra row (`fetched` = rows returned). */
export function pageInfoOf<T>(
  request: PageRequest,
  rows: T[],
  cursorOf: (row: T) => string,
): { rows: T[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } } {
  const more = rows.length > request.size;
  const page = rows.slice(0, request.size);
  if (request.backward) page.reverse();
  const startCursor = page.length ? cursorOf(page[0]!) : null;
  const endCursor = page.length ? cursorOf(page[page.length - 1]!) : null;
  return {
    rows: page,
    pageInfo: request.backward
      ? { hasPreviousPage: more, hasNextPage: request.before !== null, startCursor, endCursor }
      : { hasNextPage: more, hasPreviousPage: request.after !== null || request.offset > 0, startCursor, endCursor },
  };
}
