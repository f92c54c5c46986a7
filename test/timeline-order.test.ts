// The timeline's cursors follow commit order: a reader that has seen cursor N never later
// finds a new event at or before N, even while many conversations are written at once
// (on PostgreSQL, by concurrent transactions). This is what lets subscribers resume with
// `after` and live feeds skip nothing. On PGlite, and on PostgreSQL in the
// PARLEY_TEST_DB=postgres suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, globalId } from './support/graphql.js';
import { seedWorkspace, type SeededWorkspace } from './support/seed.js';
import { startTestServer, type TestServer } from './support/server.js';

let server: TestServer;
let ws: SeededWorkspace;

beforeAll(async () => {
  server = await startTestServer({ env: { COST_BUDGET_PER_MINUTE: '0' } });
  ws = await seedWorkspace(server.db.prisma, 'Order');
});
afterAll(() => server?.close());

describe('timeline order', () => {
  it('never shows a reader a new event at or before a cursor it has already passed', async () => {
    const api = client(server.url, ws.key);
    const conversations: string[] = [];
    for (let i = 0; i < 12; i++) {
      const data = await api.ok(
        `mutation($input: CreateConversationInput!) { createConversation(input: $input) { ... on CreateConversationPayload { conversation { id } } } }`,
        { input: { inboxId: globalId('Inbox', ws.inboxes.whatsapp.id), contact: { phone: `+1415555${String(1000 + i)}` } } },
      );
      conversations.push(data.createConversation.conversation.id);
    }
    const start = (await server.db.prisma.workspace.findUniqueOrThrow({ where: { id: ws.workspaceId } })).eventSeq;

    // The reader: reads what is past the last cursor it saw, again and again, as a live feed does.
    const seen = new Set<bigint>();
    const late: bigint[] = [];
    let last = start;
    let writing = true;
    let readsDuringWrites = 0;
    const read = async () => {
      const rows = await server.db.prisma.event.findMany({ where: { workspaceId: ws.workspaceId, seq: { gt: start } }, select: { seq: true } });
      if (writing && rows.length > 0) readsDuringWrites++;
      for (const { seq } of rows) {
        if (seen.has(seq)) continue;
        if (seq <= last) late.push(seq); // committed after a later cursor was already visible
        seen.add(seq);
      }
      for (const s of seen) if (s > last) last = s;
    };
    const reader = (async () => {
      while (writing) {
        await read();
        // PGlite answers without I/O: let the server's requests through between reads.
        await new Promise((r) => setImmediate(r));
      }
    })();

    // The writers: three messages to each conversation, all at once.
    const send = (conversationId: string, n: number) =>
      api.ok(`mutation($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`, {
        input: { conversationId, senderType: 'CONTACT', content: `message ${n}` },
      });
    await Promise.all(conversations.flatMap((id) => [1, 2, 3].map((n) => send(id, n))));
    writing = false;
    await reader;
    await read();

    expect(late).toEqual([]);
    // The reader really read while the writes were committing (the check is not vacuous).
    expect(readsDuringWrites).toBeGreaterThan(0);
    // Every number after the start was given to exactly one committed event: no holes.
    const numbers = [...seen].sort((x, y) => (x < y ? -1 : 1));
    expect(numbers).toHaveLength(conversations.length * 3);
    expect(numbers[0]).toBe(start + 1n);
    expect(numbers.at(-1)).toBe(start + BigInt(numbers.length));
  });
});
