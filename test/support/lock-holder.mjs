// A process that takes the data directory lock and holds it until it is killed: the tests
// SIGKILL it to leave the stale state a crashed owner leaves. It runs the compiled lock
// (dist/, built by the global setup from src/, as `npm start` runs it): no TypeScript loader,
// about half a CPU-second less per start.
import { lockDataDir } from '../../dist/db/data-dir-lock.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: lock-holder.mjs <dir>');
await lockDataDir(dir);
process.stdout.write(`locked ${process.pid}\n`);
setInterval(() => {}, 1 << 30);
