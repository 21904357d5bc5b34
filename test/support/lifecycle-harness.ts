import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { quietTemporalLogs, testConfig, workflowBundle } from './lifecycle-helpers';

export { awaitingApproval, quietTemporalLogs, testConfig, waitForState, workflowBundle } from './lifecycle-helpers';

/** A worker on the run's shared dev server, for one test file. Read its fields inside tests and hooks. */
export interface DevServerWorker {
  env: TestWorkflowEnvironment;
  config: Config;
  worker: DriftplaneWorker;
}

/**
 * Starts a driftplane worker (prebuilt bundle, quiet notifier, its own task queue and home) on the
 * shared dev server before the file's tests, and stops it after them. After each test it ends any
 * lifecycle still running on that queue: ids are derived from the drift's fingerprint, so a
 * lifecycle left running would be joined by the next test's scan of the same drift.
 */
export function useDevServerWorker(overrides: Record<string, string> = {}): DevServerWorker {
  const t = {} as DevServerWorker;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    await quietTemporalLogs();
    t.env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
    t.config = await testConfig(inject('temporalAddress'), overrides);
    t.worker = await createDriftplaneWorker(t.config, { source: { workflowBundle: await workflowBundle() }, connection: t.env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
    running = t.worker.worker.run();
  });
  afterEach(async () => {
    for await (const r of t.env.client.workflow.list({ query: `TaskQueue = '${t.config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await t.env.client.workflow.getHandle(r.workflowId, r.runId).terminate('test cleanup').catch(() => undefined);
    }
  });
  afterAll(async () => {
    t.worker?.worker.shutdown();
    await running;
    await t.worker?.close();
    await t.env?.teardown();
  });
  return t;
}
