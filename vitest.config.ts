import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/benchPeers.ts'],
    // Model-level tests run whole forward passes on a 2-core machine (and on a software GPU in CI).
    testTimeout: 600_000,
    hookTimeout: 600_000,
    // Two cores: more forks only add contention.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
