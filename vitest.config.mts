import { defineConfig } from 'vitest/config';

// The native Temporal bridge does not like worker threads: every project runs in forks.
// `unit` needs no servers. `temporal` gets one real Temporal dev server per test run (global setup).
// `chaos` gets its own. Order: `unit` (group 0), then `chaos` (group 1), then `temporal`: vitest runs
// a project with file parallelism off and no groupOrder of its own in a sequential group after all
// numbered groups. No two of them overlap.
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
          // unwritable evidence, load, tampering. They start their own dev server (global setup) and
          // run one file at a time, in a group of their own (groupOrder), so that no other project
          // disturbs their timing on a 2-core machine, nor they its.
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
