// The server side of the fan-out benchmark (bench/fanout.ts starts it): one Parley process,
// as deployed, plus a little instrumentation over IPC: when each event reaches the live
// layer (the publish time deliveries are measured from), its heap and RSS after a full GC,
// and how many subscriptions it holds.
import { startParley } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { seedWorkspace } from '../test/support/seed.js';

type Request = { id: number; type: 'memory' | 'stats' | 'stop' };

const send = (message: unknown) => process.send!(message);
const now = () => performance.timeOrigin + performance.now();

async function main() {
  const config = loadConfig({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    SEED_DEMO: 'false',
    DATA_DIR: process.env.DATA_DIR ?? 'memory://',
    // One key holds every subscription here: its cost budget is not what is measured.
    COST_BUDGET_PER_MINUTE: '0',
  });
  const app = await startParley(config);
  const ws = await seedWorkspace(app.db.prisma, 'Fan-out bench');
  // The publish time of each event, as the live layer receives it.
  await app.parley.live.fanout.hub.listen(ws.workspaceId, (e) => send({ type: 'published', seq: e.cursor, at: now() }));

  process.on('message', async (m: Request) => {
    if (m.type === 'memory') {
      for (let i = 0; i < 3; i++) {
        global.gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
      const { heapUsed, rss } = process.memoryUsage();
      send({ id: m.id, heapUsed, rss });
    } else if (m.type === 'stats') {
      send({ id: m.id, ...app.parley.live.stats, cpu: process.cpuUsage() });
    } else if (m.type === 'stop') {
      // Exit (which writes a --cpu-prof profile) even if a clean stop takes long.
      setTimeout(() => process.exit(0), 5000).unref();
      await app.stop();
      process.exit(0);
    }
  });
  send({ type: 'ready', url: app.url, key: ws.key, workspaceId: ws.workspaceId, inboxId: ws.inboxes.whatsapp.id, gc: typeof global.gc === 'function' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
