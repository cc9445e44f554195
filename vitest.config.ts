import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal native runtime segfaults under worker threads; forks are safe.
    pool: 'forks',
    globalSetup: ['./test/helpers/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    // The fault suite owns and kills its processes: `npm run test:fault` runs it on its own.
    exclude: [...configDefaults.exclude, 'test/fault/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more forks than that only adds contention for the dev server.
    maxWorkers: 2,
  },
});
