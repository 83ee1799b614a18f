import { defineConfig } from 'vitest/config';

// Unit tests (*.test.ts) may fake; integration tests (*.itg.ts) use the real
// PostgreSQL server, s3rver on loopback and the real age/zstd/tar binaries.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/**/*.test.ts'], testTimeout: 20_000, sequence: { groupOrder: 0 } } },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.itg.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Bundles src/entries once per run, so each CLI child starts without tsx (test/helpers/cli-bundle.ts).
          globalSetup: ['test/helpers/cli-bundle.ts'],
          // Integration tests share two cores with real servers; keep them from starving each other.
          maxWorkers: 2,
          // Unit tests first (fast feedback), then the integration group.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
