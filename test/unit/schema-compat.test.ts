// The rule the schema test holds the schema to: what breaks a client of the baseline, and the
// one exception, removing what the baseline deprecated.
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { breakingChanges } from '../support/schema-compat.js';

const BASE = `
  type Query {
    conversation(id: ID!, legacy: Boolean @deprecated(reason: "unused")): Conversation
    oldList: [Legacy!] @deprecated(reason: "use conversation")
    stats: Int
  }
  type Conversation { id: ID! status: Status! subject: String legacyNumber: Int @deprecated(reason: "use id") }
  type Legacy { id: ID! }
  enum Status { OPEN CLOSED ARCHIVED SNOOZED @deprecated(reason: "gone") }
  input Filter { status: Status legacy: Boolean @deprecated(reason: "ignored") }
  type Mutation { close(filter: Filter): Conversation }
`;

/** The breaking changes of `edit` applied to the baseline, as "path: message". */
async function breaking(edit: (sdl: string) => string): Promise<string[]> {
  const changes = await breakingChanges(buildSchema(BASE), buildSchema(edit(BASE)));
  return changes.map((c) => c.path ?? c.message);
}

describe('breakingChanges', () => {
  it('finds nothing in the same schema, nor in additions', async () => {
    expect(await breaking((s) => s)).toEqual([]);
    expect(await breaking((s) => s.replace('stats: Int', 'stats: Int\n newField: String'))).toEqual([]);
    // An output field that becomes non-null only promises more.
    expect(await breaking((s) => s.replace('subject: String', 'subject: String!'))).toEqual([]);
  });

  it('refuses removing a field, an enum value or an input field that was not deprecated', async () => {
    expect(await breaking((s) => s.replace('subject: String', ''))).toEqual(['Conversation.subject']);
    expect(await breaking((s) => s.replace('ARCHIVED', ''))).toEqual(['Status.ARCHIVED']);
    expect(await breaking((s) => s.replace('input Filter { status: Status', 'input Filter {'))).toEqual(['Filter.status']);
  });

  it('refuses changing a type incompatibly: an output field made nullable, a new required argument', async () => {
    expect(await breaking((s) => s.replace('status: Status!', 'status: Status'))).toEqual(['Conversation.status']);
    expect(await breaking((s) => s.replace('stats: Int', 'stats(since: String!): Int'))).toEqual(['Query.stats.since']);
  });

  it('allows removing what the baseline deprecated: a field, an argument, an enum value, an input field', async () => {
    expect(await breaking((s) => s.replace('legacyNumber: Int @deprecated(reason: "use id")', ''))).toEqual([]);
    expect(await breaking((s) => s.replace(', legacy: Boolean @deprecated(reason: "unused")', ''))).toEqual([]);
    expect(await breaking((s) => s.replace(' SNOOZED @deprecated(reason: "gone")', ''))).toEqual([]);
    expect(await breaking((s) => s.replace(' legacy: Boolean @deprecated(reason: "ignored")', ''))).toEqual([]);
  });

  it('allows removing a type only reached through deprecated fields, once they are gone', async () => {
    const withoutLegacy = (s: string) => s.replace('oldList: [Legacy!] @deprecated(reason: "use conversation")', '').replace('type Legacy { id: ID! }', '');
    expect(await breaking(withoutLegacy)).toEqual([]);
    // Deprecating a field in the new schema is not enough: the baseline must already say so.
    expect(await breaking((s) => s.replace('stats: Int', ''))).toEqual(['Query.stats']);
  });
});
