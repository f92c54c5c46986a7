// The access log, read from a real server's log: one line per HTTP request and per WebSocket
// operation, with the request id the client sent (or one made for it) echoed in
// `x-request-id`; who and what, never a secret nor a variable's value. Its level is set by
// ACCESS_LOG_LEVEL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, gql } from './support/graphql.js';
import { LogCapture, type LogLine } from './support/log.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';
import { RawSocket } from './support/ws.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SECRET_VALUE = 'a-variable-value-that-must-never-be-logged';

let server: TestServer;
let ws: SeededWorkspace;
const log = new LogCapture();

beforeAll(async () => {
  server = await startTestServer({ env: { LOG_LEVEL: 'info' }, start: { logDestination: log.stream } });
  ws = await seedWorkspace(server.db.prisma, 'Logged workspace');
});
afterAll(async () => {
  await server?.close();
  // Whatever was logged, no secret: not the key, not a variable's value, not a query's text.
  expect(log.text).not.toContain(ws.key);
  expect(log.text).not.toContain(SECRET_VALUE);
  expect(log.text).not.toContain('conversations(first');
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ws.key, ...headers },
    body: JSON.stringify(body),
  });
}

const requestLine = (requestId: string) => log.waitFor((l) => l.msg === 'request' && l.requestId === requestId, `for request ${requestId}`);

describe('the access log over HTTP', () => {
  it('writes one line per request, with the id the client sent, echoed back', async () => {
    const query = 'query FindConversations($q: String) { conversations(first: 5, filter: { search: $q }) { totalCount } }';
    const res = await post({ query, variables: { q: SECRET_VALUE } }, { 'x-request-id': 'client-request-0001' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('client-request-0001');
    const body = await res.json();
    expect(body.errors).toBeUndefined();

    const line = await requestLine('client-request-0001');
    expect(line).toMatchObject({
      level: 30,
      msg: 'request',
      transport: 'http',
      method: 'POST',
      path: '/graphql',
      status: 200,
      operationType: 'query',
      operationName: 'FindConversations',
      cost: body.extensions.cost.requested,
      keyPrefix: ws.key.slice(0, 12),
      workspaceId: ws.workspaceId,
    });
    expect(line.durationMs).toBeGreaterThan(0);
    expect(line.errorCodes).toBeUndefined();
    expect(log.lines.filter((l) => l.requestId === 'client-request-0001')).toHaveLength(1);
  });

  it('makes an id when the client sends none or one that is not sane, and echoes it', async () => {
    for (const sent of [undefined, 'x'.repeat(200), 'has spaces in it', 'quote"d']) {
      const res = await post({ query: '{ viewer { kind } }' }, sent === undefined ? {} : { 'x-request-id': sent });
      const id = res.headers.get('x-request-id')!;
      expect(id, String(sent)).toMatch(UUID);
      await res.text();
      expect((await requestLine(id)).operationType).toBe('query');
    }
  });

  it('says which error codes an operation failed with, and the HTTP status', async () => {
    const unauthenticated = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'no-key-request' },
      body: JSON.stringify({ query: 'query Mine { conversations(first: 1) { totalCount } }' }),
    });
    const line = await requestLine('no-key-request');
    expect(line).toMatchObject({ status: unauthenticated.status, operationType: 'query', operationName: 'Mine', errorCodes: ['UNAUTHENTICATED'] });
    expect(line.keyPrefix).toBeUndefined();

    const wrongKey = await post({ query: '{ viewer { kind } }' }, { 'x-api-key': 'prl_0123456789abcdefNOTAKEY', 'x-request-id': 'wrong-key' });
    expect((await requestLine('wrong-key')).errorCodes).toEqual(['UNAUTHENTICATED']);
    expect(log.text).not.toContain('prl_0123456789abcdefNOTAKEY');
    await wrongKey.text();

    await post({ query: '{ nope }' }, { 'x-request-id': 'invalid-request' });
    expect(await requestLine('invalid-request')).toMatchObject({ operationType: 'query', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] });
  });

  it('lists the operations of a batch on the request line', async () => {
    const res = await post([{ query: 'query One { viewer { kind } }' }, { query: 'mutation Two { nope }' }], { 'x-request-id': 'batch-request' });
    expect(res.status).toBe(200);
    const line = await requestLine('batch-request');
    expect(line.operations).toEqual([
      expect.objectContaining({ operationType: 'query', operationName: 'One' }),
      expect.objectContaining({ operationType: 'mutation', operationName: 'Two', errorCodes: ['GRAPHQL_VALIDATION_FAILED'] }),
    ]);
    expect(line.keyPrefix).toBe(ws.key.slice(0, 12));
  });

  it('logs other routes too, without their query string; probes a level lower', async () => {
    const res = await fetch(`${server.url}/nowhere?token=${SECRET_VALUE}`, { headers: { 'x-request-id': 'lost-request' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('lost-request');
    expect(await requestLine('lost-request')).toMatchObject({ method: 'GET', path: '/nowhere', status: 404 });

    // Successful probes are logged at debug: not at this server's LOG_LEVEL (info).
    const probe = await fetch(`${server.url}/healthz`, { headers: { 'x-request-id': 'probe-request' } });
    expect(probe.headers.get('x-request-id')).toBe('probe-request');
    await post({ query: '{ viewer { kind } }' }, { 'x-request-id': 'after-probe' });
    await requestLine('after-probe');
    expect(log.lines.find((l) => l.requestId === 'probe-request')).toBeUndefined();
  });

  it('has no /metrics without METRICS_TOKEN', async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer anything-at-all-0123456789' } });
    expect(res.status).toBe(404);
  });
});

describe('the access log over WebSocket', () => {
  it('writes a line per operation, with the connection id from the upgrade request', async () => {
    const socket = await RawSocket.open(server.url, ['graphql-transport-ws'], { headers: { 'x-request-id': 'socket-0001' } });
    try {
      expect(socket.upgradeHeaders['x-request-id']).toBe('socket-0001');
      await socket.init(ws.key);
      socket.send({ id: 'q1', type: 'subscribe', payload: { query: 'query Who($q: String) { viewer { kind } conversations(first: 1, filter: { search: $q }) { totalCount } }', variables: { q: SECRET_VALUE } } });
      expect((await socket.message('next')).payload.data.viewer.kind).toBe('TEAM');
      socket.send({ id: 's1', type: 'subscribe', payload: { query: 'subscription Follow { conversationEvents { kind } }' } });
      socket.send({ id: 'e1', type: 'subscribe', payload: { query: 'query Broken { nope }' } });
      expect((await socket.message('error')).id).toBe('e1');

      const byName = (name: string) => log.waitFor((l) => l.msg === 'websocket operation' && l.operationName === name, `for ${name}`);
      const who = await byName('Who');
      expect(who).toMatchObject({
        level: 30,
        transport: 'websocket',
        connectionId: 'socket-0001',
        operationType: 'query',
        keyPrefix: ws.key.slice(0, 12),
        workspaceId: ws.workspaceId,
      });
      expect(who.requestId).toMatch(UUID);
      expect(who.cost).toBeGreaterThan(0);
      expect(await byName('Follow')).toMatchObject({ connectionId: 'socket-0001', operationType: 'subscription', keyPrefix: ws.key.slice(0, 12) });
      expect(await byName('Broken')).toMatchObject({ operationType: 'query', errorCodes: ['GRAPHQL_VALIDATION_FAILED'], keyPrefix: ws.key.slice(0, 12) });
    } finally {
      socket.close();
    }
  });
});

describe('ACCESS_LOG_LEVEL', () => {
  it('sets the level of the lines', async () => {
    const loud = new LogCapture();
    const other = await startTestServer({ env: { LOG_LEVEL: 'info', ACCESS_LOG_LEVEL: 'warn' }, start: { logDestination: loud.stream } });
    try {
      const key = (await seedWorkspace(other.db.prisma)).key;
      expect((await client(other.url, key).ok('query Loud { viewer { kind } }')).viewer.kind).toBe('TEAM');
      expect((await gql(other.url, '{ viewer { kind } }', {}, { key: null })).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await loud.waitFor((l) => l.operationName === 'Loud', 'for Loud')).level).toBe(40);
      expect((await loud.waitFor((l) => l.errorCodes?.[0] === 'UNAUTHENTICATED', 'for the refusal')).level).toBe(40);
      // Probes stay a level lower than other requests: debug, below this LOG_LEVEL.
      await fetch(`${other.url}/readyz`);
    } finally {
      await other.close();
    }
    const lines: LogLine[] = loud.lines.filter((l) => l.msg === 'request');
    expect(lines.map((l) => [l.path, l.level])).toEqual([
      ['/graphql', 40],
      ['/graphql', 40],
    ]);
  });
});
