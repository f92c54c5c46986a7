// The stack's own floor for the inbox page: graphql-yoga + graphql-js (no Pothos, no Prisma,
// no database) serving the same 50-conversation response from memory, through the same HTTP
// loop as bench/cpu.ts. What no resolver work can go below on this machine.
//
//   npx tsx bench/stack-floor.ts [--requests 400]
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSchema, createYoga } from 'graphql-yoga';
import { measureInboxPage } from './page.js';

const args = process.argv.slice(2);
const N = Number(args[args.indexOf('--requests') + 1] ?? 0) || 400;
const schema = createSchema({
  typeDefs: `
    scalar DateTime
    type Query { conversations(first: Int): Conn! }
    type Conn { pageInfo: PageInfo! edges: [Edge!]! }
    type PageInfo { hasNextPage: Boolean! endCursor: String }
    type Edge { cursor: String! node: Conversation! }
    enum Status { OPEN PENDING }
    enum Priority { NONE HIGH }
    enum SenderType { CONTACT USER AI }
    type Conversation { id: ID! number: Int! subject: String status: Status! priority: Priority! lastMessageAt: DateTime unreadCount: Int!
      contact: Contact! assignee: User labels: [Label!]! lastMessage: Message }
    type Contact { id: ID! name: String email: String phone: String }
    type User { id: ID! name: String! }
    type Label { id: ID! name: String! color: String! }
    type Message { id: ID! content: String senderType: SenderType! createdAt: DateTime! }`,
  resolvers: {
    DateTime: { serialize: (d: unknown) => (d instanceof Date ? d.toISOString() : d) } as never,
    Query: {
      conversations: () => {
        const edges = Array.from({ length: 50 }, (_, i) => ({
          cursor: Buffer.from(`cursor-${i}-${Date.now()}`).toString('base64url'),
          node: {
            id: Buffer.from(`Conversation:${crypto.randomUUID()}`).toString('base64'),
            number: i + 1, subject: `Subject ${i}`, status: 'OPEN', priority: 'NONE', lastMessageAt: new Date(), unreadCount: 2,
            contact: { id: crypto.randomUUID(), name: 'Ada Lovelace', email: 'ada@example.com', phone: '+14155550123' },
            assignee: i % 3 ? { id: crypto.randomUUID(), name: 'Agent Smith' } : null,
            labels: [{ id: crypto.randomUUID(), name: 'billing', color: '#ff0000' }, { id: crypto.randomUUID(), name: 'vip', color: '#00ff00' }],
            lastMessage: { id: crypto.randomUUID(), content: 'Hello, I have a question about my order, it has not arrived yet.', senderType: 'CONTACT', createdAt: new Date() },
          },
        }));
        return { pageInfo: { hasNextPage: true, endCursor: edges[49]!.cursor }, edges };
      },
    },
  },
});
const yoga = createYoga({ schema, logging: false, landingPage: false });
const server = createServer(yoga.requestListener);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
await measureInboxPage({ label: 'stack floor', url, requests: N, warmup: 200 });
server.close();
