// Which unique constraint a failed write broke. Services check uniqueness before writing;
// this catches the race where two requests pass that check at the same moment.
// The two driver adapters report the constraint differently (PGlite: its columns;
// adapter-pg: its index name); both keep PostgreSQL's message, which names it.

/** The violated unique constraint's name (e.g. label_workspace_id_name_key), or null. */
export function violatedConstraint(error: unknown): string | null {
  const e = error as { code?: string; meta?: { driverAdapterError?: { cause?: { originalMessage?: string; constraint?: { index?: string } } } } };
  if (e?.code !== 'P2002') return null;
  const cause = e.meta?.driverAdapterError?.cause;
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
