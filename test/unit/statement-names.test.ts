// The query planner's statements run as named prepared statements on PostgreSQL
// (src/db/client.ts): one name per distinct text, the same on every call and in every process,
// and no more names than the cap, so that no client can fill the connections with them.
import { describe, expect, it } from 'vitest';
import { StatementNames } from '../../src/db/client.js';

describe('StatementNames', () => {
  it('names a text the same way every time, and different texts differently', () => {
    const names = new StatementNames();
    const a = names.of('SELECT 1');
    expect(a).toMatch(/^parley_[A-Za-z0-9_-]{22}$/);
    expect(names.of('SELECT 1')).toBe(a);
    expect(new StatementNames().of('SELECT 1')).toBe(a);
    expect(names.of('SELECT 2')).not.toBe(a);
  });

  it('names at most `max` texts; the rest run unnamed, the named ones keep their names', () => {
    const names = new StatementNames(3);
    const first = ['SELECT 1', 'SELECT 2', 'SELECT 3'].map((t) => names.of(t));
    expect(first.every((n) => typeof n === 'string')).toBe(true);
    expect(names.of('SELECT 4')).toBeUndefined();
    expect(names.of('SELECT 5')).toBeUndefined();
    expect(names.of('SELECT 2')).toBe(first[1]);
  });
});
