import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTofuActivities } from '../../activities/tofu';
import { fakeTofuPath, isAlive, prepareScenario, removeScenarios, waitFor } from '../support/fake-tofu';
import { quietTemporalLogs } from '../support/lifecycle-harness';

// The plan runner on a real worker and the real dev server: cancelling the workflow reaches the
// activity through its heartbeats, and the hung `tofu` goes down with its whole process group.
let env: TestWorkflowEnvironment;
let tmp: string;
const leftovers: number[] = [];

beforeAll(async () => {
  await quietTemporalLogs();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'plan-cancel-'));
  mkdirSync(path.join(tmp, 'stack'), { recursive: true });
  writeFileSync(path.join(tmp, 'stack', 'main.tf'), 'resource "tfcoremock_simple_resource" "x" {}\n');
});

afterAll(async () => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  removeScenarios();
  await env?.teardown();
});

describe('runPlan on a real worker', () => {
  it('is cancelled through its heartbeats when its workflow is cancelled, and kills the hung process group', async () => {
    const taskQueue = `plan-cancel-${path.basename(tmp)}`;
    const scenario = prepareScenario({ plan: { hang: true, ignoreInterrupt: true } });
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'support', 'run-plan-workflow.ts'),
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle,
      activities: createTofuActivities({ workRoot: path.join(tmp, 'work'), killGraceMs: 500 }),
    });
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('runPlanOnce', {
        taskQueue,
        workflowId: `plan-cancel-${Date.now()}`,
        args: [{ unit: 'payments/network', workDir: path.join(tmp, 'stack'), binary: fakeTofuPath(), env: scenario.env }],
      });
      await waitFor(() => existsSync(scenario.pidFile) && readFileSync(scenario.pidFile, 'utf8').length > 0, 20_000);
      const pids = JSON.parse(readFileSync(scenario.pidFile, 'utf8')) as { pid: number; grandchild: number };
      leftovers.push(pids.pid, pids.grandchild);
      expect(isAlive(pids.pid) && isAlive(pids.grandchild)).toBe(true);

      await handle.cancel();
      const err = await handle.result().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      // The leader ignores SIGINT, so this also proves the SIGKILL after the grace period.
      await waitFor(() => !isAlive(pids.pid) && !isAlive(pids.grandchild), 10_000);
    });
  });
});
