import { describe, expect, it } from 'vitest';
import { ClassifyInputSchema, analyzePlanes, classify } from '../../../domain/classify';
import { NOW, inputOf, statelessApp, table } from './support';

// Domain text §2: which relationship between the three planes is broken.
describe('three-plane analysis (§2)', () => {
  it.each([
    [
      'Desired != Actual (replicas changed 3 -> 5)',
      { desired: 'r3', recorded: 'r3', actual: 'r5', refreshObserved: true },
      'recorded!=actual',
    ],
    [
      'Desired != Actual without a recorded plane (GitOps)',
      { desired: 'r3', actual: 'r5' },
      'desired!=actual',
    ],
    ['all three differ', { desired: 'a', recorded: 'b', actual: 'c' }, 'desired!=actual'],
    [
      'Recorded != Actual: state is stale, runtime matches Git',
      { desired: 'a', recorded: 'b', actual: 'a' },
      'recorded!=actual',
    ],
    [
      'Desired != Recorded: config changed but not applied',
      { desired: 'new', recorded: 'old', actual: 'old' },
      'desired!=recorded',
    ],
    [
      'Desired == Recorded but Actual differs, not yet observed',
      { desired: 'a', recorded: 'a', actual: 'b', refreshObserved: false },
      'state-stale',
    ],
    [
      'Render noise (Helm timestamp)',
      { desired: 'a', recorded: 'b', actual: 'b', renderOnly: true },
      'render-noise',
    ],
  ])('%s → %s', (_name, planes, relationship) => {
    expect(analyzePlanes({ resourceRef: 'x', planes }).relationship).toBe(relationship);
  });

  it('a declared relationship is used when there are no plane digests', () => {
    expect(analyzePlanes({ resourceRef: 'x', relationship: 'state-stale' })).toMatchObject({
      relationship: 'state-stale',
      source: 'declared',
    });
  });

  it('planes that agree are rejected as input (nothing to classify)', () => {
    const r = ClassifyInputSchema.safeParse({
      ...statelessApp,
      change: {
        ...statelessApp.change,
        relationship: undefined,
        planes: { desired: 'a', recorded: 'a', actual: 'a' },
      },
    });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['change', 'planes']);
  });

  it('render noise classifies as read noise and is ignored, not reverted', () => {
    const input = inputOf(statelessApp, {
      change: { planes: { desired: 'x', actual: 'y', renderOnly: true } },
    });
    const d = classify(input, table, { now: NOW });
    expect(d).toMatchObject({
      relationship: 'render-noise',
      driftClass: 'PROVIDER_READ_NOISE',
      recommendedAction: 'IGNORE',
      autoHealAllowed: false,
    });
  });

  it('state-stale without an actor asks for a refresh to observe, never auto-heals', () => {
    const input = ClassifyInputSchema.parse({
      ...statelessApp,
      unit: { ...statelessApp.unit, type: 'opentofu-stack' },
      change: {
        ...statelessApp.change,
        resourceType: 'aws_s3_bucket',
        resourceRef: 'aws_s3_bucket.a',
        relationship: undefined,
        changedFields: ['/tags/Team'],
        planes: { desired: 'a', recorded: 'a', actual: 'b', refreshObserved: false },
      },
      context: { detector: statelessApp.context.detector },
    });
    const d = classify(input, table, { now: NOW });
    expect(d).toMatchObject({
      relationship: 'state-stale',
      driftClass: 'STATE_DRIFT',
      recommendedAction: 'STATE_REFRESH',
      autoHealAllowed: false,
    });
  });
});
