import { temporal } from '@temporalio/proto';
import { execFileSync } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { answerFinding } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, waitForState } from '../support/lifecycle-harness';
import { workerProcesses, type WorkerProcesses } from '../support/worker-process';

// A worker killed in the middle of an activity: its heartbeats stop, and Temporal retries the
// activity on another worker within the heartbeat timeout (10 s), not after the 2-minute
// start-to-close timeout.
let procs: WorkerProcesses;

beforeAll(async () => {
  procs = await workerProcesses(inject('temporalAddress'));
});

afterAll(async () => {
  await procs?.close();
});

describe('a worker killed mid-activity', () => {
  it('has the activity retried within its heartbeat timeout', async () => {
    const { config, client } = procs;
    await seedDemoSandbox(config.planesDir, new Date());
    const first = await procs.start();
    const scan = (await client.workflow.execute('unitScan', { workflowId: `scan:checkout-web-prod:hb:${Date.now()}`, taskQueue: config.taskQueue, args: [{ unit: 'checkout-web-prod' }] })) as UnitScanResult;
    if (scan.status !== 'drift') throw new Error(`expected drift: ${JSON.stringify(scan)}`);
    const f = scan.findings[0]!;
    await waitForState(client, f.workflowId, awaitingApproval);

    // A named pipe where the live manifest was: reading it blocks (in the thread pool, so the worker's
    // event loop and its heartbeats go on) until the worker dies. The revert reads that one file (the
    // file the scan saw the resource in); the real manifest waits aside until the worker is dead.
    const fifo = path.join(config.planesDir, 'checkout-web-prod', 'actual', 'deployment-web.json');
    await rename(fifo, `${fifo}.aside`);
    execFileSync('mkfifo', [fifo]);
    await answerFinding(client, f.findingId, 'approve', { approver: 'maria.lopez@acme.example', reason: 'revert to Git' });
    const handle = client.workflow.getHandle(f.workflowId);
    const reconcileRunning = async () => (await handle.describe()).raw.pendingActivities?.find((a) => a.activityType?.name === 'reconcile' && a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) !== undefined;
    const until = async (cond: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await until(async () => reconcileRunning().catch(() => false), 30_000);
    // It stays blocked while the worker lives: heartbeats keep it alive past the heartbeat timeout.
    await new Promise((r) => setTimeout(r, 12_000));
    expect(await reconcileRunning()).toBe(true);

    await procs.kill9(first);
    const killedAt = Date.now();
    await rm(fifo);
    await rename(`${fifo}.aside`, fifo);
    await procs.start();
    const s = (await handle.result()) as LifecycleState;
    const reconciledAt = Date.parse(s.timeline.find((e) => e.event === 'reconciled')!.at);
    expect(s.outcome).toBe('RECONCILED');
    // Heartbeat timeout 10 s + retry 1 s + a worker start: well under the 2-minute start-to-close timeout.
    expect(reconciledAt - killedAt).toBeLessThan(30_000);
    const history = await handle.fetchHistory();
    const started = history.events?.find((e) => e.activityTaskStartedEventAttributes && history.events?.find((s2) => s2.eventId?.toString() === e.activityTaskStartedEventAttributes?.scheduledEventId?.toString())?.activityTaskScheduledEventAttributes?.activityType?.name === 'reconcile');
    expect(started?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
    expect(started?.activityTaskStartedEventAttributes?.lastFailure?.message ?? '').toMatch(/heartbeat/i);
  }, 120_000);
});
