// What a schema change does to the clients of the last release: the breaking changes from
// the baseline (schema/baseline/v<N>.graphql) to the current schema, found by GraphQL
// Inspector, except removals of what the baseline had already deprecated: deprecation first,
// removal in a later release.
import { ChangeType, CriticalityLevel, diff, type Change, type Rule } from '@graphql-inspector/core';
import {
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  type GraphQLSchema,
} from 'graphql';

interface Deprecatable {
  deprecationReason?: string | null;
}
const deprecated = (x: Deprecatable | null | undefined) => x?.deprecationReason != null;

/** The baseline's element that a removal change is about, by its path (Type.field, Type.field.arg). */
function removedElement(baseline: GraphQLSchema, change: Change): Deprecatable | null {
  const [typeName, member, arg] = (change.path ?? '').split('.');
  const type = typeName ? baseline.getType(typeName) : undefined;
  if (!type || !member) return null;
  switch (change.type) {
    case ChangeType.FieldRemoved:
      return isObjectType(type) || isInterfaceType(type) ? (type.getFields()[member] ?? null) : null;
    case ChangeType.FieldArgumentRemoved:
      return isObjectType(type) || isInterfaceType(type) ? (type.getFields()[member]?.args.find((a) => a.name === arg) ?? null) : null;
    case ChangeType.InputFieldRemoved:
      return isInputObjectType(type) ? (type.getFields()[member] ?? null) : null;
    case ChangeType.EnumValueRemoved:
      return 'getValue' in type ? (type.getValue(member) ?? null) : null;
    default:
      return null;
  }
}

/**
 * A type has no deprecation of its own: its removal is allowed when the baseline reached it
 * only through deprecated fields, arguments and input fields (at least one), all gone now.
 */
function onlyReachedThroughDeprecated(baseline: GraphQLSchema, typeName: string): boolean {
  let references = 0;
  for (const type of Object.values(baseline.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isObjectType(type) || isInterfaceType(type)) {
      if (type.getInterfaces().some((i) => i.name === typeName)) return false;
      for (const field of Object.values(type.getFields())) {
        if (getNamedType(field.type).name === typeName) {
          if (!deprecated(field)) return false;
          references++;
        }
        for (const a of field.args) {
          if (getNamedType(a.type).name === typeName) {
            if (!deprecated(a)) return false;
            references++;
          }
        }
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (getNamedType(field.type).name === typeName) {
          if (!deprecated(field)) return false;
          references++;
        }
      }
    }
  }
  return references > 0;
}

/** Removing what the baseline deprecated is not breaking: the deprecation was the warning. */
const allowRemovalOfDeprecated: Rule = ({ changes, oldSchema }) =>
  changes.map((change) => {
    if (!oldSchema || change.criticality.level !== CriticalityLevel.Breaking) return change;
    const allowed =
      change.type === ChangeType.TypeRemoved
        ? onlyReachedThroughDeprecated(oldSchema, change.path ?? '')
        : deprecated(removedElement(oldSchema, change));
    return allowed
      ? { ...change, criticality: { ...change.criticality, level: CriticalityLevel.Dangerous, reason: 'Deprecated in the baseline, then removed.' } }
      : change;
  });

/** The changes from `baseline` to `current` that break a client of the baseline. */
export async function breakingChanges(baseline: GraphQLSchema, current: GraphQLSchema): Promise<Change[]> {
  const changes = await diff(baseline, current, [allowRemovalOfDeprecated]);
  return changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
}
