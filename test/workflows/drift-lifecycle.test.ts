import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporal } from '@temporalio/proto';
import { EvidenceStore } from '../../evidence/evidence-store';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import type { ConsoleNotifier } from '../../activities/notify/console-notifier';
import { answerFinding, signedAnswer } from '../support/approver-keys';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { InputError } from '../../domain/errors';
import { FindingRecordSchema } from '../../domain/finding';
import { approvalSignal, state, type LifecycleState } from '../../workflows/messages';
import { DriftClassKey, LifecycleStateKey, OwnerKey, RiskKey } from '../../workflows/search-attributes';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';

const APPROVER = 'maria.lopez@acme.example';
const t = useDevServerWorker();

/** Seeds a fresh sandbox and scans one unit; returns the lifecycle it opened. */
async function scanFresh(unit: string, tweak?: (planesDir: string) => Promise<void>) {
  await seedDemoSandbox(t.config.planesDir, new Date());
  await tweak?.(t.config.planesDir);
  return scan(unit);
}

async function scan(unit: string) {
  const r = (await t.env.client.workflow.execute('unitScan', {
    workflowId: `scan:${unit}:${Date.now()}:${Math.random()}`,
    taskQueue: t.config.taskQueue,
    args: [{ unit }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  expect(r.findings).toHaveLength(1);
  return r.findings[0]!;
}

async function finish(workflowId: string): Promise<LifecycleState> {
  return (await t.env.client.workflow.getHandle(workflowId).result()) as LifecycleState;
}

describe('driftLifecycle on the real Temporal dev server', () => {
  it('travels detect → classify → route → approve → reconcile → verify → closed, with evidence and search attributes', async () => {
    const notified = (t.worker.notifier as ConsoleNotifier).sent;
    const sentBefore = notified.length;
    const f = await scanFresh('checkout-web-prod');
    expect(f.workflowId).toBe(`finding:${f.findingId}`);
    expect(f.findingId).toMatch(/^checkout-web-prod:[0-9a-f]{16}$/);

    const waiting = await waitForState(t.env.client, f.workflowId, awaitingApproval);
    expect(waiting.decision?.autoHealAllowed).toBe(false);
    const incidentsOf = () => notified.slice(sentBefore).filter((n) => n.kind === 'incident' && n.findingId === f.findingId);
    // INCIDENT_AND_REVERT: the incident is open before anyone is asked to approve.
    expect(incidentsOf()).toHaveLength(1);
    expect(waiting.route?.approvers.map((a) => a.email)).toContain(APPROVER);

    const accepted = await answerFinding(t.env.client, f.findingId, 'approve', { approver: 'U04MARIA', reason: 'revert to the digest in Git' });
    expect(accepted).toEqual({ findingId: f.findingId, answer: 'approved', approver: APPROVER, approvals: 1, required: 1 });

    const s = await finish(f.workflowId);
    expect(s.stage).toBe('closed');
    expect(s.outcome).toBe('RECONCILED');
    expect(s.timeline.filter((t) => t.event === 'entered').map((t) => t.stage)).toEqual(['detect', 'classify', 'route', 'approve', 'reconcile', 'verify', 'closed']);

    // The runtime really was reverted: the actual plane matches desired again.
    const detection = await new LocalPlanes(t.config.planesDir).detect('checkout-web-prod', new Date());
    expect(detection).toMatchObject({ status: 'ok', observations: [] });

    const evidence = new EvidenceStore(t.config.evidenceDir);
    const steps = (await evidence.read(f.findingId)).map((r) => r.step);
    // The incident opened at routing through the route's adapter (the console by default) is in evidence too.
    expect(steps).toEqual(['detected', 'classified', 'routed', 'incident-opened', 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(await evidence.verify(f.findingId)).toEqual({ ok: true, records: 8, problems: [] });
    const incident = (await evidence.read(f.findingId)).find((r) => r.step === 'incident-opened')!.data;
    expect(incident).toEqual({ adapter: 'console', incidentId: `console:${f.findingId}`, created: true });
    expect(s.incident).toEqual({ adapter: 'console', incidentId: `console:${f.findingId}` });
    // The closing record carries the finding other tools read (domain text §11.2).
    const closed = (await evidence.read(f.findingId)).at(-1)!;
    const finding = FindingRecordSchema.parse((closed.data as { finding: unknown }).finding);
    expect(finding).toMatchObject({
      findingId: f.findingId,
      resourceRef: 'Deployment/checkout/web',
      environment: 'prod',
      owner: 'checkout',
      domain: 'app',
      driftClass: s.decision?.driftClass,
      risk: s.decision?.risk,
      changedFields: ['/spec/template/spec/containers/0/image'],
      auditCorrelation: { actor: 'dave.kim@acme.example', actorType: 'human', source: 'k8s-audit' },
      recommendedAction: 'INCIDENT_AND_REVERT',
      autoHealAllowed: false,
      evidenceUri: `file://${evidence.folderOf(f.findingId)}`,
    });

    const d = await t.env.client.workflow.getHandle(f.workflowId).describe();
    expect(d.typedSearchAttributes.get(LifecycleStateKey)).toBe('closed');
    expect(d.typedSearchAttributes.get(DriftClassKey)).toBe(s.decision?.driftClass);
    expect(d.typedSearchAttributes.get(RiskKey)).toBe(s.decision?.risk);
    expect(d.typedSearchAttributes.get(OwnerKey)).toBe('checkout');

    // ... and raised only once: reconcile does not raise it again.
    expect(s.decision?.recommendedAction).toBe('INCIDENT_AND_REVERT');
    expect(incidentsOf()).toHaveLength(1);
    expect(incidentsOf()[0]?.targets).toContain('team:checkout');
  });

  it('refuses approvals from someone not listed, from the drift’s own actor, or without a reason, leaving no trace in history', async () => {
    // Maria, a listed approver, made the change herself this time.
    const f = await scanFresh('checkout-web-prod', async (dir) => {
      await appendFile(
        path.join(dir, 'checkout-web-prod', 'audit.jsonl'),
        `${JSON.stringify({ resourceRef: 'Deployment/checkout/web', actor: { id: APPROVER, type: 'human' }, eventTime: new Date().toISOString(), eventName: 'kubectl set image', source: 'k8s-audit' })}\n`,
      );
    });
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    const before = (await t.env.client.workflow.getHandle(f.workflowId).fetchHistory()).events?.length ?? 0;

    const attempts: [string, { approver: string; reason: string }, RegExp][] = [
      ['not listed', { approver: 'mallory@evil.example', reason: 'looks fine' }, /not an approver/],
      ['member but not approver', { approver: 'dave.kim@acme.example', reason: 'looks fine' }, /not an approver/],
      ['the drift’s own actor', { approver: APPROVER, reason: 'my change, my call' }, /caused this drift/],
      ['the actor by another identity', { approver: 'mlopez', reason: 'my change, my call' }, /caused this drift/],
      ['no reason', { approver: 'U04MARIA', reason: '   ' }, /reason is required/],
    ];
    for (const [, input, why] of attempts) {
      const err = await answerFinding(t.env.client, f.findingId, 'approve', input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(why);
    }

    const history = await t.env.client.workflow.getHandle(f.workflowId).fetchHistory();
    const json = JSON.stringify(history.events);
    expect(history.events?.length ?? 0).toBe(before);
    expect(json).not.toContain('mallory@evil.example');
    expect(json).not.toContain('my change, my call');
    expect(json).not.toMatch(/WorkflowExecutionUpdate/i);
    const s = await t.env.client.workflow.getHandle(f.workflowId).query(state);
    expect(s.answer).toBeUndefined();
  });

  it('records and ignores an invalid approval signal and an unsigned one on a production unit, then accepts a signed one', async () => {
    const f = await scanFresh('checkout-web-prod');
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    const handle = t.env.client.workflow.getHandle(f.workflowId);
    await handle.signal(approvalSignal, { approver: 'dave.kim@acme.example', reason: 'ship it' });
    const ignored = await waitForState(t.env.client, f.workflowId, (s) => s.timeline.some((t) => t.event === 'ignored invalid approval'));
    expect(ignored.answer).toBeUndefined();
    expect(ignored.timeline.find((t) => t.event === 'ignored invalid approval')?.detail).toMatch(/dave\.kim@acme\.example is not an approver/);

    // A raw Temporal UI signal proves nothing about who sent it: on a prod unit it is counted and ignored.
    await handle.signal(approvalSignal, { approver: APPROVER, reason: 'approved from the Temporal UI' });
    const unsigned = await waitForState(t.env.client, f.workflowId, (s) => (s.ignoredSignals?.byReason['approval: unsigned'] ?? 0) === 1);
    expect(unsigned.answer).toBeUndefined();

    await handle.signal(approvalSignal, await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason: 'approved, signed' }));
    const s = await finish(f.workflowId);
    expect(s.answer).toMatchObject({ answer: 'approved', approver: APPROVER, via: 'cli', authenticated: true });
    expect(s.answer?.statement?.signer.kind).toBe('ssh');
    expect(s.outcome).toBe('RECONCILED');
  });

  it('takes exactly one answer when two approvers answer at the same moment, and goes on', async () => {
    const f = await scanFresh('checkout-web-prod');
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    const answers = await Promise.allSettled([
      answerFinding(t.env.client, f.findingId, 'approve', { approver: APPROVER, reason: 'revert it' }),
      answerFinding(t.env.client, f.findingId, 'reject', { approver: 'priya.nair@acme.example', reason: 'keep it' }),
    ]);
    const won = answers.filter((a) => a.status === 'fulfilled');
    const lost = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(InputError);
    expect((lost[0]!.reason as Error).message).toMatch(/not waiting for an approval/);
    const s = await finish(f.workflowId);
    expect(s.stage).toBe('closed');
    expect(['RECONCILED', 'REJECTED']).toContain(s.outcome);
  });

  it('joins the running lifecycle when the same drift is detected again', async () => {
    const first = await scanFresh('checkout-web-prod');
    await waitForState(t.env.client, first.workflowId, awaitingApproval);
    const second = await scan('checkout-web-prod');
    expect(second.workflowId).toBe(first.workflowId);
    expect(second.runId).toBe(first.runId);
    const s = await waitForState(t.env.client, first.workflowId, (x) => x.detections === 2);
    expect(s.timeline.some((t) => t.event === 'detected again')).toBe(true);

    const runs = [];
    for await (const r of t.env.client.workflow.list({ query: `WorkflowId = '${first.workflowId}' AND ExecutionStatus = 'Running'` })) runs.push(r.runId);
    expect(runs).toEqual([first.runId]);
  });

  it('auto-heals a low-risk, Git-owned change on a healthy stateless app without asking anyone', async () => {
    const f = await scanFresh('catalog-web-staging');
    const s = await finish(f.workflowId);
    expect(s.decision).toMatchObject({ recommendedAction: 'RUNTIME_REVERT', autoHealAllowed: true });
    expect(s.answer).toBeUndefined();
    expect(s.outcome).toBe('RECONCILED');
    expect(s.timeline.some((t) => t.event === 'auto-approved')).toBe(true);
    const steps = (await new EvidenceStore(t.config.evidenceDir).read(f.findingId)).map((r) => r.step);
    expect(steps.slice(-5)).toEqual(['routed', 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(await new LocalPlanes(t.config.planesDir).detect('catalog-web-staging', new Date())).toMatchObject({ status: 'ok', observations: [] });
  });

  it('auto-heals in a lean history: at most 35 events, recording steps as local activities, one patch marker, search attributes once per wait', async () => {
    const f = await scanFresh('catalog-web-staging');
    const s = await finish(f.workflowId);
    expect(s.outcome).toBe('RECONCILED');
    const history = await t.env.client.workflow.getHandle(f.workflowId).fetchHistory();
    const events = history.events ?? [];
    const named = (type: temporal.api.enums.v1.EventType) => events.filter((e) => e.eventType === type);
    const E = temporal.api.enums.v1.EventType;
    expect(events.length).toBeLessThanOrEqual(35);
    // Only what touches the unit's systems is an activity; the rest are local activities on the control worker.
    const scheduled = named(E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name);
    expect(scheduled).toEqual(['reconcile', 'verifyClosure']);
    const markers = named(E.EVENT_TYPE_MARKER_RECORDED).map((e) => e.markerRecordedEventAttributes?.markerName);
    expect(markers.filter((m) => m === 'core_local_activity')).toHaveLength(5);
    expect(markers.filter((m) => m === 'core_patch')).toHaveLength(1);
    // One upsert for the patch's change version, then one before reconcile, one before verify, one at the end.
    expect(named(E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)).toHaveLength(4);
    const d = await t.env.client.workflow.getHandle(f.workflowId).describe();
    expect(d.typedSearchAttributes.get(LifecycleStateKey)).toBe('closed');
    expect(d.typedSearchAttributes.get(RiskKey)).toBe(s.decision?.risk);
    expect(d.typedSearchAttributes.get(DriftClassKey)).toBe(s.decision?.driftClass);
  });

  it('closes as REJECTED without touching the runtime when an approver rejects', async () => {
    const f = await scanFresh('checkout-web-prod');
    await waitForState(t.env.client, f.workflowId, awaitingApproval);
    await answerFinding(t.env.client, f.findingId, 'reject', { approver: APPROVER, reason: 'accept the runtime change; a PR follows' });
    const s = await finish(f.workflowId);
    expect(s.outcome).toBe('REJECTED');
    expect(s.timeline.some((t) => t.stage === 'reconcile')).toBe(false);
    expect(await new LocalPlanes(t.config.planesDir).ledger('checkout-web-prod')).toEqual([]);
    const actual = JSON.parse(await readFile(path.join(t.config.planesDir, 'checkout-web-prod', 'actual', 'deployment-web.json'), 'utf8'));
    expect(actual.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/checkout:hotfix-debug');
  });
});
