// A small, fully known workspace for the read tests: ten conversations (c1..c10) spread
// over every status, three channels, labels, assignees, priorities, controllers and times,
// with search words placed in each searchable place. Times are fixed hours of 2026-01-01.
import type { PrismaClient } from '../../src/generated/prisma/client.js';
import { createConversationRow, labelIds, type ConversationRow, type SeededWorkspace } from './seed.js';

export const T = (hour: number) => new Date(Date.UTC(2026, 0, 1, hour));

export type Name = 'c1' | 'c2' | 'c3' | 'c4' | 'c5' | 'c6' | 'c7' | 'c8' | 'c9' | 'c10';

export interface ReadWorld {
  rows: Record<Name, ConversationRow>;
  labels: Record<'billing' | 'vip' | 'bug' | 'spam', string>;
  /** The conversation names for a list of row ids (for readable assertions). */
  names(ids: string[]): string[];
}

export async function buildReadWorld(prisma: PrismaClient, ws: SeededWorkspace): Promise<ReadWorld> {
  const [billing, vip, bug, spam] = await labelIds(prisma, ws.workspaceId, ['billing', 'vip', 'bug', 'spam']);
  const row = (spec: Parameters<typeof createConversationRow>[2]) => createConversationRow(prisma, ws, spec);
  const rows = {} as Record<Name, ConversationRow>;
  rows.c1 = await row({
    inbox: 'whatsapp', status: 'OPEN', assigneeId: ws.admin.id, labels: ['billing'], priority: 'HIGH', createdAt: T(1),
    messages: [{ sender: 'CONTACT', content: 'My invoice is wrong', at: T(1) }, { sender: 'AI_AGENT', content: 'Let me check', at: T(2) }],
  });
  rows.c2 = await row({
    inbox: 'email', subject: 'Refund request', status: 'OPEN', labels: ['billing', 'vip'], priority: 'URGENT', createdAt: T(2),
    messages: [{ sender: 'CONTACT', content: 'I want my money back', at: T(3) }],
  });
  rows.c3 = await row({
    inbox: 'web', status: 'PENDING', assigneeId: ws.agent.id, labels: ['vip'], priority: 'LOW', createdAt: T(3),
    messages: [{ sender: 'CONTACT', content: 'hello', at: T(4) }, { sender: 'HUMAN', content: 'hi there', at: T(5) }],
  });
  rows.c4 = await row({
    inbox: 'whatsapp', status: 'SNOOZED', assigneeId: ws.agent.id, priority: 'MEDIUM', createdAt: T(4),
    messages: [{ sender: 'CONTACT', content: 'call me later', at: T(6) }],
  });
  rows.c5 = await row({
    inbox: 'email', status: 'RESOLVED', assigneeId: ws.admin.id, labels: ['bug'], createdAt: T(5), resolvedAt: T(9),
    satisfactionRating: 4,
    messages: [{ sender: 'CONTACT', content: 'crash on export', at: T(6) }, { sender: 'HUMAN', content: 'fixed', at: T(7) }],
  });
  rows.c6 = await row({
    inbox: 'web', status: 'CLOSED', createdAt: T(6),
    messages: [{ sender: 'CONTACT', content: 'thanks', at: T(9) }, { sender: 'AI_AGENT', content: 'bye', at: T(10) }],
  });
  rows.c7 = await row({
    inbox: 'whatsapp', status: 'ARCHIVED', labels: ['spam'], createdAt: T(7),
    messages: [{ sender: 'CONTACT', content: 'buy cheap watches money', at: T(11) }],
  });
  // No message: it sorts by its creation time (T(8)) among the others' last messages.
  rows.c8 = await row({ inbox: 'web', status: 'OPEN', controller: 'HUMAN', assigneeId: ws.agent.id, labels: ['bug', 'vip'], priority: 'HIGH', createdAt: T(8) });
  rows.c9 = await row({
    inbox: 'whatsapp', status: 'OPEN', createdAt: T(9),
    contact: { name: 'Zoë Quartermaine', email: 'zoe@quartz.test', phone: '+14155550123', customAttributes: { plan: 'platinum' } },
    messages: [
      { sender: 'CONTACT', content: 'ordinary words', at: T(12) },
      { sender: 'HUMAN', content: 'secretword escalate to finance', private: true, at: T(13) },
    ],
  });
  rows.c10 = await row({
    inbox: 'email', status: 'OPEN', createdAt: T(10), customAttributes: { orderRef: 'ORD-77821' },
    messages: [{ sender: 'CONTACT', content: 'where is my parcel', at: T(14) }],
  });
  const byId = new Map(Object.entries(rows).map(([name, r]) => [r.id, name]));
  return {
    rows,
    labels: { billing: billing!, vip: vip!, bug: bug!, spam: spam! },
    names: (ids) => ids.map((id) => byId.get(id) ?? `?${id}`),
  };
}
