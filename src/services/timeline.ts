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
import { sqlState } from '../db/unique-violation.js';

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

/** PostgreSQL's codes for a statement stopped by statement_timeout or lock_timeout. */
const TIMED_OUT_SQLSTATES = new Set(['57014', '55P03']);

/**
 * Runs `work` in one transaction with an event log; publishes the logged events after
 * the commit. A failure anywhere rolls everything back and publishes nothing.
 *
 * With a deadline (a mutation's), PostgreSQL enforces it: the transaction's statements and
 * lock waits get only the time left (SET LOCAL statement_timeout, lock_timeout), so a
 * statement that would run past it fails there and the whole transaction rolls back; and a
 * transaction that still ends after the deadline rolls back. Either way the answer is
 * TIMEOUT with nothing written. (Prisma's own transaction timer is only a backstop: when it
 * fires it does not stop a statement already running.)
 */
export async function inTransaction<T>(
  ctx: ServiceContext,
  work: (tx: ScopedTx, events: EventLog) => Promise<T>,
): Promise<T> {
  let log: EventLog | undefined;
  const deadline = ctx.deadline;
  const left = deadline === undefined ? undefined : deadline - Date.now();
  if (left !== undefined && left <= 0) throw timedOut();
  let result: T;
  try {
    result = await ctx.db.$transaction(
      async (tx) => {
        if (deadline !== undefined) {
          // What is left now that the transaction has started (it may have waited for a connection).
          const ms = Math.floor(deadline - Date.now());
          if (ms <= 0) throw timedOut();
          await (tx as ScopedTx).$queryRaw`SELECT set_config('statement_timeout', ${String(ms)}, true), set_config('lock_timeout', ${String(ms)}, true)`;
        }
        log = new EventLog(tx as ScopedTx, ctx);
        const value = await work(tx as ScopedTx, log);
        if (deadline !== undefined && Date.now() > deadline) throw timedOut();
        return value;
      },
      {
        timeout: TRANSACTION_TIMEOUT_MS + (left ?? 0),
        maxWait: left === undefined ? TRANSACTION_MAX_WAIT_MS : Math.max(1, Math.min(TRANSACTION_MAX_WAIT_MS, left)),
      },
    );
  } catch (e) {
    if (deadline !== undefined && TIMED_OUT_SQLSTATES.has(sqlState(e) ?? '')) throw timedOut();
    // Waiting for a connection past the deadline: the transaction never started.
    if (deadline !== undefined && (e as { code?: unknown } | null)?.code === 'P2028' && /Unable to start a transaction/i.test(String((e as Error).message))) {
      throw timedOut();
    }
    throw e;
  }
  if (ctx.pubsub && log) {
    for (const event of log.written) ctx.pubsub.publish(workspaceTopic(ctx.workspaceId), event);
  }
  return result;
}
