// GraphQL over WebSocket on /graphql, beside yoga on the same port: the graphql-ws protocol
// (subprotocol `graphql-transport-ws`, messages parsed and checked by graphql-ws itself).
// The legacy `graphql-ws` subprotocol of subscriptions-transport-ws is refused at the
// handshake: servers that accepted it have let clients subscribe without authenticating.
//
// The protocol is served here rather than by graphql-ws's `useServer` for the sake of the
// fan-out: graphql-ws runs and serialises the operation once per subscriber and keeps the
// upgrade request and a timer per socket; here an event is executed once per group of
// identical subscriptions (src/subscriptions/fanout.ts) and its JSON is written to each socket.
//
// Every operation goes through yoga's envelop pipeline, as an HTTP request does: parse and
// validate (with the shape limits), the context factory, the subscribe or execute hooks (cost,
// budget, timeout) and error masking. Each event of a subscription is then executed with a
// fresh context and its errors masked, as yoga does per event (no per-event execute hooks:
// the subscription was charged when it started). Authentication is the connection_init
// payload (`{ "apiKey": "..." }` or `{ "authorization": "Bearer ..." }`), checked once per
// connection; a key revoked, expired or rotated later closes the connection with 4403
// (checked every few seconds, and at once when KEY_REVOKED_TOPIC is published). The same
// checks end the streams iterated for other transports (GraphQL over SSE): see holdKey.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  execute as executeGraphQL,
  getOperationAST,
  GraphQLError,
  Kind,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type OperationDefinitionNode,
} from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType, parseMessage, type SubscribePayload } from 'graphql-ws';
import { isAsyncIterable, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { logLiveOperation, OperationRecord, requestIdFrom, trackOperation } from '../access-log.js';
import type { Context } from '../context.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Logger } from '../logger.js';
import { deliveredTo, rateLimited, websocketConnectionsOpened } from '../metrics.js';
import { KEY_REVOKED_TOPIC, type Events } from '../pubsub.js';
import { hashSecret } from '../services/api-keys.js';
import { authenticate, type AuthInfo } from '../services/auth.js';
import { FanOut, Member, type LiveSink } from './fanout.js';
import type { LiveHub } from './hub.js';
import type { LiveEvent } from './live-event.js';
import { liveStreamOf, onLocalRevocation, watchKeysOf, type KeyHolder, type KeyWatch } from './live-stream.js';

export interface LiveLimits {
  /** Largest WebSocket message accepted; a larger one closes the connection (1009). */
  maxPayloadBytes: number;
  /** Operations one connection may have running at once. */
  maxSubscriptionsPerConnection: number;
  /** A connection that has not sent connection_init by then is closed (4408). */
  connectionInitTimeoutMs: number;
  /** Every this often each socket is pinged; one that has not answered the previous ping is dropped. */
  keepAliveMs: number;
  /** How often the keys of open connections are checked for revocation and expiry. */
  keyCheckMs: number;
  /** A socket with more unsent data than this is not reading: it is closed (1013) and may resume. */
  maxBufferedBytes: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxPayloadBytes: 256 * 1024,
  maxSubscriptionsPerConnection: 100,
  connectionInitTimeoutMs: 3_000,
  keepAliveMs: 12_000,
  keyCheckMs: 5_000,
  maxBufferedBytes: 4 * 1024 * 1024,
};

/** What the live layer puts in yoga's initial context instead of an HTTP request (which brings `req`). */
export interface LiveInitialContext {
  live?: { auth: AuthInfo; requestId: string };
  req?: IncomingMessage;
}

/** Waits for `work`, but not past `deadline` (epoch ms). */
export async function beforeDeadline(work: Promise<unknown>, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))))]);
  } finally {
    clearTimeout(timer);
  }
}

export type ErrorMasker = (error: unknown, message: string) => Error;

export interface LiveServerDeps {
  yoga: YogaServerInstance<LiveInitialContext, Context>;
  server: Server;
  prisma: PrismaClient;
  events: Events;
  hub: LiveHub;
  logger: Logger;
  maskError: ErrorMasker;
  limits?: Partial<LiveLimits>;
  /** The level of the access log's lines for operations ("silent": none). */
  accessLogLevel?: string;
}

/** The keep-alive interval is swept in this many ticks. */
const PING_SLOTS = 10;

/** An operation being set up; its identity tells it apart from a later one with the same id. */
class Pending {}
/** An operation that is not a fan-out member: a plain subscription stream. */
interface Handle {
  stop(): void;
}
type Running = Member | Pending | Handle;

function stop(r: Running) {
  if (r instanceof Member) r.leave();
  else if (!(r instanceof Pending)) r.stop();
}

/** One WebSocket and its state. Kept small: a server holds tens of thousands. */
class Connection implements KeyHolder {
  auth: AuthInfo | null = null;
  /** The hash of the secret it authenticated with: a rotated key's old secret stops working. */
  secretHash: string | null = null;
  initReceived = false;
  alive = true;
  /** Which tick of the keep-alive sweep pings this socket. */
  readonly pingSlot: number;
  initTimer: NodeJS.Timeout | null = null;
  running: Map<string, Running> | null = null;

  constructor(
    readonly live: LiveServer,
    readonly socket: WebSocket,
    pingSlot: number,
    /** The upgrade request's id (its sane `x-request-id`, or a new one), in each operation's log line. */
    readonly id: string,
  ) {
    this.pingSlot = pingSlot;
  }

  get open(): boolean {
    return this.socket.readyState === 1;
  }

  send(data: string | Buffer) {
    if (!this.open) return;
    if (this.socket.bufferedAmount > this.live.limits.maxBufferedBytes) {
      this.close(1013, 'Try again later: the client is not reading its events');
      return;
    }
    this.socket.send(data, TEXT);
  }

  close(code: number, reason: string) {
    if (this.socket.readyState <= 1) this.socket.close(code, reason.slice(0, 120));
  }

  stopAll() {
    if (!this.running) return;
    for (const r of this.running.values()) stop(r);
    this.running.clear();
  }

  /** Its key may no longer be used. */
  end(reason: string) {
    this.stopAll();
    this.close(CloseCode.Forbidden, `Forbidden: ${reason}`);
  }
}

const TEXT = { binary: false };

/**
 * A subscription's way to its socket: the payload, encoded once per event, is copied
 * between this subscription's own message head and a closing brace; no per-socket
 * serialising or encoding.
 */
class SocketSink implements LiveSink {
  private readonly head: string;
  private readonly headBytes: number;
  constructor(
    private readonly conn: Connection,
    private readonly id: string,
  ) {
    this.head = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    this.headBytes = Buffer.byteLength(this.head);
  }
  next(payload: Buffer) {
    const message = Buffer.allocUnsafe(this.headBytes + payload.length + 1);
    message.write(this.head, 0, 'utf8');
    payload.copy(message, this.headBytes);
    message[message.length - 1] = 0x7d; // }
    this.conn.send(message);
    deliveredTo('websocket');
  }
  fail(error: Error) {
    this.conn.running?.delete(this.id);
    this.conn.live.sendError(this.conn, this.id, [error]);
  }
}

function secretFromInit(payload: unknown): string | null {
  if (!payload || typeof payload !== 'object') return null;
  const p = payload as Record<string, unknown>;
  const apiKey = p.apiKey ?? p['x-api-key'] ?? p['X-API-Key'];
  if (typeof apiKey === 'string' && apiKey.trim()) return apiKey.trim();
  const authorization = p.authorization ?? p.Authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (match) return match[1]!;
  }
  return null;
}

/** What a key may see: subscribers that share it (and the operation) share results. */
function visibilityOf(auth: AuthInfo): string {
  return [auth.workspaceId, auth.kind, [...auth.scopes].sort().join(','), auth.userId ?? ''].join('|');
}

/**
 * The variables that decide what a subscription's events look like: all but the resume
 * cursor (`after` of the root field, when it is a variable used nowhere else), so that
 * resuming subscribers join the group of the others.
 */
function sharedVariables(document: DocumentNode, op: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const root = op.selectionSet.selections.find((s) => s.kind === Kind.FIELD && s.name.value !== '__typename');
  if (!root || root.kind !== Kind.FIELD) return variables;
  const after = root.arguments?.find((a) => a.name.value === 'after');
  if (!after || after.value.kind !== Kind.VARIABLE) return variables;
  const name = after.value.name.value;
  let uses = 0;
  visit(document, {
    Variable(node) {
      if (node.name.value === name) uses++;
    },
  });
  // The definition of the variable counts as one use; the argument as another.
  if (uses !== 2) return variables;
  const { [name]: _cursor, ...rest } = variables;
  return rest;
}

export class LiveServer implements KeyWatch {
  readonly limits: LiveLimits;
  readonly fanout: FanOut;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  /** What each key in use keeps open: connections, and streams iterated for other transports. */
  private readonly byKey = new Map<string, Set<KeyHolder>>();
  /** One string per secret hash, shared by the connections that use it. */
  private readonly hashes = new Map<string, string>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly keyCheck: NodeJS.Timeout;
  private revocations: AsyncIterator<unknown> | null = null;
  private stopLocalRevocations: (() => void) | null = null;
  private closing = false;
  private openedCount = 0;
  private pingTick = 0;
  /** Each upgrade request's id, for the 101 answer's `x-request-id` and the connection. */
  private readonly upgradeIds = new WeakMap<IncomingMessage, string>();
  private readonly accessLevel: string;

  constructor(private readonly deps: LiveServerDeps) {
    this.limits = { ...DEFAULT_LIVE_LIMITS, ...deps.limits };
    this.fanout = new FanOut(deps.hub, deps.logger);
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: this.limits.maxPayloadBytes,
      handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
    });
    this.wss.on('headers', (headers, req) => {
      const id = this.upgradeIds.get(req);
      if (id) headers.push(`X-Request-Id: ${id}`);
    });
    this.accessLevel = deps.accessLogLevel ?? 'info';
    deps.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket as Duplex, head));
    this.keepAlive = setInterval(() => this.ping(), this.limits.keepAliveMs / PING_SLOTS);
    this.keepAlive.unref();
    this.keyCheck = setInterval(() => void this.checkKeys(), this.limits.keyCheckMs);
    this.keyCheck.unref();
    this.listenForRevocations();
    watchKeysOf(deps.hub, this);
  }

  get stats() {
    let operations = 0;
    for (const c of this.connections) operations += c.running?.size ?? 0;
    return { connections: this.connections.size, operations, ...this.fanout.stats };
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer) {
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/graphql') return refuse(404, 'Not Found');
    if (this.closing) return refuse(503, 'Service Unavailable');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (!offered.includes(GRAPHQL_TRANSPORT_WS_PROTOCOL)) {
      return refuse(400, `Bad Request: only the ${GRAPHQL_TRANSPORT_WS_PROTOCOL} subprotocol is spoken here`);
    }
    const id = requestIdFrom(req.headers['x-request-id']);
    this.upgradeIds.set(req, id);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.opened(ws, id));
  }

  private opened(socket: WebSocket, id: string) {
    const conn = new Connection(this, socket, this.openedCount++ % PING_SLOTS, id);
    this.connections.add(conn);
    websocketConnectionsOpened.inc();
    conn.initTimer = setTimeout(() => {
      if (!conn.initReceived) conn.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, this.limits.connectionInitTimeoutMs);
    socket.on('message', (data, isBinary) => this.message(conn, data, isBinary));
    socket.on('pong', () => {
      conn.alive = true;
    });
    socket.once('close', () => this.closed(conn));
    socket.on('error', (err) => {
      this.deps.logger.debug({ err }, 'websocket error');
      socket.terminate();
    });
  }

  private closed(conn: Connection) {
    if (conn.initTimer) clearTimeout(conn.initTimer);
    conn.stopAll();
    this.connections.delete(conn);
    if (conn.auth) this.releaseKey(conn.auth.apiKeyId, conn);
  }

  /**
   * Watches `holder` under its key until the returned function is called: the key revoked,
   * expired, rotated (when the holder knows its secret's hash) or deleted, `holder.end` is called.
   */
  holdKey(apiKeyId: string, holder: KeyHolder): () => void {
    let set = this.byKey.get(apiKeyId);
    if (!set) this.byKey.set(apiKeyId, (set = new Set()));
    set.add(holder);
    // A stream that starts while the server shuts down ends at once (a client resumes elsewhere).
    if (this.closing) holder.finish?.();
    return () => this.releaseKey(apiKeyId, holder);
  }

  private releaseKey(apiKeyId: string, holder: KeyHolder) {
    const set = this.byKey.get(apiKeyId);
    set?.delete(holder);
    if (set && set.size === 0) {
      this.byKey.delete(apiKeyId);
      if (holder.secretHash) this.hashes.delete(holder.secretHash);
    }
  }

  private message(conn: Connection, data: RawData, isBinary: boolean) {
    let message: ReturnType<typeof parseMessage>;
    try {
      if (isBinary) throw new Error('binary');
      message = parseMessage(String(data));
    } catch {
      return conn.close(CloseCode.BadRequest, 'Invalid message received');
    }
    switch (message.type) {
      case MessageType.ConnectionInit:
        return void this.init(conn, message.payload);
      case MessageType.Ping:
        return conn.send(JSON.stringify(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong }));
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        return void this.subscribe(conn, message.id, message.payload);
      case MessageType.Complete: {
        const running = conn.running?.get(message.id);
        conn.running?.delete(message.id);
        if (running) stop(running);
        return;
      }
      default:
        return conn.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
    }
  }

  private async init(conn: Connection, payload: unknown) {
    if (conn.initReceived) return conn.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
    conn.initReceived = true;
    if (conn.initTimer) clearTimeout(conn.initTimer);
    conn.initTimer = null;
    const secret = secretFromInit(payload);
    if (!secret) return conn.close(CloseCode.Forbidden, 'Forbidden: send {"apiKey": "<key>"} in connection_init');
    let auth: AuthInfo;
    try {
      auth = await authenticate(this.deps.prisma, secret);
    } catch (err) {
      const known = err instanceof GraphQLError || (err as { extensions?: unknown })?.extensions;
      if (!known) this.deps.logger.error({ err }, 'authenticating a websocket failed');
      return conn.close(CloseCode.Forbidden, `Forbidden: ${known ? (err as Error).message : 'the key could not be checked'}`);
    }
    if (!conn.open) return;
    conn.auth = auth;
    const hash = hashSecret(secret);
    conn.secretHash = this.hashes.get(hash) ?? (this.hashes.set(hash, hash), hash);
    this.holdKey(auth.apiKeyId, conn);
    conn.send(JSON.stringify({ type: MessageType.ConnectionAck }));
  }

  sendError(conn: Connection, id: string, errors: readonly unknown[]) {
    const masked = errors.map((e) => this.deps.maskError(e, 'Unexpected error.'));
    conn.send(JSON.stringify({ id, type: MessageType.Error, payload: masked.map((e) => (e instanceof GraphQLError ? e.toJSON() : { message: e.message })) }));
  }

  private sendResult(conn: Connection, id: string, result: ExecutionResult) {
    conn.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${JSON.stringify(this.masked(result))}}`);
  }

  private complete(conn: Connection, id: string, token: Running) {
    if (conn.running?.get(id) !== token) return;
    conn.running.delete(id);
    conn.send(JSON.stringify({ id, type: MessageType.Complete }));
  }

  private masked(result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    return { ...result, errors: result.errors.map((e) => this.deps.maskError(e, 'Unexpected error.') as GraphQLError) };
  }

  private async subscribe(conn: Connection, id: string, payload: SubscribePayload) {
    if (!conn.auth) return conn.close(CloseCode.Unauthorized, 'Unauthorized');
    conn.running ??= new Map();
    if (conn.running.has(id)) return conn.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
    const record = new OperationRecord('websocket', payload.operationName ?? null);
    const requestId = randomUUID();
    const done = (context: object | null, errors?: readonly unknown[]) => {
      // Before execution the connection's key is what is known of the caller.
      if (record.finish((context ?? { auth: conn.auth }) as Partial<Context>, errors)) {
        logLiveOperation(this.deps.logger, this.accessLevel, record, { requestId, connectionId: conn.id });
      }
    };
    if (conn.running.size >= this.limits.maxSubscriptionsPerConnection) {
      rateLimited.inc({ limit: 'websocket_operations' });
      const message = `A connection may run at most ${this.limits.maxSubscriptionsPerConnection} operations at once; complete some or open another connection.`;
      const refusal = new GraphQLError(message, { extensions: { code: 'RATE_LIMITED', limit: this.limits.maxSubscriptionsPerConnection } });
      done(null, [refusal]);
      return this.sendError(conn, id, [refusal]);
    }
    const token = new Pending();
    conn.running.set(id, token);
    try {
      await this.operate(conn, id, payload, conn.auth, token, { record, requestId, done });
    } catch (err) {
      done(null, [err]);
      if (conn.running.get(id) === token) {
        conn.running.delete(id);
        this.sendError(conn, id, [err]);
      }
    }
  }

  private async operate(
    conn: Connection,
    id: string,
    payload: SubscribePayload,
    auth: AuthInfo,
    token: Pending,
    access: { record: OperationRecord; requestId: string; done: (context: object | null, errors?: readonly unknown[]) => void },
  ) {
    const { yoga } = this.deps;
    const { requestId, done } = access;
    const initial = { live: { auth, requestId } };
    trackOperation(initial, access.record);
    const env = yoga.getEnveloped(initial as never);
    const fail = (errors: readonly unknown[]) => {
      conn.running?.delete(id);
      done(null, errors);
      this.sendError(conn, id, errors);
    };
    let document: DocumentNode;
    try {
      document = env.parse(payload.query);
    } catch (err) {
      return fail([err]);
    }
    const errors = env.validate(env.schema, document);
    if (errors.length) return fail(errors);
    const operationName = payload.operationName ?? undefined;
    const op = getOperationAST(document, operationName);
    if (!op) return fail([new GraphQLError('Unable to identify operation')]);
    const variableValues = payload.variables ?? {};
    const contextValue = await env.contextFactory();
    const args = { schema: env.schema, document, operationName, variableValues, contextValue };

    if (op.operation !== 'subscription') {
      const result = (await env.execute(args)) as ExecutionResult;
      done(contextValue, result.errors);
      if (conn.running?.get(id) !== token) return;
      this.sendResult(conn, id, result);
      return this.complete(conn, id, token);
    }

    const result = await env.subscribe(args);
    if (!isAsyncIterable(result)) {
      done(contextValue, (result as ExecutionResult).errors);
      if (conn.running?.get(id) !== token) return;
      this.sendResult(conn, id, result as ExecutionResult);
      return this.complete(conn, id, token);
    }
    done(contextValue, []);
    const stream = liveStreamOf(contextValue);
    if (!stream) return this.iterate(conn, id, token, result as AsyncIterable<ExecutionResult>);
    // The fan-out delivers instead: the per-subscriber stream yoga built is never started.
    void (result as AsyncGenerator).return?.(undefined);
    if (conn.running?.get(id) !== token) return;
    const key = [visibilityOf(auth), operationName ?? '', JSON.stringify(sharedVariables(document, op, variableValues)), payload.query].join('\n');
    const member = await this.fanout.join(
      { key, spec: stream.spec, execute: (event) => this.executeEvent(auth, document, operationName, variableValues, event) },
      stream.spec.after,
      new SocketSink(conn, id),
    );
    if (conn.running?.get(id) !== token || !conn.open) return member.leave();
    conn.running.set(id, member);
  }

  /** A subscription field that is not backed by the live hub: one execution per subscriber. */
  private async iterate(conn: Connection, id: string, token: Pending, results: AsyncIterable<ExecutionResult>) {
    const iterator = results[Symbol.asyncIterator]();
    const handle = { stop: () => void iterator.return?.() };
    if (conn.running?.get(id) !== token) return handle.stop();
    conn.running.set(id, handle);
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      if (conn.running?.get(id) !== handle) return;
      this.sendResult(conn, id, r.value);
      deliveredTo('websocket');
    }
    this.complete(conn, id, handle);
  }

  /**
   * One execution of a subscription's operation for an event, shared by its whole group (and
   * by every webhook endpoint of one visibility and payload document).
   */
  async executeEvent(
    auth: AuthInfo,
    document: DocumentNode,
    operationName: string | undefined,
    variableValues: Record<string, unknown>,
    event: LiveEvent,
    /**
     * Contexts to share between the events of one batch (the webhook dispatcher's): their loaders
     * then read the rows of several events in one statement, and a row once per batch. Without
     * it, a fresh context per event, as per request: per-request loaders must not serve stale rows.
     */
    share?: Map<string, Promise<unknown>>,
  ) {
    const contextOf = async () => {
      const env = this.deps.yoga.getEnveloped({ live: { auth, requestId: `live:${event.eventId}` } } as never);
      return { schema: env.schema, contextValue: await env.contextFactory() };
    };
    const key = `${auth.workspaceId}\n${auth.kind}\n${auth.userId ?? ''}\n${[...auth.scopes].sort().join(',')}`;
    let made = share?.get(key) as ReturnType<typeof contextOf> | undefined;
    if (!made) {
      made = contextOf();
      share?.set(key, made);
    }
    const { schema, contextValue } = await made;
    const result = await executeGraphQL({ schema, document, operationName, variableValues, rootValue: event, contextValue });
    return this.masked(result);
  }

  /**
   * Each socket is pinged once per keep-alive interval, a tenth of them at each tick: tens of
   * thousands of pings (and their pongs) at once would hold up the events.
   */
  private ping() {
    const slot = this.pingTick++ % PING_SLOTS;
    for (const conn of this.connections) {
      if (conn.pingSlot !== slot) continue;
      if (!conn.alive) {
        conn.socket.terminate();
        continue;
      }
      conn.alive = false;
      if (conn.open) conn.socket.ping();
    }
  }

  /** Closes the connections (and ends the streams) of keys that were revoked, expired, rotated or deleted since they connected. */
  async checkKeys(): Promise<void> {
    if (this.byKey.size === 0) return;
    const ids = [...this.byKey.keys()];
    try {
      const now = new Date();
      // Keys of every workspace this process serves, by id: the authentication path, not a tenant query.
      const rows = await this.deps.prisma.apiKey.findMany({
        where: { id: { in: ids } },
        select: { id: true, revokedAt: true, expiresAt: true, secretHash: true },
      });
      const keys = new Map(rows.map((k) => [k.id, k]));
      for (const id of ids) {
        const key = keys.get(id);
        if (!key) this.closeKey(id, 'The API key no longer exists.');
        else if (key.revokedAt && key.revokedAt <= now) this.closeKey(id, 'The API key has been revoked.');
        else if (key.expiresAt && key.expiresAt <= now) this.closeKey(id, 'The API key has expired.');
        else this.closeKey(id, 'The API key has been rotated: connect with its new secret.', (h) => h.secretHash !== null && h.secretHash !== key.secretHash);
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'checking the keys of live connections failed');
    }
  }

  private closeKey(apiKeyId: string, reason: string, which: (h: KeyHolder) => boolean = () => true) {
    const set = this.byKey.get(apiKeyId);
    if (!set) return;
    for (const holder of set) if (which(holder)) holder.end(reason);
  }

  private listenForRevocations() {
    this.stopLocalRevocations = onLocalRevocation((apiKeyId) => this.closeKey(apiKeyId, 'The API key has been revoked.'));
    const iterator = this.deps.events.pubsub.subscribe(KEY_REVOKED_TOPIC)[Symbol.asyncIterator]();
    this.revocations = iterator;
    void (async () => {
      for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
        this.closeKey(r.value.apiKeyId, 'The API key has been revoked.');
      }
    })().catch((err) => this.deps.logger.warn({ err }, 'key revocations stopped'));
  }

  /**
   * Shutdown: refuse new connections; deliver every event committed so far (in-flight ones
   * included); let the sockets flush; close them with 1001 (going away), which graphql-ws
   * clients retry, on another process, resuming with `after`. Streams iterated for other
   * transports (GraphQL over SSE) get the same events, then complete: their responses end
   * with SSE's `complete` event instead of holding the shutdown until its deadline.
   */
  async close(deadline: number): Promise<void> {
    this.closing = true;
    clearInterval(this.keepAlive);
    clearInterval(this.keyCheck);
    void this.revocations?.return?.();
    this.stopLocalRevocations?.();
    try {
      await beforeDeadline(
        (async () => {
          await this.deps.hub.catchUp(deadline);
          await this.fanout.settled();
        })(),
        deadline,
      );
    } catch (err) {
      this.deps.logger.warn({ err }, 'delivering the last live events failed');
    }
    for (const holders of this.byKey.values()) for (const h of holders) h.finish?.();
    while (Date.now() < deadline && [...this.connections].some((c) => c.open && c.socket.bufferedAmount > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const closedAll = Promise.all(
      [...this.connections].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.socket.readyState === 3) return resolve();
            c.socket.once('close', () => resolve());
            c.stopAll();
            c.close(1001, 'Going away: the server is shutting down');
          }),
      ),
    );
    await beforeDeadline(closedAll, Math.max(deadline, Date.now() + 100));
    for (const c of this.connections) c.socket.terminate();
    this.wss.close();
  }
}
