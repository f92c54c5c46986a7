// The event transport under shutdown: with Redis (the PostgreSQL run) no command's promise is
// dropped, so closing while a SUBSCRIBE or PUBLISH is in flight never becomes an unhandled
// rejection (which would end a server process). The PGlite run checks the in-process transport
// the same way.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createEvents, workspaceTopic } from '../src/pubsub.js';
import { REDIS_URL, usePostgres } from './support/databases.js';

const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);
beforeEach(() => {
  rejections.length = 0;
  process.on('unhandledRejection', onRejection);
});
afterEach(() => {
  process.off('unhandledRejection', onRejection);
});

const redisUrl = usePostgres ? REDIS_URL : undefined;

describe(`events ${usePostgres ? 'over Redis' : 'in process'}`, () => {
  it('carries a publication to a subscriber, then closes with commands in flight and leaves no rejection behind', async () => {
    const topic = workspaceTopic(`test-${Date.now()}`);
    const a = createEvents(redisUrl, createLogger('silent'));
    // Two processes' transports over Redis; in process, one transport is both ends.
    const b = redisUrl ? createEvents(redisUrl, createLogger('silent')) : a;
    const it = b.pubsub.subscribe(topic)[Symbol.asyncIterator]();
    const next = it.next();
    await b.subscribed(topic);
    a.pubsub.publish(topic, { eventId: 'e1', seq: '1', type: 'MESSAGE_CREATED', conversationId: null, messageId: null });
    expect((await next).value).toMatchObject({ eventId: 'e1', seq: '1' });

    // A fresh subscription and a publication, then close at once: both are still in flight.
    const other = workspaceTopic(`test-other-${Date.now()}`);
    const late = b.pubsub.subscribe(other)[Symbol.asyncIterator]();
    void late.next();
    a.pubsub.publish(other, { eventId: 'e2', seq: '2', type: 'MESSAGE_CREATED', conversationId: null, messageId: null });
    // And a transport closed before its connections are even up.
    const c = createEvents(redisUrl, createLogger('silent'));
    const early = c.pubsub.subscribe(other)[Symbol.asyncIterator]();
    void early.next();
    c.pubsub.publish(other, { eventId: 'e3', seq: '3', type: 'MESSAGE_CREATED', conversationId: null, messageId: null });
    await Promise.all([a.close(), b.close(), c.close()]);
    await it.return?.();
    await late.return?.();
    await early.return?.();
    await new Promise((r) => setTimeout(r, 200));
    expect(rejections).toEqual([]);
  });
});
