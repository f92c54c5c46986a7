// One committed timeline event as the live layer handles it: the ids the publication
// carried, and, loaded at most once per process however many subscriptions look at it, the
// facts that filters and visibility rules need (the event's before/after values, the
// conversation as it is now, whether the message is an internal note).
import type { Channel, ConversationStatus, Controller, EventType, Priority, SenderType } from '../generated/prisma/client.js';
import type { ScopedDb } from '../db/tenant.js';

/** The fields of a conversation that subscription filters look at. */
export interface ConversationState {
  inboxId?: string;
  channel?: Channel;
  status?: ConversationStatus;
  priority?: Priority;
  controller?: Controller;
  assigneeId?: string | null;
  contactId?: string;
  labelIds?: string[];
}

export type JsonRecord = Record<string, unknown>;

export interface EventFacts {
  before: JsonRecord | null;
  after: JsonRecord | null;
  /** The conversation as it is now; null when the event has none or it no longer exists. */
  conversation: (ConversationState & { id: string }) | null;
  /** For message events: whether the message is an internal note; null when it no longer exists. */
  messagePrivate: boolean | null;
  /** For message events: who sent the message; null when it no longer exists. */
  messageSenderType: SenderType | null;
}

/** A timeline row, as published after its commit or as read back from the event table. */
export interface EventRow {
  id: string;
  seq: bigint;
  type: EventType;
  conversationId: string | null;
  messageId: string | null;
  /** Present when the row was read from the database. */
  before?: unknown;
  after?: unknown;
}

const asRecord = (v: unknown): JsonRecord | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as JsonRecord) : null);

export class LiveEvent {
  readonly eventId: string;
  readonly seq: bigint;
  readonly type: EventType;
  readonly conversationId: string | null;
  readonly messageId: string | null;
  private json: { before: JsonRecord | null; after: JsonRecord | null } | null;
  private loaded: Promise<EventFacts> | null = null;

  constructor(
    readonly workspaceId: string,
    row: EventRow,
    private readonly db: ScopedDb,
  ) {
    this.eventId = row.id;
    this.seq = row.seq;
    this.type = row.type;
    this.conversationId = row.conversationId;
    this.messageId = row.messageId;
    this.json = 'before' in row || 'after' in row ? { before: asRecord(row.before), after: asRecord(row.after) } : null;
  }

  /** The cursor clients see and pass back as `after`. */
  get cursor(): string {
    return this.seq.toString();
  }

  facts(): Promise<EventFacts> {
    return (this.loaded ??= this.load());
  }

  private async load(): Promise<EventFacts> {
    const { db } = this;
    const [json, conversation, message] = await Promise.all([
      this.json ??
        db.event
          .findUnique({ where: { id: this.eventId }, select: { before: true, after: true } })
          .then((e) => ({ before: asRecord(e?.before), after: asRecord(e?.after) })),
      this.conversationId
        ? db.conversation.findUnique({
            where: { id: this.conversationId },
            select: {
              id: true,
              inboxId: true,
              status: true,
              priority: true,
              controller: true,
              assigneeId: true,
              contactId: true,
              inbox: { select: { channel: true } },
              labels: { select: { id: true } },
            },
          })
        : null,
      this.messageId ? db.message.findUnique({ where: { id: this.messageId }, select: { private: true, senderType: true } }) : null,
    ]);
    this.json = null;
    const [before = null, after = null] = await this.withLabelIds(json.before, json.after);
    return {
      before,
      after,
      conversation: conversation
        ? {
            id: conversation.id,
            inboxId: conversation.inboxId,
            channel: conversation.inbox.channel,
            status: conversation.status,
            priority: conversation.priority,
            controller: conversation.controller,
            assigneeId: conversation.assigneeId,
            contactId: conversation.contactId,
            labelIds: conversation.labels.map((l) => l.id),
          }
        : null,
      messagePrivate: message ? message.private : null,
      messageSenderType: message ? message.senderType : null,
    };
  }

  /**
   * Label changes record label names (what a person reads in the timeline); filters name
   * labels by id. Names are unique in a workspace: look the ids up, once for both sides.
   */
  private async withLabelIds(...sides: (JsonRecord | null)[]): Promise<(JsonRecord | null)[]> {
    const names = new Set<string>();
    for (const side of sides) {
      const labels = side?.labels;
      if (Array.isArray(labels)) for (const l of labels) if (typeof l === 'string') names.add(l);
    }
    if (!names.size) return sides;
    const rows = await this.db.label.findMany({ where: { name: { in: [...names] } }, select: { id: true, name: true } });
    const ids = new Map(rows.map((r) => [r.name, r.id]));
    return sides.map((side) => {
      const labels = side?.labels;
      if (!side || !Array.isArray(labels)) return side;
      return { ...side, labelIds: labels.flatMap((l) => (typeof l === 'string' && ids.has(l) ? [ids.get(l)!] : [])) };
    });
  }
}
