// Wakes snoozed conversations when their time comes: SNOOZED -> OPEN, with a
// STATUS_CHANGED event by the SYSTEM actor. It runs at startup (a snooze that fell due
// while no server ran reopens at once) and then every interval.
//
// Several server processes may share one database. Each wake claims its row in its own
// transaction with SELECT ... FOR UPDATE SKIP LOCKED, re-checking that it is still SNOOZED
// and due: a process skips a row another is waking, and finds nothing to do once the
// other has committed, so exactly one of them wakes each conversation and writes the event.
import type { PrismaClient } from '../generated/prisma/client.js';
import { scopeToWorkspace } from '../db/tenant.js';
import type { Logger } from '../logger.js';
import { snoozeWakeFailures, snoozeWakes } from '../metrics.js';
import type { Events } from '../pubsub.js';
import { changeStatus } from './status.js';
import { inTransaction } from './timeline.js';

const BATCH = 200;

export interface WakeResult {
  /** Conversations this call woke (another process may have woken others). */
  woken: string[];
}

/** Wakes every snooze due now. Safe to run concurrently, in one process or several. */
export async function wakeDueSnoozes(prisma: PrismaClient, pubsub?: Events['pubsub']): Promise<WakeResult> {
  const woken: string[] = [];
  for (;;) {
    const due = await prisma.$queryRaw<{ id: string; workspace_id: string }[]>`
      SELECT "id", "workspace_id" FROM "conversation"
      WHERE "status" = 'SNOOZED' AND "snoozed_until" <= now()
      ORDER BY "snoozed_until" LIMIT ${BATCH}`;
    let wokenNow = 0;
    for (const row of due) {
      const sctx = { db: scopeToWorkspace(prisma, row.workspace_id), workspaceId: row.workspace_id, actor: { type: 'SYSTEM' as const }, pubsub };
      const done = await inTransaction(sctx, async (tx, events) => {
        // Locked, or no longer due and snoozed (another process woke it): not ours.
        const claimed = await tx.$queryRaw<{ id: string }[]>`
          SELECT "id" FROM "conversation"
          WHERE "id" = ${row.id}::uuid AND "workspace_id" = ${row.workspace_id}::uuid
            AND "status" = 'SNOOZED' AND "snoozed_until" <= now()
          FOR UPDATE SKIP LOCKED`;
        if (!claimed.length) return false;
        const conversation = await tx.conversation.findUniqueOrThrow({ where: { id: row.id } });
        await changeStatus(tx, events, conversation, { to: 'OPEN', actor: { type: 'SYSTEM' } });
        return true;
      });
      if (done) {
        snoozeWakes.inc();
        woken.push(row.id);
        wokenNow += 1;
      }
    }
    // A full batch may hide more; a batch another process took entirely ends the round.
    if (due.length < BATCH || wokenNow === 0) return { woken };
  }
}

export interface SnoozeWaker {
  /** Runs one round now (also what the timer runs). */
  runOnce(): Promise<WakeResult>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

export function startSnoozeWaker(opts: { prisma: PrismaClient; pubsub?: Events['pubsub']; logger: Logger; intervalMs: number }): SnoozeWaker {
  let running: Promise<WakeResult> | null = null;
  let stopped = false;
  const runOnce = () => {
    running ??= wakeDueSnoozes(opts.prisma, opts.pubsub)
      .then(
        (result) => {
          if (result.woken.length) opts.logger.info({ woken: result.woken.length }, 'woke snoozed conversations');
          return result;
        },
        (err) => {
          snoozeWakeFailures.inc();
          throw err;
        },
      )
      .finally(() => {
        running = null;
      });
    return running;
  };
  const tick = () => {
    runOnce().catch((err) => opts.logger.error({ err }, 'waking snoozed conversations failed'));
  };
  tick();
  const timer = setInterval(() => {
    if (!stopped) tick();
  }, opts.intervalMs);
  timer.unref();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
