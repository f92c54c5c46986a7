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
import { requestError } from '../errors.js';

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
  /** The request's deadline (ms since the epoch): transactions end by then or roll back. */
  deadline?: number;
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

const TRANSACTION_TIMEOUT_MS = 15_000;
const TRANSACTION_MAX_WAIT_MS = 10_000;

const timedOut = () =>
  requestError('TIMEOUT', 'The mutation ran out of time and was rolled back: nothing was written. Retry it, or check for a slow database.');

/**
 * Runs `work` in one transaction with an event log; publishes the logged events after
 * the commit. A failure anywhere rolls everything back and publishes nothing.
 */
export async function inTransaction<T>(
  ctx: ServiceContext,
  work: (tx: ScopedTx, events: EventLog) => Promise<T>,
): Promise<T> {
  let log: EventLog | undefined;
  // Bounded by the request's deadline: a mutation that runs out of time rolls back and says
  // so (TIMEOUT, nothing written) rather than committing after its answer was given up on.
  const left = ctx.deadline === undefined ? Number.POSITIVE_INFINITY : ctx.deadline - Date.now();
  if (left <= 0) throw timedOut();
  let result: T;
  try {
    result = await ctx.db.$transaction(
      async (tx) => {
        log = new EventLog(tx as ScopedTx, ctx);
        return work(tx as ScopedTx, log);
      },
      { timeout: Math.min(TRANSACTION_TIMEOUT_MS, left), maxWait: Math.min(TRANSACTION_MAX_WAIT_MS, left) },
    );
  } catch (e) {
    // P2028: the transaction could not start, or ran out of time, and was rolled back.
    if ((e as { code?: unknown } | null)?.code === 'P2028') throw timedOut();
    throw e;
  }
  if (ctx.pubsub && log) {
    for (const event of log.written) ctx.pubsub.publish(workspaceTopic(ctx.workspaceId), event);
  }
  return result;
}
