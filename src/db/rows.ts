// Rows as JSON, built by PostgreSQL: for the lists a dashboard reads all day, one hand-written
// statement returns a page of rows with the relations the query asks for, nested, as one JSON
// document (PostgreSQL plans such a statement in a fraction of a millisecond; Prisma's LATERAL
// join statement took it 3.6 ms to plan, and Node's decoding of it more again).
//
// The column lists come from the Prisma data model, so a column added to schema.prisma is
// carried without touching this file (BigInt, Decimal and Bytes columns excepted: rowShape
// refuses them); test/rows.test.ts checks that every field maps to a column of its table. Internal columns Prisma does not know (search_vector) are never read.
//
// Raw SQL is not tenant-scoped by the client: callers put the workspace id in every WHERE.
import { Prisma } from '../generated/prisma/client.js';
import { getDatamodel } from '../generated/pothos-prisma-types.js';

const models = getDatamodel().datamodel.models;

/** The models a JSON row can be built for. */
export type RowModel = 'Conversation' | 'Contact' | 'User' | 'Inbox' | 'Label' | 'Message' | 'Handoff';

/** snake_case, as schema.prisma maps every field and model (`workspaceId` -> `workspace_id`). */
export const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c, i: number) => (i ? '_' : '') + c.toLowerCase());

interface RowShape {
  table: string;
  /** Scalar and enum fields, by Prisma name. */
  fields: string[];
  /** The DateTime fields: JSON carries them as text, the API's rows as Date. */
  dates: string[];
}

const shapes = new Map<RowModel, RowShape>();

export function rowShape(model: RowModel): RowShape {
  let shape = shapes.get(model);
  if (!shape) {
    const scalars = models[model]!.fields.filter((f) => f.kind === 'scalar' || f.kind === 'enum');
    // JSON would carry these as lossy numbers or strings where Prisma gives bigint, Decimal or
    // bytes: teach reviveRow about them before a listed model gets one.
    const unsupported = scalars.find((f) => ['BigInt', 'Decimal', 'Bytes'].includes(f.type));
    if (unsupported) throw new Error(`rows.ts: ${model}.${unsupported.name} is ${unsupported.type}, which JSON rows do not carry yet`);
    shape = {
      table: snakeCase(model),
      fields: scalars.map((f) => f.name),
      dates: scalars.filter((f) => f.type === 'DateTime').map((f) => f.name),
    };
    shapes.set(model, shape);
  }
  return shape;
}

/** `"table" alias`, for a FROM or JOIN. */
export function tableAs(model: RowModel, alias: string): Prisma.Sql {
  return Prisma.raw(`"${rowShape(model).table}" ${alias}`);
}

/**
 * `json_build_object(...)` of the scalar fields of the row `alias` (every one, or those in
 * `only`), keyed by Prisma field name, plus `extra` (name -> SQL expression) for relations.
 */
export function jsonRow(model: RowModel, alias: string, extra: Record<string, Prisma.Sql> = {}, only?: ReadonlySet<string>): Prisma.Sql {
  const fields = only ? rowShape(model).fields.filter((f) => only.has(f)) : rowShape(model).fields;
  const pairs = fields.map((f) => Prisma.raw(`'${f}', ${alias}."${snakeCase(f)}"`));
  for (const [name, sql] of Object.entries(extra)) pairs.push(Prisma.sql`${Prisma.raw(`'${name}'`)}, ${sql}`);
  // json_build_object takes at most 100 arguments: build it in halves and merge when longer.
  if (pairs.length <= 50) return Prisma.sql`json_build_object(${Prisma.join(pairs)})`;
  const half = Math.ceil(pairs.length / 2);
  return Prisma.sql`(jsonb_build_object(${Prisma.join(pairs.slice(0, half))}) || jsonb_build_object(${Prisma.join(pairs.slice(half))}))`;
}

/** A row parsed from JSON made ready for the API: its DateTime fields as Date. In place. */
export function reviveRow<T>(model: RowModel, row: Record<string, unknown>): T {
  for (const f of rowShape(model).dates) {
    const v = row[f];
    if (typeof v === 'string') row[f] = new Date(v);
  }
  return row as T;
}
