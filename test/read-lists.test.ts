// The other lists a dashboard needs: contacts (filtered, paged, with their conversations),
// labels, inboxes, and team members with their open-conversation counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId, localId } from './support/graphql.js';
import { createConversationRow, seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let api: ReturnType<typeof client>;
const contacts: Record<string, string> = {};
const at = (d: number) => new Date(Date.UTC(2026, 3, d));

beforeAll(async () => {
  // No snooze wake (a background statement) lands in the statement counts below.
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS } });
  ws = await seedWorkspace(server.db.prisma, 'Lists');
  other = await seedWorkspace(server.db.prisma, 'Other');
  const p = server.db.prisma;
  const people = [
    { key: 'ana', name: 'Ana Lima', email: 'ana@lima.test', phone: '+5511987654321', day: 1 },
    { key: 'bo', name: 'Bo Berg', email: 'bo@berg.test', phone: '+46701234567', day: 2 },
    { key: 'cy', name: 'Cy Anand', email: 'cy@example.test', phone: null, day: 3 },
    { key: 'di', name: 'Di Nakamura', email: null, phone: '+81312345678', day: 4 },
    { key: 'ed', name: null, email: 'ed@example.test', phone: null, day: 5 },
  ];
  for (const c of people) {
    contacts[c.key] = (await p.contact.create({ data: { workspaceId: ws.workspaceId, name: c.name, email: c.email, phone: c.phone, createdAt: at(c.day) } })).id;
  }
  await p.contact.create({ data: { workspaceId: other.workspaceId, name: 'Ana Elsewhere', email: 'ana@lima.test' } });
  // Ana: three conversations; Bo: one; the others none.
  for (const [i, status] of (['OPEN', 'RESOLVED', 'ARCHIVED'] as const).entries()) {
    await createConversationRow(p, ws, { contact: { id: contacts.ana! }, status, assigneeId: ws.agent.id, createdAt: at(10 + i), labels: ['vip'] });
  }
  await createConversationRow(p, ws, { contact: { id: contacts.bo! }, status: 'OPEN', assigneeId: ws.admin.id, createdAt: at(14) });
  await createConversationRow(p, ws, { contact: { id: contacts.bo! }, status: 'PENDING', assigneeId: ws.admin.id, createdAt: at(15) });
  await p.label.createMany({ data: ['Billing', 'bug', 'Zeta'].map((name) => ({ workspaceId: ws.workspaceId, name })) });
  await p.label.create({ data: { workspaceId: other.workspaceId, name: 'other-label' } });
  api = client(server.url, ws.key);
});
afterAll(() => server?.close());

const CONTACTS = `query($filter: ContactFilter, $first: Int, $after: String, $last: Int, $before: String) {
  contacts(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { id name } }
  }
}`;
const keyOf = (id: string) => Object.entries(contacts).find(([, v]) => v === localId(id))?.[0] ?? `?${id}`;
async function contactList(vars: Record<string, unknown>) {
  const data = await api.ok(CONTACTS, vars);
  return { keys: data.contacts.edges.map((e: any) => keyOf(e.node.id)), totalCount: data.contacts.totalCount, pageInfo: data.contacts.pageInfo };
}

describe('contacts', () => {
  it('lists the workspace’s contacts, newest first, with a total', async () => {
    const all = await contactList({});
    expect(all.keys).toEqual(['ed', 'di', 'cy', 'bo', 'ana']);
    expect(all.totalCount).toBe(5);
  });

  it('filters by search over name, email and phone', async () => {
    expect((await contactList({ filter: { search: 'anand' } })).keys).toEqual(['cy']);
    expect((await contactList({ filter: { search: 'AN' } })).keys).toEqual(['cy', 'ana']);
    expect((await contactList({ filter: { search: 'kamu' } })).keys).toEqual(['di']);
    expect((await contactList({ filter: { search: 'example.test' } })).keys).toEqual(['ed', 'cy']);
    expect((await contactList({ filter: { search: '4670' } })).keys).toEqual(['bo']);
    expect((await contactList({ filter: { search: 'lima' } })).totalCount).toBe(1);
  });

  it('filters by exact email and phone', async () => {
    expect((await contactList({ filter: { email: 'ANA@lima.test' } })).keys).toEqual(['ana']);
    expect((await contactList({ filter: { phone: '+81 3 1234 5678' } })).keys).toEqual(['di']);
    expect((await contactList({ filter: { phone: '+8131234567' } })).keys).toEqual([]);
  });

  it('filters by having conversations', async () => {
    expect((await contactList({ filter: { hasConversations: true } })).keys).toEqual(['bo', 'ana']);
    expect((await contactList({ filter: { hasConversations: false } })).keys).toEqual(['ed', 'di', 'cy']);
  });

  it('pages with cursors both ways', async () => {
    const first = await contactList({ first: 2 });
    expect(first.keys).toEqual(['ed', 'di']);
    const second = await contactList({ first: 2, after: first.pageInfo.endCursor });
    expect(second.keys).toEqual(['cy', 'bo']);
    expect(second.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const third = await contactList({ first: 2, after: second.pageInfo.endCursor });
    expect(third.keys).toEqual(['ana']);
    expect(third.pageInfo.hasNextPage).toBe(false);
    const back = await contactList({ last: 2, before: third.pageInfo.startCursor });
    expect(back.keys).toEqual(['cy', 'bo']);
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
  });

  it("shows each contact's conversations, every status, newest first, paged", async () => {
    const q = `query($after: String) { contacts(filter: { hasConversations: true }) { edges { node { id
      conversations(first: 2, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id status createdAt } } }
    } } } }`;
    const data = await api.ok(q);
    const [bo, ana] = data.contacts.edges.map((e: any) => e.node);
    expect(bo.conversations.edges.map((e: any) => e.node.status)).toEqual(['PENDING', 'OPEN']);
    expect(bo.conversations.pageInfo.hasNextPage).toBe(false);
    expect(ana.conversations.edges.map((e: any) => e.node.status)).toEqual(['ARCHIVED', 'RESOLVED']);
    expect(ana.conversations.pageInfo.hasNextPage).toBe(true);
    const more = await api.ok(`query($id: ID!, $after: String) { node(id: $id) { ... on Contact { conversations(first: 2, after: $after) { edges { node { status } } } } } }`, {
      id: ana.id,
      after: ana.conversations.pageInfo.endCursor,
    });
    expect(more.node.conversations.edges.map((e: any) => e.node.status)).toEqual(['OPEN']);
  });
});

describe('labels, inboxes and users', () => {
  it("lists the workspace's labels by name, optionally searched", async () => {
    const data = await api.ok(`{ labels { name } }`);
    expect(data.labels.map((l: any) => l.name)).toEqual(['Billing', 'bug', 'vip', 'Zeta']);
    const found = await api.ok(`{ labels(search: "B") { name } }`);
    expect(found.labels.map((l: any) => l.name)).toEqual(['Billing', 'bug']);
  });

  it("lists the workspace's inboxes", async () => {
    const data = await api.ok(`{ inboxes { id name channel } }`);
    expect(data.inboxes).toEqual([
      { id: globalId('Inbox', ws.inboxes.email.id), name: 'Email', channel: 'EMAIL' },
      { id: globalId('Inbox', ws.inboxes.web.id), name: 'Web chat', channel: 'WEB_CHAT' },
      { id: globalId('Inbox', ws.inboxes.whatsapp.id), name: 'WhatsApp', channel: 'WHATSAPP' },
    ]);
  });

  it('lists team members with their open-conversation counts, in one statement', async () => {
    await api.ok(`{ users { id } }`);
    server.queries.length = 0;
    const data = await api.ok(`{ users { name role openConversationCount } }`);
    expect(data.users).toEqual([
      { name: 'Ada Admin', role: 'ADMIN', openConversationCount: 1 },
      { name: 'Alan Agent', role: 'AGENT', openConversationCount: 1 },
    ]);
    // The key lookup, then users with their counts.
    expect(server.queries.filter((q) => !/"api_key"/.test(q))).toHaveLength(1);
  });

  it('keeps the counts behind read:conversations', async () => {
    const contactsOnly = (await ws.makeKey({ scopes: ['READ_CONTACTS'] })).secret;
    const res = await client(server.url, contactsOnly).request(`{ users { name openConversationCount } }`);
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await client(server.url, contactsOnly).ok(`{ users { name } }`)).users).toHaveLength(2);
  });

  it("shows team members' email addresses to TEAM keys only, not to a widget's CONNECTOR key", async () => {
    const connector = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS'], userId: null })).secret;
    expect((await client(server.url, connector).ok(`{ users { name email } }`)).users).toEqual([
      { name: 'Ada Admin', email: null },
      { name: 'Alan Agent', email: null },
    ]);
    // A CONNECTOR key acting as a team member sees that member's own address only.
    const actingAsAda = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS'], userId: ws.admin.id })).secret;
    const seen = (await client(server.url, actingAsAda).ok(`{ users { name email } }`)).users;
    expect(seen.map((u: { email: string | null }) => u.email !== null)).toEqual([true, false]);
    const team = (await api.ok(`{ users { email } }`)).users.map((u: { email: string }) => u.email);
    expect(team.every((e: string) => e.includes('@'))).toBe(true);
  });
});

describe('searching for %, _ and \\', () => {
  // Prisma's `contains` does not escape LIKE's pattern characters (prisma/prisma#19506):
  // searched for, they are the text itself, not wildcards.
  let wild: ReturnType<typeof client>;
  beforeAll(async () => {
    const w = await seedWorkspace(server.db.prisma, 'Wildcards');
    const p = server.db.prisma;
    const rows = [
      { name: 'Pct 100% Sure', email: 'pct@example.test', day: 1 },
      { name: 'Under Score', email: 'under_score@example.test', day: 2 },
      { name: 'Back\\Slash', email: 'back@example.test', day: 3 },
      { name: 'Plain Person', email: 'plain@example.test', day: 4 },
    ];
    for (const c of rows) await p.contact.create({ data: { workspaceId: w.workspaceId, name: c.name, email: c.email, createdAt: at(c.day) } });
    await p.label.createMany({ data: ['50% off', 'to_do', 'a\\b', 'plain'].map((name) => ({ workspaceId: w.workspaceId, name })) });
    wild = client(server.url, w.key);
  });
  const names = async (search: string) =>
    (await wild.ok(CONTACTS, { filter: { search } })).contacts.edges.map((e: any) => e.node.name);
  const labelNames = async (search: string) =>
    (await wild.ok(`query($s: String) { labels(search: $s) { name } }`, { s: search })).labels.map((l: any) => l.name);

  it('matches them literally in contacts(filter: {search})', async () => {
    expect(await names('%')).toEqual(['Pct 100% Sure']);
    expect(await names('_')).toEqual(['Under Score']);
    expect(await names('\\')).toEqual(['Back\\Slash']);
    expect(await names('0%')).toEqual(['Pct 100% Sure']);
    expect(await names('r_s')).toEqual(['Under Score']);
    expect(await names('p_t')).toEqual([]);
    expect(await names('%son')).toEqual([]);
  });

  it('matches them literally in labels(search)', async () => {
    expect(await labelNames('%')).toEqual(['50% off']);
    expect(await labelNames('_')).toEqual(['to_do']);
    expect(await labelNames('\\')).toEqual(['a\\b']);
    expect(await labelNames('p_a')).toEqual([]);
  });
});
