import type { DriftObservation, ObservationContext } from '../finding';
import { jsonEqual } from '../plan/changed-paths';
import { parseInstant } from '../registry/durations';
import { splitPointer } from '../registry/paths';
import { parseResourceRef } from '../registry/resolve';
import type { CompliancePolicy, DriftManagedUnit, ResourceSelector } from '../registry/schemas';

/**
 * Compliance policies (issue 11, domain text §3 policy drift, §5.6, §10 legacy policy compliance):
 * a live value in an observation's diff that breaks a rule of a `CompliancePolicy` in force. A
 * resource created before the policy took effect is POLICY_DRIFT (a migration); one created after
 * it is unauthorized. Without the resource's creation time the question is left open: no
 * `policyViolation` is set (the table must not guess), and the violation is reported as missing
 * context instead. Pure.
 */

/** Well-known API groups of core Kubernetes kinds, for observations whose type names only the kind. */
const KNOWN_GROUPS: Record<string, string> = {
  Pod: '',
  Service: '',
  ConfigMap: '',
  Secret: '',
  ServiceAccount: '',
  Namespace: '',
  PersistentVolumeClaim: '',
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  ReplicaSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
  Ingress: 'networking.k8s.io',
  NetworkPolicy: 'networking.k8s.io',
  Role: 'rbac.authorization.k8s.io',
  RoleBinding: 'rbac.authorization.k8s.io',
  ClusterRole: 'rbac.authorization.k8s.io',
  ClusterRoleBinding: 'rbac.authorization.k8s.io',
  HorizontalPodAutoscaler: 'autoscaling',
  PodDisruptionBudget: 'policy',
};

function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(value);
}

/** What an observation says about its resource: Kubernetes group/kind/namespace/name, or an IaC type and address. */
export function resourceIdentity(o: Pick<DriftObservation, 'resourceRef' | 'resourceType'>): {
  kind?: string;
  group?: string;
  namespace?: string;
  name?: string;
  iacType?: string;
  address?: string;
} {
  // An IaC resource type is snake_case with a provider prefix (aws_db_instance); its ref is an address.
  if (/^[a-z0-9]+_[a-z0-9_]+$/.test(o.resourceType)) {
    const name = o.resourceRef.split('.').at(-1);
    return { iacType: o.resourceType, address: o.resourceRef, ...(name ? { name } : {}) };
  }
  const ref = parseResourceRef(o.resourceRef);
  const typeKind = o.resourceType.includes('/') ? o.resourceType.slice(o.resourceType.lastIndexOf('/') + 1) : o.resourceType;
  // `apps/v1/Deployment` or `apps/Deployment`: the group is the first segment (a dot-less core `v1/Pod` has none).
  const typeGroup = o.resourceType.includes('/') ? o.resourceType.split('/')[0] : undefined;
  const kind = typeKind || ref.kind;
  const group = ref.group ?? (typeGroup !== undefined && typeGroup !== 'v1' ? typeGroup : undefined) ?? (kind ? KNOWN_GROUPS[kind] : undefined);
  return {
    ...(kind ? { kind } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(ref.namespace && ref.namespace !== '_' ? { namespace: ref.namespace } : {}),
    ...(ref.name ? { name: ref.name } : {}),
  };
}

/**
 * True when a resource selector matches the observation's resource. `resourceType` matches IaC
 * types (globs allowed); `kind` (and `group`, when the resource's group is known) matches
 * Kubernetes objects; `namespaces` and `names` narrow further.
 */
export function selectorMatchesResource(sel: ResourceSelector, o: Pick<DriftObservation, 'resourceRef' | 'resourceType'>): boolean {
  const id = resourceIdentity(o);
  if (sel.resourceType !== undefined && (id.iacType === undefined || !globMatches(sel.resourceType, id.iacType))) return false;
  if (sel.kind !== undefined && (id.kind === undefined || !globMatches(sel.kind, id.kind))) return false;
  if (sel.kind !== undefined && sel.group !== undefined && id.group !== undefined && !globMatches(sel.group, id.group)) return false;
  if (sel.namespaces?.length && (id.namespace === undefined || !sel.namespaces.some((n) => globMatches(n, id.namespace!)))) return false;
  if (sel.names?.length) {
    const names = [id.name, id.address].filter((n): n is string => n !== undefined);
    if (!sel.names.some((p) => names.some((n) => globMatches(p, n)))) return false;
  }
  return true;
}

const MISSING = Symbol('missing');

/** The live value at `path` (`*` matches one segment) from the observation's diff: values of entries at, above or below it. */
function liveValuesAt(o: Pick<DriftObservation, 'diff'>, path: string): unknown[] {
  const want = splitPointer(path);
  const out: unknown[] = [];
  for (const d of o.diff) {
    if (d.actual === undefined || d.kind === 'removed') continue;
    const have = splitPointer(d.path);
    const n = Math.min(want.length, have.length);
    let same = true;
    for (let i = 0; i < n; i++) if (want[i] !== '*' && want[i] !== have[i]) same = false;
    if (!same) continue;
    if (have.length > want.length) continue; // a change below the rule's field: its whole value is not known
    // The entry is the field or one of its parents: walk down the rest of the rule's path.
    const rest = want.slice(have.length);
    let values: unknown[] = [d.actual];
    for (const seg of rest) {
      const next: unknown[] = [];
      for (const v of values) {
        if (v === null || typeof v !== 'object') continue;
        if (seg === '*') next.push(...Object.values(v as Record<string, unknown>));
        else {
          const child = Array.isArray(v) ? (/^\d+$/.test(seg) ? v[Number(seg)] : MISSING) : seg in v ? (v as Record<string, unknown>)[seg] : MISSING;
          if (child !== MISSING && child !== undefined) next.push(child);
        }
      }
      values = next;
    }
    out.push(...values);
  }
  return out;
}

/** One rule a live value breaks. */
export interface ComplianceBreach {
  policy: string;
  policyId: string;
  path: string;
  rule: 'equals' | 'notEquals' | 'oneOf';
  effectiveFrom: string;
}

/** True when a live value breaks the rule. */
function breaks(rule: CompliancePolicy['spec']['rules'][number], value: unknown): 'equals' | 'notEquals' | 'oneOf' | undefined {
  if (rule.equals !== undefined) return jsonEqual(value, rule.equals) ? undefined : 'equals';
  if (rule.notEquals !== undefined) return jsonEqual(value, rule.notEquals) ? 'notEquals' : undefined;
  if (rule.oneOf !== undefined) return rule.oneOf.some((x) => jsonEqual(value, x)) ? undefined : 'oneOf';
  return undefined;
}

/** True when the policy applies to the unit and the observation's resource, and is in force at detection. */
export function policyApplies(policy: CompliancePolicy, unit: DriftManagedUnit, o: Pick<DriftObservation, 'resourceRef' | 'resourceType' | 'detectedAt'>): boolean {
  if (policy.spec.units?.length && !policy.spec.units.includes(unit.metadata.name)) return false;
  const from = parseInstant(policy.spec.effectiveFrom);
  if (!from || from.getTime() > Date.parse(o.detectedAt)) return false;
  return selectorMatchesResource(policy.spec.resource, o);
}

/** Every rule of the policies in force that a live value of the observation's diff breaks (policies by name, rules in order). */
export function complianceBreaches(
  policies: Iterable<CompliancePolicy>,
  unit: DriftManagedUnit,
  o: Pick<DriftObservation, 'resourceRef' | 'resourceType' | 'detectedAt' | 'diff'>,
): ComplianceBreach[] {
  const out: ComplianceBreach[] = [];
  const sorted = [...policies].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  for (const p of sorted) {
    if (!policyApplies(p, unit, o)) continue;
    for (const rule of p.spec.rules) {
      const broken = liveValuesAt(o, rule.path)
        .map((v) => breaks(rule, v))
        .find((b) => b !== undefined);
      if (broken)
        out.push({ policy: p.metadata.name, policyId: `${p.metadata.name}@${p.spec.version}`, path: rule.path, rule: broken, effectiveFrom: p.spec.effectiveFrom });
    }
  }
  return out;
}

/**
 * The compliance context of an observation: `policyViolation` for the first breach when the
 * resource's creation time (`context.resourceCreatedAt`) is known, with `createdBeforePolicy`
 * = created before the policy's `effectiveFrom`. When it is unknown, no `policyViolation` (the
 * table must not guess) but `unjoined` names the breach, so the context reads as incomplete.
 */
export function complianceContext(
  policies: Iterable<CompliancePolicy>,
  unit: DriftManagedUnit,
  o: Pick<DriftObservation, 'resourceRef' | 'resourceType' | 'detectedAt' | 'diff' | 'context'>,
): Pick<ObservationContext, 'policyViolation' | 'unjoined'> | undefined {
  const breach = complianceBreaches(policies, unit, o)[0];
  if (!breach) return undefined;
  const created = o.context?.resourceCreatedAt ? Date.parse(o.context.resourceCreatedAt) : NaN;
  const from = parseInstant(breach.effectiveFrom)!;
  if (Number.isNaN(created))
    return { unjoined: [`compliance: ${breach.policyId} is violated at ${breach.path}, but the resource's creation time is unknown: created before the policy or not is not decided`] };
  return { policyViolation: { policyId: breach.policyId, createdBeforePolicy: created < from.getTime() } };
}
