// One committed timeline event as the live layer handles it: the ids the publication
// carried, and, loaded at most once per process however many subscriptions look at it, the
// facts that filters and visibility rules need (the event's before/after values, the
// conversation as it is now and as it was just after the event, whether the message is an
// internal note).
import type { Channel, ConversationStatus, Controller, EventType, Priority, SenderType } from '../generated/prisma/client.js';
import type { ScopedDb } from '../db/tenant.js';
import { overlay } from './conversation-filter.js';

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
  /**
   * The conversation as it was just after this event: the state now with the later events'
   * changes undone. Filters judge an event by it, so a subscriber or webhook that hears of the
   * event late (a resume, a dispatcher catching up) gets the answer it would have had at once.
   */
  atEvent?: ConversationState | null;
  /**
   * Whether before/after hold values of the conversation (a status, an assignee...). A receipt's
   * before/after hold the message's delivery status, which is not the conversation's.
   */
  changesState?: boolean;
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

/** The event types whose before/after record fields of the conversation that filters look at. */
export const STATE_EVENT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'CONVERSATION_CREATED',
  'ASSIGNED',
  'STATUS_CHANGED',
  'LABELS_CHANGED',
  'PRIORITY_CHANGED',
  'CONVERSATION_UPDATED',
  'HANDOFF_STARTED',
  'HANDOFF_COMPLETED',
  'CONVERSATION_DELETED',
]);

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
    // The later events are read after the conversation, never beside it: each read sees what
    // had committed when it ran, and a change that commits between the two is then either in
    // both (undone back to its `before`) or only in the later events (whose `before` is what the
    // conversation read showed). Read the other way round, a change could be in the
    // conversation but not yet among the later events: "just after the event" would be wrong.
    const conversationRead = this.conversationId
      ? Promise.resolve(
          db.conversation.findUnique({
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
          }),
        )
      : Promise.resolve(null);
    const [json, conversation, message, later] = await Promise.all([
      this.json ??
        db.event
          .findUnique({ where: { id: this.eventId }, select: { before: true, after: true } })
          .then((e) => ({ before: asRecord(e?.before), after: asRecord(e?.after) })),
      conversationRead,
      this.messageId ? db.message.findUnique({ where: { id: this.messageId }, select: { private: true, senderType: true } }) : null,
      // What later events changed of the conversation, newest first (usually nothing: the event is fresh).
      this.conversationId
        ? conversationRead.then(() =>
            db.event.findMany({
              where: { conversationId: this.conversationId!, seq: { gt: this.seq }, type: { in: [...STATE_EVENT_TYPES] } },
              select: { before: true },
              orderBy: { seq: 'desc' },
            }),
          )
        : [],
    ]);
    this.json = null;
    const [before = null, after = null, ...undo] = await this.withLabelIds(json.before, json.after, ...later.map((e) => asRecord(e.before)));
    const now: (ConversationState & { id: string }) | null = conversation
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
      : null;
    return {
      before,
      after,
      changesState: STATE_EVENT_TYPES.has(this.type),
      conversation: now,
      atEvent: now ? undo.reduce<ConversationState>((state, values) => overlay(state, values), now) : null,
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
