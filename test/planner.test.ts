// The query planner (src/planner/) answers the documents it knows with one statement built as
// JSON by the database. Its answers must be the interpreter's, byte for byte: every document
// here is sent twice to the same server, as is (planned) and with `@include(if: true)` on its
// root fields, which the planner leaves to the interpreter (graphql-js and the resolvers). The
// two `data` (key order included) and `errors` must be equal, and the metrics must show which
// path answered each. Documents cover every field the planner lists (generated from its
// table, so a field added there is compared here), aliases, fragments, every ordering, both
// directions of paging, offsets, filters, search, and keys of each kind and scope.
import { Kind, parse, print, visit, type DocumentNode, type FieldNode, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { ROW_TYPES } from '../src/planner/objects.js';
import { queriesExecuted } from '../src/planner/plugin.js';
import { schema } from '../src/schema/index.js';
import { createTestDatabase, usePostgres, type TestDatabase } from './support/databases.js';
import { gql } from './support/graphql.js';
import { buildReadWorld, type ReadWorld } from './support/read-world.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { IDLE_WORKERS, startTestServer, type TestServer } from './support/server.js';
import { liveClient } from './support/ws.js';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let world: ReadWorld;
const keys: Record<'team' | 'connector' | 'connectorNoUser' | 'noContacts' | 'other', string> = {} as never;

/** No worker polls during the tests: an hour between them, and no cost budget. */
const QUIET = { COST_BUDGET_PER_MINUTE: '0', ...IDLE_WORKERS };

beforeAll(async () => {
  server = await startTestServer({ env: QUIET });
  const prisma = server.db.prisma;
  ws = await seedWorkspace(prisma, 'Planned');
  other = await seedWorkspace(prisma, 'Elsewhere');
  world = await buildReadWorld(prisma, ws);
  await buildReadWorld(prisma, other);
  // A resolution note and a contact with every field, for the fields that depend on the key.
  await prisma.conversation.update({ where: { id: world.rows.c5.id }, data: { resolutionNote: 'refund approved', resolvedById: ws.agent.id } });
  keys.team = ws.key;
  keys.connector = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'], userId: ws.agent.id })).secret;
  keys.connectorNoUser = (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'], userId: null })).secret;
  keys.noContacts = (await ws.makeKey({ scopes: ['READ_CONVERSATIONS'] })).secret;
  keys.other = other.key;
});

afterAll(async () => {
  await server?.close();
});

/** The document with `@include(if: true)` on each root field: the same answer, from the interpreter. */
function interpretedTwin(doc: DocumentNode): DocumentNode {
  return visit(doc, {
    OperationDefinition(op) {
      return {
        ...op,
        selectionSet: {
          ...op.selectionSet,
          selections: op.selectionSet.selections.map((s) =>
            s.kind === Kind.FIELD
              ? ({
                  ...s,
                  directives: [
                    ...(s.directives ?? []),
                    { kind: Kind.DIRECTIVE, name: { kind: Kind.NAME, value: 'include' }, arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'if' }, value: { kind: Kind.BOOLEAN, value: true } }] },
                  ],
                } as FieldNode)
              : s,
          ),
        },
      };
    },
  });
}

async function counts() {
  const values = (await queriesExecuted.get()).values;
  const of = (executor: string) => values.find((v) => v.labels.executor === executor)?.value ?? 0;
  return { planned: of('planner'), interpreted: of('interpreter') };
}

/**
 * Sends `query` planned and interpreted; expects the same data and errors, and that the first
 * was planned (or, with `interpreted: true`, that the planner left both to the interpreter).
 */
async function compare(query: string, variables: Record<string, unknown>, key: string, opts: { interpreted?: boolean } = {}) {
  const doc = parse(query);
  const before = await counts();
  const planned = await gql(server.url, print(doc), variables, { key });
  const middle = await counts();
  const interpreted = await gql(server.url, print(interpretedTwin(doc)), variables, { key });
  const after = await counts();
  expect(planned.status).toBe(interpreted.status);
  expect(JSON.stringify(planned.data)).toBe(JSON.stringify(interpreted.data));
  expect(JSON.stringify(planned.errors)).toBe(JSON.stringify(interpreted.errors));
  expect(planned.extensions?.cost).toBeDefined();
  expect(planned.extensions).toEqual(interpreted.extensions);
  expect({ planned: middle.planned - before.planned, interpreted: middle.interpreted - before.interpreted }).toEqual(
    opts.interpreted ? { planned: 0, interpreted: 1 } : { planned: 1, interpreted: 0 },
  );
  expect({ planned: after.planned - middle.planned, interpreted: after.interpreted - middle.interpreted }).toEqual({ planned: 0, interpreted: 1 });
  return planned;
}

/** A selection of every field the planner lists for `typeName`, relations included. */
function everyField(typeName: string, depth = 0): string {
  const t = ROW_TYPES[typeName]!;
  const type = schema.getType(typeName) as GraphQLObjectType;
  const fields = ['id', '__typename', ...t.columns, ...Object.keys(t.computed)].map((name) => {
    const field = type.getFields()[name];
    if (!field && name !== '__typename') throw new Error(`${typeName}.${name} is not in the schema`);
    let named = field?.type;
    while (named && 'ofType' in named) named = named.ofType;
    const target = named && ROW_TYPES[(named as GraphQLObjectType).name];
    return target && depth < 2 ? `${name} { ${everyField((named as GraphQLObjectType).name, depth + 1)} }` : name;
  });
  return fields.join(' ');
}

const INBOX = /* GraphQL */ `
  query Inbox($first: Int, $after: String, $last: Int, $before: String, $offset: Int, $filter: ConversationFilter, $orderBy: ConversationOrder) {
    conversations(first: $first, after: $after, last: $last, before: $before, offset: $offset, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id number subject status priority lastMessageAt unreadCount contact { id name email phone } assignee { id name } labels { id name color } lastMessage { id content senderType createdAt } } }
    }
  }`;

describe('the query planner answers as the interpreter does', () => {
  it('for every field it knows, with each kind of key', async () => {
    const query = `query Everything { conversations(first: 20, filter: { allStatuses: true }) { edges { cursor node { ${everyField('Conversation')} } } } }`;
    for (const key of [keys.team, keys.connector, keys.connectorNoUser, keys.other]) {
      const res = await compare(query, {}, key);
      expect(res.errors).toBeUndefined();
      expect(res.data.conversations.edges).toHaveLength(10);
    }
    // The fields that depend on the key did answer differently for the two kinds.
    const team = await gql(server.url, query, {}, { key: keys.team });
    const connector = await gql(server.url, query, {}, { key: keys.connector });
    const c5 = (res: typeof team) => res.data.conversations.edges.find((e: { node: { number: number } }) => e.node.number === world.rows.c5.number).node;
    expect(c5(team).resolutionNote).toBe('refund approved');
    expect(c5(connector).resolutionNote).toBeNull();
    expect(c5(team).resolvedBy.email).toBe('alan@example.test');
    expect(c5(connector).resolvedBy.email).toBe('alan@example.test'); // the connector key's own user
    expect(c5(team).assignee.email).toBe('ada@example.test');
    expect(c5(connector).assignee.email).toBeNull();
  });

  it('with aliases, fragments, __typename and the same field selected twice', async () => {
    const query = /* GraphQL */ `
      fragment Who on Contact { name email }
      fragment Row on Conversation { number status contact { ...Who } }
      query Aliased($n: Int) {
        __typename
        page: conversations(first: $n) {
          __typename
          count: totalCount
          info: pageInfo { __typename more: hasNextPage endCursor hasNextPage }
          edges { __typename c: cursor node { ... on Node { id } key: id ...Row contact { phone ...Who id } labels { n: name, __typename } } }
        }
        open: conversations(filter: { status: [OPEN] }, orderBy: { field: PRIORITY }) { totalCount edges { node { number priority } } }
        counted: conversations { totalCount }
        infoOnly: conversations(first: 2) { pageInfo { startCursor endCursor hasPreviousPage } }
      }`;
    const res = await compare(query, { n: 4 }, keys.team);
    expect(Object.keys(res.data)).toEqual(['__typename', 'page', 'open', 'counted', 'infoOnly']);
    expect(res.data.page.edges).toHaveLength(4);
  });

  it('through every ordering, forward and backward, to the end and back', async () => {
    for (const field of ['LAST_MESSAGE_AT', 'CREATED_AT', 'PRIORITY', 'WAITING_TIME']) {
      for (const direction of ['ASC', 'DESC']) {
        const orderBy = { field, direction };
        const filter = { allStatuses: true };
        const seen: number[] = [];
        let after: string | null = null;
        for (;;) {
          const res = await compare(INBOX, { first: 3, after, orderBy, filter }, keys.team);
          const page = res.data.conversations;
          seen.push(...page.edges.map((e: { node: { number: number } }) => e.node.number));
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        expect(new Set(seen).size, `${field} ${direction}`).toBe(10);
        const back: number[] = [];
        let before: string | null = null;
        for (;;) {
          const res = await compare(INBOX, { last: 4, before, orderBy, filter }, keys.team);
          const page = res.data.conversations;
          back.unshift(...page.edges.map((e: { node: { number: number } }) => e.node.number));
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor;
        }
        expect(back, `${field} ${direction} backward`).toEqual(seen);
      }
    }
    await compare(INBOX, { first: 3, offset: 4 }, keys.team);
    await compare(INBOX, { first: 0 }, keys.team);
  });

  it('with filters and search', async () => {
    const filters = [
      { status: ['OPEN', 'PENDING'] },
      { labels: { anyOf: [Buffer.from(`Label:${world.labels.vip}`).toString('base64')] } },
      { assignee: { me: true } },
      { assignee: { unassigned: true }, waitingForReply: true },
      { search: 'invoice' },
      { search: 'secretword' },
      { channels: ['EMAIL'], createdAt: { from: '2026-01-01T02:00:00.000Z' } },
    ];
    for (const filter of filters) {
      await compare(INBOX, { first: 5, filter }, keys.team);
      await compare(INBOX, { first: 5, filter }, keys.connector);
    }
    // Internal notes are searched for TEAM keys only: the planned answers differ as the interpreter's do.
    const team = await gql(server.url, INBOX, { filter: { search: 'secretword' } }, { key: keys.team });
    const connector = await gql(server.url, INBOX, { filter: { search: 'secretword' } }, { key: keys.connector });
    expect(team.data.conversations.totalCount).toBe(1);
    expect(connector.data.conversations.totalCount).toBe(0);
  });

  it("never shows another workspace's conversations", async () => {
    const mine = await gql(server.url, INBOX, { first: 50, filter: { allStatuses: true } }, { key: keys.team });
    const theirs = await gql(server.url, INBOX, { first: 50, filter: { allStatuses: true } }, { key: keys.other });
    const ids = (res: typeof mine) => res.data.conversations.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids(mine)).toHaveLength(10);
    expect(ids(theirs)).toHaveLength(10);
    expect(ids(mine).filter((id: string) => ids(theirs).includes(id))).toEqual([]);
    const contactIds = (res: typeof mine) => res.data.conversations.edges.map((e: { node: { contact: { id: string } } }) => e.node.contact.id);
    expect(contactIds(mine).filter((id: string) => contactIds(theirs).includes(id))).toEqual([]);
    // The same statement again and again, the two workspaces in turn: on PostgreSQL it is a named
    // prepared statement, which PostgreSQL plans generically after five runs on a connection
    // (the workspace then a parameter of a kept plan). Each answer is still its own workspace's.
    for (let i = 0; i < 8; i++) {
      expect(ids(await gql(server.url, INBOX, { first: 50, filter: { allStatuses: true } }, { key: keys.team }))).toEqual(ids(mine));
      expect(ids(await gql(server.url, INBOX, { first: 50, filter: { allStatuses: true } }, { key: keys.other }))).toEqual(ids(theirs));
    }
  });

  it('leaves to the interpreter what it does not know, and what the key may not see', async () => {
    // A key without read:contacts: FORBIDDEN on each contact, the rest of the page answered.
    const res = await compare(INBOX, { first: 3 }, keys.noContacts, { interpreted: true });
    expect(res.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(res.data.conversations.edges).toHaveLength(3);
    // ...but a page without contacts is planned for it.
    await compare('{ conversations(first: 3) { edges { node { id number } } } }', {}, keys.noContacts);
    // Arguments the resolver refuses: its errors, on its path.
    const big = await compare(INBOX, { first: 101 }, keys.team, { interpreted: true });
    expect(big.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const cursor = await compare(INBOX, { after: 'bm90IGEgY3Vyc29y' }, keys.team, { interpreted: true });
    expect(cursor.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    // A field it does not plan (a thread), and another root field.
    await compare('{ conversations(first: 2) { edges { node { id messages(first: 2) { edges { node { id } } } } } } }', {}, keys.team, { interpreted: true });
    await compare('{ conversations(first: 2) { totalCount } labels { id } }', {}, keys.team, { interpreted: true });
  });

  it('answers the same in a batch and over WebSocket, where the result is serialised by others', async () => {
    const single = await gql(server.url, INBOX, { first: 5 }, { key: keys.team });
    const before = await counts();
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys.team },
      body: JSON.stringify([
        { query: INBOX, variables: { first: 5 } },
        { query: INBOX, variables: { first: 5, filter: { status: ['PENDING'] } } },
      ]),
    });
    const batch = (await res.json()) as { data: any }[];
    expect(batch).toHaveLength(2);
    expect(JSON.stringify(batch[0]!.data)).toBe(JSON.stringify(single.data));
    expect(batch[1]!.data.conversations.edges.map((e: { node: { number: number } }) => e.node.number)).toEqual([world.rows.c3.number]);
    const live = liveClient(server.url, keys.team);
    try {
      const overSocket = await live.request(INBOX, { first: 5 });
      expect(JSON.stringify(overSocket.data)).toBe(JSON.stringify(single.data));
    } finally {
      await live.dispose();
    }
    expect((await counts()).planned - before.planned).toBe(3);
  });
});

// On PostgreSQL the planner's statements for lists without filter values run as named prepared
// statements (src/db/client.ts). Seen from the connection itself (a pool of one), through the
// database layer the server uses.
if (usePostgres) {
  describe('prepared statements on PostgreSQL', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase({ postgres: true });
    });
    afterAll(async () => {
      await database?.drop();
    });

    const open = (preparedStatements?: boolean) => openDatabase({ databaseUrl: database.url, dataDir: 'unused', poolSize: 1, preparedStatements });
    /** The connection's prepared statements (the query itself runs unnamed). */
    const preparedOn = async (db: Database) =>
      JSON.parse(
        await db.jsonText(
          Prisma.sql`SELECT coalesce(json_agg(json_build_object('name', name, 'runs', generic_plans + custom_plans, 'generic', generic_plans)), '[]')::text FROM pg_prepared_statements`,
        ),
      ) as { name: string; runs: number; generic: number }[];
    const statement = Prisma.sql`SELECT json_build_object('n', ${7}::int + 1)::text AS data`;

    it('names a statement from its third run, parses it once, and PostgreSQL keeps a generic plan', async () => {
      const db = await open();
      try {
        expect(db.pool().max).toBe(1);
        for (let i = 0; i < 9; i++) expect(JSON.parse(await db.jsonText(statement, { prepare: true }))).toEqual({ n: 8 });
        await db.jsonText(Prisma.sql`SELECT json_build_object('unnamed', true)::text`, { prepare: false });
        const prepared = await preparedOn(db);
        expect(prepared).toHaveLength(1);
        expect(prepared[0]!.name).toMatch(/^parley_/);
        expect(prepared[0]!.runs).toBe(7);
        expect(prepared[0]!.generic).toBeGreaterThan(0);
      } finally {
        await db.close();
      }
    });

    it('prepares a list filtered by status (one text for the same statuses in any order), and not one filtered by label', async () => {
      // A pool of one: the server's statements and pg_prepared_statements are on one connection.
      const one = await startTestServer({ database, env: { ...QUIET, DATABASE_POOL_SIZE: '1' } });
      try {
        const a = await seedWorkspace(one.db.prisma, 'Tabs');
        const world = await buildReadWorld(one.db.prisma, a);
        const filters = [
          ...Array.from({ length: 4 }, () => [{ status: ['OPEN', 'PENDING'] }, { status: ['PENDING', 'OPEN', 'OPEN'] }]).flat(),
          ...Array.from({ length: 8 }, () => ({ labels: { anyOf: [Buffer.from(`Label:${world.labels.vip}`).toString('base64')] } })),
        ];
        for (const filter of filters) {
          const planned = await gql(one.url, INBOX, { first: 3, filter }, { key: a.key });
          const interpreted = await gql(one.url, print(interpretedTwin(parse(INBOX))), { first: 3, filter }, { key: a.key });
          expect(planned.errors).toBeUndefined();
          expect((planned.data as any).conversations.edges.length).toBeGreaterThan(0);
          expect(JSON.stringify(planned.data)).toBe(JSON.stringify(interpreted.data));
        }
        const prepared = JSON.parse(
          await one.db.jsonText(Prisma.sql`SELECT coalesce(json_agg(json_build_object('statement', statement, 'runs', generic_plans + custom_plans)), '[]')::text FROM pg_prepared_statements`),
        ) as { statement: string; runs: number }[];
        // The eight status lists are one text, named from its third run; the label's value is a parameter: never named.
        expect(prepared.map((p) => p.statement.match(/c\."status" IN \([^)]*\)/)?.[0])).toEqual([`c."status" IN ('OPEN'::"ConversationStatus", 'PENDING'::"ConversationStatus")`]);
        expect(prepared[0]!.runs).toBe(6);
      } finally {
        await one.close();
      }
    });

    it('names nothing with PG_PREPARED_STATEMENTS=false', async () => {
      const db = await open(false);
      try {
        for (let i = 0; i < 9; i++) await db.jsonText(statement, { prepare: true });
        expect(await preparedOn(db)).toEqual([]);
      } finally {
        await db.close();
      }
    });
  });
}
