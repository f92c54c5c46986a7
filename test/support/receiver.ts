// A real HTTP receiver for webhook tests, on 127.0.0.1: it records every request and answers
// as the test says (a status, a Retry-After, or no answer at all until released).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from './process.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

export interface Answer {
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  /** Hold the request open until `release()` (a receiver that never answers). */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests on one path (each endpoint gets a path of its own). */
  on(path: string): Received[];
  /** How to answer the next requests; the default answers 200. */
  answer: (r: Received) => Answer;
  /** Requests being held open now, and the most held at once. */
  holding: number;
  maxHolding: number;
  release(): void;
  waitFor(path: string, count: number, what?: string): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const held: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    received: [],
    on: (path) => receiver.received.filter((r) => r.path === path),
    answer: () => ({ status: 200 }),
    holding: 0,
    maxHolding: 0,
    release() {
      for (const res of held.splice(0)) if (!res.writableEnded) res.end('late');
      receiver.holding = 0;
    },
    async waitFor(path, count, what) {
      await until(() => receiver.on(path).length >= count, what ?? `${count} deliveries on ${path}`, 60_000);
      return receiver.on(path);
    },
    close: () =>
      new Promise<void>((resolve) => {
        receiver.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: any = null;
      try {
        json = JSON.parse(body);
      } catch {}
      const r: Received = { path: req.url ?? '/', headers: req.headers, body, json, at: Date.now() };
      receiver.received.push(r);
      const a = receiver.answer(r);
      if (a.hang) {
        held.push(res);
        receiver.holding = held.filter((h) => !h.writableEnded && !h.destroyed).length;
        receiver.maxHolding = Math.max(receiver.maxHolding, receiver.holding);
        res.on('close', () => (receiver.holding = held.filter((h) => !h.writableEnded && !h.destroyed).length));
        return;
      }
      res.writeHead(a.status ?? 200, { 'content-type': 'text/plain', ...a.headers });
      res.end(a.body ?? 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}
