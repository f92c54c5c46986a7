// The process's view of each workspace's timeline, live: one pubsub subscription per
// workspace however many subscribers it has, and events handed on strictly in cursor order,
// each exactly once.
//
// Publications can arrive out of order (two server processes publish after their commits,
// and Redis relays whichever comes first) or not at all (a Redis reconnect). The timeline
// is the authority: cursors are dense and follow commit order, so when cursor N+2 arrives
// before N+1, N+1 is already committed and is read back from the event table after a short
// wait; and a periodic check of each workspace's last cursor catches a publication that was
// lost with nothing after it.
import type { PrismaClient } from '../generated/prisma/client.js';
import { scopeToWorkspace, type ScopedDb } from '../db/tenant.js';
import type { Logger } from '../logger.js';
import { liveEventsReceived } from '../metrics.js';
import { workspaceTopic, type Events, type TimelinePublication } from '../pubsub.js';
import { LiveEvent, type EventRow } from './live-event.js';

export interface LiveHubOptions {
  prisma: PrismaClient;
  events: Events;
  logger: Logger;
  /** How long a missing cursor is awaited from pubsub before it is read from the database. */
  gapWaitMs?: number;
  /** How often each workspace's last cursor is compared with what was handed on. */
  tailCheckMs?: number;
}

export type LiveListener = (event: LiveEvent) => void;

/** A listener's hold on a workspace feed. */
export interface FeedHold {
  /** The last cursor the feed had handed on when the hold was taken. */
  readonly joinedAt: bigint;
  /** The last cursor the feed has handed on, now. */
  readonly lastSeq: bigint;
  release(): void;
}

const RECENT = 64;
const PAGE = 200;

class WorkspaceFeed {
  readonly db: ScopedDb;
  readonly listeners = new Set<LiveListener>();
  /** The last cursor handed on; every event up to it has been. */
  lastSeq = 0n;
  ready: Promise<void>;
  private isReady = false;
  private readonly early: TimelinePublication[] = [];
  private readonly pending = new Map<bigint, LiveEvent>();
  private gapTimer: NodeJS.Timeout | null = null;
  private filling: Promise<void> | null = null;
  /** The most recent events handed on, contiguous, for replays that start close to now. */
  private readonly recent: LiveEvent[] = [];
  /** A last cursor seen in the database at the previous tail check and not yet handed on. */
  suspect: bigint | null = null;
  private readonly iterator: AsyncIterator<TimelinePublication>;
  private readonly pages = new Map<bigint, Promise<LiveEvent[]>>();

  constructor(
    readonly workspaceId: string,
    private readonly hub: LiveHub,
  ) {
    this.db = scopeToWorkspace(hub.prisma, workspaceId);
    const topic = workspaceTopic(workspaceId);
    this.iterator = hub.events.pubsub.subscribe(topic)[Symbol.asyncIterator]();
    const first = this.iterator.next();
    this.pump(first);
    this.ready = this.start(topic);
  }

  private async start(topic: string) {
    await this.hub.events.subscribed(topic);
    const ws = await this.db.workspaceCounter.findUnique({ where: { workspaceId: this.workspaceId }, select: { eventSeq: true } });
    this.lastSeq = ws?.eventSeq ?? 0n;
    this.isReady = true;
    for (const p of this.early.splice(0)) this.accept(p);
  }

  private pump(first: Promise<IteratorResult<TimelinePublication>>) {
    void (async () => {
      let next = first;
      for (;;) {
        const r = await next;
        if (r.done) return;
        if (this.isReady) this.accept(r.value);
        else this.early.push(r.value);
        next = this.iterator.next();
      }
    })().catch((err) => this.hub.logger.error({ err, workspaceId: this.workspaceId }, 'live feed stopped'));
  }

  private accept(p: TimelinePublication) {
    const seq = BigInt(p.seq);
    if (seq <= this.lastSeq || this.pending.has(seq)) return;
    this.pending.set(seq, new LiveEvent(this.workspaceId, { id: p.eventId, seq, type: p.type as EventRow['type'], conversationId: p.conversationId, messageId: p.messageId }, this.db));
    this.flush();
  }

  private flush() {
    for (let next = this.pending.get(this.lastSeq + 1n); next; next = this.pending.get(this.lastSeq + 1n)) {
      this.pending.delete(next.seq);
      this.handOn(next);
    }
    if (this.pending.size && !this.gapTimer) {
      this.gapTimer = setTimeout(() => {
        this.gapTimer = null;
        void this.fill();
      }, this.hub.gapWaitMs);
      this.gapTimer.unref();
    }
  }

  private handOn(event: LiveEvent) {
    liveEventsReceived.inc();
    this.lastSeq = event.seq;
    this.recent.push(event);
    if (this.recent.length > RECENT) this.recent.shift();
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.hub.logger.error({ err }, 'live listener failed');
      }
    }
  }

  /** Reads what pubsub has not brought from the timeline, then hands it on. */
  fill(): Promise<void> {
    return (this.filling ??= (async () => {
      try {
        for (;;) {
          const rows = await this.read(this.lastSeq, PAGE);
          // The timeline is the truth. Numbers are given out under the workspace counter row's
          // lock, so a number missing below one that is there was erased (deleting a
          // contact erases its history), not late: it is skipped, never waited for.
          for (const e of rows) if (e.seq > this.lastSeq) this.handOn(e);
          // Publications of what was just handed on (or skipped) are no longer awaited.
          for (const seq of this.pending.keys()) if (seq <= this.lastSeq) this.pending.delete(seq);
          this.flush();
          if (rows.length < PAGE) return;
        }
      } catch (err) {
        this.hub.logger.error({ err, workspaceId: this.workspaceId }, 'reading the timeline failed');
      } finally {
        this.filling = null;
      }
    })());
  }

  private async read(after: bigint, take: number): Promise<LiveEvent[]> {
    const rows = await this.db.event.findMany({
      where: { seq: { gt: after } },
      orderBy: { seq: 'asc' },
      take,
      select: { id: true, seq: true, type: true, conversationId: true, messageId: true, before: true, after: true },
    });
    return rows.map((r) => new LiveEvent(this.workspaceId, r, this.db));
  }

  /** The events after `after`, a page at a time: from memory when recent, else from the timeline. */
  async page(after: bigint): Promise<LiveEvent[]> {
    const first = this.recent[0];
    if (first && after >= first.seq - 1n && after < this.lastSeq) {
      // Not an index computed from numbers: erased events leave holes in them.
      const from = this.recent.findIndex((e) => e.seq > after);
      return this.recent.slice(from, from + PAGE);
    }
    // Subscribers that reconnect together (after a restart) ask for the same pages at once.
    let page = this.pages.get(after);
    if (!page) {
      page = this.read(after, PAGE).finally(() => this.pages.delete(after));
      this.pages.set(after, page);
    }
    return page;
  }

  /** Nothing is waiting to be handed on. */
  get settled(): boolean {
    return this.pending.size === 0 && this.filling === null;
  }

  close() {
    if (this.gapTimer) clearTimeout(this.gapTimer);
    void this.iterator.return?.();
  }
}

export class LiveHub {
  readonly prisma: PrismaClient;
  readonly events: Events;
  readonly logger: Logger;
  readonly gapWaitMs: number;
  private readonly feeds = new Map<string, WorkspaceFeed>();
  private readonly tailTimer: NodeJS.Timeout;
  private tailCheck: Promise<void> | null = null;

  constructor(opts: LiveHubOptions) {
    this.prisma = opts.prisma;
    this.events = opts.events;
    this.logger = opts.logger;
    this.gapWaitMs = opts.gapWaitMs ?? 100;
    this.tailTimer = setInterval(() => void this.checkTails(), opts.tailCheckMs ?? 2000);
    this.tailTimer.unref();
  }

  /**
   * Hands every event of the workspace committed from now on to `listener`, in cursor order.
   * Resolves once the feed is live: from then on nothing committed is missed.
   */
  async listen(workspaceId: string, listener: LiveListener): Promise<FeedHold> {
    let feed = this.feeds.get(workspaceId);
    if (!feed) {
      feed = new WorkspaceFeed(workspaceId, this);
      this.feeds.set(workspaceId, feed);
    }
    feed.listeners.add(listener);
    const f = feed;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      f.listeners.delete(listener);
      if (f.listeners.size === 0 && this.feeds.get(workspaceId) === f) {
        this.feeds.delete(workspaceId);
        f.close();
      }
    };
    try {
      await f.ready;
    } catch (err) {
      release();
      throw err;
    }
    return {
      joinedAt: f.lastSeq,
      get lastSeq() {
        return f.lastSeq;
      },
      release,
    };
  }

  /** Every event of the workspace after cursor `after`, in order, up to the last committed. */
  async *replay(workspaceId: string, after: bigint): AsyncGenerator<LiveEvent> {
    const feed = this.feeds.get(workspaceId);
    const db = feed?.db ?? scopeToWorkspace(this.prisma, workspaceId);
    let cursor = after;
    for (;;) {
      const page = feed
        ? await feed.page(cursor)
        : (
            await db.event.findMany({
              where: { seq: { gt: cursor } },
              orderBy: { seq: 'asc' },
              take: PAGE,
              select: { id: true, seq: true, type: true, conversationId: true, messageId: true, before: true, after: true },
            })
          ).map((r) => new LiveEvent(workspaceId, r, db));
      if (!page.length) return;
      for (const e of page) yield e;
      cursor = page[page.length - 1]!.seq;
    }
  }

  /** A lost publication with nothing after it is found here: the database is ahead of the feed. */
  private checkTails(): Promise<void> {
    if (this.tailCheck || this.feeds.size === 0) return this.tailCheck ?? Promise.resolve();
    return (this.tailCheck = (async () => {
      try {
        // One statement for every workspace this process follows; the ids are the feeds' own.
        const rows = await this.prisma.workspaceCounter.findMany({
          where: { workspaceId: { in: [...this.feeds.keys()] } },
          select: { workspaceId: true, eventSeq: true },
        });
        for (const row of rows) {
          const feed = this.feeds.get(row.workspaceId);
          if (!feed) continue;
          if (row.eventSeq <= feed.lastSeq) {
            feed.suspect = null;
          } else if (feed.suspect !== null && feed.lastSeq < feed.suspect) {
            // Behind for a whole interval: the publication is not coming.
            feed.suspect = null;
            void feed.fill();
          } else {
            feed.suspect = row.eventSeq;
          }
        }
      } catch (err) {
        this.logger.warn({ err }, 'live tail check failed');
      } finally {
        this.tailCheck = null;
      }
    })());
  }

  /**
   * Before shutting down: hands on every event committed so far (read from the timeline if
   * its publication has not arrived), until `deadline`.
   */
  async catchUp(deadline: number): Promise<void> {
    const feeds = [...this.feeds.values()];
    if (!feeds.length) return;
    const rows = await this.prisma.workspaceCounter.findMany({
      where: { workspaceId: { in: feeds.map((f) => f.workspaceId) } },
      select: { workspaceId: true, eventSeq: true },
    });
    await Promise.all(
      rows.map(async (row) => {
        const feed = this.feeds.get(row.workspaceId);
        while (feed && feed.lastSeq < row.eventSeq && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(this.gapWaitMs, 50)));
          if (feed.lastSeq < row.eventSeq) await feed.fill();
        }
      }),
    );
  }

  close() {
    clearInterval(this.tailTimer);
    for (const feed of this.feeds.values()) feed.close();
    this.feeds.clear();
  }
}
