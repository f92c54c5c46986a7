// Shared delivery: subscribers whose operation, variables and visibility are the same form a
// group; each event is judged and executed once per group, serialised once, and the same
// JSON goes to every member. Plain graphql-ws executes the operation once per subscriber.
//
// A member that resumes (`after`) first gets what it missed from the timeline while the
// group's live events for it are buffered; then the buffer is drained, skipping what the
// replay already sent, so it sees every event once, in cursor order.
import type { ExecutionResult } from 'graphql';
import type { Logger } from '../logger.js';
import type { FeedHold, LiveHub } from './hub.js';
import type { LiveEvent } from './live-event.js';
import type { LiveSpec } from './live-stream.js';

/** Where a member's payloads go (a graphql-ws subscription, in practice). */
export interface LiveSink {
  /** `payload` is the JSON of an execution result, encoded once for every member. */
  next(payload: Buffer): void;
  /** The subscription cannot go on (its replay failed): tell the client and forget it. */
  fail(error: Error): void;
}

export interface GroupSource {
  /** Operation, variables (without the resume cursor) and visibility. */
  key: string;
  spec: LiveSpec;
  /** Executes the operation with the event as its root value. */
  execute(event: LiveEvent): Promise<ExecutionResult>;
}

/** Payloads kept for members that are replaying (reconnects come in crowds after a restart). */
const RESULTS_KEPT = 64;
/** Members served before the event loop is given back to other work. */
const SLICE = 2000;
const INTERNAL = Buffer.from(JSON.stringify({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));

export class Member {
  lastSeq = 0n;
  /** Live payloads held back while the member is joining or replaying. */
  private buffer: [bigint, Buffer | null][] | null = [];
  closed = false;

  constructor(
    private readonly group: Group,
    readonly sink: LiveSink,
  ) {}

  offer(seq: bigint, payload: Buffer | null) {
    if (this.closed || seq <= this.lastSeq) return;
    if (this.buffer) {
      this.buffer.push([seq, payload]);
      return;
    }
    this.lastSeq = seq;
    if (payload !== null) this.sink.next(payload);
  }

  goLive(last: bigint) {
    this.lastSeq = last;
    const held = this.buffer ?? [];
    this.buffer = null;
    for (const [seq, payload] of held) this.offer(seq, payload);
  }

  get replaying(): boolean {
    return this.buffer !== null;
  }

  leave() {
    if (this.closed) return;
    this.closed = true;
    this.group.remove(this);
  }
}

class Group {
  readonly members = new Set<Member>();
  ready: Promise<void>;
  private hold: FeedHold | null = null;
  private tail: Promise<void> = Promise.resolve();
  inflight = 0;
  /** Members replaying the timeline: while there are some, payloads are kept for them to share. */
  replaying = 0;
  private readonly results = new Map<bigint, Promise<Buffer | null>>();

  constructor(
    private readonly owner: FanOut,
    readonly key: string,
    readonly source: GroupSource,
  ) {
    this.ready = owner.hub.listen(source.spec.workspaceId, (e) => this.onEvent(e)).then((hold) => {
      if (this.members.size === 0) hold.release();
      else this.hold = hold;
    });
  }

  get lastSeq(): bigint {
    return this.hold?.lastSeq ?? 0n;
  }

  private onEvent(event: LiveEvent) {
    const result = this.resultFor(event);
    this.inflight++;
    this.tail = this.tail
      .then(() => result)
      .then(async (payload) => {
        if (payload === null) {
          for (const m of this.members) m.offer(event.seq, null);
          return;
        }
        // Tens of thousands of sockets: let other work (requests, pings) in between slices.
        let n = 0;
        for (const m of this.members) {
          m.offer(event.seq, payload);
          if (++n % SLICE === 0) await new Promise(setImmediate);
        }
      })
      .catch((err) => this.owner.logger.error({ err }, 'live delivery failed'))
      .finally(() => {
        this.inflight--;
        this.forget();
      });
  }

  /** The payload for an event (null: not for this group), computed once for live and replay alike. */
  resultFor(event: LiveEvent): Promise<Buffer | null> {
    let result = this.results.get(event.seq);
    if (!result) {
      result = this.compute(event);
      this.results.set(event.seq, result);
      if (this.results.size > RESULTS_KEPT) this.results.delete(this.results.keys().next().value!);
    }
    return result;
  }

  private async compute(event: LiveEvent): Promise<Buffer | null> {
    try {
      if (!(await this.source.spec.accept(event))) return null;
      return Buffer.from(JSON.stringify(await this.source.execute(event)));
    } catch (err) {
      this.owner.logger.error({ err, eventId: event.eventId }, 'executing a live event failed');
      return INTERNAL;
    }
  }

  /** Drops kept payloads once nobody can use them: a group's memory is its members, not its history. */
  forget() {
    if (this.inflight === 0 && this.replaying === 0) this.results.clear();
  }

  settled(): Promise<void> {
    return this.tail;
  }

  remove(member: Member) {
    this.members.delete(member);
    if (this.members.size === 0) this.owner.drop(this);
  }

  close() {
    this.hold?.release();
    this.hold = null;
  }
}

export class FanOut {
  private readonly groups = new Map<string, Group>();
  /** Members that have joined since the process started (a counter for monitoring). */
  private joined = 0;

  constructor(
    readonly hub: LiveHub,
    readonly logger: Logger,
  ) {}

  /**
   * Adds a subscriber to the group for `source.key` (starting it if needed). Resolves once
   * the member is live, or replaying from `after`; payloads then go to `sink`.
   */
  async join(source: GroupSource, after: bigint | null, sink: LiveSink): Promise<Member> {
    let group = this.groups.get(source.key);
    if (!group) {
      group = new Group(this, source.key, source);
      this.groups.set(source.key, group);
    }
    const member = new Member(group, sink);
    group.members.add(member);
    try {
      await group.ready;
    } catch (err) {
      member.leave();
      throw err;
    }
    this.joined++;
    if (after === null) member.goLive(group.lastSeq);
    else void this.replay(group, member, after);
    return member;
  }

  private async replay(group: Group, member: Member, after: bigint) {
    let last = after;
    group.replaying++;
    try {
      for await (const event of this.hub.replay(group.source.spec.workspaceId, after)) {
        if (member.closed) return;
        const payload = await group.resultFor(event);
        if (member.closed) return;
        last = event.seq;
        if (payload !== null) member.sink.next(payload);
      }
      member.goLive(last);
    } catch (err) {
      this.logger.error({ err }, 'replaying the timeline failed');
      member.leave();
      member.sink.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      group.replaying--;
      group.forget();
    }
  }

  drop(group: Group) {
    if (this.groups.get(group.key) === group) this.groups.delete(group.key);
    group.close();
  }

  /** Waits until every event handed to a group so far has been offered to its members. */
  async settled(): Promise<void> {
    for (;;) {
      const busy = [...this.groups.values()].filter((g) => g.inflight > 0);
      if (!busy.length) return;
      await Promise.all(busy.map((g) => g.settled()));
    }
  }

  get stats() {
    let members = 0;
    for (const g of this.groups.values()) members += g.members.size;
    return { groups: this.groups.size, members, joined: this.joined };
  }
}
