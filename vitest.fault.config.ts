import { defineConfig } from 'vitest/config';

/**
 * `npm run test:fault`: the fault suite (issue 11; DESIGN.md Decision 8). Each file owns its
 * processes (worker children, a database cluster, a Temporal dev server) and kills them on
 * purpose, so files run one at a time, and each test is bounded to about three minutes.
 */
export default defineConfig({
  test: {
    // The Temporal native runtime segfaults under worker threads; forks are safe.
    pool: 'forks',
    globalSetup: ['./test/helpers/global-setup.ts'],
    include: ['test/fault/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 240_000,
    hookTimeout: 180_000,
    teardownTimeout: 60_000,
  },
});
