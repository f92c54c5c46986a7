// The transaction's statements on its own connection (src/db/transaction-end.ts): on
// PostgreSQL, a statement that txRows would send after Prisma ended the transaction, and one it
// refuses before its BEGIN went out, must never run outside the transaction; on either
// database, txRows reads rows as Prisma's $queryRaw does. Here the database layer
// is driven as inTransaction drives it, with Prisma's own timer as the end (a short configured
// timeout; the test waits for the connection to be back in the pool, not for a clock).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { bindTransaction, TransactionEnd, transactionEnds, txRows } from '../src/db/transaction-end.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { createTestDatabase, usePostgres, type TestDatabase } from './support/databases.js';

describe('statements on the transaction’s own connection', () => {
  let database: TestDatabase;
  let db: Database;
  let other: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    // A pool of one: a statement sent after the release would find the connection idle, in autocommit.
    db = await openDatabase({ databaseUrl: database.url, dataDir: database.dataDir, poolSize: 1 });
    if (usePostgres) {
      other = new pg.Client({ connectionString: database.url! });
      await other.connect();
      await other.query('CREATE TABLE scratch (id int PRIMARY KEY, note text)');
    }
  });
  afterAll(async () => {
    await other?.end();
    await db?.close();
    await database?.drop();
  });

  const notes = async () => (await other.query<{ note: string }>('SELECT note FROM scratch ORDER BY id')).rows.map((r) => r.note);

  /** Runs `work` in a Prisma transaction bound to its TransactionEnd, as inTransaction does. */
  const inOwnTransaction = (work: (tx: Prisma.TransactionClient) => Promise<void>, timeout = 10_000) => {
    const end = new TransactionEnd();
    return transactionEnds.run(end, () =>
      db.prisma.$transaction(
        async (tx) => {
          bindTransaction(tx, end);
          await transactionEnds.exit(() => work(tx));
        },
        { timeout },
      ),
    );
  };

  /** Until Prisma's timer has rolled the transaction back and its connection is back in the pool. */
  const untilReleased = async () => {
    while (db.pool().inUse > 0) await new Promise((r) => setTimeout(r, 10));
  };

  if (usePostgres) it('sends nothing once Prisma has ended the transaction, whether its BEGIN went out or was still held', async () => {
    // The BEGIN went out with a first statement, or was still held (nothing sent at all), when
    // Prisma's timer ended the transaction.
    for (const [id, beginSent] of [[2, true], [3, false]] as const) {
      let late: Promise<unknown> | undefined;
      const work = inOwnTransaction(async (tx) => {
        if (beginSent) await txRows(tx, Prisma.sql`INSERT INTO scratch (id, note) VALUES (${1}, ${'inside, rolled back'}) RETURNING note`);
        await untilReleased();
        late = txRows(tx, Prisma.sql`INSERT INTO scratch (id, note) VALUES (${id}, ${'after the end'}) RETURNING note`);
        await late.catch(() => {});
      }, 200);
      await expect(work).rejects.toThrow();
      await expect(late).rejects.toThrow(/transaction has ended/);
    }

    expect(await notes()).toEqual([]);
    // The one connection is usable, in no transaction.
    await inOwnTransaction(async (tx) => {
      expect(await txRows(tx, Prisma.sql`INSERT INTO scratch (id, note) VALUES (${4}, ${'committed'}) RETURNING note`)).toEqual([{ note: 'committed' }]);
    });
    expect(await notes()).toEqual(['committed']);
    await other.query('DELETE FROM scratch');
  });

  if (usePostgres) it('refuses a value it cannot send before taking the held BEGIN: what the transaction sends next is still inside it', async () => {
    for (const bad of [new Date(), 1.5, 'a\u0000b']) {
      const work = inOwnTransaction(async (tx) => {
        await expect(txRows(tx, Prisma.sql`SELECT ${bad}::text AS note`)).rejects.toThrow(/statement value|cannot be sent/);
        // Prisma's own statement now: the BEGIN goes first, so the failure below rolls it back.
        await tx.$executeRaw`INSERT INTO scratch (id, note) VALUES (${5}, ${'inside, rolled back'})`;
        throw new Error('the work fails');
      });
      await expect(work).rejects.toThrow('the work fails');
    }
    expect(await notes()).toEqual([]);
  });

  it('reads a row the same as Prisma does; on PostgreSQL, refuses a column pg would read differently', async () => {
    await inOwnTransaction(async (tx) => {
      const sql = Prisma.sql`SELECT json_build_object('at', now(), 'n', 1, 'x', ${"it's \\ fine"}::text) AS row, ${'text'}::text AS t, gen_random_uuid() IS NOT NULL AS b`;
      const [direct] = await txRows<Record<string, unknown>>(tx, sql);
      const [viaPrisma] = await tx.$queryRaw<Record<string, unknown>[]>(sql);
      expect(direct).toEqual(viaPrisma);
      if (usePostgres) await expect(txRows(tx, Prisma.sql`SELECT 1::int AS n`)).rejects.toThrow(/column n has type 23/);
    });
  });
});
