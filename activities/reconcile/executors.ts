/**
 * The one place that picks a reconciliation executor by action and unit type (§12). Every action
 * in PRODUCT.md has one:
 *
 * | action                               | executor                                                             |
 * |--------------------------------------|----------------------------------------------------------------------|
 * | RUNTIME_REVERT, INCIDENT_AND_REVERT  | the unit's detector revert (local planes, AWS security groups), or a Kubernetes server-side apply of the desired object |
 * | OPEN_RECONCILIATION_PR               | a PR accepting the runtime values into Git (manifest edit, HCL literal edit, or stated manual edits) |
 * | IMPORT / STATE_MOVE                  | a PR with an `import` / `moved` block                                 |
 * | IGNORE                               | a PR to the registry adding a scoped, expiring DriftException (lint must pass) |
 * | MIGRATION_PLAN                       | a PR adding a migration skeleton (never applied by driftplane, §18)   |
 * | STATE_REFRESH                        | `tofu apply -refresh-only` with the unit's own credentials            |
 * | DESTROY_RECREATE                     | `tofu apply -replace=…`, only where the unit's policy allows it       |
 * | RESTART_CONSUMERS_AFTER_SECRET_SYNC  | a rollout restart of the Secret's consumers (Kubernetes API)          |
 * | INCIDENT                             | the incident opened at routing through the route's adapter            |
 *
 * Executors are idempotent by (finding, run, step): PRs by their branch, restarts by their
 * instant, incidents by their dedup key, reverts by their key. Permanent failures are named
 * non-retryable errors (`LintFailed`, `DestroyRecreateRefused`, `GitHubPermissionDenied`, …).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { DriftObservation, FieldChange } from '../../domain/finding';
import type { LifecycleDecision } from '../../domain/lifecycle';
import { branchOf } from '../../domain/reconcile/branch';
import { renderPrBody, type DetectedField, type ManualEdit, type PrBodyContext } from '../../domain/reconcile/pr-body';
import type { Action, DriftClass, Risk } from '../../domain/classify/vocabulary';
import type { UnitContext } from '../lifecycle/registry-policy';
import type { UnitDetector } from '../scan/detectors';
import type { FileChange, PrRef } from './pr-provider';
import { repoTargetOf, type RepoProviders, type RepoTarget } from './repos';
import { desiredStateChange, type DesiredStateEditors } from './desired-state';

/** What the reconcile step is asked to do. */
export interface ReconcileRequest {
  findingId: string;
  runId: string;
  observation: DriftObservation;
  decision: LifecycleDecision;
  approvedBy: string;
  /** 1 for the first PR; more after a PR was closed without merge and people approved again. */
  attempt?: number;
  /** Every approver (a quorum), and the decisive reason. */
  approvers?: string[];
  reason?: string;
  incident?: { adapter: string; incidentId: string; url?: string };
  evidenceUri?: string;
}

/** What the reconcile step did. */
export interface ReconcileOutcome {
  action: string;
  executed: boolean;
  detail: string;
  /** The PR the lifecycle now waits on. */
  pr?: PrRef;
  /** Extra facts for the evidence record (new state serial, restarted workloads, applied object, …). */
  facts?: Record<string, unknown>;
}

/** Kubernetes executors for a unit with a `cluster` (activities/kubernetes). */
export interface KubernetesExecutors {
  /** True when a kube config is configured for the cluster. */
  has(cluster: string): boolean;
  restartConsumers(input: { cluster: string; namespace: string; secretName: string; at: Date; findingId: string }): Promise<{ restarted: string[]; skipped: string[] }>;
  revertToDesired(input: { cluster: string; desired: Record<string, unknown>; findingId: string }): Promise<{ applied: string; resourceVersion?: string }>;
}

/** OpenTofu executors for a stack unit (activities/tofu/apply.ts). */
export interface TofuExecutors {
  refreshOnly(input: { unit: UnitContext['unit']; findingId: string; key: string }): Promise<{ serialBefore?: number; serialAfter?: number; output: string; exitCode?: number; stateChanged?: boolean }>;
  replace(input: { unit: UnitContext['unit']; address: string; findingId: string; key: string }): Promise<{ output: string; exitCode?: number; serialAfter?: number }>;
}

/** What the executors need. */
export interface ReconcileExecutorDeps {
  unitContext(name: string): Promise<UnitContext>;
  /**
   * A detector adapter that keeps the unit's desired state in a Git repository of its own (the
   * local planes, when their folder is a repository) names it here; otherwise the unit's `source`.
   */
  desiredRepo?(unit: string): Promise<{ repo: string; dir: string; base: string } | undefined>;
  detector: UnitDetector;
  repos: RepoProviders;
  editors: DesiredStateEditors;
  kubernetes?: KubernetesExecutors;
  tofu?: TofuExecutors;
  /** The registry as a PR target for IGNORE (a `file://` Git repository or github.com/owner/name, with the registry's folder in it). */
  registryRepo?: { repo: string; path: string; revision?: string };
  /** Runs the registry's validation and §14.1 lint over the registry plus one new exception document: problems, none when it passes. */
  lintException(doc: { fileName: string; text: string }): Promise<string[]>;
  /** Builds the exception document (domain/reconcile/ignore-exception.ts). */
  exceptionDocument(input: {
    findingId: string;
    unit: string;
    owner: string;
    resource: { kind?: string; name?: string; namespace?: string; group?: string; resourceAddress?: string };
    paths: string[];
    reason: string;
    approvedBy: string;
    approvedAt: Date;
    expiresInDays: number;
  }): { fileName: string; text: string };
  /** Builds a migration skeleton (domain/reconcile/migration.ts). */
  migrationSkeleton(input: { findingId: string; unit: string; resourceRef: string; changedFields: FieldChange[]; driftClass: string; now: Date; migrationsPath: string; database: boolean }): { path: string; content: string };
  temporalUiUrl?: (findingId: string) => string | undefined;
  clock: () => Date;
}

/** Kubernetes unit types: their desired state is manifests, their runtime a cluster. */
const KUBERNETES_UNITS = ['argocd-app', 'flux-kustomization', 'flux-helmrelease', 'external-secret'];
const STACK_UNITS = ['opentofu-stack', 'terraform-stack', 'terragrunt-stack'];

/** IGNORE exceptions expire within this many days (§14.1: every exception expires). */
export const IGNORE_EXPIRY_DAYS = 90;

const refuse = (type: string, message: string) => ApplicationFailure.nonRetryable(message, type);

/** `Kind/namespace/name` or `Kind/name` (manifestRef) → its parts. */
export function parseManifestRef(ref: string): { kind: string; namespace?: string; name: string } | undefined {
  const parts = ref.split('/');
  if (parts.length === 3 && parts.every(Boolean)) return { kind: parts[0]!, namespace: parts[1]!, name: parts[2]! };
  if (parts.length === 2 && parts.every(Boolean)) return { kind: parts[0]!, name: parts[1]! };
  return undefined;
}

const detectedFields = (diff: FieldChange[]): DetectedField[] =>
  diff.map((d) => ({ path: d.path, kind: d.kind, ...(d.desired !== undefined ? { desired: d.desired } : {}), ...(d.actual !== undefined ? { actual: d.actual } : {}) }));

/**
 * Errors the adapters throw as plain named errors that no retry can fix (a missing repository, a
 * conflicting merge, a rejected event, an invalid address): turned into named non-retryable
 * failures, so the lifecycle closes FAILED with the reason instead of retrying forever.
 */
const PERMANENT_ERRORS = new Set([
  'LocalRepoNotFound',
  'PrNotFound',
  'PrNotOpen',
  'BranchNotFound',
  'InvalidPrRequest',
  'PrRecordInvalid',
  'MergeConflict',
  'IncidentAdapterNotConfigured',
  'PagerDutyEventRejected',
  'ManifestEditError',
  'HclAddressError',
  'ExceptionInputError',
  'MigrationPathError',
  'ReplaceTargetNotFound',
  'LocalStateNotSupported',
]);

function permanentIfKnown(err: unknown): unknown {
  if (err instanceof ApplicationFailure || !(err instanceof Error)) return err;
  return PERMANENT_ERRORS.has(err.name) ? ApplicationFailure.nonRetryable(err.message, err.name) : err;
}

/** Creates the executor dispatch. */
export function createReconcileExecutors(deps: ReconcileExecutorDeps) {
  /** The unit's desired state as a PR target: its detector adapter's own repository, else the registry's `source`. */
  const targetOf = async (ctx: UnitContext): Promise<RepoTarget> => {
    const own = await deps.desiredRepo?.(ctx.unit.metadata.name);
    return own ? { provider: deps.repos.localGit, ...own } : repoTargetOf(ctx.unit.spec.source, deps.repos);
  };

  const prFor = async (
    req: ReconcileRequest,
    ctx: UnitContext,
    target: RepoTarget,
    change: { title: string; files: FileChange[]; summary: string; manual?: ManualEdit[]; instructions?: string; rollback?: PrBodyContext['rollback']; expiry?: PrBodyContext['expiry'] },
  ): Promise<ReconcileOutcome> => {
    const { observation: o, decision } = req;
    // The registry names a team `org/slug` (as GitHub shows it); review requests take the slug.
    const team = ctx.team?.spec.githubTeam?.split('/').pop();
    const body = renderPrBody({
      findingId: req.findingId,
      environment: decision.environment,
      owner: decision.owner,
      unit: o.unit,
      resourceRef: o.resourceRef,
      resourceType: o.resourceType,
      action: decision.recommendedAction as Action,
      driftClass: decision.driftClass as DriftClass,
      risk: decision.risk as Risk,
      rules: decision.reasons,
      fields: detectedFields(o.diff),
      ...(o.auditCorrelation ? { auditCorrelation: o.auditCorrelation } : {}),
      acceptance: { reason: req.reason ?? `approved by ${req.approvedBy}`, approvers: req.approvers ?? [req.approvedBy] },
      proposedChange: { summary: change.summary, files: change.files.map((f) => f.path), ...(change.manual?.length ? { manual: change.manual } : {}), ...(change.instructions ? { instructions: change.instructions } : {}) },
      policy: { autoHealAllowed: decision.autoHealAllowed, refusals: decision.autoHealRefusedBy ? [decision.autoHealRefusedBy] : [], policyVersion: decision.policyVersion },
      ...(change.rollback ? { rollback: change.rollback } : {}),
      ...(change.expiry ? { expiry: change.expiry } : {}),
      evidence: {
        ...(req.evidenceUri ? { evidenceUri: req.evidenceUri } : {}),
        ...(deps.temporalUiUrl?.(req.findingId) ? { temporalUiUrl: deps.temporalUiUrl(req.findingId)! } : {}),
        ...(req.incident ? { other: [{ label: `Incident ${req.incident.incidentId}`, uri: req.incident.url ?? req.incident.incidentId }] } : {}),
      },
      reviewers: ctx.team?.spec.githubTeam ? [`@${ctx.team.spec.githubTeam}`] : [],
    });
    const attempt = req.attempt ?? 1;
    const pr = await target.provider.open({
      findingId: req.findingId,
      ...(attempt > 1 ? { branch: `${branchOf(req.findingId)}-r${attempt}` } : {}),
      repo: target.repo,
      base: target.base,
      title: change.title,
      body,
      files: change.files,
      labels: ['driftplane', decision.driftClass, decision.risk],
      reviewers: { teams: team ? [team] : [], users: [] },
    });
    const manual = change.manual?.length ? `; ${change.manual.length} edit(s) left for the reviewer` : '';
    return {
      action: decision.recommendedAction,
      executed: true,
      detail: `${pr.created ? 'opened' : 'found'} PR #${pr.number} ${pr.url} on ${pr.branch}${manual}`,
      pr,
      facts: { files: change.files.map((f) => f.path), ...(change.manual?.length ? { manual: change.manual } : {}) },
    };
  };

  return {
    /** Carries out the approved action for the finding. Permanent adapter errors become named non-retryable failures. */
    async execute(req: ReconcileRequest): Promise<ReconcileOutcome> {
      try {
        return await execute(req);
      } catch (err) {
        throw permanentIfKnown(err);
      }
    },
  };

  async function execute(req: ReconcileRequest): Promise<ReconcileOutcome> {
    {
      const { observation: o, decision } = req;
      const action = decision.recommendedAction;
      const now = deps.clock();
      const key = `${req.runId}:reconcile${(req.attempt ?? 1) > 1 ? `-${req.attempt}` : ''}`;
      const ctx = await deps.unitContext(o.unit);
      const type = ctx.unit.spec.type;

      switch (action) {
        case 'RUNTIME_REVERT':
        case 'INCIDENT_AND_REVERT': {
          const incident = action === 'INCIDENT_AND_REVERT' && req.incident ? `incident ${req.incident.incidentId} open since routing; ` : '';
          const done = await deps.detector.revert(o, key, now);
          if (done) return { action, executed: done.executed, detail: `${incident}${done.detail}` };
          const cluster = ctx.unit.spec.cluster;
          if (KUBERNETES_UNITS.includes(type) && cluster && deps.kubernetes?.has(cluster)) {
            const target = await targetOf(ctx);
            const desired = await deps.editors.desiredObject(target, o);
            const r = await deps.kubernetes.revertToDesired({ cluster, desired, findingId: req.findingId });
            return { action, executed: true, detail: `${incident}server-side applied the desired ${r.applied} from Git (field manager driftplane)`, facts: r };
          }
          throw refuse('NoExecutor', `no revert executor covers ${o.resourceRef} on ${o.unit} (${type}${cluster ? `, cluster ${cluster} has no kube config` : ''})`);
        }

        case 'OPEN_RECONCILIATION_PR':
        case 'IMPORT':
        case 'STATE_MOVE':
        case 'MIGRATION_PLAN': {
          const target = await targetOf(ctx);
          const change = await desiredStateChange(deps.editors, target, {
            action,
            observation: o,
            unitType: type,
            findingId: req.findingId,
            now,
            migrationsPath: ctx.unit.spec.policies.reconcile?.migrationsPath ?? 'migrations',
            migrationSkeleton: deps.migrationSkeleton,
            driftClass: decision.driftClass,
          });
          return prFor(req, ctx, target, change);
        }

        case 'IGNORE': {
          if (!deps.registryRepo) throw refuse('RegistryRepoNotConfigured', 'an IGNORE opens a PR to the registry: set DRIFTPLANE_REGISTRY_REPO (file:///… or github.com/owner/repo) and DRIFTPLANE_REGISTRY_REPO_PATH');
          const target = repoTargetOf(deps.registryRepo, deps.repos);
          const ref = parseManifestRef(o.resourceRef);
          const doc = deps.exceptionDocument({
            findingId: req.findingId,
            unit: o.unit,
            owner: decision.owner,
            resource: ref && !STACK_UNITS.includes(type) ? { kind: ref.kind, name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } : { resourceAddress: o.resourceRef },
            paths: o.changedFields,
            reason: req.reason ?? `approved by ${req.approvedBy}`,
            approvedBy: req.approvedBy,
            approvedAt: now,
            expiresInDays: IGNORE_EXPIRY_DAYS,
          });
          const problems = await deps.lintException(doc);
          if (problems.length > 0) throw refuse('LintFailed', `the exception for ${o.resourceRef} fails the registry lint: ${problems.join('; ')}`);
          // doc.fileName is relative to the registry folder and already `exceptions/<name>.yaml`.
          const file = target.dir ? `${target.dir}/${doc.fileName}` : doc.fileName;
          const expires = new Date(now.getTime() + IGNORE_EXPIRY_DAYS * 86_400_000).toISOString();
          return prFor(req, ctx, target, {
            title: `driftplane: ignore ${o.changedFields.join(', ')} on ${o.resourceRef} until ${expires.slice(0, 10)}`,
            files: [{ path: file, content: doc.text }],
            summary: `Adds a scoped DriftException for ${o.changedFields.join(', ')} on ${o.resourceRef} (unit ${o.unit}), expiring in ${IGNORE_EXPIRY_DAYS} days. The §14.1 lint passed on the changed registry.`,
            rollback: { exceptionFile: file },
            expiry: { expiresAt: expires, removeWhen: 'the exception expires; renew it only with a new approval' },
          });
        }

        case 'STATE_REFRESH': {
          if (!STACK_UNITS.includes(type) || !deps.tofu) throw refuse('NoExecutor', `STATE_REFRESH runs tofu for stack units; ${o.unit} is ${type}${deps.tofu ? '' : ' and no tofu runner is configured'}`);
          const r = await deps.tofu.refreshOnly({ unit: ctx.unit, findingId: req.findingId, key });
          return { action, executed: true, detail: `tofu apply -refresh-only: state serial ${r.serialBefore ?? '?'} → ${r.serialAfter ?? '?'}`, facts: r };
        }

        case 'DESTROY_RECREATE': {
          if (ctx.unit.spec.policies.reconcile?.allowDestroyRecreate !== true) {
            throw refuse('DestroyRecreateRefused', `DESTROY_RECREATE of ${o.resourceRef} is refused: unit ${o.unit} does not allow it (policies.reconcile.allowDestroyRecreate)`);
          }
          if (!STACK_UNITS.includes(type) || !deps.tofu) throw refuse('NoExecutor', `DESTROY_RECREATE runs tofu for stack units; ${o.unit} is ${type}`);
          const r = await deps.tofu.replace({ unit: ctx.unit, address: o.resourceRef, findingId: req.findingId, key });
          return { action, executed: true, detail: `tofu apply -replace=${o.resourceRef}`, facts: r };
        }

        case 'RESTART_CONSUMERS_AFTER_SECRET_SYNC': {
          const cluster = ctx.unit.spec.cluster;
          const ref = parseManifestRef(o.resourceRef);
          if (!cluster || !deps.kubernetes?.has(cluster) || !ref?.namespace) {
            throw refuse('NoExecutor', `a rollout restart needs a Kubernetes unit with a configured cluster and a namespaced secret; ${o.unit} has ${cluster ? `cluster ${cluster} without a kube config` : 'no cluster'}`);
          }
          const secretName = typeof o.diff.find((d) => d.path === '/spec/target/name')?.desired === 'string' ? (o.diff.find((d) => d.path === '/spec/target/name')!.desired as string) : ref.name;
          // The run's reconcile instant is the same on every retry of this step: a restart is done once.
          const at = new Date(Date.parse(o.detectedAt));
          const r = await deps.kubernetes.restartConsumers({ cluster, namespace: ref.namespace, secretName, at, findingId: req.findingId });
          return { action, executed: r.restarted.length > 0, detail: `rollout restart of ${r.restarted.length} consumer(s) of Secret ${ref.namespace}/${secretName}: ${[...r.restarted, ...r.skipped.map((x) => `${x} (already restarted)`)].join(', ') || 'none found'}`, facts: r };
        }

        case 'INCIDENT':
          return { action, executed: false, detail: req.incident ? `incident ${req.incident.incidentId} (${req.incident.adapter}) open since routing; the owner carries out the response` : 'incident raised at routing; the owner carries out the response' };

        default:
          throw refuse('NoExecutor', `no executor for action ${action}`);
      }
    }
  }
}

/** The executors, as the lifecycle activities use them. */
export type ReconcileExecutors = ReturnType<typeof createReconcileExecutors>;
