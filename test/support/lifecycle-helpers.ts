/**
 * Lifecycle test helpers that need no test runner: the record-histories script uses them too
 * (vitest cannot be loaded outside its runner).
 */
import { freshPostgresUrl } from './ledger-db';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { state, type LifecycleState } from '../../workflows/messages';
import { loadConfig, type Config } from '../../workers/config';
import { workflowsPath } from '../../workers/create-worker';
import { keyedAcmeRegistry } from './approver-keys';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The workflow bundle, built once per test file (a Webpack build takes seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return (bundle ??= bundleWorkflowCode({ workflowsPath, logger: quietLogger }));
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m), log() {} };

/** A config with a unique task queue and its own temporary home, pointing at `address`. */
export async function testConfig(address: string, overrides: Record<string, string> = {}): Promise<Config> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-test-'));
  return loadConfig({
    TEMPORAL_ADDRESS: address,
    DRIFTPLANE_HOME: home,
    DRIFTPLANE_TASK_QUEUE: `test-${path.basename(home)}`,
    // The example registry with an SSH key per person: answers on production units must be signed.
    DRIFTPLANE_REGISTRY: (await keyedAcmeRegistry()).registryDir,
    DRIFTPLANE_VERIFY_INTERVAL: '1s',
    // Test files scan the same drifts on one shared server: a close in one file must not make the
    // next file's lifecycle a regression. Tests of reopening set a window.
    DRIFTPLANE_REOPEN_WINDOW: 'off',
    // Workflow tests write the ledger on the machine's real PostgreSQL, a database of their own.
    DRIFTPLANE_LEDGER_URL: await freshPostgresUrl(),
    ...overrides,
  });
}

/** Polls a lifecycle's state until `until` holds (or fails after `timeoutMs`). */
export async function waitForState(client: Client, workflowId: string, until: (s: LifecycleState) => boolean, timeoutMs = 30_000): Promise<LifecycleState> {
  const deadline = Date.now() + timeoutMs;
  let last: LifecycleState | undefined;
  for (;;) {
    try {
      last = await client.workflow.getHandle(workflowId).query(state);
      if (until(last)) return last;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${workflowId}; last stage ${last?.stage}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** True once the lifecycle waits for a person's answer. */
export const awaitingApproval = (s: LifecycleState): boolean => s.stage === 'approve' && s.route !== undefined && s.answer === undefined;

/** Temporal's core logs at WARN and above only; safe to call more than once per process. */
export async function quietTemporalLogs(): Promise<void> {
  const { DefaultLogger, Runtime } = await import('@temporalio/worker');
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

