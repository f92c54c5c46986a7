// The API answers its version: Query.apiVersion, and two headers on every response of
// /graphql (answers, refusals and errors alike).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../src/version.js';
import { client } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

const packageVersion = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const printed = readFileSync(new URL('../schema/schema.graphql', import.meta.url), 'utf8');

let server: TestServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer();
  ws = await seedWorkspace(server.db.prisma, 'Versions');
});
afterAll(() => server?.close());

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

function expectVersionHeaders(res: Response) {
  expect(res.headers.get('x-parley-version')).toBe(packageVersion);
  expect(res.headers.get('x-parley-schema-version')).toBe(String(SCHEMA_VERSION));
}

describe('the API version', () => {
  it('answers apiVersion without a key: the package version, the schema major version and the digest of schema/schema.graphql', async () => {
    const data = await client(server.url, null).ok(`{ apiVersion { server schema schemaDigest } }`);
    expect(data.apiVersion).toEqual({
      server: packageVersion,
      schema: SCHEMA_VERSION,
      schemaDigest: createHash('sha256').update(printed).digest('hex'),
    });
    expect(packageVersion).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('puts the version headers on every response of /graphql: an answer, a refusal, a bad request, a GET, an event stream', async () => {
    const ok = await post(JSON.stringify({ query: '{ viewer { kind } }' }), { 'x-api-key': ws.key });
    expect(ok.status).toBe(200);
    expectVersionHeaders(ok);

    const refused = await post(JSON.stringify({ query: '{ viewer { kind } }' }), { 'x-api-key': 'prl_not_a_key' });
    expect(refused.status).toBe(401);
    expectVersionHeaders(refused);

    const malformed = await post('{ not json');
    expect(malformed.status).toBe(400);
    expectVersionHeaders(malformed);

    const tooLarge = await post(JSON.stringify({ query: `{ apiVersion { server } } # ${'x'.repeat(600 * 1024)}` }));
    expect(tooLarge.status).toBe(413);
    expectVersionHeaders(tooLarge);

    const url = `${server.url}/graphql?query=${encodeURIComponent('{ apiVersion { schema } }')}`;
    const get = await fetch(url, { headers: { 'x-graphql-yoga-csrf': '1' } });
    expect(get.status).toBe(200);
    expectVersionHeaders(get);
    // A GET without a header a form cannot send is refused (CSRF prevention): with the versions too.
    const csrf = await fetch(url);
    expect(csrf.status).toBe(403);
    expectVersionHeaders(csrf);

    const controller = new AbortController();
    const stream = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': ws.key },
      body: JSON.stringify({ query: 'subscription { conversationEvents { cursor } }' }),
      signal: controller.signal,
    });
    expect(stream.headers.get('content-type')).toContain('text/event-stream');
    expectVersionHeaders(stream);
    controller.abort();
  });

  it('lets a browser of another origin read the version headers and the request id (CORS)', async () => {
    const res = await post(JSON.stringify({ query: '{ apiVersion { schema } }' }), { origin: 'https://app.example.test' });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.test');
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    expect(exposed).toEqual(expect.arrayContaining(['x-parley-version', 'x-parley-schema-version', 'x-request-id']));
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expectVersionHeaders(res);
  });

  it('leaves other routes without them', async () => {
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-parley-version')).toBeNull();
  });
});
