// The query planner: the dashboard's hot queries answered without a resolver per field.
//
// A dashboard sends the same few documents thousands of times (the inbox page above all). For
// such a document the planner works out once, per kind of key (its scopes and kind, which decide
// what it may see), one SQL statement per root field whose result PostgreSQL builds as that
// field's JSON, ids, cursors and page info included; executing it is then one round trip and one
// JSON.parse, instead of graphql-js walking some 1,250 fields of a 50-row page through Pothos's
// resolvers and scope checks (BENCHMARKS.md, "Read API").
//
// Everything else stays the interpreter's: another operation type, a field or a directive the
// planner does not know (src/planner/objects.ts), a key that may not see a selected type (the
// interpreter answers FORBIDDEN on that field with the rest of the page), arguments that the
// resolver would refuse (its BAD_USER_INPUT, with its path). Parsing, validation, the cost
// limits and budget, the execution timeout and error masking run as for any operation: this
// replaces only the execute step, and only when the whole operation is plannable.
import {
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { isGraphQLError } from '../errors.js';
import { Counter } from 'prom-client';
import type { Prisma } from '../generated/prisma/client.js';
import { registry } from '../metrics.js';
import type { Viewer } from '../services/conversation-query.js';
import { viewerOf, type ConversationListArgs } from '../schema/conversation.js';
import { conversationsStatement, planConversations, type ConversationsPlan, type PlannedStatement } from './conversations.js';
import { collectFields, type PlanEnv, type Visibility } from './objects.js';

export const queriesExecuted = new Counter({
  name: 'parley_graphql_queries_executed_total',
  help: 'Queries executed, by executor: planner (one SQL statement per root field, built as JSON by the database) or interpreter (graphql-js and the resolvers: a document, key or arguments the planner leaves to it).',
  labelNames: ['executor'] as const,
  registers: [registry],
});

type RootItem = { key: string; kind: 'typename' } | { key: string; kind: 'conversations'; node: FieldNode; plan: ConversationsPlan };

interface DocumentPlan {
  operation: OperationDefinitionNode;
  roots: RootItem[];
}

/** Per document (yoga's parse cache hands out the same object for the same text), per operation and visibility. */
const plans = new WeakMap<DocumentNode, Map<string, DocumentPlan | null>>();
const MAX_PLANS_PER_DOCUMENT = 64;

function visibilityOf(ctx: Context): Visibility | null {
  const auth = ctx.auth;
  if (!auth) return null;
  const has = (scope: 'READ_CONVERSATIONS' | 'READ_CONTACTS') => auth.scopes.has(scope) || auth.scopes.has('ADMIN');
  return { kind: auth.kind, readConversations: has('READ_CONVERSATIONS'), readContacts: has('READ_CONTACTS'), userId: auth.kind === 'TEAM' ? null : auth.userId };
}

function planDocument(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, vis: Visibility): DocumentPlan | null {
  const operation = getOperationAST(document, operationName);
  if (!operation || operation.operation !== 'query' || operation.directives?.length) return null;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  let n = 0;
  const env: PlanEnv = { schema, fragments, vis, alias: () => `r${++n}` };
  const fields = collectFields(env, schema.getQueryType()!, [operation.selectionSet]);
  if (!fields || fields.size === 0) return null;
  const roots: RootItem[] = [];
  for (const [key, nodes] of fields) {
    const name = nodes[0]!.name.value;
    if (name === '__typename') roots.push({ key, kind: 'typename' });
    else if (name === 'conversations') {
      const plan = planConversations(env, nodes);
      if (!plan) return null;
      roots.push({ key, kind: 'conversations', node: nodes[0]!, plan });
    } else return null;
  }
  return { operation, roots };
}

/**
 * The statements the planner makes for a query document whose arguments are literals, for a
 * TEAM key with every scope acting as `viewer` (bench/run.ts runs them alone through `pg`, to
 * tell the database's share of a request from Parley's). Null when the planner would not
 * answer the document.
 */
export function statementsFor(schema: GraphQLSchema, document: DocumentNode, viewer: Viewer): PlannedStatement[] | null {
  const plan = planDocument(schema, document, undefined, { kind: 'TEAM', readConversations: true, readContacts: true, userId: null });
  if (!plan) return null;
  const field = schema.getQueryType()!.getFields().conversations as GraphQLField<unknown, unknown>;
  return plan.roots.flatMap((root) => (root.kind === 'typename' ? [] : [conversationsStatement(root.plan, viewer, getArgumentValues(field, root.node, {}) as ConversationListArgs)]));
}

function planFor(args: ExecutionArgs, ctx: Context): DocumentPlan | null {
  const vis = visibilityOf(ctx);
  if (!vis) return null;
  const key = `${args.operationName ?? ''}|${vis.kind}|${vis.readConversations}|${vis.readContacts}|${vis.userId ?? ''}`;
  let forDocument = plans.get(args.document);
  if (!forDocument) plans.set(args.document, (forDocument = new Map()));
  let plan = forDocument.get(key);
  if (plan === undefined) {
    plan = planDocument(args.schema, args.document, args.operationName, vis);
    if (forDocument.size >= MAX_PLANS_PER_DOCUMENT) forDocument.clear();
    forDocument.set(key, plan);
  }
  return plan;
}

/** The planned answer; null when the interpreter must answer (variables or arguments it would refuse). */
async function run(plan: DocumentPlan, args: ExecutionArgs, ctx: Context): Promise<ExecutionResult | null> {
  const vars = getVariableValues(args.schema, plan.operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (vars.errors) return null;
  const conversationsField = args.schema.getQueryType()!.getFields().conversations as GraphQLField<unknown, unknown>;
  const statements: (PlannedStatement | null)[] = [];
  try {
    for (const root of plan.roots) {
      statements.push(root.kind === 'typename' ? null : conversationsStatement(root.plan, viewerOf(ctx), getArgumentValues(conversationsField, root.node, vars.coerced) as ConversationListArgs));
    }
  } catch (err) {
    if (isGraphQLError(err)) return null;
    throw err;
  }
  const parts: string[] = [];
  const errors: GraphQLError[] = [];
  for (const [i, root] of plan.roots.entries()) {
    const key = JSON.stringify(root.key);
    const statement = statements[i];
    if (!statement) {
      parts.push(`${key}:"Query"`);
      continue;
    }
    try {
      parts.push(`${key}:${await ctx.jsonText(statement.sql, { prepare: statement.prepare })}`);
    } catch (err) {
      // As the interpreter would: this field null, the error (masked and logged) on its path.
      parts.push(`${key}:null`);
      errors.push(new GraphQLError(err instanceof Error ? err.message : String(err), { path: [root.key], originalError: err instanceof Error ? err : undefined }));
    }
  }
  return plannedResult(`{${parts.join(',')}}`, errors);
}

/**
 * The result with its data as PostgreSQL wrote it. yoga writes an HTTP answer with a result's
 * own `stringify` when it has one, so the page goes out without being parsed and serialised
 * again; other readers (a WebSocket, a batch, a plugin) find `data` parsed on first use.
 */
function plannedResult(dataText: string, errors: GraphQLError[]): ExecutionResult {
  let data: Record<string, unknown> | undefined;
  const result: ExecutionResult & { stringify(r: ExecutionResult): string } = {
    stringify: (r) =>
      `{"data":${dataText}${r.errors?.length ? `,"errors":${JSON.stringify(r.errors)}` : ''}${r.extensions ? `,"extensions":${JSON.stringify(r.extensions)}` : ''}}`,
  };
  Object.defineProperty(result, 'data', { enumerable: true, configurable: true, get: () => (data ??= JSON.parse(dataText) as Record<string, unknown>) });
  if (errors.length) result.errors = errors;
  return result;
}

/** The planner as an envelop plugin; placed before the security plugins, whose timeout then wraps it. */
export function queryPlanner(): Plugin<Context> {
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const ctx = args.contextValue as Context;
      const plan = planFor(args, ctx);
      if (!plan) {
        if (getOperationAST(args.document, args.operationName)?.operation === 'query') queriesExecuted.inc({ executor: 'interpreter' });
        return;
      }
      setExecuteFn(async (executeArgs) => {
        const result = await run(plan, executeArgs, ctx);
        queriesExecuted.inc({ executor: result ? 'planner' : 'interpreter' });
        return result ?? executeFn(executeArgs);
      });
    },
  };
}
