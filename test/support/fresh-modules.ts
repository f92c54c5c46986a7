// Run before each test file (vitest.config.ts, setupFiles). Test files share their worker
// process (isolate: false), and vitest 4 then keeps the modules a file evaluated for the next
// one: src/'s module state (metrics label sets, listeners, caches, the data-directory locks) and
// test/support/'s per-file hooks would carry over. Forgetting them here makes each file evaluate
// src/ and test/ anew, as in a fresh process; the packages under node_modules (Node's own module
// cache) and compiled WebAssembly stay loaded, which is the saving.
import { vi } from 'vitest';

vi.resetModules();
