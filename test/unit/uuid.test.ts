// Ids made by src/uuid.ts are UUIDs version 7 that rise in the order they are made, within one
// millisecond too: rows written in one transaction and ordered by (created_at, id), such as a
// rule's note and then its message, keep the order they were written in.
import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from '../../src/uuid.js';

describe('uuidv7', () => {
  it('makes version 7, RFC 9562 variant ids that rise in the order they are made, many per millisecond', () => {
    const start = Date.now();
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    const end = Date.now();
    for (const id of ids) {
      expect(isUuid(id)).toBe(true);
      expect(id[14]).toBe('7');
      expect('89ab').toContain(id[19]);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // 20,000 ids take far fewer milliseconds: many share one, and their time stays the clock's
    // (carried forward by at most one millisecond per 2,048 ids made in one).
    const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(msOf(ids[0]!)).toBeGreaterThanOrEqual(start);
    expect(msOf(ids.at(-1)!)).toBeLessThanOrEqual(end + Math.ceil(ids.length / 2048));
    expect(new Set(ids.map(msOf)).size).toBeLessThan(ids.length);
  });
});
