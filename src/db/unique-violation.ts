// What PostgreSQL said when a statement failed, as Prisma passes it on from the driver
// adapter (`meta.driverAdapterError.cause`). Which unique constraint a failed write broke:
// services check uniqueness before writing; this catches the race where two requests pass
// that check at the same moment. The two driver adapters report the constraint differently
// (PGlite: its columns; adapter-pg: its index name); both keep PostgreSQL's message, which
// names it.

import pg from 'pg';

interface AdapterCause {
  originalCode?: string;
  originalMessage?: string;
  constraint?: { index?: string };
}

function adapterCause(error: unknown): AdapterCause | undefined {
  return (error as { meta?: { driverAdapterError?: { cause?: AdapterCause } } } | null)?.meta?.driverAdapterError?.cause;
}

/** pg's own error, from a statement sent past Prisma (txRows, src/db/transaction-end.ts). */
function pgError(error: unknown): pg.DatabaseError | undefined {
  return error instanceof pg.DatabaseError ? error : undefined;
}

/** PostgreSQL's SQLSTATE for a failed statement (e.g. 57014: canceled by statement_timeout), if any. */
export function sqlState(error: unknown): string | undefined {
  return adapterCause(error)?.originalCode ?? pgError(error)?.code;
}

/**
 * The violated unique constraint's name (e.g. label_workspace_id_name_key), or null. Prisma
 * says P2002 for its model queries, and P2010 with PostgreSQL's 23505 for raw ones; pg, 23505.
 */
export function violatedConstraint(error: unknown): string | null {
  const direct = pgError(error);
  if (direct) return direct.code === '23505' ? (direct.constraint ?? 'unknown') : null;
  const code = (error as { code?: string } | null)?.code;
  const cause = adapterCause(error);
  if (code !== 'P2002' && !(code === 'P2010' && cause?.originalCode === '23505')) return null;
  if (cause?.constraint?.index) return cause.constraint.index;
  const match = /unique constraint "([^"]+)"/.exec(cause?.originalMessage ?? '');
  return match?.[1] ?? 'unknown';
}

/**
 * Runs `work`; if it lost a race on a unique constraint that `retryOn` accepts, runs it once
 * more, when its own checks find the row the other request wrote (a retry answering with the
 * first result, a contact created meanwhile...).
 */
export async function retryOnUniqueViolation<T>(work: () => Promise<T>, retryOn: (constraint: string) => boolean = () => true): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const constraint = violatedConstraint(e);
    if (constraint && retryOn(constraint)) return work();
    throw e;
  }
}
