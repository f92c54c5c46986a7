// Builds the world a test needs, directly in the database (as an operator would):
// seedWorkspace() -> a workspace with an admin, an agent, inboxes and keys.
// Conversations and messages should be created through the API in tests of the write
// API; createConversationRow() is for read tests that need many rows quickly.
import type {
  ApiKeyKind,
  Channel,
  ConversationStatus,
  Controller,
  Priority,
  PrismaClient,
  Scope,
  SenderType,
} from '../../src/generated/prisma/client.js';
import { ALL_SCOPES, createApiKey } from '../../src/services/api-keys.js';

export interface SeededWorkspace {
  workspaceId: string;
  /** A TEAM key with every scope, acting as the admin user. */
  key: string;
  keyId: string;
  admin: { id: string };
  agent: { id: string };
  inboxes: Record<'whatsapp' | 'email' | 'web', { id: string; channel: Channel }>;
  /** Makes another key in this workspace. */
  makeKey(opts?: { kind?: ApiKeyKind; scopes?: Scope[]; userId?: string | null; expiresAt?: Date | null }): Promise<{ id: string; secret: string }>;
}

let counter = 0;

/** The workspace's counters (src/services/timeline.ts): zeros before its first numbering step makes the row. */
export async function counters(prisma: PrismaClient, workspaceId: string): Promise<{ eventSeq: bigint; conversationSeq: number }> {
  const row = await prisma.workspaceCounter.findUnique({ where: { workspaceId } });
  return { eventSeq: row?.eventSeq ?? 0n, conversationSeq: row?.conversationSeq ?? 0 };
}

export async function seedWorkspace(prisma: PrismaClient, name = `Workspace ${++counter}`): Promise<SeededWorkspace> {
  const ws = await prisma.workspace.create({ data: { name } });
  const workspaceId = ws.id;
  const admin = await prisma.user.create({ data: { workspaceId, name: 'Ada Admin', email: 'ada@example.test', role: 'ADMIN', availability: 'ONLINE' } });
  const agent = await prisma.user.create({ data: { workspaceId, name: 'Alan Agent', email: 'alan@example.test', role: 'AGENT', availability: 'ONLINE' } });
  const inbox = (n: string, channel: Channel) => prisma.inbox.create({ data: { workspaceId, name: n, channel } });
  const inboxes = {
    whatsapp: await inbox('WhatsApp', 'WHATSAPP'),
    email: await inbox('Email', 'EMAIL'),
    web: await inbox('Web chat', 'WEB_CHAT'),
  };
  const makeKey: SeededWorkspace['makeKey'] = async (opts = {}) => {
    const k = await createApiKey(prisma, {
      workspaceId,
      name: 'test key',
      kind: opts.kind ?? 'TEAM',
      scopes: opts.scopes ?? ALL_SCOPES,
      userId: opts.userId === undefined ? admin.id : opts.userId,
      expiresAt: opts.expiresAt ?? null,
    });
    return { id: k.id, secret: k.secret };
  };
  const key = await makeKey();
  return { workspaceId, key: key.secret, keyId: key.id, admin, agent, inboxes, makeKey };
}

// ---------------------------------------------------------------------------------------
// Fast rows for read tests: conversations with their contact, labels, messages and
// handoffs written directly, with the denormalised counters (messageCount, unreadCount,
// lastMessage*, firstResponseAt, firstHumanResponseAt, waitingSince) derived from the
// messages the same way the write services keep them.

export interface MessageRowSpec {
  sender: SenderType;
  content: string;
  /** An internal note. */
  private?: boolean;
  /** Defaults to one minute after the previous message (the first: the conversation's createdAt). */
  at?: Date;
  /** The team member, for HUMAN messages. */
  userId?: string | null;
  deleted?: boolean;
}

export interface ConversationRowSpec {
  inbox?: keyof SeededWorkspace['inboxes'] | { id: string };
  /** An existing contact, or the fields of a new one (a unique name by default). */
  contact?: { id: string } | { name?: string | null; email?: string | null; phone?: string | null; customAttributes?: Record<string, unknown> };
  subject?: string | null;
  status?: ConversationStatus;
  controller?: Controller;
  priority?: Priority;
  assigneeId?: string | null;
  /** Label names; created in the workspace when missing. */
  labels?: string[];
  customAttributes?: Record<string, unknown>;
  createdAt?: Date;
  messages?: MessageRowSpec[];
  handoffs?: { startedAt?: Date; endedAt?: Date | null; assigneeId?: string | null; reason?: string }[];
  resolvedAt?: Date | null;
  satisfactionRequested?: boolean;
  satisfactionRating?: number | null;
  snoozedUntil?: Date | null;
}

export interface ConversationRow {
  id: string;
  number: number;
  contactId: string;
  messageIds: string[];
  labelIds: string[];
}

const PREVIEW_LENGTH = 140;
let contactCounter = 0;

/** Finds or creates labels by name in the workspace; returns their ids in order. */
export async function labelIds(prisma: PrismaClient, workspaceId: string, names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const label = await prisma.label.upsert({
      where: { workspaceId_name: { workspaceId, name } },
      create: { workspaceId, name },
      update: {},
    });
    ids.push(label.id);
  }
  return ids;
}

/** Writes one conversation and everything in it; see {@link ConversationRowSpec}. */
export async function createConversationRow(
  prisma: PrismaClient,
  ws: SeededWorkspace,
  spec: ConversationRowSpec = {},
): Promise<ConversationRow> {
  const { workspaceId } = ws;
  const inboxId = typeof spec.inbox === 'object' ? spec.inbox.id : ws.inboxes[spec.inbox ?? 'whatsapp'].id;
  let contactId: string;
  if (spec.contact && 'id' in spec.contact) {
    contactId = spec.contact.id;
  } else {
    const c = spec.contact ?? {};
    const contact = await prisma.contact.create({
      data: {
        workspaceId,
        name: c.name === undefined ? `Contact ${++contactCounter}` : c.name,
        email: c.email ?? null,
        phone: c.phone ?? null,
        customAttributes: (c.customAttributes ?? {}) as object,
      },
    });
    contactId = contact.id;
  }
  const labels = await labelIds(prisma, workspaceId, spec.labels ?? []);
  const { conversationSeq: number } = await prisma.workspaceCounter.upsert({
    where: { workspaceId },
    create: { workspaceId, conversationSeq: 1 },
    update: { conversationSeq: { increment: 1 } },
    select: { conversationSeq: true },
  });
  const createdAt = spec.createdAt ?? new Date();
  const status = spec.status ?? 'OPEN';
  const conversation = await prisma.conversation.create({
    data: {
      workspaceId,
      number,
      inboxId,
      contactId,
      subject: spec.subject ?? null,
      status,
      controller: spec.controller ?? 'AI_AGENT',
      priority: spec.priority ?? 'NONE',
      assigneeId: spec.assigneeId ?? null,
      customAttributes: (spec.customAttributes ?? {}) as object,
      snoozedUntil: spec.snoozedUntil ?? null,
      resolvedAt: spec.resolvedAt ?? null,
      resolutionReason: spec.resolvedAt ? 'ISSUE_RESOLVED' : null,
      satisfactionRequested: spec.satisfactionRequested ?? spec.satisfactionRating != null,
      satisfactionRating: spec.satisfactionRating ?? null,
      satisfactionRecordedAt: spec.satisfactionRating != null ? (spec.resolvedAt ?? createdAt) : null,
      createdAt,
      lastActivityAt: createdAt,
      labels: labels.length ? { connect: labels.map((id) => ({ id })) } : undefined,
    },
  });

  // Messages: ids are made here so that one createMany writes them all in order.
  let at = createdAt.getTime() - 60_000;
  const rows = (spec.messages ?? []).map((m) => {
    at = m.at ? m.at.getTime() : at + 60_000;
    return {
      id: crypto.randomUUID(),
      workspaceId,
      conversationId: conversation.id,
      inboxId,
      content: m.deleted ? null : m.content,
      senderType: m.sender,
      senderUserId: m.sender === 'HUMAN' ? (m.userId ?? ws.agent.id) : null,
      senderContactId: m.sender === 'CONTACT' ? contactId : null,
      private: m.private ?? false,
      status: m.sender === 'CONTACT' ? ('RECEIVED' as const) : m.private ? ('SENT' as const) : ('DELIVERED' as const),
      createdAt: new Date(at),
      deletedAt: m.deleted ? new Date(at) : null,
    };
  });
  if (rows.length) await prisma.message.createMany({ data: rows });

  let messageCount = 0;
  let publicMessageCount = 0;
  let unreadCount = 0;
  let last: (typeof rows)[number] | null = null;
  let firstResponseAt: Date | null = null;
  let firstHumanResponseAt: Date | null = null;
  let waitingSince: Date | null = null;
  for (const m of rows) {
    if (m.deletedAt) continue;
    messageCount += 1;
    if (m.private) continue;
    publicMessageCount += 1;
    last = m;
    if (m.senderType === 'CONTACT') {
      unreadCount += 1;
      waitingSince ??= m.createdAt;
    } else if (m.senderType === 'HUMAN' || m.senderType === 'AI_AGENT') {
      firstResponseAt ??= m.createdAt;
      if (m.senderType === 'HUMAN') firstHumanResponseAt ??= m.createdAt;
      waitingSince = null;
      unreadCount = 0;
    }
  }
  await prisma.conversation.update({
    where: { id: conversation.id },
    data: {
      messageCount,
      publicMessageCount,
      unreadCount,
      lastMessageAt: last?.createdAt ?? null,
      lastActivityAt: last?.createdAt ?? createdAt,
      lastMessagePreview: last?.content ? last.content.slice(0, PREVIEW_LENGTH) : null,
      lastMessageId: last?.id ?? null,
      lastMessageSenderType: last?.senderType ?? null,
      firstResponseAt,
      firstHumanResponseAt,
      waitingSince,
    },
  });

  for (const h of spec.handoffs ?? []) {
    await prisma.handoff.create({
      data: {
        workspaceId,
        conversationId: conversation.id,
        startedAt: h.startedAt ?? createdAt,
        endedAt: h.endedAt ?? null,
        startedByType: 'AI_AGENT',
        endedByType: h.endedAt ? 'USER' : null,
        assigneeId: h.assigneeId ?? null,
        reason: h.reason ?? 'Needs a human',
      },
    });
  }
  return { id: conversation.id, number, contactId, messageIds: rows.map((r) => r.id), labelIds: labels };
}

/** Writes `count` conversations, `spec(i)` describing the i-th; returns them in order. */
export async function createConversationRows(
  prisma: PrismaClient,
  ws: SeededWorkspace,
  count: number,
  spec: (i: number) => ConversationRowSpec = () => ({}),
): Promise<ConversationRow[]> {
  const out: ConversationRow[] = [];
  for (let i = 0; i < count; i++) out.push(await createConversationRow(prisma, ws, spec(i)));
  return out;
}
