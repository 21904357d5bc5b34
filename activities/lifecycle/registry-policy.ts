import { classify } from '../../domain/classify';
import type { ClassifyInput } from '../../domain/classify/input';
import { CategorySchema, type Category } from '../../domain/classify/vocabulary';
import { findingIdOf, type DriftObservation } from '../../domain/finding';
import { parseDuration } from '../../domain/registry/durations';
import { resolveActor, type PersonIdentities } from '../../domain/identity';
import type { ResolvedActor } from '../../workflows/messages';
import type { ApproverIdentity, LifecycleDecision } from '../../domain/lifecycle';
import { loadDecisionTable } from '../../registry/decision-table';
import type { HotfixLookup } from '../hotfix/window-lookup';
import { exceptionCoverage, loadRegistry, matchRoute, peopleOf, policiesFor, resolveApprovers, unitDomain, type Registry, type Target } from '../../registry';
import type { DriftManagedUnit, Team } from '../../domain/registry/schemas';
import type { RouteMatch } from '../../domain/registry/match-route';

const PERMANENT = '9999-12-31T23:59:59Z';

/** Where a finding is sent and who may answer for it. */
export interface Routing {
  approvers: ApproverIdentity[];
  notify: string[];
  createIncident: boolean;
  routeName?: string;
  /** Distinct approvals needed before a reconciliation runs. */
  requiredApprovals: number;
  /** Why more approvals than usual are needed. */
  approvalNotes: string[];
  /** The drift's actor, resolved to a person of the registry when the registry knows the name. */
  actor?: ResolvedActor;
  /** Answers without a signed statement count (unit policy `allowUnauthenticatedApprovals`; default: not in production). */
  allowUnauthenticated: boolean;
  /** Where the route opens incidents (absent: the console). */
  incidentTarget?: RouteMatch['incident'];
  /** The unit's reconcile policy: PR timeout and poll interval, when it sets them. */
  prTimeout?: string;
  prPollInterval?: string;
}

/** What the reconcile executors need to know about a unit: its registry entry and its owning team. */
export interface UnitContext {
  unit: DriftManagedUnit;
  team?: Team;
  registryDir: string;
}

/**
 * Distinct approvers a reconciliation needs (§24.2, §24.4): state surgery (STATE_MOVE, or IMPORT
 * on a critical unit) always two; otherwise the matching route's `requiredApprovals`, else two
 * for CRITICAL findings and one for the rest.
 */
export function requiredApprovalsFor(decision: Pick<LifecycleDecision, 'risk' | 'recommendedAction'>, riskTier: string, routeSays?: number): number {
  const surgery = decision.recommendedAction === 'STATE_MOVE' || (decision.recommendedAction === 'IMPORT' && riskTier === 'critical');
  const base = routeSays ?? (decision.risk === 'CRITICAL' ? 2 : 1);
  return surgery ? Math.max(2, base) : base;
}

/** Actor types that stand for a person: if such an actor cannot be resolved, one more approver is needed. */
const HUMAN_ACTOR_TYPES = ['human', 'break-glass'];

/**
 * Resolves the drift's audit actor to a person. A human actor the registry cannot name is
 * recorded as such, and the approval then needs one more distinct approver than policy asks
 * for: the person who made the change might be among the approvers under a name we do not know.
 */
export function resolveDriftActor(
  o: DriftObservation,
  people: readonly PersonIdentities[],
  baseApprovals: number,
): { actor?: ResolvedActor; requiredApprovals: number; approvalNotes: string[] } {
  const audit = o.auditCorrelation?.actor;
  if (!audit) return { requiredApprovals: baseApprovals, approvalNotes: [] };
  const r = resolveActor(audit.id, people);
  const actor: ResolvedActor = r.resolved
    ? { id: audit.id, type: audit.type, person: r.person, matched: r.matched }
    : { id: audit.id, type: audit.type, unresolved: r.why };
  if (!r.resolved && HUMAN_ACTOR_TYPES.includes(audit.type)) {
    return {
      actor,
      requiredApprovals: baseApprovals + 1,
      approvalNotes: [`the ${audit.type} actor who made the change is not a person of the registry (${r.why}): one more distinct approver is required`],
    };
  }
  return { actor, requiredApprovals: baseApprovals, approvalNotes: [] };
}

/** The change-side signals an observation's context carries, as the classifier's `change` takes them. */
export function changeSignalsOf(o: DriftObservation): Partial<ClassifyInput['change']> {
  const c = o.context;
  if (!c) return {};
  const categories = c.categories?.filter((x): x is Category => (CategorySchema.options as readonly string[]).includes(x));
  return {
    ...(c.planes ? { planes: c.planes } : {}),
    ...(c.fieldOwners ? { fieldOwners: c.fieldOwners } : {}),
    ...(categories?.length ? { categories } : {}),
    ...(c.destructive !== undefined ? { destructive: c.destructive } : {}),
    ...(c.identity !== undefined ? { identity: c.identity } : {}),
    ...(c.previousAddress ? { previousAddress: c.previousAddress } : {}),
    ...(c.importing !== undefined ? { importing: c.importing } : {}),
  };
}

/** The context-side signals an observation's context carries, as the classifier's `context` takes them. */
export function contextSignalsOf(o: DriftObservation): Partial<ClassifyInput['context']> {
  const c = o.context;
  if (!c) return {};
  return {
    ...(c.matchingChange ? { matchingChange: c.matchingChange } : {}),
    ...(c.incident ? { incident: c.incident } : {}),
    ...(c.changeFreeze ? { changeFreeze: true } : {}),
    ...(c.providerUpgrade ? { providerUpgrade: c.providerUpgrade } : {}),
    ...(c.dependency ? { dependencyChanged: true } : {}),
    ...(c.policyViolation ? { policyViolation: c.policyViolation } : {}),
    ...(c.costDeltaPercent !== undefined ? { costDeltaPercent: c.costDeltaPercent } : {}),
    ...(c.reconcile ? { reconcile: c.reconcile } : {}),
    ...(c.secret ? { secret: c.secret } : {}),
    ...(c.runtimeAccepted !== undefined ? { runtimeAccepted: c.runtimeAccepted } : {}),
    ...(c.conditions?.length ? { conditions: c.conditions } : {}),
  };
}

/**
 * The classifier's input for an observation on a unit, as the live flow builds it: the unit, the
 * change with what the detector knew (planes, owners, categories, plan flags), and the context
 * with the detector's status, the actor, health, regression and every signal joined at detection.
 * The registry policy source adds exceptions, the breaker, hotfix windows, auto-heal policies and
 * ownership rules on top. Tests classify observations through this same function.
 */
export function classifyInputOf(o: DriftObservation, unit: DriftManagedUnit, opts: { now: Date; changedFields?: string[] }): ClassifyInput {
  return {
    unit: {
      name: unit.metadata.name,
      type: unit.spec.type,
      owner: unit.spec.owner,
      environment: unit.spec.environment,
      riskTier: unit.spec.riskTier,
      ...(unit.spec.domain ? { domain: unit.spec.domain } : {}),
      policies: {
        autoHeal: unit.spec.policies?.autoHeal ?? false,
        requireIncidentForManualChange: unit.spec.policies?.requireIncidentForManualChange ?? false,
      },
    },
    change: {
      resourceRef: o.resourceRef,
      resourceType: o.resourceType,
      relationship: o.relationship,
      changeType: o.changeType,
      changedFields: opts.changedFields ?? o.changedFields,
      // The blast radius of healing this scan: every drifted object it found in the unit.
      ...(o.scanDrifted !== undefined ? { objectCount: o.scanDrifted } : {}),
      // What the detector itself knew about the change (planes, owners, categories, plan flags).
      ...changeSignalsOf(o),
    },
    context: {
      // A stale-detection observation carries its detector's status: the table then says DETECTION_STALE.
      detector: o.detectorStatus
        ? {
            status: o.detectorStatus,
            ...(o.detectorError ? { error: o.detectorError } : {}),
            ...(o.lastSuccessAt ? { lastSuccessAt: o.lastSuccessAt } : {}),
          }
        : { status: 'ok' },
      now: opts.now.toISOString(),
      ...(o.healthy === undefined ? {} : { healthy: o.healthy }),
      // The same drift came back soon after a reconciled close: the table raises its risk (regression-reopened).
      ...(o.regression ? { regression: o.regression } : {}),
      ...(o.auditCorrelation
        ? { actor: { id: o.auditCorrelation.actor.id, type: o.auditCorrelation.actor.type, source: o.auditCorrelation.source, eventTime: o.auditCorrelation.eventTime } }
        : {}),
      // Signals joined at detection (audit log, Git history, incidents, freezes, policies, cost, dependencies, GitOps status).
      ...contextSignalsOf(o),
    },
    // The live object's managedFields (Kubernetes): who owns each changed field.
    ...(o.context?.managedFields ? { managedFields: o.context.managedFields } : {}),
  };
}

/** The policy the lifecycle asks: how to classify a finding and where to route it. */
export interface PolicySource {
  classify(o: DriftObservation, now: Date): Promise<LifecycleDecision>;
  route(o: DriftObservation, decision: LifecycleDecision): Promise<Routing>;
  /** The unit's registry entry and owning team (reconcile executors). */
  unitContext?(name: string): Promise<UnitContext>;
}

/** A unit that is not in the registry: permanent, the lifecycle cannot go on without a contract. */
export class UnknownUnitError extends Error {
  override readonly name = 'UnknownUnitError';
  constructor(readonly unit: string, readonly registryDir: string) {
    super(`unit ${unit} is not in the registry at ${registryDir}`);
  }
}

/**
 * The registry (units, teams, policies, routes, exceptions) plus the decision table, loaded from
 * disk. Both are read once per `reload()`; the decision records their versions, so history shows
 * which policy classified a finding.
 */
export function createRegistryPolicySource(opts: {
  registryDir: string;
  decisionTableFile?: string;
  /** When the same drift (finding id) was auto-healed before, newest last: feeds the controller-fight breaker. */
  healHistory?: (findingId: string) => Promise<Date[]>;
  /** Asks Temporal whether an open hotfix window covers the drift's actor (activities/hotfix/window-lookup.ts). */
  hotfix?: Pick<HotfixLookup, 'contextFor'>;
}): PolicySource & { reload(): void } {
  let loaded: Promise<{ registry: Registry; table: Awaited<ReturnType<typeof loadDecisionTable>> }> | undefined;
  const load = () =>
    (loaded ??= (async () => {
      const result = await loadRegistry(opts.registryDir);
      if (!result.ok) {
        loaded = undefined;
        const first = result.errors[0];
        throw new Error(`registry at ${opts.registryDir} is invalid (${result.errors.length} problem(s)); first: ${first?.file}:${first?.line ?? '?'} ${first?.message}`);
      }
      return { registry: result.registry, table: await loadDecisionTable(opts.decisionTableFile) };
    })());

  const unitOf = (registry: Registry, name: string) => {
    const unit = registry.units.get(name);
    if (!unit) throw new UnknownUnitError(name, opts.registryDir);
    return unit;
  };

  /** The controller-fight breaker's reading for this drift: heals within the window, tripped at maxHeals. */
  const breakerOf = async (o: DriftObservation, now: Date, policy: { maxHeals: number; window: string }) => {
    if (!opts.healHistory || o.detectorStatus !== undefined) return undefined;
    const windowMs = parseDuration(policy.window) ?? 3_600_000;
    const heals = (await opts.healHistory(findingIdOf(o))).filter((t) => now.getTime() - t.getTime() <= windowMs && t.getTime() <= now.getTime());
    if (heals.length === 0) return undefined;
    return { heals: heals.length, window: policy.window, tripped: heals.length >= policy.maxHeals, fields: o.changedFields };
  };

  return {
    reload: () => {
      loaded = undefined;
    },

    async classify(o, now) {
      const { registry, table } = await load();
      const unit = unitOf(registry, o.unit);
      const { autoHealPolicies, ownershipRules } = policiesFor(registry, o.unit);
      // An exception removes only the paths it covers; what is left is classified (§14).
      const coverage = exceptionCoverage(registry, { unit: o.unit, resourceRef: o.resourceRef, paths: o.changedFields, now });
      const exception = coverage.uncovered.length === 0 ? coverage.exceptions[0] : undefined;
      const changedFields = exception || coverage.covered.length === 0 ? o.changedFields : coverage.uncovered;
      const breakerPolicy = autoHealPolicies.find((p) => p.spec.mode !== 'deny' && p.spec.breaker)?.spec.breaker;
      // A unit that never auto-heals has no heals to count: skip reading the finding's evidence.
      const breaker = unit.spec.policies?.autoHeal ? await breakerOf(o, now, breakerPolicy ?? { maxHeals: 3, window: '1h' }) : undefined;
      const base = classifyInputOf(o, unit, { now, changedFields });
      const input: ClassifyInput = {
        ...base,
        context: {
          ...base.context,
          // A permanent exception (justified in the registry) has no expiry; classification needs an instant.
          ...(exception ? { exception: { id: exception.metadata.name, expiresAt: exception.spec.expiresAt ?? PERMANENT } } : {}),
          ...(breaker ? { autoHealBreaker: breaker } : {}),
          // The declared break-glass actor inside an open hotfix window: the incident is in context (§13.2).
          ...(opts.hotfix ? await opts.hotfix.contextFor(o) : {}),
        },
        // Every policy that applies, deny ones included: each bound holds and a deny wins.
        autoHealPolicies: autoHealPolicies.map((heal) => ({
          name: heal.metadata.name,
          mode: heal.spec.mode,
          allowedPaths: heal.spec.allowedPaths,
          deniedPaths: heal.spec.deniedPaths,
          maxObjectsPerReconcile: heal.spec.maxObjectsPerReconcile,
          requireHealthyBeforeHeal: heal.spec.requireHealthyBeforeHeal,
          deniedDriftClasses: heal.spec.deniedDriftClasses,
        })),
        ownershipRules: ownershipRules.map((r) => ({
          name: r.metadata.name,
          resource: { group: r.spec.resource.group, kind: r.spec.resource.kind, type: r.spec.resource.resourceType },
          gitOwned: r.spec.gitOwned,
          runtimeOwned: r.spec.runtimeOwned?.map((p) => (typeof p === 'string' ? p : p.path)),
          policyOwned: r.spec.policyOwned?.map((p) => p.path),
          controllerOwned: r.spec.controllerOwned,
        })),
      };
      const d = classify(input, table, { now });
      if (d.recommendedAction === 'DESTROY_RECREATE' && d.autoHealAllowed) {
        // Destroying a resource is never done without a person, whatever the policies say (§12).
        d.autoHealAllowed = false;
        d.autoHealRefusedBy = 'hard:destroy-recreate-never-auto-heals';
        d.reasons.push({ ruleId: 'hard:destroy-recreate-never-auto-heals', why: 'DESTROY_RECREATE is never auto-healed' });
      }
      if (coverage.covered.length > 0 && !exception) {
        d.reasons.push({
          ruleId: `exception:${coverage.exceptions.map((e) => e.metadata.name).join('+')}`,
          why: `exception covers ${coverage.covered.join(', ')} only; ${coverage.uncovered.join(', ')} classified as usual`,
        });
      }
      const domain = unitDomain(unit);
      return {
        driftClass: d.driftClass,
        risk: d.risk,
        recommendedAction: d.recommendedAction,
        autoHealAllowed: d.autoHealAllowed,
        ...(d.autoHealRefusedBy ? { autoHealRefusedBy: d.autoHealRefusedBy } : {}),
        owner: d.owner ?? unit.spec.owner,
        environment: unit.spec.environment,
        ...(domain ? { domain } : {}),
        reasons: d.reasons,
        policyVersion: `registry:${registry.version} table:${table.metadata.name}@${table.metadata.version}`,
      };
    },

    async route(o, decision) {
      const { registry } = await load();
      const unit = unitOf(registry, o.unit);
      const approvers = resolveApprovers(registry, o.unit).map((a) => ({
        email: a.email,
        team: a.team,
        ...(a.slackUserId ? { slackUserId: a.slackUserId } : {}),
        ...(a.githubLogin ? { githubLogin: a.githubLogin } : {}),
        ...(a.sshPublicKeys?.length ? { sshPublicKeys: a.sshPublicKeys } : {}),
      }));
      const match = matchRoute(registry, {
        driftClass: decision.driftClass,
        domain: unit.spec.domain,
        environment: unit.spec.environment,
        severity: decision.risk.toLowerCase(),
        owner: unit.spec.owner,
        labels: unit.spec.labels,
      });
      const base = requiredApprovalsFor(decision, unit.spec.riskTier, match?.requiredApprovals);
      const quorum = resolveDriftActor(o, peopleOf(registry), base);
      if (base > 1) quorum.approvalNotes.unshift(`${decision.risk} ${decision.recommendedAction}: ${base} distinct approvers required by policy`);
      return {
        approvers,
        ...quorum,
        notify: match ? match.notify.map((t) => targetName(t, unit.spec.owner)) : [`team:${unit.spec.owner}`],
        createIncident: match?.createIncident ?? false,
        ...(match ? { routeName: `${match.policy}#${match.index}` } : {}),
        allowUnauthenticated: unit.spec.policies.allowUnauthenticatedApprovals ?? unit.spec.environment !== 'prod',
        ...(match?.incident ? { incidentTarget: match.incident } : {}),
        ...(unit.spec.policies.reconcile?.prTimeout ? { prTimeout: unit.spec.policies.reconcile.prTimeout } : {}),
        ...(unit.spec.policies.reconcile?.prPollInterval ? { prPollInterval: unit.spec.policies.reconcile.prPollInterval } : {}),
      };
    },

    async unitContext(name) {
      const { registry } = await load();
      const unit = unitOf(registry, name);
      const team = registry.teams.get(unit.spec.owner);
      return { unit, ...(team ? { team } : {}), registryDir: opts.registryDir };
    },
  };
}

/** A routing target as a short name for notifications and evidence. Webhook URLs keep only their host: a URL may carry a token. */
export function targetName(t: Target, owner: string): string {
  switch (t.type) {
    case 'slack':
      return `slack:${t.channel}`;
    case 'github-issue':
      return `github:${t.repo}`;
    case 'webhook':
      return `webhook:${new URL(t.url).host}`;
    case 'email':
      return `email:${t.address}`;
    case 'team':
      return `team:${t.team}`;
    case 'owner':
      return `team:${owner}`;
  }
}
