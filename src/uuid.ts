// Every Parley row id is a UUID (version 7, time-ordered). Anything else a caller sends as
// the id inside a global id or a cursor is malformed, not merely unknown.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}
