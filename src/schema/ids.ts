// Global ids in query arguments: a malformed id, or an id of another type, is the caller's
// mistake (BAD_USER_INPUT); a well-formed id of the right type that matches nothing in the
// workspace is an honest empty result, decided by the query itself.
import { decodeGlobalID } from '@pothos/plugin-relay';
import { badInput } from '../errors.js';
import { isUuid } from '../uuid.js';


/** The row id inside a global id of `type`, or BAD_USER_INPUT naming `argument`. */
export function localId(globalId: string | number | bigint, type: string, argument: string): string {
  const value = String(globalId);
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(value);
  } catch {
    throw badInput(`${argument}: "${value.slice(0, 64)}" is not a valid id.`, { argument });
  }
  if (!isUuid(decoded.id)) throw badInput(`${argument}: "${value.slice(0, 64)}" is not a valid id.`, { argument });
  if (decoded.typename !== type) {
    throw badInput(`${argument}: expected the id of a ${type}, got the id of a ${decoded.typename}.`, { argument, expectedType: type });
  }
  return decoded.id.toLowerCase();
}

/** {@link localId} for a list; null and undefined pass through. */
export function localIds(globalIds: readonly (string | number | bigint)[] | null | undefined, type: string, argument: string): string[] | null {
  if (globalIds == null) return null;
  return globalIds.map((id, i) => localId(id, type, `${argument}[${i}]`));
}
