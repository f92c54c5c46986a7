// The client side of the fan-out benchmark (bench/fanout.ts starts several): thousands of
// graphql-ws (graphql-transport-ws) subscribers from one source address, speaking the
// protocol directly over `ws` so that the clients cost as little CPU as possible. Each
// records when every `next` message arrives; the orchestrator subtracts the publish time.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

interface Plan {
  url: string;
  key: string;
  query: string;
  variables: Record<string, unknown>;
  connections: number;
  subscriptions: number;
  localAddress: string;
}

const plan = JSON.parse(process.env.FANOUT_PLAN!) as Plan;
const now = () => performance.timeOrigin + performance.now();
const send = (m: unknown) => process.send!(m);

let received = new Float64Array(plan.subscriptions * 2);
let count = 0;
let failures = 0;
const sockets: WebSocket[] = [];

function open(index: number): Promise<void> {
  const subs = index < plan.subscriptions - plan.connections ? 2 : 1;
  return new Promise((resolve) => {
    const ws = new WebSocket(plan.url, 'graphql-transport-ws', { localAddress: plan.localAddress, perMessageDeflate: false });
    sockets.push(ws);
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { apiKey: plan.key } })));
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"id"')) {
        if (count < received.length) received[count] = now();
        count++;
        return;
      }
      const m = JSON.parse(text);
      if (m.type === 'connection_ack') {
        // Ids as graphql-ws clients make them (UUIDs): every socket's frames are its own.
        for (let s = 1; s <= subs; s++) ws.send(JSON.stringify({ id: randomUUID(), type: 'subscribe', payload: { query: plan.query, variables: plan.variables } }));
        done();
      } else if (m.type === 'ping') {
        ws.send(JSON.stringify({ type: 'pong' }));
      }
    });
    ws.on('error', () => {
      failures++;
      done();
    });
    ws.on('close', (code) => {
      if (code !== 1000 && code !== 1001) failures++;
      done();
    });
  });
}

async function main() {
  const PARALLEL = 200;
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < plan.connections) await open(next++);
    }),
  );
  process.on('message', (m: { type: string }) => {
    if (m.type === 'arm') {
      received = new Float64Array(plan.subscriptions * 2);
      count = 0;
    } else if (m.type === 'count') {
      send({ type: 'count', count });
    } else if (m.type === 'report') {
      send({ type: 'report', count, times: Array.from(received.subarray(0, Math.min(count, received.length))), failures });
    } else if (m.type === 'stop') {
      for (const s of sockets) s.terminate();
      process.exit(0);
    }
  });
  send({ type: 'ready', connections: plan.connections, subscriptions: plan.subscriptions, failures });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
