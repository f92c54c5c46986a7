// Builds hostile operations from the schema itself, so that every query field, mutation
// and subscription is attacked, including the ones added after this file was written.
import {
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';

/** Global ids of the victim's objects, by GraphQL type name. */
export type IdsByType = Record<string, string[]>;

/**
 * Values for string arguments and input fields by name, aimed at the victim where a string is
 * a reference (a survey's token); other strings get a harmless probe.
 */
export const victimStrings: Record<string, string> = {};

/** The object type an id-valued argument or input field refers to, from its name. */
function typeForIdName(name: string, ids: IdsByType): string | null {
  const base = name.replace(/Ids?$/, '');
  if (!base || base === name) return null;
  const candidate = base[0]!.toUpperCase() + base.slice(1);
  const aliases: Record<string, string> = {
    Assignee: 'User',
    SenderUser: 'User',
    Duplicate: 'Contact',
    Survivor: 'Contact',
    Source: 'Contact',
    Target: 'Contact',
    Into: 'Contact',
    Endpoint: 'WebhookEndpoint',
    Delivery: 'WebhookDelivery',
  };
  const type = ids[candidate] ? candidate : aliases[candidate];
  return type && ids[type] ? type : null;
}

export interface Variant {
  /** The argument values of one attempt. */
  args: Record<string, unknown>;
  /** What the attempt aims at, for failure messages. */
  target: string;
}

/** Values for one argument or input field, pointed at the victim's objects. */
function valueFor(type: GraphQLInputType, name: string, ids: IdsByType, pick: number, depth = 0): unknown {
  const inner = getNullableType(type) as GraphQLInputType;
  if (isListType(inner)) {
    const item = valueFor(inner.ofType as GraphQLInputType, name, ids, pick, depth);
    return item === undefined ? [] : [item];
  }
  const named = getNamedType(inner) as GraphQLNamedType;
  if (isInputObjectType(named)) {
    if (depth > 3) return undefined;
    const out: Record<string, unknown> = {};
    for (const field of Object.values(named.getFields())) {
      const isId = getNamedType(field.type).name === 'ID';
      if (!isNonNullType(field.type) && !isId && !/content|name|email|phone|handle/.test(field.name)) continue;
      const v = valueFor(field.type, field.name, ids, pick, depth + 1);
      if (v !== undefined) out[field.name] = v;
    }
    return out;
  }
  if (isEnumType(named)) return named.getValues()[0]!.value;
  if (isScalarType(named)) {
    switch (named.name) {
      case 'ID': {
        const t = typeForIdName(name, ids);
        const all = t ? ids[t]! : Object.values(ids).flat();
        return all[pick % all.length];
      }
      case 'Int':
        return /first|last/.test(name) ? 5 : 1;
      case 'Float':
        return 1;
      case 'Boolean':
        return true;
      case 'DateTime':
        return /from|since|after/i.test(name) ? '2000-01-01T00:00:00Z' : '2100-01-01T00:00:00Z';
      case 'JSONObject':
        return { probe: 'x' };
      default:
        if (victimStrings[name] !== undefined) return victimStrings[name];
        if (/email/i.test(name)) return 'attacker@example.test';
        if (/phone/i.test(name)) return '+15550100999';
        if (/url/i.test(name)) return 'https://example.test/x';
        if (/search/i.test(name)) return 'VICTIM';
        return 'attacker probe';
    }
  }
  return undefined;
}

/** How many attempts an operation gets: one per victim id it could aim at (for node(id) and the like). */
function attempts(field: GraphQLField<unknown, unknown>, ids: IdsByType): number {
  const idArgs = field.args.filter((a) => getNamedType(a.type).name === 'ID' && !typeForIdName(a.name, ids));
  return idArgs.length ? Object.values(ids).flat().length : 1;
}

export function variants(field: GraphQLField<unknown, unknown>, ids: IdsByType): Variant[] {
  // First the required arguments alone (an unfiltered list, say), then every argument set.
  const minimal: Record<string, unknown> = {};
  for (const arg of field.args) {
    if (!isNonNullType(arg.type)) continue;
    const v = valueFor(arg.type, arg.name, ids, 0);
    if (v !== undefined) minimal[arg.name] = v;
  }
  const out: Variant[] = [{ args: minimal, target: `${field.name}(required arguments)` }];
  for (let i = 0; i < attempts(field, ids); i++) {
    const args: Record<string, unknown> = {};
    for (const arg of field.args as GraphQLArgument[]) {
      const v = valueFor(arg.type, arg.name, ids, i);
      if (v !== undefined) args[arg.name] = v;
    }
    out.push({ args, target: `${field.name}#${i}` });
  }
  return out;
}

/** A selection set that asks for everything up to `depth` levels: scalars, objects, and each type of a union. */
export function selection(
  type: GraphQLOutputType,
  schema: GraphQLSchema,
  depth: number,
  alias = '',
  aliased: ReadonlySet<string> = new Set(),
): string {
  const named = getNamedType(type);
  if (isScalarType(named) || isEnumType(named)) return '';
  if (depth <= 0) return '{ __typename }';
  if (isUnionType(named) || isInterfaceType(named)) {
    const possible = schema.getPossibleTypes(named) as GraphQLObjectType[];
    // Same-named fields of different types would conflict: those get an alias per type.
    const typesByField = new Map<string, Set<string>>();
    for (const t of possible) {
      for (const f of Object.values(t.getFields())) typesByField.set(f.name, (typesByField.get(f.name) ?? new Set()).add(f.type.toString()));
    }
    const conflicting = new Set([...typesByField].filter(([, types]) => types.size > 1).map(([name]) => name));
    const parts = possible.map((t) => `... on ${t.name} ${selection(t, schema, depth - 1, `${t.name}_`, conflicting)}`);
    return `{ __typename ${parts.join(' ')} }`;
  }
  if (!isObjectType(named)) return '';
  const fields = Object.values(named.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined));
  const parts = fields.map((f) => {
    const sub = selection(f.type, schema, depth - 1);
    const args = f.args.some((a) => a.name === 'first') ? '(first: 3)' : '';
    const name = alias && aliased.has(f.name) ? `${alias}${f.name}: ${f.name}` : f.name;
    return sub ? `${name}${args} ${sub}` : name;
  });
  return `{ __typename ${parts.join(' ')} }`;
}

/** The operation text for one root field, with its arguments as variables. */
export function operationFor(kind: 'query' | 'mutation' | 'subscription', field: GraphQLField<unknown, unknown>, schema: GraphQLSchema, depth = 3): string {
  const defs = field.args.map((a) => `$${a.name}: ${a.type.toString()}`);
  const uses = field.args.map((a) => `${a.name}: $${a.name}`);
  const vars = defs.length ? `(${defs.join(', ')})` : '';
  const args = uses.length ? `(${uses.join(', ')})` : '';
  return `${kind} Attack${vars} { ${field.name}${args} ${selection(field.type, schema, depth)} }`;
}
