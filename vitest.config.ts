import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

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
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    // A beforeAll that starts a server opens a PGlite database: seconds when idle, far more on a
    // busy machine. Tests that start processes declare longer timeouts (test/support/process.ts).
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
