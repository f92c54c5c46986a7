// A process that takes the data directory lock and holds it until it is killed: the tests
// SIGKILL it to leave the stale state a crashed owner leaves.
import { lockDataDir } from '../../src/db/data-dir-lock.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: lock-holder.ts <dir>');
await lockDataDir(dir);
process.stdout.write(`locked ${process.pid}\n`);
setInterval(() => {}, 1 << 30);
