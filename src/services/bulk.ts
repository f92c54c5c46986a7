// Bulk updates: the same change applied to many conversations, each in its own
// transaction, so one conversation's failure undoes only that conversation's change.
import { DomainError, NotFoundError, ValidationError } from '../errors.js';
import { lockConversation } from './conversation-store.js';
import { applyAssignment, applyLifecycleChange, checkLifecycleChange, type LifecycleChange } from './conversations.js';
import { applyLabelChange } from './labels.js';
import { inTransaction, type ServiceContext } from './timeline.js';
import { LIMITS, checkIdCount, optionalText } from './validation.js';

export interface BulkUpdateInput {
  /** Each conversation as the caller named it (ref), and its database id; null when the ref names no conversation. */
  conversations: { ref: string; id: string | null }[];
  /** Absent: no change; null: unassign. */
  assigneeId?: string | null;
  addLabelIds?: string[] | null;
  removeLabelIds?: string[] | null;
  status?: LifecycleChange | null;
  note?: string | null;
}

export interface BulkItemResult {
  /** The conversation as the caller named it. */
  ref: string;
  /** Set when the change was applied (or there was nothing to change). */
  conversationId: string | null;
  error: DomainError | null;
}

export async function bulkUpdateConversations(sctx: ServiceContext, input: BulkUpdateInput): Promise<BulkItemResult[]> {
  checkIdCount(input.conversations, 'input.conversationIds', LIMITS.idsPerCall);
  const add = [...new Set(input.addLabelIds ?? [])];
  const remove = [...new Set(input.removeLabelIds ?? [])];
  if (add.some((id) => remove.includes(id))) throw new ValidationError('A label cannot be both added and removed.', 'input.removeLabelIds');
  const note = optionalText(input.note, 'input.note', LIMITS.note) ?? null;
  const status = input.status ? checkLifecycleChange({ ...input.status, note }) : null;
  if (input.assigneeId === undefined && !add.length && !remove.length && !status) {
    throw new ValidationError('Nothing to change: give an assignee, labels or a status.', 'input');
  }
  // Shared references are checked once, up front: they would fail every item alike.
  if (input.assigneeId && !(await sctx.db.user.findUnique({ where: { id: input.assigneeId }, select: { id: true } }))) {
    throw new NotFoundError('User', input.assigneeId);
  }
  const labels = await sctx.db.label.findMany({ where: { id: { in: [...add, ...remove] } }, select: { id: true } });
  const missing = [...add, ...remove].find((id) => !labels.some((l) => l.id === id));
  if (missing) throw new NotFoundError('Label', missing);

  const results: BulkItemResult[] = [];
  const seen = new Set<string>();
  // Each item is its own transaction, reported item by item: a request deadline falling in
  // the middle would fail the whole field after some items were applied, leaving the caller
  // unable to tell which. Items keep only their own transaction's time limit.
  const itemContext: ServiceContext = { ...sctx, deadline: undefined };
  for (const { ref, id } of input.conversations) {
    if (seen.has(ref)) continue;
    seen.add(ref);
    if (!id) {
      results.push({ ref, conversationId: null, error: new NotFoundError('Conversation', ref) });
      continue;
    }
    try {
      const conversation = await inTransaction(itemContext, async (tx, events) => {
        let c = await lockConversation(tx, sctx.workspaceId, id);
        if (input.assigneeId !== undefined) c = await applyAssignment(tx, events, c, input.assigneeId, note);
        if (add.length || remove.length) c = await applyLabelChange(tx, events, sctx.workspaceId, c, { add, remove }, 'input.addLabelIds', note);
        if (status) c = await applyLifecycleChange(tx, events, sctx, c, status);
        return c;
      });
      results.push({ ref, conversationId: conversation.id, error: null });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      results.push({ ref, conversationId: null, error: e });
    }
  }
  return results;
}
