// Abuse limits over HTTP: shape limits, query cost with its budget, body size, batching.
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, gql } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { usePostgres } from './support/databases.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '600', MAX_QUERY_COST: '500' } });
  ws = await seedWorkspace(server.db.prisma);
});
afterAll(() => server?.close());

async function stillServes() {
  const res = await client(server.url, ws.key).request('{ viewer { kind } }');
  expect(res.data?.viewer?.kind ?? res.errors?.[0]?.extensions?.code).toMatch(/TEAM|RATE_LIMITED/);
}

describe('limits', () => {
  it('reports what a query cost and what budget is left, in extensions', async () => {
    const key = (await ws.makeKey()).secret;
    const first = await gql(server.url, '{ viewer { workspace { name } } }', {}, { key });
    expect(first.extensions?.cost).toEqual({ requested: 2, limit: 500, remaining: 598, budget: 600 });
    // The bucket refills at 10 points a second: the second query sees at most a full bucket less its cost.
    const second = await gql(server.url, '{ viewer { workspace { name } } }', {}, { key });
    expect(second.extensions?.cost.remaining).toBeLessThanOrEqual(598);
  });

  it('prices nodes(ids:) by the number of ids, not as a default-sized list', async () => {
    const q = 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on Conversation { contact { name } } } }';
    const costOf = async (n: number) => {
      const ids = Array.from({ length: n }, () => 'eA==');
      return (await gql(server.url, q, { ids }, { key: ws.key })).extensions?.cost.requested as number;
    };
    const [one, hundred] = [await costOf(1), await costOf(100)];
    expect(hundred - 1).toBe(100 * (one - 1));
    // Written in the document, the list counts the same.
    const literal = await gql(server.url, `{ nodes(ids: [${Array(100).fill('"eA=="').join(',')}]) { ... on Conversation { contact { name } } } }`, {}, { key: ws.key });
    expect(literal.extensions?.cost.requested).toBe(hundred);
    // A connection's list arguments are filters, not its size: still priced at its page of 20.
    const page = (filter: string) => `{ node(id: "eA==") { ... on Conversation { messages${filter} { edges { node { conversation { id } } } } } } }`;
    const plain = await gql(server.url, page(''), {}, { key: ws.key });
    const filtered = await gql(server.url, page('(senderTypes: [CONTACT])'), {}, { key: ws.key });
    expect(filtered.extensions?.cost.requested).toBe(plain.extensions?.cost.requested);
    expect(plain.extensions?.cost.requested).toBeGreaterThanOrEqual(20);
  });

  it('refuses a query dearer than the maximum before running it', async () => {
    const q = '{ node(id: "eA==") { ... on Conversation { messages(first: 100) { edges { node { conversation { messages(first: 100) { edges { node { id } } } } } } } } } }';
    const res = await client(server.url, ws.key).request(q);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.extensions?.cost.requested).toBeGreaterThan(500);
    expect(res.data).toBeUndefined();
  });

  it('answers RATE_LIMITED with when to retry once the key has spent its budget', async () => {
    const key = (await ws.makeKey()).secret;
    const q = '{ node(id: "eA==") { ... on Conversation { messages(first: 100) { edges { node { contact: conversation { contact { name } } } } } } } }';
    let limited;
    for (let i = 0; i < 10 && !limited; i++) {
      const res = await gql(server.url, q, {}, { key });
      if (res.errors?.[0]?.extensions?.code === 'RATE_LIMITED') limited = res;
    }
    expect(limited).toBeDefined();
    expect(limited!.status).toBe(429);
    expect(limited!.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    // Another key's budget is its own.
    const other = await gql(server.url, '{ viewer { kind } }', {}, { key: ws.key });
    expect(other.data?.viewer?.kind).toBe('TEAM');
  });

  it('refuses deep queries, many aliases and huge documents', async () => {
    let nested = 'id';
    for (let i = 0; i < 50; i++) nested = `conversation { ${nested} }`;
    const depth = await client(server.url, ws.key).request(`{ node(id: "eA==") { ... on Message { ${nested} } } }`);
    expect(depth.errors?.[0]?.message).toMatch(/depth/i);
    const aliases = Array.from({ length: 1000 }, (_, i) => `a${i}: viewer { kind }`).join(' ');
    const manyAliases = await client(server.url, ws.key).request(`{ ${aliases} }`);
    expect(manyAliases.errors?.[0]?.message).toMatch(/alias|token/i);
    const huge = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ws.key },
      body: JSON.stringify({ query: `{ viewer { kind } } # ${'x'.repeat(1024 * 1024)}` }),
    });
    expect(huge.status).toBe(413);
    expect((await huge.json()).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    await stillServes();
  });

  it('limits batched requests', async () => {
    const batch = Array.from({ length: 200 }, () => ({ query: '{ viewer { kind } }' }));
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ws.key },
      body: JSON.stringify(batch),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    const ok = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ws.key },
      body: JSON.stringify(batch.slice(0, 3)),
    });
    expect((await ok.json()).map((r: { data: { viewer: { kind: string } } }) => r.data.viewer.kind)).toEqual(['TEAM', 'TEAM', 'TEAM']);
  });
});

describe('production switches', () => {
  it('with INTROSPECTION=false, refuses introspection and gives no field suggestions', async () => {
    const closed = await startTestServer({ env: { INTROSPECTION: 'false', GRAPHIQL: 'false' } });
    try {
      const key = (await seedWorkspace(closed.db.prisma)).key;
      const intro = await client(closed.url, key).request('{ __schema { types { name } } }');
      expect(intro.errors?.[0]?.message).toMatch(/introspection/i);
      const typo = await client(closed.url, key).request('{ viewer { kinf } }');
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
      const page = await fetch(`${closed.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/graphiql/i);
    } finally {
      await closed.close();
    }
    // ...while the default server suggests, as a development server should.
    const typo = await client(server.url, ws.key).request('{ viewer { kinf } }');
    expect(typo.errors?.[0]?.message).toMatch(/Did you mean "kind"/);
  });

  it('refuses a GET query without a key or CSRF header (a browser could send it unasked)', async () => {
    const res = await fetch(`${server.url}/graphql?query=${encodeURIComponent('{ viewer { kind } }')}`);
    expect(res.status).toBe(403);
  });

  it('caps the length of lists given as variables', async () => {
    const ids = Array.from({ length: 1001 }, (_, i) => `id${i}`);
    const res = await client(server.url, ws.key).request('query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(res.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    expect(res.errors?.[0]?.message).toMatch(/at most 1000 items/);
  });
});

describe('a chunked body over the limit', () => {
  /** POSTs `size` bytes in 64 KB chunks, with no Content-Length (so Transfer-Encoding: chunked). */
  const sendChunked = (url: string, size: number) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const req = request({ hostname, port, path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      expect(req.getHeader('content-length')).toBeUndefined();
      const chunk = Buffer.alloc(64 * 1024, ' ');
      for (let sent = 0; sent < size; sent += chunk.length) req.write(chunk);
      req.end();
    });

  it('is refused with 413 and logged as a refusal, not as an internal error', async () => {
    const lines: { level: number; msg: string }[] = [];
    const log = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logged = await startTestServer({ env: { LOG_LEVEL: 'info', MAX_BODY_BYTES: String(256 * 1024) }, start: { logDestination: log } });
    try {
      const refused = await sendChunked(logged.url, 1024 * 1024);
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
      // A chunked body under the limit is still read and answered.
      const key = (await seedWorkspace(logged.db.prisma)).key;
      const small = await fetch(`${logged.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: new Blob([JSON.stringify({ query: '{ viewer { kind } }' })]).stream(),
        duplex: 'half',
      } as RequestInit);
      expect(await small.json()).toMatchObject({ data: { viewer: { kind: 'TEAM' } } });
    } finally {
      // Stopping waits for every request in flight: whatever the refused one logs is logged by then.
      await logged.close();
    }
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    const refusals = lines.filter((l) => /size limit/.test(l.msg));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.level).toBeLessThanOrEqual(40); // info or warn
  });
});

// Several processes enforce one budget when they share Redis (the PostgreSQL suite runs with it).
if (usePostgres) describe('a budget shared through Redis', () => {
  it('is spent on one server and seen as spent on another', async () => {
    const second = await startTestServer({ database: server.database, env: { COST_BUDGET_PER_MINUTE: '600', MAX_QUERY_COST: '500' } });
    try {
      const key = (await ws.makeKey()).secret;
      const q = '{ viewer { workspace { name } } }';
      const first = await gql(server.url, q, {}, { key });
      const other = await gql(second.url, q, {}, { key });
      expect(first.extensions?.cost.remaining).toBe(598);
      expect(other.extensions?.cost.remaining).toBeLessThanOrEqual(597);
    } finally {
      await second.close();
    }
  });
});
