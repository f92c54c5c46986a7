// Live events. In-process by default; with REDIS_URL, Redis carries them between server
// processes. Topics are keyed by workspace; payloads carry ids only, and subscribers
// reload what they show through the same tenant-scoped path as queries.
import { createPubSub, type PubSubEventTarget } from 'graphql-yoga';
import { Redis } from 'ioredis';
import type { Logger } from './logger.js';

/** What is published when a timeline event commits. */
export interface TimelinePublication {
  eventId: string;
  /** The event's cursor in its workspace (a decimal string: it is a bigint). */
  seq: string;
  type: string;
  conversationId: string | null;
  messageId: string | null;
}

/** Published when an API key is revoked, so live connections using it close at once. */
export interface KeyRevocation {
  apiKeyId: string;
}

export type PubSubTopics = {
  [workspaceTopic: `workspace:${string}:events`]: [TimelinePublication];
  'api-keys:revoked': [KeyRevocation];
};

export const KEY_REVOKED_TOPIC = 'api-keys:revoked' as const;

export function workspaceTopic(workspaceId: string): `workspace:${string}:events` {
  return `workspace:${workspaceId}:events`;
}

export interface Events {
  pubsub: ReturnType<typeof createPubSub<PubSubTopics>>;
  /**
   * Resolves once this process receives what is published on `topic` from now on. Call it
   * after starting to iterate `pubsub.subscribe(topic)`: with Redis, the SUBSCRIBE is sent
   * then and acknowledged later; in process, at once.
   */
  subscribed(topic: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Redis-backed event target. Unlike @graphql-yoga/redis-event-target it never drops a
 * command's promise: a PUBLISH, SUBSCRIBE or UNSUBSCRIBE that fails (Redis restarting, the
 * connection closing during shutdown) is logged, not left as an unhandled rejection that
 * would end the process. A lost publication is not lost for subscribers: they see the gap in
 * event cursors and read the missing events back from the timeline.
 */
function redisEventTarget(publishClient: Redis, subscribeClient: Redis, logger: Logger): PubSubEventTarget<PubSubTopics> {
  const callbacksForTopic = new Map<string, Set<(event: CustomEvent) => void>>();
  const report = (op: string, topic: string) => (err: unknown) =>
    logger.warn({ err: err instanceof Error ? err.message : String(err), topic }, `redis ${op} failed`);
  subscribeClient.on('message', (channel: string, message: string) => {
    const callbacks = callbacksForTopic.get(channel);
    if (!callbacks) return;
    let detail: unknown;
    try {
      detail = message === '' ? null : JSON.parse(message);
    } catch (err) {
      report('message parse', channel)(err);
      return;
    }
    const event = new CustomEvent(channel, { detail });
    for (const callback of callbacks) callback(event);
  });
  const callbackOf = (c: unknown) =>
    (c && typeof c === 'object' && 'handleEvent' in c ? (c as { handleEvent: (e: CustomEvent) => void }).handleEvent : c) as (e: CustomEvent) => void;
  return {
    addEventListener(topic: string, callbackOrOptions: unknown) {
      if (callbackOrOptions == null) return;
      let callbacks = callbacksForTopic.get(topic);
      if (!callbacks) {
        callbacks = new Set();
        callbacksForTopic.set(topic, callbacks);
        subscribeClient.subscribe(topic).catch(report('subscribe', topic));
      }
      callbacks.add(callbackOf(callbackOrOptions));
    },
    removeEventListener(topic: string, callbackOrOptions: unknown) {
      if (callbackOrOptions == null) return;
      const callbacks = callbacksForTopic.get(topic);
      if (!callbacks) return;
      callbacks.delete(callbackOf(callbackOrOptions));
      if (callbacks.size > 0) return;
      callbacksForTopic.delete(topic);
      if (subscribeClient.status === 'ready') subscribeClient.unsubscribe(topic).catch(report('unsubscribe', topic));
    },
    dispatchEvent(event: CustomEvent) {
      const body = event.detail === undefined ? '' : JSON.stringify(event.detail);
      publishClient.publish(event.type, body).catch(report('publish', event.type));
      return true;
    },
  } as PubSubEventTarget<PubSubTopics>;
}

/** A Redis connection whose errors are logged (ioredis reconnects by itself). */
export function connectRedis(url: string, logger: Logger): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 3 });
  client.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis connection error'));
  return client;
}

/** Ends a Redis connection after its pending replies; forcibly if that fails. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

export function createEvents(redisUrl: string | undefined, logger: Logger): Events {
  if (!redisUrl) return { pubsub: createPubSub<PubSubTopics>(), subscribed: async () => {}, close: async () => {} };
  const publishClient = connectRedis(redisUrl, logger);
  const subscribeClient = connectRedis(redisUrl, logger);
  const eventTarget = redisEventTarget(publishClient, subscribeClient, logger);
  return {
    pubsub: createPubSub<PubSubTopics>({ eventTarget }),
    // ioredis sends commands in order on one connection: when this SUBSCRIBE is acknowledged,
    // the event target's own SUBSCRIBE for the topic (sent first) is too. A second SUBSCRIBE
    // to a channel is a no-op in Redis, and the event target's UNSUBSCRIBE still ends it.
    subscribed: async (topic) => {
      await subscribeClient.subscribe(topic);
    },
    close: async () => {
      await Promise.all([closeRedis(publishClient), closeRedis(subscribeClient)]);
    },
  };
}
