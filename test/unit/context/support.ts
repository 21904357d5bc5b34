import { classify } from '../../../domain/classify';
import type { ClassifyInput, Decision } from '../../../domain/classify';
import type { DriftObservation } from '../../../domain/finding';
import { DriftManagedUnitSchema, type DriftManagedUnit } from '../../../domain/registry/schemas';
import { changeSignalsOf, contextSignalsOf } from '../../../activities/lifecycle/registry-policy';
import { loadDecisionTable } from '../../../registry/decision-table';

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

/**
 * Classifies an observation with the default decision table, its context mapped the way
 * activities/lifecycle/registry-policy.ts maps it (changeSignalsOf / contextSignalsOf).
 */
export function classifyObservation(o: DriftObservation, unit: DriftManagedUnit): Decision {
  const now = new Date(o.detectedAt);
  const input: ClassifyInput = {
    unit: {
      name: unit.metadata.name,
      type: unit.spec.type,
      owner: unit.spec.owner,
      environment: unit.spec.environment,
      riskTier: unit.spec.riskTier,
      ...(unit.spec.domain ? { domain: unit.spec.domain } : {}),
      policies: { autoHeal: unit.spec.policies.autoHeal, requireIncidentForManualChange: unit.spec.policies.requireIncidentForManualChange },
    },
    change: {
      resourceRef: o.resourceRef,
      resourceType: o.resourceType,
      relationship: o.relationship,
      changeType: o.changeType,
      changedFields: o.changedFields,
      ...changeSignalsOf(o),
    },
    context: {
      detector: { status: 'ok' },
      now: now.toISOString(),
      ...(o.auditCorrelation
        ? { actor: { id: o.auditCorrelation.actor.id, type: o.auditCorrelation.actor.type, source: o.auditCorrelation.source, eventTime: o.auditCorrelation.eventTime } }
        : {}),
      ...contextSignalsOf(o),
    },
    ...(o.context?.managedFields ? { managedFields: o.context.managedFields } : {}),
  };
  return classify(input, loadDecisionTable(), { now });
}

/** The ids of the rules that fired. */
export function firedRules(d: Decision): string[] {
  return d.reasons.map((r) => r.ruleId);
}

/** An audit actor on an observation. */
export function actor(type: 'human' | 'controller' | 'ci' | 'unknown' | 'break-glass', id = type === 'human' ? 'maria@acme.example' : `${type}-actor`): NonNullable<DriftObservation['auditCorrelation']> {
  return { actor: { id, type }, source: 'k8s-audit', eventTime: '2026-11-24T11:55:00.000Z' };
}
