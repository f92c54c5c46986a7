// The cost of a query, computed before it runs, from the operation alone.
//
// The model (close to GitHub's and Shopify's): a scalar or enum field costs 0; an object
// field costs 1 plus what it selects; a list or connection field costs 1 plus its page size
// times what each item selects, the page size being `first` or `last` (or, when absent, the
// default page of 20; plain lists count as 20); a mutation field costs 10 plus its
// selection; a subscription is priced like a query. Nested connections multiply, so
// `first: 100` five levels deep is priced at what it could really fetch.
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isCompositeType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

export const DEFAULT_PAGE_SIZE = 20;
const MUTATION_COST = 10;

function argNumber(field: FieldNode, name: string, variables: Record<string, unknown>): number | undefined {
  const arg = field.arguments?.find((a) => a.name.value === name);
  if (!arg) return undefined;
  const value: ValueNode = arg.value;
  if (value.kind === Kind.INT) return Number(value.value);
  if (value.kind === Kind.VARIABLE) {
    const v = variables[value.name.value];
    return typeof v === 'number' ? v : undefined;
  }
  return undefined;
}

/** The longest list given to the field as an argument (e.g. `nodes(ids:)`), literal or variable. */
function argListLength(field: FieldNode, variables: Record<string, unknown>): number | undefined {
  let longest: number | undefined;
  for (const arg of field.arguments ?? []) {
    const value: ValueNode = arg.value;
    const length =
      value.kind === Kind.LIST ? value.values.length
      : value.kind === Kind.VARIABLE && Array.isArray(variables[value.name.value]) ? (variables[value.name.value] as unknown[]).length
      : undefined;
    if (length !== undefined) longest = Math.max(longest ?? 0, length);
  }
  return longest;
}

function isConnection(type: GraphQLType): boolean {
  const named = getNamedType(type);
  return isObjectType(named) && named.name.endsWith('Connection') && 'edges' in named.getFields();
}

export function computeCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string | null,
): number {
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((f) => [f.name.value, f]),
  );
  const root =
    operation.operation === 'mutation'
      ? schema.getMutationType()
      : operation.operation === 'subscription'
        ? schema.getSubscriptionType()
        : schema.getQueryType();
  if (!root) return 0;

  const seen = new Set<string>();
  const applies = (type: GraphQLObjectType, condition: string | undefined): boolean => {
    if (!condition || condition === type.name) return true;
    const target = schema.getType(condition);
    return !!target && isAbstractType(target) && schema.isSubType(target, type);
  };

  /** The cost of a selection on one concrete type. */
  const selectionCost = (parent: GraphQLObjectType, set: SelectionSetNode, depth: number): number => {
    if (depth > 64) return Number.POSITIVE_INFINITY; // depth limits refuse it anyway
    let total = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = parent.getFields()[selection.name.value];
        if (field) total += fieldCost(field, selection, depth);
        else if (selection.name.value.startsWith('__') && selection.selectionSet) total += 1; // introspection
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (applies(parent, selection.typeCondition?.name.value)) total += selectionCost(parent, selection.selectionSet, depth);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue; // cycles are invalid: validation refuses them
        if (!applies(parent, fragment.typeCondition.name.value)) continue;
        seen.add(fragment.name.value);
        total += selectionCost(parent, fragment.selectionSet, depth);
        seen.delete(fragment.name.value);
      }
    }
    return total;
  };

  const fieldCost = (field: GraphQLField<unknown, unknown>, node: FieldNode, depth: number): number => {
    const named = getNamedType(field.type);
    if (!isCompositeType(named) || !node.selectionSet) return 0;
    // An abstract type costs what its dearest possible type would.
    const candidates = isObjectType(named) ? [named] : schema.getPossibleTypes(named);
    const children = Math.max(0, ...candidates.map((t) => selectionCost(t, node.selectionSet!, depth + 1)));
    // The edges of a connection are priced through the connection's page size.
    if (named.name.endsWith('Edge')) return children;
    const many = isListType(getNullableType(field.type)) || isConnection(field.type);
    // A page's size; for a plain list (not a connection) asked for by a list of ids, as many
    // as the ids. A connection's list arguments are filters: its page is first/last or 20.
    const listed = isConnection(field.type) ? undefined : argListLength(node, variables);
    const size = many ? (argNumber(node, 'first', variables) ?? argNumber(node, 'last', variables) ?? listed ?? DEFAULT_PAGE_SIZE) : 1;
    return 1 + Math.max(1, size) * children;
  };

  const base = operation.operation === 'mutation' ? MUTATION_COST : 0;
  let total = 0;
  for (const selection of operation.selectionSet.selections) {
    const single: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: [selection] };
    const cost = selectionCost(root, single, 0);
    total += cost + (selection.kind === Kind.FIELD && !selection.name.value.startsWith('__') ? base : 0);
  }
  return total;
}
