// Which columns a GraphQL selection needs, for rows built by the list statement
// (services/conversation-rows.ts): a dashboard's page loads the columns its fields show,
// not every column of every row (a 50-row page with full rows was 110 KB of JSON to parse).
//
// A field of one of these types is either a column of the same name, or listed below with
// the columns it reads, or listed as loading by itself (a relation or a connection, which
// starts from the row's id). test/row-columns.test.ts fails for a field that is none of these,
// so a field added later cannot read a column the statement left out.
import type { RowModel } from '../db/rows.js';
import { rowShape } from '../db/rows.js';

/** Columns every row carries: its id, and what its relations and visibility rules read. */
const ALWAYS: Record<RowModel, string[]> = {
  Conversation: ['id', 'contactId', 'inboxId', 'assigneeId', 'resolvedById', 'lastMessageId'],
  Contact: ['id'],
  User: ['id'],
  Inbox: ['id'],
  Label: ['id'],
  Message: ['id', 'conversationId', 'inboxId', 'senderUserId', 'senderContactId', 'private', 'deletedAt'],
  Handoff: ['id', 'conversationId', 'startedByUserId', 'endedByUserId', 'assigneeId'],
};

/** Fields computed from columns of other names. */
export const FIELD_COLUMNS: Partial<Record<RowModel, Record<string, string[]>>> = {
  Conversation: { messageCount: ['messageCount', 'publicMessageCount'] },
  Message: { attachments: ['attachments', 'deletedAt'], card: ['card', 'deletedAt'] },
  Handoff: { active: ['endedAt'] },
};

/** Fields that load what they show themselves, from the row's id or foreign keys (in ALWAYS). */
export const SELF_LOADING: Record<RowModel, string[]> = {
  Conversation: ['contact', 'inbox', 'assignee', 'resolvedBy', 'lastMessage', 'labels', 'handoffs', 'messages', 'timeline', 'surveys'],
  Contact: ['identities', 'conversations'],
  User: ['openConversationCount'],
  Inbox: [],
  Label: [],
  Message: ['conversation', 'senderUser', 'senderContact'],
  Handoff: ['conversation', 'startedBy', 'endedBy', 'assignee'],
};

/** The columns (Prisma field names) that the selected GraphQL fields of `model` read. */
export function columnsFor(model: RowModel, fields: Iterable<string>): Set<string> {
  const scalars = new Set(rowShape(model).fields);
  const out = new Set(ALWAYS[model]);
  const computed = FIELD_COLUMNS[model] ?? {};
  for (const f of fields) {
    if (computed[f]) for (const c of computed[f]) out.add(c);
    else if (scalars.has(f)) out.add(f);
  }
  return out;
}
