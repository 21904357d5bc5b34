import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { quietTemporalLogs, workflowBundle } from '../support/lifecycle-harness';
import { BOUNDED_LIFECYCLE_PATCH, LEAN_LIFECYCLE_PATCH, RECONCILE_EXECUTORS_PATCH, SIGNAL_BUDGET_PATCH, SIGNED_ANSWERS_PATCH } from '../../workflows/drift-lifecycle';
import { BOUNDARY_QUEUES_PATCH } from '../../workflows/boundary-queue';

// Histories recorded from real runs (`npm run record-histories`). Every change to workflow code
// must still replay them; a change of shape goes behind patched().
const dir = path.resolve(__dirname, '..', 'fixtures', 'histories');
const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.replace(/\.json$/, ''), history: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { events: unknown[] } }));

beforeAll(async () => {
  await quietTemporalLogs();
});

describe('replay of recorded histories', () => {
  it('has histories of every lifecycle ending and of a scan', () => {
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining(['lifecycle-approved-revert', 'lifecycle-auto-heal', 'lifecycle-expired', 'lifecycle-rejected', 'lifecycle-signal-approval', 'unit-scan-drift', 'unit-scan-detection-failed', 'lifecycle-detection-stale', 'staleness-sweep']),
    );
    // Recorded before the bounded-state patch: they must replay on its old branches for as long as such runs may exist.
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining(['lifecycle-approved-revert-before-bounded', 'lifecycle-signal-approval-before-bounded', 'lifecycle-expired-before-bounded', 'lifecycle-auto-heal-before-bounded']),
    );
    // Recorded with bounded state but before signed answers: they replay on signed-answers' old branches.
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining(['lifecycle-approved-revert-before-signed', 'lifecycle-signal-approval-before-signed', 'lifecycle-quorum-unresolved-actor-before-signed']),
    );
    // Since the patch: a quorum of two, and a lifecycle that continued as new.
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining(['lifecycle-quorum-unresolved-actor', 'lifecycle-continued-first-run', 'lifecycle-continued-last-run']),
    );
    // Recorded before the reconcile-executors patch: they replay on its old branches ("no executor", no PR wait).
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'lifecycle-approved-revert-before-executors',
        'lifecycle-auto-heal-before-executors',
        'lifecycle-expired-before-executors',
        'lifecycle-rejected-before-executors',
        'lifecycle-signal-approval-before-executors',
        'lifecycle-detection-stale-before-executors',
        'lifecycle-quorum-unresolved-actor-before-executors',
      ]),
    );
    // Since it: a PR closed unmerged (back to approve), then a second PR merged and verified.
    expect(histories.map((h) => h.name)).toContain('lifecycle-pr-closed-then-merged');
    // Recorded before the lean lifecycle (every remote activity, one upsert per stage): they replay on its old branches.
    expect(histories.map((h) => h.name)).toEqual(
      expect.arrayContaining([
        'lifecycle-approved-revert-before-lean',
        'lifecycle-auto-heal-before-lean',
        'lifecycle-expired-before-lean',
        'lifecycle-rejected-before-lean',
        'lifecycle-signal-approval-before-lean',
        'lifecycle-detection-stale-before-lean',
        'lifecycle-quorum-unresolved-actor-before-lean',
        'lifecycle-continued-first-run-before-lean',
        'lifecycle-continued-last-run-before-lean',
        'lifecycle-pr-closed-then-merged-before-lean',
        'unit-scan-drift-before-boundary',
        'unit-scan-detection-failed-before-boundary',
      ]),
    );
  });

  /** Whether a history holds a patch marker for `patch` (the id is in the marker's details, base64 in the exported JSON). */
  const hasPatchMarker = (name: string, patch: string) => {
    const h = histories.find((x) => x.name === name);
    if (!h) throw new Error(`no recorded history ${name}`);
    return (h.history.events as { markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } }[]).some(
      (e) =>
        e.markerRecordedEventAttributes?.markerName === 'core_patch' &&
        Object.values(e.markerRecordedEventAttributes.details ?? {}).some((d) => d.payloads?.some((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8').includes(patch))),
    );
  };

  it('tells the lean shape apart: new lifecycles carry its one marker and none of the five it stands for', () => {
    for (const name of ['lifecycle-auto-heal', 'lifecycle-approved-revert', 'lifecycle-pr-closed-then-merged', 'lifecycle-continued-first-run']) {
      expect(hasPatchMarker(name, LEAN_LIFECYCLE_PATCH), name).toBe(true);
      for (const older of [BOUNDED_LIFECYCLE_PATCH, SIGNED_ANSWERS_PATCH, SIGNAL_BUDGET_PATCH, RECONCILE_EXECUTORS_PATCH, BOUNDARY_QUEUES_PATCH]) expect(hasPatchMarker(name, older), `${name} ${older}`).toBe(false);
    }
    expect(hasPatchMarker('lifecycle-auto-heal-before-lean', LEAN_LIFECYCLE_PATCH)).toBe(false);
    expect(hasPatchMarker('lifecycle-auto-heal-before-lean', RECONCILE_EXECUTORS_PATCH)).toBe(true);
    // A unit with a credential boundary: the lean lifecycle sends reconcile and verify to its queue (the boundary from the route), the rest stays local.
    const queues = (name: string) =>
      (histories.find((h) => h.name === name)!.history.events as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string }; taskQueue?: { name?: string } } }[]).flatMap((e) =>
        e.activityTaskScheduledEventAttributes ? [`${e.activityTaskScheduledEventAttributes.activityType?.name} ${e.activityTaskScheduledEventAttributes.taskQueue?.name}`] : [],
      );
    expect(queues('lifecycle-auto-heal-boundary')).toEqual([expect.stringMatching(/^reconcile \S+\.k8s-staging-use1$/), expect.stringMatching(/^verifyClosure \S+\.k8s-staging-use1$/)]);
    expect(queues('unit-scan-drift-boundary')).toEqual([expect.stringMatching(/^detectUnit \S+\.k8s-staging-use1$/), expect.not.stringMatching(/k8s-staging-use1/)]);
    expect(hasPatchMarker('lifecycle-auto-heal-boundary', LEAN_LIFECYCLE_PATCH)).toBe(true);
    // The scan since the boundary patch asks for the unit's queue; the one before did not.
    expect(hasPatchMarker('unit-scan-drift', BOUNDARY_QUEUES_PATCH)).toBe(true);
    expect(hasPatchMarker('unit-scan-drift-before-boundary', BOUNDARY_QUEUES_PATCH)).toBe(false);
  });

  it('tells the executors shape apart: histories since the patch carry its marker, older ones do not', () => {
    const hasMarker = (name: string) =>
      (histories.find((h) => h.name === name)!.history.events as { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: string }[] }> } }[]).some((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((d) => d.payloads?.some((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8').includes(RECONCILE_EXECUTORS_PATCH))),
      );
    expect(hasMarker('lifecycle-approved-revert-before-executors')).toBe(false);
    expect(hasMarker('lifecycle-approved-revert-before-lean')).toBe(true);
    expect(hasMarker('lifecycle-pr-closed-then-merged-before-lean')).toBe(true);
  });

  it('tells the two shapes apart: old histories lack the bounded-state patch marker, new ones carry it', () => {
    // Patch markers carry the patch id in their details payloads (base64 in the exported JSON).
    const hasPatch = (name: string) =>
      (histories.find((h) => h.name === name)!.history.events as { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: string }[] }> } }[]).some((e) =>
        Object.values(e.markerRecordedEventAttributes?.details ?? {}).some((d) => d.payloads?.some((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8').includes(BOUNDED_LIFECYCLE_PATCH))),
      );
    expect(hasPatch('lifecycle-approved-revert-before-bounded')).toBe(false);
    expect(hasPatch('lifecycle-approved-revert-before-lean')).toBe(true);
    expect(hasPatch('lifecycle-quorum-unresolved-actor-before-lean')).toBe(true);
  });

  it.each(histories.map((h) => [h.name, h.history] as const))('replays %s deterministically', async (_name, history) => {
    await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history)).resolves.toBeUndefined();
  });

  it('fails with a determinism violation when the workflow code changes shape', async () => {
    const altered = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'altered', 'index.ts'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
    const history = histories.find((h) => h.name === 'lifecycle-approved-revert')!.history;
    await expect(Worker.runReplayHistory({ workflowBundle: altered }, history)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
