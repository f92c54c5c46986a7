// A transaction's last statement sent with its COMMIT, and its timeouts with its BEGIN, each in
// one round trip (PostgreSQL only).
//
// The timeline's numbering step (src/services/timeline.ts) takes the workspace's counter row
// and holds it to the commit. Sent as its own statement, the lock is held from the moment
// PostgreSQL answers it until Node has read that answer and sent COMMIT: under load, a
// process busy with other requests reads it late, and every writer of the workspace waits
// that long (BENCHMARKS.md, "Writes": 50 connections were slower than 10). Sent with the
// COMMIT, the lock is held for the statement and the commit alone, with no turn of Node's
// event loop in between.
//
// How: `inTransaction` runs Prisma's transaction inside `transactionEnds.run(end, ...)`; the
// PostgreSQL adapter (src/db/client.ts) marks `end.supported` when it starts the transaction,
// and, when Prisma sends COMMIT, sends `end.statement; COMMIT` instead as one simple query
// (so the statement's values are written into its text as literals), keeping the
// statement's rows in `end.rows`. If the statement fails, the transaction is rolled back
// there and the error kept in `end.error`. The deadline holds to the end: the COMMIT's query
// sets the timeouts again to the time left then, and none left means a rollback. Only the
// transaction `inTransaction` begins takes the store (the work runs outside it, so that a
// transaction begun inside cannot). PGlite (one connection, in process) runs the statement
// inside the transaction as before.
//
// The same way, a transaction with a deadline (a mutation's) sends `BEGIN; SET LOCAL
// statement_timeout = ...; SET LOCAL lock_timeout = ...` as one query (src/db/client.ts,
// timeoutsWithBegin), with the time left when its connection was taken, instead of BEGIN and
// then a set_config statement: one round trip fewer per mutation. Round trips are dear here:
// in a CPU profile of the server under sendMessage load, writing to sockets (writev) took a
// fifth of the busy time (BENCHMARKS.md, "Writes").
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Prisma } from '../generated/prisma/client.js';

export class TransactionEnd {
  /** The transaction's deadline (ms since the epoch), if it has one: its timeouts go with its BEGIN. */
  deadline?: number;
  /** Set by the pool (PostgreSQL): the BEGIN carried the timeouts, so no statement of their own is needed. */
  timeoutsSet = false;
  /**
   * Set by the adapter when it takes this store for a transaction (one transaction per store):
   * the last statement can travel with the COMMIT.
   */
  supported = false;
  /** The statement to send with the COMMIT. */
  statement?: Prisma.Sql;
  /** Its rows, once committed (columns as pg reads them: int8 as text). */
  rows?: Record<string, unknown>[];
  /** Its failure (a pg error, with PostgreSQL's `code`); the transaction was rolled back. */
  error?: unknown;
}

export const transactionEnds = new AsyncLocalStorage<TransactionEnd>();

/**
 * The statement's text with its values written in as literals, for the simple query protocol
 * (which takes no parameters). Only strings, whole numbers, bigints and nulls are accepted;
 * strings are quoted by `quote` (pg's escapeLiteral, safe whatever standard_conforming_strings).
 */
export function inlineValues(sql: Prisma.Sql, quote: (s: string) => string): string {
  return sql.strings.reduce((text, part, i) => {
    if (i === 0) return part;
    const value: unknown = sql.values[i - 1];
    let literal: string;
    if (value === null || value === undefined) literal = 'NULL';
    else if (typeof value === 'string') literal = quote(value);
    // In parentheses: a negative number after a minus sign must not become a comment (5 --3).
    else if (typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) literal = `(${String(value)})`;
    else throw new Error(`inlineValues: a ${typeof value} cannot be written as a literal`);
    return text + literal + part;
  }, '');
}
