// The control channel: a Unix domain socket a Parley process listens on, which other
// processes on the same machine can reach. Being able to connect proves the listener is
// alive (the kernel closes the socket when its process ends, however it ends), which a
// PID in a file cannot: PIDs are reused. The data directory lock is built on it, and the
// operator command runs through it while a server holds the data directory
// (src/control/operator.ts).
//
// The protocol is one line each way: the client sends a command name, optionally followed
// by a space and one JSON value (its arguments), and the server answers one line of JSON and
// closes. `who` answers who is listening. A request the server cannot take (an unknown
// command, malformed JSON, a line that is too long) is answered `{"error": "..."}`; so is a
// handler that fails, with its message only.
//
// Only the user the server runs as may connect: on Linux, connecting needs write permission
// on the socket file, and the socket is created owner-only (0600).
import { chmodSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Sockets paths are limited by the kernel (sun_path, 108 bytes on Linux, 104 on macOS). */
export const MAX_SOCKET_PATH_BYTES = 100;

/** The longest request line: operator commands carry their options as JSON, a few hundred bytes in practice. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** The socket file's mode: the server's user only. */
export const CHANNEL_MODE = 0o600;

/** A connection that sends no complete request line in this time is dropped (it would hold a socket forever). */
const REQUEST_LINE_TIMEOUT_MS = 10_000;

/** Answers a request; `payload` is the parsed JSON after the command name (undefined without one). */
export type ControlHandler = (payload: unknown) => unknown;

export interface Who {
  pid: number;
  version: string;
  startedAt: string;
}

export interface ControlChannel {
  /** The path the socket was bound to. */
  readonly path: string;
  /** Answers `command` with the JSON of what `handler` returns; the function returned stops answering it. */
  handle(command: string, handler: ControlHandler): () => void;
  /** Stops listening (and removes the bound path). */
  close(): Promise<void>;
}

/** A request through a control channel got no usable answer. `listening` is false when nothing listens at the path. */
export class ControlChannelError extends Error {
  constructor(
    message: string,
    readonly listening: boolean,
  ) {
    super(message);
  }
}

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const shown = (s: string) => (s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** The answer to one request line: the handler's result, or `{ error }` for what cannot be handled. */
function dispatch(handlers: Map<string, ControlHandler>, line: string): unknown {
  const space = line.search(/\s/);
  const command = space < 0 ? line : line.slice(0, space);
  const rest = space < 0 ? '' : line.slice(space).trim();
  const handler = handlers.get(command);
  if (!handler) return { error: command ? `unknown command "${shown(command)}"` : 'no command given' };
  let payload: unknown;
  if (rest) {
    try {
      payload = JSON.parse(rest);
    } catch (err) {
      return { error: `malformed JSON after "${command}": ${messageOf(err)}` };
    }
  }
  return handler(payload);
}

/** Serves one connection: reads its request line, answers it, closes. Nothing a client sends can throw out of here. */
function serveConnection(socket: Socket, handlers: Map<string, ControlHandler>) {
  let buffer: Buffer = Buffer.alloc(0);
  const answer = (value: unknown) => {
    if (socket.destroyed) return;
    let line: string;
    try {
      line = JSON.stringify(value ?? null);
    } catch (err) {
      line = JSON.stringify({ error: `the answer could not be written: ${messageOf(err)}` });
    }
    socket.end(`${line}\n`);
  };
  socket.on('error', () => socket.destroy());
  socket.setTimeout(REQUEST_LINE_TIMEOUT_MS, () => socket.destroy());
  const onData = (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    const nl = buffer.indexOf(0x0a);
    if (nl < 0 && buffer.length <= MAX_REQUEST_BYTES) return;
    socket.off('data', onData);
    socket.setTimeout(0);
    if (nl < 0 || nl > MAX_REQUEST_BYTES) return answer({ error: `the request line is longer than ${MAX_REQUEST_BYTES} bytes` });
    const line = buffer.subarray(0, nl).toString('utf8').trim();
    buffer = Buffer.alloc(0);
    Promise.resolve()
      .then(() => dispatch(handlers, line))
      .then(answer, (err) => answer({ error: messageOf(err) }));
  };
  socket.on('data', onData);
}

/**
 * Runs `bind` with a umask that leaves the socket it creates owner-only from its first moment
 * (before the chmod that follows, which alone would leave an instant open). Worker threads
 * cannot change the umask: there the chmod alone does it.
 */
function withPrivateUmask(bind: () => void): void {
  let previous: number | undefined;
  try {
    previous = process.umask(0o177);
  } catch {
    previous = undefined;
  }
  try {
    bind();
  } finally {
    if (previous !== undefined) process.umask(previous);
  }
}

/** Listens on `path`, which must not exist yet (EADDRINUSE otherwise); the socket is owner-only (CHANNEL_MODE). */
export function openChannel(path: string): Promise<ControlChannel> {
  const handlers = new Map<string, ControlHandler>();
  const startedAt = new Date().toISOString();
  handlers.set('who', (): Who => ({ pid: process.pid, version: VERSION, startedAt }));
  const server: Server = createServer((socket) => serveConnection(socket, handlers));
  // The channel must never keep a process alive on its own, nor delay its exit.
  server.unref();
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((done) => {
      server.close(() => done());
    }));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    withPrivateUmask(() =>
      server.listen(path, () => {
        server.off('error', reject);
        try {
          chmodSync(path, CHANNEL_MODE);
        } catch (err) {
          void close().then(() => reject(err));
          return;
        }
        resolve({
          path,
          handle: (command, handler) => {
            handlers.set(command, handler);
            return () => {
              if (handlers.get(command) === handler) handlers.delete(command);
            };
          },
          close,
        });
      }),
    );
  });
}

type Exchange = { connected: false; code: string | undefined; error: Error } | { connected: true; answer: unknown; problem?: string };

/**
 * Sends one request line to the channel at `path` and waits for the answer line. Never
 * rejects: says whether a listener accepted the connection, and what it answered.
 */
function exchange(path: string, line: string, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = createConnection({ path });
    let connected = false;
    let data = '';
    let done = false;
    const finish = (outcome: Exchange) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ connected: true, answer: undefined, problem: `no answer within ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${line}\n`);
    });
    socket.on('data', (chunk: string) => {
      data += chunk;
      const nl = data.indexOf('\n');
      if (nl < 0) return;
      try {
        finish({ connected: true, answer: JSON.parse(data.slice(0, nl)) });
      } catch {
        finish({ connected: true, answer: undefined, problem: 'the answer was not JSON' });
      }
    });
    socket.on('end', () => finish({ connected: true, answer: undefined, problem: 'the connection closed without an answer' }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return finish({ connected: true, answer: undefined, problem: err.message });
      finish({ connected: false, code: err.code, error: err });
    });
  });
}

export type Probe = { alive: true; answer: unknown } | { alive: false };

/**
 * Connects to the channel at `path` and sends `command`. Alive when the connection is
 * accepted (the answer is then best effort: `undefined` if none came within `timeoutMs`);
 * not alive when nothing listens there (no such file, or connection refused: a socket file
 * left by a process that ended).
 */
export async function probeChannel(path: string, command = 'who', timeoutMs = 3_000): Promise<Probe> {
  const outcome = await exchange(path, command, timeoutMs);
  if (outcome.connected) return { alive: true, answer: outcome.answer };
  if (outcome.code === 'ECONNREFUSED' || outcome.code === 'ENOENT') return { alive: false };
  // A full backlog: somebody is listening.
  if (outcome.code === 'EAGAIN') return { alive: true, answer: undefined };
  throw outcome.error;
}

/**
 * Sends `command` with `payload` (as JSON) and resolves with the answer. Rejects with a
 * ControlChannelError when nothing listens, when no answer comes within `timeoutMs`, and when
 * the server answers `{ error }` (it could not take the request).
 */
export async function requestChannel(path: string, command: string, payload: unknown, timeoutMs: number): Promise<unknown> {
  const line = payload === undefined ? command : `${command} ${JSON.stringify(payload)}`;
  if (Buffer.byteLength(line) > MAX_REQUEST_BYTES) throw new ControlChannelError(`the request is longer than ${MAX_REQUEST_BYTES} bytes`, true);
  const outcome = await exchange(path, line, timeoutMs);
  if (!outcome.connected) throw new ControlChannelError(`nothing listens on ${path} (${outcome.code ?? outcome.error.message})`, false);
  if (outcome.problem) throw new ControlChannelError(`${path}: ${outcome.problem}`, true);
  const answer = outcome.answer as { error?: unknown } | null;
  if (answer && typeof answer === 'object' && typeof answer.error === 'string') throw new ControlChannelError(answer.error, true);
  return outcome.answer;
}
