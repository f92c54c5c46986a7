// A throwaway in-memory PGlite with the extensions Parley's migrations need.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

export function pgliteExtensions() {
  return { pg_trgm };
}

export function memoryPglite(): PGlite {
  return new PGlite({ extensions: pgliteExtensions() });
}
