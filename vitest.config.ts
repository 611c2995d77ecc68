import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Two cores: argon2 hashing and real servers are CPU-bound, so keep workers few.
    maxWorkers: 2,
  },
});
