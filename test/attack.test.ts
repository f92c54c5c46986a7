// The attack suite. Workspace B (the attacker, a TEAM key with every scope) and keys of
// workspace A that lack scopes or are CONNECTOR keys try every query field and mutation the
// schema has (the matrix is generated from the schema), aiming at A's objects by global id,
// by display number, by filter and by nested path; then abusive requests. Nothing of A may
// leak, nothing of A may change, and the server never fails with a 500.
import { getNamedType, isObjectType, type GraphQLField, type GraphQLObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.js';
import { createPlatformKey } from '../src/services/platform.js';
import { operationFor, variants, victimStrings, type IdsByType } from './support/attack.js';
import { client, gql, globalId } from './support/graphql.js';
import { liveClient, sleep } from './support/ws.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { until } from './support/process.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let victim: SeededWorkspace;
let attacker: SeededWorkspace;
const ids: IdsByType = {};
let rawIds: string[] = [];
let numbers: number[] = [];
const MARKERS = {
  contactName: 'Zebulon Quillfeather',
  contactEmail: 'zebulon@victim.test',
  content: 'marmalade7731',
  note: 'tangerine4402',
  subject: 'saffron9150',
  label: 'vermilion3318',
  webhook: 'https://hooks.victim.test/cobalt5521',
  cannedCode: '/ochre6187',
  cannedContent: 'periwinkle2264',
  ruleName: 'umber8842',
  surveyComment: 'heliotrope5150',
};
/** The token of the victim's survey (from its card): a secret like the markers. */
let surveyToken = '';
let requests = 0;
const serverErrors: string[] = [];

/** Every row of workspace A that matters, to compare before and after the attacks. */
async function snapshot(): Promise<string> {
  const p = server.db.prisma;
  const where = { workspaceId: victim.workspaceId };
  const rows = {
    workspace: await p.workspace.findUnique({ where: { id: victim.workspaceId } }),
    users: await p.user.findMany({ where, orderBy: { id: 'asc' } }),
    keys: (await p.apiKey.findMany({ where, orderBy: { id: 'asc' } })).map(({ lastUsedAt: _ignored, ...k }) => k),
    inboxes: await p.inbox.findMany({ where, orderBy: { id: 'asc' } }),
    contacts: await p.contact.findMany({ where, orderBy: { id: 'asc' }, include: { identities: true } }),
    conversations: await p.conversation.findMany({ where, orderBy: { id: 'asc' }, include: { labels: { select: { id: true } } } }),
    messages: await p.message.findMany({ where, orderBy: { id: 'asc' } }),
    labels: await p.label.findMany({ where, orderBy: { id: 'asc' } }),
    handoffs: await p.handoff.findMany({ where, orderBy: { id: 'asc' } }),
    events: await p.event.count({ where }),
    // What an attacker could change (the workers change attempts and failure times, not these).
    webhookEndpoints: (await p.webhookEndpoint.findMany({ where, orderBy: { id: 'asc' } })).map((e) => [e.id, e.url, e.kind, e.secret, e.eventKinds, e.filter, e.payloadDocument, e.description]),
    webhookDeliveries: (await p.webhookDelivery.findMany({ where, orderBy: { id: 'asc' } })).map((d) => [d.id, d.endpointId, d.body, d.messageId]),
    cannedResponses: await p.cannedResponse.findMany({ where, orderBy: { id: 'asc' }, include: { inboxes: { select: { id: true } } } }),
    automationRules: await p.automationRule.findMany({ where, orderBy: { id: 'asc' } }),
    automationRuns: await p.automationRun.findMany({ where, orderBy: { id: 'asc' } }),
    surveys: await p.survey.findMany({ where, orderBy: { id: 'asc' } }),
  };
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

async function attack(key: string, query: string, variables: Record<string, unknown>) {
  requests += 1;
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  if (res.status >= 500 || text.includes('INTERNAL_SERVER_ERROR')) serverErrors.push(`${res.status} ${query.slice(0, 120)} ${text.slice(0, 300)}`);
  return { status: res.status, text, body: JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] } };
}

/** What of A appears in a response and was not already in the request (database ids never should). */
function leaks(request: string, response: string, secrets: string[]): string[] {
  return secrets.filter((s) => response.includes(s) && !request.includes(s));
}

const rootFields = (type: GraphQLObjectType | null | undefined) =>
  Object.values(type?.getFields() ?? {}) as GraphQLField<unknown, unknown>[];

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  victim = await seedWorkspace(server.db.prisma, 'Victim');
  attacker = await seedWorkspace(server.db.prisma, 'Attacker');
  const a = client(server.url, victim.key);
  // A webhook endpoint first, so the victim's events give it deliveries (attempts fail: the host does not resolve).
  await a.ok(`mutation($url: String!) { createWebhookEndpoint(input: { url: $url, description: "victim's CRM" }) { ... on WebhookEndpointSecretPayload { endpoint { id } } } }`, {
    url: MARKERS.webhook,
  });
  // An automation rule, before the conversation: its creation gives it a run (NOT_MATCHED, the domain differs).
  const rule = await a.ok(
    `mutation($input: CreateAutomationRuleInput!) { createAutomationRule(input: $input) { __typename ... on Error { code message } } }`,
    { input: { name: MARKERS.ruleName, trigger: 'CONVERSATION_CREATED', conditions: { all: [{ contactEmailDomains: ['nowhere.test'] }] }, actions: [{ type: 'SET_PRIORITY', priority: 'URGENT' }] } },
  );
  expect(rule.createAutomationRule.__typename).toBe('CreateAutomationRulePayload');
  const label = await a.ok(`mutation($n: String!) { createLabel(input: { name: $n }) { ... on CreateLabelPayload { label { id } } } }`, { n: MARKERS.label });
  const created = await a.ok(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id number } } ... on Error { code message } } }`,
    {
      input: {
        inboxId: globalId('Inbox', victim.inboxes.email.id),
        contact: { name: MARKERS.contactName, email: MARKERS.contactEmail },
        subject: MARKERS.subject,
        labelIds: [label.createLabel.label.id],
        message: { content: MARKERS.content, senderType: 'CONTACT' },
      },
    },
  );
  const conversationId = created.createConversation.conversation.id;
  // Two canned responses: one for every inbox, one limited to the conversation's inbox.
  for (const inboxIds of [[], [globalId('Inbox', victim.inboxes.email.id)]]) {
    const canned = await a.ok(
      `mutation($input: CreateCannedResponseInput!) { createCannedResponse(input: $input) { __typename ... on Error { code message } } }`,
      { input: { shortCode: `${MARKERS.cannedCode}${inboxIds.length}`, title: 'Victim reply', content: `${MARKERS.cannedContent} {{contact.name}}`, inboxIds } },
    );
    expect(canned.createCannedResponse.__typename).toBe('CreateCannedResponsePayload');
  }
  const send = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename ... on Error { code message } } }`;
  await a.ok(send, { input: { conversationId, senderType: 'HUMAN', content: MARKERS.note, private: true } });
  await a.ok(send, { input: { conversationId, senderType: 'AI_AGENT', content: `reply about ${MARKERS.content}` } });
  await a.ok(
    // The handoff's summary is an internal note too (it is the note of the handoff's event).
    `mutation($id: ID!, $summary: String!) { startHumanHandoff(input: { conversationId: $id, reason: "needs a human", summary: $summary }) { __typename } }`,
    { id: conversationId, summary: `summary: ${MARKERS.note}` },
  );
  // A second conversation of the contact, resolved with a survey, answered with a comment.
  const second = await a.ok(
    `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } ... on Error { code message } } }`,
    { input: { inboxId: globalId('Inbox', victim.inboxes.email.id), contactId: (await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { contact { id } } } }`, { id: conversationId })).node.contact.id } },
  );
  const surveyed = second.createConversation.conversation.id;
  await a.ok(`mutation($id: ID!) { resolveConversation(input: { conversationId: $id, reason: ISSUE_RESOLVED, requestSatisfaction: true }) { __typename } }`, { id: surveyed });
  const card = await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { surveys { message { card { actions { url } } } } } } }`, { id: surveyed });
  const link: string = card.node.surveys[0].message.card.actions[0].url;
  surveyToken = new URL(link).pathname.split('/').pop()!;
  victimStrings.token = surveyToken;
  const widget = client(server.url, (await victim.makeKey({ kind: 'CONNECTOR', scopes: ['WRITE_CONVERSATIONS'], userId: null })).secret);
  const answered = await widget.ok(`mutation($t: String!, $c: String!) { answerSurvey(input: { token: $t, rating: 2, comment: $c }) { __typename } }`, { t: surveyToken, c: MARKERS.surveyComment });
  expect(answered.answerSurvey.__typename).toBe('AnswerSurveyPayload');
  const p = server.db.prisma;
  const w = { workspaceId: victim.workspaceId };
  const byType: Record<string, string[]> = {
    Workspace: [victim.workspaceId],
    User: (await p.user.findMany({ where: w })).map((r) => r.id),
    ApiKey: (await p.apiKey.findMany({ where: w })).map((r) => r.id),
    Inbox: (await p.inbox.findMany({ where: w })).map((r) => r.id),
    Contact: (await p.contact.findMany({ where: w })).map((r) => r.id),
    // The first conversation first: the tests below read its note and handoff (the second is the surveyed one).
    Conversation: (await p.conversation.findMany({ where: w, orderBy: { number: 'asc' } })).map((r) => r.id),
    Message: (await p.message.findMany({ where: w })).map((r) => r.id),
    Label: (await p.label.findMany({ where: w })).map((r) => r.id),
    Handoff: (await p.handoff.findMany({ where: w })).map((r) => r.id),
    TimelineEvent: (await p.event.findMany({ where: w, take: 3 })).map((r) => r.id),
    WebhookEndpoint: (await p.webhookEndpoint.findMany({ where: w })).map((r) => r.id),
    CannedResponse: (await p.cannedResponse.findMany({ where: w })).map((r) => r.id),
    AutomationRule: (await p.automationRule.findMany({ where: w })).map((r) => r.id),
    Survey: (await p.survey.findMany({ where: w })).map((r) => r.id),
    AutomationRunLog: await (async () => {
      // The rule's run recorded (the snapshot must not see it arriving).
      await until(async () => (await p.automationRun.count({ where: w })) > 0, "the victim's rule to run", 60_000);
      return (await p.automationRun.findMany({ where: w })).map((r) => r.id);
    })(),
    WebhookDelivery: await (async () => {
      // Every event of the seed dispatched (the snapshot must not see deliveries still arriving).
      await until(async () => {
        const [row] = await p.$queryRaw<{ behind: boolean }[]>`
          SELECT p.last_seq < w.event_seq AS behind FROM webhook_dispatch_position p JOIN workspace_counter w ON w.workspace_id = p.workspace_id WHERE w.workspace_id = ${victim.workspaceId}::uuid`;
        return row?.behind === false;
      }, "the victim's events to be dispatched", 60_000);
      return (await p.webhookDelivery.findMany({ where: w, take: 3 })).map((r) => r.id);
    })(),
  };
  for (const [type, list] of Object.entries(byType)) ids[type] = list.map((id) => globalId(type, id));
  rawIds = Object.values(byType).flat();
  numbers = (await p.conversation.findMany({ where: w })).map((c) => c.number);
}, 120_000);

afterAll(async () => {
  console.log(`attack suite: ${requests} hostile requests, ${serverErrors.length} server errors`);
  await server?.close();
});

const secrets = () => [...Object.values(MARKERS), surveyToken, ...rawIds, ...Object.values(ids).flat()];

describe('cross-workspace: workspace B against every operation, aimed at A', () => {
  it('finds, changes and learns nothing of A, through any query field or mutation', async () => {
    const before = await snapshot();
    const leaked: string[] = [];
    const invalid: string[] = [];
    for (const [kind, type] of [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ] as const) {
      for (const field of rootFields(type)) {
        const query = operationFor(kind, field, schema);
        for (const v of variants(field, ids)) {
          const request = query + JSON.stringify(v.args);
          const res = await attack(attacker.key, query, v.args);
          const found = leaks(request, res.text, secrets());
          if (found.length) leaked.push(`${v.target}: ${found.join(', ')}`);
          // The attempt must reach the resolvers: a document the server refuses outright proves nothing.
          if (res.body.errors?.some((e) => e.extensions?.code === 'GRAPHQL_VALIDATION_FAILED' || e.extensions?.code === 'BAD_USER_INPUT' && !res.body.data)) {
            invalid.push(`${v.target}: ${JSON.stringify(res.body.errors).slice(0, 200)}`);
          }
        }
        // By display number and by filter, where the field takes them.
        for (const n of numbers) {
          if (field.args.some((a) => a.name === 'number')) {
            const res = await attack(attacker.key, query, { ...variants(field, ids)[0]!.args, number: n });
            const found = leaks(query, res.text, secrets());
            if (found.length) leaked.push(`${field.name}(number: ${n}): ${found.join(', ')}`);
          }
        }
      }
    }
    const search = await attack(attacker.key, `query($s: String!) { conversations(filter: { search: $s, allStatuses: true }) { edges { node { id subject } } } contacts(filter: { search: $s }) { edges { node { id name } } } }`, { s: 'Zebulon' });
    expect(leaks('', search.text, secrets())).toEqual([]);
    expect(leaked).toEqual([]);
    expect(invalid).toEqual([]);
    expect(await snapshot()).toBe(before);
    expect(serverErrors).toEqual([]);
  }, 240_000);
});

describe("B's CONNECTOR key holding A's survey link", () => {
  it('cannot answer it nor learn anything of it, and changes nothing', async () => {
    const before = await snapshot();
    const widget = (await attacker.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret;
    const query = `mutation($t: String!) { answerSurvey(input: { token: $t, rating: 5, comment: "attacker probe" }) { __typename ... on AnswerSurveyPayload { survey { id rating comment conversation { id } } } ... on Error { code message } } }`;
    const res = await attack(widget, query, { t: surveyToken });
    expect(res.body.data?.answerSurvey).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect(leaks(query + surveyToken, res.text, secrets())).toEqual([]);
    // Not vacuous: the token is A's, and A's own widget may answer with it.
    expect(await server.db.prisma.survey.count({ where: { workspaceId: victim.workspaceId, rating: 2 } })).toBe(1);
    expect(await snapshot()).toBe(before);
  });
});

describe('a platform key against every operation, aimed at A', () => {
  it('gets FORBIDDEN (or nothing) on every workspace field and mutation, and learns and changes nothing of A', async () => {
    const platform = (await createPlatformKey(server.db.prisma, 'attack suite')).secret;
    const before = await snapshot();
    const PLATFORM_FIELDS = new Set(['workspaces', 'createWorkspace']);
    const leaked: string[] = [];
    const allowed: string[] = [];
    for (const [kind, type] of [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ] as const) {
      for (const field of rootFields(type)) {
        // apiVersion answers anyone, with or without a key: nothing of a workspace in it.
        if (PLATFORM_FIELDS.has(field.name) || field.name === 'apiVersion') continue;
        const query = operationFor(kind, field, schema);
        for (const v of variants(field, ids)) {
          const res = await attack(platform, query, v.args);
          const found = leaks(query + JSON.stringify(v.args), res.text, secrets());
          if (found.length) leaked.push(`${v.target}: ${found.join(', ')}`);
          const codes = (res.body.errors ?? []).map((e) => e.extensions?.code);
          // node and nodes answer null for what is not in the caller's workspace, as for B.
          const something = (value: unknown): boolean => value !== null && (!Array.isArray(value) || value.some(something));
          const answered = Object.values(res.body.data ?? {}).some(something);
          if (!codes.includes('FORBIDDEN') && answered) allowed.push(`${v.target}: ${res.text.slice(0, 200)}`);
        }
      }
    }
    expect(leaked).toEqual([]);
    expect(allowed).toEqual([]);
    expect(await snapshot()).toBe(before);
    expect(serverErrors).toEqual([]);
  }, 240_000);
});

describe('the probes are not vacuous', () => {
  it("the same generated queries, sent with A's own key, do find A's data", async () => {
    const revealing: string[] = [];
    for (const field of rootFields(schema.getQueryType())) {
      const query = operationFor('query', field, schema);
      for (const v of variants(field, ids)) {
        const res = await attack(victim.key, query, v.args);
        if (leaks('', res.text, Object.values(MARKERS)).length) {
          revealing.push(field.name);
          break;
        }
      }
    }
    expect(revealing).toEqual(expect.arrayContaining(['cannedResponses', 'contacts', 'conversation', 'conversations', 'labels', 'node', 'nodes']));
  }, 120_000);
});

describe("A's own keys that lack the scope", () => {
  it('a key with no scope gets FORBIDDEN for every operation that needs one, and changes nothing', async () => {
    const noScope = (await victim.makeKey({ scopes: [] })).secret;
    const before = await snapshot();
    // Open to any key (apiVersion even without one): they need no scope.
    const OPEN = new Set(['viewer', 'inboxes', 'users', 'node', 'nodes', 'apiVersion']);
    const missing: string[] = [];
    for (const [kind, type] of [
      ['query', schema.getQueryType()],
      ['mutation', schema.getMutationType()],
    ] as const) {
      for (const field of rootFields(type)) {
        if (OPEN.has(field.name)) continue;
        const query = operationFor(kind, field, schema, 2);
        const res = await attack(noScope, query, variants(field, ids)[0]!.args);
        const codes = (res.body.errors ?? []).map((e) => e.extensions?.code);
        if (!codes.includes('FORBIDDEN')) missing.push(`${field.name}: ${codes.join(',') || 'no error'}`);
        expect(leaks(query, res.text, Object.values(MARKERS))).toEqual([]);
      }
    }
    expect(missing).toEqual([]);
    // node(id) on A's own conversation still needs read:conversations.
    const node = await attack(noScope, `query($id: ID!) { node(id: $id) { ... on Conversation { subject } } }`, { id: ids.Conversation![0] });
    expect(node.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(node.text).not.toContain(MARKERS.subject);
    expect(await snapshot()).toBe(before);
  }, 120_000);

  it('a CONNECTOR key never sees an internal note, through any query field', async () => {
    const connector = (await victim.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'] })).secret;
    const seen: string[] = [];
    for (const field of rootFields(schema.getQueryType())) {
      const query = operationFor('query', field, schema, 4);
      for (const v of variants(field, ids)) {
        const res = await attack(connector, query, v.args);
        if (res.text.includes(MARKERS.note)) seen.push(v.target);
      }
    }
    const search = await attack(connector, `{ conversations(filter: { search: "${MARKERS.note}" }) { edges { node { id } } } }`, {});
    expect((search.body.data?.conversations as { edges: unknown[] }).edges).toEqual([]);
    expect(seen).toEqual([]);
    // ...while A's TEAM key does see it: the probe is not vacuous.
    const team = await attack(victim.key, `query($id: ID!) { node(id: $id) { ... on Conversation { messages(first: 10) { edges { node { content } } } } } }`, { id: ids.Conversation![0] });
    expect(team.text).toContain(MARKERS.note);
    // The handoff's summary in particular: the TEAM key reads it, the CONNECTOR key gets null.
    const handoffs = `query($id: ID!) { node(id: $id) { ... on Conversation { handoffs { reason summary } } } }`;
    const teamHandoffs = await attack(victim.key, handoffs, { id: ids.Conversation![0] });
    expect(teamHandoffs.text).toContain(MARKERS.note);
    const connectorHandoffs = await attack(connector, handoffs, { id: ids.Conversation![0] });
    expect(connectorHandoffs.body.data?.node).toEqual({ handoffs: [{ reason: 'needs a human', summary: null }] });
  }, 120_000);
});

describe('subscriptions: B listens for A, and A keys without the scope', () => {
  it("B receives nothing of A, live or replayed, through any subscription; a key without the scope is refused", async () => {
    const fields = rootFields(schema.getSubscriptionType());
    expect(fields.length).toBeGreaterThan(0);
    const attackerLive = liveClient(server.url, attacker.key);
    const noScope = liveClient(server.url, (await victim.makeKey({ scopes: [] })).secret);
    const connector = liveClient(server.url, (await victim.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'READ_CONTACTS'] })).secret);
    try {
      const feeds = [];
      for (const field of fields) {
        const query = operationFor('subscription', field, schema);
        for (const v of variants(field, ids)) {
          // after: "0" asks for every event since the beginning of the timeline.
          const args = field.args.some((a) => a.name === 'after') ? { ...v.args, after: '0' } : v.args;
          requests += 3;
          feeds.push({ who: 'attacker', target: v.target, feed: attackerLive.subscribe(query, args) });
          feeds.push({ who: 'connector', target: v.target, feed: connector.subscribe(query, args) });
        }
        requests += 1;
        const refused = noScope.subscribe(query, variants(field, ids)[0]!.args);
        // Refused either as an error of the subscription or as a result carrying errors.
        const outcome = await refused.next().then(
          (r) => JSON.stringify(r),
          (e) => `${String(e)} ${JSON.stringify(refused.error)}`,
        );
        expect(outcome, field.name).toContain('FORBIDDEN');
      }
      // A's team writes while everyone listens: a public message and an internal note.
      await sleep(300);
      const a = client(server.url, victim.key);
      const send = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`;
      await a.ok(send, { input: { conversationId: ids.Conversation![0], senderType: 'HUMAN', content: `live ${MARKERS.content}` } });
      await a.ok(send, { input: { conversationId: ids.Conversation![0], senderType: 'HUMAN', content: `live ${MARKERS.note}`, private: true } });
      await sleep(1_000);
      const leaked: string[] = [];
      for (const { who, target, feed } of feeds) {
        const seen = JSON.stringify(feed.results);
        if (who === 'attacker' && leaks(JSON.stringify(feed.payload), seen, secrets()).length) leaked.push(`attacker ${target}`);
        if (who === 'connector' && seen.includes(MARKERS.note)) leaked.push(`connector ${target}`);
      }
      expect(leaked).toEqual([]);
      // Not vacuous: the CONNECTOR key, in A, did receive A's public events.
      expect(feeds.filter((f) => f.who === 'connector').some((f) => JSON.stringify(f.feed.results).includes(MARKERS.content))).toBe(true);
    } finally {
      await Promise.all([attackerLive.dispose(), noScope.dispose(), connector.dispose()]);
    }
  }, 120_000);
});

describe('abuse', () => {
  const still = async () => {
    const res = await gql(server.url, '{ viewer { kind } }', {}, { key: attacker.key });
    expect(res.data?.viewer.kind).toBe('TEAM');
  };
  const post = async (body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    requests += 1;
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'x-api-key': attacker.key, ...headers }, body });
    const text = await res.text();
    if (res.status >= 500) serverErrors.push(`${res.status} ${text.slice(0, 200)}`);
    return { status: res.status, text, type: res.headers.get('content-type') };
  };

  it('refuses each hostile request with its code and keeps answering', async () => {
    let deep = 'id';
    for (let i = 0; i < 50; i++) deep = `conversation { ${deep} }`;
    const cases: [string, () => Promise<{ status: number; text: string }>, RegExp][] = [
      ['50-level deep query', () => post(JSON.stringify({ query: `{ node(id: "eA==") { ... on Message { ${deep} } } }` })), /depth/i],
      ['1,000 aliases', () => post(JSON.stringify({ query: `{ ${Array.from({ length: 1000 }, (_, i) => `a${i}: viewer { kind }`).join(' ')} }` })), /alias|token/i],
      ['a 1 MB query', () => post(JSON.stringify({ query: `{ viewer { kind } } #${'x'.repeat(1024 * 1024)}` })), /PAYLOAD_TOO_LARGE/],
      [
        'first: 100, five levels deep',
        () =>
          post(
            JSON.stringify({
              query: `{ conversations(first: 100) { edges { node { messages(first: 100) { edges { node { conversation { messages(first: 100) { edges { node { conversation { labels { id } } } } } } } } } } } } }`,
            }),
          ),
        /would cost|depth/,
      ],
      ['200 operations in one batch', () => post(JSON.stringify(Array.from({ length: 200 }, () => ({ query: '{ viewer { kind } }' })))), /batch/i],
      ['a 10 MB variable', () => post(JSON.stringify({ query: 'query($s: String) { conversations(filter: { search: $s }) { edges { node { id } } } }', variables: { s: 'x'.repeat(10 * 1024 * 1024) } })), /PAYLOAD_TOO_LARGE/],
      // Input the server's own code would recurse on, and text or dates PostgreSQL would refuse.
      [
        'custom attributes nested 100,000 levels deep',
        () =>
          post(
            `{"query":"mutation($a: JSONObject!) { updateContact(input: { contactId: \\"eA==\\", customAttributes: $a }) { __typename } }","variables":{"a":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}}`,
          ),
        /at most 64 levels deep/,
      ],
      ['a literal nested 100,000 levels deep', () => post(JSON.stringify({ query: `{ labels(search: ${'['.repeat(100_000)}) { id } }` })), /at most 64 levels deep/],
      ['a lone surrogate in a variable', () => post(JSON.stringify({ query: 'mutation($n: String!) { createLabel(input: { name: $n }) { __typename } }', variables: { n: 'a\udc00' } })), /lone UTF-16 surrogate/],
      ['February 30', () => post(JSON.stringify({ query: '{ conversationStats(range: { from: "2027-02-30T09:00:00Z" }) { total } }' })), /not a valid date/],
    ];
    for (const [name, send, expected] of cases) {
      const res = await send();
      // Refused: a 4xx, or (for documents that fail validation) errors and no data.
      expect(res.status, name).toBeLessThan(500);
      if (res.status < 400) {
        const body = JSON.parse(res.text);
        expect(body.errors?.length, name).toBeGreaterThan(0);
        expect(body.data ?? null, name).toBeNull();
      }
      expect(res.text, name).toMatch(expected);
      expect(res.text, name).not.toMatch(/at .*\.(ts|js):\d+|node_modules|SELECT |prisma/i);
      await still();
    }
  }, 120_000);

  // Bodies the server cannot read as a GraphQL request: each with its exact status and code.
  const UNSUPPORTED = (type: string) => ({
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: `POST bodies must be JSON (content-type: application/json), not ${type}.`,
  });
  it('refuses a body of another content type, or not a JSON request, with its exact status and code', async () => {
    const cases: [string, () => Promise<{ status: number; text: string; type: string | null }>, { status: number; code?: string; message?: string }][] = [
      // Bodies are JSON only: anything else is 415 Unsupported Media Type, before any execution.
      ['text/plain body', () => post('{ viewer { kind } }', { 'content-type': 'text/plain' }), UNSUPPORTED('text/plain')],
      // What a cross-site form could send: a JSON request under a "simple" content type.
      ['text/plain body holding a JSON request', () => post(JSON.stringify({ query: '{ viewer { kind } }' }), { 'content-type': 'text/plain' }), UNSUPPORTED('text/plain')],
      ['XML body', () => post('<query>viewer</query>', { 'content-type': 'application/xml' }), UNSUPPORTED('application/xml')],
      // Forms and uploads, which yoga alone would parse (decoding bad bytes as U+FFFD).
      ['a form post', () => post('query=%7B+viewer+%7B+kind+%7D+%7D', { 'content-type': 'application/x-www-form-urlencoded' }), UNSUPPORTED('application/x-www-form-urlencoded')],
      [
        'a multipart upload',
        () => post('--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ viewer { kind } }"}\r\n--x--\r\n', { 'content-type': 'multipart/form-data; boundary=x' }),
        UNSUPPORTED('multipart/form-data'),
      ],
      ['raw GraphQL text', () => post('{ viewer { kind } }', { 'content-type': 'application/graphql' }), UNSUPPORTED('application/graphql')],
      // (Bytes, not a string: fetch would label a string text/plain.)
      ['no content type', () => post(Buffer.from(JSON.stringify({ query: '{ viewer { kind } }' })), {}), UNSUPPORTED('untyped')],
      ['malformed JSON', () => post('{"query": '), { status: 400, code: 'BAD_REQUEST', message: 'POST body sent invalid JSON.' }],
      ['a JSON string, not an object', () => post('"{ viewer { kind } }"'), { status: 400, code: 'BAD_REQUEST', message: 'POST body is expected to be object but received string' }],
      ['JSON null', () => post('null'), { status: 400, code: 'BAD_REQUEST', message: 'POST body is expected to be object but received null' }],
      ['an unknown body parameter', () => post(JSON.stringify({ query: '{ viewer { kind } }', x: 'y' })), { status: 400, code: 'BAD_REQUEST', message: 'Unexpected parameter "x" in the request body.' }],
    ];
    for (const [name, send, expected] of cases) {
      const res = await send();
      expect(res.status, name).toBe(expected.status);
      // Never executed: nothing of the workspace in the answer.
      expect(res.text, name).not.toContain('TEAM');
      expect(res.text, name).not.toContain('"data"');
      expect(res.text, name).not.toMatch(/at .*\.(ts|js):\d+|node_modules|SELECT |prisma|"stack"/i);
      if (expected.code) {
        expect(res.type, name).toMatch(/^application\/json/);
        const body = JSON.parse(res.text) as { errors: { message: string; extensions: { code: string } }[] };
        expect(body.errors, name).toHaveLength(1);
        expect(body.errors[0], name).toMatchObject({ message: expected.message, extensions: { code: expected.code } });
      }
      await still();
    }
  }, 60_000);

  // Bytes that are not UTF-8, in the query and in a variable.
  const notUtf8 = [
    ['in the query', Buffer.concat([Buffer.from('{"query":"{ viewer { kind } } # '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')])],
    [
      'in a variable',
      Buffer.concat([
        Buffer.from('{"query":"query($s: String) { conversations(filter: { search: $s }) { edges { node { id } } } }","variables":{"s":"'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}}'),
      ]),
    ],
  ] as const;

  it('never fails on a body that is not valid UTF-8, and keeps answering', async () => {
    for (const [where, body] of notUtf8) {
      const res = await post(body);
      expect(res.status, where).toBeLessThan(500);
      expect(res.text, where).not.toMatch(/INTERNAL_SERVER_ERROR|at .*\.(ts|js):\d+|node_modules|SELECT |prisma|"stack"/i);
      await still();
    }
  });

  // Decoded strictly: not read as U+FFFD (and, in a mutation, stored), but refused.
  it('refuses a body that is not valid UTF-8 with 400 BAD_REQUEST', async () => {
    for (const [where, body] of notUtf8) {
      const res = await post(body);
      expect(res.status, where).toBe(400);
      expect(JSON.parse(res.text).errors?.[0], where).toMatchObject({ message: 'POST body is not valid UTF-8.', extensions: { code: 'BAD_REQUEST' } });
    }
  });
});
