// The Pothos schema builder: configuration only. Types live in src/schema/<domain>.ts.
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID as relayDecode } from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ValidationPlugin from '@pothos/plugin-validation';
import type { Context } from './context.js';
import { badInput, forbidden, unauthenticated } from './errors.js';
import type { Scope } from './generated/prisma/client.js';
import type PrismaTypes from './generated/pothos-prisma-types.js';
import { getDatamodel } from './generated/pothos-prisma-types.js';
import { scopeName } from './services/api-keys.js';
import { isUuid } from './uuid.js';

const MAX_NODES = 100;

/** The names of the types that implement Node; filled once the schema is built (src/schema/index.ts). */
const nodeTypeNames = new Set<string>();
export function registerNodeTypes(names: Iterable<string>): void {
  for (const name of names) nodeTypeNames.add(name);
}

export interface AuthScopes {
  /** The request carries a valid API key. */
  authenticated: boolean;
  /** The key has this scope (ADMIN implies every scope). */
  scope: Scope;
  /** A TEAM key (agents' tools, dashboards): may see internal notes. */
  teamKey: boolean;
  /** A CONNECTOR key (a channel connector, the chat widget): acts for contacts. */
  connectorKey: boolean;
  /** A platform key: manages workspaces, sees nothing inside them. */
  platformKey: boolean;
}

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: AuthScopes;
  // Fields are non-null unless they say `nullable: true`: see defaultFieldNullability below.
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
  Scalars: {
    ID: { Input: string; Output: string | number | bigint };
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: unknown };
  };
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, ValidationPlugin, PrismaPlugin, RelayPlugin],
  // A field is non-null unless it says `nullable: true`, so clients get types they can use.
  // Nullable, with a description of what null means: a value that can be absent, and a field
  // that can fail on its own without taking its parent with it: root fields (they carry
  // scopes), a field with its own scope, and a field whose object type has a scope its
  // parent does not already guarantee (a Contact, for a key without read:contacts).
  defaultFieldNullability: false,
  scopeAuth: {
    // Subscription fields are authorised when subscribing (a key without the scope is refused
    // at once), not on each event.
    authorizeOnSubscribe: true,
    runScopesOnType: true,
    authScopes: (ctx) => ({
      authenticated: ctx.auth !== null,
      scope: (scope: Scope) => (ctx.auth ? ctx.auth.scopes.has(scope) || ctx.auth.scopes.has('ADMIN') : false),
      teamKey: ctx.auth?.kind === 'TEAM',
      connectorKey: ctx.auth?.kind === 'CONNECTOR',
      platformKey: ctx.platform !== null,
    }),
    unauthorizedError: (_parent, ctx, info, result) => {
      if (!ctx.auth && ctx.platform) {
        return forbidden(`${info.parentType.name}.${info.fieldName} needs a key of a workspace: a platform key manages workspaces and sees nothing inside them.`);
      }
      if (!ctx.auth) return unauthenticated('An API key is required: send it as X-API-Key or Authorization: Bearer.');
      type Failure = { kind?: string; scope?: string; parameter?: unknown; failures?: Failure[] };
      // A connection field wraps its scopes in AnyAuthScopes: name the scope it needs all the same.
      let failure = result.failure as Failure;
      while (failure.failures?.length === 1) failure = failure.failures[0]!;
      if (failure.kind === 'AuthScope' && failure.scope === 'scope') {
        const needed = scopeName(failure.parameter as Scope);
        return forbidden(`${info.parentType.name}.${info.fieldName} needs the ${needed} scope.`, { scope: needed });
      }
      if (failure.kind === 'AuthScope' && failure.scope === 'connectorKey') {
        return forbidden(`${info.parentType.name}.${info.fieldName} needs a CONNECTOR key: it acts for the contact, which a TEAM key never does.`);
      }
      if (failure.kind === 'AuthScope' && failure.scope === 'platformKey') {
        return forbidden(`${info.parentType.name}.${info.fieldName} needs a platform key: a workspace key never manages workspaces.`);
      }
      return forbidden(`This API key may not access ${info.parentType.name}.${info.fieldName}.`);
    },
  },
  errors: { defaultTypes: [] },
  validation: {
    validationError: (failure) =>
      badInput(failure.issues.map((i) => `${(i.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.')}: ${i.message}`).join('; ')),
  },
  prisma: {
    client: (ctx) => ctx.db as never,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    // A resolver that drops Pothos's query would load nested fields one by one: fail loudly.
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'error',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: {
      description: 'Fetches any object by its global id. Null when it does not exist in your workspace, and (with an error) for a malformed id or an object your key may not read.',
      args: { id: { description: 'The global id of the object.' } },
    },
    nodesQueryOptions: {
      // Nullable like every root field: a malformed id or too many ids fail this field alone.
      nullable: { list: true, items: true },
      description:
        'Fetches objects by their global ids, in order; null for each that does not exist in your workspace (and, with an error, for each your key may not read). The list is null only with an error on this field (BAD_USER_INPUT for a malformed id or more than 100 ids).',
      args: { ids: { description: 'The global ids of the objects (at most 100).' } },
      resolve: (_root, args, _ctx, _info, resolveNodes) => {
        if (args.ids.length > MAX_NODES) throw badInput(`nodes takes at most ${MAX_NODES} ids.`, { argument: 'ids' });
        return resolveNodes(args.ids);
      },
    },
    nodeTypeOptions: { description: 'An object with a global id.' },
    idFieldOptions: { description: 'The global id: opaque, stable, and accepted by node(id).' },
    pageInfoTypeOptions: { description: 'Where a page stands in its connection.' },
    hasNextPageFieldOptions: { description: 'More items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'More items precede this page.' },
    startCursorFieldOptions: { description: 'The cursor of the first item of the page; null when the page is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last item of the page; null when the page is empty.' },
    cursorFieldOptions: { description: 'Opaque cursor of this item, for `after` or `before`.' },
    nodeFieldOptions: { description: 'The item.' },
    edgesFieldOptions: { description: 'The items of the page, with their cursors.' },
    pageInfoFieldOptions: { description: 'Where this page stands.' },
    firstArgOptions: { description: 'Return at most this many items after `after` (at most 100).' },
    lastArgOptions: { description: 'Return at most this many items before `before` (at most 100).' },
    afterArgOptions: { description: 'Cursor of the item after which the page starts.' },
    beforeArgOptions: { description: 'Cursor of the item before which the page ends.' },
    defaultConnectionTypeOptions: { description: 'A page of items, with cursors to move on (Relay connection).' },
    defaultEdgeTypeOptions: { description: 'One item of a page and its cursor.' },
    decodeGlobalID: (globalID) => {
      try {
        const decoded = relayDecode(globalID);
        // Every Parley id is a UUID: anything else is malformed, not merely unknown.
        // ...and it names a type that has ids: a made-up or non-Node type name is malformed too.
        if (!decoded.typename || !isUuid(decoded.id) || !nodeTypeNames.has(decoded.typename)) throw new Error('malformed');
        return decoded;
      } catch {
        throw badInput(`"${globalID.slice(0, 64)}" is not a valid id.`, { argument: 'id' });
      }
    },
  },
});
