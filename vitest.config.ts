import { createRequire } from 'node:module';
import { configDefaults, defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) builds without an exports map. Node
    // and the Pothos/yoga packages load the CommonJS one; make the test files load the same,
    // or types built by one would be rejected by the other ("another module or realm").
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // The browser tests need Chromium: `npm run test:browser` (vitest.browser.config.ts).
    exclude: [...configDefaults.exclude, 'test/browser/**'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/fresh-modules.ts'],
    // Starting a server (in a beforeAll, or in a test that restarts one) opens a PGlite database
    // and applies the migrations: a few seconds when idle, 30 s and more with two suites and
    // other work on 2 cores. These limits are for hangs, not for speed. Tests that start child
    // processes declare longer ones (test/support/process.ts).
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    // Test files share their worker process, one after the other, instead of a new process each:
    // the packages (yoga, Prisma's runtime, PGlite and its 9 MB of WebAssembly, compiled and
    // optimised by V8) load once per worker. test/support/fresh-modules.ts makes each file
    // evaluate src/ and test/ anew, so module state does not carry over; what a file starts, it
    // stops (servers, databases, child processes: test/support/).
    isolate: false,
    reporters: ['default'],
  },
});
