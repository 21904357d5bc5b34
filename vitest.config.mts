import { defineConfig } from 'vitest/config';

// The native Temporal bridge does not like worker threads: every project runs in forks.
// `unit` needs no servers. `temporal` gets one real Temporal dev server per test run (global setup).
// `chaos` gets its own, and runs after the others.
export default defineConfig({
  test: {
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/activities/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'temporal',
          include: ['test/workflows/**/*.test.ts', 'test/replay/**/*.test.ts', 'test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/temporal-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // The time-skipping server is global to its environment and the machine has 2 cores: run files one at a time.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          // Chaos scenarios (test/chaos, issue 13 §5): SIGKILLed workers and servers, AWS unreachable,
          // unwritable evidence, load, tampering. They start their own dev server (global setup),
          // run one file at a time, and only after the other projects (groupOrder), so that neither
          // disturbs the other's timing on a 2-core machine.
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          globalSetup: ['test/support/chaos-global-setup.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
