// The list statement loads only the columns a query's fields read (src/schema/row-columns.ts).
// That is only safe if every field of the listed types is accounted for: a column of the same
// name, a field computed from named columns, or a field that loads by itself. A field added to
// one of these types without that fails here, instead of answering null from a missing column.
import { getNamedType, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { rowShape, type RowModel } from '../src/db/rows.js';
import { schema } from '../src/schema/index.js';
import { columnsFor, FIELD_COLUMNS, SELF_LOADING } from '../src/schema/row-columns.js';

const MODELS: RowModel[] = ['Conversation', 'Contact', 'User', 'Inbox', 'Label', 'Message', 'Handoff'];

describe('columns of the list statement', () => {
  it('account for every field of every listed type', () => {
    for (const model of MODELS) {
      const type = schema.getType(model);
      expect(type && isObjectType(type), model).toBe(true);
      if (!type || !isObjectType(type)) continue;
      const scalars = new Set(rowShape(model).fields);
      for (const [name, field] of Object.entries(type.getFields())) {
        const computed = FIELD_COLUMNS[model]?.[name];
        const accounted = scalars.has(name) || !!computed || SELF_LOADING[model].includes(name);
        expect(accounted, `${model}.${name} (${getNamedType(field.type).name}) reads no known column`).toBe(true);
        for (const c of computed ?? []) expect(scalars, `${model}.${name} reads ${c}`).toContain(c);
      }
    }
  });

  it('load the id, the foreign keys and what the selected fields read, and nothing else', () => {
    expect([...columnsFor('Message', ['content', 'card', 'senderUser', 'nope'])].sort()).toEqual(
      ['card', 'content', 'conversationId', 'deletedAt', 'id', 'inboxId', 'private', 'senderContactId', 'senderUserId'].sort(),
    );
    expect([...columnsFor('Contact', ['name', 'identities'])].sort()).toEqual(['id', 'name']);
  });
});
