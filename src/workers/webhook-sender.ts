// The webhook sender: takes due deliveries, signs them, POSTs them, records the outcome.
//
// A delivery is claimed for a limited time (a lease, FOR UPDATE SKIP LOCKED, so several server
// processes on one PostgreSQL database never take the same one), sent with no transaction open
// and no row locked, then recorded in one short transaction. A process killed mid-attempt
// leaves a lease that runs out: the delivery is sent again, with the same webhook-id.
//
// At most `perEndpoint` attempts per endpoint are in flight (one while the endpoint is failing:
// a probe, at most every `probeIntervalMs`). When a probe succeeds, every delivery waiting on
// that endpoint becomes due at once. 410 Gone, or nothing but failures for `disableAfterMs`,
// disables the endpoint.
import { randomUUID } from 'node:crypto';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { webhookAttemptDuration, webhookAttempts, webhookDue, webhookQueueAge } from '../metrics.js';
import { post, type OutboundPolicy, type PostResult } from '../security/outbound.js';
import type { SecretBox } from '../security/secret-key.js';
import { signedHeaders } from '../security/webhook-signature.js';
import { uuidv7 } from '../uuid.js';
import type { RequestPressure } from './request-pressure.js';

/** Standard Webhooks' schedule: the wait before each attempt (the first goes at once). */
/** How often the sender reads the queue's age and depth for the metrics. */
const QUEUE_LOOK_MS = 5_000;

export const STANDARD_RETRY_SCHEDULE_MS = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 50_400_000, 72_000_000, 86_400_000];

export interface SenderOptions {
  /** Waits before attempts 1..n (the first is normally 0); after the last, the delivery fails. */
  retryScheduleMs: number[];
  timeoutMs: number;
  leaseMs: number;
  /** Attempts in flight in this process. */
  concurrency: number;
  /** Attempts in flight per endpoint (all processes, as far as leases tell). */
  perEndpoint: number;
  probeIntervalMs: number;
  disableAfterMs: number;
  /** How often due deliveries are looked for when nothing wakes the sender. */
  pollMs: number;
  maxResponseBytes: number;
  /** Requests first: claiming waits while many are in flight (bounded). */
  pressure?: RequestPressure;
}

interface Claimed {
  id: string;
  workspace_id: string;
  endpoint_id: string;
  message_id: string;
  body: string | null;
  attempt_count: number;
  kind: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  lease_token: string;
  /** The database's time when the claim was made: the attempt's start, on the clock the probe gate uses. */
  claimed_at: Date;
}

/** The delay after a failed attempt: the schedule's, with up to 10 % jitter either way. */
export function retryDelay(schedule: number[], attempts: number, retryAfterMs: number | null): number | null {
  if (attempts >= schedule.length) return null;
  const base = schedule[attempts]!;
  const jittered = Math.round(base * (0.9 + Math.random() * 0.2));
  // A receiver that says when to come back is believed (within a day).
  return retryAfterMs === null ? jittered : Math.min(Math.max(retryAfterMs, jittered), 86_400_000);
}

export class WebhookSender {
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly inflight = new Map<string, { done: Promise<void>; abort: AbortController; token: string }>();
  private loop: Promise<void> = Promise.resolve();
  private wakeRequested = false;
  private lastQueueLook = 0;
  /** Successful attempts waiting for the next combined write (recordSuccess). */
  private successes: { d: Claimed; r: PostResult; startedAt: Date; resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(
    private readonly prisma: PrismaClient,
    private readonly box: SecretBox | null,
    private readonly policy: OutboundPolicy,
    private readonly options: SenderOptions,
    private readonly logger: Logger,
  ) {}

  /** Starts the loop. On the embedded database this process is the only sender: leases left by a killed one are void. */
  async start({ soleProcess }: { soleProcess: boolean }) {
    if (soleProcess) {
      await this.prisma.$executeRaw`UPDATE "webhook_delivery" SET "lease_until" = NULL, "lease_token" = NULL WHERE "lease_until" IS NOT NULL AND "state" = 'PENDING'`;
    }
    this.running = true;
    this.schedule(0);
  }

  /** Looks for due deliveries now (the dispatcher has just queued some). */
  wake() {
    if (!this.running) return;
    this.wakeRequested = true;
    this.schedule(0);
  }

  private schedule(ms: number) {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.loop = this.loop.then(() => this.fill()).catch((err) => this.logger.error({ err }, 'webhook sender: claiming deliveries failed'));
      void this.loop.then(() => this.schedule(this.wakeRequested ? 0 : this.options.pollMs));
    }, ms);
    this.timer.unref?.();
  }

  private async fill() {
    this.wakeRequested = false;
    if (!this.running || !this.box) return;
    if (Date.now() - this.lastQueueLook >= QUEUE_LOOK_MS) await this.lookAtQueue();
    const room = this.options.concurrency - this.inflight.size;
    if (room <= 0) return;
    await this.options.pressure?.wait();
    if (!this.running) return;
    const claimed = await this.claim(room);
    for (const d of claimed) this.begin(d);
    // A full batch: there may be more waiting.
    if (claimed.length === room) this.wakeRequested = true;
  }

  /** The queue's age and depth, for the metrics (every few seconds, not at every poll). */
  private async lookAtQueue() {
    this.lastQueueLook = Date.now();
    const [row] = await this.prisma.$queryRaw<{ age: number | null; due: number }[]>`
      SELECT extract(epoch FROM now() - min("next_attempt_at"))::float8 AS age, count(*)::int AS due
      FROM "webhook_delivery" WHERE "state" = 'PENDING' AND "next_attempt_at" <= now() AND ("lease_until" IS NULL OR "lease_until" <= now())`;
    webhookQueueAge.set(Math.max(0, row?.age ?? 0));
    webhookDue.set(row?.due ?? 0);
  }

  /**
   * Claims up to `limit` due deliveries: per enabled endpoint (a failing one only when its
   * probe is due), the first ones in timeline order, as many as its in-flight room allows.
   * Both reads are index ranges over the pending deliveries only (partial indexes), so a
   * claim costs the same with a backlog of thousands as with none: the sender claims after
   * every finished attempt. `onlyId` claims that one delivery, due or not (a test delivery).
   */
  private async claim(limit: number, onlyId: string | null = null): Promise<Claimed[]> {
    const token = randomUUID();
    const { perEndpoint, leaseMs } = this.options;
    return this.prisma.$queryRaw<Claimed[]>`
      WITH candidates AS (
        SELECT d."id", d."event_seq", d."created_at" FROM "webhook_delivery" d
        WHERE ${onlyId}::uuid IS NOT NULL AND d."id" = ${onlyId}::uuid AND d."state" = 'PENDING'
          AND EXISTS (SELECT 1 FROM "webhook_endpoint" e WHERE e."id" = d."endpoint_id" AND e."enabled")
        UNION ALL
        SELECT d."id", d."event_seq", d."created_at"
        FROM "webhook_endpoint" e
        CROSS JOIN LATERAL (
          SELECT (CASE WHEN e."failing_since" IS NULL THEN ${perEndpoint}::int ELSE 1 END) - count(*)::int AS room
          FROM "webhook_delivery" b
          WHERE b."endpoint_id" = e."id" AND b."state" = 'PENDING' AND b."lease_until" IS NOT NULL AND b."lease_until" > now()
        ) busy
        CROSS JOIN LATERAL (
          SELECT d."id", d."event_seq", d."created_at" FROM "webhook_delivery" d
          WHERE d."endpoint_id" = e."id" AND d."state" = 'PENDING'
            AND (d."lease_until" IS NULL OR d."lease_until" <= now()) AND d."next_attempt_at" <= now()
          ORDER BY d."event_seq" NULLS FIRST, d."created_at", d."id"
          LIMIT greatest(busy.room, 0)
        ) d
        WHERE ${onlyId}::uuid IS NULL AND e."enabled"
          AND (e."failing_since" IS NULL OR e."next_probe_at" IS NULL OR e."next_probe_at" <= now())
      ), picked AS (
        SELECT "id" FROM candidates ORDER BY "event_seq" NULLS FIRST, "created_at" LIMIT ${limit}::int
      ), locked AS (
        SELECT d."id" FROM "webhook_delivery" d WHERE d."id" IN (SELECT "id" FROM picked) FOR UPDATE SKIP LOCKED
      ), claimed AS (
        UPDATE "webhook_delivery" d
        SET "lease_until" = now() + ${leaseMs}::int * interval '1 millisecond', "lease_token" = ${token}::uuid,
            "attempt_count" = d."attempt_count" + 1, "updated_at" = now()
        FROM locked WHERE d."id" = locked."id" AND (d."lease_until" IS NULL OR d."lease_until" <= now())
        RETURNING d.*
      )
      SELECT c."id", c."workspace_id", c."endpoint_id", c."message_id", c."body", c."attempt_count", c."kind", c."lease_token", now() AS claimed_at,
        e."url", e."secret", e."previous_secret", e."previous_secret_expires_at"
      FROM claimed c JOIN "webhook_endpoint" e ON e."id" = c."endpoint_id"`;
  }

  private begin(d: Claimed) {
    const abort = new AbortController();
    const done = this.attempt(d, abort.signal)
      .catch((err) => this.logger.error({ err, deliveryId: d.id }, 'webhook sender: an attempt failed unexpectedly'))
      .finally(() => {
        this.inflight.delete(d.id);
        this.wake();
      });
    this.inflight.set(d.id, { done, abort, token: d.lease_token });
  }

  private secretsOf(d: Claimed): string[] {
    const secrets = [this.box!.open(d.secret)];
    if (d.previous_secret && d.previous_secret_expires_at && d.previous_secret_expires_at.getTime() > Date.now()) secrets.push(this.box!.open(d.previous_secret));
    return secrets;
  }

  private async attempt(d: Claimed, signal: AbortSignal): Promise<void> {
    if (d.body === null) {
      await this.record(d, { status: null, body: null, retryAfterMs: null, error: 'The payload was erased (its contact was deleted).', durationMs: 0 }, d.claimed_at, true);
      return;
    }
    const startedAt = d.claimed_at;
    const result = await post({
      url: d.url,
      headers: signedHeaders(this.secretsOf(d), d.message_id, d.body),
      body: d.body,
      timeoutMs: this.options.timeoutMs,
      maxBodyBytes: this.options.maxResponseBytes,
      policy: this.policy,
      signal,
    });
    // Stopped mid-attempt (shutdown): the claim is given back, nothing is recorded.
    if (signal.aborted) return;
    await this.record(d, result, startedAt, false);
  }

  private async record(d: Claimed, r: PostResult, startedAt: Date, final: boolean) {
    const success = r.status !== null && r.status >= 200 && r.status < 300;
    const test = d.kind === 'WEBHOOK_TEST';
    const gone = r.status === 410;
    const delay = success || gone || final || test ? null : retryDelay(this.options.retryScheduleMs, d.attempt_count, r.status === 429 || r.status === 503 ? r.retryAfterMs : null);
    const state = success ? 'SUCCEEDED' : delay === null ? 'FAILED' : 'PENDING';
    if (r.status !== null || r.error) webhookAttemptDuration.observe(r.durationMs / 1000);
    webhookAttempts.inc({ outcome: success ? 'success' : gone ? 'gone' : state === 'FAILED' ? 'failed' : 'retry' });
    // The attempt was made: its outcome waits for a connection as long as the lease allows (Prisma's
    // default is 2 s; a burst of mutations holds the pool longer, and a dropped outcome means the
    // delivery goes again when its lease runs out).
    const maxWait = Math.max(2_000, this.options.leaseMs - this.options.timeoutMs);
    if (success && !test) return this.recordSuccess(d, r, startedAt, maxWait);
    await this.prisma.$transaction(async (tx) => {
      await tx.webhookAttempt.create({
        data: {
          workspaceId: d.workspace_id,
          deliveryId: d.id,
          startedAt,
          durationMs: r.durationMs,
          httpStatus: r.status,
          error: r.error,
          responseBody: r.body,
          success,
        },
      });
      const updated = await tx.webhookDelivery.updateMany({
        where: { id: d.id, leaseToken: d.lease_token },
        data: {
          state,
          lastStatus: r.status,
          lastError: r.error,
          leaseUntil: null,
          leaseToken: null,
          nextAttemptAt: delay === null ? null : new Date(Date.now() + delay),
          completedAt: state === 'PENDING' ? null : new Date(),
        },
      });
      // Another process took the delivery over (our lease ran out): its outcome will count.
      // A test delivery says nothing of the endpoint's health.
      if (!updated.count || test || success) return;
      if (gone) {
        await tx.webhookEndpoint.update({
          where: { id: d.endpoint_id },
          data: { enabled: false, disabledAt: new Date(), disabledReason: 'The endpoint answered 410 Gone.', failingSince: null, nextProbeAt: null },
        });
        return;
      }
      const now = Date.now();
      const [endpoint] = await tx.$queryRaw<{ failing_since: Date }[]>`
        UPDATE "webhook_endpoint" SET "failing_since" = coalesce("failing_since", now()),
          "next_probe_at" = now() + ${this.options.probeIntervalMs}::int * interval '1 millisecond'
        WHERE "id" = ${d.endpoint_id}::uuid RETURNING "failing_since"`;
      if (endpoint && now - endpoint.failing_since.getTime() >= this.options.disableAfterMs) {
        const days = Math.round(this.options.disableAfterMs / 86_400_000);
        const seconds = Math.round(this.options.disableAfterMs / 1000);
        await tx.webhookEndpoint.update({
          where: { id: d.endpoint_id },
          data: {
            enabled: false,
            disabledAt: new Date(),
            disabledReason: `Every delivery failed for ${days >= 1 ? `${days} day${days === 1 ? '' : 's'}` : `${seconds} second${seconds === 1 ? '' : 's'}`}.`,
          },
        });
      }
    }, { maxWait, timeout: 30_000 });
    if (!success) this.logger.info({ deliveryId: d.id, endpointId: d.endpoint_id, status: r.status, error: r.error, state }, 'webhook attempt failed');
  }

  /**
   * The common outcome, recorded with the other successes of the moment: every attempt that
   * ends before the next turn of the event loop joins one statement (one round trip for all,
   * no interactive transaction) that stores the attempts and marks the deliveries SUCCEEDED
   * where this process still holds the lease. At hundreds of deliveries a second, a statement
   * per delivery was the sender's own bottleneck. Each caller resolves once its row is written.
   */
  private recordSuccess(d: Claimed, r: PostResult, startedAt: Date, maxWait: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.successes.push({ d, r, startedAt, resolve, reject });
      if (this.successes.length === 1) setImmediate(() => void this.flushSuccesses(maxWait));
    });
  }

  private async flushSuccesses(maxWait: number) {
    const batch = this.successes.splice(0, this.successes.length);
    if (!batch.length) return;
    try {
      const rows = await this.prisma.$queryRaw<{ endpoint_id: string; failing: boolean }[]>`
        WITH input AS (
          SELECT * FROM unnest(
            ${batch.map((b) => b.d.id)}::uuid[], ${batch.map((b) => b.d.lease_token)}::uuid[], ${batch.map((b) => b.d.workspace_id)}::uuid[],
            ${batch.map(() => uuidv7())}::uuid[], ${batch.map((b) => b.startedAt.toISOString())}::timestamptz[],
            ${batch.map((b) => b.r.durationMs)}::int[], ${batch.map((b) => b.r.status)}::int[], ${batch.map((b) => b.r.body)}::text[]
          ) AS i("id", "lease_token", "workspace_id", "attempt_id", "started_at", "duration_ms", "status", "body")
        ), attempt AS (
          INSERT INTO "webhook_attempt" ("id", "workspace_id", "delivery_id", "started_at", "duration_ms", "http_status", "error", "response_body", "success")
          SELECT "attempt_id", "workspace_id", "id", "started_at", "duration_ms", "status", NULL, "body", true FROM input
          RETURNING 1
        ), updated AS (
          UPDATE "webhook_delivery" d SET "state" = 'SUCCEEDED', "last_status" = i."status", "last_error" = NULL, "lease_until" = NULL,
            "lease_token" = NULL, "next_attempt_at" = NULL, "completed_at" = now(), "updated_at" = now()
          FROM input i WHERE d."id" = i."id" AND d."lease_token" = i."lease_token"
          RETURNING d."endpoint_id"
        )
        SELECT DISTINCT u."endpoint_id"::text AS endpoint_id, e."failing_since" IS NOT NULL AS failing, (SELECT count(*) FROM attempt) AS attempts
        FROM updated u JOIN "webhook_endpoint" e ON e."id" = u."endpoint_id"`;
      // Deliveries another process took over (our lease ran out) are not in `updated`. An endpoint
      // that was failing until now has its receiver back: its backlog goes now, not on each
      // delivery's schedule.
      for (const row of rows) {
        if (!row.failing) continue;
        await this.prisma.$transaction(
          async (tx) => {
            await tx.webhookEndpoint.update({ where: { id: row.endpoint_id }, data: { failingSince: null, nextProbeAt: null } });
            await tx.webhookDelivery.updateMany({ where: { endpointId: row.endpoint_id, state: 'PENDING' }, data: { nextAttemptAt: new Date() } });
          },
          { maxWait, timeout: 30_000 },
        );
      }
      for (const b of batch) b.resolve();
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }

  /** A test delivery, made now by this process: resolves once its one attempt is recorded. */
  async sendNow(deliveryId: string): Promise<void> {
    if (!this.box) return;
    const [d] = await this.claim(1, deliveryId);
    if (!d) return;
    const abort = new AbortController();
    await this.attempt(d, abort.signal);
  }

  /** Attempts in flight in this process. */
  get busy(): number {
    return this.inflight.size;
  }

  /**
   * Stops claiming; attempts in flight get up to `graceMs` to finish and be recorded, then are
   * cut off and their claims given back (they go again, from this or another process).
   */
  async stop(graceMs: number) {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.loop.catch(() => {});
    const pending = [...this.inflight.entries()];
    if (pending.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(pending.map(([, f]) => f.done)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    const left = [...this.inflight.entries()];
    for (const [, f] of left) f.abort.abort();
    for (const [id, f] of left) {
      await this.prisma.$executeRaw`
        UPDATE "webhook_delivery" SET "lease_until" = NULL, "lease_token" = NULL, "attempt_count" = greatest("attempt_count" - 1, 0)
        WHERE "id" = ${id}::uuid AND "lease_token" = ${f.token}::uuid`;
    }
    await Promise.all(left.map(([, f]) => f.done));
  }
}
