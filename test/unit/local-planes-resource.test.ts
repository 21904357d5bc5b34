/**
 * Verification and revert read only the resource they need (issue 13 §3): LocalPlanes keeps where
 * each resource was last seen and reads that one file; a stale hint falls back to a full read, and
 * a resource the hint does not know is never taken as absent.
 */
import { mkdir, mkdtemp, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLifecycleActivities, type LifecycleDeps } from '../../activities/lifecycle';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { localPlanesDetector } from '../../activities/scan/detectors';
import type { DriftObservation } from '../../domain/finding';
import { EvidenceStore } from '../../evidence/evidence-store';

const UNIT = 'shop';
const NOW = new Date('2026-12-04T10:00:00Z');

const deployment = (name: string, image: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'shop' },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image }] } } },
  ...extra,
});

let root: string;
const desiredFile = (n: string) => path.join(root, UNIT, 'desired', `${n}.json`);
const actualFile = (n: string) => path.join(root, UNIT, 'actual', `${n}.json`);
const write = (file: string, doc: unknown) => writeFile(file, `${JSON.stringify(doc, null, 2)}\n`);

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'driftplane-planes-'));
  await mkdir(path.join(root, UNIT, 'desired'), { recursive: true });
  await mkdir(path.join(root, UNIT, 'actual'), { recursive: true });
  for (const n of ['a', 'b', 'c', 'd']) {
    await write(desiredFile(n), deployment(n, 'shop:1.0'));
    // a: drifted image; b: equal; c: drifted replicas; d: equal.
    await write(actualFile(n), n === 'a' ? deployment(n, 'shop:9.9') : n === 'c' ? { ...deployment(n, 'shop:1.0'), spec: { ...deployment(n, 'shop:1.0').spec, replicas: 5 } } : deployment(n, 'shop:1.0'));
  }
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** An observation without what only a whole-unit detection adds (the audit actor). */
const comparable = (o: DriftObservation) => {
  const { auditCorrelation: _a, ...rest } = o;
  return rest;
};

describe('LocalPlanes.detectResource', () => {
  it('agrees with a whole-unit detection for every resource, drifted or not', async () => {
    const planes = new LocalPlanes(root);
    const whole = await planes.detect(UNIT, NOW);
    if (whole.status !== 'ok') throw new Error(whole.error);
    expect(whole.observations.map((o) => o.resourceRef)).toEqual(['Deployment/shop/a', 'Deployment/shop/c']);
    for (const ref of ['Deployment/shop/a', 'Deployment/shop/b', 'Deployment/shop/c', 'Deployment/shop/d']) {
      const one = await planes.detectResource(UNIT, ref, NOW);
      if (one.status !== 'ok') throw new Error(one.error);
      expect(one.observations.map(comparable)).toEqual(whole.observations.filter((o) => o.resourceRef === ref).map(comparable));
      expect(one.resources).toBe(1);
    }
  });

  it('reads only the resource it is asked about: a broken file of another resource does not matter', async () => {
    const planes = new LocalPlanes(root);
    await planes.detect(UNIT, NOW);
    await writeFile(actualFile('d'), '{ not json');
    // The whole unit can no longer be read ...
    expect(await planes.detect(UNIT, NOW)).toMatchObject({ status: 'failed', error: expect.stringContaining('d.json') as unknown });
    // ... but a's two files can, and a still differs.
    const one = await planes.detectResource(UNIT, 'Deployment/shop/a', NOW);
    expect(one).toMatchObject({ status: 'ok', observations: [{ resourceRef: 'Deployment/shop/a', changedFields: ['/spec/template/spec/containers/0/image'] }] });
  });

  it('follows a resource that moved to another file (a stale hint falls back to a full read)', async () => {
    const planes = new LocalPlanes(root);
    await planes.detect(UNIT, NOW);
    await rename(actualFile('a'), actualFile('zz-moved'));
    expect(await planes.detectResource(UNIT, 'Deployment/shop/a', NOW)).toMatchObject({ status: 'ok', observations: [{ resourceRef: 'Deployment/shop/a', changeType: 'modified' }] });
    // The same when the hinted file now holds another resource.
    await write(actualFile('c'), deployment('b', 'shop:1.0'));
    await write(actualFile('b'), deployment('c', 'shop:1.0'));
    expect(await planes.detectResource(UNIT, 'Deployment/shop/c', NOW)).toMatchObject({ status: 'ok', observations: [] });
  });

  it('never takes a resource as absent from the hint: a new one is found, a deleted one is reported deleted', async () => {
    const planes = new LocalPlanes(root);
    await planes.detect(UNIT, NOW);
    await write(desiredFile('e'), deployment('e', 'shop:1.0'));
    expect(await planes.detectResource(UNIT, 'Deployment/shop/e', NOW)).toMatchObject({ status: 'ok', observations: [{ resourceRef: 'Deployment/shop/e', changeType: 'deleted' }] });
    await unlink(actualFile('b'));
    expect(await planes.detectResource(UNIT, 'Deployment/shop/b', NOW)).toMatchObject({ status: 'ok', observations: [{ resourceRef: 'Deployment/shop/b', changeType: 'deleted' }] });
    expect(await planes.detectResource(UNIT, 'Deployment/shop/nowhere', NOW)).toMatchObject({ status: 'ok', observations: [], resources: 0 });
  });

  it('is a failed detection, never "no drift", when the unit cannot be read', async () => {
    const planes = new LocalPlanes(root);
    await rm(path.join(root, UNIT, 'desired'), { recursive: true });
    expect(await planes.detectResource(UNIT, 'Deployment/shop/a', NOW)).toMatchObject({ status: 'failed' });
  });
});

describe('revert and verification read one resource', () => {
  it('reverts a resource while another file of the unit is broken, and verifies it clean without recording a unit detection', async () => {
    const planes = new LocalPlanes(root);
    const whole = await planes.detect(UNIT, NOW);
    if (whole.status !== 'ok') throw new Error(whole.error);
    const drifted = whole.observations.find((o) => o.resourceRef === 'Deployment/shop/a')!;
    await writeFile(actualFile('d'), '{ not json');

    expect(await planes.revert(UNIT, drifted.resourceRef, 'run-1:reconcile', NOW)).toMatchObject({ applied: true });
    expect(JSON.parse(await readFile(actualFile('a'), 'utf8'))).toMatchObject({ spec: { template: { spec: { containers: [{ image: 'shop:1.0' }] } } } });
    expect(await planes.revert(UNIT, drifted.resourceRef, 'run-1:reconcile', NOW)).toMatchObject({ applied: false });

    const recorded: string[] = [];
    const evidence = new EvidenceStore(path.join(root, 'evidence'));
    const acts = createLifecycleActivities({
      evidence,
      planes,
      detector: localPlanesDetector(planes),
      status: { record: async (unit: string) => void recorded.push(unit) },
    } as unknown as LifecycleDeps);
    const ids = { findingId: `${UNIT}:a`, runId: 'run-1' };
    expect(await acts.verifyClosure({ ...ids, observation: drifted, attempt: 1 })).toEqual({ clean: true, detail: 'Deployment/shop/a matches desired state' });
    const c = whole.observations.find((o) => o.resourceRef === 'Deployment/shop/c')!;
    expect(await acts.verifyClosure({ ...ids, observation: c, attempt: 2 })).toEqual({ clean: false, detail: 'Deployment/shop/c still differs at /spec/replicas' });
    // One resource read is not a detection of the unit: the unit's staleness clock is left alone.
    expect(recorded).toEqual([]);
    expect((await evidence.read(ids.findingId)).map((r) => r.step)).toEqual(['verified-1', 'verified-2']);
  });
});
