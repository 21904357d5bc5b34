/**
 * Chaos: load. A fleet of 40 auto-healing units, each with 5 Deployments relabelled by hand, is
 * scanned all at once (40 `unitScan` workflows: 200 drifted resources, within the units' auto-heal
 * bound of 5 objects per reconcile), while the same drift of another unit is detected by 30
 * simultaneous scans. Exactly 201 lifecycles must exist (the 30 detections join one), the 200 must
 * close RECONCILED with one revert each, and no activity attempt may have failed because of a
 * store (evidence or ledger) under that load.
 *
 * A fleet rather than one unit of 200 resources: the template unit's policy auto-heals at most 5
 * objects per reconcile.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import type { OpenedLifecycle } from '../../activities/scan';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { eventually, failedAttempts, type FailedAttempt } from '../support/chaos-lifecycle';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { APPROVAL_UNIT, fleetRegistry, fleetUnits, PER_UNIT, seedFleet } from '../support/fleet';

const FINDINGS = 200;
const DUPLICATES = 30;
/** 40 copies of the auto-healing staging unit, PER_UNIT drifted Deployments each (test/support/fleet.ts). */
const FLEET = fleetUnits('catalog-load', FINDINGS);
const UNITS = FLEET.length;
const UNIT_NAMES = FLEET.map((u) => u.name);

/** Failures a store causes: the evidence store's and the ledger's errors, file system and database trouble. */
const STORE_FAILURE =
  /evidence|ledger|EvidenceWriteFailed|EvidenceFileError|seq \d+ was taken|ENOENT|EEXIST|ENOTDIR|EMFILE|ENOSPC|postgres|pglite|deadlock|duplicate key|unique constraint|serializ|too many clients|connection (terminated|refused)|timeout exceeded when trying to connect/i;

let w: ChaosWorkers;

beforeAll(async () => {
  w = await chaosWorkers(inject('temporalAddress'), { DRIFTPLANE_REGISTRY: await fleetRegistry(UNIT_NAMES) });
  // The demo sandbox too: its production unit keeps the drift the 30 scans detect.
  await seedFleet(w.config.planesDir, FLEET, new Date());
  await w.start();
});

afterAll(async () => {
  await w?.close();
});

describe('load: 200 concurrent findings and 30 simultaneous detections of one drift', () => {
  it('gives exactly 201 lifecycles, closes the 200 with one revert each, and no activity attempt fails because of a store', async () => {
    const scanIds = [
      ...UNIT_NAMES.map((u) => `scan:${u}:load`),
      ...Array.from({ length: DUPLICATES }, (_, i) => `scan:${APPROVAL_UNIT}:load:${i}`),
    ];
    const scans = await Promise.all(
      scanIds.map(
        (workflowId) =>
          w.client.workflow.execute('unitScan', {
            workflowId,
            taskQueue: w.config.taskQueue,
            args: [{ unit: workflowId.split(':')[1]! }],
          }) as Promise<UnitScanResult>,
      ),
    );
    const findingsOf = (r: UnitScanResult): OpenedLifecycle[] => {
      if (r.status !== 'drift') throw new Error(`scan of ${r.unit}: ${JSON.stringify(r)}`);
      return r.findings;
    };
    const fleet = scans.slice(0, UNITS).flatMap(findingsOf);
    const duplicates = scans.slice(UNITS).flatMap(findingsOf);
    expect(fleet).toHaveLength(FINDINGS);
    expect(duplicates).toHaveLength(DUPLICATES);
    expect(new Set(fleet.map((f) => f.workflowId)).size).toBe(FINDINGS);
    // Thirty detections of one drift: one lifecycle, one run.
    expect(new Set(duplicates.map((f) => `${f.workflowId} ${f.runId}`)).size).toBe(1);

    const query = `TaskQueue = '${w.config.taskQueue}' AND WorkflowType = 'driftLifecycle'`;
    await eventually(
      `${FINDINGS} lifecycles closed`,
      async () =>
        (await w.client.workflow.count(`${query} AND ExecutionStatus = 'Completed'`)).count >= FINDINGS
          ? true
          : undefined,
      300_000,
      1000,
    );
    expect((await w.client.workflow.count(query)).count).toBe(FINDINGS + 1);

    const dup = w.client.workflow.getHandle(duplicates[0]!.workflowId);
    const dupState = await dup.query<LifecycleState>('state');
    expect(dupState.detections).toBe(DUPLICATES);
    expect(dupState.stage).toBe('approve');

    const outcomes = await Promise.all(
      fleet.map((f) => w.client.workflow.getHandle(f.workflowId).result() as Promise<LifecycleState>),
    );
    expect(
      outcomes.filter((s) => s.outcome !== 'RECONCILED').map((s) => `${s.findingId}: ${s.outcome}`),
    ).toEqual([]);
    const planes = new LocalPlanes(w.config.planesDir);
    const reverts = (await Promise.all(UNIT_NAMES.map((u) => planes.ledger(u)))).flat();
    expect(reverts).toHaveLength(FINDINGS);
    expect(new Set(reverts.map((r) => r.resourceRef)).size).toBe(PER_UNIT);

    const failed: FailedAttempt[] = [];
    for (const f of [...fleet, duplicates[0]!])
      failed.push(...(await failedAttempts(w.client, f.workflowId)));
    for (const id of scanIds) failed.push(...(await failedAttempts(w.client, id)));
    expect(failed.filter((f) => STORE_FAILURE.test(`${f.failureType ?? ''} ${f.message}`))).toEqual([]);
    // Local activities (the lean lifecycle's recording steps) leave failed attempts out of history: the worker's log has them.
    const localFailed = w.activityFailures().filter((f) => f.isLocal);
    expect(localFailed.filter((f) => STORE_FAILURE.test(`${f.activityType} ${f.message}`))).toEqual([]);
    if (localFailed.length > 0) console.warn(`load: ${localFailed.length} failed local activity attempt(s), none caused by a store: ${JSON.stringify(localFailed.slice(0, 5))}`);
    // Retries for other reasons (a heartbeat timeout on a loaded machine) are not the stores' doing; they are shown.
    if (failed.length > 0)
      console.warn(
        `load: ${failed.length} retried attempt(s), none caused by a store: ${JSON.stringify(failed.slice(0, 5))}`,
      );
    await dup.terminate('chaos load: done');
  }, 420_000);
});
