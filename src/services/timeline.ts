// The workspace's timeline, and the unit of work every mutation runs in.
//
// Cursor order is commit order. A transaction's events are collected while it works and
// numbered as its last step: one update of the workspace's counter row (a table of its own,
// which no foreign key references) hands out the block of cursors (and the display numbers of
// conversations created in the transaction), and that row's lock is held from there to the
// commit. So the events of one workspace still commit in cursor order (a reader that has seen
// cursor N never later finds a new event at or before N), but the lock covers the numbering and
// the commit, not the work: writes to different conversations of one workspace run side by
// side and queue only for that short last step. (A plain SEQUENCE would not keep the promise:
// numbers are taken in one order and committed in another.) On PostgreSQL the numbering
// statement goes to the server with the COMMIT, as one query (src/db/transaction-end.ts), so
// the row is held for those two alone and never while this process is busy with other
// requests. Events are published only after the commit.
import type { ActorType, EventType } from '../generated/prisma/client.js';
import { Prisma } from '../generated/prisma/client.js';
import type { ScopedDb, ScopedTx } from '../db/tenant.js';
import type { Events, TimelinePublication } from '../pubsub.js';
import { workspaceTopic } from '../pubsub.js';
import { liveEventsPublished } from '../metrics.js';
import { requestError } from '../errors.js';
import { sqlState } from '../db/unique-violation.js';
import { TransactionEnd, bindTransaction, transactionEnds } from '../db/transaction-end.js';
import { uuidv7 } from '../uuid.js';
import type { SurveySettings } from './surveys.js';

/** Who is acting, as recorded on events and handoffs. */
export interface Actor {
  type: ActorType;
  userId?: string | null;
  apiKeyId?: string | null;
  contactId?: string | null;
  /** For AUTOMATION: the rule, and how many rule runs led here (see src/workers/automation-runner.ts). */
  ruleId?: string | null;
  depth?: number | null;
}

/** What a service needs to know about the caller. Built from the request context. */
export interface ServiceContext {
  db: ScopedDb;
  workspaceId: string;
  actor: Actor;
  pubsub?: Events['pubsub'];
  /** The request's deadline (ms since the epoch): transactions end by then or roll back. */
  deadline?: number;
  /** Called after a transaction that wrote events has committed (wakes the automation runner). */
  committed?: () => void;
  /** How survey links are made (src/services/surveys.ts); the defaults without it. */
  surveys?: SurveySettings;
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

/** A conversation inserted in this transaction, waiting for its display number. */
interface Unnumbered {
  conversation: { id: string; number: number };
  /** JSON values (an event's `after`) that carry the number too. */
  carriers: Record<string, unknown>[];
  /** Other objects for the same row (read back by a later write of the transaction): numbered with it. */
  copies: { number: number }[];
}

/**
 * Collects the events of one transaction, numbers them as the transaction's last step
 * (`flush`), and keeps what to publish once it has committed.
 */
export class EventLog {
  readonly written: TimelinePublication[] = [];
  private readonly pending: Prisma.EventCreateManyInput[] = [];
  private readonly unnumbered: Unnumbered[] = [];
  private flushed = false;
  constructor(
    private readonly tx: ScopedTx,
    private readonly ctx: Pick<ServiceContext, 'workspaceId' | 'actor'>,
  ) {}

  /** Adds an event to the transaction; it gets its cursor when the transaction ends. */
  record(input: EventInput): void {
    if (this.flushed) throw new Error('EventLog: an event recorded after the numbering step');
    const actor = input.actor ?? this.ctx.actor;
    this.pending.push({
      id: uuidv7(),
      workspaceId: this.ctx.workspaceId,
      seq: 0n,
      type: input.type,
      conversationId: input.conversationId ?? null,
      messageId: input.messageId ?? null,
      actorType: actor.type,
      actorUserId: actor.userId ?? null,
      actorApiKeyId: actor.apiKeyId ?? null,
      actorContactId: actor.contactId ?? null,
      actorRuleId: actor.ruleId ?? null,
      actorDepth: actor.depth ?? null,
      before: input.before ?? undefined,
      after: input.after ?? undefined,
      note: input.note ?? null,
      // When it happened, not when its transaction began (PostgreSQL's now()).
      createdAt: new Date(),
    });
  }

  /**
   * A conversation inserted with a placeholder number gets the workspace's next display
   * number in the numbering step; `carriers` (its CONVERSATION_CREATED event's `after`)
   * get it written into their `number` key, and so does the conversation object.
   */
  numberConversation(conversation: { id: string; number: number }, ...carriers: Record<string, unknown>[]): void {
    this.unnumbered.push({ conversation, carriers, copies: [] });
  }

  /**
   * A row of a conversation read back in this transaction (e.g. with a message's counters):
   * if the transaction inserted that conversation, the row gets its display number with it.
   */
  numberCopy(row: { id: string; number: number }): void {
    this.unnumbered.find((u) => u.conversation.id === row.id)?.copies.push(row);
  }

  /**
   * The transaction's last step, one statement: takes the workspace's counter row (held to the
   * commit; made here if the workspace has none yet),
   * hands out the block of cursors and display numbers, numbers the new conversations (and
   * their CONVERSATION_CREATED events' `after`), and writes the events.
   */
  async flush(): Promise<void> {
    const statement = this.close();
    if (!statement) return;
    const [row] = await this.tx.$queryRaw<{ seq: bigint; number: number }[]>(statement);
    this.numbered(row);
  }

  /**
   * Closes the log and returns the numbering statement (undefined when there is nothing to
   * number), for a caller that sends it itself: with the COMMIT (src/db/transaction-end.ts).
   * Its one row goes to `numbered` once it has run.
   */
  close(): Prisma.Sql | undefined {
    this.flushed = true;
    const n = this.pending.length;
    const k = this.unnumbered.length;
    if (!n && !k) return undefined;
    const slots = new Map<unknown, number>();
    this.unnumbered.forEach(({ carriers }, i) => carriers.forEach((c) => slots.set(c, i + 1)));
    const events = JSON.stringify(
      this.pending.map((e, i) => ({
        ord: i + 1,
        id: e.id,
        type: e.type,
        conversation_id: e.conversationId,
        message_id: e.messageId,
        actor_type: e.actorType,
        actor_user_id: e.actorUserId,
        actor_api_key_id: e.actorApiKeyId,
        actor_contact_id: e.actorContactId,
        actor_rule_id: e.actorRuleId,
        actor_depth: e.actorDepth,
        before: e.before ?? null,
        after: e.after ?? null,
        note: e.note,
        created_at: e.createdAt,
        slot: slots.get(e.after) ?? null,
      })),
    );
    const conversations = JSON.stringify(this.unnumbered.map(({ conversation }, i) => ({ id: conversation.id, slot: i + 1 })));
    return Prisma.sql`
      WITH s AS (
        INSERT INTO "workspace_counter" AS w ("workspace_id", "event_seq", "conversation_seq") VALUES (${this.ctx.workspaceId}::uuid, ${n}, ${k})
        ON CONFLICT ("workspace_id") DO UPDATE SET "event_seq" = w."event_seq" + ${n}, "conversation_seq" = w."conversation_seq" + ${k}
        RETURNING "event_seq", "conversation_seq"
      ), numbered AS (
        UPDATE "conversation" c SET "number" = s."conversation_seq" - ${k}::int + x.slot
        FROM s, jsonb_to_recordset(${conversations}::jsonb) AS x(id uuid, slot int)
        WHERE c."id" = x.id AND c."workspace_id" = ${this.ctx.workspaceId}::uuid
      ), inserted AS (
        INSERT INTO "event" ("id", "workspace_id", "seq", "type", "conversation_id", "message_id", "actor_type",
          "actor_user_id", "actor_api_key_id", "actor_contact_id", "actor_rule_id", "actor_depth", "before", "after", "note", "created_at")
        SELECT e.id, ${this.ctx.workspaceId}::uuid, s."event_seq" - ${n}::bigint + e.ord, e.type::"EventType", e.conversation_id, e.message_id,
          e.actor_type::"ActorType", e.actor_user_id, e.actor_api_key_id, e.actor_contact_id, e.actor_rule_id, e.actor_depth, e.before,
          CASE WHEN e.slot IS NULL THEN e.after ELSE jsonb_set(e.after, '{number}', to_jsonb(s."conversation_seq" - ${k}::int + e.slot)) END,
          e.note, e.created_at
        FROM s, jsonb_to_recordset(${events}::jsonb) AS e(ord int, id uuid, type text, conversation_id uuid, message_id uuid, actor_type text,
          actor_user_id uuid, actor_api_key_id uuid, actor_contact_id uuid, actor_rule_id uuid, actor_depth int, before jsonb, after jsonb, note text, created_at timestamptz, slot int)
      )
      SELECT "event_seq" AS seq, "conversation_seq" AS number FROM s`;
  }

  /**
   * The numbering statement's row (the last cursor and display number handed out; int8 may
   * come as text): numbers the new conversations and their carriers, and keeps the events to publish.
   */
  numbered(row: { seq: bigint | string; number: number | string } | undefined): void {
    if (!row) throw new Error(`EventLog: workspace ${this.ctx.workspaceId} not found`);
    const k = this.unnumbered.length;
    const first = Number(row.number) - k;
    this.unnumbered.forEach(({ conversation, carriers, copies }, i) => {
      conversation.number = first + i + 1;
      for (const carrier of carriers) carrier.number = first + i + 1;
      for (const copy of copies) copy.number = first + i + 1;
    });
    let seq = BigInt(row.seq) - BigInt(this.pending.length);
    for (const event of this.pending) {
      seq += 1n;
      this.written.push({
        eventId: event.id!,
        seq: seq.toString(),
        type: event.type,
        conversationId: event.conversationId ?? null,
        messageId: event.messageId ?? null,
      });
    }
  }
}

/**
 * The workspace's last timeline cursor handed out (0 before its first event). With `lock`, read
 * under its counter row's lock, which every event takes its number under (the row is made if
 * the workspace has none yet): no event can commit later with a cursor at or below this one.
 */
export async function lastCursor(tx: ScopedTx, workspaceId: string, opts: { lock?: boolean } = {}): Promise<bigint> {
  const [row] = opts.lock
    ? await tx.$queryRaw<{ event_seq: bigint }[]>`
        INSERT INTO "workspace_counter" AS w ("workspace_id") VALUES (${workspaceId}::uuid)
        ON CONFLICT ("workspace_id") DO UPDATE SET "event_seq" = w."event_seq" RETURNING "event_seq"`
    : await tx.$queryRaw<{ event_seq: bigint }[]>`SELECT "event_seq" FROM "workspace_counter" WHERE "workspace_id" = ${workspaceId}::uuid`;
  return row?.event_seq ?? 0n;
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
  // On PostgreSQL the timeouts travel with the BEGIN, the numbering statement with the COMMIT
  // (src/db/transaction-end.ts).
  const end = new TransactionEnd();
  end.deadline = deadline;
  let sentWithCommit = false;
  let result: T;
  try {
    result = await transactionEnds.run(end, () =>
      ctx.db.$transaction(
        async (tx) => {
          if (deadline !== undefined) {
            // What is left now that the transaction has started (it may have waited for a connection).
            const ms = Math.floor(deadline - Date.now());
            if (ms <= 0) throw timedOut();
            // On PostgreSQL they go with the BEGIN (src/db/transaction-end.ts).
            if (!end.timeoutsWithBegin) {
              await (tx as ScopedTx).$queryRaw`SELECT set_config('statement_timeout', ${String(ms)}, true), set_config('lock_timeout', ${String(ms)}, true)`;
            }
          }
          log = new EventLog(tx as ScopedTx, ctx);
          const events = log;
          bindTransaction(tx, end);
          // Outside the store: a transaction begun by the work is not this one.
          const value = await transactionEnds.exit(() => work(tx as ScopedTx, events));
          if (end.supported) sentWithCommit = (end.statement = log.close()) !== undefined;
          else await log.flush();
          if (deadline !== undefined && Date.now() > deadline) throw timedOut();
          return value;
        },
        {
          timeout: TRANSACTION_TIMEOUT_MS + (left ?? 0),
          maxWait: left === undefined ? TRANSACTION_MAX_WAIT_MS : Math.max(1, Math.min(TRANSACTION_MAX_WAIT_MS, left)),
        },
      ),
    );
  } catch (e) {
    // A numbering statement sent with the COMMIT failed as pg reports it (PostgreSQL's code on the error).
    const code = end.error !== undefined ? (end.error as { code?: string }).code : sqlState(e);
    if (deadline !== undefined && TIMED_OUT_SQLSTATES.has(code ?? '')) throw timedOut();
    // Waiting for a connection past the deadline: the transaction never started.
    if (deadline !== undefined && (e as { code?: unknown } | null)?.code === 'P2028' && /Unable to start a transaction/i.test(String((e as Error).message))) {
      throw timedOut();
    }
    throw e;
  }
  if (sentWithCommit) log!.numbered(end.rows?.[0] as { seq: string; number: number } | undefined);
  if (ctx.pubsub && log) {
    for (const event of log.written) {
      ctx.pubsub.publish(workspaceTopic(ctx.workspaceId), event);
      liveEventsPublished.inc({ type: event.type });
    }
  }
  if (log?.written.length) ctx.committed?.();
  return result;
}
