import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The end-to-end suites share nft namespaces and CPU-bound child processes: keep it steady on 2 cores.
    maxWorkers: 2,
  },
});
