// The control channel: a Unix domain socket a Parley process listens on, which other
// processes on the same machine can reach. Being able to connect proves the listener is
// alive (the kernel closes the socket when its process ends, however it ends), which a
// PID in a file cannot: PIDs are reused. The data directory lock is built on it, and
// operator commands can be added as further requests.
//
// The protocol is one line each way: the client sends a command name, the server answers
// one line of JSON and closes. `who` answers who is listening.
import { readFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';

/** Sockets paths are limited by the kernel (sun_path, 108 bytes on Linux, 104 on macOS). */
export const MAX_SOCKET_PATH_BYTES = 100;

export type ControlHandler = () => unknown;

export interface Who {
  pid: number;
  version: string;
  startedAt: string;
}

export interface ControlChannel {
  /** The path the socket was bound to. */
  readonly path: string;
  /** Answers `command` with the JSON of what `handler` returns. */
  handle(command: string, handler: ControlHandler): void;
  /** Stops listening (and removes the bound path). */
  close(): Promise<void>;
}

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
})();

/** Listens on `path`, which must not exist yet (EADDRINUSE otherwise). */
export function openChannel(path: string): Promise<ControlChannel> {
  const handlers = new Map<string, ControlHandler>();
  const startedAt = new Date().toISOString();
  handlers.set('who', (): Who => ({ pid: process.pid, version: VERSION, startedAt }));
  const server: Server = createServer((socket) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) {
        if (buffer.length > 1024) socket.destroy();
        return;
      }
      const command = buffer.slice(0, nl).trim();
      socket.removeAllListeners('data');
      const handler = handlers.get(command);
      Promise.resolve()
        .then(() => (handler ? handler() : { error: `unknown command "${command}"` }))
        .then(
          (answer) => socket.end(`${JSON.stringify(answer ?? null)}\n`),
          (err) => socket.end(`${JSON.stringify({ error: err instanceof Error ? err.message : String(err) })}\n`),
        );
    });
  });
  // The channel must never keep a process alive on its own, nor delay its exit.
  server.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      let closing: Promise<void> | undefined;
      resolve({
        path,
        handle: (command, handler) => void handlers.set(command, handler),
        close: () =>
          (closing ??= new Promise<void>((done) => {
            server.close(() => done());
          })),
      });
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
export function probeChannel(path: string, command = 'who', timeoutMs = 3_000): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path });
    let connected = false;
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ alive: true, answer: undefined });
    }, timeoutMs);
    timer.unref();
    const finish = (probe: Probe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${command}\n`);
    });
    socket.on('data', (chunk: string) => {
      data += chunk;
      const nl = data.indexOf('\n');
      if (nl < 0) return;
      let answer: unknown;
      try {
        answer = JSON.parse(data.slice(0, nl));
      } catch {
        answer = undefined;
      }
      finish({ alive: true, answer });
    });
    socket.on('end', () => finish({ alive: true, answer: undefined }));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (connected) return finish({ alive: true, answer: undefined });
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') return finish({ alive: false });
      // A full backlog: somebody is listening.
      if (err.code === 'EAGAIN') return finish({ alive: true, answer: undefined });
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
  });
}
