// The demo workspace created by the first `npm start` on an empty database, so that the
// first query in GraphiQL returns something real: several inboxes over different channels,
// contacts, conversations in every status and under both controllers, threads from
// contacts, humans and the AI, internal notes, labels, a finished and a live handoff.
// It is written through the same services as the API, so every counter, event and rule
// holds as it would in real use; then the whole demo is aged, so that it reads like the
// last three days rather than the last second.
//
// All of it, the key included, is one transaction: a start killed while seeding leaves no
// trace, and the next start seeds again and prints the key. The services open their own
// transactions; here they join the seed's (see `joined`). A transaction-level advisory lock
// makes two processes starting at once on an empty PostgreSQL database seed it once.
import type {
  Channel,
  ConversationStatus,
  Controller,
  Priority,
  PrismaClient,
  SenderType,
} from '../generated/prisma/client.js';
import { scopeToWorkspace, type ScopedDb, type ScopedTx } from '../db/tenant.js';
import { createApiKey } from '../services/admin.js';
import { ALL_SCOPES } from '../services/api-keys.js';
import { createContact } from '../services/contacts.js';
import { assignConversation, changeConversationStatus, createConversation, recordSatisfaction } from '../services/conversations.js';
import { startHumanHandoff, stopHumanHandoff } from '../services/handoffs.js';
import { createLabel } from '../services/labels.js';
import { sendMessage } from '../services/messages.js';
import { uuidv7 } from '../uuid.js';
import type { Actor, ServiceContext } from '../services/timeline.js';
import type { SurveySettings } from '../services/surveys.js';

type Line = [sender: SenderType, text: string, opts?: { private?: boolean; by?: 'ada' | 'grace' | 'linus' }];

interface DemoConversation {
  inbox: 'whatsapp' | 'email' | 'web' | 'instagram' | 'sms';
  contact: number;
  subject?: string;
  status: ConversationStatus;
  controller: Controller;
  priority: Priority;
  assignee?: 'ada' | 'grace' | 'linus';
  labels: string[];
  lines: Line[];
  handoff?: { by: 'grace' | 'linus'; reason: string; summary: string; ended?: string };
}

const CONTACTS = [
  { name: 'María García', phone: '+34612345678', email: 'maria@example.es', ids: [['WHATSAPP', '+34612345678']] },
  { name: 'James Okafor', email: 'james.okafor@example.com', ids: [['EMAIL', 'james.okafor@example.com']] },
  { name: 'Yuki Tanaka', ids: [['INSTAGRAM', 'ig_1784512093']] },
  { name: 'Priya Raman', phone: '+919876543210', ids: [['SMS', '+919876543210'], ['WHATSAPP', '+919876543210']] },
  { name: 'Lukas Becker', email: 'lukas@example.de', ids: [['EMAIL', 'lukas@example.de']] },
  { name: 'Visitor 7f3a', ids: [['WEB_CHAT', 'visitor-7f3a']] },
  { name: 'Chloé Martin', phone: '+33612345678', email: 'chloe@example.fr', ids: [['WHATSAPP', '+33612345678']] },
] as const;

const CONVERSATIONS: DemoConversation[] = [
  {
    inbox: 'whatsapp', contact: 0, status: 'OPEN', controller: 'AI_AGENT', priority: 'MEDIUM', assignee: 'ada', labels: ['billing'],
    lines: [
      ['CONTACT', 'Hola, I was charged twice for my subscription this month.'],
      ['AI_AGENT', 'Sorry about that, María. I can see two charges on 3 November. Let me check whether one is a pending authorisation.'],
      ['CONTACT', 'Both show as paid in my bank app.'],
    ],
  },
  {
    inbox: 'email', contact: 1, subject: 'Cannot export invoices as PDF', status: 'OPEN', controller: 'HUMAN', priority: 'HIGH',
    assignee: 'grace', labels: ['bug', 'vip'],
    lines: [
      ['CONTACT', 'Hi, the "Export PDF" button on the invoices page does nothing since yesterday.'],
      ['AI_AGENT', 'Thanks James. Could you tell me which browser you are using?'],
      ['CONTACT', 'Chrome 131 on macOS. Our accountant needs these today.'],
      ['SYSTEM', 'The AI handed this conversation to a human.'],
      ['HUMAN', 'Looks like the export regression from this morning\'s deploy, see ENG-2231.', { private: true, by: 'grace' }],
      ['HUMAN', 'Hi James, Grace here. We found the cause and a fix is rolling out within the hour. I will confirm once it is live.', { by: 'grace' }],
    ],
    handoff: { by: 'grace', reason: 'Customer is blocked and VIP', summary: 'PDF export broken since yesterday on Chrome/macOS; accountant needs invoices today.' },
  },
  {
    inbox: 'instagram', contact: 2, status: 'PENDING', controller: 'AI_AGENT', priority: 'LOW', labels: ['onboarding'],
    lines: [
      ['CONTACT', 'Do you ship to Japan?'],
      ['AI_AGENT', 'We do! Shipping to Japan takes 5-7 business days. Would you like a link to the size guide too?'],
    ],
  },
  {
    inbox: 'sms', contact: 3, status: 'SNOOZED', controller: 'HUMAN', priority: 'MEDIUM', assignee: 'linus', labels: ['refund'],
    lines: [
      ['CONTACT', 'My refund has not arrived yet.'],
      ['HUMAN', 'Hi Priya, refunds take up to 5 business days. I will check back on Monday.', { by: 'linus' }],
      ['HUMAN', 'Snoozed until Monday, when the bank batch settles.', { private: true, by: 'linus' }],
    ],
    handoff: { by: 'linus', reason: 'Refund questions go to a human', summary: 'Refund issued on the 14th, customer asking for status.' },
  },
  {
    inbox: 'email', contact: 4, subject: 'Change of billing address', status: 'RESOLVED', controller: 'AI_AGENT', priority: 'NONE',
    assignee: 'ada', labels: ['billing'],
    lines: [
      ['CONTACT', 'Please update our billing address to Torstraße 1, Berlin.'],
      ['HUMAN', 'Done, Lukas: the next invoice will carry the new address.', { by: 'ada' }],
      ['CONTACT', 'Thank you!'],
      ['AI_AGENT', 'You are welcome. Anything else I can help with?'],
    ],
    handoff: { by: 'grace', reason: 'Address changes need verification', summary: 'Wants billing address changed.', ended: 'Address verified and changed; back to the AI.' },
  },
  {
    inbox: 'web', contact: 5, status: 'CLOSED', controller: 'AI_AGENT', priority: 'NONE', labels: [],
    lines: [
      ['CONTACT', 'What are your opening hours?'],
      ['AI_AGENT', 'Our support team is available Monday to Friday, 8:00 to 18:00 CET. I am here around the clock.'],
    ],
  },
  {
    inbox: 'whatsapp', contact: 6, status: 'ARCHIVED', controller: 'AI_AGENT', priority: 'NONE', labels: ['spam'],
    lines: [['CONTACT', 'Gagnez 1000 € maintenant !!! cliquez ici']],
  },
  {
    inbox: 'whatsapp', contact: 6, status: 'OPEN', controller: 'AI_AGENT', priority: 'URGENT', assignee: 'grace', labels: ['vip'],
    lines: [
      ['CONTACT', 'Sorry about the earlier message, my phone was hacked. Now my account is locked!'],
      ['AI_AGENT', 'I understand, Chloé. For your security I will ask a teammate to verify your identity.'],
    ],
  },
];

const HOUR = 3600_000;

export const DEMO_WORKSPACE_NAME = 'Acme Support (demo)';
export const DEMO_KEY_NAME = 'Demo key (Ada, all scopes)';

/** Any constant: the advisory lock key under which the demo is seeded. */
const SEED_LOCK = 7_202_611_210;

/**
 * The seed's steps, named for the test hook that stops a start at one of them to kill it
 * there (PARLEY_TEST_SEED_HOLD_AT, src/app.ts).
 */
export type SeedStep = 'workspace' | 'users' | 'inboxes' | 'labels' | `contact-${number}` | `conversation-${number}` | 'aged' | 'key' | 'committed';

export interface SeedOptions {
  /** Called once the database is found empty, before the seed begins (the start says so). */
  onStart?: () => void;
  /** Called after each step; the seed waits for it. */
  afterStep?: (step: SeedStep) => Promise<void>;
  /** How the link of the demo's survey is made. */
  surveys?: SurveySettings;
}

/**
 * The transaction client seen as a client whose transactions join it: a service's
 * `db.$transaction(work)` runs `work` in the seed's transaction.
 */
function joined(tx: ScopedTx): ScopedDb {
  return new Proxy(tx, {
    get(target, prop) {
      if (prop === '$transaction') return (work: (t: ScopedTx) => unknown) => work(target);
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as ScopedDb;
}

/**
 * Creates the demo workspace, in one transaction, unless a workspace exists; returns its
 * new API key, or null.
 */
export async function seedDemoIfEmpty(prisma: PrismaClient, options: SeedOptions = {}): Promise<string | null> {
  if ((await prisma.workspace.count()) > 0) return null;
  options.onStart?.();
  const step = options.afterStep ?? (async () => {});
  const workspaceId = uuidv7();
  const scoped = scopeToWorkspace(prisma, workspaceId);
  const secret = await scoped.$transaction(
    async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${SEED_LOCK}::bigint)`;
      const existing = await tx.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM "workspace"`;
      if (Number(existing[0]!.n) > 0) return null;
      await tx.$executeRaw`INSERT INTO "workspace" ("id", "name", "updated_at") VALUES (${workspaceId}::uuid, ${DEMO_WORKSPACE_NAME}, now())`;
      await step('workspace');
      return seed(tx, workspaceId, step, options.surveys);
    },
    // Seeding takes seconds when idle and much longer on a busy machine; a second process
    // waits here (on the advisory lock) for the first one's seed to commit.
    { timeout: 30 * 60_000, maxWait: 5 * 60_000 },
  );
  if (secret) await step('committed');
  return secret;
}

async function seed(tx: ScopedTx, workspaceId: string, step: (s: SeedStep) => Promise<void>, surveys?: SurveySettings): Promise<string> {
  const db = joined(tx);
  const as = (actor: Actor): ServiceContext => ({ db, workspaceId, actor, surveys });
  const system = as({ type: 'SYSTEM' });
  const ai = as({ type: 'AI_AGENT' });

  const user = (name: string, email: string, role: 'ADMIN' | 'AGENT', availability: 'ONLINE' | 'AWAY' | 'OFFLINE') =>
    db.user.create({ data: { workspaceId, name, email, role, availability } });
  const users = {
    ada: await user('Ada Lovelace', 'ada@acme.test', 'ADMIN', 'ONLINE'),
    grace: await user('Grace Hopper', 'grace@acme.test', 'AGENT', 'ONLINE'),
    linus: await user('Linus Pauling', 'linus@acme.test', 'AGENT', 'AWAY'),
  };
  await step('users');
  const person = (who: keyof typeof users) => as({ type: 'USER', userId: users[who].id });
  const inbox = (name: string, channel: Channel) => db.inbox.create({ data: { workspaceId, name, channel } });
  const inboxes = {
    whatsapp: await inbox('WhatsApp +1 415 555 0100', 'WHATSAPP'),
    email: await inbox('support@acme.test', 'EMAIL'),
    web: await inbox('Website chat', 'WEB_CHAT'),
    instagram: await inbox('Instagram @acme', 'INSTAGRAM'),
    sms: await inbox('SMS +1 415 555 0101', 'SMS'),
  };
  await step('inboxes');
  const labelColors: Record<string, string> = {
    billing: '#1f6feb', bug: '#d1242f', vip: '#8250df', refund: '#bf8700', onboarding: '#1a7f37', spam: '#6e7781',
  };
  const labels: Record<string, string> = {};
  for (const [name, color] of Object.entries(labelColors)) {
    labels[name] = (await createLabel(system, { name, color, description: `Conversations about ${name}` })).id;
  }
  await step('labels');
  const contacts: string[] = [];
  for (const [i, c] of CONTACTS.entries()) {
    const contact = await createContact(system, {
      name: c.name,
      email: 'email' in c ? c.email : null,
      phone: 'phone' in c ? c.phone : null,
      customAttributes: { plan: i % 2 ? 'pro' : 'starter' },
      identities: c.ids.map(([channel, handle]) => ({ channel, handle })),
    });
    contacts.push(contact.id);
    await step(`contact-${i}`);
  }

  const conversationIds: string[] = [];
  for (const [n, spec] of CONVERSATIONS.entries()) {
    const contactId = contacts[spec.contact]!;
    const [first, ...rest] = spec.lines;
    const created = await createConversation(as({ type: 'CONTACT', contactId }), {
      inboxId: inboxes[spec.inbox].id,
      contactId,
      subject: spec.subject ?? null,
      priority: spec.priority,
      labelIds: spec.labels.map((l) => labels[l]!),
      message: { senderType: first![0], content: first![1], providerMessageId: `demo-${n}-0` },
    });
    const conversationId = created.conversationId;
    conversationIds.push(conversationId);
    // The handoff starts before the first human reply and, when it ends, after the last one.
    const lastHuman = rest.map(([sender]) => sender).lastIndexOf('HUMAN');
    let handedOff = false;
    for (const [j, [sender, text, opts]] of rest.entries()) {
      if (spec.handoff && !handedOff && (sender === 'HUMAN' || sender === 'SYSTEM')) {
        await startHumanHandoff(ai, { conversationId, assigneeId: users[spec.handoff.by].id, reason: spec.handoff.reason, summary: spec.handoff.summary });
        handedOff = true;
      }
      const ctx = sender === 'HUMAN' ? person(opts?.by ?? 'grace') : sender === 'AI_AGENT' ? ai : sender === 'CONTACT' ? as({ type: 'CONTACT', contactId }) : system;
      await sendMessage(ctx, {
        conversationId,
        senderType: sender,
        content: text,
        private: opts?.private ?? false,
        senderUserId: sender === 'HUMAN' ? users[opts?.by ?? 'grace'].id : null,
        providerMessageId: sender === 'CONTACT' ? `demo-${n}-${j + 1}` : null,
      });
      if (spec.handoff?.ended && j === lastHuman) {
        await stopHumanHandoff(person(spec.handoff.by), { conversationId, note: spec.handoff.ended });
      }
    }
    if (spec.assignee && spec.assignee !== spec.handoff?.by) {
      await assignConversation(person('ada'), { conversationId, assigneeId: users[spec.assignee].id });
    }
    const agent = person(spec.assignee ?? 'grace');
    switch (spec.status) {
      case 'PENDING':
        await changeConversationStatus(agent, conversationId, { to: 'PENDING' });
        break;
      case 'SNOOZED':
        await changeConversationStatus(agent, conversationId, { to: 'SNOOZED', until: new Date(Date.now() + 2 * 24 * HOUR), note: 'Check back after the bank batch settles.' });
        break;
      case 'RESOLVED':
        await changeConversationStatus(agent, conversationId, { to: 'RESOLVED', reason: 'ISSUE_RESOLVED', requestSatisfaction: true });
        await recordSatisfaction(as({ type: 'CONTACT', contactId }), { conversationId, rating: 5, comment: 'Quick and friendly, thanks!' });
        break;
      case 'CLOSED':
        await changeConversationStatus(agent, conversationId, { to: 'CLOSED' });
        break;
      case 'ARCHIVED':
        await changeConversationStatus(agent, conversationId, { to: 'RESOLVED', reason: 'SPAM' });
        await changeConversationStatus(agent, conversationId, { to: 'ARCHIVED' });
        break;
      default:
        break;
    }
    await step(`conversation-${n}`);
  }
  await ageDemo(tx, workspaceId, conversationIds);
  await step('aged');

  const { secret } = await createApiKey(person('ada'), { name: DEMO_KEY_NAME, scopes: ALL_SCOPES, userId: users.ada.id });
  await step('key');
  return secret;
}

/**
 * The demo workspace when none of its keys was ever used: the key printed when it was
 * created may never have been seen (a start stopped between the seed's commit and the
 * printing of the key, or one that failed to listen after seeding).
 */
export async function demoWithUnusedKey(prisma: PrismaClient): Promise<{ workspaceId: string; userId: string | null } | null> {
  const key = await prisma.apiKey.findFirst({
    where: { name: DEMO_KEY_NAME, workspace: { name: DEMO_WORKSPACE_NAME } },
    select: { workspaceId: true, userId: true },
    orderBy: { createdAt: 'asc' },
  });
  if (!key) {
    // A demo workspace without any key: left by a version whose seed was not all or nothing
    // (killed between the workspace and its key). Say how to make one, like for an unused key.
    const stuck = await prisma.workspace.findFirst({
      where: { name: DEMO_WORKSPACE_NAME, apiKeys: { none: {} } },
      select: { id: true, users: { where: { role: 'ADMIN' }, select: { id: true }, orderBy: { createdAt: 'asc' }, take: 1 } },
    });
    return stuck ? { workspaceId: stuck.id, userId: stuck.users[0]?.id ?? null } : null;
  }
  const used = await prisma.apiKey.count({ where: { workspaceId: key.workspaceId, lastUsedAt: { not: null } } });
  return used ? null : key;
}

/**
 * Moves each demo conversation back in time as a block (the first one three days ago, the
 * next ones a few hours later each), keeping every interval inside it, so that lists,
 * waiting times and response times look like real use. Only timestamps move; the ones
 * derived from message times (last message and the sort key, first responses, waiting since)
 * are derived again.
 */
async function ageDemo(prisma: Pick<ScopedTx, '$executeRaw'>, workspaceId: string, conversationIds: string[]) {
  for (const [i, id] of conversationIds.entries()) {
    const hours = 72 - i * 7;
    // Each message a few minutes after the previous one, instead of milliseconds.
    await prisma.$executeRaw`
      UPDATE "message" m SET "created_at" = m."created_at" - make_interval(hours => ${hours}::int) + make_interval(mins => (4 * r.n)::int)
      FROM (SELECT "id", row_number() OVER (ORDER BY "created_at", "id") - 1 AS n FROM "message" WHERE "conversation_id" = ${id}::uuid) r
      WHERE m."id" = r."id"`;
    await prisma.$executeRaw`
      UPDATE "conversation" c SET
        "created_at" = c."created_at" - make_interval(hours => ${hours}::int),
        "last_message_at" = (SELECT "created_at" FROM "message" WHERE "id" = c."last_message_id"),
        "last_activity_at" = coalesce((SELECT "created_at" FROM "message" WHERE "id" = c."last_message_id"), c."created_at" - make_interval(hours => ${hours}::int)),
        "first_response_at" = (SELECT min("created_at") FROM "message" WHERE "conversation_id" = c."id" AND NOT "private" AND "sender_type" IN ('AI_AGENT', 'HUMAN')),
        "first_human_response_at" = (SELECT min("created_at") FROM "message" WHERE "conversation_id" = c."id" AND NOT "private" AND "sender_type" = 'HUMAN'),
        "waiting_since" = CASE WHEN c."waiting_since" IS NULL THEN NULL ELSE (
          SELECT min(m."created_at") FROM "message" m
          WHERE m."conversation_id" = c."id" AND NOT m."private" AND m."sender_type" = 'CONTACT'
            AND m."created_at" > coalesce((SELECT max("created_at") FROM "message" WHERE "conversation_id" = c."id" AND NOT "private" AND "sender_type" IN ('AI_AGENT', 'HUMAN')), '-infinity')) END,
        "resolved_at" = c."resolved_at" - make_interval(hours => ${hours - 1}::int)
      WHERE c."id" = ${id}::uuid AND c."workspace_id" = ${workspaceId}::uuid`;
    await prisma.$executeRaw`
      UPDATE "handoff" SET "started_at" = "started_at" - make_interval(hours => ${hours}::int) + interval '6 minutes',
        "ended_at" = "ended_at" - make_interval(hours => ${hours}::int) + interval '40 minutes'
      WHERE "conversation_id" = ${id}::uuid`;
    await prisma.$executeRaw`
      UPDATE "event" SET "created_at" = "created_at" - make_interval(hours => ${hours}::int) WHERE "conversation_id" = ${id}::uuid`;
  }
}
