// Per-request DataLoaders: every parent of a list is served by one batch. For connections a
// Prisma relation cannot plan well (a page per parent), and for the relations of rows that
// were loaded without them.
import DataLoader from 'dataloader';
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';
import type { Contact, Handoff, Inbox, Label, Message, User } from '../generated/prisma/client.js';

const loaders = new WeakMap<Context, Map<string, DataLoader<string, unknown>>>();

function requestLoader<V>(ctx: Context, key: string, batch: (keys: readonly string[]) => Promise<V[]>): DataLoader<string, V> {
  let byKey = loaders.get(ctx);
  if (!byKey) loaders.set(ctx, (byKey = new Map()));
  let loader = byKey.get(key);
  if (!loader) {
    // Batches within a tick but remembers nothing: one context can outlive a state (the
    // mutations of one document run in turn; an SSE subscription keeps its context for every
    // event), and a remembered label list would be shown after a mutation changed it.
    loader = new DataLoader<string, unknown>(batch, { cache: false });
    byKey.set(key, loader);
  }
  return loader as DataLoader<string, V>;
}

export function perRequestLoader<T>(ctx: Context, key: string, batch: (parentIds: readonly string[]) => Promise<T[][]>): DataLoader<string, T[]> {
  return requestLoader(ctx, key, batch);
}

/** The field's place in the document, list indices left out: equal for every row of a page. */
export function fieldKey(info: GraphQLResolveInfo): string {
  const parts: (string | number)[] = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) if (typeof p.key === 'string') parts.push(p.key);
  return parts.reverse().join('.');
}

/** Rows in the order of `ids`, grouped per parent. */
export function grouped<T extends { id: string }>(parentIds: readonly string[], pages: Map<string, string[]>, rows: T[]): T[][] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return parentIds.map((id) => (pages.get(id) ?? []).flatMap((rowId) => byId.get(rowId) ?? []));
}

type ById = { contact: Contact; inbox: Inbox; user: User; message: Message };

/** A row of the workspace by id (null when there is none), batched per request. */
export function rowById<M extends keyof ById>(ctx: Context, model: M): DataLoader<string, ById[M] | null> {
  return requestLoader(ctx, `byId:${model}`, async (ids) => {
    const delegate = ctx.db[model] as unknown as { findMany(args: { where: { id: { in: string[] } } }): Promise<ById[M][]> };
    const rows = await delegate.findMany({ where: { id: { in: [...ids] } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });
}

/** Each conversation's labels, by name, batched per request. */
export function labelsOfConversation(ctx: Context): DataLoader<string, Label[]> {
  return requestLoader(ctx, 'labelsOf:conversation', async (ids) => {
    const rows = await ctx.db.conversation.findMany({ where: { id: { in: [...ids] } }, select: { id: true, labels: { orderBy: [{ name: 'asc' }, { id: 'asc' }] } } });
    const byId = new Map(rows.map((r) => [r.id, r.labels]));
    return ids.map((id) => byId.get(id) ?? []);
  });
}

/** Each conversation's handoffs, oldest first, batched per request. */
export function handoffsOfConversation(ctx: Context): DataLoader<string, Handoff[]> {
  return requestLoader(ctx, 'handoffsOf:conversation', async (ids) => {
    const rows = await ctx.db.handoff.findMany({ where: { conversationId: { in: [...ids] } }, orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] });
    const byConversation = new Map<string, Handoff[]>();
    for (const h of rows) {
      const list = byConversation.get(h.conversationId);
      if (list) list.push(h);
      else byConversation.set(h.conversationId, [h]);
    }
    return ids.map((id) => byConversation.get(id) ?? []);
  });
}
