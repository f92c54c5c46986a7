// What a complete demo workspace looks like from a client's side (src/seed/demo.ts): the
// first-start tests check it after a clean start and after starts killed while seeding.
import { expect } from 'vitest';
import { gql } from './graphql.js';

export const DEMO_VIEWER = '{ viewer { workspace { name } user { name } } }';

/** The key printed by a start that created the demo. */
export const DEMO_KEY_LINE = /Created the demo workspace\. Its API key \(shown once, keep it\):\n\n {2}(prl_[A-Za-z0-9]+)\n/;

export async function expectCompleteDemo(url: string, key: string) {
  const res = await gql(url, DEMO_VIEWER, {}, { key });
  expect(res.data).toEqual({ viewer: { workspace: { name: 'Acme Support (demo)' }, user: { name: 'Ada Lovelace' } } });
  const demo = await gql(
    url,
    `{ inboxes { channel } labels { name } contacts(first: 50) { edges { node { name } } }
       conversations(first: 50, filter: { allStatuses: true }) { edges { node { status controller inbox { channel }
         handoffs { active } messages(first: 20) { edges { node { senderType private } } } } } } }`,
    {},
    { key },
  );
  expect(demo.errors).toBeUndefined();
  // Everything the seed writes, each exactly once.
  expect(demo.data.inboxes).toHaveLength(5);
  expect(demo.data.labels).toHaveLength(6);
  expect(demo.data.contacts.edges).toHaveLength(7);
  const nodes = demo.data.conversations.edges.map((e: { node: any }) => e.node);
  expect(nodes).toHaveLength(8);
  // The demo has what a first look at a dashboard needs.
  expect(new Set(nodes.map((n: any) => n.status))).toEqual(new Set(['OPEN', 'PENDING', 'SNOOZED', 'RESOLVED', 'CLOSED', 'ARCHIVED']));
  expect(new Set(nodes.map((n: any) => n.controller))).toEqual(new Set(['AI_AGENT', 'HUMAN']));
  expect(new Set(nodes.map((n: any) => n.inbox.channel)).size).toBeGreaterThanOrEqual(4);
  const handoffs = nodes.flatMap((n: any) => n.handoffs.map((h: any) => h.active));
  expect(handoffs).toContain(true);
  expect(handoffs).toContain(false);
  const messages = nodes.flatMap((n: any) => n.messages.edges.map((e: any) => e.node));
  expect(new Set(messages.map((m: any) => m.senderType))).toEqual(new Set(['CONTACT', 'HUMAN', 'AI_AGENT', 'SYSTEM']));
  expect(messages.some((m: any) => m.private)).toBe(true);
}
