// SIGTERM and subscriptions over GraphQL over SSE (issue 13): a server that stops completes its
// open SSE streams (after the events already committed), as it closes its WebSockets with 1001,
// instead of holding them until SHUTDOWN_TIMEOUT_MS runs out and cutting them then. The
// timeout here is an hour: a stop that waited for it would outlast the test, so a stream that
// gets its `complete` event and a process that exits with 0 show the streams were ended.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/databases.js';
import { DEMO_KEY_LINE } from './support/demo.js';
import { client } from './support/graphql.js';
import { describeExit, listening, PROCESS_TEST_TIMEOUT_MS, runParley, START_TIMEOUT_MS } from './support/process.js';

const dataDir = mkdtempSync(join(tmpdir(), 'parley-shutdown-sse-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const EVENTS = 'subscription { conversationEvents { cursor kind conversation { id } } }';

/** An SSE subscription read as it arrives: its SSE events in order, and how its body ended. */
function openSse(url: string, key: string, query: string) {
  const events: { event: string; data: string }[] = [];
  const state = { ended: false, error: null as unknown };
  let changed = () => {};
  const read = (async () => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key },
      body: JSON.stringify({ query }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffer += decoder.decode(r.value, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (\w+)$/m.exec(block)?.[1];
        if (event) events.push({ event, data: /^data: ?(.*)$/m.exec(block)?.[1] ?? '' });
        changed();
      }
    }
  })()
    .catch((err) => {
      state.error = err;
    })
    .finally(() => {
      state.ended = true;
      changed();
    });
  /** Waits until `ready()` holds (on each change, never by sleeping), failing after `timeoutMs`. */
  const until = async (ready: () => boolean, what: string, timeoutMs = START_TIMEOUT_MS) => {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events so far: ${JSON.stringify(events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        changed = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
  return { events, state, read, until };
}

describe('SIGTERM with subscriptions open over SSE', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('delivers what was committed, completes each stream with its complete event, and exits at once', async () => {
    const database = await createTestDatabase({ dataDir });
    try {
      const env = { PORT: '0', SHUTDOWN_TIMEOUT_MS: '3600000', ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: dataDir }) };
      const p = runParley(env);
      const url = await listening(p);
      const key = (await p.waitFor(DEMO_KEY_LINE))[1]!;
      const streams = [openSse(url, key, EVENTS), openSse(url, key, EVENTS)];

      // Both streams are live: a conversation created now reaches each of them.
      const inboxes = (await client(url, key).ok('{ inboxes { id channel } }')).inboxes as { id: string; channel: string }[];
      const inbox = inboxes.find((i) => i.channel === 'WHATSAPP')!.id;
      const created = await client(url, key).ok(
        `mutation($input: CreateConversationInput!) { createConversation(input: $input) { __typename ... on CreateConversationPayload { conversation { id } } ... on Error { message } } }`,
        { input: { inboxId: inbox, contact: { phone: '+14155550199' } } },
      );
      expect(created.createConversation.__typename, JSON.stringify(created)).toBe('CreateConversationPayload');
      const conversationId = created.createConversation.conversation.id as string;
      for (const s of streams) {
        await s.until(() => s.events.some((e) => e.event === 'next' && e.data.includes(conversationId)), 'the event of the new conversation');
      }

      p.signal('SIGTERM');
      for (const s of streams) {
        await s.until(() => s.state.ended, 'the stream to end');
        expect(s.state.error).toBeNull();
        // Ended by the server's `complete`, not cut off: nothing after it, no error payload before it.
        expect(s.events.at(-1)).toEqual({ event: 'complete', data: '' });
        expect(s.events.filter((e) => e.event === 'next').every((e) => !JSON.parse(e.data).errors)).toBe(true);
      }
      // The process stops (with an hour's SHUTDOWN_TIMEOUT_MS, only because nothing held it).
      const exit = await p.exited;
      expect(exit, describeExit(p, exit)).toEqual({ code: 0, signal: null });
      expect(p.output()).toMatch(/"signal":"SIGTERM"[^\n]*"msg":"shutting down"/);
    } finally {
      await database.drop();
    }
  });
});
