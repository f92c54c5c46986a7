// The satisfaction survey page as a contact uses it, in headless Chromium (Debian's `chromium`,
// driven by playwright-core) with JavaScript off and every request to a host other than
// 127.0.0.1 blocked: the link of the survey card opens the page, the contact writes a comment
// and presses a rating, the thanks show, and the rating counts in conversationStats.
// Screenshots go to test/artifacts/survey/. Run by `npm run test:browser`; it fails, never
// skips, without Chromium.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertChromium, launchChromium, offline } from '../support/browser.js';
import { globalId, openWriteWorld, randomPhone, type Api, type SeededWorkspace, type TestServer } from '../support/write-api.js';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/survey/', import.meta.url));
/** For each wait in the page: generous, for a loaded 2-core machine. They bound hangs. */
const WAIT_MS = 60_000;

let server: TestServer;
let ws: SeededWorkspace;
let a: Api;
let browser: Browser | undefined;
let page: Page;
const blocked: string[] = [];
const problems: string[] = [];

beforeAll(async () => {
  assertChromium();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  // No PUBLIC_URL: survey links name the address the server listens on.
  ({ server, ws, a } = await openWriteWorld('Acme Support'));
  browser = await launchChromium(WAIT_MS);
  // The page must work without JavaScript: the context has none.
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 800, height: 900 } });
  context.setDefaultTimeout(WAIT_MS);
  await offline(context, blocked);
  page = await context.newPage();
  page.on('console', (m) => {
    if (/Content.Security.Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('the survey page in a browser', () => {
  it('opens from the card, records a rating with a comment, thanks the contact, and the rating counts in the stats', async () => {
    const created = await a.createConversation({
      inboxId: globalId('Inbox', ws.inboxes.web.id),
      contact: { phone: randomPhone(), name: 'Bea Browser' },
      message: { senderType: 'CONTACT', content: 'Where is my parcel?' },
    });
    const conversationId = created.conversation.id;
    await a.must('resolveConversation', { conversationId, reason: 'ISSUE_RESOLVED', requestSatisfaction: true }, '__typename');
    const survey = (await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { surveys { message { card { actions { label url } } } } } } }`, { id: conversationId })).node.surveys[0];
    const happy = survey.message.card.actions.find((x: { label: string }) => x.label === '4 - Happy');
    expect(happy.url).toMatch(new RegExp(`^${server.url}/survey/[A-Za-z0-9_-]{43}\\?rating=4$`));

    await page.goto(happy.url);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('How would you rate our help?');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.getByText('You chose 4 - Happy').count()).toBe(1);
    await page.screenshot({ path: join(ARTIFACTS, '1-survey.png') });

    await page.getByLabel('Anything you want to tell us? (optional)').fill('Quick & friendly <3');
    await page.getByRole('button', { name: '4 - Happy' }).click();
    await page.getByRole('status').waitFor();
    expect(await page.getByRole('status').innerText()).toBe('Thank you! We recorded your rating: 4 - Happy.');
    expect(await page.getByLabel('Anything you want to tell us? (optional)').inputValue()).toBe('Quick & friendly <3');
    await page.screenshot({ path: join(ARTIFACTS, '2-thanks.png') });

    const stats = (await a.ok(`{ conversationStats { csat { sent answered averageRating satisfiedShare responseRate } } }`)).conversationStats.csat;
    expect(stats).toEqual({ sent: 1, answered: 1, averageRating: 4, satisfiedShare: 1, responseRate: 1 });
    const answered = (await a.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { surveys { status rating comment } } } }`, { id: conversationId })).node.surveys[0];
    expect(answered).toEqual({ status: 'ANSWERED', rating: 4, comment: 'Quick & friendly <3' });

    // A link that opens no survey: a page that says so.
    const missing = await page.goto(`${server.url}/survey/${'x'.repeat(43)}`);
    expect(missing?.status()).toBe(404);
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Survey not found');
    expect(blocked).toEqual([]);
    expect(problems).toEqual([]);
  });
});
