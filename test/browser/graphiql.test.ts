// GraphiQL as a person uses it, in headless Chromium (Debian's `chromium`, driven by
// playwright-core) against a real `npm start` process, with every request to a host other than
// 127.0.0.1 blocked, as on a machine without internet: the page loads, the docs show the schema
// without a key, a key pasted in the Headers tab runs the inbox query and a `conversationEvents`
// subscription, which shows the event of a mutation made meanwhile. Screenshots go to
// test/artifacts/graphiql/. Run by `npm run test:browser`; it fails, never skips, without
// Chromium (.ci/run installs it).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY_LINE } from '../support/demo.js';
import { assertChromium, launchChromium, offline } from '../support/browser.js';
import { client } from '../support/graphql.js';
import { listening, PROCESS_TEST_TIMEOUT_MS, runParley } from '../support/process.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/graphiql/', import.meta.url));
/** For each wait in the page: generous, for a loaded 2-core machine. They bound hangs. */
const WAIT_MS = 120_000;

// The README's inbox query.
const INBOX = `query Inbox($after: String) {
  conversations(
    first: 50
    after: $after
    filter: { status: [OPEN], assignee: { me: true }, waitingForReply: true }
    orderBy: { field: WAITING_TIME, direction: DESC }
  ) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      node {
        id number subject status priority controller unreadCount waitingSince
        contact { name email } inbox { name channel } assignee { name } labels { name color }
        lastMessage { content senderType createdAt }
      }
    }
  }
}`;

let dataDir: string;
let url: string;
let key: string;
let browser: Browser | undefined;
let page: Page;
/** Requests the page made to other hosts (blocked), and every URL it asked for. */
const blocked: string[] = [];
const requested: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  assertChromium();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'parley-graphiql-'));
  const server = runParley({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' });
  url = await listening(server);
  key = (await server.waitFor(DEMO_KEY_LINE))[1]!;

  browser = await launchChromium(WAIT_MS);
  // A new context is a fresh profile: no GraphiQL tabs or headers kept from an earlier run.
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  await offline(context, blocked, requested);
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await browser?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/**
 * Replaces the text of the Monaco editor inside `editor`, as one line: typed newlines would be
 * auto-indented and closed by the editor. GraphQL and JSON do not mind.
 */
async function typeInto(editor: string, text: string) {
  await page.locator(editor).click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.insertText(text.replace(/\s+/g, ' '));
  await page.keyboard.press('Home');
}

/** Writes an operation in the query editor, and prettifies it as a person would. */
async function writeOperation(text: string) {
  await typeInto('.graphiql-query-editor', text);
  await page.getByRole('button', { name: /^Prettify query/ }).click();
  await page.locator('.graphiql-query-editor').click();
  await page.keyboard.press('ControlOrMeta+Home');
}

/** The text a Monaco editor (or the result pane) shows, its whitespace (nbsp included) made plain spaces. */
async function shown(selector: string): Promise<string> {
  return (await page.locator(selector).innerText()).replace(/\s+/g, ' ');
}

/** Waits until the element shows `text`. */
async function showing(selector: string, text: string) {
  await expect.poll(() => shown(selector), { timeout: WAIT_MS, interval: 250 }).toContain(text);
}

const operationOf = (r: Request): string | undefined => {
  if (r.method() === 'POST') return (JSON.parse(r.postData() ?? '{}') as { operationName?: string }).operationName;
  return new URL(r.url()).searchParams.get('operationName') ?? undefined;
};

describe('GraphiQL, served by Parley, in a browser without internet', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('loads, and shows the schema in the docs and the explorer without a key', async ({ onTestFailed }) => {
    onTestFailed(() => shot('failed-docs'));
    const introspection = page.waitForResponse((r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('__schema'));
    await page.goto(`${url}/graphql`);
    const schema = await introspection;
    expect(schema.status()).toBe(200);
    expect(schema.request().headers()['x-api-key']).toBeUndefined();
    expect((await schema.json()).errors).toBeUndefined();

    await showing('.graphiql-query-editor', '{"X-API-Key": "prl_..."}');

    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Root Types').waitFor();
    await docs.locator('a.graphiql-doc-explorer-type-name', { hasText: /^Query$/ }).click();
    await docs.getByText('conversations', { exact: true }).first().waitFor();
    await docs.getByText('conversationByNumber', { exact: true }).first().waitFor();
    await shot('1-docs');

    await page.getByRole('button', { name: 'Show GraphiQL Explorer' }).click();
    const explorer = page.locator('.graphiql-plugin');
    await explorer.getByText('conversationByNumber', { exact: true }).first().waitFor();
    await shot('2-explorer');
  });

  it('runs the inbox query with the key pasted in the Headers tab', async ({ onTestFailed }) => {
    onTestFailed(() => shot('failed-inbox'));
    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await typeInto('.graphiql-editor-tool .graphiql-editor:not(.hidden)', JSON.stringify({ 'X-API-Key': key }));
    await writeOperation(INBOX);

    const answer = page.waitForResponse((r) => operationOf(r.request()) === 'Inbox');
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const res = await answer;
    expect(res.request().headers()['x-api-key']).toBe(key);
    expect(res.status()).toBe(200);
    const body = await res.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.conversations.totalCount).toBeGreaterThan(0);
    const first = body.data.conversations.edges[0].node;
    await showing('.graphiql-response', `"number": ${first.number}`);
    await shot('3-inbox');
  });

  it('runs a conversationEvents subscription and shows the event of a mutation', async ({ onTestFailed }) => {
    onTestFailed(() => shot('failed-subscription'));
    const api = client(url, key);
    // The conversation the inbox showed, followed from its latest event: the mutation's event
    // arrives even if the mutation commits before the subscription is listening.
    const inbox = await api.ok<{ conversations: { edges: { node: { id: string } }[] } }>(
      '{ conversations(first: 1, filter: { status: [OPEN], assignee: { me: true } }) { edges { node { id } } } }',
    );
    const conversationId = inbox.conversations.edges[0]!.node.id;
    const latest = await api.ok<{ conversation: { timeline: { edges: { node: { cursor: string } }[] } } }>(
      'query($id: ID!) { conversation(id: $id) { timeline(last: 1) { edges { node { cursor } } } } }',
      { id: conversationId },
    );
    const after = latest.conversation.timeline.edges[0]!.node.cursor;

    await writeOperation(
      `subscription Live {
  conversationEvents(after: "${after}", filter: { conversation: "${conversationId}" }) {
    cursor kind conversationId message { content senderType }
  }
}`,
    );
    const stream = page.waitForResponse((r) => operationOf(r.request()) === 'Live');
    await page.getByRole('button', { name: /^Execute query/ }).click();
    const opened = await stream;
    expect(opened.status()).toBe(200);
    expect(opened.headers()['content-type']).toContain('text/event-stream');
    expect(opened.request().headers()['x-api-key']).toBe(key);

    const content = `Hello from the browser test, ${Date.now()}`;
    const sent = await api.ok<{ sendMessage: { __typename: string } }>(
      'mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }',
      { input: { conversationId, content, senderType: 'CONTACT' } },
    );
    expect(sent.sendMessage.__typename).toBe('SendMessagePayload');
    await showing('.graphiql-response', content);
    await showing('.graphiql-response', '"kind": "MESSAGE_ADDED"');
    await shot('4-subscription');
  });

  it('asked nothing of any other host, and broke no rule of the page', () => {
    expect(blocked).toEqual([]);
    expect(requested.length).toBeGreaterThan(5);
    for (const r of requested) expect(r.startsWith(`${url}/`)).toBe(true);
    expect(problems).toEqual([]);
  });
});
