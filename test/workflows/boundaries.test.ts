/**
 * Credential boundaries (issue 13 §2, "Two boundaries"): a control worker, worker A serving the
 * boundary of catalog-web-staging's cluster and worker B serving checkout-web-prod's, on the run's
 * dev server. What ran where is read back from Temporal itself: each ActivityTaskScheduled event
 * names its task queue, and each ActivityTaskStarted names the identity of the worker that took it.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { answerFinding } from '../support/approver-keys';
import { PROD_BOUNDARY, registryWithBoundaries, STAGING_BOUNDARY } from '../support/boundary-registry';
import {
  awaitingApproval,
  quietTemporalLogs,
  testConfig,
  waitForState,
  workflowBundle,
} from '../support/lifecycle-helpers';

const X = STAGING_BOUNDARY; // catalog-web-staging (cluster staging-use1), `boundary: auto`
const Y = PROD_BOUNDARY; // checkout-web-prod (cluster prod-euw1-a), `boundary: auto`
const EventType = temporal.api.enums.v1.EventType;

let env: TestWorkflowEnvironment;
let control: Config;
const workers: { name: string; w: DriftplaneWorker; running: Promise<void> }[] = [];

/** Each activity of a workflow run: its type, the task queue it was scheduled on, and the identity of the worker that started it. */
async function activitiesOf(
  workflowId: string,
  runId?: string,
): Promise<{ type: string; taskQueue: string; identity: string }[]> {
  const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const scheduled = new Map<string, { type: string; taskQueue: string }>();
  const ran: { type: string; taskQueue: string; identity: string }[] = [];
  // Local activities run inside a workflow task: on the workflow's queue, by the worker that completed that task.
  let workflowQueue = '?';
  let taskIdentity = '?';
  for (const e of history.events ?? []) {
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
      workflowQueue = e.workflowExecutionStartedEventAttributes?.taskQueue?.name ?? '?';
    if (e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
      taskIdentity = e.workflowTaskCompletedEventAttributes?.identity ?? '?';
    if (e.eventType === EventType.EVENT_TYPE_MARKER_RECORDED && e.markerRecordedEventAttributes?.markerName === 'core_local_activity') {
      const data = e.markerRecordedEventAttributes.details?.data?.payloads?.[0]?.data;
      const type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }).activity_type : undefined;
      ran.push({ type: type ?? '?', taskQueue: workflowQueue, identity: taskIdentity });
    }
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      const a = e.activityTaskScheduledEventAttributes!;
      scheduled.set(String(e.eventId), {
        type: a.activityType?.name ?? '?',
        taskQueue: a.taskQueue?.name ?? '?',
      });
    }
    if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const a = e.activityTaskStartedEventAttributes!;
      ran.push({ ...scheduled.get(String(a.scheduledEventId))!, identity: a.identity ?? '?' });
    }
  }
  return ran;
}

beforeAll(async () => {
  await quietTemporalLogs();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: inject('temporalAddress') });
  control = await testConfig(env.address, { DRIFTPLANE_REGISTRY: await registryWithBoundaries() });
  await seedDemoSandbox(control.planesDir, new Date());
  // One process here, three workers as three deployments would run them: the same control queue,
  // home and ledger; the control worker serves no boundary, A and B run no control worker.
  const roles: [string, Config][] = [
    ['control', control],
    ['worker-a', { ...control, control: false, boundaries: [X] }],
    ['worker-b', { ...control, control: false, boundaries: [Y] }],
  ];
  const bundle = await workflowBundle();
  for (const [name, config] of roles) {
    const w = await createDriftplaneWorker(config, {
      source: { workflowBundle: bundle },
      connection: env.nativeConnection,
      notifier: new ConsoleNotifier(undefined),
      identity: name,
    });
    workers.push({ name, w, running: w.run() });
  }
});

afterAll(async () => {
  for await (const r of env.client.workflow.list({
    query: `TaskQueue = '${control.taskQueue}' AND ExecutionStatus = 'Running'`,
  })) {
    await env.client.workflow
      .getHandle(r.workflowId, r.runId)
      .terminate('test cleanup')
      .catch(() => undefined);
  }
  for (const { w } of workers) w.shutdown();
  for (const { w, running } of workers) {
    await running;
    await w.close();
  }
  await env?.teardown();
});

async function scan(unit: string): Promise<{ scanId: string; workflowId: string; findingId: string }> {
  const scanId = `scan:${unit}:${Date.now()}`;
  const r = (await env.client.workflow.execute('unitScan', {
    workflowId: scanId,
    taskQueue: control.taskQueue,
    args: [{ unit }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  return { scanId, workflowId: r.findings[0]!.workflowId, findingId: r.findings[0]!.findingId };
}

const UNIT_ACTIVITIES = ['detectUnit', 'reconcile', 'verifyClosure', 'checkPullRequest'];

describe('credential boundaries on the dev server', () => {
  it('declares the workers it was asked for: control on the control queue, A and B on their boundary queues only', () => {
    expect(workers.map(({ name, w }) => [name, w.workers.map((q) => q.taskQueue)])).toEqual([
      ['control', [control.taskQueue]],
      ['worker-a', [`${control.taskQueue}.${X}`]],
      ['worker-b', [`${control.taskQueue}.${Y}`]],
    ]);
  });

  it("runs a unit's detect, reconcile and verify only on its boundary's worker; the lifecycle stays on the control worker", async () => {
    const f = await scan('catalog-web-staging');
    const s = (await env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');
    expect(s.timeline.find((t) => t.event === 'boundary')?.detail).toBe(
      `${X}: reconcile and verify run on ${control.taskQueue}.${X}`,
    );

    const ran = [...(await activitiesOf(f.scanId)), ...(await activitiesOf(f.workflowId))];
    const onUnit = ran.filter((a) => UNIT_ACTIVITIES.includes(a.type));
    expect(onUnit.map((a) => a.type).sort()).toEqual(['detectUnit', 'reconcile', 'verifyClosure']);
    for (const a of onUnit)
      expect(a).toEqual({ type: a.type, taskQueue: `${control.taskQueue}.${X}`, identity: 'worker-a' });
    // Evidence, classification, routing, approval and the close (local activities of the lean lifecycle): the control worker, on the control queue.
    const rest = ran.filter((a) => !UNIT_ACTIVITIES.includes(a.type));
    expect(rest.map((a) => a.type)).toEqual(
      expect.arrayContaining([
        'openLifecycles',
        'recordDetection',
        'classifyFinding',
        'routeFinding',
        'recordApproval',
        'closeFinding',
      ]),
    );
    for (const a of rest)
      expect(a).toEqual({ type: a.type, taskQueue: control.taskQueue, identity: 'control' });
    // B, which holds another boundary, received nothing of this unit.
    expect(ran.some((a) => a.identity === 'worker-b')).toBe(false);
  });

  it("sends the other unit's activities to B, never to A, across an approval", async () => {
    const f = await scan('checkout-web-prod');
    await waitForState(env.client, f.workflowId, awaitingApproval);
    await answerFinding(env.client, f.findingId, 'approve', {
      approver: 'maria.lopez@acme.example',
      reason: 'revert to the digest in Git',
    });
    const s = (await env.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');

    const ran = [...(await activitiesOf(f.scanId)), ...(await activitiesOf(f.workflowId))];
    const onUnit = ran.filter((a) => UNIT_ACTIVITIES.includes(a.type));
    expect(onUnit.map((a) => a.type).sort()).toEqual(['detectUnit', 'reconcile', 'verifyClosure']);
    for (const a of onUnit)
      expect(a).toEqual({ type: a.type, taskQueue: `${control.taskQueue}.${Y}`, identity: 'worker-b' });
    expect(ran.some((a) => a.identity === 'worker-a')).toBe(false);
  });
});
