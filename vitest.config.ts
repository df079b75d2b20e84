import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two cores: more workers only make the Redis nodes and the proxy fight for CPU.
    maxWorkers: 2,
    reporters: ['default'],
    exclude: ['**/node_modules/**', '**/.git/**', 'tmp/**'],
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Each file starts its own Redis Cluster (a few seconds) and may wait out failovers.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
