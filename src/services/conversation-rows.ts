// A page of conversations with the relations a dashboard shows, in one statement.
//
// The page's ids come from conversation-query.ts (filters, search, keyset); this loads those
// rows, each with the relations the GraphQL query selects (contact, inbox, assignee,
// resolvedBy, lastMessage, labels, handoffs) nested in it, as one JSON document built by
// PostgreSQL. The relation fields of Conversation answer from what is nested here, and load
// through per-request batch loaders only for a conversation that came another way.
//
// Raw SQL is not tenant-scoped by the client: every table here is filtered by the workspace.
import type { ScopedDb } from '../db/tenant.js';
import { jsonRow, reviveRow, tableAs } from '../db/rows.js';
import { Prisma, type Contact, type Conversation, type Handoff, type Inbox, type Label, type Message, type User } from '../generated/prisma/client.js';

export const CONVERSATION_RELATIONS = ['contact', 'inbox', 'assignee', 'resolvedBy', 'lastMessage', 'labels', 'handoffs'] as const;
export type ConversationRelation = (typeof CONVERSATION_RELATIONS)[number];

/** A conversation row with (some of) its relations loaded beside its columns. */
export type ConversationRow = Conversation & {
  contact?: Contact;
  inbox?: Inbox;
  assignee?: User | null;
  resolvedBy?: User | null;
  lastMessage?: Message | null;
  labels?: Label[];
  handoffs?: Handoff[];
};

/**
 * What to load: the conversation's columns (Prisma field names; all when absent) and, per
 * relation to nest, the columns of its rows (all when null).
 */
export interface ConversationRowsPlan {
  columns?: ReadonlySet<string>;
  relations: ReadonlyMap<ConversationRelation, ReadonlySet<string> | null>;
}

function relationSql(relation: ConversationRelation, ws: Prisma.Sql, only: ReadonlySet<string> | undefined): Prisma.Sql {
  const one = (model: 'Contact' | 'Inbox' | 'User' | 'Message', fk: string) =>
    Prisma.sql`(SELECT ${jsonRow(model, 'r', {}, only)} FROM ${tableAs(model, 'r')} WHERE r."id" = c.${Prisma.raw(`"${fk}"`)} AND r."workspace_id" = ${ws})`;
  switch (relation) {
    case 'contact':
      return one('Contact', 'contact_id');
    case 'inbox':
      return one('Inbox', 'inbox_id');
    case 'assignee':
      return one('User', 'assignee_id');
    case 'resolvedBy':
      return one('User', 'resolved_by_id');
    case 'lastMessage':
      return one('Message', 'last_message_id');
    case 'labels':
      return Prisma.sql`(SELECT coalesce(json_agg(${jsonRow('Label', 'r', {}, only)} ORDER BY r."name", r."id"), '[]'::json)
        FROM "_ConversationToLabel" cl JOIN ${tableAs('Label', 'r')} ON r."id" = cl."B"
        WHERE cl."A" = c."id" AND r."workspace_id" = ${ws})`;
    case 'handoffs':
      return Prisma.sql`(SELECT coalesce(json_agg(${jsonRow('Handoff', 'r', {}, only)} ORDER BY r."started_at", r."id"), '[]'::json)
        FROM ${tableAs('Handoff', 'r')} WHERE r."conversation_id" = c."id" AND r."workspace_id" = ${ws})`;
  }
}

function revive(row: Record<string, unknown>): ConversationRow {
  reviveRow('Conversation', row);
  for (const [key, model] of [
    ['contact', 'Contact'],
    ['inbox', 'Inbox'],
    ['assignee', 'User'],
    ['resolvedBy', 'User'],
    ['lastMessage', 'Message'],
  ] as const) {
    const v = row[key];
    if (v) reviveRow(model, v as Record<string, unknown>);
  }
  for (const r of (row.labels as Record<string, unknown>[] | undefined) ?? []) reviveRow('Label', r);
  for (const r of (row.handoffs as Record<string, unknown>[] | undefined) ?? []) reviveRow('Handoff', r);
  return row as unknown as ConversationRow;
}

/**
 * The JSON of one conversation row `c` (and the relations of `plan`), for a statement that
 * reads the conversation as `"conversation" c`: this module's own, or the page statement of
 * conversation-query.ts, which then returns ids, cursors and rows together.
 */
export function conversationJson(workspaceId: string, plan: ConversationRowsPlan): Prisma.Sql {
  const ws = Prisma.sql`${workspaceId}::uuid`;
  const extra: Record<string, Prisma.Sql> = {};
  for (const relation of CONVERSATION_RELATIONS) {
    const only = plan.relations.get(relation);
    if (only !== undefined) extra[relation] = relationSql(relation, ws, only ?? undefined);
  }
  return jsonRow('Conversation', 'c', extra, plan.columns);
}

/** A row of {@link conversationJson}, parsed, with its dates (and its relations' dates) as Date. */
export function parseConversationRow(json: string): ConversationRow {
  return revive(JSON.parse(json) as Record<string, unknown>);
}

/**
 * The conversations `ids` of the workspace, in the order of `ids`, with the columns and
 * nested relations of `plan`. An id that is not (or no longer) a conversation of the
 * workspace is left out.
 */
export async function loadConversationRows(
  db: ScopedDb,
  workspaceId: string,
  ids: readonly string[],
  plan: ConversationRowsPlan,
): Promise<ConversationRow[]> {
  if (!ids.length) return [];
  const result = await db.$queryRaw<{ rows: string }[]>`
    SELECT coalesce(json_agg(${conversationJson(workspaceId, plan)} ORDER BY p.ord), '[]'::json)::text AS rows
    FROM unnest(${[...ids]}::uuid[]) WITH ORDINALITY AS p(id, ord)
    JOIN ${tableAs('Conversation', 'c')} ON c."id" = p.id AND c."workspace_id" = ${workspaceId}::uuid`;
  return (JSON.parse(result[0]!.rows) as Record<string, unknown>[]).map(revive);
}
