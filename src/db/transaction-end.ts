// A transaction's last statement sent with its COMMIT, and its BEGIN (with its timeouts) with
// its first statement, each in one round trip (PostgreSQL only).
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
// PostgreSQL adapter (src/db/client.ts) gives `end` its `query` when it starts the transaction,
// and, when Prisma sends COMMIT, sends `end.statement; COMMIT` instead as one simple query
// (so the statement's values are written into its text as literals), keeping the
// statement's rows in `end.rows`. If the statement fails, the transaction is rolled back
// there and the error kept in `end.error`. The deadline holds to the end: the COMMIT's query
// sets the timeouts again to the time left then, and none left means a rollback. Only the
// transaction `inTransaction` begins takes the store (the work runs outside it, so that a
// transaction begun inside cannot). PGlite (one connection, in process) runs the statement
// inside the transaction as before.
//
// The same way, the BEGIN waits for the transaction's first statement and goes with it
// (src/db/client.ts, beginWithFirstStatement): Prisma's BEGIN is answered at once without
// reaching PostgreSQL. A transaction with a deadline (a mutation's) sends `BEGIN; SET LOCAL
// statement_timeout = ...; SET LOCAL lock_timeout = ...`, with the time left at that moment,
// instead of a set_config statement of its own. The hottest statements (a conversation locked
// and read, a message and its counters written, a receipt's message locked) are sent by
// `txRows` on the transaction's own connection, not through Prisma's raw query path, whose CPU
// per statement is a large part of a small write's: the first of a transaction as one simple
// query with the BEGIN (its values written in as literals), the others with parameters. Round
// trips are dear here: in a CPU profile of the server under sendMessage load, writing to
// sockets (writev) took a fifth of the busy time, some 0.17 ms per statement (BENCHMARKS.md,
// "Writes"). sendMessage HUMAN: seven round trips on the morning of 12-04, three now.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Prisma } from '../generated/prisma/client.js';

export class TransactionEnd {
  /** The transaction's deadline (ms since the epoch), if it has one: its timeouts go with its BEGIN. */
  deadline?: number;
  /**
   * Set by the pool (PostgreSQL) when it holds this transaction's BEGIN: the held BEGIN's text
   * (with its timeouts, for the time left now), for the caller that sends it with its own
   * statement; undefined once it has gone.
   */
  takeBegin?: () => string | undefined;
  /**
   * Set by the adapter when it takes this store for a transaction (one transaction per store):
   * runs a statement on the transaction's own connection (see txRows).
   */
  query?: (sql: Prisma.Sql) => Promise<Record<string, unknown>[]>;
  /**
   * Set by the adapter when Prisma ends the transaction (its COMMIT or ROLLBACK, also when
   * Prisma's own timer rolls it back): `query` sends nothing after it, as Prisma refuses a
   * statement on an ended transaction. Sent then, it would run outside the transaction, or on
   * a connection the pool has handed to another request.
   */
  closed = false;
  /** The statement to send with the COMMIT. */
  statement?: Prisma.Sql;
  /** Its rows, once committed (columns as pg reads them: int8 as text). */
  rows?: Record<string, unknown>[];
  /** Its failure (a pg error, with PostgreSQL's `code`); the transaction was rolled back. */
  error?: unknown;

  /** The pool holds the BEGIN, and sends the deadline's timeouts with it: no statement of their own is needed. */
  get timeoutsWithBegin(): boolean {
    return this.takeBegin !== undefined && this.deadline !== undefined;
  }
  /** The adapter took this transaction: its last statement can travel with the COMMIT. */
  get supported(): boolean {
    return this.query !== undefined;
  }
}

export const transactionEnds = new AsyncLocalStorage<TransactionEnd>();

/** The transactions whose statements can go on their own connection, by their Prisma transaction client. */
const ownConnections = new WeakMap<object, TransactionEnd>();

/** Called by inTransaction with its transaction client: `txRows` on `tx` may use `end.query`. */
export function bindTransaction(tx: object, end: TransactionEnd): void {
  if (end.query) ownConnections.set(tx, end);
}

/**
 * A raw statement's rows, in a transaction of inTransaction. On PostgreSQL the statement goes on
 * the transaction's own connection, past Prisma's client (with the BEGIN, when it is the
 * transaction's first); elsewhere (PGlite) through `tx.$queryRaw`. Its columns must read the
 * same either way: json (a jsonRow), text, uuid or boolean, which the adapter checks; its
 * values strings, whole numbers, booleans or nulls. Raw SQL: the statement filters by the
 * workspace itself. A failure on PostgreSQL is pg's error (PostgreSQL's code in `code`, which
 * sqlState and violatedConstraint read).
 */
export function txRows<T>(tx: { $queryRaw<R>(sql: Prisma.Sql): PromiseLike<R> }, sql: Prisma.Sql): Promise<T[]> {
  const end = ownConnections.get(tx);
  if (end?.query) return end.query(sql) as Promise<T[]>;
  return Promise.resolve(tx.$queryRaw<T[]>(sql));
}

/** A value a statement may carry to `txRows` or `inlineValues`, or an error saying why not. */
export function statementValue(value: unknown): string | number | bigint | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    // The simple query protocol ends a query's text at a NUL; no PostgreSQL text holds one.
    if (value.includes('\u0000')) throw new Error('a statement value holds U+0000, which no PostgreSQL text can');
    return value;
  }
  if (typeof value === 'boolean' || typeof value === 'bigint' || (typeof value === 'number' && Number.isSafeInteger(value))) return value;
  throw new Error(`a ${typeof value} cannot be sent as a statement value here`);
}

/**
 * The statement's text with its values written in as literals, for the simple query protocol
 * (which takes no parameters). Only strings, whole numbers, bigints, booleans and nulls are
 * accepted; strings are quoted by `quote` (pg's escapeLiteral, safe whatever
 * standard_conforming_strings).
 */
export function inlineValues(sql: Prisma.Sql, quote: (s: string) => string): string {
  return sql.strings.reduce((text, part, i) => {
    if (i === 0) return part;
    const value = statementValue(sql.values[i - 1]);
    let literal: string;
    if (value === null) literal = 'NULL';
    else if (typeof value === 'string') literal = quote(value);
    else if (typeof value === 'boolean') literal = value ? 'TRUE' : 'FALSE';
    // In parentheses: a negative number after a minus sign must not become a comment (5 --3).
    else literal = `(${String(value)})`;
    return text + literal + part;
  }, '');
}
