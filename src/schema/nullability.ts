// What null means on the root fields. Each root field is nullable because it carries its own
// scope check and validates its arguments: a FORBIDDEN or BAD_USER_INPUT on one field leaves
// the other fields of the operation answered (and, for mutations, the later ones executed).

/** Appended to the description of every Query and Subscription field. */
export const READ_NULL =
  ' Null only with an error on this field: UNAUTHENTICATED without a key, FORBIDDEN without the scope, BAD_USER_INPUT for a bad argument.';

/** Appended to the description of every Mutation field. */
export const MUTATION_NULL =
  ' Null only with a request error on this field (UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT...): a failure you can act on is one of the typed errors of the result.';
