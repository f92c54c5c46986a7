// The workspace's timeline, and the unit of work every mutation runs in.
//
// Cursor order is commit order: each event takes the next number from its workspace's
// row (UPDATE ... RETURNING), which holds that row's lock until the transaction ends, so
// event writes in one workspace are serialised and a reader that has seen cursor N never
// later finds a new event at or before N. Events are published only after the commit.
import type { ActorType, EventType } from '../generated/prisma/client.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { ScopedDb, ScopedTx } from '../db/tenant.js';
import type { Events, TimelinePublication } from '../pubsub.js';
import { workspaceTopic } from '../pubsub.js';

/** Who is acting, as recorded on events and handoffs. */
export interface Actor {
  type: ActorType;
  userId?: string | null;
  apiKeyId?: string | null;
  contactId?: string | null;
}

/** What a service needs to know about the caller. Built from the request context. */
export interface ServiceContext {
  db: ScopedDb;
  workspaceId: string;
  actor: Actor;
  pubsub?: Events['pubsub'];
}

export interface EventInput {
  type: EventType;
  conversationId?: string | null;
  messageId?: string | null;
  /** Defaults to the context's actor. */
  actor?: Actor;
  before?: Prisma.InputJsonValue | null;
  after?: Prisma.InputJsonValue | null;
  note?: string | null;
}

/** Collects the events of one transaction, to publish once it has committed. */
export class EventLog {
  readonly written: TimelinePublication[] = [];
  constructor(
    private readonly tx: ScopedTx,
    private readonly ctx: Pick<ServiceContext, 'workspaceId' | 'actor'>,
  ) {}

  async record(input: EventInput) {
    const rows = await this.tx.$queryRaw<{ seq: bigint }[]>`
      UPDATE "workspace" SET "event_seq" = "event_seq" + 1 WHERE "id" = ${this.ctx.workspaceId}::uuid RETURNING "event_seq" AS seq`;
    const actor = input.actor ?? this.ctx.actor;
    const event = await this.tx.event.create({
      data: {
        workspaceId: this.ctx.workspaceId,
        seq: rows[0]!.seq,
        type: input.type,
        conversationId: input.conversationId ?? null,
        messageId: input.messageId ?? null,
        actorType: actor.type,
        actorUserId: actor.userId ?? null,
        actorApiKeyId: actor.apiKeyId ?? null,
        actorContactId: actor.contactId ?? null,
        before: input.before ?? undefined,
        after: input.after ?? undefined,
        note: input.note ?? null,
      },
      select: { id: true, seq: true, type: true, conversationId: true, messageId: true },
    });
    this.written.push({
      eventId: event.id,
      seq: event.seq.toString(),
      type: event.type,
      conversationId: event.conversationId,
      messageId: event.messageId,
    });
    return event;
  }
}

/**
 * Runs `work` in one transaction with an event log; publishes the logged events after
 * the commit. A failure anywhere rolls everything back and publishes nothing.
 */
export async function inTransaction<T>(
  ctx: ServiceContext,
  work: (tx: ScopedTx, events: EventLog) => Promise<T>,
): Promise<T> {
  let log: EventLog | undefined;
  const result = await ctx.db.$transaction(
    async (tx) => {
      log = new EventLog(tx as ScopedTx, ctx);
      return work(tx as ScopedTx, log);
    },
    { timeout: 15_000, maxWait: 10_000 },
  );
  if (ctx.pubsub && log) {
    for (const event of log.written) ctx.pubsub.publish(workspaceTopic(ctx.workspaceId), event);
  }
  return result;
}
