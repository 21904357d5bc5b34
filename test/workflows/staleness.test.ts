import { beforeAll, describe, expect, it } from 'vitest';
import type { DetectionStatusRepo } from '../../ledger/detection';
import { answerFinding } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { findingIdOf, staleObservation } from '../../domain/finding';
import type { LifecycleState } from '../../workflows/messages';
import type { StalenessSweepResult } from '../../workflows/staleness-sweep';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';

const APPROVER = 'maria.lopez@acme.example';
const t = useDevServerWorker({ DRIFTPLANE_VERIFY_ATTEMPTS: '2' });
// The worker's own ledger handle: the records its scans and sweeps write, in its PostgreSQL ledger.
let store: DetectionStatusRepo;
beforeAll(() => {
  store = t.worker.ledger.detection;
});

const scan = (unit: string) =>
  t.env.client.workflow.execute('unitScan', { workflowId: `scan:${unit}:${Date.now()}:${Math.random()}`, taskQueue: t.config.taskQueue, args: [{ unit }] }) as Promise<UnitScanResult>;

const finish = async (workflowId: string) => (await t.env.client.workflow.getHandle(workflowId).result()) as LifecycleState;

describe('staleness: a failed or overdue detector is a DETECTION_STALE finding, never silence', () => {
  it('a failed detection opens a DETECTION_STALE lifecycle, records the failure, and closes only when detection succeeds again', async () => {
    // No planes seeded: nothing can observe checkout-web-prod.
    const r = await scan('checkout-web-prod');
    expect(r.status).toBe('failed');
    if (r.status !== 'failed') return;
    expect(r.findings).toHaveLength(1);
    const f = r.findings![0]!;
    expect(f.resourceRef).toBe('unit/checkout-web-prod');

    const waiting = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    expect(waiting.observation).toMatchObject({ detectorStatus: 'failed', detectorError: expect.stringContaining('no detector can observe') });
    expect(waiting.decision).toMatchObject({ driftClass: 'DETECTION_STALE', recommendedAction: 'INCIDENT', autoHealAllowed: false });
    expect(waiting.decision?.reasons.map((x) => x.ruleId)).toContain('hard:detection-stale');

    const recorded = await store.read('checkout-web-prod');
    expect(recorded).toMatchObject({ lastResult: 'failed', consecutiveFailures: 1, lastError: expect.stringContaining('no detector') });
    expect(recorded?.lastSuccessAt).toBeUndefined();

    // The detector recovers; the lifecycle verifies by detecting again.
    await seedDemoSandbox(t.config.planesDir, new Date());
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'detector fixed; confirm' });
    const done = await finish(f.workflowId);
    expect(done.outcome).toBe('RECONCILED');
    expect(done.timeline.find((t) => t.event === 'verified')?.detail).toMatch(/detection of checkout-web-prod succeeds again/);
    expect((await store.read('checkout-web-prod'))).toMatchObject({ lastResult: 'ok', lastSuccessAt: expect.any(String) });
  });

  it('a detector that keeps failing never closes as RECONCILED', async () => {
    // An AWS stack whose OIDC role has no token file configured: the AWS detector cannot assume it.
    const r = await scan('payments-prod-network');
    expect(r.status).toBe('failed');
    if (r.status !== 'failed') return;
    const f = r.findings![0]!;
    const s = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'approve', { approver: s.route!.approvers[0]!.email, reason: 'look into it' });
    const done = await finish(f.workflowId);
    expect(done.decision?.driftClass).toBe('DETECTION_STALE');
    expect(done.outcome).toBe('UNVERIFIED');
    expect(done.observation.detectorError).toMatch(/web identity token file/);
    expect(done.timeline.filter((t) => t.event === 'still drifted').every((t) => /could not tell/.test(t.detail ?? ''))).toBe(true);
  });

  it('the staleness sweep opens DETECTION_STALE lifecycles for overdue units only', async () => {
    const now = Date.now();
    // catalog-web-staging (low tier, 24h) last succeeded two days ago; checkout-web-prod (high tier, 1h) a minute ago.
    await store.record('catalog-web-staging', { status: 'ok' }, new Date(now - 2 * 24 * 3_600_000));
    await store.record('catalog-web-staging', { status: 'failed', error: 'argocd: connection refused' }, new Date(now - 3_600_000));
    await store.record('checkout-web-prod', { status: 'ok' }, new Date(now - 60_000));
    const r = (await t.env.client.workflow.execute('stalenessSweep', {
      workflowId: `sweep:${Date.now()}`,
      taskQueue: t.config.taskQueue,
      args: [{ units: ['catalog-web-staging', 'checkout-web-prod'] }],
    })) as StalenessSweepResult;
    expect(r.overdue.map((u) => u.unit)).toEqual(['catalog-web-staging']);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0]!;
    // Failed and overdue detections of one unit share a fingerprint: they join one lifecycle.
    expect(f.findingId).toBe(findingIdOf(staleObservation({ unit: 'catalog-web-staging', status: 'failed', detectedAt: new Date().toISOString(), detector: 'x' })));
    const s = await waitForState(t.env.client, f.workflowId, (x) => x.decision !== undefined);
    expect(s.observation).toMatchObject({ detectorStatus: 'overdue', lastSuccessAt: new Date(now - 2 * 24 * 3_600_000).toISOString() });
    expect(s.observation.detectorError).toMatch(/no successful detection since .*last error: argocd: connection refused/);
    expect(s.decision).toMatchObject({ driftClass: 'DETECTION_STALE', recommendedAction: 'INCIDENT' });
    expect(s.decision?.risk).not.toBe('INFO');
  });

  it('a unit never detected starts its clock at the first sweep, and is overdue once its interval has passed', async () => {
    const sweep = async (tag: string) =>
      (await t.env.client.workflow.execute('stalenessSweep', {
        workflowId: `sweep:${Date.now()}:${tag}`,
        taskQueue: t.config.taskQueue,
        args: [{ units: ['payments-prod-network'] }],
      })) as StalenessSweepResult;
    // A fresh registry: the first sweep must not open a stale finding for a unit whose first scan is still to come.
    const first = await sweep('first');
    expect(first).toMatchObject({ overdue: [], findings: [] });
    expect(await store.read('payments-prod-network')).toMatchObject({ firstSeenAt: expect.any(String) });
    expect((await store.read('payments-prod-network'))?.lastSuccessAt).toBeUndefined();

    // Its 15-minute interval passes with no successful detection.
    await store.record('payments-prod-network', { status: 'failed', error: 'AccessDenied' }, new Date(Date.now() - 20 * 60_000));
    await t.worker.ledger.db.query('UPDATE unit_detection SET first_seen_at = $2 WHERE unit = $1', ['payments-prod-network', new Date(Date.now() - 20 * 60_000).toISOString()]);
    const later = await sweep('later');
    expect(later.overdue).toEqual([expect.objectContaining({ unit: 'payments-prod-network', intervalMs: 15 * 60_000 })]);
    expect(later.findings).toHaveLength(1);
  });
});
