import type { Decision } from '../../../domain/classify';
import { classifyObservation as classifyThroughLiveFlow } from '../../support/classify-observation';
import type { DriftObservation } from '../../../domain/finding';
import { DriftManagedUnitSchema, type DriftManagedUnit } from '../../../domain/registry/schemas';

/** A unit document as the registry parses it. */
export function unitOf(name: string, spec: Record<string, unknown>): DriftManagedUnit {
  return DriftManagedUnitSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftManagedUnit',
    metadata: { name },
    spec: { owner: 'shop', riskTier: 'standard', source: { repo: 'github.com/acme/infra', path: name }, ...spec },
  });
}

/** An observation with defaults a detector would set. */
export function observation(o: Partial<DriftObservation> & Pick<DriftObservation, 'resourceRef' | 'resourceType' | 'diff'>): DriftObservation {
  return {
    unit: 'shop',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: o.diff.map((d) => d.path),
    detectedAt: '2026-11-24T12:00:00.000Z',
    detector: 'test',
    ...o,
  };
}

/** Classifies an observation with the default decision table, through the live flow's classifyInputOf. */
export function classifyObservation(o: DriftObservation, unit: DriftManagedUnit): Decision {
  return classifyThroughLiveFlow(o, unit);
}

/** The ids of the rules that fired. */
export function firedRules(d: Decision): string[] {
  return d.reasons.map((r) => r.ruleId);
}

/** An audit actor on an observation. */
export function actor(type: 'human' | 'controller' | 'ci' | 'unknown' | 'break-glass', id = type === 'human' ? 'maria@acme.example' : `${type}-actor`): NonNullable<DriftObservation['auditCorrelation']> {
  return { actor: { id, type }, source: 'k8s-audit', eventTime: '2026-11-24T11:55:00.000Z' };
}
