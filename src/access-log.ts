// The access log, and the per-operation figures the metrics take from the same place: one JSON
// line per HTTP request (written when its response ends) and one per operation over WebSocket
// (when its result is sent; a subscription's when it is set up or refused).
//
// A line says who and what, never a secret: the request id, the operation's type and name, the
// time taken, the HTTP status or the GraphQL error codes, the cost, the key's visible prefix
// and the workspace id. No variables, no document, no header but the request id, no query string.
//
// Each operation gets an OperationRecord: created per operation of a request by onParams (a
// batch has several), or by the WebSocket server for its own; filled in by the envelop hooks
// that both transports run (the parsed document names the operation, the context knows the
// key and the cost); finished with its result, which also counts it in src/metrics.ts.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { getOperationAST, Kind, type DocumentNode } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from './context.js';
import type { Logger } from './logger.js';
import {
  errorCodeLabel,
  graphqlOperationDuration,
  graphqlOperationErrors,
  graphqlOperations,
  httpSubscriptions,
  operationNameLabel,
  type OperationType,
} from './metrics.js';
import { costOf } from './security/plugins.js';

/** A request id a client may choose: short, and only characters that are safe in a header and a log. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._~:+/=-]{1,128}$/;

/** The client's `x-request-id` when it is sane, else a new one. */
export function requestIdFrom(header: string | string[] | undefined | null): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && CLIENT_REQUEST_ID.test(value) ? value : randomUUID();
}

type Transport = 'http' | 'websocket';

/** What the access log and the metrics know of one GraphQL operation. */
export class OperationRecord {
  private readonly start = performance.now();
  type: OperationType = 'unknown';
  name: string | null = null;
  /** Execution (or subscription) began: the document was valid and the context built. */
  executed = false;
  /** A subscription followed over HTTP: its response goes on after the operation is set up. */
  streaming = false;
  durationMs = 0;
  errorCodes: string[] = [];
  cost: number | null = null;
  keyPrefix: string | null = null;
  workspaceId: string | null = null;
  private done = false;

  constructor(
    readonly transport: Transport,
    /** The operationName the client sent, to pick the operation out of the document. */
    private readonly requested: string | null,
  ) {}

  identify(document: DocumentNode) {
    // Several operations and no operationName (or a name that is not there): none, "unknown".
    const op = getOperationAST(document, this.requested);
    if (!op) return;
    this.type = op.operation as OperationType;
    this.name = op.name?.value ?? null;
  }

  /**
   * The operation's outcome, counted in the metrics; the log line is the caller's. Only the
   * first call counts (and returns true).
   */
  finish(context: Partial<Context> | null | undefined, errors: readonly unknown[] | undefined): boolean {
    if (this.done) return false;
    this.done = true;
    this.durationMs = performance.now() - this.start;
    this.errorCodes = [...new Set((errors ?? []).map(codeOf))];
    const auth = context?.auth;
    this.keyPrefix = auth?.keyPrefix ?? context?.platform?.keyPrefix ?? null;
    this.workspaceId = auth?.workspaceId ?? null;
    this.cost = context ? costOf(context) : null;
    const name = operationNameLabel(this.name, !!auth && this.executed);
    graphqlOperations.inc({ operation_type: this.type, operation_name: name, transport: this.transport });
    if (this.type === 'query' || this.type === 'mutation') {
      graphqlOperationDuration.observe({ operation_type: this.type, operation_name: name }, this.durationMs / 1000);
    }
    for (const code of this.errorCodes) graphqlOperationErrors.inc({ operation_type: this.type, operation_name: name, code });
    return true;
  }

  /** The fields of a log line about this operation. */
  fields(): Record<string, unknown> {
    return {
      operationType: this.type,
      ...(this.name ? { operationName: this.name.slice(0, 100) } : {}),
      ...(this.errorCodes.length ? { errorCodes: this.errorCodes } : {}),
      ...(this.cost !== null ? { cost: this.cost } : {}),
    };
  }
}

function codeOf(error: unknown): string {
  const extensions = (error as { extensions?: { code?: unknown } } | null)?.extensions;
  // An error without extensions is not a GraphQL error: it is masked as INTERNAL_SERVER_ERROR.
  return extensions ? errorCodeLabel(extensions.code) : 'INTERNAL_SERVER_ERROR';
}

/** One HTTP request: its id and the operations it carried. */
export class RequestRecord {
  readonly start = performance.now();
  readonly operations: OperationRecord[] = [];
  constructor(readonly requestId: string) {}
}

const requests = new WeakMap<IncomingMessage, RequestRecord>();
const operations = new WeakMap<object, OperationRecord>();

/** Starts the record of an HTTP request (its id from a sane `x-request-id`, else a new one). */
export function beginRequest(req: IncomingMessage): RequestRecord {
  const record = new RequestRecord(requestIdFrom(req.headers['x-request-id']));
  requests.set(req, record);
  return record;
}

/** The request id given to an HTTP request by beginRequest. */
export function requestIdOf(req: IncomingMessage | undefined): string | undefined {
  return req ? requests.get(req)?.requestId : undefined;
}

/** Follows an operation whose envelop context is `context` (the WebSocket server's operations). */
export function trackOperation(context: object, op: OperationRecord): void {
  operations.set(context, op);
}

type ServerContext = { req?: IncomingMessage };

/** The yoga plugin that records every operation, over HTTP (onParams) and WebSocket (trackOperation). */
export function operationRecording(): Plugin<Record<string, unknown>, ServerContext> {
  return {
    onParams({ params, context }) {
      const op = new OperationRecord('http', params.operationName ?? null);
      operations.set(context, op);
      const req = context.req;
      if (req) requests.get(req)?.operations.push(op);
    },
    onParse({ context }) {
      return ({ result }) => {
        const op = operations.get(context);
        if (op && result && (result as DocumentNode).kind === Kind.DOCUMENT) op.identify(result as DocumentNode);
      };
    },
    onExecute({ args }) {
      const op = operations.get(args.contextValue as object);
      if (op) op.executed = true;
    },
    onSubscribe({ args }) {
      const op = operations.get(args.contextValue as object);
      if (op) op.executed = true;
    },
    onExecutionResult({ result, context }) {
      const op = operations.get(context);
      if (!op) return;
      if (result && isAsyncIterable(result)) {
        op.streaming = true;
        httpSubscriptions.inc();
        op.finish(context as Partial<Context>, []);
      } else {
        op.finish(context as Partial<Context>, result?.errors);
      }
    },
  };
}

/** Writes a request's line, at `level` (HTTP status, time, and what its operations were). */
export function logRequest(logger: Logger, level: string, record: RequestRecord, line: { method: string; path: string; status: number }) {
  for (const op of record.operations) if (op.streaming) httpSubscriptions.dec();
  if (level === 'silent') return;
  const ops = record.operations;
  const keyed = ops.find((o) => o.keyPrefix);
  const fields: Record<string, unknown> = {
    requestId: record.requestId,
    transport: 'http',
    method: line.method,
    path: line.path.slice(0, 200),
    status: line.status,
    durationMs: round(performance.now() - record.start),
    ...(ops.length === 1 ? ops[0]!.fields() : {}),
    ...(ops.length > 1 ? { operations: ops.map((o) => o.fields()) } : {}),
    ...(keyed ? { keyPrefix: keyed.keyPrefix, workspaceId: keyed.workspaceId } : {}),
  };
  logger[level as 'info'](fields, 'request');
}

/** Writes the line of an operation over WebSocket, at `level`. */
export function logLiveOperation(logger: Logger, level: string, op: OperationRecord, ids: { requestId: string; connectionId: string }) {
  if (level === 'silent') return;
  logger[level as 'info'](
    {
      requestId: ids.requestId,
      connectionId: ids.connectionId,
      transport: 'websocket',
      durationMs: round(op.durationMs),
      ...op.fields(),
      ...(op.keyPrefix ? { keyPrefix: op.keyPrefix, workspaceId: op.workspaceId } : {}),
    },
    'websocket operation',
  );
}

const round = (ms: number) => Math.round(ms * 10) / 10;
