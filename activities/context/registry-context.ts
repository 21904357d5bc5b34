import { complianceContext } from '../../domain/context/compliance';
import { costContext } from '../../domain/context/cost';
import { dependencyContext } from '../../domain/context/dependency';
import { changeFreezeFor } from '../../domain/context/freeze';
import type { ContextSource } from './source';

/**
 * Context sources read from the registry passed to `contextFor` (issue 11 §4): change freezes
 * (`ChangeFreeze`), compliance policies (`CompliancePolicy`), cost (the unit's `spec.cost` over
 * the built-in price table) and dependencies (mutable references in the drift's values). They do
 * no I/O; the registry is their embedded source (docs/detection-context.md).
 */

/** A freeze calendar covering the unit with a window holding `detectedAt`: `{ changeFreeze: <name> }`. */
export const changeFreezeSource: ContextSource = {
  name: 'change-freeze',
  contextFor: async ({ unit, registry, observations }) =>
    observations.map((o) => {
      const name = changeFreezeFor(registry.changeFreezes.values(), unit, o);
      return name ? { changeFreeze: name } : undefined;
    }),
};

/** A compliance policy in force that a live value breaks: `{ policyViolation }` (or `unjoined` when the creation time is unknown). */
export const complianceSource: ContextSource = {
  name: 'compliance',
  contextFor: async ({ unit, registry, observations }) =>
    observations.map((o) => complianceContext(registry.compliancePolicies.values(), unit, o)),
};

/** A size change beyond the unit's cost tolerance: `{ costDeltaPercent }`. */
export const costSource: ContextSource = {
  name: 'cost',
  contextFor: async ({ unit, observations }) => observations.map((o) => costContext(o, unit.spec.cost)),
};

/** A mutable reference (image tag without digest, unpinned module or chart) in desired or live: `{ dependency }`. */
export const dependencySource: ContextSource = {
  name: 'dependency',
  contextFor: async ({ observations }) => observations.map((o) => dependencyContext(o)),
};

/** The registry-backed context sources, in the order the joiner should apply them. */
export function registryContextSources(): ContextSource[] {
  return [changeFreezeSource, complianceSource, costSource, dependencySource];
}
