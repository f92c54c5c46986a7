// Satisfaction surveys through the HTTP server: sending one per resolution (resolveConversation
// and the REQUEST_SURVEY rule action), the card and its link, the token kept only as a hash,
// answering on the public page (a plain form POST) and with a CONNECTOR key, expiry, bad and
// foreign tokens changing nothing, SURVEY_ANSWERED reaching a subscription and a webhook,
// the CSAT figures (per agent, AI alone or with a human, unchanged by a reopening), erasure.
// Effects of the workers are awaited by polling, never by sleeping.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../src/generated/prisma/client.js';
import { hashSurveyToken } from '../src/services/surveys.js';
import { until } from './support/process.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { liveClient } from './support/ws.js';
import { LogCapture } from './support/log.js';
import { startTestServer } from './support/server.js';
import { api, ERROR, globalId, localId, randomPhone, seedWorkspace, type Api, type SeededWorkspace, type TestServer } from './support/write-api.js';

const PUBLIC_URL = 'https://support.example.test/parley';

let server: TestServer;
let ws: SeededWorkspace;
let other: SeededWorkspace;
let a: Api;
let connector: Api;
let prisma: PrismaClient;
let receiver: Receiver;
const log = new LogCapture();

beforeAll(async () => {
  // The access log is read (a survey's token must stay out of it): at info, into memory.
  server = await startTestServer({
    env: { COST_BUDGET_PER_MINUTE: '0', PUBLIC_URL: `${PUBLIC_URL}/`, SURVEY_TTL_DAYS: '7', WEBHOOK_ALLOW_PRIVATE_URLS: 'true', AUTOMATION_POLL_MS: '2000', LOG_LEVEL: 'info' },
    start: { logDestination: log.stream },
  });
  prisma = server.db.prisma;
  ws = await seedWorkspace(prisma, 'Survey <Co> & "Sons"');
  other = await seedWorkspace(prisma, 'Other');
  a = api(server.url, ws.key);
  connector = api(server.url, (await ws.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret);
  receiver = await startReceiver();
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

const SURVEY = 'id status rating comment answeredAt sentAt expiresAt resolvedAt aiResolvedAlone assignee { id } message { id contentType content card { title actions { label url action } } }';
const ANSWER = `... on AnswerSurveyPayload { survey { id status rating comment } } ... on NotFoundError { entity } ... on ValidationError { field } ... on SurveyExpiredError { surveyId expiresAt } ${ERROR}`;

/** A conversation with a contact message, through the API. */
async function conversation(c: Api = a, w: SeededWorkspace = ws) {
  const r = await c.createConversation({
    inboxId: globalId('Inbox', w.inboxes.web.id),
    contact: { phone: randomPhone(), handle: `visitor-${randomPhone()}`, name: 'Sam Surveyed' },
    message: { senderType: 'CONTACT', content: 'My order is late' },
  });
  return r.conversation.id as string;
}

async function resolve(conversationId: string, requestSatisfaction = true, c: Api = a) {
  await c.must('resolveConversation', { conversationId, reason: 'ISSUE_RESOLVED', requestSatisfaction }, '... on ResolveConversationPayload { conversation { id } }');
}

async function surveysOf(conversationId: string, c: Api = a) {
  const data = await c.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { satisfactionRating surveys { ${SURVEY} } } } }`, { id: conversationId });
  return data.node as { satisfactionRating: number | null; surveys: any[] };
}

/** The token of a survey: the last path segment of its card's link. */
function tokenOf(survey: { message: { card: { actions: { url: string | null }[] } } }): string {
  const url = survey.message.card.actions.at(-1)!.url!;
  return url.slice(url.lastIndexOf('/') + 1);
}

/** A resolved conversation with its survey sent; returns both and the token. `by` resolves it: the team member's key `a` by default. */
async function surveyed(opts: { assignee?: string; handoff?: boolean; by?: Api } = {}) {
  const id = await conversation();
  if (opts.assignee) await a.must('assignConversation', { conversationId: id, assigneeId: globalId('User', opts.assignee) }, '__typename');
  if (opts.handoff) await a.must('startHumanHandoff', { conversationId: id, reason: 'asks for a person' }, '__typename');
  await resolve(id, true, opts.by ?? a);
  const [survey] = (await surveysOf(id)).surveys;
  return { conversationId: id, survey, token: tokenOf(survey) };
}

const answer = (token: string, rating: number, comment?: string | null, c: Api = connector) => c.mutate('answerSurvey', { token, rating, comment }, ANSWER);

const pageUrl = (token: string, query = '') => `${server.url}/survey/${token}${query}`;
const postForm = (token: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(pageUrl(token), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });

/** Every row a survey answer could change, to show that a refused one changed nothing. */
async function state(conversationId: string) {
  const id = localId(conversationId);
  return JSON.stringify({
    surveys: await prisma.survey.findMany({ where: { conversationId: id }, orderBy: { id: 'asc' } }),
    conversation: await prisma.conversation.findUnique({ where: { id } }),
    events: await prisma.event.count({ where: { conversationId: id } }),
  });
}

describe('sending a survey', () => {
  it('resolving with requestSatisfaction sends one CARD message with the ratings and a link built from PUBLIC_URL', async () => {
    // Resolved by the AI's connector: no handoff, no human reply, no human resolving.
    const { conversationId, survey, token } = await surveyed({ assignee: ws.agent.id, by: connector });
    expect(survey).toMatchObject({ status: 'SENT', rating: null, comment: null, answeredAt: null, aiResolvedAlone: true, assignee: { id: globalId('User', ws.agent.id) } });
    expect(new Date(survey.expiresAt).getTime() - new Date(survey.sentAt).getTime()).toBe(7 * 86_400_000);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const link = `${PUBLIC_URL}/survey/${token}`;
    expect(survey.message.contentType).toBe('CARD');
    expect(survey.message.content).toContain(link);
    expect(survey.message.card.actions).toEqual([
      ...['Very unhappy', 'Unhappy', 'Neutral', 'Happy', 'Very happy'].map((label, i) => ({ label: `${i + 1} - ${label}`, url: `${link}?rating=${i + 1}`, action: `survey_rating:${i + 1}` })),
      { label: 'Open the survey', url: link, action: null },
    ]);
    // The token itself is stored nowhere but in the message: the survey keeps its hash.
    const row = await prisma.survey.findFirstOrThrow({ where: { conversationId: localId(conversationId) } });
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(token);
    // A contact message reopens it: the survey stays, with what it recorded.
    await a.send(conversationId, { senderType: 'CONTACT', content: 'One more thing' });
    await a.must('assignConversation', { conversationId, assigneeId: globalId('User', ws.admin.id) }, '__typename');
    expect((await surveysOf(conversationId)).surveys).toEqual([survey]);
  });

  it('sends nothing without requestSatisfaction, and one survey per resolution', async () => {
    const id = await conversation();
    await resolve(id, false);
    expect((await surveysOf(id)).surveys).toEqual([]);
    await a.must('reopenConversation', { conversationId: id }, '__typename');
    await resolve(id);
    await a.must('reopenConversation', { conversationId: id }, '__typename');
    await resolve(id);
    const { surveys } = await surveysOf(id);
    expect(surveys).toHaveLength(2);
    expect(new Set(surveys.map(tokenOf)).size).toBe(2);
  });

  it('records whether the AI resolved alone: not after a handoff, not when a team member resolves', async () => {
    expect((await surveyed({ handoff: true, by: connector })).survey.aiResolvedAlone).toBe(false);
    // No handoff and no human reply, but a person (a key of a user) resolved it: not the AI alone.
    expect((await surveyed()).survey.aiResolvedAlone).toBe(false);
    expect((await surveyed({ by: connector })).survey.aiResolvedAlone).toBe(true);
  });

  it('the REQUEST_SURVEY action sends the survey of a resolution once, and fails on a conversation that is not resolved', async () => {
    const rule = await a.must(
      'createAutomationRule',
      { name: 'CSAT on resolve', trigger: 'STATUS_CHANGED', triggerStatus: 'RESOLVED', actions: [{ type: 'REQUEST_SURVEY' }] },
      '... on CreateAutomationRulePayload { rule { id actions } }',
    );
    expect(rule.rule.actions).toEqual([{ type: 'REQUEST_SURVEY' }]);
    // The rules are deleted whatever happens: a condition-free REQUEST_SURVEY rule left enabled would survey every later resolution.
    const rules = [rule.rule.id as string];
    try {
      const runs = async (id: string) =>
        (await a.ok(`query($r: ID!, $c: ID!) { automationRuns(ruleId: $r, conversationId: $c, first: 10) { edges { node { outcome actionsApplied error } } } }`, { r: rule.rule.id, c: id })).automationRuns.edges.map(
          (e: { node: unknown }) => e.node,
        );
      // Resolved without a survey: the rule sends it.
      const plain = await conversation();
      await resolve(plain, false);
      await until(async () => (await runs(plain)).length > 0, 'the rule to run');
      expect(await runs(plain)).toEqual([{ outcome: 'MATCHED', actionsApplied: ['REQUEST_SURVEY'], error: null }]);
      expect((await surveysOf(plain)).surveys).toHaveLength(1);
      // Resolved with one: the rule matches and sends no second.
      const asked = await conversation();
      await resolve(asked);
      await until(async () => (await runs(asked)).length > 0, 'the rule to run');
      expect((await surveysOf(asked)).surveys).toHaveLength(1);
      // A rule on another trigger, on a conversation that is open: a FAILED run, nothing sent.
      const open = await a.must(
        'createAutomationRule',
        { name: 'CSAT too early', trigger: 'PRIORITY_CHANGED', actions: [{ type: 'REQUEST_SURVEY' }] },
        '... on CreateAutomationRulePayload { rule { id } }',
      );
      rules.push(open.rule.id);
      const id = await conversation();
      await a.must('updateConversation', { conversationId: id, priority: 'HIGH' }, '__typename');
      const failed = async () =>
        (await a.ok(`query($r: ID!) { automationRuns(ruleId: $r, first: 10) { edges { node { outcome error } } } }`, { r: open.rule.id })).automationRuns.edges.map((e: { node: unknown }) => e.node);
      await until(async () => (await failed()).length > 0, 'the rule to fail');
      expect((await failed())[0]).toMatchObject({ outcome: 'FAILED', error: expect.stringContaining('RESOLVED') });
      expect((await surveysOf(id)).surveys).toEqual([]);
    } finally {
      for (const r of rules) await a.must('deleteAutomationRule', { ruleId: r }, '__typename');
    }
  });
});

describe('answering with a CONNECTOR key', () => {
  it('records the rating and comment; a second answer replaces the first; the latest survey is the conversation rating', async () => {
    const { conversationId, token } = await surveyed();
    expect(await answer(token, 2, 'Slow')).toMatchObject({ __typename: 'AnswerSurveyPayload', survey: { status: 'ANSWERED', rating: 2, comment: 'Slow' } });
    expect(await answer(token, 5, '  ')).toMatchObject({ survey: { rating: 5, comment: null } });
    const after = await surveysOf(conversationId);
    expect(after.satisfactionRating).toBe(5);
    expect(after.surveys[0]).toMatchObject({ status: 'ANSWERED', rating: 5, comment: null });
    const events = await prisma.event.findMany({ where: { conversationId: localId(conversationId), type: 'SURVEY_ANSWERED' }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.actorType, e.actorContactId !== null, (e.after as { rating: number }).rating])).toEqual([
      ['CONTACT', true, 2],
      ['CONTACT', true, 5],
    ]);
  });

  it('refuses bad ratings, unknown and foreign tokens, expired surveys and TEAM keys, changing nothing', async () => {
    const { conversationId, survey, token } = await surveyed();
    const before = await state(conversationId);
    for (const rating of [0, 6]) expect(await answer(token, rating)).toMatchObject({ __typename: 'ValidationError', field: 'input.rating' });
    expect(await answer(token, 3, 'x'.repeat(2001))).toMatchObject({ __typename: 'ValidationError', field: 'input.comment' });
    // U+0000 never reaches the database through GraphQL either.
    const nul = await connector.request(`mutation($input: AnswerSurveyInput!) { answerSurvey(input: $input) { __typename } }`, { input: { token, rating: 3, comment: 'a\u0000b' } });
    expect(nul.errors?.[0]?.message).toContain('NUL');
    expect(await answer('not-a-token', 3)).toMatchObject({ __typename: 'NotFoundError', entity: 'Survey' });
    expect(await answer(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, 3)).toMatchObject({ __typename: 'NotFoundError' });
    // Another workspace's connector holds the link: the survey does not exist for it.
    const stranger = api(server.url, (await other.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret);
    expect(await answer(token, 1, 'sabotage', stranger)).toMatchObject({ __typename: 'NotFoundError', entity: 'Survey' });
    // A TEAM key never answers for the contact.
    const team = await a.request(`mutation($input: AnswerSurveyInput!) { answerSurvey(input: $input) { __typename } }`, { input: { token, rating: 5 } });
    expect(team.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await state(conversationId)).toBe(before);
    // Expired: refused with its date.
    await prisma.survey.updateMany({ where: { id: localId(survey.id) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await state(conversationId);
    expect(await answer(token, 4)).toMatchObject({ __typename: 'SurveyExpiredError', surveyId: survey.id });
    expect(await state(conversationId)).toBe(expired);
    expect((await surveysOf(conversationId)).surveys[0].status).toBe('EXPIRED');
  });
});

describe('the survey page', () => {
  it('serves an accessible form that records the answer, then thanks; a second answer replaces the first', async () => {
    const { conversationId, token } = await surveyed();
    const res = await fetch(pageUrl(token, '?rating=4'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('cache-control')).toBe('no-store');
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    // Relative addresses: they hold behind a proxy that serves Parley under a path prefix.
    expect(html).toContain(`<form method="post" action="${token}">`);
    expect(html).toMatch(/<label for="comment">[^<]+<\/label>\s*<textarea id="comment" name="comment"/);
    for (let r = 1; r <= 5; r++) expect(html).toContain(`name="rating" value="${r}"`);
    expect(html).toContain('You chose 4 - Happy');
    // The workspace's name is text, never markup; nothing is loaded from anywhere.
    expect(html).toContain('Survey &lt;Co&gt; &amp; &quot;Sons&quot;');
    expect(html).not.toMatch(/<script|src=|href=/);
    // The GET recorded nothing.
    expect((await surveysOf(conversationId)).surveys[0].rating).toBeNull();

    const posted = await postForm(token, { comment: 'Fast & <b>kind</b>', rating: '4' });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(`${token}?thanks`);
    const thanks = await (await fetch(pageUrl(token, '?thanks'))).text();
    expect(thanks).toContain('Thank you! We recorded your rating: 4 - Happy.');
    expect(thanks).toContain('Fast &amp; &lt;b&gt;kind&lt;/b&gt;');
    expect((await surveysOf(conversationId)).surveys[0]).toMatchObject({ rating: 4, comment: 'Fast & <b>kind</b>' });
    expect((await postForm(token, { comment: '', rating: '5' })).status).toBe(303);
    expect((await surveysOf(conversationId)).surveys[0]).toMatchObject({ rating: 5, comment: null });
    // The token answers the survey: the access log names the route, never the token.
    await log.waitFor((l) => l.path === '/survey/:token' && l.status === 303, 'the access log line of the answer');
    expect(log.text).not.toContain(token);
  });

  it('answers unknown tokens 404, expired surveys 410, bad posts 400/415, with a page and nothing changed', async () => {
    const { conversationId, survey, token } = await surveyed();
    const before = await state(conversationId);
    for (const bad of ['nope', `${'A'.repeat(43)}`, `${token}/x`]) {
      const res = await fetch(pageUrl(bad));
      expect(res.status).toBe(404);
      expect(await res.text()).toContain('This survey link is not valid');
    }
    expect((await postForm('A'.repeat(43), { rating: '3' })).status).toBe(404);
    const noRating = await postForm(token, { comment: 'kept' });
    expect(noRating.status).toBe(400);
    const page = await noRating.text();
    expect(page).toContain('Choose a rating from 1 to 5');
    expect(page).toContain('>kept</textarea>');
    expect((await postForm(token, { rating: '9' })).status).toBe(400);
    const json = await fetch(pageUrl(token), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"rating":5}' });
    expect(json.status).toBe(415);
    expect((await postForm(token, { rating: '3', comment: 'x'.repeat(20_000) })).status).toBe(413);
    expect((await fetch(pageUrl(token), { method: 'DELETE' })).status).toBe(405);
    // PostgreSQL text cannot hold U+0000: refused as a bad comment, with the page, not a 500.
    const nul = await postForm(token, { rating: '3', comment: 'a\u0000b' });
    expect(nul.status).toBe(400);
    expect(await nul.text()).toContain('NUL character');
    expect(await state(conversationId)).toBe(before);

    await prisma.survey.updateMany({ where: { id: localId(survey.id) }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await state(conversationId);
    const gone = await fetch(pageUrl(token));
    expect(gone.status).toBe(410);
    expect(await gone.text()).toContain('This survey has closed');
    expect((await postForm(token, { rating: '5' })).status).toBe(410);
    expect(await state(conversationId)).toBe(expired);
  });
});

describe('SURVEY_ANSWERED in the timeline', () => {
  it('reaches a subscription and a webhook receiver', async () => {
    const { conversationId, token } = await surveyed();
    const hook = await a.must('createWebhookEndpoint', { url: `${receiver.url}/csat`, eventKinds: ['SURVEY_ANSWERED'] }, '... on WebhookEndpointSecretPayload { endpoint { id } }');
    const live = liveClient(server.url, ws.key);
    try {
      const feed = live.subscribe(`subscription($f: ConversationEventFilter) { conversationEvents(filter: $f) { kind conversationId event { type actorType after } } }`, {
        f: { kinds: ['SURVEY_ANSWERED'], conversation: conversationId },
      });
      // The subscription is live once it answers a first event: send answers until one arrives.
      await until(async () => {
        await answer(token, 3, 'Fine');
        return feed.results.length > 0;
      }, 'the subscription to see an answer');
      const data = await feed.nextData();
      expect(data.conversationEvents).toMatchObject({ kind: 'SURVEY_ANSWERED', conversationId, event: { type: 'SURVEY_ANSWERED', actorType: 'CONTACT', after: { rating: 3, comment: 'Fine' } } });
    } finally {
      await live.dispose();
    }
    const [delivery] = await receiver.waitFor('/csat', 1);
    expect(delivery!.json).toMatchObject({ type: 'SURVEY_ANSWERED', data: { kind: 'SURVEY_ANSWERED', conversationId, event: { type: 'SURVEY_ANSWERED', after: { rating: 3, comment: 'Fine' } } } });
    await a.must('deleteWebhookEndpoint', { endpointId: hook.endpoint.id }, '__typename');
  });
});

describe('conversationStats.csat', () => {
  it('counts sent and answered surveys, average, 4-5 share, per agent and per resolver, as recorded when sent', async () => {
    // A workspace of its own, so that only these surveys count.
    const w = await seedWorkspace(prisma, 'Stats Co');
    const c = api(server.url, w.key);
    const conn = api(server.url, (await w.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret);
    // Resolved by a team member (`c`, a key of a user) unless `by` says otherwise.
    const send = async (opts: { assignee?: string; handoff?: boolean; rating?: number; by?: Api }) => {
      const id = await conversation(c, w);
      if (opts.assignee) await c.must('assignConversation', { conversationId: id, assigneeId: globalId('User', opts.assignee) }, '__typename');
      if (opts.handoff) await c.must('startHumanHandoff', { conversationId: id }, '__typename');
      await resolve(id, true, opts.by ?? c);
      const [survey] = (await surveysOf(id, c)).surveys;
      if (opts.rating) expect(await answer(tokenOf(survey), opts.rating, null, conn)).toMatchObject({ __typename: 'AnswerSurveyPayload' });
      return id;
    };
    const reassigned = await send({ assignee: w.agent.id, handoff: true, rating: 5 });
    await send({ assignee: w.agent.id, handoff: true, rating: 4 });
    // No handoff, no reply from a human, but a team member resolved it: with a human.
    await send({ assignee: w.agent.id });
    // Resolved by the AI's connector alone.
    await send({ rating: 2, by: conn });
    await send({ rating: 4, by: conn });
    // Reopened and handed to someone else: its rating still counts for the agent.
    await c.send(reassigned, { senderType: 'CONTACT', content: 'Back again' });
    await c.must('assignConversation', { conversationId: reassigned, assigneeId: globalId('User', w.admin.id) }, '__typename');

    const FIG = 'sent answered averageRating satisfiedShare responseRate';
    const stats = (await c.ok(`{ conversationStats { csat { ${FIG} ratings { rating count } byAgent { agent { id } ${FIG} } byResolver { resolver ${FIG} } } } }`)).conversationStats.csat;
    expect(stats).toMatchObject({ sent: 5, answered: 4, averageRating: 3.75, satisfiedShare: 0.75, responseRate: 0.8 });
    expect(stats.ratings).toEqual([1, 2, 3, 4, 5].map((rating) => ({ rating, count: rating === 2 ? 1 : rating >= 4 ? (rating === 4 ? 2 : 1) : 0 })));
    expect(stats.byAgent).toEqual([
      { agent: { id: globalId('User', w.agent.id) }, sent: 3, answered: 2, averageRating: 4.5, satisfiedShare: 1, responseRate: 2 / 3 },
      { agent: null, sent: 2, answered: 2, averageRating: 3, satisfiedShare: 0.5, responseRate: 1 },
    ]);
    expect(stats.byResolver).toEqual([
      { resolver: 'AI_ALONE', sent: 2, answered: 2, averageRating: 3, satisfiedShare: 0.5, responseRate: 1 },
      { resolver: 'WITH_HUMAN', sent: 3, answered: 2, averageRating: 4.5, satisfiedShare: 1, responseRate: 2 / 3 },
    ]);
    // The range counts surveys sent in it; the filter, their conversations.
    const empty = (await c.ok(`{ conversationStats(range: { to: "2000-01-01T00:00:00Z" }) { csat { sent averageRating satisfiedShare responseRate byAgent { sent } } } }`)).conversationStats.csat;
    expect(empty).toEqual({ sent: 0, averageRating: null, satisfiedShare: null, responseRate: null, byAgent: [] });
    const mine = (await c.ok(`query($u: ID!) { conversationStats(filter: { assignee: { users: [$u] } }) { csat { sent } } }`, { u: globalId('User', w.admin.id) })).conversationStats.csat;
    expect(mine.sent).toBe(1);
    // Another workspace sees none of them.
    expect((await a.ok(`{ conversationStats(range: { from: "2000-01-01T00:00:00Z" }) { csat { byAgent { agent { id } } } } }`)).conversationStats.csat.byAgent).not.toContainEqual({ agent: { id: globalId('User', w.agent.id) } });
  });
});

describe('merging contacts', () => {
  it("the duplicate's surveys and ratings move to the survivor and still count", async () => {
    const w = await seedWorkspace(prisma, 'Merge Co');
    const c = api(server.url, w.key);
    const conn = api(server.url, (await w.makeKey({ kind: 'CONNECTOR', scopes: ['READ_CONVERSATIONS', 'WRITE_CONVERSATIONS'], userId: null })).secret);
    const contactOf = async (id: string) => (await c.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { contact { id } } } }`, { id })).node.contact.id as string;
    const survivor = await contactOf(await conversation(c, w));
    const id = await conversation(c, w);
    const duplicate = await contactOf(id);
    await resolve(id, true, c);
    const [survey] = (await surveysOf(id, c)).surveys;
    expect(await answer(tokenOf(survey), 4, 'Good', conn)).toMatchObject({ __typename: 'AnswerSurveyPayload' });
    await c.must('mergeContacts', { survivorId: survivor, duplicateId: duplicate }, '... on MergeContactsPayload { contact { id } }');
    const row = await prisma.survey.findUniqueOrThrow({ where: { id: localId(survey.id) } });
    expect(row).toMatchObject({ contactId: localId(survivor), rating: 4, comment: 'Good' });
    expect((await c.ok(`{ conversationStats { csat { sent answered averageRating } } }`)).conversationStats.csat).toEqual({ sent: 1, answered: 1, averageRating: 4 });
  });
});

describe('erasure', () => {
  it("erasing the contact erases its surveys, comments included; the link then finds nothing", async () => {
    const { conversationId, token } = await surveyed();
    expect(await answer(token, 1, 'My account number is 12345')).toMatchObject({ __typename: 'AnswerSurveyPayload' });
    const contact = (await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { contact { id } } } }`, { id: conversationId })).node.contact.id;
    await a.must('deleteContact', { contactId: contact }, '__typename');
    expect(await prisma.survey.count({ where: { conversationId: localId(conversationId) } })).toBe(0);
    const [row] = await prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "survey" WHERE "comment" LIKE '%12345%'`;
    expect(row!.n).toBe(0);
    expect((await fetch(pageUrl(token))).status).toBe(404);
  });
});

// Last in the file: it uses up this address's allowance of posts to unknown tokens for a minute.
describe('the survey page limits', () => {
  it('answers to many real surveys from one address all count; posts to unknown tokens from it get 429 past 60 a minute', async () => {
    // 70 answerable surveys of one conversation (one resolution each), their tokens known: rows like the one sent.
    const { conversationId, survey } = await surveyed();
    const row = await prisma.survey.findUniqueOrThrow({ where: { id: localId(survey.id) } });
    const tokens = Array.from({ length: 70 }, () => randomBytes(32).toString('base64url'));
    await prisma.survey.createMany({
      data: tokens.map((token, i) => ({
        workspaceId: row.workspaceId,
        conversationId: row.conversationId,
        contactId: row.contactId,
        tokenHash: hashSurveyToken(token),
        resolvedAt: new Date(row.resolvedAt.getTime() - (i + 1) * 1000),
        sentAt: new Date(row.sentAt.getTime() - (i + 1) * 1000),
        expiresAt: row.expiresAt,
        aiResolvedAlone: row.aiResolvedAlone,
      })),
    });
    for (const token of tokens) expect((await postForm(token, { rating: '4' })).status).toBe(303);
    expect(await prisma.survey.count({ where: { conversationId: localId(conversationId), rating: 4 } })).toBe(70);
    // Junk tokens (well-formed, opening nothing): 404 until the address's allowance is used up, then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await postForm(randomBytes(32).toString('base64url'), { rating: '1' })).status);
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 404).length).toBeGreaterThan(50);
    // The real surveys are not held back by it; one survey still has its own limit of 10 a minute.
    const [first] = tokens;
    const again: number[] = [];
    for (let i = 0; i < 10; i++) again.push((await postForm(first!, { rating: '5' })).status);
    expect(again.slice(0, 9).every((s) => s === 303)).toBe(true);
    expect(again.at(-1)).toBe(429);
  });
});
