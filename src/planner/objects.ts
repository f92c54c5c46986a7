// What the query planner knows how to answer in SQL: for each object type, the fields it can
// build as JSON from a row (a column, a value computed from columns the way the field's resolver
// computes it, or a relation as a subquery), and the scope a key needs to see the type at all.
//
// A selection the planner does not know (a field missing here, a field with arguments, a
// directive, more than 50 fields in one object) makes the whole document the interpreter's:
// it is answered by graphql-js and the resolvers as before, with their errors. So a field
// added to the schema is never answered wrongly here, only more slowly, until it is added.
// test/planner.test.ts asks for every field listed here and compares the planned answer with
// the interpreted one, byte for byte.
import {
  Kind,
  isAbstractType,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { globalIdSql, isoSql, textLiteral } from '../db/json-sql.js';
import { rowShape, snakeCase, type RowModel } from '../db/rows.js';

/** What a key may see, as far as the planner's types care. The plan is cached per value of it. */
export interface Visibility {
  kind: 'TEAM' | 'CONNECTOR';
  readConversations: boolean;
  readContacts: boolean;
  /** The key's user (User.email shows a CONNECTOR key its own user's address). */
  userId: string | null;
}

export interface PlanEnv {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  vis: Visibility;
  /** A fresh table alias for a nested subquery. */
  alias(): string;
}

/** Fields selected on an object, merged by response key, in the order graphql-js answers them. */
export type CollectedFields = Map<string, FieldNode[]>;

/**
 * The fields of `sets` on `type`, as graphql-js's collectFields merges them (fragments and
 * inline fragments followed, each fragment once); null when any selection carries a directive
 * (@skip, @include: left to the interpreter).
 */
export function collectFields(env: PlanEnv, type: GraphQLObjectType, sets: readonly SelectionSetNode[]): CollectedFields | null {
  const out: CollectedFields = new Map();
  const visited = new Set<string>();
  const applies = (condition: string | undefined) => {
    if (!condition || condition === type.name) return true;
    const t = env.schema.getType(condition);
    return !!t && isAbstractType(t) && env.schema.isSubType(t, type);
  };
  const walk = (set: SelectionSetNode): boolean => {
    for (const s of set.selections) {
      if (s.directives?.length) return false;
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        const list = out.get(key);
        if (list) list.push(s);
        else out.set(key, [s]);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (applies(s.typeCondition?.name.value) && !walk(s.selectionSet)) return false;
      } else {
        const name = s.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment = env.fragments[name];
        if (!fragment || fragment.directives?.length) return false;
        if (applies(fragment.typeCondition.name.value) && !walk(fragment.selectionSet)) return false;
      }
    }
    return true;
  };
  for (const set of sets) if (!walk(set)) return null;
  return out;
}

/** The selection sets below one response key (several when fragments select it again). */
export function subSelections(nodes: readonly FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
}

/** SQL for one field of an object built from a row under `alias`; null: not plannable. */
type FieldSql = (env: PlanEnv, alias: string, nodes: readonly FieldNode[]) => string | null;

/**
 * What `item` makes of each field selected on `typeName`, in the selection's order; null when
 * one of them cannot be planned (`item` says null, or the field has arguments) or when there
 * are more than 50 (json_build_object takes at most 100 arguments, two per key).
 */
export function plannedFields<T>(env: PlanEnv, typeName: string, sets: readonly SelectionSetNode[], item: (name: string, key: string, nodes: FieldNode[]) => T | null): T[] | null {
  const fields = collectFields(env, env.schema.getType(typeName) as GraphQLObjectType, sets);
  if (!fields || fields.size === 0 || fields.size > 50) return null;
  const out: T[] = [];
  for (const [key, nodes] of fields) {
    if (nodes.some((n) => n.arguments?.length)) return null;
    const it = item(nodes[0]!.name.value, key, nodes);
    if (it === null) return null;
    out.push(it);
  }
  return out;
}

/**
 * `json_build_object` of the fields selected on `typeName`, each built by `field`; null when
 * one of them cannot be planned. json (not jsonb) keeps the keys in the selection's order.
 */
export function objectSql(env: PlanEnv, typeName: string, sets: readonly SelectionSetNode[], field: (name: string, nodes: readonly FieldNode[]) => string | null): string | null {
  const pairs = plannedFields(env, typeName, sets, (name, key, nodes) => {
    const sql = name === '__typename' ? textLiteral(typeName) : field(name, nodes);
    return sql === null ? null : `${textLiteral(key)}, ${sql}`;
  });
  return pairs && `json_build_object(${pairs.join(', ')})`;
}

interface RowType {
  model: RowModel;
  /** Whether the key may see objects of this type (the type's own auth scopes). */
  visible(vis: Visibility): boolean;
  /** Fields that expose the column of the same name, unchanged. */
  columns: readonly string[];
  /** Fields computed from the row, or relations. */
  computed: Record<string, FieldSql>;
}

const column = (model: RowModel, alias: string, field: string) => {
  const sql = `${alias}."${snakeCase(field)}"`;
  return rowShape(model).dates.includes(field) ? isoSql(sql) : sql;
};

/** A to-one relation: the related row's object, or JSON null when there is none. */
const toOne =
  (typeName: string, foreignKey: string): FieldSql =>
  (env, alias, nodes) => {
    const r = env.alias();
    const obj = rowObjectSql(env, typeName, r, subSelections(nodes));
    const t = ROW_TYPES[typeName]!;
    return obj && `(SELECT ${obj} FROM "${rowShape(t.model).table}" ${r} WHERE ${r}."id" = ${alias}."${foreignKey}" AND ${r}."workspace_id" = ${alias}."workspace_id")`;
  };

export const ROW_TYPES: Record<string, RowType> = {
  Conversation: {
    model: 'Conversation',
    visible: (v) => v.readConversations,
    columns: [
      'number', 'subject', 'status', 'controller', 'priority', 'snoozedUntil', 'resolutionReason', 'resolvedAt',
      'satisfactionRequested', 'satisfactionRating', 'satisfactionComment', 'providerThreadId', 'customAttributes',
      'unreadCount', 'lastMessageAt', 'lastMessagePreview', 'firstResponseAt', 'firstHumanResponseAt', 'waitingSince',
      'version', 'createdAt', 'updatedAt',
    ],
    computed: {
      // Internal notes count for TEAM keys only; the resolution note is for TEAM keys only.
      messageCount: (env, a) => (env.vis.kind === 'TEAM' ? `${a}."message_count"` : `${a}."public_message_count"`),
      resolutionNote: (env, a) => (env.vis.kind === 'TEAM' ? `${a}."resolution_note"` : 'NULL'),
      contact: toOne('Contact', 'contact_id'),
      inbox: toOne('Inbox', 'inbox_id'),
      assignee: toOne('User', 'assignee_id'),
      resolvedBy: toOne('User', 'resolved_by_id'),
      lastMessage: toOne('Message', 'last_message_id'),
      // By name, then id: as the list statement and the labels loader order them.
      labels: (env, a, nodes) => {
        const r = env.alias();
        const l = env.alias();
        const obj = rowObjectSql(env, 'Label', r, subSelections(nodes));
        return (
          obj &&
          `(SELECT coalesce(json_agg(${obj} ORDER BY ${r}."name", ${r}."id"), '[]'::json) FROM "_ConversationToLabel" ${l} JOIN "label" ${r} ON ${r}."id" = ${l}."B" WHERE ${l}."A" = ${a}."id" AND ${r}."workspace_id" = ${a}."workspace_id")`
        );
      },
    },
  },
  Contact: {
    model: 'Contact',
    visible: (v) => v.readContacts,
    columns: ['name', 'email', 'phone', 'customAttributes', 'createdAt', 'updatedAt'],
    computed: {},
  },
  User: {
    model: 'User',
    visible: () => true,
    columns: ['name', 'role', 'availability', 'createdAt'],
    computed: {
      // CONNECTOR keys see only their own user's address.
      email: (env, a) =>
        env.vis.kind === 'TEAM' ? `${a}."email"` : env.vis.userId ? `CASE WHEN ${a}."id" = ${textLiteral(env.vis.userId)}::uuid THEN ${a}."email" END` : 'NULL',
    },
  },
  Inbox: {
    model: 'Inbox',
    visible: () => true,
    columns: ['name', 'channel', 'createdAt'],
    computed: {},
  },
  Label: {
    model: 'Label',
    visible: (v) => v.readConversations,
    columns: ['name', 'color', 'description', 'createdAt'],
    computed: {},
  },
  Message: {
    model: 'Message',
    visible: (v) => v.readConversations,
    columns: ['content', 'contentType', 'senderType', 'private', 'status', 'errorReason', 'providerMessageId', 'createdAt', 'updatedAt', 'deletedAt'],
    computed: {},
  },
};

/** The object of type `typeName` for the row under `alias`; null when not plannable or not visible. */
export function rowObjectSql(env: PlanEnv, typeName: string, alias: string, sets: readonly SelectionSetNode[]): string | null {
  const t = ROW_TYPES[typeName];
  if (!t || !t.visible(env.vis)) return null;
  return objectSql(env, typeName, sets, (name, nodes) => {
    if (name === 'id') return globalIdSql(typeName, `${alias}."id"`);
    if (t.columns.includes(name)) return column(t.model, alias, name);
    const computed = t.computed[name];
    return computed ? computed(env, alias, nodes) : null;
  });
}
