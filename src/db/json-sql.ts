// Values as the API writes them, computed by PostgreSQL, for statements that build a response's
// JSON themselves (src/planner/): the same text the GraphQL scalars and Parley's encoders make
// in JavaScript, so a planned answer and an interpreted one are the same bytes.
// test/planner.test.ts compares the two for every field the planner knows.
import { Prisma } from '../generated/prisma/client.js';

/** A timestamptz as DateTime's serialize() writes it: `2026-11-21T09:30:00.000Z`. */
export function isoSql(expr: string): string {
  return `to_char(${expr} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** Text as base64 with padding, on one line (PostgreSQL breaks lines every 76 characters). */
export function base64Sql(textExpr: string): string {
  return `translate(encode(convert_to(${textExpr}, 'UTF8'), 'base64'), E'\\n', '')`;
}

/** Text as base64url without padding, as Buffer's `base64url` writes it. */
export function base64urlSql(textExpr: string): string {
  return `rtrim(translate(encode(convert_to(${textExpr}, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=')`;
}

/**
 * The Relay global id of the row `idExpr` of GraphQL type `typeName` (`base64("Type:uuid")`).
 * PostgreSQL's encoder starts a new line once a line holds 76 characters, which 56 bytes of
 * input never fill: up to a 19-letter type name, the id needs no line breaks removed (a
 * quarter of what it costs PostgreSQL to write one).
 */
export function globalIdSql(typeName: string, idExpr: string): string {
  if (!/^[A-Za-z]+$/.test(typeName)) throw new Error(`globalIdSql: ${typeName} is not a type name`);
  const text = `'${typeName}:' || ${idExpr}::text`;
  return typeName.length <= 19 ? `encode(convert_to(${text}, 'UTF8'), 'base64')` : base64Sql(text);
}

/** A string as a SQL literal (the planner's JSON keys are GraphQL names, checked before). */
export function textLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * An integer as SQL text (a page's LIMIT): constant in a statement's text, so that a prepared
 * statement's generic plan knows it (PostgreSQL plans `LIMIT $n` for an unknown row count and
 * then keeps re-planning the statement for every execution).
 */
export function intLiteral(n: number): Prisma.Sql {
  if (!Number.isSafeInteger(n)) throw new Error(`intLiteral: ${n} is not an integer`);
  return Prisma.raw(String(n));
}
