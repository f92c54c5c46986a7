// The query planner's statements run as named prepared statements on PostgreSQL
// (src/db/client.ts): one name per distinct text, the same on every call and in every process,
// given from a text's third run on, and no more names than the cap, so that no client can fill
// the connections with them.
import { describe, expect, it } from 'vitest';
import { StatementNames } from '../../src/db/client.js';

/** The name `names` gives `text` once it has run often enough to be named. */
const named = (names: StatementNames, text: string) => {
  for (let i = 1; i < names.admitAfter; i++) expect(names.of(text)).toBeUndefined();
  return names.of(text);
};

describe('StatementNames', () => {
  it('names a text from its third run on, the same way every time; different texts differently', () => {
    const names = new StatementNames();
    expect(names.of('SELECT 1')).toBeUndefined();
    expect(names.of('SELECT 1')).toBeUndefined();
    const a = names.of('SELECT 1');
    expect(a).toMatch(/^parley_[A-Za-z0-9_-]{22}$/);
    expect(names.of('SELECT 1')).toBe(a);
    expect(named(new StatementNames(), 'SELECT 1')).toBe(a);
    expect(named(names, 'SELECT 2')).not.toBe(a);
  });

  it('names at most `max` texts; the rest run unnamed, the named ones keep their names', () => {
    const names = new StatementNames(3, 1);
    const first = ['SELECT 1', 'SELECT 2', 'SELECT 3'].map((t) => names.of(t));
    expect(first.every((n) => typeof n === 'string')).toBe(true);
    expect(names.of('SELECT 4')).toBeUndefined();
    expect(names.of('SELECT 5')).toBeUndefined();
    expect(names.of('SELECT 2')).toBe(first[1]);
    expect(names.size).toBe(3);
  });

  it('forgets the runs of unnamed texts when too many are counted, and names none of them early', () => {
    const names = new StatementNames(2, 3);
    for (let i = 0; i < 25; i++) expect(names.of(`SELECT ${i}`)).toBeUndefined();
    // 20 texts counted (10 times max) cleared the count: SELECT 0 starts again from one run.
    expect(names.of('SELECT 0')).toBeUndefined();
    expect(names.of('SELECT 0')).toBeUndefined();
    expect(names.of('SELECT 0')).toMatch(/^parley_/);
  });
});
