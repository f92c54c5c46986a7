// Wiring: yoga on Node's http server, /healthz, /readyz and /metrics beside /graphql,
// GraphiQL and its files for browsers (src/http/graphiql.ts), authentication in the context
// factory, unexpected errors masked and logged, an access log line per request
// (src/access-log.ts) with its id echoed in `x-request-id`, the public survey page
// (src/http/survey-page.ts), and GraphQL over WebSocket
// (src/subscriptions/websocket.ts) on the same port and path.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import { beginRequest, logRequest, operationRecording, requestIdOf } from './access-log.js';
import { buildContext, type AppDeps, type Context } from './context.js';
import { isGraphQLError } from './errors.js';
import { graphiqlRoute } from './http/graphiql.js';
import { queryPlanner } from './planner/plugin.js';
import { surveyPageRoute } from './http/survey-page.js';
import { SURVEY_PATH_PREFIX } from './services/surveys.js';
import type { PrismaClient } from './generated/prisma/client.js';
import { schema } from './schema/index.js';
import { securityPlugins, DEFAULT_LIMITS, type Limits } from './security/plugins.js';
import type { Budget } from './security/budget.js';
import { httpRequests, routeLabel, serveMetrics } from './metrics.js';
import { KEY_REVOKED_TOPIC } from './pubsub.js';
import { AuthCache, authenticate, secretFromHeaders } from './services/auth.js';
import { authenticatePlatform, isPlatformSecret } from './services/platform.js';
import { LiveHub } from './subscriptions/hub.js';
import { onLocalRevocation } from './subscriptions/live-stream.js';
import { beforeDeadline, LiveServer, type LiveInitialContext, type LiveLimits } from './subscriptions/websocket.js';
import { SCHEMA_VERSION, SCHEMA_VERSION_HEADER, SERVER_VERSION, VERSION_HEADER } from './version.js';

/** Answers 413 to a body over the limit; the connection closes once the answer is sent. */
function refuseTooLarge(res: ServerResponse, limit: number): void {
  if (res.headersSent) return;
  res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
  res.end(JSON.stringify({ errors: [{ message: `The request body exceeds ${limit} bytes.`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }] }));
}

/**
 * Reads a body sent without Content-Length (chunked) into memory, up to the limit: the body, or
 * 'too large' as soon as it grows past the limit (the rest is discarded), or 'gone' when the
 * client goes away before it ends. Read here rather than by yoga: a body cut off while yoga
 * reads it fails inside yoga, which logs the refusal of a client's request as internal errors.
 */
function readCappedBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too large' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const finish = (body: Buffer | 'too large' | 'gone') => {
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      if (!Buffer.isBuffer(body)) req.on('error', () => {}).resume();
      resolve(body);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) finish('too large');
      else chunks.push(chunk);
    };
    const onEnd = () => finish(Buffer.concat(chunks, seen));
    const onGone = () => finish('gone');
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

export interface ParleyOptions extends AppDeps {
  graphiql?: boolean;
  /** Checks that the database answers and the migrations are applied, for /readyz. */
  ready?: () => Promise<boolean>;
  limits?: Limits;
  /** The per-key cost budget; null turns it off. */
  budget?: Budget | null;
  maxBodyBytes?: number;
  maxBatch?: number;
  /** WebSocket limits (payload size, operations per connection, timeouts). */
  liveLimits?: Partial<LiveLimits>;
  /** How long an authenticated key is remembered (0: looked up on every request). */
  authCacheMs?: number;
  /** The bearer token /metrics asks for; without one there is no /metrics. */
  metricsToken?: string;
  /** The level of access log lines ("silent": none). */
  accessLogLevel?: string;
  /** Answer the queries it knows with one planned statement (src/planner/); on unless false. */
  queryPlanner?: boolean;
}

export interface Parley {
  yoga: YogaServerInstance<LiveInitialContext, Context>;
  server: Server;
  /** The WebSocket side: graphql-ws connections and the shared delivery of live events. */
  live: LiveServer;
  /** Stop accepting, let in-flight requests finish (up to timeoutMs), then resolve. */
  drain(timeoutMs: number): Promise<void>;
  /** HTTP requests being answered now (background workers give way to them: RequestPressure). */
  requestsInFlight(): number;
}

export function createParley(opts: ParleyOptions): Parley {
  const { prisma, logger } = opts;
  const hub = new LiveHub({ prisma, events: opts.events, logger });
  const deps: AppDeps = { ...opts, live: hub };
  const maskError = (error: unknown, message: string) => {
    // A GraphQLError (thrown as such, or wrapping one) is expected: it carries its code.
    const original = isGraphQLError(error) ? error.originalError : error;
    if (isGraphQLError(error) && (!original || isGraphQLError(original))) return error;
    const errorId = randomUUID();
    const requestId = original && typeof original === 'object' ? requestOfError.get(original) : undefined;
    logger.error({ err: original, errorId, requestId }, 'unexpected error');
    return new GraphQLError(message, {
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId, ...(requestId ? { requestId } : {}) },
      path: isGraphQLError(error) ? error.path : undefined,
    });
  };
  // Errors are masked after execution, where the request is no longer known: each
  // unexpected one is first tagged with its request's id, for the log line and the answer.
  const requestOfError = new WeakMap<object, string>();
  const tagUnexpectedErrors: Plugin<Context> = {
    onExecute: ({ args }) => ({
      onExecuteDone: ({ result }) => {
        if (isAsyncIterable(result)) return;
        for (const e of result.errors ?? []) {
          if (e.originalError && !isGraphQLError(e.originalError)) requestOfError.set(e.originalError, (args.contextValue as Context).requestId);
        }
      },
    }),
  };
  // Revoked and rotated keys leave the cache at once (in every process, with Redis).
  const authCache = new AuthCache(opts.authCacheMs ?? 0);
  const revocations = opts.events.pubsub.subscribe(KEY_REVOKED_TOPIC)[Symbol.asyncIterator]();
  void (async () => {
    for (let r = await revocations.next(); !r.done; r = await revocations.next()) authCache.dropKey(r.value.apiKeyId);
  })().catch((err) => logger.warn({ err }, 'key revocations stopped reaching the auth cache'));
  // A key revoked or rotated by this process leaves the cache before the mutation answers, not
  // after the publication's round trip through Redis: the old secret's next request is refused.
  const stopLocalRevocations = onLocalRevocation((apiKeyId) => authCache.dropKey(apiKeyId));

  const yoga = createYoga<LiveInitialContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    plugins: [
      operationRecording() as Plugin<Context>,
      tagUnexpectedErrors,
      // Before the security plugins: their cost checks run first, and their timeout wraps it.
      ...(opts.queryPlanner === false ? [] : [queryPlanner()]),
      ...securityPlugins(opts.limits ?? DEFAULT_LIMITS, opts.budget ?? null),
    ],
    batching: { limit: opts.maxBatch ?? 10 },
    // yoga's CORS defaults otherwise (any origin); a browser reads only the response headers it
    // is told it may, and a client of another origin needs the versions and the request id too.
    cors: { exposedHeaders: [VERSION_HEADER, SCHEMA_VERSION_HEADER, 'x-request-id'] },
    // Served by Parley's own route (below), not by yoga, whose page loads its files from a CDN.
    graphiql: false,
    logging: {
      debug: (...a) => logger.debug(a.map(String).join(' ')),
      info: (...a) => logger.info(a.map(String).join(' ')),
      warn: (...a) => logger.warn(a.map(String).join(' ')),
      error: (...a) => logger.error(a.map(String).join(' ')),
    },
    context: async ({ request, live, req }) => {
      // An operation over WebSocket: the connection authenticated in connection_init.
      if (live) return buildContext(deps, live.auth, live.requestId);
      const requestId = requestIdOf(req) ?? randomUUID();
      const secret = secretFromHeaders(request.headers);
      // A platform key: no workspace, only the platform's fields (src/schema/platform.ts).
      if (secret && isPlatformSecret(secret)) return buildContext(deps, null, requestId, await authenticatePlatform(prisma as PrismaClient, secret));
      const auth = secret ? await authenticate(prisma as PrismaClient, secret, new Date(), authCache) : null;
      return buildContext(deps, auth, requestId);
    },
    maskedErrors: { maskError },
  });

  const graphiql = opts.graphiql === false ? null : graphiqlRoute({ title: 'Parley', endpoint: '/graphql', logger });

  const surveyPage = surveyPageRoute({ prisma: prisma as PrismaClient, pubsub: opts.events.pubsub, logger, onCommit: opts.onCommit });

  const maxBodyBytes = opts.maxBodyBytes ?? 512 * 1024;
  const tooLarge = (res: ServerResponse, path: string | undefined) => {
    // A client's mistake (or an attack), refused as such: not an error of the server.
    logger.info({ path, limit: maxBodyBytes }, 'request body over the size limit refused with 413');
    refuseTooLarge(res, maxBodyBytes);
  };
  const accessLevel = opts.accessLogLevel ?? 'info';
  // Probes and scrapes that succeed come every few seconds: a level lower, unless the access log is off.
  const probeLevel = accessLevel === 'silent' || logger.levels.values[accessLevel]! < logger.levels.values.debug! ? accessLevel : 'debug';
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const record = beginRequest(req);
    res.setHeader('x-request-id', record.requestId);
    // Every answer of the GraphQL endpoint says which server and schema gave it, refusals too.
    if (path === '/graphql') {
      res.setHeader(VERSION_HEADER, SERVER_VERSION);
      res.setHeader(SCHEMA_VERSION_HEADER, String(SCHEMA_VERSION));
    }
    res.once('close', () => {
      const status = res.headersSent ? res.statusCode : 0;
      const route = routeLabel(path);
      httpRequests.inc({ route, status: String(status) });
      const probe = route !== '/graphql' && route !== 'other' && status < 300;
      // A survey's token answers it: it stays out of the log.
      const logged = path.startsWith(SURVEY_PATH_PREFIX) ? `${SURVEY_PATH_PREFIX}:token` : path;
      logRequest(logger, probe ? probeLevel : accessLevel, record, { method: req.method ?? '', path: logged, status });
    });
    if (Number(req.headers['content-length'] ?? '0') > maxBodyBytes) {
      tooLarge(res, path);
      req.resume();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const ok = await (opts.ready?.() ?? Promise.resolve(true)).catch(() => false);
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'unavailable' }));
      return;
    }
    if (path === '/metrics') {
      await serveMetrics(req, res, opts.metricsToken);
      return;
    }
    if (await surveyPage.serve(req, res, path)) return;
    if (graphiql && (await graphiql.serve(req, res, path ?? '/'))) return;
    // Long-lived event streams (SSE) are not waited for at shutdown; other requests are.
    const counted = !String(req.headers.accept ?? '').includes('text/event-stream');
    if (counted) inflight++;
    try {
      if (req.headers['transfer-encoding'] && req.headers['content-length'] === undefined) {
        const body = await readCappedBody(req, maxBodyBytes);
        if (body === 'gone') return;
        if (body === 'too large') return tooLarge(res, path);
        // yoga (@whatwg-node/server) takes a body already read from `req.body`, as it does
        // behind frameworks that read bodies themselves.
        (req as IncomingMessage & { body?: Uint8Array }).body = body;
      }
      await yoga.requestListener(req, res);
    } finally {
      if (counted) inflight--;
    }
  };
  let inflight = 0;
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      logger.error({ err }, 'request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"errors":[{"message":"Unexpected error.","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
    });
  });

  const live = new LiveServer({ yoga, server, prisma, events: opts.events, hub, logger, maskError, limits: opts.liveLimits, accessLogLevel: accessLevel });

  const drain = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    void revocations.return?.();
    stopLocalRevocations();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Requests in flight (mutations among them) finish first, so that their events are
    // delivered before the WebSockets close with 1001.
    while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await live.close(deadline);
    hub.close();
    await beforeDeadline(closed, deadline);
    server.closeAllConnections();
  };

  return { yoga, server, live, drain, requestsInFlight: () => inflight };
}
