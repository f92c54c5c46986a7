// Helpers for the write API tests: a server per test file, the conversation fields the
// tests look at, and calls that create the world through the API itself.
import { expect } from 'vitest';
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import {
  CreateConversationDocument,
  SendMessageDocument,
  type CreateConversationInput,
  type SendMessageInput,
} from '../generated/graphql.js';
import { client, globalId, localId } from './graphql.js';
import { counters, seedWorkspace, type SeededWorkspace } from './seed.js';
import { startTestServer, type TestServer } from './server.js';

export { globalId, localId };

export async function startWriteServer(env: Record<string, string> = {}): Promise<TestServer> {
  // The per-key cost budget is not under test here; a long suite would exhaust it.
  return startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0', ...env } });
}

export interface WriteWorld {
  server: TestServer;
  /** The workspace under test, and `a`, a client on its all-scopes key. */
  ws: SeededWorkspace;
  a: Api;
  /** Another workspace, whose ids the tests aim at. */
  other: SeededWorkspace;
}

/** What every write test file starts from: a server of its own, its workspace and a stranger's. */
export async function openWriteWorld(name: string, env: Record<string, string> = {}): Promise<WriteWorld> {
  const server = await startWriteServer(env);
  const ws = await seedWorkspace(server.db.prisma, name);
  const other = await seedWorkspace(server.db.prisma, 'Other');
  return { server, ws, other, a: api(server.url, ws.key) };
}

export const CONVERSATION = `
  id number status controller priority version subject customAttributes
  messageCount unreadCount lastMessageAt lastMessagePreview lastMessage { id }
  firstResponseAt firstHumanResponseAt waitingSince snoozedUntil
  resolutionReason resolutionNote satisfactionRequested satisfactionRating satisfactionComment
  assignee { id } labels { id name } contact { id } inbox { id }`;

/** Selects the common error fields of any mutation result. */
export const ERROR = `... on Error { __typename code message }`;

export type Api = ReturnType<typeof api>;

/** A client with the write calls the tests use again and again. */
export function api(url: string, key: string) {
  const c = client(url, key);
  /** Runs a mutation and returns its result object (payload or typed error). */
  const mutate = async (name: string, input: Record<string, unknown>, selection: string) => {
    const data = await c.ok(`mutation($input: ${inputTypeOf(name)}!) { ${name}(input: $input) { __typename ${selection} } }`, { input });
    return data[name];
  };
  /** Runs a mutation that must succeed; returns its payload. */
  const must = async (name: string, input: Record<string, unknown>, selection: string) => {
    const result = await mutate(name, input, `${selection} ${ERROR}`);
    if (result.code) throw new Error(`${name} failed: ${JSON.stringify(result)}`);
    return result;
  };
  return {
    ...c,
    mutate,
    must,
    // Typed documents (test/operations/*.graphql): a schema change that breaks these calls
    // fails the typecheck, and the tests at run time.
    async createConversation(input: CreateConversationInput) {
      const result = (await c.ok(CreateConversationDocument, { input })).createConversation;
      if (result?.__typename !== 'CreateConversationPayload') throw new Error(`createConversation failed: ${JSON.stringify(result)}`);
      return { ...result, conversation: present(result.conversation, 'createConversation.conversation'), contact: present(result.contact, 'createConversation.contact') };
    },
    async send(conversationId: string, input: Omit<SendMessageInput, 'conversationId'>) {
      const result = (await c.ok(SendMessageDocument, { input: { conversationId, ...input } })).sendMessage;
      if (result?.__typename !== 'SendMessagePayload') throw new Error(`sendMessage failed: ${JSON.stringify(result)}`);
      return { ...result, conversation: present(result.conversation, 'sendMessage.conversation') };
    },
    async conversation(id: string) {
      const data = await c.ok(`query($id: ID!) { node(id: $id) { ... on Conversation { ${CONVERSATION} } } }`, { id });
      return data.node;
    },
  };
}

/** A field the all-scopes key always reads (null would be a FORBIDDEN the test did not expect). */
function present<T>(value: T | null | undefined, what: string): T {
  if (value == null) throw new Error(`${what} is null`);
  return value;
}

function inputTypeOf(mutation: string) {
  return `${mutation[0]!.toUpperCase()}${mutation.slice(1)}Input`;
}

/** A workspace and a conversation on WhatsApp with one contact message, made through the API. */
export async function newConversation(a: Api, ws: SeededWorkspace, opts: { phone?: string; text?: string | null } = {}) {
  const phone = opts.phone ?? randomPhone();
  const input: CreateConversationInput = { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone, name: 'Test contact' } };
  if (opts.text !== null) input.message = { senderType: 'CONTACT', content: opts.text ?? 'Hello!' };
  return a.createConversation(input);
}

let phoneCounter = 0;
export function randomPhone(): string {
  phoneCounter += 1;
  return `+1555${String(process.pid % 1000).padStart(3, '0')}${String(phoneCounter).padStart(4, '0')}`;
}

/** Everything a mutation could have written, counted, to show that a failed one wrote nothing. */
export async function footprint(prisma: PrismaClient, workspaceId: string) {
  const where = { workspaceId };
  const [conversations, messages, contacts, identities, labels, handoffs, events, ws, labelLinks] = await Promise.all([
    prisma.conversation.findMany({ where, orderBy: { id: 'asc' } }),
    prisma.message.findMany({ where, orderBy: { id: 'asc' } }),
    prisma.contact.findMany({ where, orderBy: { id: 'asc' } }),
    prisma.contactIdentity.count({ where }),
    prisma.label.findMany({ where, orderBy: { id: 'asc' } }),
    prisma.handoff.findMany({ where, orderBy: { id: 'asc' } }),
    prisma.event.count({ where }),
    counters(prisma, workspaceId),
    prisma.conversation.findMany({ where, select: { id: true, labels: { select: { id: true } } }, orderBy: { id: 'asc' } }),
  ]);
  return { conversations, messages, contacts, identities, labels, handoffs, events, conversationSeq: ws.conversationSeq, eventSeq: ws.eventSeq, labelLinks };
}

/** Asserts that `run` leaves the workspace's footprint exactly as it was. */
export async function expectNothingWritten(prisma: PrismaClient, workspaceId: string, run: () => Promise<unknown>) {
  const before = await footprint(prisma, workspaceId);
  await run();
  expect(await footprint(prisma, workspaceId)).toEqual(before);
}

export async function events(prisma: PrismaClient, workspaceId: string, conversationId?: string) {
  return prisma.event.findMany({
    where: { workspaceId, ...(conversationId ? { conversationId: localId(conversationId) } : {}) },
    orderBy: { seq: 'asc' },
  });
}

export { seedWorkspace, type SeededWorkspace, type TestServer };
