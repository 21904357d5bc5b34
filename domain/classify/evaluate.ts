import type { ClassifyInput } from './input';
import type { Facts } from './facts';
import { globMatches, pointerCovers } from './pointer';
import type { RuleConditions } from './table';

/** A compiled condition set: true when every given condition holds. */
export type CompiledConditions = (input: ClassifyInput, f: Facts) => boolean;

type Check = (input: ClassifyInput, f: Facts) => boolean;

const bool = (v: boolean | undefined) => v === true;

/**
 * Compiles a rule's conditions into a list of checks for the conditions it actually gives, so a
 * table of dozens of rules costs a handful of comparisons per change. Unknown booleans (an absent
 * `healthy`) never satisfy `true` nor `false`.
 */
export function compileConditions(when: RuleConditions): CompiledConditions {
  const checks: Check[] = [];
  const w = when;
  if (w.relationship) {
    const v = w.relationship;
    checks.push((_i, f) => v.includes(f.planes.relationship));
  }
  if (w.changeType) {
    const v = w.changeType;
    checks.push((i) => v.includes(i.change.changeType));
  }
  if (w.environment) {
    const v = w.environment;
    checks.push((i) => v.includes(i.unit.environment));
  }
  if (w.riskTier) {
    const v = w.riskTier;
    checks.push((i) => v.includes(i.unit.riskTier));
  }
  if (w.domain) {
    const v = w.domain;
    checks.push((i) => i.unit.domain !== undefined && v.includes(i.unit.domain));
  }
  if (w.resourceType) {
    const v = w.resourceType;
    checks.push((i) => v.some((g) => globMatches(g, i.change.resourceType)));
  }
  if (w.categoriesAny) {
    const v = w.categoriesAny;
    checks.push((_i, f) => v.some((c) => f.categories.includes(c)));
  }
  if (w.categoriesOnly) {
    const v = w.categoriesOnly;
    checks.push((_i, f) => f.categories.length > 0 && f.categories.every((c) => v.includes(c)));
  }
  if (w.pathsAny) {
    const v = w.pathsAny;
    checks.push((i) => i.change.changedFields.some((p) => v.some((g) => pointerCovers(g, p))));
  }
  if (w.pathsAll) {
    const v = w.pathsAll;
    checks.push(
      (i) =>
        i.change.changedFields.length > 0 &&
        i.change.changedFields.every((p) => v.some((g) => pointerCovers(g, p))),
    );
  }
  if (w.ownersAll) {
    const v = w.ownersAll;
    checks.push((_i, f) => f.ownership.length > 0 && f.ownership.every((o) => v.includes(o.kind)));
  }
  if (w.ownersAny) {
    const v = w.ownersAny;
    checks.push((_i, f) => f.ownership.some((o) => v.includes(o.kind)));
  }
  if (w.ownershipAmbiguous !== undefined) {
    const v = w.ownershipAmbiguous;
    checks.push((_i, f) => v === f.ownershipAmbiguous);
  }
  if (w.actorType) {
    const v = w.actorType;
    checks.push((_i, f) => v.includes(f.actor?.type ?? 'none'));
  }
  if (w.matchingChange !== undefined) {
    const v = w.matchingChange;
    checks.push((i) => v === (i.context.matchingChange !== undefined));
  }
  if (w.incident) {
    const v = w.incident;
    checks.push((_i, f) => v.includes(f.incident));
  }
  if (w.exception) {
    const v = w.exception;
    checks.push((_i, f) => v.includes(f.exception));
  }
  if (w.providerUpgrade !== undefined) {
    const v = w.providerUpgrade;
    checks.push((i) => v === (i.context.providerUpgrade !== undefined));
  }
  if (w.dependencyChanged !== undefined) {
    const v = w.dependencyChanged;
    checks.push((i) => v === bool(i.context.dependencyChanged));
  }
  if (w.policyViolation !== undefined) {
    const v = w.policyViolation;
    checks.push((i) => v === (i.context.policyViolation !== undefined));
  }
  if (w.createdBeforePolicy !== undefined) {
    const v = w.createdBeforePolicy;
    checks.push((i) => i.context.policyViolation?.createdBeforePolicy === v);
  }
  if (w.runtimeAccepted !== undefined) {
    const v = w.runtimeAccepted;
    checks.push((i) => v === bool(i.context.runtimeAccepted));
  }
  if (w.detector) {
    const v = w.detector;
    checks.push((_i, f) => v.includes(f.detector));
  }
  if (w.reconcileAttemptsAtLeast !== undefined) {
    const v = w.reconcileAttemptsAtLeast;
    checks.push((i) => (i.context.reconcile?.attempts ?? 0) >= v);
  }
  if (w.reconcileError !== undefined) {
    const v = w.reconcileError;
    checks.push(
      (i) => v === (i.context.reconcile?.lastError !== undefined && i.context.reconcile.lastError !== ''),
    );
  }
  if (w.secretVersionMismatch !== undefined) {
    const v = w.secretVersionMismatch;
    checks.push((_i, f) => v === f.secretVersionMismatch);
  }
  if (w.consumersStale !== undefined) {
    const v = w.consumersStale;
    checks.push((i) => i.context.secret?.consumersStale === v);
  }
  if (w.secretRefreshAgeAtLeast !== undefined) {
    const v = w.secretRefreshAgeAtLeast;
    checks.push((i) => (i.context.secret?.lastRefreshAgeMinutes ?? -1) >= v);
  }
  if (w.healthy !== undefined) {
    const v = w.healthy;
    checks.push((i) => i.context.healthy === v);
  }
  if (w.changeFreeze !== undefined) {
    const v = w.changeFreeze;
    checks.push((i) => v === bool(i.context.changeFreeze));
  }
  if (w.destructive !== undefined) {
    const v = w.destructive;
    checks.push((i) => v === bool(i.change.destructive));
  }
  if (w.importing !== undefined) {
    const v = w.importing;
    checks.push((i) => v === bool(i.change.importing));
  }
  if (w.moved !== undefined) {
    const v = w.moved;
    checks.push((i) => v === (i.change.previousAddress !== undefined));
  }
  if (w.costIncreaseAtLeast !== undefined) {
    const v = w.costIncreaseAtLeast;
    checks.push((i) => i.context.costDeltaPercent !== undefined && i.context.costDeltaPercent >= v);
  }
  if (w.unitAutoHeal !== undefined) {
    const v = w.unitAutoHeal;
    checks.push((i) => v === i.unit.policies.autoHeal);
  }
  if (w.requireIncidentForManualChange !== undefined) {
    const v = w.requireIncidentForManualChange;
    checks.push((i) => v === i.unit.policies.requireIncidentForManualChange);
  }
  if (w.classified !== undefined) {
    const v = w.classified;
    checks.push((_i, f) => v === f.classified);
  }
  if (w.driftClass) {
    const v = w.driftClass;
    checks.push((_i, f) => f.driftClass !== undefined && v.includes(f.driftClass));
  }
  if (w.any) {
    const v = w.any.map(compileConditions);
    checks.push((i, f) => v.some((c) => c(i, f)));
  }
  if (w.not) {
    const v = compileConditions(w.not);
    checks.push((i, f) => !v(i, f));
  }
  const n = checks.length;
  return (input, f) => {
    for (let k = 0; k < n; k++) if (!(checks[k] as Check)(input, f)) return false;
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
