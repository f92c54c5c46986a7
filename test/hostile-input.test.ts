// Input that PostgreSQL (or the server's own code) cannot take, refused at the edge with
// BAD_USER_INPUT, over HTTP and over WebSocket, as variables and as literals: input nested up to
// 100,000 levels deep, custom attributes past their limits, lone UTF-16 surrogates, and dates
// that do not exist. Never an internal error, and nothing written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';
import { liveClient, RawSocket } from './support/ws.js';

let server: TestServer;
let ws: SeededWorkspace;
let api: ReturnType<typeof client>;
let live: ReturnType<typeof liveClient>;
let conversationId: string;
let contactId: string;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Hostile input');
  api = client(server.url, ws.key);
  live = liveClient(server.url, ws.key);
  const made = await api.ok(
    `mutation($inbox: ID!) { createConversation(input: { inboxId: $inbox, contact: { name: "Ada", email: "ada@example.test" }, message: { content: "hi", senderType: CONTACT } }) {
      ... on CreateConversationPayload { conversation { id contact { id } } } ... on Error { code message } } }`,
    { inbox: globalId('Inbox', ws.inboxes.email.id) },
  );
  if (!made.createConversation.conversation) throw new Error(JSON.stringify(made));
  conversationId = made.createConversation.conversation.id;
  contactId = made.createConversation.conversation.contact.id;
});
afterAll(async () => {
  await live?.dispose();
  await server?.close();
});

/** Everything of the workspace a refused mutation might have written. */
async function written(): Promise<string> {
  const p = server.db.prisma;
  const where = { workspaceId: ws.workspaceId };
  return JSON.stringify({
    contacts: await p.contact.findMany({ where, orderBy: { id: 'asc' } }),
    conversations: await p.conversation.findMany({ where, orderBy: { id: 'asc' } }),
    labels: await p.label.count({ where }),
    keys: await p.apiKey.count({ where }),
    events: await p.event.count({ where }),
  });
}

function expectBadInput(res: { status?: number; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }, pattern: RegExp, what = '') {
  const text = JSON.stringify(res);
  if (res.status !== undefined) expect(res.status, what).toBeLessThan(500);
  expect(text, what).not.toMatch(/INTERNAL_SERVER_ERROR|Maximum call stack|at .*\.(ts|js):\d+/);
  expect(res.errors?.[0]?.extensions?.code, `${what} ${text.slice(0, 300)}`).toBe('BAD_USER_INPUT');
  expect(res.errors?.[0]?.message, what).toMatch(pattern);
}

/** An operation over graphql-ws: its result, or the errors it was refused with. */
async function overSocket(query: string, variables: Record<string, unknown> = {}) {
  const feed = live.subscribe(query, variables);
  try {
    const result = await feed.next();
    return { errors: result.errors as { message: string; extensions?: Record<string, unknown> }[] | undefined, data: result.data };
  } catch {
    return { errors: feed.error as { message: string; extensions?: Record<string, unknown> }[], data: undefined };
  }
}

/**
 * A request whose variables are given as JSON text: values nested 100,000 levels deep cannot
 * be serialised by JSON.stringify (nor by graphql-ws's client) without overflowing the stack.
 */
async function withRawVariables(query: string, variables: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ws.key },
    body: `{"query":${JSON.stringify(query)},"variables":${variables}}`,
  });
  const text = await res.text();
  return { status: res.status, ...JSON.parse(text) } as { status: number; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}
async function withRawVariablesOverSocket(query: string, variables: string) {
  const socket = await RawSocket.open(server.url);
  try {
    await socket.init(ws.key);
    socket.send(`{"id":"1","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":${variables}}}`);
    const reply = await socket.message();
    return { errors: reply.type === 'error' ? reply.payload : reply.payload?.errors };
  } finally {
    socket.close();
  }
}
/** JSON text of `{ ...fields, <name>: <value> }`, the value given as JSON text. */
const deepJson = (fields: Record<string, unknown>, name: string, value: string) =>
  `${JSON.stringify(fields).slice(0, -1)}${Object.keys(fields).length ? ',' : ''}"${name}":${value}}`;
const DEEP_ARRAYS = `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
const DEEP_OBJECTS = `${'{"a":'.repeat(40_000)}1${'}'.repeat(40_000)}`;

/** updateContact with custom attributes `{ a: [[...]] }` written as a literal, nested `levels` deep in all. */
const deepLiteral = (levels: number) =>
  `mutation { updateContact(input: { contactId: "${contactId}", customAttributes: { a: ${'['.repeat(levels - 1)}${']'.repeat(levels - 1)} } }) { __typename } }`;

/** An array nested `levels` deep, built without recursion. */
function nestedArray(levels: number): unknown {
  let value: unknown = [];
  for (let i = 1; i < levels; i++) value = [value];
  return value;
}
/** Objects nested `levels` deep: `{ a: { a: ... { a: 1 } } }`. */
function nestedObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const WITH_ATTRIBUTES: Record<string, [string, () => Record<string, unknown>]> = {
  updateConversation: [
    `mutation($attrs: JSONObject!, $id: ID!) { updateConversation(input: { conversationId: $id, customAttributes: $attrs }) { __typename ... on Error { code message } } }`,
    () => ({ id: conversationId }),
  ],
  createContact: [`mutation($attrs: JSONObject!) { createContact(input: { name: "New", customAttributes: $attrs }) { __typename ... on Error { code message } } }`, () => ({})],
  updateContact: [
    `mutation($attrs: JSONObject!, $id: ID!) { updateContact(input: { contactId: $id, customAttributes: $attrs }) { __typename ... on Error { code message } } }`,
    () => ({ id: contactId }),
  ],
  createConversation: [
    `mutation($attrs: JSONObject!, $inbox: ID!) { createConversation(input: { inboxId: $inbox, contact: { name: "Eve", email: "eve@example.test" }, customAttributes: $attrs }) { __typename ... on Error { code message } } }`,
    () => ({ inbox: globalId('Inbox', ws.inboxes.email.id) }),
  ],
};

describe('input nested too deep', () => {
  it('refuses 100,000 levels of nesting as a variable, over HTTP and WebSocket, without overflowing anything', async () => {
    const before = await written();
    for (const attrs of [DEEP_ARRAYS, DEEP_OBJECTS]) {
      for (const [name, [query, vars]] of Object.entries(WITH_ATTRIBUTES)) {
        expectBadInput(await withRawVariables(query, deepJson(vars(), 'attrs', attrs)), /Variables may nest objects and lists at most 64 levels deep/, name);
      }
      const [query, vars] = WITH_ATTRIBUTES.updateContact!;
      expectBadInput(await withRawVariablesOverSocket(query, deepJson(vars(), 'attrs', attrs)), /at most 64 levels deep/, 'over WebSocket');
      // Not only where a JSONObject is expected: any variable, used or not.
      expectBadInput(await withRawVariables('query($s: String) { labels(search: $s) { id } }', deepJson({ s: 'x' }, 'unused', attrs)), /at most 64 levels deep/);
      expectBadInput(await withRawVariablesOverSocket('subscription { conversationEvents { cursor } }', deepJson({}, 'unused', attrs)), /at most 64 levels deep/, 'subscription');
    }
    expect(await written()).toBe(before);
  });

  it('refuses a literal nested 100,000 levels deep before parsing it, over HTTP and WebSocket', async () => {
    const before = await written();
    for (const levels of [100_000, 3_000]) {
      expectBadInput(await api.request(deepLiteral(levels)), /A document may nest braces, brackets and parentheses at most 64 levels deep/, `${levels}`);
      expectBadInput(await overSocket(deepLiteral(levels)), /at most 64 levels deep/, `${levels} over WebSocket`);
    }
    // Brackets in strings and comments are not nesting.
    const text = `mutation { updateContact(input: { contactId: "${contactId}", customAttributes: { a: "${'['.repeat(100)}", b: """${'{'.repeat(100)}""" } }) { __typename } } # ${'('.repeat(100)}`;
    expect((await api.ok(text)).updateContact.__typename).toBe('UpdateContactPayload');
    expect(await written()).not.toBe(before);
  });
});

describe('lone surrogates', () => {
  const LABEL = `mutation($name: String!) { createLabel(input: { name: $name }) { __typename ... on Error { code message } } }`;
  const [ATTRS, attrVars] = WITH_ATTRIBUTES.updateContact!;
  const lone = ['a\udc00b', 'a\ud800', '\ud800b', '\udc00\ud800'];

  it('refuses a lone surrogate in any text of the variables, keys of JSON values included, over HTTP and WebSocket', async () => {
    const before = await written();
    for (const s of lone) {
      expectBadInput(await api.request(LABEL, { name: s }), /lone UTF-16 surrogate/, JSON.stringify(s));
      expectBadInput(await api.request(ATTRS, { ...attrVars(), attrs: { note: s } }), /lone UTF-16 surrogate/);
      expectBadInput(await api.request(ATTRS, { ...attrVars(), attrs: { [s]: 1 } }), /lone UTF-16 surrogate/);
      expectBadInput(await api.request(ATTRS, { ...attrVars(), attrs: { list: [['ok', s]] } }), /lone UTF-16 surrogate/);
      expectBadInput(await api.request('query($s: String) { conversations(filter: { search: $s }) { edges { cursor } } }', { s }), /lone UTF-16 surrogate/);
      expectBadInput(await overSocket(LABEL, { name: s }), /lone UTF-16 surrogate/, 'over WebSocket');
      expectBadInput(await overSocket(ATTRS, { ...attrVars(), attrs: { [s]: s } }), /lone UTF-16 surrogate/, 'over WebSocket');
    }
    expect(await written()).toBe(before);
  });

  it('refuses a lone surrogate in a literal, escaped or raw, over HTTP and WebSocket', async () => {
    const before = await written();
    const literals = [
      // Escaped in the document: \udc00, \ud800 alone, \ud800 followed by something else, \u{D800}.
      ...['\\udc00', 'a\\ud800', '\\ud800\\u0041', '\\u{D800}'].map((e) => `mutation { createLabel(input: { name: "${e}" }) { __typename } }`),
      `mutation { updateContact(input: { contactId: "${contactId}", customAttributes: { note: "\\udc00" } }) { __typename } }`,
      // Raw: the JSON body's "\udc00" escape puts the lone code unit itself into the document.
      ...lone.map((s) => `mutation { createLabel(input: { name: "${s}" }) { __typename } }`),
      `mutation { createLabel(input: { name: "ok" }) { __typename } } # ${lone[0]}`,
    ];
    for (const query of literals) {
      expectBadInput(await api.request(query), /lone UTF-16 surrogate/, query);
      expectBadInput(await overSocket(query), /lone UTF-16 surrogate/, `${query} over WebSocket`);
    }
    expect(await written()).toBe(before);
  });

  it('takes surrogate pairs, raw and escaped, and a block string that spells \\udc00 as text', async () => {
    const made = await api.ok(LABEL, { name: 'smile \ud83d\ude00' });
    expect(made.createLabel.__typename).toBe('CreateLabelPayload');
    expect((await api.ok(`mutation { createLabel(input: { name: "wink \\ud83d\\ude09" }) { __typename } }`)).createLabel.__typename).toBe('CreateLabelPayload');
    expect((await api.ok(`mutation { createLabel(input: { name: """text \\udc00""" }) { __typename } }`)).createLabel.__typename).toBe('CreateLabelPayload');
    const names = (await api.ok('{ labels { name } }')).labels.map((l: { name: string }) => l.name);
    expect(names).toEqual(expect.arrayContaining(['smile \ud83d\ude00', 'wink \ud83d\ude09', 'text \\udc00']));
  });
});

describe('custom attributes', () => {
  it('refuses attributes nested deeper than 5 levels, by every mutation that takes them, as a variable or a literal', async () => {
    const before = await written();
    for (const [name, [query, vars]] of Object.entries(WITH_ATTRIBUTES)) {
      expectBadInput(await api.request(query, { ...vars(), attrs: nestedObject(6) }), /customAttributes may nest at most 5 levels deep/, name);
      expectBadInput(await api.request(query, { ...vars(), attrs: { list: nestedArray(5) } }), /at most 5 levels deep/, name);
    }
    expect(await written()).toBe(before);
    // Between the two limits of nesting (5 for attributes, 64 for any input): refused as custom attributes.
    expectBadInput(await api.request(WITH_ATTRIBUTES.updateContact![0], { id: contactId, attrs: nestedObject(60) }), /customAttributes may nest at most 5/);
    // As a literal, over HTTP and WebSocket.
    expectBadInput(await api.request(deepLiteral(6)), /customAttributes may nest at most 5 levels deep/);
    expectBadInput(await overSocket(deepLiteral(6)), /customAttributes may nest at most 5 levels deep/);
    expect(await written()).toBe(before);
    // Five levels are fine, objects and lists alike.
    const ok = await api.ok(WITH_ATTRIBUTES.updateContact![0], { id: contactId, attrs: { list: nestedArray(4), deep: nestedObject(4) } });
    expect(ok.updateContact.__typename).toBe('UpdateContactPayload');
  });

  it('refuses more than 100 keys in all, keys over 64 characters and more than 16 KB', async () => {
    const before = await written();
    const [query, vars] = WITH_ATTRIBUTES.updateConversation!;
    const keyed = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, { v: i }]));
    expectBadInput(await api.request(query, { ...vars(), attrs: keyed(51) }), /at most 100 keys in all/);
    expectBadInput(await api.request(query, { ...vars(), attrs: { ['k'.repeat(65)]: 1 } }), /keys are limited to 64 characters/);
    expectBadInput(await api.request(query, { ...vars(), attrs: { big: 'x'.repeat(17 * 1024) } }), /limited to 16 KB/);
    expectBadInput(await overSocket(query, { ...vars(), attrs: keyed(51) }), /at most 100 keys/);
    expect(await written()).toBe(before);
    // At the limits: stored.
    for (const attrs of [keyed(50), { ['k'.repeat(64)]: 1 }, { big: 'x'.repeat(15 * 1024) }]) {
      const res = await api.ok(query, { ...vars(), attrs });
      expect(res.updateConversation.__typename).toBe('UpdateConversationPayload');
    }
  });
});

describe('dates that do not exist', () => {
  const impossible = [
    '2027-02-30T09:00:00Z',
    '2027-02-29T09:00:00Z', // 2027 is not a leap year
    '2100-02-29T09:00:00Z', // nor is 2100
    '2027-04-31T09:00:00Z',
    '2027-01-32T09:00:00Z',
    '2027-01-00T09:00:00Z',
    '2027-13-01T09:00:00Z',
    '2027-00-10T09:00:00Z',
    '2027-01-01T24:00:00Z',
    '2027-01-01T23:60:00Z',
    '2027-01-01T23:59:60Z',
    '2027-01-01T09:00:00+24:00',
    '2027-01-01T09:00:00+02:60',
  ];
  const SNOOZE = `mutation($id: ID!, $until: DateTime!) { snoozeConversation(input: { conversationId: $id, until: $until }) { __typename ... on Error { code message } } }`;
  const STATS = `query($r: TimeRange) { conversationStats(range: $r) { total } }`;
  const KEY = `mutation($at: DateTime) { createApiKey(input: { name: "k", scopes: [READ_CONVERSATIONS], expiresAt: $at }) { __typename ... on Error { code message } } }`;

  it('refuses them as variables, for snoozes, ranges, filters and key expiry, over HTTP and WebSocket', async () => {
    const before = await written();
    for (const d of impossible) {
      expectBadInput(await api.request(SNOOZE, { id: conversationId, until: d }), /is not a valid date/, d);
      expectBadInput(await api.request(STATS, { r: { from: d } }), /is not a valid date/, d);
      expectBadInput(await api.request('query($f: ConversationFilter) { conversations(filter: $f) { edges { cursor } } }', { f: { createdAt: { to: d } } }), /is not a valid date/, d);
      expectBadInput(await api.request(KEY, { at: d }), /is not a valid date/, d);
      expectBadInput(await overSocket(SNOOZE, { id: conversationId, until: d }), /is not a valid date/, `${d} over WebSocket`);
    }
    expect(await written()).toBe(before);
  });

  it('refuses them as literals', async () => {
    const before = await written();
    for (const d of impossible) {
      expectBadInput(await api.request(`mutation { snoozeConversation(input: { conversationId: "${conversationId}", until: "${d}" }) { __typename } }`), /is not a valid date/, d);
      expectBadInput(await api.request(`{ conversationStats(range: { from: "${d}" }) { total } }`), /is not a valid date/, d);
      expectBadInput(await overSocket(`{ conversationStats(range: { to: "${d}" }) { total } }`), /is not a valid date/, `${d} over WebSocket`);
    }
    expect(await written()).toBe(before);
  });

  it('says what is wrong', async () => {
    const message = async (d: string) => (await api.request(STATS, { r: { from: d } })).errors?.[0]?.message;
    expect(await message('2027-02-30T09:00:00Z')).toMatch(/February 2027 has 28 days/);
    expect(await message('2028-02-30T09:00:00Z')).toMatch(/February 2028 has 29 days/);
    expect(await message('2027-13-01T09:00:00Z')).toMatch(/there is no month 13/);
    expect(await message('2027-01-01T24:00:00Z')).toMatch(/hours run from 00 to 23/);
  });

  it('takes leap days, offsets and fractional seconds, at the instant they name', async () => {
    const snoozed = async (until: string) => {
      const res = await api.ok(
        `mutation($id: ID!, $until: DateTime!) { snoozeConversation(input: { conversationId: $id, until: $until }) { ... on SnoozeConversationPayload { conversation { snoozedUntil } } ... on Error { code message } } }`,
        { id: conversationId, until },
      );
      return res.snoozeConversation.conversation?.snoozedUntil ?? JSON.stringify(res);
    };
    expect(await snoozed('2096-02-29T09:30:00.123456789+02:00')).toBe('2096-02-29T07:30:00.123Z');
    const expiry = async (at: string) => {
      const res = await api.ok(KEY.replace('__typename', '__typename ... on ApiKeySecretPayload { apiKey { expiresAt } }'), { at });
      return res.createApiKey.apiKey?.expiresAt ?? JSON.stringify(res);
    };
    expect(await expiry('2400-02-29T23:59:59-05:30')).toBe('2400-03-01T05:29:59.000Z');
    expect(await expiry('2099-12-31T23:59Z')).toBe('2099-12-31T23:59:00.000Z');
    expect(await expiry('2096-02-29T12:00:00.5+01:00')).toBe('2096-02-29T11:00:00.500Z');
    const literal = await api.request(`{ conversationStats(range: { from: "2000-02-29T00:00:00.5Z", to: "2096-02-29T00:00:00+14:00" }) { total } }`);
    expect(literal.errors).toBeUndefined();
  });
});
