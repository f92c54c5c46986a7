// The conversation list behind every dashboard: filters, free-text search, orderings and
// keyset pages, in SQL.
//
// A page is found in two steps. This module resolves the ids of the page (and their sort
// keys, for the cursors) with one raw statement that uses the indexes the migrations made:
// (workspace_id, status, last_activity_at, id) and friends for the orderings, the
// search_vector GIN indexes for message and subject text, the trigram indexes for contact
// name, email and phone, label names and custom-attribute values. conversation-rows.ts
// then loads those rows, with the relations the query selects, in one more statement.
//
// Raw SQL is not tenant-scoped by the client: every statement here takes the workspace id.
import type { ConversationStatus, Controller, Channel, Priority } from '../generated/prisma/client.js';
import {
  Channel as ChannelEnum,
  ConversationStatus as ConversationStatusEnum,
  Controller as ControllerEnum,
  Priority as PriorityEnum,
} from '../generated/prisma/enums.js';
import { Prisma } from '../generated/prisma/client.js';
import type { ScopedDb } from '../db/tenant.js';
import { parseConversationRow, type ConversationRow } from './conversation-rows.js';
import { badInput } from '../errors.js';
import { base64urlSql, intLiteral, isoSql, textLiteral } from '../db/json-sql.js';
import {
  cursorPrefix,
  decodeCursor,
  encodeCursor,
  enumValue,
  pageInfoOf,
  pageRequest,
  timestampValue,
  type CursorScope,
  type PageArgs,
  type PageRequest,
  type Position,
} from './pagination.js';

export const MAX_SEARCH_LENGTH = 200;
export const MAX_FILTER_IDS = 100;

export const STATUSES: readonly ConversationStatus[] = ['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED', 'ARCHIVED'];
const PRIORITIES: readonly Priority[] = ['NONE', 'LOW', 'MEDIUM', 'HIGH', 'URGENT'];

/** Who is asking: decides "me" and whether internal notes are searched. */
export interface Viewer {
  workspaceId: string;
  userId: string | null;
  kind: 'TEAM' | 'CONNECTOR';
}

export interface TimeRange {
  from?: Date | null;
  to?: Date | null;
}

/** The filter, with ids already decoded to row ids. Every field narrows; all combine. */
export interface ConversationFilter {
  statuses?: ConversationStatus[] | null;
  allStatuses?: boolean | null;
  channels?: Channel[] | null;
  inboxIds?: string[] | null;
  assignee?: { userIds?: string[] | null; unassigned?: boolean | null; me?: boolean | null } | null;
  labels?: { anyOf?: string[] | null; allOf?: string[] | null; noneOf?: string[] | null } | null;
  priorities?: Priority[] | null;
  contactIds?: string[] | null;
  controller?: Controller | null;
  createdAt?: TimeRange | null;
  lastMessageAt?: TimeRange | null;
  unreadOnly?: boolean | null;
  waitingForReply?: boolean | null;
  search?: string | null;
}

export type ConversationOrderField = 'LAST_MESSAGE_AT' | 'CREATED_AT' | 'PRIORITY' | 'WAITING_TIME';
export type OrderDirection = 'ASC' | 'DESC';
export interface ConversationOrder {
  field: ConversationOrderField;
  direction: OrderDirection;
}
export const DEFAULT_ORDER: ConversationOrder = { field: 'LAST_MESSAGE_AT', direction: 'DESC' };

// ---- orderings -------------------------------------------------------------------------

interface SortKey {
  column: string;
  dir: 'ASC' | 'DESC';
  nullsFirst: boolean;
  cast: 'timestamptz' | '"Priority"';
  nullable: boolean;
}
interface Ordering {
  keys: SortKey[];
  idDir: 'ASC' | 'DESC';
}

const ts = (column: string, dir: 'ASC' | 'DESC', nullable: boolean, nullsFirst = false): SortKey => ({
  column,
  dir,
  nullsFirst,
  cast: 'timestamptz',
  nullable,
});

/**
 * Each ordering matches an index scan. LAST_MESSAGE_AT orders by last_activity_at, the
 * last public message's time or, while there is none, the creation time (never null), with
 * id ascending as in the (workspace_id, last_activity_at DESC, id) index; ASC is that index
 * read backwards.
 */
function orderingOf(order: ConversationOrder): Ordering {
  const desc = order.direction === 'DESC';
  switch (order.field) {
    case 'LAST_MESSAGE_AT':
      return desc
        ? { keys: [ts('last_activity_at', 'DESC', false)], idDir: 'ASC' }
        : { keys: [ts('last_activity_at', 'ASC', false)], idDir: 'DESC' };
    case 'CREATED_AT':
      return { keys: [ts('created_at', order.direction, false)], idDir: order.direction };
    case 'PRIORITY':
      return {
        keys: [{ column: 'priority', dir: order.direction, nullsFirst: false, cast: '"Priority"', nullable: false }, ts('created_at', order.direction, false)],
        idDir: order.direction,
      };
    case 'WAITING_TIME':
      // Longest wait first (DESC) is the oldest waiting_since first; nobody waiting: last either way.
      return { keys: [ts('waiting_since', desc ? 'ASC' : 'DESC', true, false)], idDir: desc ? 'ASC' : 'DESC' };
  }
}

function reversed(o: Ordering): Ordering {
  const flip = (d: 'ASC' | 'DESC') => (d === 'ASC' ? 'DESC' : 'ASC');
  return { keys: o.keys.map((k) => ({ ...k, dir: flip(k.dir), nullsFirst: !k.nullsFirst })), idDir: flip(o.idDir) };
}

const col = (name: string) => Prisma.raw(`c."${name}"`);

function orderBySql(o: Ordering): Prisma.Sql {
  const parts = o.keys.map((k) => `c."${k.column}" ${k.dir}${k.nullable ? (k.nullsFirst ? ' NULLS FIRST' : ' NULLS LAST') : ''}`);
  parts.push(`c."id" ${o.idDir}`);
  return Prisma.raw(parts.join(', '));
}

/** Rows strictly after `pos` in ordering `o` (NULLs placed as the ordering places them). */
function afterSql(o: Ordering, pos: Position): Prisma.Sql {
  const value = (k: SortKey, v: string) => Prisma.sql`${v}::${Prisma.raw(k.cast)}`;
  const build = (i: number): Prisma.Sql => {
    if (i === o.keys.length) {
      return Prisma.sql`${col('id')} ${Prisma.raw(o.idDir === 'ASC' ? '>' : '<')} ${pos.id}::uuid`;
    }
    const k = o.keys[i]!;
    const v = pos.values[i] ?? null;
    const c = col(k.column);
    let strictly: Prisma.Sql;
    let equal: Prisma.Sql;
    if (v === null) {
      strictly = k.nullsFirst ? Prisma.sql`${c} IS NOT NULL` : Prisma.sql`FALSE`;
      equal = Prisma.sql`${c} IS NULL`;
    } else {
      const cmp = Prisma.sql`${c} ${Prisma.raw(k.dir === 'ASC' ? '>' : '<')} ${value(k, v)}`;
      strictly = k.nullable && !k.nullsFirst ? Prisma.sql`(${cmp} OR ${c} IS NULL)` : cmp;
      equal = Prisma.sql`${c} = ${value(k, v)}`;
    }
    return Prisma.sql`(${strictly} OR (${equal} AND ${build(i + 1)}))`;
  };
  const first = o.keys[0]!;
  const v0 = pos.values[0] ?? null;
  // A plain bound on the leading key lets the index scan start at the cursor.
  const bound =
    v0 !== null && (!first.nullable || first.nullsFirst)
      ? Prisma.sql`${col(first.column)} ${Prisma.raw(first.dir === 'ASC' ? '>=' : '<=')} ${value(first, v0)} AND `
      : Prisma.empty;
  return Prisma.sql`${bound}${build(0)}`;
}

// ---- filters ---------------------------------------------------------------------------

const list = (values: string[], cast: string) => Prisma.join(values.map((v) => Prisma.sql`${v}::${Prisma.raw(cast)}`));

/**
 * Values of an enum written into the statement's text, each checked against the enum, without
 * repeats and in one order: a list filtered only by status, priority, channel or controller then
 * has the workspace as its one parameter, so the planner's statement for it is prepared (a tab
 * of the dashboard is one text), and PostgreSQL plans it for those very values.
 */
function enumList(values: readonly string[], members: Record<string, string>, type: string, argument: string): Prisma.Sql {
  const allowed = Object.values(members);
  const unique = [...new Set(values)].sort();
  for (const v of unique) if (!allowed.includes(v)) throw badInput(`${v} is not a ${type}.`, { argument });
  return Prisma.raw(unique.map((v) => `${textLiteral(v)}::"${type}"`).join(', '));
}

export function checkRange(name: string, range: TimeRange | null | undefined) {
  if (range?.from && range.to && range.to.getTime() < range.from.getTime()) {
    throw badInput(`${name}: the end (to) precedes the start (from).`, { argument: name });
  }
}

function checkIds(name: string, ids: string[] | null | undefined) {
  if (ids && ids.length > MAX_FILTER_IDS) throw badInput(`${name} takes at most ${MAX_FILTER_IDS} ids.`, { argument: name });
}

/** Normalises the search text; blank is refused (omit `search` for no search), as is too long. */
export function searchText(search: string | null | undefined): string | null {
  if (search == null) return null;
  if (search.length > MAX_SEARCH_LENGTH) {
    throw badInput(`search may be at most ${MAX_SEARCH_LENGTH} characters.`, { argument: 'search', max: MAX_SEARCH_LENGTH });
  }
  const text = search.trim().replace(/\s+/g, ' ');
  if (!text) throw badInput('search is empty: omit it to list without searching.', { argument: 'search' });
  return text;
}

/**
 * The text with LIKE's pattern characters (`\`, `%` and `_`) escaped, so that it matches
 * only itself. Also for Prisma's `contains`, which does not escape them (prisma/prisma#19506).
 */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/** `%text%` for ILIKE, with the pattern characters escaped. */
function containsPattern(text: string) {
  return `%${escapeLike(text)}%`;
}

/**
 * Conversation ids whose subject, message text, contact name/email/phone, label names or
 * custom-attribute values match. Internal notes are searched for TEAM keys only. Each arm
 * is an index lookup (GIN tsvector or trigram) in the workspace.
 */
function searchIds(viewer: Viewer, text: string): Prisma.Sql {
  const ws = viewer.workspaceId;
  const pattern = containsPattern(text);
  const privateClause = viewer.kind === 'TEAM' ? Prisma.empty : Prisma.sql` AND NOT m."private"`;
  return Prisma.sql`
      SELECT m."conversation_id" FROM "message" m
        WHERE m."workspace_id" = ${ws}::uuid AND m."search_vector" @@ plainto_tsquery('simple', ${text})${privateClause}
      UNION
      SELECT s."id" FROM "conversation" s
        WHERE s."workspace_id" = ${ws}::uuid
          AND (s."search_vector" @@ plainto_tsquery('simple', ${text})
               OR (jsonb_path_query_array(s."custom_attributes", 'strict $.*')::text) ILIKE ${pattern})
      UNION
      SELECT k."id" FROM "conversation" k JOIN "contact" ct ON ct."id" = k."contact_id"
        WHERE ct."workspace_id" = ${ws}::uuid AND k."workspace_id" = ${ws}::uuid
          AND (ct."name" ILIKE ${pattern} OR ct."email" ILIKE ${pattern} OR ct."phone" ILIKE ${pattern}
               OR (jsonb_path_query_array(ct."custom_attributes", 'strict $.*')::text) ILIKE ${pattern})
      UNION
      SELECT cl."A" FROM "_ConversationToLabel" cl JOIN "label" l ON l."id" = cl."B"
        WHERE l."workspace_id" = ${ws}::uuid AND l."name" ILIKE ${pattern}`;
}

/**
 * The conversations a filter selects, as `FROM <from> WHERE <where>` with the rows under
 * alias c, in the viewer's workspace. Validates the filter.
 *
 * With a search, the matching ids drive the query: each is looked up by primary key
 * (LATERAL ... OFFSET 0 keeps the planner from turning that into a hash join over the whole
 * workspace, which it prefers by estimate and which costs tens of milliseconds at 100,000
 * conversations when a word matches a few hundred).
 */
export interface ConversationSelection {
  from: Prisma.Sql;
  where: Prisma.Sql;
}

export function conversationSelection(viewer: Viewer, filter: ConversationFilter = {}): ConversationSelection {
  const ws = viewer.workspaceId;
  const where: Prisma.Sql[] = [Prisma.sql`c."workspace_id" = ${ws}::uuid`];

  if (filter.allStatuses && filter.statuses?.length) {
    throw badInput('Pass status or allStatuses, not both.', { argument: 'allStatuses' });
  }
  if (filter.statuses?.length) where.push(Prisma.sql`c."status" IN (${enumList(filter.statuses, ConversationStatusEnum, 'ConversationStatus', 'status')})`);
  else if (!filter.allStatuses) where.push(Prisma.sql`c."status" <> 'ARCHIVED'::"ConversationStatus"`);

  if (filter.channels?.length) {
    // EXISTS, which PostgreSQL turns into a semi-join (an IN whose subquery named the outer row would run per row).
    where.push(Prisma.sql`EXISTS (SELECT 1 FROM "inbox" i WHERE i."id" = c."inbox_id" AND i."channel" IN (${enumList(filter.channels, ChannelEnum, 'Channel', 'channels')}))`);
  }
  checkIds('inboxes', filter.inboxIds);
  if (filter.inboxIds) where.push(filter.inboxIds.length ? Prisma.sql`c."inbox_id" IN (${list(filter.inboxIds, 'uuid')})` : Prisma.sql`FALSE`);

  if (filter.assignee) {
    const { userIds, unassigned, me } = filter.assignee;
    checkIds('assignee.users', userIds);
    const given = [userIds != null, unassigned != null, me != null].filter(Boolean).length;
    if (given !== 1) throw badInput('assignee takes exactly one of users, unassigned or me.', { argument: 'assignee' });
    if (userIds) where.push(userIds.length ? Prisma.sql`c."assignee_id" IN (${list(userIds, 'uuid')})` : Prisma.sql`FALSE`);
    if (unassigned != null) where.push(unassigned ? Prisma.sql`c."assignee_id" IS NULL` : Prisma.sql`c."assignee_id" IS NOT NULL`);
    if (me != null) {
      if (!viewer.userId) throw badInput('assignee.me needs a key that acts as a team member; this key acts as no user.', { argument: 'assignee.me' });
      where.push(me ? Prisma.sql`c."assignee_id" = ${viewer.userId}::uuid` : Prisma.sql`c."assignee_id" IS DISTINCT FROM ${viewer.userId}::uuid`);
    }
  }

  if (filter.labels) {
    const { anyOf, allOf, noneOf } = filter.labels;
    checkIds('labels.anyOf', anyOf);
    checkIds('labels.allOf', allOf);
    checkIds('labels.noneOf', noneOf);
    if (anyOf) {
      where.push(anyOf.length ? Prisma.sql`EXISTS (SELECT 1 FROM "_ConversationToLabel" cl WHERE cl."A" = c."id" AND cl."B" IN (${list(anyOf, 'uuid')}))` : Prisma.sql`FALSE`);
    }
    if (allOf?.length) {
      const distinct = [...new Set(allOf)];
      where.push(Prisma.sql`(SELECT count(*) FROM "_ConversationToLabel" cl WHERE cl."A" = c."id" AND cl."B" IN (${list(distinct, 'uuid')})) = ${distinct.length}`);
    }
    if (noneOf?.length) {
      where.push(Prisma.sql`NOT EXISTS (SELECT 1 FROM "_ConversationToLabel" cl WHERE cl."A" = c."id" AND cl."B" IN (${list(noneOf, 'uuid')}))`);
    }
  }

  if (filter.priorities?.length) where.push(Prisma.sql`c."priority" IN (${enumList(filter.priorities, PriorityEnum, 'Priority', 'priorities')})`);
  checkIds('contacts', filter.contactIds);
  if (filter.contactIds) where.push(filter.contactIds.length ? Prisma.sql`c."contact_id" IN (${list(filter.contactIds, 'uuid')})` : Prisma.sql`FALSE`);
  if (filter.controller) where.push(Prisma.sql`c."controller" = ${enumList([filter.controller], ControllerEnum, 'Controller', 'controller')}`);

  for (const [name, column, range] of [
    ['createdAt', 'created_at', filter.createdAt],
    ['lastMessageAt', 'last_message_at', filter.lastMessageAt],
  ] as const) {
    checkRange(name, range);
    if (range?.from) where.push(Prisma.sql`${col(column)} >= ${range.from.toISOString()}::timestamptz`);
    if (range?.to) where.push(Prisma.sql`${col(column)} < ${range.to.toISOString()}::timestamptz`);
  }

  if (filter.unreadOnly) where.push(Prisma.sql`c."unread_count" > 0`);
  if (filter.waitingForReply != null) {
    where.push(
      filter.waitingForReply
        ? Prisma.sql`c."last_message_sender_type" = 'CONTACT'::"SenderType"`
        : Prisma.sql`c."last_message_sender_type" IS DISTINCT FROM 'CONTACT'::"SenderType"`,
    );
  }

  const text = searchText(filter.search);
  const from = text
    ? Prisma.sql`(${searchIds(viewer, text)}) AS s("id")
        CROSS JOIN LATERAL (SELECT * FROM "conversation" x WHERE x."id" = s."id" OFFSET 0) c`
    : Prisma.sql`"conversation" c`;
  return { from, where: Prisma.join(where, ' AND ') };
}

// ---- pages -----------------------------------------------------------------------------

interface KeyRow {
  id: string;
  /** The row's JSON (null for the look-ahead row). */
  row: string | null;
  last_activity_at: Date;
  created_at: Date;
  priority: Priority;
  waiting_since: Date | null;
}

function positionOf(o: ConversationOrder, row: KeyRow): Position {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  switch (o.field) {
    case 'LAST_MESSAGE_AT':
      return { values: [iso(row.last_activity_at)], id: row.id };
    case 'CREATED_AT':
      return { values: [iso(row.created_at)], id: row.id };
    case 'PRIORITY':
      return { values: [row.priority, iso(row.created_at)], id: row.id };
    case 'WAITING_TIME':
      return { values: [iso(row.waiting_since)], id: row.id };
  }
}

function cursorChecks(o: ConversationOrder): ((v: unknown) => string | null)[] {
  switch (o.field) {
    case 'WAITING_TIME':
      return [timestampValue(true)];
    case 'LAST_MESSAGE_AT':
    case 'CREATED_AT':
      return [timestampValue(false)];
    case 'PRIORITY':
      return [enumValue(PRIORITIES), timestampValue(false)];
  }
}

export interface ConversationPage {
  /** The page, in order: each conversation's id, cursor and row. */
  items: { id: string; cursor: string; row: ConversationRow | null }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

/** Validates page arguments (and their cursors) for the conversation list. */
export function conversationPageRequest(viewer: Viewer, order: ConversationOrder, args: PageArgs): PageRequest {
  const scope = cursorScope(viewer, order);
  const checks = cursorChecks(order);
  return pageRequest(
    args,
    (cursor, argument) => {
      const pos = decodeCursor(cursor, scope, argument, (v, i) => {
        const check = checks[i];
        if (!check) throw new Error('too many values');
        return check(v);
      });
      if (pos.values.length !== checks.length) throw badInput(`The ${argument} cursor is malformed.`, { argument });
      return pos;
    },
    { allowOffset: true },
  );
}

function cursorScope(viewer: Viewer, order: ConversationOrder): CursorScope {
  return { list: 'conversations', order: `${order.field}:${order.direction}`, workspaceId: viewer.workspaceId };
}

/** The start of every cursor of this list, ordering and workspace (pagination's cursorPrefix). */
export function conversationCursorPrefix(viewer: Viewer, order: ConversationOrder): string {
  return cursorPrefix(cursorScope(viewer, order));
}

/**
 * The page's keys: ids and sort-key columns of the page's rows in the page's fetch order (the
 * requested order, reversed when paging backward), with one extra row when more follow.
 */
export function pageKeysSql(selection: ConversationSelection, order: ConversationOrder, request: PageRequest): Prisma.Sql {
  const forward = orderingOf(order);
  const ordering = request.backward ? reversed(forward) : forward;
  const position = request.backward ? request.before : request.after;
  const keyset = position ? Prisma.sql` AND ${afterSql(ordering, position)}` : Prisma.empty;
  const offset = !request.backward && request.offset > 0 ? Prisma.sql` OFFSET ${request.offset}` : Prisma.empty;
  return Prisma.sql`
    SELECT c."id", c."last_activity_at", c."created_at", c."priority", c."waiting_since"
    FROM ${selection.from} WHERE ${selection.where}${keyset}
    ORDER BY ${orderBySql(ordering)} LIMIT ${intLiteral(request.size + 1)}${offset}`;
}

/**
 * The SQL text of a conversation's cursor, as {@link encodeCursor} makes it from positionOf(),
 * for a row of {@link pageKeysSql} under `alias` (the planner builds whole pages in SQL).
 * `prefixSql` is the SQL of the list's {@link conversationCursorPrefix}, a parameter: the
 * statement's text is then the same for every workspace (one prepared statement for all), and
 * PostgreSQL encodes only the row's values and id.
 */
export function conversationCursorSql(order: ConversationOrder, alias: string, prefixSql: string): string {
  const iso = (column: string) => `'"' || ${isoSql(`${alias}."${column}"`)} || '"'`;
  let values: string;
  switch (order.field) {
    case 'LAST_MESSAGE_AT':
      values = iso('last_activity_at');
      break;
    case 'CREATED_AT':
      values = iso('created_at');
      break;
    case 'PRIORITY':
      values = `'"' || ${alias}."priority"::text || '",' || ${iso('created_at')}`;
      break;
    case 'WAITING_TIME':
      values = `coalesce(${iso('waiting_since')}, 'null')`;
      break;
  }
  return `${prefixSql} || ${base64urlSql(`${values} || '],"i":"' || ${alias}."id"::text || '"}'`)}`;
}

/** The ids (and cursors) of one page of conversations. One SQL statement. */
export async function findConversationPage(
  db: ScopedDb,
  viewer: Viewer,
  selection: ConversationSelection,
  order: ConversationOrder,
  request: PageRequest,
  /** The JSON of a row as conversation-rows.ts builds it (conversationJson): built in the same statement. */
  rows: Prisma.Sql,
): Promise<ConversationPage> {
  const keys = pageKeysSql(selection, order, request);
  // The page is found first (materialized, numbered in its order), then each of its rows is
  // built, by primary key; the extra row that only tells whether more follow is not.
  const found = await db.$queryRaw<KeyRow[]>`
    WITH page AS MATERIALIZED (SELECT k.*, row_number() OVER () AS ord FROM (${keys}) k)
    SELECT p."id", p."last_activity_at", p."created_at", p."priority", p."waiting_since",
      CASE WHEN p.ord <= ${request.size} THEN (
        SELECT ${rows}::text FROM "conversation" c WHERE c."id" = p."id" AND c."workspace_id" = ${viewer.workspaceId}::uuid
      ) END AS "row"
    FROM page p ORDER BY p.ord`;
  const scope = cursorScope(viewer, order);
  const withCursors = found.map((r) => ({
    id: r.id,
    cursor: encodeCursor(scope, positionOf(order, r)),
    row: r.row ? parseConversationRow(r.row) : null,
  }));
  const { rows: items, pageInfo } = pageInfoOf(request, withCursors, (r) => r.cursor);
  return { items, pageInfo };
}

/** How many conversations match. One SQL statement. */
export async function countConversations(db: ScopedDb, selection: ConversationSelection): Promise<number> {
  const rows = await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM ${selection.from} WHERE ${selection.where}`;
  return rows[0]?.n ?? 0;
}

// ---- a conversation's timeline ---------------------------------------------------------

/** Timeline cursors are the workspace-wide seq, so one cursor means the same for every conversation. */
function timelineScope(viewer: Viewer): CursorScope {
  return { list: 'timeline', order: 'SEQ', workspaceId: viewer.workspaceId };
}

const SEQ = /^\d{1,19}$/;

export function timelinePageRequest(viewer: Viewer, args: PageArgs): PageRequest {
  const scope = timelineScope(viewer);
  return pageRequest(args, (cursor, argument) => {
    const pos = decodeCursor(cursor, scope, argument, (v) => {
      if (typeof v !== 'string' || !SEQ.test(v)) throw new Error('not a seq');
      return v;
    });
    if (pos.values.length !== 1) throw badInput(`The ${argument} cursor is malformed.`, { argument });
    return pos;
  });
}

export function timelineCursor(viewer: Viewer, event: { id: string; seq: bigint }): string {
  return encodeCursor(timelineScope(viewer), { values: [event.seq.toString()], id: event.id });
}

/**
 * Which events the viewer may see, as a condition on the events under alias e to AND to a
 * WHERE: events about internal notes (private messages) are for TEAM keys only. Empty for
 * TEAM keys. Conversation.timeline and TimelineEvent's node lookup both use it.
 */
export function eventVisibility(viewer: Pick<Viewer, 'kind'>): Prisma.Sql {
  return viewer.kind === 'TEAM'
    ? Prisma.empty
    : Prisma.sql` AND (e."message_id" IS NULL OR NOT EXISTS (
          SELECT 1 FROM "message" m WHERE m."id" = e."message_id" AND m."private"))`;
}

/**
 * One page of timeline events for each of several conversations, in one statement (a
 * LATERAL walk of the (conversation_id, seq) index per conversation). Events about
 * internal notes are left out for CONNECTOR keys. Ids per conversation in fetch order,
 * with one extra row when more follow.
 */
export async function findTimelinePageIds(
  db: ScopedDb,
  viewer: Viewer,
  conversationIds: readonly string[],
  request: PageRequest,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(conversationIds.map((id) => [id, []]));
  if (!conversationIds.length) return out;
  const dir = Prisma.raw(request.backward ? 'DESC' : 'ASC');
  const position = request.backward ? request.before : request.after;
  const bound = position
    ? Prisma.sql` AND e."seq" ${Prisma.raw(request.backward ? '<' : '>')} ${position.values[0]!}::bigint`
    : Prisma.empty;
  const rows = await db.$queryRaw<{ parent: string; id: string }[]>`
    SELECT p."id" AS parent, e."id" FROM (VALUES ${parents(conversationIds)}) AS p("ord", "id")
    CROSS JOIN LATERAL (
      SELECT e."id", e."seq" FROM "event" e
      WHERE e."conversation_id" = p."id" AND e."workspace_id" = ${viewer.workspaceId}::uuid${bound}${eventVisibility(viewer)}
      ORDER BY e."seq" ${dir}
      LIMIT ${request.size + 1}
    ) e
    ORDER BY p."ord", e."seq" ${dir}`;
  for (const r of rows) out.get(r.parent)?.push(r.id);
  return out;
}

// ---- a conversation's messages ---------------------------------------------------------

export interface MessageListOptions {
  order: 'asc' | 'desc';
  /** Internal notes included; ignored (always false) for CONNECTOR keys. */
  includePrivate: boolean;
  senderTypes?: string[] | null;
}

function messageScope(viewer: Viewer, order: 'asc' | 'desc'): CursorScope {
  return { list: 'messages', order: order.toUpperCase(), workspaceId: viewer.workspaceId };
}

export function messagePageRequest(viewer: Viewer, order: 'asc' | 'desc', args: PageArgs): PageRequest {
  const scope = messageScope(viewer, order);
  const check = timestampValue(false);
  return pageRequest(args, (cursor, argument) => {
    const pos = decodeCursor(cursor, scope, argument, (v) => check(v));
    if (pos.values.length !== 1) throw badInput(`The ${argument} cursor is malformed.`, { argument });
    return pos;
  });
}

export function messageCursor(viewer: Viewer, order: 'asc' | 'desc', message: { id: string; createdAt: Date }): string {
  return encodeCursor(messageScope(viewer, order), { values: [message.createdAt.toISOString()], id: message.id });
}

/** `(VALUES (1, id1), (2, id2)...)`: the parents of a batch, in order. */
function parents(ids: readonly string[]) {
  return Prisma.join(ids.map((id, i) => Prisma.sql`(${Prisma.raw(String(i))}, ${id}::uuid)`));
}

/**
 * One page of messages for each of several conversations, in one statement: a LATERAL
 * subquery per conversation walks the (conversation_id, created_at, id) index and stops
 * after the page, so a long thread costs no more than a short one. Ids per conversation,
 * in fetch order, with one extra row when more follow.
 */
export async function findMessagePageIds(
  db: ScopedDb,
  viewer: Viewer,
  conversationIds: readonly string[],
  options: MessageListOptions,
  request: PageRequest,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(conversationIds.map((id) => [id, []]));
  if (!conversationIds.length) return out;
  // Fetch order: the requested order, reversed when paging backward.
  const ascending = (options.order === 'asc') !== request.backward;
  const dir = Prisma.raw(ascending ? 'ASC' : 'DESC');
  const position = request.backward ? request.before : request.after;
  const conditions: Prisma.Sql[] = [Prisma.sql`m."workspace_id" = ${viewer.workspaceId}::uuid`];
  if (!(options.includePrivate && viewer.kind === 'TEAM')) conditions.push(Prisma.sql`NOT m."private"`);
  if (options.senderTypes?.length) conditions.push(Prisma.sql`m."sender_type" IN (${list(options.senderTypes, '"SenderType"')})`);
  if (position) {
    conditions.push(
      Prisma.sql`(m."created_at", m."id") ${Prisma.raw(ascending ? '>' : '<')} (${position.values[0]!}::timestamptz, ${position.id}::uuid)`,
    );
  }
  const rows = await db.$queryRaw<{ parent: string; id: string }[]>`
    SELECT p."id" AS parent, m."id" FROM (VALUES ${parents(conversationIds)}) AS p("ord", "id")
    CROSS JOIN LATERAL (
      SELECT m."id", m."created_at" FROM "message" m
      WHERE m."conversation_id" = p."id" AND ${Prisma.join(conditions, ' AND ')}
      ORDER BY m."created_at" ${dir}, m."id" ${dir}
      LIMIT ${request.size + 1}
    ) m
    ORDER BY p."ord", m."created_at" ${dir}, m."id" ${dir}`;
  for (const r of rows) out.get(r.parent)?.push(r.id);
  return out;
}

// ---- a contact's conversations ---------------------------------------------------------

const CONTACT_ORDER: ConversationOrder = { field: 'CREATED_AT', direction: 'DESC' };

function contactConversationsScope(viewer: Viewer): CursorScope {
  return { list: 'contact-conversations', order: 'CREATED_AT:DESC', workspaceId: viewer.workspaceId };
}

export function contactConversationsPageRequest(viewer: Viewer, args: PageArgs): PageRequest {
  const check = timestampValue(false);
  return pageRequest(args, (cursor, argument) => {
    const pos = decodeCursor(cursor, contactConversationsScope(viewer), argument, (v) => check(v));
    if (pos.values.length !== 1) throw badInput(`The ${argument} cursor is malformed.`, { argument });
    return pos;
  });
}

export function contactConversationCursor(viewer: Viewer, conversation: { id: string; createdAt: Date }): string {
  return encodeCursor(contactConversationsScope(viewer), { values: [conversation.createdAt.toISOString()], id: conversation.id });
}

/**
 * One page of conversations (every status, newest first) for each of several contacts, in
 * one statement. Ids per contact in fetch order, with one extra row when more follow.
 */
export async function findContactConversationPageIds(
  db: ScopedDb,
  viewer: Viewer,
  contactIds: readonly string[],
  request: PageRequest,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(contactIds.map((id) => [id, []]));
  if (!contactIds.length) return out;
  const forward = orderingOf(CONTACT_ORDER);
  const ordering = request.backward ? reversed(forward) : forward;
  const position = request.backward ? request.before : request.after;
  const keyset = position ? Prisma.sql` AND ${afterSql(ordering, position)}` : Prisma.empty;
  const rows = await db.$queryRaw<{ parent: string; id: string }[]>`
    SELECT p."id" AS parent, x."id" FROM (VALUES ${parents(contactIds)}) AS p("ord", "id")
    CROSS JOIN LATERAL (
      SELECT c."id", c."created_at" FROM "conversation" c
      WHERE c."contact_id" = p."id" AND c."workspace_id" = ${viewer.workspaceId}::uuid${keyset}
      ORDER BY ${orderBySql(ordering)}
      LIMIT ${request.size + 1}
    ) x
    ORDER BY p."ord", x."created_at" ${Prisma.raw(ordering.keys[0]!.dir)}, x."id" ${Prisma.raw(ordering.idDir)}`;
  for (const r of rows) out.get(r.parent)?.push(r.id);
  return out;
}
