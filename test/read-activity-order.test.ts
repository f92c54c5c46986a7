// Ordering by last message (the inbox's default): a conversation with no message yet takes
// its place by its creation time, not before every other one; the sort key follows sends,
// notes and deletions; pages walk across such a conversation in both directions, both ways;
// and the page statement is served by the (workspace_id[, status], last_activity_at DESC, id)
// indexes, on PGlite and PostgreSQL alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../src/generated/prisma/client.js';
import type { ScopedDb } from '../src/db/tenant.js';
import {
  conversationPageRequest,
  conversationSelection,
  findConversationPage,
  type ConversationOrder,
  type Viewer,
} from '../src/services/conversation-query.js';
import { conversationJson } from '../src/services/conversation-rows.js';
import { client, globalId, localId } from './support/graphql.js';
import { T } from './support/read-world.js';
import { createConversationRow, seedWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
});
afterAll(() => server?.close());

const LIST = `query($orderBy: ConversationOrder, $first: Int, $after: String, $last: Int, $before: String) {
  conversations(orderBy: $orderBy, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id lastMessageAt } }
  }
}`;

function lister(key: string) {
  const api = client(server.url, key);
  return async (vars: Record<string, unknown> = {}) => {
    const data = await api.ok(LIST, { first: 100, ...vars });
    return {
      ids: data.conversations.edges.map((e: any) => e.node.id as string),
      lastMessageAt: data.conversations.edges.map((e: any) => e.node.lastMessageAt as string | null),
      pageInfo: data.conversations.pageInfo as { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string; endCursor: string },
    };
  };
}

describe('LAST_MESSAGE_AT: a conversation without messages', () => {
  it('takes its place by creation time, and moves as messages come and go', async () => {
    const ws = await seedWorkspace(server.db.prisma, 'Activity');
    const api = client(server.url, ws.key);
    const list = lister(ws.key);
    let phones = 0;
    const create = async (message: boolean) => {
      const input: Record<string, unknown> = { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: `+1415888${1000 + ++phones}` } };
      if (message) input.message = { senderType: 'CONTACT', content: 'Hi' };
      const data = await api.ok(`mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }`, { input });
      return data.createConversation.conversation.id as string;
    };
    const send = async (id: string, input: Record<string, unknown>) => {
      const data = await api.ok(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { ... on SendMessagePayload { sentMessage { id } } } }`, {
        input: { conversationId: id, ...input },
      });
      return data.sendMessage.sentMessage.id as string;
    };

    const older = await create(true);
    const empty = await create(false);
    const newer = await create(true);
    const first = await list();
    expect(first.ids).toEqual([newer, empty, older]);
    // lastMessageAt itself still says there is none.
    expect(first.lastMessageAt[1]).toBeNull();
    expect((await list({ orderBy: { field: 'LAST_MESSAGE_AT', direction: 'ASC' } })).ids).toEqual([older, empty, newer]);

    // An internal note is no message in this order; a public one moves the conversation up.
    await send(older, { senderType: 'HUMAN', content: 'note', private: true });
    expect((await list()).ids).toEqual([newer, empty, older]);
    const reply = await send(empty, { senderType: 'AI_AGENT', content: 'Hello?' });
    expect((await list()).ids).toEqual([empty, newer, older]);
    // Deleting its only message puts it back where its creation time puts it.
    await api.ok(`mutation($input: DeleteMessageInput!) { deleteMessage(input: $input) { __typename } }`, { input: { messageId: reply } });
    expect((await list()).ids).toEqual([newer, empty, older]);
  });

  it('is paged across exactly once, forward and backward, both ways', async () => {
    const ws = await seedWorkspace(server.db.prisma, 'Paging');
    const list = lister(ws.key);
    const row = (spec: Parameters<typeof createConversationRow>[2]) => createConversationRow(server.db.prisma, ws, spec).then((r) => globalId('Conversation', r.id));
    const a = await row({ createdAt: T(1), messages: [{ sender: 'CONTACT', content: 'a', at: T(2) }] });
    const b = await row({ createdAt: T(3), messages: [{ sender: 'CONTACT', content: 'b', at: T(4) }] });
    const empty = await row({ createdAt: T(5) });
    const c = await row({ createdAt: T(2), messages: [{ sender: 'CONTACT', content: 'c', at: T(6) }] });
    const d = await row({ createdAt: T(4), messages: [{ sender: 'CONTACT', content: 'd', at: T(7) }] });
    // A tie between a message time and a creation time: broken by id, like any other.
    const tie = await row({ createdAt: T(0), messages: [{ sender: 'CONTACT', content: 'tie', at: T(5) }] });
    const [first, second] = [empty, tie].sort((x, y) => localId(x).localeCompare(localId(y)));
    const desc = [d, c, first!, second!, b, a];

    for (const [direction, expected] of [['DESC', desc], ['ASC', [...desc].reverse()]] as const) {
      const orderBy = { field: 'LAST_MESSAGE_AT', direction };
      expect((await list({ orderBy })).ids, direction).toEqual(expected);
      const forward: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: Awaited<ReturnType<typeof list>> = await list({ orderBy, first: 1, after });
        forward.push(...page.ids);
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(forward, direction).toEqual(expected);
      const backward: string[] = [];
      let before: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page: Awaited<ReturnType<typeof list>> = await list({ orderBy, first: null, last: 2, before });
        backward.unshift(...page.ids);
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
      }
      expect(backward, direction).toEqual(expected);
    }
  });
});

describe('LAST_MESSAGE_AT: the page statement', () => {
  /** The statement findConversationPage sends, with its parameters, as EXPLAIN shows it planned. */
  async function planOf(viewer: Viewer, statuses: string[] | null, args: { first: number; after?: string }) {
    const order: ConversationOrder = { field: 'LAST_MESSAGE_AT', direction: 'DESC' };
    const selection = conversationSelection(viewer, statuses ? { statuses: statuses as never } : {});
    let statement: Prisma.Sql | null = null;
    const capture = {
      $queryRaw: (strings: TemplateStringsArray, ...values: unknown[]) => {
        statement = Prisma.sql(strings, ...values);
        return Promise.resolve([]);
      },
    } as unknown as ScopedDb;
    const plan = { columns: new Set(['id', 'number', 'status', 'lastMessageAt']), relations: new Map() };
    await findConversationPage(capture, viewer, selection, order, conversationPageRequest(viewer, order, args), conversationJson(viewer.workspaceId, plan));
    const sql = statement!.sql.replace(/\?/g, (() => { let i = 0; return () => `$${++i}`; })());
    const rows = await server.db.prisma.$queryRawUnsafe<Record<string, string>[]>(`EXPLAIN ${sql}`, ...statement!.values);
    return rows.map((r) => Object.values(r)[0]).join('\n');
  }

  it('is served by the last_activity_at indexes, with and without a status filter, from a cursor too', async () => {
    const ws = await seedWorkspace(server.db.prisma, 'Volume');
    // Enough conversations for the planner to care: 3000, a tenth without messages.
    const contact = await server.db.prisma.contact.create({ data: { workspaceId: ws.workspaceId, name: 'Many' } });
    await server.db.prisma.$executeRaw`
      INSERT INTO "conversation" ("id", "workspace_id", "number", "inbox_id", "contact_id", "status", "created_at", "last_message_at", "last_activity_at", "updated_at")
      SELECT gen_random_uuid(), ${ws.workspaceId}::uuid, g, ${ws.inboxes.email.id}::uuid, ${contact.id}::uuid,
        (ARRAY['OPEN', 'PENDING', 'RESOLVED', 'CLOSED'])[1 + g % 4]::"ConversationStatus",
        t.created, t.last, coalesce(t.last, t.created), now()
      FROM generate_series(1, 3000) g
      CROSS JOIN LATERAL (SELECT now() - g * interval '1 hour' AS created,
        CASE WHEN g % 10 = 0 THEN NULL ELSE now() - g * interval '1 hour' + interval '30 minutes' END AS last) t`;
    await server.db.prisma.$executeRawUnsafe('ANALYZE "conversation"');
    const viewer: Viewer = { workspaceId: ws.workspaceId, userId: null, kind: 'TEAM' };
    const list = lister(ws.key);
    const cursor = (await list({ first: 50 })).pageInfo.endCursor;

    for (const [statuses, index] of [
      [null, 'conversation_workspace_id_last_activity_at_id_idx'],
      [['OPEN'], 'conversation_workspace_id_status_last_activity_at_id_idx'],
    ] as const) {
      for (const args of [{ first: 50 }, { first: 50, after: cursor }]) {
        const plan = await planOf(viewer, statuses as string[] | null, args);
        expect(plan, plan).toContain(`Index Scan using ${index}`);
        // The order comes from the index: nothing sorts the conversations by the key.
        expect(plan, plan).not.toMatch(/Sort Key: c\.last_activity_at/);
      }
    }
  });
});
