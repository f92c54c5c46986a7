// How Parley's mutations are declared, one way throughout:
// - one `input` argument;
// - the result is a union named <Mutation>Result of the mutation's payload object and the
//   typed errors (DomainError classes, src/schema/errors.ts) it can fail with; a service
//   that throws one of them has rolled its transaction back and written nothing;
// - request-level failures (no key, missing scope, malformed ids, limits) are GraphQL errors.
import { builder } from '../builder.js';
import type { Context } from '../context.js';
import { NotFoundError, type DomainError } from '../errors.js';

// biome-ignore lint/suspicious/noExplicitAny: error classes take any constructor arguments
type ErrorClass = new (...args: any[]) => DomainError;

/** The `errors` option of a mutation field: payload and typed errors in one union. */
export function mutationErrors(mutation: string, types: ErrorClass[]) {
  const name = mutation[0]!.toUpperCase() + mutation.slice(1);
  return {
    types,
    directResult: true as const,
    union: {
      name: `${name}Result`,
      description: `What ${mutation} returns: its payload, or one of the typed errors it can fail with (query them with \`... on Error { code message }\`).`,
    },
  };
}

/**
 * The database id behind a global id, which must name an object of `type`. A malformed id
 * is a request error (BAD_USER_INPUT); an id of another type is a NotFoundError, as an id
 * from another workspace is once the service looks it up.
 */
export function decodeId(globalId: string, type: string, ctx: Context): string {
  const decode = builder.options.relay?.decodeGlobalID;
  const { typename, id } = decode!(globalId, ctx);
  if (typename !== type) throw new NotFoundError(type, globalId);
  return String(id);
}

/** decodeId for an optional input: undefined stays undefined (no change), null stays null. */
export function decodeOptionalId(globalId: string | null | undefined, type: string, ctx: Context): string | null | undefined {
  if (globalId === undefined || globalId === null) return globalId;
  return decodeId(globalId, type, ctx);
}

export function decodeIds(globalIds: readonly string[] | null | undefined, type: string, ctx: Context): string[] {
  return (globalIds ?? []).map((id) => decodeId(id, type, ctx));
}

/**
 * The answer of a nullable Prisma field that has no row to load (no first message, a failed
 * bulk item): null, with Pothos's selection marked as knowingly unused.
 */
export function noRow(query: object): null {
  void { ...query };
  return null;
}
