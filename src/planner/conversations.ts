// The planned form of Query.conversations: the connection (edges with cursors and rows,
// pageInfo, totalCount) as one statement whose result PostgreSQL builds as the field's JSON.
// The arguments go through the same checks as the resolver's (src/schema/conversation.ts), and
// the page through the same SQL (src/services/conversation-query.ts).
import type { FieldNode } from 'graphql';
import { Prisma } from '../generated/prisma/client.js';
import { intLiteral, textLiteral } from '../db/json-sql.js';
import { conversationCursorPrefix, conversationCursorSql, pageKeysSql, type Viewer } from '../services/conversation-query.js';
import { conversationListQuery, type ConversationListArgs } from '../schema/conversation.js';
import { plannedFields, rowObjectSql, subSelections, type PlanEnv } from './objects.js';

type EdgeItem = { key: string; kind: 'typename' | 'cursor' } | { key: string; kind: 'node'; sql: string };
type PageInfoItem = { key: string; kind: 'typename' | 'hasNextPage' | 'hasPreviousPage' | 'startCursor' | 'endCursor' };
type ConnectionItem =
  | { key: string; kind: 'typename' | 'totalCount' }
  | { key: string; kind: 'pageInfo'; items: PageInfoItem[] }
  | { key: string; kind: 'edges'; items: EdgeItem[] };

/** What a conversations field selects, planned once per document and visibility. */
export interface ConversationsPlan {
  items: ConnectionItem[];
  /** The page's keys are needed (edges or pageInfo are selected). */
  paged: boolean;
}

/** The plan of a `conversations` field's selection (its nodes, merged); null when the planner cannot answer it. */
export function planConversations(env: PlanEnv, nodes: readonly FieldNode[]): ConversationsPlan | null {
  if (!env.vis.readConversations) return null;
  let paged = false;
  const plan = plannedFields<ConnectionItem>(env, 'ConversationConnection', subSelections(nodes), (name, key, nodes) => {
    if (name === '__typename') return { key, kind: 'typename' };
    if (name === 'totalCount') return { key, kind: 'totalCount' };
    if (name === 'pageInfo') {
      paged = true;
      const info = plannedFields<PageInfoItem>(env, 'PageInfo', subSelections(nodes), (n, k) =>
        n === '__typename' || n === 'hasNextPage' || n === 'hasPreviousPage' || n === 'startCursor' || n === 'endCursor' ? { key: k, kind: n === '__typename' ? 'typename' : n } : null,
      );
      return info && { key, kind: 'pageInfo', items: info };
    }
    if (name === 'edges') {
      paged = true;
      const edge = plannedFields<EdgeItem>(env, 'ConversationEdge', subSelections(nodes), (n, k, nn) => {
        if (n === '__typename') return { key: k, kind: 'typename' };
        if (n === 'cursor') return { key: k, kind: 'cursor' };
        if (n !== 'node') return null;
        const sql = rowObjectSql(env, 'Conversation', 'c', subSelections(nn));
        return sql === null ? null : { key: k, kind: 'node', sql };
      });
      return edge && { key, kind: 'edges', items: edge };
    }
    return null;
  });
  return plan && { items: plan, paged };
}

/** A planned statement, and whether it may run as a prepared statement with a kept plan. */
export interface PlannedStatement {
  sql: Prisma.Sql;
  /**
   * The list's only parameters are the workspace and the keyset position (no filter value, no
   * offset; filters without a value, such as unreadOnly or unassigned, and enum values such as
   * statuses, are written into the text): the same plan is the best for every value.
   * With filter values, PostgreSQL's generic plan can be far worse than one made for them (the
   * benchmark's OPEN + label + assignee page: 33 ms generic, 18 ms custom), and an offset's
   * generic plan assumes a tenth of the rows skipped; such lists are planned for their values
   * every time.
   */
  prepare: boolean;
}

/**
 * The statement that answers the field, its JSON as text in the column `data`. Throws the
 * resolver's own BAD_USER_INPUT errors for bad arguments (checked before any SQL is built).
 */
export function conversationsStatement(plan: ConversationsPlan, viewer: Viewer, args: ConversationListArgs): PlannedStatement {
  const { order, selection, request } = conversationListQuery(viewer, args);
  const size = request.size;
  const fetchOrder = `p.ord ${request.backward ? 'DESC' : 'ASC'}`;
  const lastFirst = `p.ord ${request.backward ? 'ASC' : 'DESC'}`;
  // The cursors' common start is a column of the page (one parameter), not text of the statement.
  const cursor = conversationCursorSql(order, 'p', 'p."cp"');
  const more = `((SELECT count(*) FROM page) > ${size})`;
  const pairs = plan.items.map((it): Prisma.Sql => {
    const key = Prisma.raw(textLiteral(it.key));
    switch (it.kind) {
      case 'typename':
        return Prisma.sql`${key}, 'ConversationConnection'`;
      case 'totalCount':
        return Prisma.sql`${key}, (SELECT count(*)::int FROM ${selection.from} WHERE ${selection.where})`;
      case 'pageInfo': {
        const parts = it.items.map((p) => {
          const value = {
            typename: `'PageInfo'`,
            // As pageInfoOf() answers: the direction of travel knows from the extra row whether
            // more follow; the other from whether the page started at a cursor (or an offset).
            hasNextPage: request.backward ? String(request.before !== null) : more,
            hasPreviousPage: request.backward ? more : String(request.after !== null || request.offset > 0),
            startCursor: `(SELECT ${cursor} FROM page p WHERE p.ord <= ${size} ORDER BY ${fetchOrder} LIMIT 1)`,
            endCursor: `(SELECT ${cursor} FROM page p WHERE p.ord <= ${size} ORDER BY ${lastFirst} LIMIT 1)`,
          }[p.kind];
          return `${textLiteral(p.key)}, ${value}`;
        });
        return Prisma.sql`${key}, ${Prisma.raw(`json_build_object(${parts.join(', ')})`)}`;
      }
      case 'edges': {
        const parts = it.items.map((e) => `${textLiteral(e.key)}, ${e.kind === 'node' ? e.sql : e.kind === 'cursor' ? cursor : `'ConversationEdge'`}`);
        return Prisma.sql`${key}, (SELECT coalesce(json_agg(${Prisma.raw(`json_build_object(${parts.join(', ')})`)} ORDER BY ${Prisma.raw(fetchOrder)}), '[]'::json)
          FROM page p JOIN "conversation" c ON c."id" = p."id" AND c."workspace_id" = ${viewer.workspaceId}::uuid
          WHERE p.ord <= ${intLiteral(size)})`;
      }
    }
  });
  const json = Prisma.sql`json_build_object(${Prisma.join(pairs)})::text AS data`;
  // The selection's one parameter is the workspace when no filter adds its own.
  const prepare = selection.from.values.length === 0 && selection.where.values.length === 1 && (request.backward || request.offset === 0);
  if (!plan.paged) return { sql: Prisma.sql`SELECT ${json}`, prepare };
  return {
    sql: Prisma.sql`
    WITH page AS MATERIALIZED (SELECT k.*, row_number() OVER () AS ord, ${conversationCursorPrefix(viewer, order)}::text AS cp FROM (${pageKeysSql(selection, order, request)}) k)
    SELECT ${json}`,
    prepare,
  };
}
