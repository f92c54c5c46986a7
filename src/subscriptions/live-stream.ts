// What a subscription field's `subscribe` returns: a description of the events it wants
// (a workspace, a cursor to resume after, a predicate), usable two ways.
// - Over graphql-ws, the fan-out (src/subscriptions/fanout.ts) never iterates it: it reads
//   the description, finds (or starts) the group of subscribers with the same operation,
//   variables and visibility, and executes each event once for all of them.
// - Anywhere else (yoga's GraphQL over SSE, a plain `subscribe()`), iterating it yields the
//   matching events in order, replaying the missed ones first: graphql then executes the
//   operation per event for that one subscriber.
import type { Context } from '../context.js';
import { badInput } from '../errors.js';
import type { LiveHub } from './hub.js';
import type { LiveEvent } from './live-event.js';

export interface LiveSpec {
  workspaceId: string;
  /** Resume after this cursor: replay the missed events from the timeline first. */
  after: bigint | null;
  /** Whether the subscriber gets this event. Must depend only on the operation, its variables and the key's visibility. */
  accept(event: LiveEvent): Promise<boolean>;
}

const streams = new WeakMap<object, LiveStream>();

/** The live stream a `subscribe` resolver returned for this context, if any (the fan-out's way in). */
export function liveStreamOf(context: object): LiveStream | undefined {
  return streams.get(context);
}

export class LiveStream implements AsyncIterable<LiveEvent> {
  constructor(
    private readonly hub: LiveHub,
    readonly spec: LiveSpec,
    context: object,
  ) {
    streams.set(context, this);
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveEvent> {
    // Lazy: wrappers (graphql's, envelop's) take the iterator at once; nothing starts until
    // the first next(), so a stream the fan-out takes over costs nothing.
    let inner: AsyncGenerator<LiveEvent> | null = null;
    let finished = false;
    return {
      next: () => {
        if (finished) return Promise.resolve({ done: true, value: undefined });
        inner ??= follow(this.hub, this.spec);
        return inner.next();
      },
      return: async () => {
        finished = true;
        await inner?.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }
}

/** The per-subscriber path: listen first, replay from the timeline, then live, skipping what was replayed. */
async function* follow(hub: LiveHub, spec: LiveSpec): AsyncGenerator<LiveEvent> {
  const queue: LiveEvent[] = [];
  let wake: (() => void) | null = null;
  const hold = await hub.listen(spec.workspaceId, (e) => {
    queue.push(e);
    wake?.();
  });
  try {
    let last = spec.after ?? hold.joinedAt;
    if (spec.after !== null) {
      for await (const e of hub.replay(spec.workspaceId, spec.after)) {
        last = e.seq;
        if (await spec.accept(e)) yield e;
      }
    }
    for (;;) {
      while (queue.length) {
        const e = queue.shift()!;
        if (e.seq <= last) continue;
        last = e.seq;
        if (await spec.accept(e)) yield e;
      }
      await new Promise<void>((r) => (wake = r));
      wake = null;
    }
  } finally {
    hold.release();
  }
}

const CURSOR = /^\d{1,19}$/;
const MAX_CURSOR = 2n ** 63n - 1n;

/** The `after` argument: a cursor from an event, or null. */
export function parseCursor(after: string | null | undefined): bigint | null {
  if (after === null || after === undefined) return null;
  if (!CURSOR.test(after) || BigInt(after) > MAX_CURSOR) throw badInput('after must be the cursor of an event you received.', { argument: 'after' });
  return BigInt(after);
}

/** The hub a context can subscribe through. */
export function hubOf(ctx: Context): LiveHub {
  if (!ctx.live) throw new Error('live events are not available in this context');
  return ctx.live;
}
