// The README's typed client: the Inbox query of test/operations/inbox.graphql, generated into
// a TypedDocumentNode by `npm run codegen`. The non-null fields are read without `?.` or `!`:
// when the schema makes one of them nullable, or removes it, this file stops typechecking.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboxDocument, type InboxQuery } from './generated/graphql.js';
import { client } from './support/graphql.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
const at = (minute: number) => new Date(Date.UTC(2026, 10, 2, 9, minute));

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Typed client');
  // The workspace key acts as the admin: two of theirs wait for a reply, one does not, and one
  // waiting conversation is someone else's.
  const mine = { status: 'OPEN' as const, assigneeId: ws.admin.id, labels: ['vip'] };
  await createConversationRow(server.db.prisma, ws, { ...mine, contact: { name: 'Early' }, createdAt: at(0), messages: [{ sender: 'CONTACT', content: 'Hello?' }] });
  await createConversationRow(server.db.prisma, ws, { ...mine, contact: { name: 'Late' }, createdAt: at(30), messages: [{ sender: 'CONTACT', content: 'Anyone?' }] });
  await createConversationRow(server.db.prisma, ws, {
    ...mine,
    contact: { name: 'Answered' },
    createdAt: at(10),
    messages: [{ sender: 'CONTACT', content: 'Hi' }, { sender: 'HUMAN', content: 'Hello!', userId: ws.admin.id }],
  });
  await createConversationRow(server.db.prisma, ws, { status: 'OPEN', assigneeId: ws.agent.id, contact: { name: 'Theirs' }, messages: [{ sender: 'CONTACT', content: 'Hm' }] });
});
afterAll(() => server?.close());

describe('a typed client', () => {
  it("runs the README's Inbox query: my open conversations waiting for a reply, longest wait first", async () => {
    const data: InboxQuery = await client(server.url, ws.key).ok(InboxDocument, { after: null });
    const page = data.conversations;
    if (!page) throw new Error('conversations is null only with an error, and ok() fails on errors');
    // Non-null in the schema, so typed without null: a number, a string, a list.
    const total: number = page.totalCount;
    const rows = page.edges.map(({ node }) => ({
      number: node.number,
      status: node.status,
      channel: node.inbox.channel,
      labels: node.labels.map((l) => l.name),
      contact: node.contact?.name ?? null,
      lastSender: node.lastMessage?.senderType ?? null,
    }));
    expect(total).toBe(2);
    expect(rows).toEqual([
      { number: expect.any(Number), status: 'OPEN', channel: 'WHATSAPP', labels: ['vip'], contact: 'Early', lastSender: 'CONTACT' },
      { number: expect.any(Number), status: 'OPEN', channel: 'WHATSAPP', labels: ['vip'], contact: 'Late', lastSender: 'CONTACT' },
    ]);
    expect(page.pageInfo.hasNextPage).toBe(false);
  });
});
