// `npm run test:browser`: the tests in test/browser/, which drive headless Chromium
// (Debian's `chromium` package) and fail when it is missing. Everything else as in
// vitest.config.ts.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/browser/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
  },
});
