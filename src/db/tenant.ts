// Tenant scoping that no code path can skip: each request gets a Prisma client whose
// every model operation is filtered by (or written into) the request's workspace.
// Resolvers, Pothos's relation loading and services all use this client, so a row of
// another workspace cannot be read or changed by id alone. Raw SQL bypasses it: every
// raw query in Parley takes the workspace id as a parameter (see the services).
import type { PrismaClient } from '../generated/prisma/client.js';

const WHERE_OPS = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'count',
  'aggregate',
  'groupBy',
  'update',
  'updateMany',
  'updateManyAndReturn',
  'delete',
  'deleteMany',
  'upsert',
]);
const CREATE_OPS = new Set(['create', 'createMany', 'createManyAndReturn', 'upsert']);

type Args = { where?: Record<string, unknown>; data?: unknown; create?: Record<string, unknown> };

function stamp(row: Record<string, unknown>, workspaceId: string, model: string) {
  if (row.workspace !== undefined) {
    throw new Error(`tenant scope: ${model} must be created with workspaceId, not a workspace relation`);
  }
  if (row.workspaceId !== undefined && row.workspaceId !== workspaceId) {
    throw new Error(`tenant scope: ${model} created for another workspace`);
  }
  return { ...row, workspaceId };
}

function scopedWhere(model: string, where: Record<string, unknown>, workspaceId: string) {
  // A workspace is its own scope: keep the caller's id filter and AND ours beside it.
  if (model === 'Workspace') {
    const and = where.AND === undefined ? [] : Array.isArray(where.AND) ? where.AND : [where.AND];
    return { ...where, AND: [...and, { id: workspaceId }] };
  }
  return { ...where, workspaceId };
}

export function scopeToWorkspace(prisma: PrismaClient, workspaceId: string) {
  return prisma.$extends({
    name: 'tenant-scope',
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const a = { ...(args as Args) };
          if (WHERE_OPS.has(operation)) a.where = scopedWhere(model, a.where ?? {}, workspaceId);
          if (model !== 'Workspace' && CREATE_OPS.has(operation)) {
            if (operation === 'upsert') a.create = stamp(a.create ?? {}, workspaceId, model);
            else if (Array.isArray(a.data)) a.data = a.data.map((r) => stamp(r, workspaceId, model));
            else a.data = stamp((a.data ?? {}) as Record<string, unknown>, workspaceId, model);
          }
          if (model === 'Workspace' && CREATE_OPS.has(operation) && operation !== 'upsert') {
            throw new Error('tenant scope: workspaces are created outside a request');
          }
          return query(a as typeof args);
        },
      },
    },
  });
}

/** The Prisma client a request (or a service called for it) works with. */
export type ScopedDb = ReturnType<typeof scopeToWorkspace>;
/** The transaction client of a {@link ScopedDb}. */
export type ScopedTx = Parameters<Parameters<ScopedDb['$transaction']>[0]>[0];

/**
 * {@link scopeToWorkspace}, made on first use. Extending the client costs some 60 µs of CPU;
 * the context of every request has a scoped client, and a query the planner answers
 * (src/planner/) never uses it. A proxy rather than a getter: yoga copies the context's
 * properties into its own object, which would read a getter at once.
 */
export function lazyScopeToWorkspace(prisma: PrismaClient, workspaceId: string): ScopedDb {
  let client: ScopedDb | undefined;
  const real = () => (client ??= scopeToWorkspace(prisma, workspaceId));
  return new Proxy({} as ScopedDb, {
    get(_target, prop) {
      const c = real();
      const value = Reflect.get(c, prop, c) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(c) : value;
    },
    has: (_target, prop) => Reflect.has(real(), prop),
    set: (_target, prop, value) => Reflect.set(real(), prop, value),
  });
}
