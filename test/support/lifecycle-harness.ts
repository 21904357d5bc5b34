import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { locateTestServer } from '../../cli/local-tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { quietTemporalLogs, testConfig, workflowBundle } from './lifecycle-helpers';

export { awaitingApproval, quietTemporalLogs, testConfig, waitForState, workflowBundle } from './lifecycle-helpers';

/**
 * Environment overrides of the worker's config, or a function giving them when the worker starts
 * (for servers a test file starts in an earlier beforeAll, whose ports are known only then).
 */
export type Overrides = Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);

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
export function useDevServerWorker(overrides: Overrides = {}): DevServerWorker {
  const t = useWorkerOn(() => TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') }), overrides);
  afterEach(async () => {
    for await (const r of t.env.client.workflow.list({ query: `TaskQueue = '${t.config.taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await t.env.client.workflow.getHandle(r.workflowId, r.runId).terminate('test cleanup').catch(() => undefined);
    }
  });
  return t;
}

/**
 * Starts the pinned Java time-skipping server of its own, with driftplane's search attributes (it
 * knows only a fixed set; AddSearchAttributes is there, ListSearchAttributes and list queries are
 * not), and a driftplane worker on it for the file's tests. Long timers pass in seconds.
 */
export function useTimeSkippingWorker(overrides: Overrides = {}): DevServerWorker {
  return useWorkerOn(async () => {
    const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: locateTestServer() } } });
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
    return env;
  }, overrides);
}

/** A worker on the environment `makeEnv` gives, started before the file's tests and stopped after them. */
function useWorkerOn(makeEnv: () => Promise<TestWorkflowEnvironment>, overrides: Overrides): DevServerWorker {
  const t = {} as DevServerWorker;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    await quietTemporalLogs();
    t.env = await makeEnv();
    t.config = await testConfig(t.env.address, typeof overrides === 'function' ? await overrides() : overrides);
    t.worker = await createDriftplaneWorker(t.config, { source: { workflowBundle: await workflowBundle() }, connection: t.env.nativeConnection, notifier: new ConsoleNotifier(undefined) });
    running = t.worker.worker.run();
  });
  afterAll(async () => {
    t.worker?.worker.shutdown();
    await running;
    await t.worker?.close();
    await t.env?.teardown();
  });
  return t;
}
