import { defaultDetectionIntervalMs, parseFrequency, parseInstant } from './durations';
import type { PersonIdentities } from '../identity';
import type { Registry } from './model';
import { pathCovers } from './paths';
import {
  iacUnitTypes,
  kubernetesUnitTypes,
  type AutoHealPolicy,
  type DriftException,
  type DriftManagedUnit,
  type DriftOwnershipRule,
  type IgnorePath,
  type Team,
  type TeamMember,
  type UnitDomain,
  type UnitSelector,
} from './schemas';

/** A person who may approve for a unit. */
export interface Approver {
  team: string;
  email: string;
  name?: string;
  slackUserId?: string;
  githubLogin?: string;
  /** Registered SSH public keys: what the person's CLI answers are signed with. */
  sshPublicKeys?: string[];
}

/** The labels of a unit: `metadata.labels` overlaid by `spec.labels`. */
export function labelsOf(unit: DriftManagedUnit): Record<string, string> {
  return { ...(unit.metadata.labels ?? {}), ...unit.spec.labels };
}

/** A unit's domain: its `domain`, else the one its type implies (`database`, `external-secret` → secrets). */
export function unitDomain(unit: DriftManagedUnit): UnitDomain | undefined {
  if (unit.spec.domain) return unit.spec.domain;
  if (unit.spec.type === 'database') return 'database';
  if (unit.spec.type === 'external-secret') return 'secrets';
  return undefined;
}

/** True when every criterion given in the selector matches the unit. An empty selector matches every unit. */
export function selectorMatches(selector: UnitSelector, unit: DriftManagedUnit): boolean {
  if (selector.names && !selector.names.includes(unit.metadata.name)) return false;
  if (selector.types && !selector.types.includes(unit.spec.type)) return false;
  if (selector.environments && !selector.environments.includes(unit.spec.environment)) return false;
  if (selector.riskTiers && !selector.riskTiers.includes(unit.spec.riskTier)) return false;
  if (selector.domains) {
    const d = unitDomain(unit);
    if (!d || !selector.domains.includes(d)) return false;
  }
  if (selector.matchLabels) {
    const labels = labelsOf(unit);
    for (const [k, v] of Object.entries(selector.matchLabels)) if (labels[k] !== v) return false;
  }
  return true;
}

/** True when an ownership rule applies to a unit: its resource fits the unit's type and its unit selector (if any) matches. */
export function ownershipRuleApplies(rule: DriftOwnershipRule, unit: DriftManagedUnit): boolean {
  const fits = rule.spec.resource.resourceType
    ? iacUnitTypes.includes(unit.spec.type)
    : kubernetesUnitTypes.includes(unit.spec.type);
  if (!fits) return false;
  return rule.spec.appliesTo ? selectorMatches(rule.spec.appliesTo.units, unit) : true;
}

/**
 * True when an auto-heal policy applies to a unit. A `deny` policy applies wherever its unit
 * selector matches (no selector: everywhere). An `allow` policy applies only to units with
 * `policies.autoHeal: true` that reference it by name or that its unit selector matches.
 */
export function autoHealPolicyApplies(policy: AutoHealPolicy, unit: DriftManagedUnit): boolean {
  const selector = policy.spec.appliesTo.units;
  if (policy.spec.mode === 'deny') return selector ? selectorMatches(selector, unit) : true;
  if (!unit.spec.policies.autoHeal) return false;
  if (unit.spec.policies.autoHealPolicy === policy.metadata.name) return true;
  return selector ? selectorMatches(selector, unit) : false;
}

/** AutoHealPolicies and ownership rules that apply to a unit (registry order). Unknown unit: both empty. */
export function policiesFor(
  registry: Registry,
  unitName: string,
): { autoHealPolicies: AutoHealPolicy[]; ownershipRules: DriftOwnershipRule[] } {
  const unit = registry.units.get(unitName);
  if (!unit) return { autoHealPolicies: [], ownershipRules: [] };
  return {
    autoHealPolicies: [...registry.autoHealPolicies.values()].filter((p) => autoHealPolicyApplies(p, unit)),
    ownershipRules: [...registry.ownershipRules.values()].filter((r) => ownershipRuleApplies(r, unit)),
  };
}

/** Finds the team that defines an approver group. */
export function approverGroupOwner(registry: Registry, group: string): Team | undefined {
  for (const team of registry.teams.values())
    if (team.spec.approverGroups.some((g) => g.name === group)) return team;
  return undefined;
}

function toApprover(team: Team, member: TeamMember): Approver {
  const a: Approver = { team: team.metadata.name, email: member.email };
  if (member.name !== undefined) a.name = member.name;
  if (member.slackUserId !== undefined) a.slackUserId = member.slackUserId;
  if (member.githubLogin !== undefined) a.githubLogin = member.githubLogin;
  if (member.sshPublicKeys?.length) a.sshPublicKeys = member.sshPublicKeys;
  return a;
}

/**
 * Every person who may approve for the unit, resolved through its approver groups. A reference
 * names an approver group (its members) or, failing that, a team (all its members). Unknown unit: [].
 */
export function resolveApprovers(registry: Registry, unitName: string): Approver[] {
  const unit = registry.units.get(unitName);
  if (!unit) return [];
  const out = new Map<string, Approver>();
  for (const ref of unit.spec.approvers) {
    const groupTeam = approverGroupOwner(registry, ref);
    if (groupTeam) {
      const group = groupTeam.spec.approverGroups.find((g) => g.name === ref);
      for (const email of group?.members ?? []) {
        const member = groupTeam.spec.members.find((m) => m.email === email);
        if (member && !out.has(email)) out.set(email, toApprover(groupTeam, member));
      }
      continue;
    }
    const team = registry.teams.get(ref);
    for (const member of team?.spec.members ?? [])
      if (!out.has(member.email)) out.set(member.email, toApprover(team as Team, member));
  }
  return [...out.values()];
}

/** The break-glass role ARNs relevant to a unit: its own and its owner team's, for audit correlation. */
export function breakGlassRolesFor(registry: Registry, unitName: string): string[] {
  const unit = registry.units.get(unitName);
  if (!unit) return [];
  const team = registry.teams.get(unit.spec.owner);
  return [...new Set([...(unit.spec.breakGlassRoles ?? []), ...(team?.spec.breakGlassRoles ?? [])])];
}

/**
 * The `evidence.retention` of the unit an evidence id belongs to: a finding id (`<unit>:<fingerprint>`)
 * or a hotfix window id (`hotfix:<unit>:<incident>`); unit names hold no `:`, so the first segment
 * that names a registered unit is the one. Undefined when no unit matches or it sets no retention.
 */
export function evidenceRetentionOf(registry: Registry, evidenceId: string): string | undefined {
  for (const segment of evidenceId.split(':')) {
    const unit = registry.units.get(segment);
    if (unit) return unit.spec.evidence?.retention;
  }
  return undefined;
}

/** Every break-glass role ARN in the registry (units and teams). */
export function allBreakGlassRoles(registry: Registry): string[] {
  const roles = new Set<string>();
  for (const u of registry.units.values()) for (const r of u.spec.breakGlassRoles ?? []) roles.add(r);
  for (const t of registry.teams.values()) for (const r of t.spec.breakGlassRoles ?? []) roles.add(r);
  return [...roles];
}

/** The detection interval of a unit in ms: its schedule frequency, else its risk tier's default. Undefined for a cron schedule. */
export function detectionIntervalMs(unit: DriftManagedUnit): number | undefined {
  const schedule = unit.spec.schedule;
  if (schedule?.cron) return undefined;
  if (schedule?.frequency) return parseFrequency(schedule.frequency);
  return defaultDetectionIntervalMs[unit.spec.riskTier];
}

/** The path of an ignore entry (plain string or object form). */
export function ignorePathOf(p: IgnorePath): string {
  return typeof p === 'string' ? p : p.path;
}

/**
 * A resource reference, as matched by exception scopes: a Kubernetes reference
 * `group/Kind/namespace/name`, `Kind/namespace/name` or `Kind/name`, or (no `/`) an IaC address.
 */
export function parseResourceRef(ref: string): {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  address?: string;
} {
  if (!ref.includes('/')) return { address: ref };
  const parts = ref.split('/');
  if (parts.length >= 4)
    return { group: parts[0], kind: parts[1], namespace: parts[2], name: parts.slice(3).join('/') };
  if (parts.length === 3) return { kind: parts[0], namespace: parts[1], name: parts[2] };
  return { kind: parts[0], name: parts[1] };
}

function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(value);
}

/** True when an exception's scope (beyond its unit) covers the resource. `*` globs are allowed in scope values. */
export function exceptionScopeCovers(exception: DriftException, resourceRef: string): boolean {
  const scope = exception.spec.scope;
  const ref = parseResourceRef(resourceRef);
  if (
    scope.resourceAddress !== undefined &&
    (ref.address === undefined || !globMatches(scope.resourceAddress, ref.address))
  )
    return false;
  const k8s: [string | undefined, string | undefined][] = [
    [scope.group, ref.group],
    [scope.kind, ref.kind],
    [scope.namespace, ref.namespace],
    [scope.name, ref.name],
  ];
  for (const [want, got] of k8s) {
    if (want === undefined) continue;
    // A core-group resource ref has no group; scope group "" means core.
    if (got === undefined ? want !== '' : !globMatches(want, got)) return false;
  }
  return true;
}

/** True when the exception is in force at `now`: approved already, and permanent or not yet expired. */
export function exceptionActive(exception: DriftException, now: Date): boolean {
  const approvedAt = parseInstant(exception.spec.approvedAt);
  if (!approvedAt || approvedAt.getTime() > now.getTime()) return false;
  if (exception.spec.permanent) return true;
  const expiresAt = exception.spec.expiresAt ? parseInstant(exception.spec.expiresAt) : undefined;
  return expiresAt !== undefined && expiresAt.getTime() > now.getTime();
}

/**
 * Active (unexpired) exceptions covering a resource/paths for a unit. Without `resourceRef`, any
 * resource of the unit; without `paths`, any path; with `paths`, an exception must cover at least one.
 */
export function activeExceptionsFor(
  registry: Registry,
  q: { unit: string; resourceRef?: string; paths?: string[]; now: Date },
): DriftException[] {
  return [...registry.exceptions.values()].filter((e) => {
    if (e.spec.scope.unit !== q.unit) return false;
    if (!exceptionActive(e, q.now)) return false;
    if (q.resourceRef !== undefined && !exceptionScopeCovers(e, q.resourceRef)) return false;
    if (q.paths && q.paths.length > 0) {
      const covered = e.spec.paths.map(ignorePathOf);
      if (!q.paths.some((p) => covered.some((c) => pathCovers(c, p)))) return false;
    }
    return true;
  });
}

/**
 * Every person of the registry with every name they act under, one entry per e-mail (a person on
 * two teams is merged). Audit actors are resolved against this, never against approvers only:
 * the person who caused a drift is often not an approver of the unit.
 */
export function peopleOf(registry: Registry): PersonIdentities[] {
  const out = new Map<string, PersonIdentities>();
  const merge = (a: readonly string[] | undefined, b: readonly string[] | undefined) => [...new Set([...(a ?? []), ...(b ?? [])])];
  for (const team of registry.teams.values()) {
    for (const m of team.spec.members) {
      const key = m.email.toLowerCase();
      const prev = out.get(key);
      const ids = m.identities ?? {};
      const prevIds = prev?.identities ?? {};
      out.set(key, {
        email: m.email,
        ...((m.name ?? prev?.name) !== undefined ? { name: m.name ?? prev?.name } : {}),
        ...((m.slackUserId ?? prev?.slackUserId) !== undefined ? { slackUserId: m.slackUserId ?? prev?.slackUserId } : {}),
        ...((m.githubLogin ?? prev?.githubLogin) !== undefined ? { githubLogin: m.githubLogin ?? prev?.githubLogin } : {}),
        identities: {
          iamUserNames: merge(prevIds.iamUserNames, ids.iamUserNames),
          ssoPrincipals: merge(prevIds.ssoPrincipals, ids.ssoPrincipals),
          roleSessionNames: merge(prevIds.roleSessionNames, ids.roleSessionNames),
          kubernetesUsers: merge(prevIds.kubernetesUsers, ids.kubernetesUsers),
          displayNames: merge(prevIds.displayNames, ids.displayNames),
        },
      });
    }
  }
  return [...out.values()];
}

/**
 * Which changed paths of a resource active exceptions cover, and which they do not. An exception
 * removes only the paths it covers: the rest of the change is still classified (a label exception
 * never hides an image change on the same object).
 */
export function exceptionCoverage(
  registry: Registry,
  q: { unit: string; resourceRef: string; paths: string[]; now: Date },
): { exceptions: DriftException[]; covered: string[]; uncovered: string[] } {
  const exceptions = activeExceptionsFor(registry, q);
  const covers = (p: string) => exceptions.some((e) => e.spec.paths.map(ignorePathOf).some((c) => pathCovers(c, p)));
  return { exceptions, covered: q.paths.filter(covers), uncovered: q.paths.filter((p) => !covers(p)) };
}
