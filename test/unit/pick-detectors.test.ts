import { describe, expect, it } from 'vitest';
import { addCoverage, unitTypeDetector } from '../../activities/scan/pick-detectors';
import type { UnitDetector } from '../../activities/scan/detectors';
import type { ContextSource } from '../../activities/context/source';
import { isFullCoverage, type DetectionCoverage, type DriftObservation } from '../../domain/finding';
import type { LocalDetection } from '../../activities/local-planes/local-planes';
import { DriftManagedUnitSchema } from '../../domain/registry/schemas';
import type { Registry } from '../../registry';

const now = new Date('2026-12-03T10:00:00Z');
const stack = DriftManagedUnitSchema.parse({
  apiVersion: 'driftplane.io/v1alpha1',
  kind: 'DriftManagedUnit',
  metadata: { name: 'stack' },
  spec: { type: 'opentofu-stack', owner: 'team', environment: 'dev', riskTier: 'standard', account: '111122223333', source: { repo: 'file:///x', path: 'p' }, state: { backend: 'local', path: 's' }, credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } },
});
const registry = { units: new Map([['stack', stack]]) } as unknown as Registry;

const obs = (ref: string, detector: string): DriftObservation => ({
  unit: 'stack', resourceRef: ref, resourceType: 'aws_instance', relationship: 'recorded!=actual', changeType: 'modified',
  changedFields: ['/instance_type'], diff: [{ path: '/instance_type', kind: 'changed', desired: 't3.micro', actual: 'm5.large' }], detectedAt: now.toISOString(), detector,
});
const cov = (covered: number, total: number, uncovered: string[] = []): DetectionCoverage => ({ coveredTypes: 1, totalTypes: uncovered.length + 1, coveredResources: covered, totalResources: total, uncoveredTypes: uncovered });

function adapter(name: string, result: LocalDetection | Error): UnitDetector {
  return {
    name,
    has: async () => true,
    detect: async () => {
      if (result instanceof Error) throw result;
      return result;
    },
    revert: async () => undefined,
  };
}

describe('unitTypeDetector: every adapter the unit type picks, merged', () => {
  it('merges the drift of plan and inventory, keeps the least-covered view, and joins context', async () => {
    const context: ContextSource = { name: 'cost', contextFor: async ({ observations }) => observations.map(() => ({ costDeltaPercent: 300 })) };
    const d = unitTypeDetector({
      registry: async () => registry,
      adapters: {
        plan: adapter('plan', { status: 'ok', unit: 'stack', observations: [obs('aws_instance.a', 'plan')], resources: 3 }),
        'aws-inventory': adapter('aws-inventory', { status: 'ok', unit: 'stack', observations: [obs('aws_instance.b', 'aws-inventory')], resources: 2, coverage: cov(2, 3, ['aws_lambda_function']) }),
      },
      context: [context],
    });
    const r = await d.detect('stack', now);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.observations.map((o) => o.resourceRef)).toEqual(['aws_instance.a', 'aws_instance.b']);
    expect(r.observations.every((o) => o.context?.costDeltaPercent === 300)).toBe(true);
    expect(r.resources).toBe(5);
    expect(r.coverage).toEqual(cov(2, 3, ['aws_lambda_function']));
    expect(r.partialFailure).toBeUndefined();
  });

  it('one adapter failing: the other drift is reported plus one DETECTION_STALE observation, and the attempt is a failure', async () => {
    const d = unitTypeDetector({
      registry: async () => registry,
      adapters: {
        plan: adapter('plan', { status: 'failed', unit: 'stack', error: 'state lock held' }),
        'aws-inventory': adapter('aws-inventory', { status: 'ok', unit: 'stack', observations: [obs('aws_instance.b', 'aws-inventory')], resources: 2 }),
      },
    });
    const r = await d.detect('stack', now);
    if (r.status !== 'ok') throw new Error('expected ok');
    expect(r.partialFailure).toBe('plan: state lock held');
    expect(r.observations).toHaveLength(2);
    expect(r.observations[1]).toMatchObject({ detectorStatus: 'failed', resourceRef: 'unit/stack', detectorError: 'plan: state lock held' });
  });

  it('every adapter failing (or throwing) is a failed detection naming each; no adapter is a failure too', async () => {
    const d = unitTypeDetector({
      registry: async () => registry,
      adapters: { plan: adapter('plan', new Error('tofu not found')), 'aws-inventory': adapter('aws-inventory', { status: 'failed', unit: 'stack', error: 'AccessDenied' }) },
    });
    expect(await d.detect('stack', now)).toEqual({ status: 'failed', unit: 'stack', error: 'plan: tofu not found; aws-inventory: AccessDenied' });
    const none = unitTypeDetector({ registry: async () => registry, adapters: {} });
    expect(await none.detect('stack', now)).toEqual({ status: 'failed', unit: 'stack', error: 'no detector can observe stack' });
    expect(await none.has('stack')).toBe(false);
  });

  it('a context source that throws marks the context incomplete (unjoined), never empty silently', async () => {
    const broken: ContextSource = { name: 'incidents:file', contextFor: async () => { throw new Error('incidents.yaml:3:7 /incidents/0/status: invalid'); } };
    const d = unitTypeDetector({ registry: async () => registry, adapters: { plan: adapter('plan', { status: 'ok', unit: 'stack', observations: [obs('aws_instance.a', 'plan')], resources: 1 }) }, context: [broken] });
    const r = await d.detect('stack', now);
    if (r.status !== 'ok') throw new Error('expected ok');
    expect(r.observations[0]?.context?.unjoined).toEqual(['incidents:file: incidents.yaml:3:7 /incidents/0/status: invalid']);
  });
});

describe('isFullCoverage: only full coverage lets "no drift" be clean (unitScan says partial otherwise)', () => {
  it.each([
    ['every type and resource seen', cov(3, 3), true],
    ['a resource not seen', cov(2, 3), false],
    ['a type that could not be listed, with no resource counted', { ...cov(3, 3), uncoveredTypes: ['aws_lambda_function'] }, false],
    ['fewer covered types than types', { ...cov(3, 3), coveredTypes: 1, totalTypes: 2 }, false],
    ['nothing to cover', cov(0, 0), true],
  ])('%s', (_what, c, full) => {
    expect(isFullCoverage(c)).toBe(full);
  });
});

describe('addCoverage', () => {
  it('keeps the least-covered of two overlapping figures with every uncovered type', () => {
    expect(addCoverage(cov(9, 10, ['a']), cov(5, 10, ['b']))).toEqual({ ...cov(5, 10, ['b']), uncoveredTypes: ['a', 'b'] });
    expect(addCoverage(undefined, cov(1, 1))).toEqual(cov(1, 1));
  });
});
