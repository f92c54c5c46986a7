// Labels: the workspace's set (create, rename, delete) and the labels of a conversation.
import type { Conversation, Label, Prisma } from '../generated/prisma/client.js';
import type { ScopedTx } from '../db/tenant.js';
import { violatedConstraint } from '../db/unique-violation.js';
import { DuplicateError, NotFoundError, ValidationError } from '../errors.js';
import { assertNotArchived, lockConversation } from './conversation-store.js';
import { inTransaction, type EventLog, type ServiceContext } from './timeline.js';
import { LIMITS, checkIdCount, optionalText, requiredText } from './validation.js';

const COLOR = /^#[0-9a-fA-F]{6}$/;
const NAME_MAX = 50;

function checkColor(color: string, field: string): string {
  if (!COLOR.test(color)) throw new ValidationError('A colour is a hex value such as #1f6feb.', field);
  return color.toLowerCase();
}

/** Label names are unique in a workspace whatever their case: "Billing" and "billing" are one label. */
async function assertNameFree(tx: ScopedTx, name: string, exceptId: string | null) {
  const other = await tx.label.findFirst({
    where: { name: { equals: name, mode: 'insensitive' }, ...(exceptId ? { NOT: { id: exceptId } } : {}) },
    select: { id: true },
  });
  if (other) throw new DuplicateError('Label', 'input.name', other.id);
}

function duplicateFromRace(error: unknown): never {
  if (violatedConstraint(error)?.includes('name')) throw new DuplicateError('Label', 'input.name', null);
  throw error;
}

const labelValues = (l: Label) => ({ labelId: l.id, name: l.name, color: l.color, description: l.description });

export async function createLabel(sctx: ServiceContext, input: { name: string; color?: string | null; description?: string | null }): Promise<Label> {
  const name = requiredText(input.name, 'input.name', NAME_MAX);
  const color = input.color == null ? undefined : checkColor(input.color, 'input.color');
  const description = optionalText(input.description, 'input.description', 500) ?? null;
  try {
    return await inTransaction(sctx, async (tx, events) => {
      await assertNameFree(tx, name, null);
      const label = await tx.label.create({ data: { workspaceId: sctx.workspaceId, name, color, description } });
      await events.record({ type: 'LABEL_CREATED', after: labelValues(label) });
      return label;
    });
  } catch (e) {
    return duplicateFromRace(e);
  }
}

export async function updateLabel(
  sctx: ServiceContext,
  input: { labelId: string; name?: string | null; color?: string | null; description?: string | null },
): Promise<Label> {
  const name = input.name == null ? undefined : requiredText(input.name, 'input.name', NAME_MAX);
  const color = input.color == null ? undefined : checkColor(input.color, 'input.color');
  const description = optionalText(input.description, 'input.description', 500);
  try {
    return await inTransaction(sctx, async (tx, events) => {
      const label = await tx.label.findUnique({ where: { id: input.labelId } });
      if (!label) throw new NotFoundError('Label', input.labelId);
      const data: Prisma.LabelUncheckedUpdateInput = {};
      if (name !== undefined && name !== label.name) {
        await assertNameFree(tx, name, label.id);
        data.name = name;
      }
      if (color !== undefined && color !== label.color) data.color = color;
      if (description !== undefined && description !== label.description) data.description = description;
      if (!Object.keys(data).length) return label;
      const updated = await tx.label.update({ where: { id: label.id }, data });
      await events.record({ type: 'LABEL_UPDATED', before: labelValues(label), after: labelValues(updated) });
      return updated;
    });
  } catch (e) {
    return duplicateFromRace(e);
  }
}

/** Deletes a label and takes it off every conversation; one LABEL_DELETED event says how many. */
export async function deleteLabel(sctx: ServiceContext, labelId: string): Promise<void> {
  await inTransaction(sctx, async (tx, events) => {
    const label = await tx.label.findUnique({ where: { id: labelId }, include: { _count: { select: { conversations: true } } } });
    if (!label) throw new NotFoundError('Label', labelId);
    await tx.label.delete({ where: { id: labelId } });
    const { _count, ...row } = label;
    await events.record({ type: 'LABEL_DELETED', before: { ...labelValues(row), conversations: _count.conversations } });
  });
}

/**
 * Reads labels of the workspace by id and keeps them from being deleted until the
 * transaction ends. Every id must exist.
 */
export async function holdLabels(tx: ScopedTx, workspaceId: string, ids: readonly string[], field: string): Promise<Label[]> {
  const unique = [...new Set(ids)];
  checkIdCount(unique, field, LIMITS.idsPerCall);
  if (!unique.length) return [];
  const held = await tx.$queryRaw<{ id: string }[]>`
    SELECT "id" FROM "label" WHERE "workspace_id" = ${workspaceId}::uuid AND "id" = ANY(${unique}::uuid[]) FOR KEY SHARE`;
  const found = new Set(held.map((r) => r.id));
  const missing = unique.find((id) => !found.has(id));
  if (missing) throw new NotFoundError('Label', missing);
  return tx.label.findMany({ where: { id: { in: unique } } });
}

export interface LabelChange {
  add?: readonly string[];
  remove?: readonly string[];
  /** Replaces every label. */
  set?: readonly string[];
}

/** Changes the labels of a locked conversation; records LABELS_CHANGED. No change, no write. */
export async function applyLabelChange(
  tx: ScopedTx,
  events: EventLog,
  workspaceId: string,
  conversation: Conversation,
  change: LabelChange,
  field: string,
  note: string | null = null,
): Promise<Conversation> {
  assertNotArchived(conversation);
  const mentioned = [...(change.set ?? []), ...(change.add ?? []), ...(change.remove ?? [])];
  const labels = await holdLabels(tx, workspaceId, mentioned, field);
  const current = await tx.label.findMany({ where: { conversations: { some: { id: conversation.id } } }, select: { id: true, name: true } });
  const next = new Set(change.set ?? current.map((l) => l.id));
  for (const id of change.add ?? []) next.add(id);
  for (const id of change.remove ?? []) next.delete(id);
  const before = new Set(current.map((l) => l.id));
  if (next.size === before.size && [...next].every((id) => before.has(id))) return conversation;
  const names = new Map([...current, ...labels].map((l) => [l.id, l.name]));
  const sorted = (ids: Iterable<string>) => [...ids].map((id) => names.get(id)!).sort();
  const updated = await tx.conversation.update({
    where: { id: conversation.id },
    data: { labels: { set: [...next].map((id) => ({ id })) }, version: { increment: 1 } },
  });
  await events.record({
    type: 'LABELS_CHANGED',
    conversationId: conversation.id,
    before: { labels: sorted(before) },
    after: {
      labels: sorted(next),
      added: sorted([...next].filter((id) => !before.has(id))),
      removed: sorted([...before].filter((id) => !next.has(id))),
    },
    note,
  });
  return updated;
}

export async function changeConversationLabels(
  sctx: ServiceContext,
  conversationId: string,
  change: LabelChange,
): Promise<Conversation> {
  return inTransaction(sctx, async (tx, events) => {
    const conversation = await lockConversation(tx, sctx.workspaceId, conversationId);
    return applyLabelChange(tx, events, sctx.workspaceId, conversation, change, 'input.labelIds');
  });
}
