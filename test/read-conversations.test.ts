// conversations(filter, orderBy, first/after, last/before, offset): every filter, every
// ordering both ways, keyset pages that hold still while rows are inserted, offset pages,
// totalCount only when asked for, and search over each searchable place.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationSelection } from '../src/services/conversation-query.js';
import { ConversationPageDocument, type ConversationFilter, type ConversationOrder, type ConversationPageQuery, type ConversationPageQueryVariables } from './generated/graphql.js';
import { client, globalId, localId } from './support/graphql.js';
import { buildReadWorld, T, type Name, type ReadWorld } from './support/read-world.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let world: ReadWorld;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  // No snooze wake (a background statement) lands in the statement counts below.
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS } });
  ws = await seedWorkspace(server.db.prisma, 'Reader');
  other = await seedWorkspace(server.db.prisma, 'Other');
  world = await buildReadWorld(server.db.prisma, ws);
  // Another workspace with the same words: none of it may ever show up.
  await createConversationRow(server.db.prisma, other, {
    subject: 'Refund request', labels: ['vip'], contact: { name: 'Zoë Quartermaine' },
    messages: [{ sender: 'CONTACT', content: 'I want my money back', at: T(20) }],
  });
  api = client(server.url, ws.key);
});
afterAll(() => server?.close());

interface Page {
  names: string[];
  pageInfo: NonNullable<ConversationPageQuery['conversations']>['pageInfo'];
  cursors: string[];
}

// The typed document of test/operations/conversation-page.graphql: its variables and result
// are checked against the schema when the tests typecheck.
async function list(vars: ConversationPageQueryVariables = {}, key = ws.key): Promise<Page> {
  const data = await client(server.url, key).ok(ConversationPageDocument, { first: 100, ...vars });
  const page = data.conversations!;
  return { names: world.names(page.edges.map((e) => localId(e.node.id))), pageInfo: page.pageInfo, cursors: page.edges.map((e) => e.cursor) };
}
const names = async (filter: ConversationFilter, extra: ConversationPageQueryVariables = {}) => (await list({ filter, ...extra })).names;

// Every status but ARCHIVED, latest message first; c8 has none and takes its place by its
// creation time (T(8), between c6's last message and c5's).
const DEFAULT: Name[] = ['c10', 'c9', 'c6', 'c8', 'c5', 'c4', 'c3', 'c2', 'c1'];

describe('conversations: filters', () => {
  it('lists every status but ARCHIVED by default, latest message first', async () => {
    expect((await list()).names).toEqual(DEFAULT);
  });

  it('filters by status, and allStatuses includes ARCHIVED', async () => {
    expect(await names({ status: ['OPEN'] })).toEqual(['c10', 'c9', 'c8', 'c2', 'c1']);
    expect(await names({ status: ['ARCHIVED', 'PENDING'] })).toEqual(['c7', 'c3']);
    expect(await names({ allStatuses: true })).toEqual(['c10', 'c9', 'c7', 'c6', 'c8', 'c5', 'c4', 'c3', 'c2', 'c1']);
  });

  it('filters by channel and by inbox', async () => {
    expect(await names({ channels: ['EMAIL'] })).toEqual(['c10', 'c5', 'c2']);
    expect(await names({ channels: ['EMAIL', 'WEB_CHAT'] })).toEqual(['c10', 'c6', 'c8', 'c5', 'c3', 'c2']);
    expect(await names({ inboxes: [globalId('Inbox', ws.inboxes.web.id)] })).toEqual(['c6', 'c8', 'c3']);
  });

  it('filters by assignee: users, unassigned, me', async () => {
    expect(await names({ assignee: { users: [globalId('User', ws.agent.id)] } })).toEqual(['c8', 'c4', 'c3']);
    expect(await names({ assignee: { unassigned: true } })).toEqual(['c10', 'c9', 'c6', 'c2']);
    expect(await names({ assignee: { unassigned: false } })).toEqual(['c8', 'c5', 'c4', 'c3', 'c1']);
    // The workspace's key acts as the admin.
    expect(await names({ assignee: { me: true } })).toEqual(['c5', 'c1']);
    const agentKey = await ws.makeKey({ userId: ws.agent.id });
    expect((await list({ filter: { assignee: { me: true } } }, agentKey.secret)).names).toEqual(['c8', 'c4', 'c3']);
  });

  it('filters by labels: any of, all of, none of', async () => {
    const id = (n: keyof ReadWorld['labels']) => globalId('Label', world.labels[n]);
    expect(await names({ labels: { anyOf: [id('billing')] } })).toEqual(['c2', 'c1']);
    expect(await names({ labels: { anyOf: [id('billing'), id('bug')] } })).toEqual(['c8', 'c5', 'c2', 'c1']);
    expect(await names({ labels: { allOf: [id('billing'), id('vip')] } })).toEqual(['c2']);
    expect(await names({ labels: { allOf: [id('bug'), id('vip')] } })).toEqual(['c8']);
    expect(await names({ labels: { noneOf: [id('vip'), id('billing'), id('bug')] } })).toEqual(['c10', 'c9', 'c6', 'c4']);
    expect(await names({ labels: { anyOf: [id('vip')], noneOf: [id('bug')] } })).toEqual(['c3', 'c2']);
  });

  it('filters by priority, contact and controller', async () => {
    expect(await names({ priorities: ['HIGH', 'URGENT'] })).toEqual(['c8', 'c2', 'c1']);
    expect(await names({ contacts: [globalId('Contact', world.rows.c9.contactId)] })).toEqual(['c9']);
    expect(await names({ controller: 'HUMAN' })).toEqual(['c8']);
    expect(await names({ controller: 'AI_AGENT' })).toEqual(DEFAULT.filter((n) => n !== 'c8'));
  });

  it('filters by creation and last-message time ranges (from inclusive, to exclusive)', async () => {
    expect(await names({ createdAt: { from: T(2).toISOString(), to: T(5).toISOString() } })).toEqual(['c4', 'c3', 'c2']);
    expect(await names({ lastMessageAt: { from: T(9).toISOString() } })).toEqual(['c10', 'c9', 'c6']);
    expect(await names({ lastMessageAt: { to: T(3).toISOString() } })).toEqual(['c1']);
  });

  it('filters unread only and waiting for a reply', async () => {
    expect(await names({ unreadOnly: true })).toEqual(['c10', 'c9', 'c4', 'c2']);
    expect(await names({ waitingForReply: true })).toEqual(['c10', 'c9', 'c4', 'c2']);
    expect(await names({ waitingForReply: false })).toEqual(['c6', 'c8', 'c5', 'c3', 'c1']);
  });

  it('combines filters', async () => {
    expect(
      await names({ status: ['OPEN'], labels: { anyOf: [globalId('Label', world.labels.vip)] }, assignee: { unassigned: true } }),
    ).toEqual(['c2']);
    expect(await names({ channels: ['WHATSAPP'], waitingForReply: true, createdAt: { from: T(4).toISOString() } })).toEqual(['c9', 'c4']);
  });

  it("matches nothing for another workspace's ids, rather than leaking or failing", async () => {
    expect(await names({ inboxes: [globalId('Inbox', other.inboxes.web.id)] })).toEqual([]);
    expect(await names({ assignee: { users: [globalId('User', other.agent.id)] } })).toEqual([]);
  });
});

describe('conversations: search', () => {
  it('finds words in message text, subjects, contact name/email/phone, label names and custom attributes', async () => {
    expect(await names({ search: 'money' })).toEqual(['c2']);
    expect(await names({ search: 'refund' })).toEqual(['c2']);
    expect(await names({ search: 'quarter' })).toEqual(['c9']);
    expect(await names({ search: 'quartz.test' })).toEqual(['c9']);
    expect(await names({ search: '4155550' })).toEqual(['c9']);
    expect(await names({ search: 'platinum' })).toEqual(['c9']);
    expect(await names({ search: 'ORD-77821' })).toEqual(['c10']);
    expect(await names({ search: 'vip' })).toEqual(['c8', 'c3', 'c2']);
    expect(await names({ search: 'nothing-like-this' })).toEqual([]);
  });

  it('respects the other filters (the ARCHIVED default included)', async () => {
    expect(await names({ search: 'money', allStatuses: true })).toEqual(['c7', 'c2']);
    expect(await names({ search: 'vip', status: ['OPEN'] })).toEqual(['c8', 'c2']);
  });

  it('searches internal notes for TEAM keys only', async () => {
    expect(await names({ search: 'secretword' })).toEqual(['c9']);
    const connector = await ws.makeKey({ kind: 'CONNECTOR', userId: null });
    expect((await list({ filter: { search: 'secretword' } }, connector.secret)).names).toEqual([]);
    // The connector still finds the public text of the same conversation.
    expect((await list({ filter: { search: 'ordinary' } }, connector.secret)).names).toEqual(['c9']);
  });

  it('treats % and _ literally', async () => {
    expect(await names({ search: '%' })).toEqual([]);
    expect(await names({ search: 'ORD_77821' })).toEqual([]);
  });
});

describe('conversations: search indexes', () => {
  // On tables this small the planner prefers the workspace_id indexes whatever we do; the
  // benchmark (bench/, BENCHMARKS.md) shows the whole search plan at volume. Here: the
  // custom-attribute expression the search uses is the one its trigram indexes cover.
  it('uses the custom-attribute trigram indexes for the expression the search writes', async () => {
    const selection = conversationSelection({ workspaceId: ws.workspaceId, userId: null, kind: 'TEAM' }, { search: 'platinum' });
    const sql = selection.from.sql;
    const expression = `(jsonb_path_query_array(s."custom_attributes", 'strict $.*')::text) ILIKE`;
    expect(sql).toContain(expression);
    expect(sql).toContain(expression.replace('s."', 'ct."'));
    const plan = await server.db.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const explain = async (table: string) => {
        const rows = await tx.$queryRawUnsafe<Record<string, string>[]>(
          `EXPLAIN SELECT id FROM "${table}" s WHERE ${expression} '%platinum%'`,
        );
        return rows.map((r) => Object.values(r)[0]).join('\n');
      };
      return [await explain('conversation'), await explain('contact')];
    });
    expect(plan[0]).toContain('conversation_attributes_trgm_idx');
    expect(plan[1]).toContain('contact_attributes_trgm_idx');
    // Raw SQL is not scoped by the client: the workspace is a parameter of every arm.
    expect(selection.from.values.filter((v) => v === ws.workspaceId).length).toBeGreaterThanOrEqual(5);
    expect(selection.where.values).toContain(ws.workspaceId);
  });
});

describe('conversations: ordering', () => {
  it('orders by last message time both ways (no message: by creation time)', async () => {
    expect(await names({}, { orderBy: { field: 'LAST_MESSAGE_AT', direction: 'ASC' } })).toEqual([...DEFAULT].reverse());
  });

  it('orders by creation time both ways', async () => {
    const asc: Name[] = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c8', 'c9', 'c10'];
    expect(await names({}, { orderBy: { field: 'CREATED_AT', direction: 'ASC' } })).toEqual(asc);
    expect(await names({}, { orderBy: { field: 'CREATED_AT' } })).toEqual([...asc].reverse());
  });

  it('orders by priority, then creation time, both ways', async () => {
    const desc: Name[] = ['c2', 'c8', 'c1', 'c4', 'c3', 'c10', 'c9', 'c6', 'c5'];
    expect(await names({}, { orderBy: { field: 'PRIORITY', direction: 'DESC' } })).toEqual(desc);
    expect(await names({}, { orderBy: { field: 'PRIORITY', direction: 'ASC' } })).toEqual([...desc].reverse());
  });

  it('orders by waiting time: longest wait first, nobody waiting last either way', async () => {
    const desc = await names({}, { orderBy: { field: 'WAITING_TIME', direction: 'DESC' } });
    expect(desc.slice(0, 4)).toEqual(['c2', 'c4', 'c9', 'c10']);
    const asc = await names({}, { orderBy: { field: 'WAITING_TIME', direction: 'ASC' } });
    expect(asc.slice(0, 4)).toEqual(['c10', 'c9', 'c4', 'c2']);
    expect(new Set(desc.slice(4))).toEqual(new Set(['c1', 'c3', 'c5', 'c6', 'c8']));
  });
});

describe('conversations: pages', () => {
  const orders: ConversationOrder[] = [
    { field: 'LAST_MESSAGE_AT', direction: 'DESC' },
    { field: 'LAST_MESSAGE_AT', direction: 'ASC' },
    { field: 'CREATED_AT', direction: 'DESC' },
    { field: 'PRIORITY', direction: 'DESC' },
    { field: 'PRIORITY', direction: 'ASC' },
    { field: 'WAITING_TIME', direction: 'DESC' },
    { field: 'WAITING_TIME', direction: 'ASC' },
  ];

  it('walks forward and backward through every ordering with cursors, without gaps or repeats', async () => {
    for (const orderBy of orders) {
      const all = (await list({ orderBy, filter: { allStatuses: true } })).names;
      const forward: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page: Page = await list({ orderBy, filter: { allStatuses: true }, first: 3, after });
        forward.push(...page.names);
        expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
        pages += 1;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(forward, JSON.stringify(orderBy)).toEqual(all);
      expect(pages).toBe(4);

      const backward: string[] = [];
      let before: string | null = null;
      for (;;) {
        const page: Page = await list({ orderBy, filter: { allStatuses: true }, first: null, last: 4, before });
        backward.unshift(...page.names);
        expect(page.pageInfo.hasNextPage).toBe(before !== null);
        if (!page.pageInfo.hasPreviousPage) break;
        before = page.pageInfo.startCursor;
      }
      expect(backward, JSON.stringify(orderBy)).toEqual(all);
    }
  });

  it('gives each edge a cursor that starts the next page right after it', async () => {
    const page = await list({ first: 5 });
    const next = await list({ first: 2, after: page.cursors[1] });
    expect(next.names).toEqual(page.names.slice(2, 4));
    expect(page.pageInfo.startCursor).toBe(page.cursors[0]);
    expect(page.pageInfo.endCursor).toBe(page.cursors[4]);
  });

  it('keeps the next page in place while conversations are inserted (keyset, not offset)', async () => {
    const first = await list({ first: 3 });
    expect(first.names).toEqual(DEFAULT.slice(0, 3));
    // A new conversation sorts before the cursor: an offset page would shift by one.
    const fresh = await createConversationRow(server.db.prisma, ws, {
      createdAt: T(30), messages: [{ sender: 'CONTACT', content: 'brand new', at: T(30) }],
    });
    try {
      const next = await list({ first: 3, after: first.pageInfo.endCursor });
      expect(next.names).toEqual(DEFAULT.slice(3, 6));
    } finally {
      await server.db.prisma.conversation.delete({ where: { id: fresh.id } });
    }
    // ...and deleting the row a cursor points at does not break the cursor either.
    const victim = await createConversationRow(server.db.prisma, ws, { createdAt: T(0), messages: [{ sender: 'CONTACT', content: 'x', at: T(9) }] });
    const withVictim = await list({ first: 4 });
    expect(world.names([victim.id])).toEqual([`?${victim.id}`]);
    await server.db.prisma.conversation.delete({ where: { id: victim.id } });
    const after = await list({ first: 2, after: withVictim.cursors[3] });
    expect(after.names).toEqual(DEFAULT.slice(3, 5));
  });

  it('pages by offset, for page-number screens', async () => {
    expect((await list({ first: 3, offset: 3 })).names).toEqual(DEFAULT.slice(3, 6));
    const last = await list({ first: 3, offset: 6 });
    expect(last.names).toEqual(DEFAULT.slice(6, 9));
    expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect((await list({ first: 3, offset: 50 })).names).toEqual([]);
  });

  it('defaults to 20 per page and allows 100', async () => {
    const data = await api.ok(`{ conversations { edges { node { id } } } }`);
    expect(data.conversations.edges).toHaveLength(9);
    expect((await list({ first: 100 })).names).toHaveLength(9);
    const empty = await list({ first: 0 });
    expect(empty.names).toEqual([]);
    expect(empty.pageInfo.hasNextPage).toBe(true);
  });
});

describe('conversations: totalCount', () => {
  it('counts every match, across pages', async () => {
    const q = `query($filter: ConversationFilter) { conversations(first: 2, filter: $filter) { totalCount edges { node { id } } } }`;
    expect((await api.ok(q)).conversations.totalCount).toBe(9);
    expect((await api.ok(q, { filter: { status: ['OPEN'] } })).conversations.totalCount).toBe(5);
    expect((await api.ok(q, { filter: { search: 'vip' } })).conversations.totalCount).toBe(3);
  });

  it('is computed only when asked for, and alone costs no page query', async () => {
    await api.ok(`{ conversations(first: 2) { edges { node { id } } } }`);
    server.queries.length = 0;
    await api.ok(`{ conversations(first: 2) { edges { node { id } } } }`);
    expect(server.queries.some((q) => /count\(\*\)/i.test(q))).toBe(false);
    server.queries.length = 0;
    const data = await api.ok(`{ conversations { totalCount } }`);
    expect(data.conversations.totalCount).toBe(9);
    const own = server.queries.filter((q) => /"conversation"/.test(q));
    expect(own).toHaveLength(1);
    expect(own[0]).toMatch(/count\(\*\)/i);
  });
});
