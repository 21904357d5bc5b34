import type { Decision, Reason } from './decision';
import { compileTable, factBits, type WhyTemplate } from './compile';
import { deriveFacts, resolveNow, type Facts } from './facts';
import type { ClassifyInput } from './input';
import type { FieldOwnership } from './ownership';
import { pointerCovers } from './pointer';
import { redactText, secretValuesOf } from './redact';
import type { Budget, DecisionTable } from './table';
import {
  AUTO_HEAL_ACTIONS,
  NEVER_AUTO_HEAL_CATEGORIES,
  NO_PERSON_ACTIONS,
  maxRisk,
  minRisk,
  raiseRisk,
  riskRank,
  type Action,
  type DriftClass,
  type Risk,
} from './vocabulary';

/** Options of {@link classify}. */
export interface ClassifyOptions {
  /** The evaluation time (exception expiry, detector age). Wins over `context.now`. Never read from the clock. */
  now?: Date;
}

const HARD_CATEGORY_RULE: Record<string, string> = {
  identity: 'hard:identity-never-auto-heal',
  'network-exposure': 'hard:network-exposure-never-auto-heal',
  database: 'hard:database-never-auto-heal',
  secret: 'hard:secret-never-auto-heal',
};

const FALLBACK_CLASS: DriftClass = 'UNAUTHORIZED_RUNTIME_DRIFT';

/** Relationships in which the desired state is not a fresh authority to heal towards. */
const NOT_FRESH_RELATIONSHIPS: ReadonlySet<string> = new Set(['desired!=recorded', 'state-stale', 'render-noise']);

/** Per-classification state for filling `why` templates: each placeholder is computed and redacted once. */
interface Filler {
  input: ClassifyInput;
  f: Facts;
  values: Map<string, string>;
  secrets?: string[];
}

function secretsOf(x: Filler): string[] {
  return (x.secrets ??= secretValuesOf(x.input));
}

function fill(template: WhyTemplate, x: Filler): string {
  let out = template[0] as string;
  for (let k = 1; k < template.length; k += 2) {
    const key = template[k] as string;
    let v = x.values.get(key);
    if (v === undefined) {
      // Rule texts are the table author's; only the values filled in from the input are scrubbed.
      v = redactText(value(`{${key}}`, key, x.input, x.f), secretsOf(x));
      x.values.set(key, v);
    }
    out += v + (template[k + 1] as string);
  }
  return out;
}

function value(m: string, key: string, input: ClassifyInput, f: Facts): string {
  const c = input.context;
  {
    switch (key) {
      case 'actor':
        return f.actor
          ? `${f.actor.id} (${f.actor.type}${f.actorInferred ? ', from managedFields' : ''})`
          : 'unknown actor';
      case 'incident':
        return c.incident ? `${c.incident.id} (${c.incident.status})` : 'no incident';
      case 'exception':
        return f.exceptionWhy ?? 'no exception';
      case 'policy':
        return c.policyViolation?.policyId ?? 'no policy';
      case 'providerUpgrade':
        return c.providerUpgrade
          ? `${c.providerUpgrade.from} -> ${c.providerUpgrade.to}`
          : 'no provider upgrade';
      case 'fields':
        return input.change.changedFields.join(', ') || '(whole resource)';
      case 'owners':
        return (
          f.ownership.map((o) => `${o.path || '/'}: ${o.owner} (${o.kind}, ${o.source})`).join('; ') || 'none'
        );
      case 'environment':
        return input.unit.environment;
      case 'riskTier':
        return input.unit.riskTier;
      case 'relationship':
        return f.planes.relationship;
      case 'attempts':
        return String(c.reconcile?.attempts ?? 0);
      case 'lastError':
        return c.reconcile?.lastError ?? 'none';
      case 'externalVersion':
        return c.secret?.externalVersion ?? 'unknown';
      case 'clusterVersion':
        return c.secret?.clusterVersion ?? 'unknown';
      case 'detector':
        return f.detectorWhy;
      case 'change':
        return c.matchingChange ? `${c.matchingChange.kind} ${c.matchingChange.ref}` : 'no matching change';
      case 'regression':
        return c.regression
          ? `run ${c.regression.previousRunId} (${c.regression.previousOutcome} at ${c.regression.closedAt})`
          : 'no earlier run';
      case 'cost':
        return c.costDeltaPercent !== undefined ? `${c.costDeltaPercent}%` : 'unknown';
      default:
        return m;
    }
  }
}

function copyOwnership(o: FieldOwnership): FieldOwnership {
  const c = { ...o };
  if (o.managers) c.managers = [...o.managers];
  return c;
}

function classifyOnce(input: ClassifyInput, table: DecisionTable, nowMs: number | undefined): Decision {
  const { unit, change, context } = input;
  const compiled = compileTable(table);
  const f = deriveFacts(input, nowMs);
  const reasons: Reason[] = [];
  const filler: Filler = { input, f, values: new Map() };
  const bits = factBits(input, f);

  let driftClass: DriftClass | undefined;
  let action: Action | undefined;
  let risk: Risk | undefined;
  let floor: Risk | undefined;
  let cap: Risk | undefined;
  let raise = 0;
  let allow: string | undefined;
  let deny: string | undefined;
  let requiresHealthy: string | undefined;
  let budget: Budget | undefined;
  const notify: string[] = [unit.owner];
  const approvers: string[] = [];
  let createIncident = false;
  let createIssue = false;

  for (const rule of compiled.rules) {
    if ((bits & rule.rejects) !== 0 || !rule.matches(input, f)) continue;
    reasons.push({ ruleId: rule.id, why: fill(rule.why, filler) });
    const t = rule.then;
    if (driftClass === undefined && t.driftClass !== undefined) {
      driftClass = t.driftClass;
      f.classified = true;
      f.driftClass = t.driftClass;
    }
    if (action === undefined && t.action !== undefined) action = t.action;
    if (risk === undefined && t.risk !== undefined) risk = t.risk;
    if (t.riskAtLeast !== undefined)
      floor = floor === undefined ? t.riskAtLeast : maxRisk(floor, t.riskAtLeast);
    if (t.riskRaise !== undefined) raise += t.riskRaise;
    if (t.riskAtMost !== undefined) cap = cap === undefined ? t.riskAtMost : minRisk(cap, t.riskAtMost);
    if (t.autoHeal === 'deny' && deny === undefined) deny = rule.id;
    if (t.autoHeal === 'allow' && allow === undefined) allow = rule.id;
    if (t.autoHealRequiresHealthy === true && requiresHealthy === undefined) requiresHealthy = rule.id;
    if (t.budget !== undefined && budget === undefined) budget = t.budget;
    if (t.route) {
      for (const n of t.route.notify ?? []) if (!notify.includes(n)) notify.push(n);
      for (const a of t.route.approvers ?? []) if (!approvers.includes(a)) approvers.push(a);
      if (t.route.createIncident === true) createIncident = true;
      if (t.route.createIssue === true) createIssue = true;
    }
    if (t.stop === true) break;
  }

  if (driftClass === undefined) {
    driftClass = FALLBACK_CLASS;
    reasons.push({
      ruleId: 'fallback:unclassified',
      why: 'no rule classified this change; unknown drift is treated as unauthorized until a person says otherwise',
    });
  }

  // Hard rule (§24.1, §25.5): a failed or overdue detector means unknown, never clean and never "no drift".
  if (f.detector !== 'ok' && driftClass !== 'DETECTION_STALE') {
    driftClass = 'DETECTION_STALE';
    action = undefined;
    reasons.push({ ruleId: 'hard:detection-stale', why: `${f.detectorWhy}: the result is stale, not clean` });
  }
  // Hard rule (§24.3): the same drift healed again and again is a fight with another writer, not
  // drift to revert once more. Auto-heal stops; a person decides.
  const breaker = context.autoHealBreaker;
  if (breaker?.tripped === true && driftClass !== 'DETECTION_STALE') {
    driftClass = 'FAILED_RECONCILIATION';
    action = 'INCIDENT';
    floor = floor === undefined ? 'HIGH' : maxRisk(floor, 'HIGH');
    const who = breaker.otherManager ? `; ${breaker.otherManager} writes them back` : '';
    reasons.push({
      ruleId: 'hard:auto-heal-breaker',
      why: `auto-healed ${breaker.heals} times within ${breaker.window} and the drift came back at ${(breaker.fields ?? change.changedFields).join(', ')}${who}: a controller fight, not drift`,
    });
  }
  if (driftClass === 'DETECTION_STALE') {
    floor = floor === undefined ? 'MEDIUM' : maxRisk(floor, 'MEDIUM');
    if (action !== undefined && action !== 'INCIDENT' && action !== 'NONE') action = undefined;
  }

  const defaults = table.classDefaults[driftClass];
  if (action === undefined)
    action = defaults?.action ?? (driftClass === 'DETECTION_STALE' ? 'INCIDENT' : 'INCIDENT');
  if (risk === undefined) risk = defaults?.risk ?? 'MEDIUM';
  if (floor !== undefined) risk = maxRisk(risk, floor);
  // A raise is relative to the risk decided so far (floors included); caps still have the last word.
  if (raise > 0) risk = raiseRisk(risk, raise);
  if (cap !== undefined) risk = minRisk(risk, cap);

  // Auto-heal: every refusal is recorded; the first one names the bound that refused it.
  const refusals: Reason[] = [];
  if (f.detector !== 'ok')
    refusals.push({ ruleId: 'hard:detection-stale', why: 'nothing may be healed from a stale detection' });
  for (const cat of NEVER_AUTO_HEAL_CATEGORIES) {
    if (f.categories.includes(cat)) {
      refusals.push({
        ruleId: HARD_CATEGORY_RULE[cat] as string,
        why: `${cat} drift is never silently auto-healed`,
      });
    }
  }
  if (f.ownershipAmbiguous)
    refusals.push({
      ruleId: 'hard:ownership-ambiguous',
      why: 'field ownership is ambiguous: two owners of equal strength claim a changed field',
    });
  if (
    NOT_FRESH_RELATIONSHIPS.has(f.planes.relationship) ||
    context.runtimeAccepted === true ||
    driftClass === 'STALE_DESIRED_STATE'
  ) {
    refusals.push({
      ruleId: 'hard:desired-state-not-fresh',
      why: `desired state is not a fresh authority here (${f.planes.relationship}${context.runtimeAccepted === true ? ', runtime accepted' : ''})`,
    });
  }
  if (deny !== undefined)
    refusals.push({ ruleId: `rule:${deny}`, why: `decision rule ${deny} refuses auto-heal` });
  if (!AUTO_HEAL_ACTIONS.includes(action))
    refusals.push({
      ruleId: 'hard:action-not-auto-healable',
      why: `${action} is not a reversible runtime revert`,
    });
  if (!unit.policies.autoHeal)
    refusals.push({ ruleId: 'unit-policy:autoHeal', why: `unit ${unit.name} has policies.autoHeal = false` });
  // Every policy that applies is considered, not only the first; a deny policy wins.
  const policies = [...(input.autoHealPolicy ? [input.autoHealPolicy] : []), ...(input.autoHealPolicies ?? [])];
  for (const p of policies) {
    const name = `AutoHealPolicy${p.name ? `/${p.name}` : ''}`;
    if (p.mode === 'deny') {
      refusals.push({ ruleId: `${name}.mode`, why: `${p.name ?? 'a deny policy'} forbids auto-heal for this unit` });
      continue;
    }
    if (p.deniedDriftClasses?.includes(driftClass))
      refusals.push({ ruleId: `${name}.deniedDriftClasses`, why: `${driftClass} is a denied drift class` });
    const deniedHit = p.deniedPaths?.find((d) =>
      change.changedFields.some((c) => pointerCovers(d, c) || pointerCovers(c, d)),
    );
    if (deniedHit !== undefined)
      refusals.push({
        ruleId: `${name}.deniedPaths`,
        why: `a changed field falls under denied path ${deniedHit}`,
      });
    if (p.allowedPaths) {
      const outside = change.changedFields.filter((c) => !p.allowedPaths?.some((a) => pointerCovers(a, c)));
      if (outside.length > 0 || change.changedFields.length === 0) {
        refusals.push({
          ruleId: `${name}.allowedPaths`,
          why: `changed fields outside allowed paths: ${outside.join(', ') || '(whole resource)'}`,
        });
      }
    }
    const objects = change.objectCount ?? 1;
    if (p.maxObjectsPerReconcile !== undefined && objects > p.maxObjectsPerReconcile) {
      refusals.push({
        ruleId: `${name}.maxObjectsPerReconcile`,
        why: `${objects} objects exceed maxObjectsPerReconcile ${p.maxObjectsPerReconcile}`,
      });
    }
    if (p.requireHealthyBeforeHeal === true && context.healthy !== true) {
      refusals.push({
        ruleId: `${name}.requireHealthyBeforeHeal`,
        why: `the workload is ${context.healthy === false ? 'unhealthy' : 'of unknown health'}`,
      });
    }
  }
  if (requiresHealthy !== undefined && context.healthy !== true) {
    refusals.push({
      ruleId: `rule:${requiresHealthy}.requiresHealthy`,
      why: `auto-heal under ${requiresHealthy} needs a healthy workload; health is ${context.healthy === false ? 'unhealthy' : 'unknown'}`,
    });
  }
  // Hard rule: nothing known to be unhealthy is healed, even with no policy (a unit's bare
  // `autoHeal: true`), unless a policy explicitly sets requireHealthyBeforeHeal: false.
  if (context.healthy === false && !policies.some((p) => p.mode !== 'deny' && p.requireHealthyBeforeHeal === false))
    refusals.push({ ruleId: 'hard:unhealthy-resource', why: 'the resource is known to be unhealthy: a revert could make an outage worse' });
  if (allow === undefined)
    refusals.push({
      ruleId: 'table:no-rule-allows-auto-heal',
      why: 'no decision rule allows auto-heal for this change',
    });

  // The breaker names the refusal: it is why nothing else could let this heal.
  if (breaker?.tripped === true)
    refusals.unshift({ ruleId: 'hard:auto-heal-breaker', why: `the auto-heal breaker tripped after ${breaker.heals} heals within ${breaker.window}` });
  const autoHealAllowed = refusals.length === 0;
  for (const r of refusals) if (!reasons.some((x) => x.ruleId === r.ruleId)) reasons.push(r);
  const needsPerson =
    driftClass === 'DETECTION_STALE' || (!autoHealAllowed && !NO_PERSON_ACTIONS.includes(action));
  if (action === 'INCIDENT' || action === 'INCIDENT_AND_REVERT') createIncident = true;

  const domain = unit.domain ?? 'unknown';
  const decision: Decision = {
    driftClass,
    risk,
    recommendedAction: action,
    autoHealAllowed,
    reasons,
    owner: unit.owner,
    relationship: f.planes.relationship,
    categories: f.categories,
    fieldOwnership: f.ownership.map(copyOwnership),
    routeHints: {
      owner: unit.owner,
      notify,
      createIncident,
      createIssue,
      labels: { driftClass, risk, environment: unit.environment, domain, owner: unit.owner },
    },
    needsPerson,
    finding: {
      domain,
      resourceRef: change.resourceRef,
      environment: unit.environment,
      owner: unit.owner,
      driftClass,
      risk,
      changedFields: [...change.changedFields],
      recommendedAction: action,
      autoHealAllowed,
    },
    table: { name: table.metadata.name, version: table.metadata.version, digest: compiled.digest },
  };
  if (!autoHealAllowed) decision.autoHealRefusedBy = (refusals[0] as Reason).ruleId;
  if (approvers.length > 0) decision.routeHints.approvers = approvers;
  if (budget !== undefined) decision.budget = budget;
  const meta = input.finding;
  if (meta?.findingId !== undefined) decision.finding.findingId = meta.findingId;
  if (meta?.detectedAt !== undefined) decision.finding.detectedAt = meta.detectedAt;
  if (meta?.sourceOfTruth !== undefined) decision.finding.sourceOfTruth = meta.sourceOfTruth;
  if (meta?.stateBackend !== undefined) decision.finding.stateBackend = meta.stateBackend;
  if (meta?.evidenceUri !== undefined) decision.finding.evidenceUri = meta.evidenceUri;
  if (f.actor) {
    const ac: NonNullable<Decision['finding']['auditCorrelation']> = {
      actor: redactText(f.actor.id, secretsOf(filler)),
      actorType: f.actor.type,
      source: f.actor.source ?? 'context',
    };
    if (f.actor.eventTime !== undefined) ac.eventTime = f.actor.eventTime;
    decision.finding.auditCorrelation = ac;
  }
  return decision;
}

/**
 * Classifies one change: three-plane analysis, field ownership, the decision table, then the
 * hard rules no table can override (identity, network-exposure, database and secret drift is
 * never auto-healed; a failed or overdue detector gives DETECTION_STALE; secret values never
 * appear; an active exception never raises risk). Pure and deterministic: the same input,
 * table and `now` give a deep-equal decision. The input is expected to be valid
 * (`ClassifyInputSchema`); throws `NoDriftInPlanesError` when plane digests all agree.
 */
export function classify(input: ClassifyInput, table: DecisionTable, opts: ClassifyOptions = {}): Decision {
  const nowMs = resolveNow(input, opts.now);
  const decision = classifyOnce(input, table, nowMs);
  if (input.context.exception !== undefined) {
    // Hard rule: an exception may lower risk, never raise it. Compare with the same change without it.
    const { exception: _exception, ...context } = input.context;
    const without = classifyOnce({ ...input, context }, table, nowMs);
    if (riskRank(decision.risk) > riskRank(without.risk)) {
      decision.risk = without.risk;
      decision.finding.risk = without.risk;
      decision.routeHints.labels.risk = without.risk;
      decision.reasons.push({
        ruleId: 'hard:exception-never-raises-risk',
        why: `an exception cannot raise risk above ${without.risk}`,
      });
    }
  }
  return decision;
}
