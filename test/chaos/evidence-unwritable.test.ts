/**
 * Chaos: the evidence folder becomes unwritable while a lifecycle runs: a plain file now stands
 * where the folder was (a bad mount, a deployment that wrote a file over it; as root, permissions
 * would not stop the worker, a file does). The activity that must write the stage's evidence fails
 * loudly, with a named error (EvidenceWriteFailed), and is retried; the lifecycle does not pass the
 * stage whose evidence was not written (no revert happens); once the folder is back it continues
 * and closes RECONCILED with one record per step.
 */
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { DEMO_APPROVER, seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import { LifecycleStateKey } from '../../workflows/search-attributes';
import {
  approveAs,
  evidenceOf,
  eventually,
  ledgerOf,
  pendingActivities,
  scanOne,
} from '../support/chaos-lifecycle';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { awaitingApproval, waitForState } from '../support/lifecycle-helpers';

let w: ChaosWorkers;

beforeAll(async () => {
  w = await chaosWorkers(inject('temporalAddress'));
  await seedDemoSandbox(w.config.planesDir, new Date());
  await w.start();
});

afterAll(async () => {
  await w?.close();
});

describe('evidence storage unwritable while a lifecycle runs', () => {
  it('fails the approval step with EvidenceWriteFailed, retries, holds the lifecycle at approve, and continues after repair', async () => {
    const f = await scanOne(w.client, w.config.taskQueue, 'checkout-web-prod');
    await waitForState(w.client, f.workflowId, awaitingApproval, 60_000);
    const stepsBefore = (await evidenceOf(w.config.evidenceDir, f.findingId)).steps;

    const dir = w.config.evidenceDir;
    await rename(dir, `${dir}.moved`);
    await writeFile(dir, 'not a folder: the evidence volume is gone\n');
    await approveAs(w.client, f.findingId, [DEMO_APPROVER]);

    // The approval's evidence cannot be written: a named failure, retried.
    const failing = await eventually(
      'a failed attempt of recordApproval',
      async () => {
        const a = (await pendingActivities(w.client, f.workflowId)).find(
          (p) => p.activityType?.name === 'recordApproval',
        );
        return a && (a.attempt ?? 0) >= 3 && a.lastFailure ? a : undefined;
      },
      60_000,
      100,
    );
    const failure = failing.lastFailure!;
    expect(failure.applicationFailureInfo?.type).toBe('EvidenceWriteFailed');
    expect(failure.applicationFailureInfo?.nonRetryable).toBeFalsy();
    expect(failure.message).toContain(dir);
    // The worker logs every failed attempt too (the record the load scenario reads for local activities).
    expect(w.activityFailures().filter((x) => x.activityType === 'recordApproval' && /EvidenceWriteFailed/.test(x.message)).length).toBeGreaterThanOrEqual(1);

    // Held at approve: no revert, nothing past the approval in state, search attribute, ledger or evidence.
    const s = await w.client.workflow.getHandle(f.workflowId).query<LifecycleState>('state');
    expect(s.stage).toBe('approve');
    expect(s.outcome).toBeUndefined();
    expect(
      (await w.client.workflow.getHandle(f.workflowId).describe()).typedSearchAttributes.get(
        LifecycleStateKey,
      ),
    ).toBe('approve');
    expect(await new LocalPlanes(w.config.planesDir).ledger('checkout-web-prod')).toEqual([]);
    expect((await ledgerOf(w.config.ledger.url, f.findingId)).steps.map((x) => x.step)).toEqual(stepsBefore);
    expect(await readdir(`${dir}.moved`).then((names) => names.length)).toBeGreaterThan(0);

    // Repair: the folder is back where it was.
    await rm(dir);
    await rename(`${dir}.moved`, dir);
    const done = (await w.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
    expect(done.outcome).toBe('RECONCILED');

    const ev = await evidenceOf(w.config.evidenceDir, f.findingId);
    expect(ev.steps).toEqual([...stepsBefore, 'approval', 'reconciled', 'verified-1', 'closed']);
    expect(ev.duplicateKeys).toEqual([]);
    expect(ev.chainOk).toBe(true);
    expect(await new LocalPlanes(w.config.planesDir).ledger('checkout-web-prod')).toHaveLength(1);
    expect(await ledgerOf(w.config.ledger.url, f.findingId)).toMatchObject({
      stage: 'closed',
      outcome: 'RECONCILED',
    });
  });
});
