/**
 * Chaos: load. A fleet of 40 auto-healing units, each with 5 Deployments relabelled by hand, is
 * scanned all at once (40 `unitScan` workflows: 200 drifted resources, within the units' auto-heal
 * bound of 5 objects per reconcile), while the same drift of another unit is detected by 30
 * simultaneous scans. Exactly 201 lifecycles must exist (the 30 detections join one), the 200 must
 * close RECONCILED with one revert each, and no activity attempt may have failed because of a
 * store (evidence or ledger) under that load.
 *
 * A fleet rather than one unit of 200 resources: local-planes detection and revert read the whole
 * unit, so one 200-resource unit costs N² reads (issue 13 §3), which would measure that instead.
 */
import { appendFile, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import type { OpenedLifecycle } from '../../activities/scan';
import { commitDesiredState, demoAuditEvent, seedDemoSandbox } from '../../cli/demo-sandbox';
import type { LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { keyedAcmeRegistry } from '../support/approver-keys';
import { eventually, failedAttempts, type FailedAttempt } from '../support/chaos-lifecycle';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { repoRoot } from '../support/shared-fixtures';

const UNITS = 40;
const PER_UNIT = 5;
const FINDINGS = UNITS * PER_UNIT;
const DUPLICATES = 30;
const TEMPLATE_UNIT = 'catalog-web-staging';
const APPROVAL_UNIT = 'checkout-web-prod';
const unitName = (i: number) => `catalog-load-${String(i).padStart(2, '0')}`;
const UNIT_NAMES = Array.from({ length: UNITS }, (_, i) => unitName(i + 1));

/** Failures a store causes: the evidence store's and the ledger's errors, file system and database trouble. */
const STORE_FAILURE =
  /evidence|ledger|EvidenceWriteFailed|EvidenceFileError|seq \d+ was taken|ENOENT|EEXIST|ENOTDIR|EMFILE|ENOSPC|postgres|pglite|deadlock|duplicate key|unique constraint|serializ|too many clients|connection (terminated|refused)|timeout exceeded when trying to connect/i;

let w: ChaosWorkers;

/** The keyed example registry plus UNITS copies of the auto-healing staging unit. */
async function fleetRegistry(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-registry-'));
  await cp((await keyedAcmeRegistry()).registryDir, dir, { recursive: true });
  const source = await readFile(
    path.join(repoRoot, 'registry', 'examples', 'acme', 'units', 'apps-catalog.yaml'),
    'utf8',
  );
  const template = source.split(/^---$/m).find((d) => d.includes(`name: ${TEMPLATE_UNIT}\n`));
  if (!template) throw new Error(`${TEMPLATE_UNIT} is not in apps-catalog.yaml`);
  const docs = UNIT_NAMES.map((name) =>
    template
      .replace(`name: ${TEMPLATE_UNIT}\n`, `name: ${name}\n`)
      .replace(/path: apps\/catalog-web\/overlays\/staging/, `path: apps/${name}`)
      .trim(),
  );
  await writeFile(path.join(dir, 'units', 'chaos-load.yaml'), `${docs.join('\n---\n')}\n`);
  return dir;
}

/**
 * The demo sandbox (its production unit keeps the drift the 30 scans detect), and each fleet unit
 * with PER_UNIT Deployments like the demo's staging one, relabelled by hand (tier=experimental),
 * with the audit event of each change.
 */
async function seedFleet(planesDir: string, now: Date): Promise<void> {
  await seedDemoSandbox(planesDir, now);
  const template = path.join(planesDir, TEMPLATE_UNIT);
  const desired = parseYaml(
    await readFile(path.join(template, 'desired', 'deployment-web.yaml'), 'utf8'),
  ) as { metadata: object };
  const actual = JSON.parse(await readFile(path.join(template, 'actual', 'deployment-web.json'), 'utf8')) as {
    kind: string;
    metadata: { name: string; namespace: string };
  };
  for (const unit of UNIT_NAMES) {
    const dir = path.join(planesDir, unit);
    await mkdir(path.join(dir, 'desired'), { recursive: true });
    await mkdir(path.join(dir, 'actual'), { recursive: true });
    const audit: string[] = [];
    for (let i = 1; i <= PER_UNIT; i++) {
      const name = `web-${i}`;
      await writeFile(
        path.join(dir, 'desired', `deployment-${name}.json`),
        `${JSON.stringify({ ...desired, metadata: { ...desired.metadata, name } }, null, 2)}\n`,
      );
      const live = { ...actual, metadata: { ...actual.metadata, name } };
      await writeFile(
        path.join(dir, 'actual', `deployment-${name}.json`),
        `${JSON.stringify(live, null, 2)}\n`,
      );
      audit.push(
        JSON.stringify(
          demoAuditEvent(
            live,
            { id: 'sam.ortiz@acme.example', type: 'human' },
            { verb: 'patch' },
            new Date(now.getTime() - 60_000),
          ),
        ),
      );
    }
    await appendFile(path.join(dir, 'audit.jsonl'), `${audit.join('\n')}\n`);
  }
  await commitDesiredState(planesDir);
}

beforeAll(async () => {
  w = await chaosWorkers(inject('temporalAddress'), { DRIFTPLANE_REGISTRY: await fleetRegistry() });
  await seedFleet(w.config.planesDir, new Date());
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
    // Retries for other reasons (a heartbeat timeout on a loaded machine) are not the stores' doing; they are shown.
    if (failed.length > 0)
      console.warn(
        `load: ${failed.length} retried attempt(s), none caused by a store: ${JSON.stringify(failed.slice(0, 5))}`,
      );
    await dup.terminate('chaos load: done');
  }, 420_000);
});
