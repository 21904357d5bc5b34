import type { ClassifyInput } from './input';
import type { Facts } from './facts';
import { globMatches, pointerCovers } from './pointer';
import type { RuleConditions } from './table';

/** A compiled condition set: true when every given condition holds. */
export type CompiledConditions = (input: ClassifyInput, f: Facts) => boolean;

type Check = (input: ClassifyInput, f: Facts) => boolean;

/** Cost tiers of checks: scalar comparisons, fact lists, path and glob matching, nested conditions. */
const SCALAR = 0;
const LIST = 1;
const MATCH = 2;
const NESTED = 3;

const bool = (v: boolean | undefined) => v === true;

/**
 * Compiles a rule's conditions into a list of checks for the conditions it actually gives, so a
 * table of dozens of rules costs a handful of comparisons per change. Unknown booleans (an absent
 * `healthy`) never satisfy `true` nor `false`.
 */
export function compileConditions(when: RuleConditions): CompiledConditions {
  const tiers: [number, Check][] = [];
  let tier = SCALAR;
  const add = (c: Check) => tiers.push([tier, c]);
  const w = when;
  if (w.relationship) {
    const v = w.relationship;
    add((_i, f) => v.includes(f.planes.relationship));
  }
  if (w.changeType) {
    const v = w.changeType;
    add((i) => v.includes(i.change.changeType));
  }
  if (w.environment) {
    const v = w.environment;
    add((i) => v.includes(i.unit.environment));
  }
  if (w.riskTier) {
    const v = w.riskTier;
    add((i) => v.includes(i.unit.riskTier));
  }
  if (w.domain) {
    const v = w.domain;
    add((i) => i.unit.domain !== undefined && v.includes(i.unit.domain));
  }
  tier = MATCH;
  if (w.resourceType) {
    const v = w.resourceType;
    add((i) => v.some((g) => globMatches(g, i.change.resourceType)));
  }
  tier = LIST;
  if (w.categoriesAny) {
    const v = w.categoriesAny;
    add((_i, f) => v.some((c) => f.categories.includes(c)));
  }
  if (w.categoriesOnly) {
    const v = w.categoriesOnly;
    add((_i, f) => f.categories.length > 0 && f.categories.every((c) => v.includes(c)));
  }
  tier = MATCH;
  if (w.pathsAny) {
    const v = w.pathsAny;
    add((i) => i.change.changedFields.some((p) => v.some((g) => pointerCovers(g, p))));
  }
  if (w.pathsAll) {
    const v = w.pathsAll;
    add(
      (i) =>
        i.change.changedFields.length > 0 &&
        i.change.changedFields.every((p) => v.some((g) => pointerCovers(g, p))),
    );
  }
  tier = LIST;
  if (w.ownersAll) {
    const v = w.ownersAll;
    add((_i, f) => f.ownership.length > 0 && f.ownership.every((o) => v.includes(o.kind)));
  }
  if (w.ownersAny) {
    const v = w.ownersAny;
    add((_i, f) => f.ownership.some((o) => v.includes(o.kind)));
  }
  tier = SCALAR;
  if (w.ownershipAmbiguous !== undefined) {
    const v = w.ownershipAmbiguous;
    add((_i, f) => v === f.ownershipAmbiguous);
  }
  if (w.actorType) {
    const v = w.actorType;
    add((_i, f) => v.includes(f.actor?.type ?? 'none'));
  }
  if (w.matchingChange !== undefined) {
    const v = w.matchingChange;
    add((i) => v === (i.context.matchingChange !== undefined));
  }
  if (w.incident) {
    const v = w.incident;
    add((_i, f) => v.includes(f.incident));
  }
  if (w.exception) {
    const v = w.exception;
    add((_i, f) => v.includes(f.exception));
  }
  if (w.providerUpgrade !== undefined) {
    const v = w.providerUpgrade;
    add((i) => v === (i.context.providerUpgrade !== undefined));
  }
  if (w.dependencyChanged !== undefined) {
    const v = w.dependencyChanged;
    add((i) => v === bool(i.context.dependencyChanged));
  }
  if (w.policyViolation !== undefined) {
    const v = w.policyViolation;
    add((i) => v === (i.context.policyViolation !== undefined));
  }
  if (w.createdBeforePolicy !== undefined) {
    const v = w.createdBeforePolicy;
    add((i) => i.context.policyViolation?.createdBeforePolicy === v);
  }
  if (w.runtimeAccepted !== undefined) {
    const v = w.runtimeAccepted;
    add((i) => v === bool(i.context.runtimeAccepted));
  }
  if (w.detector) {
    const v = w.detector;
    add((_i, f) => v.includes(f.detector));
  }
  if (w.reconcileAttemptsAtLeast !== undefined) {
    const v = w.reconcileAttemptsAtLeast;
    add((i) => (i.context.reconcile?.attempts ?? 0) >= v);
  }
  if (w.reconcileError !== undefined) {
    const v = w.reconcileError;
    add(
      (i) => v === (i.context.reconcile?.lastError !== undefined && i.context.reconcile.lastError !== ''),
    );
  }
  if (w.secretVersionMismatch !== undefined) {
    const v = w.secretVersionMismatch;
    add((_i, f) => v === f.secretVersionMismatch);
  }
  if (w.consumersStale !== undefined) {
    const v = w.consumersStale;
    add((i) => i.context.secret?.consumersStale === v);
  }
  if (w.secretRefreshAgeAtLeast !== undefined) {
    const v = w.secretRefreshAgeAtLeast;
    add((i) => (i.context.secret?.lastRefreshAgeMinutes ?? -1) >= v);
  }
  if (w.healthy !== undefined) {
    const v = w.healthy;
    add((i) => i.context.healthy === v);
  }
  if (w.changeFreeze !== undefined) {
    const v = w.changeFreeze;
    add((i) => v === bool(i.context.changeFreeze));
  }
  if (w.destructive !== undefined) {
    const v = w.destructive;
    add((i) => v === bool(i.change.destructive));
  }
  if (w.importing !== undefined) {
    const v = w.importing;
    add((i) => v === bool(i.change.importing));
  }
  if (w.moved !== undefined) {
    const v = w.moved;
    add((i) => v === (i.change.previousAddress !== undefined));
  }
  if (w.costIncreaseAtLeast !== undefined) {
    const v = w.costIncreaseAtLeast;
    add((i) => i.context.costDeltaPercent !== undefined && i.context.costDeltaPercent >= v);
  }
  if (w.unitAutoHeal !== undefined) {
    const v = w.unitAutoHeal;
    add((i) => v === i.unit.policies.autoHeal);
  }
  if (w.requireIncidentForManualChange !== undefined) {
    const v = w.requireIncidentForManualChange;
    add((i) => v === i.unit.policies.requireIncidentForManualChange);
  }
  if (w.regression !== undefined) {
    const v = w.regression;
    add((i) => v === (i.context.regression !== undefined));
  }
  if (w.classified !== undefined) {
    const v = w.classified;
    add((_i, f) => v === f.classified);
  }
  if (w.driftClass) {
    const v = w.driftClass;
    add((_i, f) => f.driftClass !== undefined && v.includes(f.driftClass));
  }
  tier = NESTED;
  if (w.any) {
    const v = w.any.map(compileConditions);
    add((i, f) => v.some((c) => c(i, f)));
  }
  if (w.not) {
    const v = compileConditions(w.not);
    add((i, f) => !v(i, f));
  }
  // Cheap checks first: a rule usually fails on a scalar before any path is matched.
  const ordered = tiers.sort((a, b) => a[0] - b[0]).map(([, c]) => c);
  const [first, second] = ordered;
  if (first === undefined) return () => true;
  if (second === undefined) return first;
  const n = ordered.length;
  return (input, f) => {
    for (let k = 0; k < n; k++) if (!(ordered[k] as Check)(input, f)) return false;
    return true;
  };
}

const compiled = new WeakMap<RuleConditions, CompiledConditions>();

/** Evaluates one rule's conditions against an input and its facts (compiled once per conditions object). */
export function conditionsHold(when: RuleConditions, input: ClassifyInput, f: Facts): boolean {
  let c = compiled.get(when);
  if (!c) {
    c = compileConditions(when);
    compiled.set(when, c);
  }
  return c(input, f);
}
