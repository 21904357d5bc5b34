import { classify, type Decision } from '../../domain/classify';
import type { DriftObservation } from '../../domain/finding';
import { DriftManagedUnitSchema, type DriftManagedUnit } from '../../domain/registry/schemas';
import { classifyInputOf } from '../../activities/lifecycle/registry-policy';
import { loadDecisionTable } from '../../registry/decision-table';

/** A unit document as the registry parses it, with test defaults (owner `shop`, `standard` tier, a GitHub source). */
export function testUnit(name: string, spec: Record<string, unknown>): DriftManagedUnit {
  return DriftManagedUnitSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftManagedUnit',
    metadata: { name },
    spec: { owner: 'shop', environment: 'dev', riskTier: 'standard', source: { repo: 'github.com/acme/infra', path: name }, ...spec },
  });
}

/**
 * Classifies an observation with the default decision table (or `table`), its input built by the
 * live flow's own {@link classifyInputOf}: what a detector puts in an observation reaches the
 * table exactly as it does in a lifecycle.
 */
export function classifyObservation(o: DriftObservation, unit: DriftManagedUnit, opts: { now?: Date; table?: ReturnType<typeof loadDecisionTable> } = {}): Decision {
  const now = opts.now ?? new Date(o.detectedAt);
  return classify(classifyInputOf(o, unit, { now }), opts.table ?? loadDecisionTable(), { now });
}

/** The ids of the rules that fired. */
export function firedRules(d: Decision): string[] {
  return d.reasons.map((r) => r.ruleId);
}
