// What a query selects below a field: the names of the fields at a path of its selection set
// (fragments and inline fragments followed; @skip/@include ignored, so a superset).
import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

function fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, out: FieldNode[] = []): FieldNode[] {
  for (const s of set?.selections ?? []) {
    if (s.kind === Kind.FIELD) out.push(s);
    else if (s.kind === Kind.INLINE_FRAGMENT) fieldsOf(s.selectionSet, info, out);
    else fieldsOf(info.fragments[s.name.value]?.selectionSet, info, out);
  }
  return out;
}

/** Schema field names (not aliases) selected at `path` below the resolving field. */
export function selectedFields(info: GraphQLResolveInfo, path: string[]): Set<string> {
  let level: FieldNode[] = [...info.fieldNodes];
  for (const name of path) level = level.flatMap((f) => fieldsOf(f.selectionSet, info)).filter((f) => f.name.value === name);
  return new Set(level.flatMap((f) => fieldsOf(f.selectionSet, info)).map((f) => f.name.value));
}
