// What a subscription field's `subscribe` returns: a description of the events it wants
// (a workspace, a cursor to resume after, a predicate), usable two ways.
// - Over graphql-ws, the fan-out (src/subscriptions/fanout.ts) never iterates it: it reads
//   the description, finds (or starts) the group of subscribers with the same operation,
//   variables and visibility, and executes each event once for all of them.
// - Anywhere else (yoga's GraphQL over SSE, a plain `subscribe()`), iterating it yields the
//   matching events in order, replaying the missed ones first: graphql then executes the
//   operation per event for that one subscriber.
// Either way the key that subscribed is watched: revoked, expired, rotated or deleted, its
// WebSocket closes (src/subscriptions/websocket.ts) and, by the same checks, an iterated
// stream ends, its last payload an UNAUTHENTICATED error saying why.
import type { Context } from '../context.js';
import { badInput, unauthenticated } from '../errors.js';
import { deliveredTo } from '../metrics.js';
import { hashSecret } from '../services/api-keys.js';
import { secretFromHeaders } from '../services/auth.js';
import type { FeedHold, LiveHub } from './hub.js';
import type { LiveEvent } from './live-event.js';

export interface LiveSpec {
  workspaceId: string;
  /** Resume after this cursor: replay the missed events from the timeline first. */
  after: bigint | null;
  /** Whether the subscriber gets this event. Must depend only on the operation, its variables and the key's visibility. */
  accept(event: LiveEvent): Promise<boolean>;
}

/** Something live that a key keeps open (a WebSocket connection, an iterated stream). */
export interface KeyHolder {
  /** The hash of the secret it authenticated with, when known: a rotated key's old secret stops working. */
  readonly secretHash: string | null;
  /** The key may no longer be used: end what it keeps open. */
  end(reason: string): void;
  /**
   * The server is shutting down: deliver the events already handed to it, then complete
   * normally (an SSE stream gets its `complete` event). A WebSocket connection has none: the
   * server closes those itself, with 1001.
   */
  finish?(): void;
}

/** Checks keys in use and ends their holders when they stop being valid (LiveServer, src/subscriptions/websocket.ts). */
export interface KeyWatch {
  /** Watches `holder` under its key until the returned function is called. */
  holdKey(apiKeyId: string, holder: KeyHolder): () => void;
}

const streams = new WeakMap<object, LiveStream>();
const keyWatches = new WeakMap<LiveHub, KeyWatch>();

/** The live servers of this process, told of a revocation made here (src/services/admin.ts). */
const localRevocationListeners = new Set<(apiKeyId: string) => void>();

/** Listens for keys revoked or rotated by this process; returns the function that stops it. */
export function onLocalRevocation(listener: (apiKeyId: string) => void): () => void {
  localRevocationListeners.add(listener);
  return () => localRevocationListeners.delete(listener);
}

/**
 * A key was revoked or rotated by this process: its streams and sockets here end at once,
 * without waiting for the publication's round trip through Redis (which tells the others).
 */
export function revokedHere(apiKeyId: string): void {
  for (const listener of localRevocationListeners) listener(apiKeyId);
}

/** The live stream a `subscribe` resolver returned for this context, if any (the fan-out's way in). */
export function liveStreamOf(context: object): LiveStream | undefined {
  return streams.get(context);
}

/** Streams iterated from `hub` end when their key stops being valid, as `watch` decides. */
export function watchKeysOf(hub: LiveHub, watch: KeyWatch): void {
  keyWatches.set(hub, watch);
}

/** Who is following a stream: the key, and the hash of the secret sent with the request (over HTTP). */
function subscriberOf(context: object): { apiKeyId: string; secretHash: string | null } | null {
  const { auth, request } = context as Partial<Context> & { request?: { headers: { get(name: string): string | null } } };
  if (!auth) return null;
  let secret: string | null = null;
  try {
    secret = request ? secretFromHeaders(request.headers) : null;
  } catch {
    // Authenticated, so the headers were fine; without a secret, only rotation goes unchecked.
  }
  return { apiKeyId: auth.apiKeyId, secretHash: secret ? hashSecret(secret) : null };
}

export class LiveStream implements AsyncIterable<LiveEvent> {
  constructor(
    private readonly hub: LiveHub,
    readonly spec: LiveSpec,
    private readonly context: object,
  ) {
    streams.set(context, this);
  }

  [Symbol.asyncIterator](): AsyncIterator<LiveEvent> {
    // Lazy: wrappers (graphql's, envelop's) take the iterator at once; nothing starts until
    // the first next(), so a stream the fan-out takes over costs nothing.
    let inner: AsyncGenerator<LiveEvent | Error> | null = null;
    const control = new Control();
    return {
      next: () => {
        if (control.left) return Promise.resolve({ done: true, value: undefined });
        if (!inner) {
          const subscriber = subscriberOf(this.context);
          const watch = keyWatches.get(this.hub);
          const unwatch =
            subscriber && watch
              ? watch.holdKey(subscriber.apiKeyId, {
                  secretHash: subscriber.secretHash,
                  end: (reason) => control.revoke(reason),
                  finish: () => control.finish(),
                })
              : null;
          inner = follow(this.hub, this.spec, control, unwatch);
        }
        // The last value may be the key's error rather than an event: the fields' `resolve`
        // passes the root on, and graphql reports a returned Error as the field's error.
        return inner.next() as Promise<IteratorResult<LiveEvent>>;
      },
      return: async () => {
        control.leave();
        await inner?.return(undefined);
        return { done: true, value: undefined };
      },
    };
  }
}

/** What can stop a stream between events: its key ceasing to be valid, its consumer leaving, the server shutting down. */
class Control {
  /** Why the key may no longer follow the stream, once it may not. */
  revoked: string | null = null;
  /** The consumer returned: nothing more is wanted. */
  left = false;
  /** The server is shutting down: the events already received go out, then the stream completes. */
  finishing = false;
  private waiting: (() => void) | null = null;

  get over(): boolean {
    return this.revoked !== null || this.left;
  }

  /** Resolves at the next wake(): an event, a revocation, the consumer leaving. */
  sleep(): Promise<void> {
    return new Promise<void>((r) => (this.waiting = r));
  }

  wake() {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }

  revoke(reason: string) {
    this.revoked ??= reason;
    this.wake();
  }

  leave() {
    this.left = true;
    this.wake();
  }

  finish() {
    this.finishing = true;
    this.wake();
  }
}

/**
 * The per-subscriber path: listen first, replay from the timeline, then live, skipping what
 * was replayed; until the key stops being valid (then its error, last), the consumer leaves or
 * the server shuts down (then the events already received, and the end). A replay cut short by
 * the shutdown ends the stream where it stopped: the live events queued meanwhile lie beyond a
 * gap, and a client resuming after the last cursor it got receives them all from the next server.
 */
async function* follow(hub: LiveHub, spec: LiveSpec, control: Control, unwatch: (() => void) | null): AsyncGenerator<LiveEvent | Error> {
  const queue: LiveEvent[] = [];
  let hold: FeedHold | null = null;
  try {
    hold = await hub.listen(spec.workspaceId, (e) => {
      queue.push(e);
      control.wake();
    });
    let last = spec.after ?? hold.joinedAt;
    let replayCut = false;
    if (spec.after !== null && !control.over) {
      replayCut = control.finishing;
      if (!replayCut) {
        for await (const e of hub.replay(spec.workspaceId, spec.after)) {
          last = e.seq;
          if (await spec.accept(e)) {
            deliveredTo('http');
            yield e;
          }
          if (control.over) break;
          if (control.finishing) {
            replayCut = true;
            break;
          }
        }
      }
    }
    while (!control.over && !replayCut) {
      while (queue.length && !control.over) {
        const e = queue.shift()!;
        if (e.seq <= last) continue;
        last = e.seq;
        if (await spec.accept(e)) {
          deliveredTo('http');
          yield e;
        }
      }
      if (control.finishing) break;
      if (!control.over) await control.sleep();
    }
    if (control.revoked !== null && !control.left) yield unauthenticated(control.revoked);
  } finally {
    unwatch?.();
    hold?.release();
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
