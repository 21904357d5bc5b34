import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../evidence/evidence-store';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { signedAnswer } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { locateTestServer } from '../../cli/local-tools';
import { temporal } from '@temporalio/proto';
import { findingIdOf, workflowIdOf } from '../../domain/finding';
import { approve, type LifecycleState } from '../../workflows/messages';
import { LifecycleStateKey, SEARCH_ATTRIBUTE_KEYS, UnitKey } from '../../workflows/search-attributes';
import type { Config } from '../../workers/config';
import { createDriftplaneWorker, type DriftplaneWorker } from '../../workers/create-worker';
import { quietTemporalLogs, testConfig, waitForState, workflowBundle } from '../support/lifecycle-harness';

// Long timers on the time-skipping test server: three days of approval timeout pass in seconds.
let env: TestWorkflowEnvironment;
let config: Config;
let w: DriftplaneWorker;
let notifier: ConsoleNotifier;
let running: Promise<void>;

beforeAll(async () => {
  await quietTemporalLogs();
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: locateTestServer() } } });
  // The Java test server has no ListSearchAttributes; AddSearchAttributes is there.
  await env.connection.operatorService.addSearchAttributes({
    namespace: 'default',
    searchAttributes: Object.fromEntries(SEARCH_ATTRIBUTE_KEYS.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  config = await testConfig(env.address, { DRIFTPLANE_APPROVAL_TIMEOUT: '72h', DRIFTPLANE_MAX_ESCALATIONS: '2' });
  notifier = new ConsoleNotifier(undefined);
  w = await createDriftplaneWorker(config, { source: { workflowBundle: await workflowBundle() }, connection: env.nativeConnection, notifier });
  running = w.worker.run();
});

afterAll(async () => {
  w?.worker.shutdown();
  await running;
  await w?.close();
  await env?.teardown();
});

async function startLifecycle() {
  await seedDemoSandbox(config.planesDir, new Date());
  const detection = await new LocalPlanes(config.planesDir).detect('checkout-web-prod', new Date());
  if (detection.status !== 'ok' || !detection.observations[0]) throw new Error('sandbox has no drift');
  const observation = detection.observations[0];
  const findingId = findingIdOf(observation);
  const handle = await env.client.workflow.start('driftLifecycle', {
    workflowId: workflowIdOf(findingId),
    taskQueue: config.taskQueue,
    args: [{ findingId, observation }],
    typedSearchAttributes: [
      { key: UnitKey, value: observation.unit },
      { key: LifecycleStateKey, value: 'detect' },
    ],
  });
  return { findingId, handle };
}

describe('approval timeout (time-skipping server)', () => {
  it('escalates after each 72h without an answer and expires after the last escalation, in seconds', async () => {
    const started = Date.now();
    const { findingId, handle } = await startLifecycle();
    const s = (await handle.result()) as LifecycleState;
    const wallSeconds = (Date.now() - started) / 1000;

    expect(s.outcome).toBe('EXPIRED');
    expect(s.escalations).toBe(2);
    expect(s.timeline.filter((t) => t.event === 'escalated').map((t) => t.detail)).toEqual(['level 1', 'level 2']);
    // Workflow time: 3 × 72h passed between the first escalation wait and expiry.
    const entered = Date.parse(s.timeline.find((t) => t.stage === 'approve' && t.event === 'entered')!.at);
    const expired = Date.parse(s.timeline.find((t) => t.event === 'expired')!.at);
    expect((expired - entered) / 3_600_000).toBeGreaterThanOrEqual(216);
    expect(wallSeconds).toBeLessThan(60);

    const steps = (await new EvidenceStore(config.evidenceDir).read(findingId)).map((r) => r.step);
    // The INCIDENT_AND_REVERT opened its incident at routing (the console adapter by default).
    expect(steps).toEqual(['detected', 'classified', 'routed', 'incident-opened', 'escalated-1', 'escalated-2', 'closed']);
    expect(notifier.sent.filter((n) => n.kind === 'escalated' && n.findingId === findingId)).toHaveLength(2);
  });

  it('still accepts an approval after an escalation and reconciles', async () => {
    const { findingId, handle } = await startLifecycle();
    await env.sleep('73h');
    await waitForState(env.client, handle.workflowId, (s) => s.escalations === 1);
    // Signed at workflow time: the time-skipping server is days ahead of the wall clock, and a statement expires after 15 minutes.
    const issuedAt = new Date(await env.currentTimeMs());
    await handle.executeUpdate(approve, { args: [await signedAnswer(findingId, 'approved', { approver: 'maria.lopez@acme.example', reason: 'late, but approved', issuedAt })] });
    const s = (await handle.result()) as LifecycleState;
    expect(s.escalations).toBe(1);
    expect(s.outcome).toBe('RECONCILED');
  });
});
