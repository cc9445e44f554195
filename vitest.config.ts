import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal native runtime segfaults under worker threads; forks are safe.
    pool: 'forks',
    globalSetup: ['./test/helpers/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more forks than that only adds contention for the dev server.
    maxWorkers: 2,
  },
});
