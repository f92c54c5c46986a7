// Every Parley row id is a UUID (version 7, time-ordered). Anything else a caller sends as
// the id inside a global id or a cursor is malformed, not merely unknown.
import { randomFillSync } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Random bytes for 256 ids, drawn at once: asking the CSPRNG for 16 bytes per id cost 45 µs of
 * a sendMessage's CPU (two ids) in a profile under load; Node's randomUUID pools the same way.
 */
const pool = Buffer.allocUnsafe(16 * 256);
let taken = pool.length;

/** 16 random bytes of the pool, not handed out before (a view: the caller may write into it). */
function random16(): Buffer {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  taken += 16;
  return pool.subarray(taken - 16, taken);
}

/** The last id's millisecond and counter (rand_a, 12 bits), so ids made in one process rise. */
let lastMs = -1;
let counter = 0;

/**
 * A new UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter (rand_a,
 * started at a random value below 2048 each millisecond and incremented within one: RFC 9562
 * section 6.2, method 1), then random bits. Ids made in one process therefore rise in the order
 * they are made, even within a millisecond (when the counter runs out, or the clock goes back,
 * the millisecond is carried forward), like the ones Prisma makes for `@default(uuid(7))`:
 * rows ordered by (created_at, id) keep the order they were written in.
 */
export function uuidv7(): string {
  const bytes = random16();
  /** A new millisecond's counter: random, below 2048, so that at least 2048 ids fit in it. */
  const fresh = ((bytes[6]! << 8) | bytes[7]!) & 0x7ff;
  let ms = Date.now();
  if (ms > lastMs) {
    counter = fresh;
  } else if (counter < 0xfff) {
    ms = lastMs;
    counter += 1;
  } else {
    ms = lastMs + 1;
    counter = fresh;
  }
  lastMs = ms;
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
