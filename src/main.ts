// `npm start`: a Parley server. One process by default; with WORKERS > 1, a primary and that
// many worker processes on the same port (src/cluster.ts). Stops cleanly on SIGTERM and SIGINT,
// at any moment: the signal handlers come first (src/shutdown.ts), and everything else
// (src/serve.ts: Prisma, PGlite, the GraphQL server) is loaded only once they are in place.
import { setFlagsFromString } from 'node:v8';
import { handleShutdownSignals } from './shutdown.js';

const shutdown = handleShutdownSignals();

// A request allocates a lot that dies young (rows, results, the response): a young generation of
// up to 32 MB per semi-space instead of V8's 16 MB cut the inbox page's CPU by about 10 %
// (bench/cpu.ts). Left alone when the operator sets it in NODE_OPTIONS or on the command line.
if (!/max-semi-space-size/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`)) setFlagsFromString('--max-semi-space-size=32');

const { serve } = await import('./serve.js');
await serve(shutdown);
