// The live API from a client's side: real graphql-ws clients (and raw WebSockets, to see
// what the protocol does on the wire) against a real server.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient, type Client, type FormattedExecutionResult as ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import type { StartOptions } from '../../src/app.js';
import type { LiveLimits } from '../../src/subscriptions/websocket.js';
import type { TestDatabase } from './databases.js';
import { startTestServer, type TestServer } from './server.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * How long a test waits for something that must arrive: long, so that a busy machine (another
 * suite beside this one) slows a test down instead of failing it. A test that checks that
 * nothing arrives passes its own short limit.
 */
export const WAIT_MS = 60_000;

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/graphql`;
}

export type LiveTestServer = TestServer;

/** startTestServer, with WebSocket limits of the test's choosing (short timeouts). */
export function startLiveServer(
  opts: { liveLimits?: Partial<LiveLimits>; database?: TestDatabase; env?: Record<string, string>; start?: StartOptions } = {},
): Promise<LiveTestServer> {
  return startTestServer({ database: opts.database, env: opts.env, start: { ...opts.start, liveLimits: opts.liveLimits } });
}

export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client. `url` may be a function: a client that retries asks it again each time. */
export function liveClient(
  target: string | (() => string),
  key: string | null,
  opts: { retryAttempts?: number; connectionParams?: Record<string, unknown> } = {},
) {
  const closes: Closed[] = [];
  let connects = 0;
  const client: Client = createClient({
    url: typeof target === 'function' ? target : wsUrl(target),
    webSocketImpl: WebSocket,
    connectionParams: opts.connectionParams ?? (key === null ? {} : { apiKey: key }),
    lazy: true,
    retryAttempts: opts.retryAttempts ?? 0,
    retryWait: () => sleep(100),
    shouldRetry: () => true,
    on: {
      connected: () => {
        connects++;
      },
      closed: (e) => {
        const { code, reason } = e as { code: number; reason: string };
        closes.push({ code, reason: String(reason) });
      },
    },
  });
  return {
    client,
    closes,
    get connects() {
      return connects;
    },
    /** A subscription, as a string or a typed document (test/operations): then its results are typed. */
    subscribe<T = any, V extends Record<string, unknown> = Record<string, unknown>>(
      query: string | TypedDocumentNode<T, V>,
      variables: V = {} as V,
      opts2: { resume?: boolean } = {},
    ) {
      return new Feed<T>(client, typeof query === 'string' ? query : print(query), variables, opts2.resume ?? false);
    },
    /** A query or mutation over the socket: its one result. */
    async request<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<ExecutionResult<T>> {
      const feed = new Feed<T>(client, query, variables, false);
      const result = await feed.next();
      await feed.done(5000);
      return result;
    },
    dispose: () => client.dispose(),
  };
}

/** The cursor of a live payload, whatever its root field. */
function cursorOf(data: unknown): string | null {
  if (!data || typeof data !== 'object') return null;
  for (const v of Object.values(data)) {
    if (v && typeof v === 'object' && typeof (v as { cursor?: unknown }).cursor === 'string') return (v as { cursor: string }).cursor;
  }
  return null;
}

/**
 * One subscription's results, in order. With `resume`, the payload's `after` variable follows
 * the last cursor received, so that the client's resubscription after a reconnect resumes
 * (graphql-ws sends the same payload object again when it reconnects).
 */
export class Feed<T = any> {
  readonly results: ExecutionResult<T>[] = [];
  error: unknown = null;
  completed = false;
  private read = 0;
  private wake: (() => void) | null = null;
  private readonly stop: () => void;
  readonly payload: { query: string; variables: Record<string, unknown> };

  constructor(client: Client, query: string, variables: Record<string, unknown>, resume: boolean) {
    this.payload = { query, variables: { ...variables } };
    this.stop = client.subscribe<T>(this.payload, {
      next: (r) => {
        this.results.push(r as ExecutionResult<T>);
        if (resume) {
          const cursor = cursorOf(r.data);
          if (cursor) this.payload.variables.after = cursor;
        }
        this.poke();
      },
      error: (e) => {
        this.error = e;
        this.poke();
      },
      complete: () => {
        this.completed = true;
        this.poke();
      },
    });
  }

  private poke() {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async until(ready: () => boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (have ${this.results.length} results, error ${JSON.stringify(this.error)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** The next result not read yet. */
  async next(timeoutMs = WAIT_MS): Promise<ExecutionResult<T>> {
    await this.until(() => this.results.length > this.read || this.error !== null || this.completed, timeoutMs, 'a result');
    if (this.results.length > this.read) return this.results[this.read++]!;
    throw new Error(`subscription ended instead: ${JSON.stringify(this.error ?? 'complete')}`);
  }

  /** The data of the next result; fails on GraphQL errors. */
  async nextData(timeoutMs = WAIT_MS): Promise<T> {
    const r = await this.next(timeoutMs);
    if (r.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
    return r.data as T;
  }

  /** The data of the next `n` results. */
  async take(n: number, timeoutMs = WAIT_MS): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(await this.nextData(timeoutMs));
    return out;
  }

  /** Fails if a result arrives within `ms`. */
  async nothingFor(ms: number) {
    await sleep(ms);
    if (this.results.length > this.read) throw new Error(`unexpected result: ${JSON.stringify(this.results[this.read])}`);
  }

  async done(timeoutMs = WAIT_MS) {
    await this.until(() => this.completed || this.error !== null, timeoutMs, 'the end of the subscription');
  }

  /** Waits until the subscription ended with an error, and returns it. */
  async failure(timeoutMs = WAIT_MS): Promise<unknown> {
    await this.until(() => this.error !== null, timeoutMs, 'an error');
    return this.error;
  }

  unsubscribe() {
    this.stop();
  }
}

/** A WebSocket speaking the protocol by hand, to see close codes and messages on the wire. */
export class RawSocket {
  readonly messages: any[] = [];
  readonly closed: Promise<Closed>;
  /** The headers of the server's 101 answer. */
  upgradeHeaders: Record<string, string | string[] | undefined> = {};
  private wake: (() => void) | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.once('upgrade', (res) => (this.upgradeHeaders = res.headers));
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(String(data)));
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  /** Opens a socket; rejects with the HTTP status when the handshake is refused. */
  static open(httpUrl: string, protocols: string[] = ['graphql-transport-ws'], options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(httpUrl), protocols, options);
      const raw = new RawSocket(ws);
      ws.once('open', () => resolve(raw));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
      ws.once('error', (err) => reject(err));
    });
  }

  send(message: unknown) {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The next message of `type` (or any), waiting up to `timeoutMs`. */
  async message(type?: string, timeoutMs = WAIT_MS): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex((m) => !type || m.type === type);
      if (i >= 0) return this.messages.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type ?? ''} message within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`);
      await Promise.race([new Promise<void>((r) => (this.wake = r)), sleep(left)]);
    }
  }

  /** connection_init with a key, expecting the ack. */
  async init(key: string) {
    this.send({ type: 'connection_init', payload: { apiKey: key } });
    await this.message('connection_ack');
  }

  async closedWithin(timeoutMs = WAIT_MS): Promise<Closed> {
    return Promise.race([
      this.closed,
      sleep(timeoutMs).then(() => {
        throw new Error(`socket still open after ${timeoutMs} ms`);
      }),
    ]);
  }

  close() {
    this.ws.close();
  }
}
