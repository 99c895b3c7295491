import { defineConfig } from 'vitest/config';

// Benchmarks are not tests: `npm run bench` runs them alone, one at a time, and they write docs/benchmarks.md.
export default defineConfig({
  test: {
    include: ['test/bench/**/*.bench.ts'],
    testTimeout: 3_600_000,
    maxWorkers: 1,
  },
});
