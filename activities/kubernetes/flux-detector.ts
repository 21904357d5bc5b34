import { readTokenRef as readSharedTokenRef, TokenUnavailable } from '../token-ref';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { manifestRef, type DriftObservation, type ObservationContext } from '../../domain/finding';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { TokenRef } from '../../domain/registry/schemas';
import type { DriftManagedUnit, Registry } from '../../registry';
import type { LocalDetection } from '../local-planes/local-planes';
import type { UnitDetector } from '../scan/detectors';
import { describeKubeError, kubeHttpStatus } from './errors';
import { kubeConfigFor, type KubeCredentials } from './kube-config';

// ---------------------------------------------------------------- cluster access (shared by the Kubernetes detectors)

/**
 * How a worker reaches one cluster of the registry (by its `spec.cluster` name): a kubeconfig file
 * and context, or an API server URL (+ CA). A unit's `credentials.token` (read at call time)
 * replaces the kubeconfig user's credentials; `token` here is used only for units without one.
 */
export type ClusterAccess = Omit<KubeCredentials, 'cluster'>;

/** What the Kubernetes detectors (Flux, External Secrets) need. */
export interface KubeDetectorDeps {
  /** The registry, read at each detection (a change on disk is seen at the next scan). */
  registry: () => Promise<Registry | undefined>;
  /** The cluster's access on this worker; undefined when the worker has none for that name. */
  clusterFor: (cluster: string) => ClusterAccess | undefined | Promise<ClusterAccess | undefined>;
  /** Reads a unit's token reference at call time. Default: the worker's environment or the file. */
  readToken?: (ref: TokenRef) => Promise<string>;
  /** Scrubs error text and observation values on their way out (default: keyless). */
  redactor?: Redactor;
}

/** A detection that could not be made: "could not tell", never "no drift". */
export class KubeDetectionError extends Error {
  override readonly name = 'KubeDetectionError';
}

/** Reads a token reference (an environment variable of the worker, or a mounted file); the value is never in an error. */
export async function readTokenRef(ref: TokenRef): Promise<string> {
  try {
    return await readSharedTokenRef(ref);
  } catch (err) {
    if (err instanceof TokenUnavailable) throw new KubeDetectionError(err.message);
    throw err;
  }
}

/**
 * The KubeConfig for a unit: its cluster's access on this worker (kube-config.ts), with the unit's
 * own bearer token (`credentials.token`, read now) when it names one. The token goes into the
 * kubeconfig user only, so client-node sends it in the Authorization header and nowhere else.
 * Returns the token too, so callers can scrub it from any error text.
 */
export async function kubeConfigForUnit(
  unit: DriftManagedUnit,
  deps: Pick<KubeDetectorDeps, 'clusterFor' | 'readToken'>,
): Promise<{ kc: KubeConfig; token?: string }> {
  const name = unit.metadata.name;
  const cluster = unit.spec.cluster;
  if (!cluster) throw new KubeDetectionError(`unit ${name} names no cluster (spec.cluster)`);
  const access = await deps.clusterFor(cluster);
  if (!access)
    throw new KubeDetectionError(
      `cluster ${cluster} (unit ${name}) is not configured on this worker: no kubeconfig context or server for it`,
    );
  const ref = unit.spec.credentials?.token;
  const token = ref ? await (deps.readToken ?? readTokenRef)(ref) : undefined;
  try {
    if (!token) {
      const kc = kubeConfigFor({ cluster, ...access });
      return { kc, ...(access.token ? { token: access.token } : {}) };
    }
    if (access.kubeconfigPath) {
      // The file's cluster (server, CA) and context; the unit's token replaces its user's credentials.
      const kc = kubeConfigFor({ cluster, ...access, token: undefined });
      const user = kc.getCurrentUser()?.name;
      kc.users = kc.users.map((u) => (u.name === user ? { name: u.name, token } : u));
      if (!user) kc.users = [...kc.users, { name: `${cluster}-driftplane`, token }];
      return { kc, token };
    }
    return { kc: kubeConfigFor({ cluster, ...access, token }), token };
  } catch (err) {
    // kubeConfigFor's failures never hold the token; say which unit they were for.
    throw new KubeDetectionError(`unit ${name}: ${(err as Error).message}`);
  }
}

/** A Kubernetes object as the detectors read it: arbitrary JSON (custom resources are untyped). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = Record<string, any>;

/** One `status.conditions[]` entry (kstatus / metav1.Condition). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown' | string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** The condition of that type, if the object reports one. */
export function conditionOf(obj: KubeObject | undefined, type: string): Condition | undefined {
  const list = obj?.status?.conditions;
  return Array.isArray(list) ? (list as Condition[]).find((c) => c?.type === type) : undefined;
}

/** `reason: message` of a condition, one line, bounded. */
export function conditionText(c: Condition | undefined): string {
  if (!c) return '(no condition)';
  const msg = (c.message ?? '').replace(/\s+/g, ' ').trim();
  return `${c.reason ?? c.status}${msg ? `: ${msg}` : ''}`.slice(0, 400);
}

/** A Date, an RFC 3339 string (client-node models turn timestamps into Dates) or nothing, as epoch ms. */
export function timeOf(v: unknown): number | undefined {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.getTime();
  if (typeof v === 'string' && v) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

/** A client-node failure as text: the call, HTTP status and Status message; never headers. */
export function kubeFailure(what: string, err: unknown): KubeDetectionError {
  if (err instanceof KubeDetectionError) return err;
  return new KubeDetectionError(`${what}: ${describeKubeError(err)}`);
}

/** The unit's registry entry when it is one of `types` and names a cluster. */
export async function kubeUnit(
  deps: Pick<KubeDetectorDeps, 'registry'>,
  name: string,
  types: readonly string[],
): Promise<DriftManagedUnit | undefined> {
  // An unreadable registry means no unit is known here: detection then fails, loudly, as stale.
  const u = (await deps.registry().catch(() => undefined))?.units.get(name);
  return u && types.includes(u.spec.type) && u.spec.cluster ? u : undefined;
}

/** Where the unit's desired state lives (`repo/path@revision`), for the observation. */
export function sourceOfTruthOf(unit: DriftManagedUnit): string | undefined {
  const s = unit.spec.source;
  return s ? `${s.repo}/${s.path}@${s.revision}` : undefined;
}

// ---------------------------------------------------------------- Flux

/** A Flux API: group, version, plural (versions as the GA Flux CRDs serve them). */
export interface FluxApi {
  group: string;
  version: string;
  plural: string;
}

/** The Flux objects a unit can be, and the sources they read (source.toolkit.fluxcd.io/v1). */
export const FLUX_APIS: Record<string, FluxApi> = {
  Kustomization: { group: 'kustomize.toolkit.fluxcd.io', version: 'v1', plural: 'kustomizations' },
  HelmRelease: { group: 'helm.toolkit.fluxcd.io', version: 'v2', plural: 'helmreleases' },
  GitRepository: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'gitrepositories' },
  OCIRepository: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'ocirepositories' },
  HelmRepository: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'helmrepositories' },
  HelmChart: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'helmcharts' },
  Bucket: { group: 'source.toolkit.fluxcd.io', version: 'v1', plural: 'buckets' },
};

/** The field of a failed reconciliation whose attempted revision was not applied (desired: attempted, actual: applied). */
export const RECONCILE_REVISION = '/reconcile/appliedRevision';
/** The field of a failed reconciliation at the applied revision (Ready, desired `True`). */
export const RECONCILE_READY = '/reconcile/ready';

const UNIT_KINDS: Record<string, 'Kustomization' | 'HelmRelease'> = {
  'flux-kustomization': 'Kustomization',
  'flux-helmrelease': 'HelmRelease',
};

/**
 * Ready=False reasons that say another object is not ready yet, not that this one failed to
 * apply: the result is unknown (stale), not a failed reconciliation of this unit.
 */
const WAITING_REASONS = new Set(['DependencyNotReady']);

/** A HelmRelease drift line: `Deployment/ns/name changed (0 additions, 1 changes, 0 removals)` or `... removed`. */
const DRIFT_LINE = /^([A-Za-z0-9]+)\/([a-z0-9.-]*)\/([a-z0-9.:-]+) (changed|removed)\b(.*)$/;
/** A change-set line (`DriftCorrected`, apply events): `Kind/ns/name created|configured|deleted`. */
const CHANGESET_LINE =
  /^([A-Za-z0-9]+)\/([a-z0-9.-]*)\/([a-z0-9.:-]+) (created|configured|deleted|unchanged)\b/;

interface SourceRef {
  kind: string;
  name: string;
  namespace: string;
}

/** What the detector read about the Flux object and its sources. */
interface FluxReading {
  kind: 'Kustomization' | 'HelmRelease';
  obj: KubeObject;
  ref: string;
  applied?: string;
  attempted?: string;
  sourceRevision?: string;
  gitops: NonNullable<ObservationContext['gitops']>;
}

const SOURCE_UPSTREAM_KINDS = ['GitRepository', 'OCIRepository', 'Bucket', 'HelmRepository', 'HelmChart'];

/**
 * The Flux detector (issue 11 §3, domain text §8.2) for `flux-kustomization` and
 * `flux-helmrelease` units with a `spec.cluster`: reads the Kustomization or HelmRelease
 * (`spec.gitops.name` ?? unit name, in `spec.gitops.namespace` ?? `flux-system`) through the
 * Kubernetes API, then its source graph, conditions and events:
 * - a source that is not Ready (a GitRepository whose fetch failed, a missing HelmChart, ...), a
 *   suspended object, an object still reconciling a new revision, or one waiting for a dependency:
 *   the detection fails with that reason (DETECTION_STALE), never "in sync";
 * - Stalled=True, Ready=False after an attempt (lastAttemptedRevision != lastAppliedRevision, or a
 *   failed health check), a retrying reconcile or a failed drift correction: one observation of
 *   the Flux object with `context.reconcile` (FAILED_RECONCILIATION);
 * - uncorrected drift events (helm-controller `DriftDetected`, drift detection mode `warn`): one
 *   observation per object the event names, with `context.gitops`.
 * Reverts are not offered here: Flux itself re-applies (or a reconciliation PR does).
 */
export function fluxDetector(deps: KubeDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? keylessRedactor;

  const detect = async (name: string, now: Date): Promise<LocalDetection> => {
    const unit = await kubeUnit(deps, name, Object.keys(UNIT_KINDS));
    if (!unit)
      return {
        status: 'failed',
        unit: name,
        error: `${name} is not a Flux unit with a cluster in the registry`,
      };
    let token: string | undefined;
    try {
      const access = await kubeConfigForUnit(unit, deps);
      token = access.token;
      return await detectFlux(unit, access.kc, now, redactor);
    } catch (err) {
      const message =
        err instanceof KubeDetectionError ? err.message : `Flux detection failed: ${(err as Error).message}`;
      return { status: 'failed', unit: name, error: redactor.text(message, token ? [token] : []) };
    }
  };

  return {
    name: 'flux',
    has: async (unit) => {
      const u = await kubeUnit(deps, unit, Object.keys(UNIT_KINDS));
      // An Argo CD-managed Flux object is observed through Argo CD (pick-detectors.ts says the same).
      return u !== undefined && u.spec.state?.backend !== 'argocd';
    },
    detect,
    revert: () => Promise.resolve(undefined),
  };
}

async function getObject(
  custom: CustomObjectsApi,
  kind: string,
  namespace: string,
  name: string,
): Promise<KubeObject | undefined> {
  const api = FLUX_APIS[kind];
  if (!api) throw new KubeDetectionError(`unsupported Flux kind ${kind}`);
  try {
    return (await custom.getNamespacedCustomObject({ ...api, namespace, name })) as KubeObject;
  } catch (err) {
    if (kubeHttpStatus(err) === 404) return undefined;
    throw kubeFailure(`read ${kind} ${namespace}/${name}`, err);
  }
}

/** The sources a Flux object reads, the one whose artifact it applies first. */
function sourcesOf(kind: 'Kustomization' | 'HelmRelease', obj: KubeObject): SourceRef[] {
  const ns: string = obj.metadata.namespace;
  if (kind === 'Kustomization') {
    const r = obj.spec?.sourceRef;
    return r?.kind && r?.name ? [{ kind: r.kind, name: r.name, namespace: r.namespace ?? ns }] : [];
  }
  const chartRef = obj.spec?.chartRef;
  if (chartRef?.kind && chartRef?.name)
    return [{ kind: chartRef.kind, name: chartRef.name, namespace: chartRef.namespace ?? ns }];
  const upstream = obj.spec?.chart?.spec?.sourceRef;
  if (!upstream?.kind || !upstream?.name) return [];
  const upstreamNs: string = upstream.namespace ?? ns;
  // helm-controller names the HelmChart `<release namespace>-<release name>` in the source's namespace.
  const [chartNs, chartName] =
    typeof obj.status?.helmChart === 'string' && obj.status.helmChart.includes('/')
      ? (obj.status.helmChart as string).split('/', 2)
      : [upstreamNs, `${ns}-${obj.metadata.name}`];
  return [
    { kind: 'HelmChart', name: chartName!, namespace: chartNs! },
    { kind: upstream.kind, name: upstream.name, namespace: upstreamNs },
  ];
}

/** Fails the detection unless the source can serve its artifact; returns that artifact's revision. */
function checkSource(ref: SourceRef, src: KubeObject | undefined): string | undefined {
  const id = `${ref.kind}/${ref.namespace}/${ref.name}`;
  if (!src) throw new KubeDetectionError(`source ${id} not found`);
  if (src.spec?.suspend === true)
    throw new KubeDetectionError(`source ${id} is suspended: its revision is not current`);
  const ready = conditionOf(src, 'Ready');
  const stalled = conditionOf(src, 'Stalled');
  const revision: string | undefined = src.status?.artifact?.revision;
  if (stalled?.status === 'True')
    throw new KubeDetectionError(`source ${id} is stalled: ${conditionText(stalled)}`);
  if (ready?.status === 'False')
    throw new KubeDetectionError(`source ${id} not ready: ${conditionText(ready)}`);
  // An OCI HelmRepository is static: no artifact, no conditions, nothing to fetch.
  if (ref.kind === 'HelmRepository' && src.spec?.type === 'oci') return undefined;
  if (!ready)
    throw new KubeDetectionError(`source ${id} reports no Ready condition: it was never reconciled`);
  if (!revision)
    throw new KubeDetectionError(
      `source ${id} has no artifact yet (Ready=${ready.status}: ${conditionText(ready)})`,
    );
  return revision;
}

/** The latest HelmRelease history snapshot (v2 keeps newest first; ordered by version to be sure). */
function latestSnapshot(obj: KubeObject): KubeObject | undefined {
  const h = obj.status?.history;
  if (!Array.isArray(h) || h.length === 0) return undefined;
  return [...(h as KubeObject[])].sort((a, b) => Number(b.version ?? 0) - Number(a.version ?? 0))[0];
}

/** How often the controller tried and failed (HelmRelease failure counters, Kustomization history). */
function attemptsOf(kind: string, obj: KubeObject, attempted: string | undefined): number {
  const st = obj.status ?? {};
  if (kind === 'HelmRelease') {
    const n = Number(st.failures ?? 0) || Number(st.installFailures ?? 0) + Number(st.upgradeFailures ?? 0);
    return Math.max(1, n);
  }
  const h = Array.isArray(st.history) ? (st.history as KubeObject[]) : [];
  const failing = h.find(
    (e) =>
      e.lastReconciledStatus !== 'ReconciliationSucceeded' &&
      e.lastReconciledStatus !== 'success' &&
      (attempted === undefined ||
        e.metadata?.revision === attempted ||
        e.metadata?.originRevision === attempted),
  );
  return Math.max(1, Number(failing?.totalReconciliations ?? 1));
}

function healthOf(ready: Condition | undefined, stalled: Condition | undefined): string {
  if (stalled?.status === 'True') return 'Stalled';
  if (ready?.status === 'True') return 'Healthy';
  if (ready?.status === 'False') return 'Degraded';
  return 'Progressing';
}

async function detectFlux(
  unit: DriftManagedUnit,
  kc: KubeConfig,
  now: Date,
  redactor: Redactor,
): Promise<LocalDetection> {
  const name = unit.metadata.name;
  const kind = UNIT_KINDS[unit.spec.type]!;
  const objName = unit.spec.gitops?.name ?? name;
  const ns = unit.spec.gitops?.namespace ?? 'flux-system';
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const cluster = unit.spec.cluster!;

  const obj = await getObject(custom, kind, ns, objName);
  if (!obj) throw new KubeDetectionError(`${kind} ${ns}/${objName} not found in cluster ${cluster}`);
  const ref = manifestRef({ kind, metadata: { name: objName, namespace: ns } });
  if (obj.spec?.suspend === true)
    throw new KubeDetectionError(
      `${kind} ${ns}/${objName} is suspended: Flux does not reconcile it, so its drift cannot be told`,
    );

  // The source graph first (§8.2): without a fetchable source, nothing below means "in sync".
  const sources = sourcesOf(kind, obj);
  if (sources.length === 0) throw new KubeDetectionError(`${kind} ${ns}/${objName} names no source`);
  let sourceRevision: string | undefined;
  for (const [i, s] of sources.entries()) {
    if (!SOURCE_UPSTREAM_KINDS.includes(s.kind))
      throw new KubeDetectionError(`${kind} ${ns}/${objName}: unsupported source kind ${s.kind}`);
    const rev = checkSource(s, await getObject(custom, s.kind, s.namespace, s.name));
    if (i === 0) sourceRevision = rev;
  }

  const ready = conditionOf(obj, 'Ready');
  const stalled = conditionOf(obj, 'Stalled');
  const reconciling = conditionOf(obj, 'Reconciling');
  const st = obj.status ?? {};
  const snapshot = kind === 'HelmRelease' ? latestSnapshot(obj) : undefined;
  const applied: string | undefined =
    st.lastAppliedRevision ??
    (snapshot?.status === 'deployed' ? (snapshot.chartVersion as string | undefined) : undefined);
  const attempted: string | undefined = st.lastAttemptedRevision;
  const inSync = applied !== undefined && (attempted === undefined || attempted === applied);
  const gitops: FluxReading['gitops'] = {
    controller: 'flux',
    sync: inSync && ready?.status === 'True' ? 'Synced' : 'OutOfSync',
    health: healthOf(ready, stalled),
    ...(applied ? { revision: applied } : {}),
    ...((attempted ?? sourceRevision) ? { attemptedRevision: (attempted ?? sourceRevision)! } : {}),
    ...(ready?.reason ? { phase: ready.reason } : {}),
  };
  const reading: FluxReading = {
    kind,
    obj,
    ref,
    gitops,
    ...(applied ? { applied } : {}),
    ...(attempted ? { attempted } : {}),
    ...(sourceRevision ? { sourceRevision } : {}),
  };
  const detectedAt = now.toISOString();
  const sourceOfTruth = sourceOfTruthOf(unit);
  const observations: DriftObservation[] = [];

  const failed = (lastError: string, attempts: number) =>
    observations.push(
      failedReconciliation(unit, reading, {
        lastError: redactor.text(lastError),
        attempts,
        detectedAt,
        sourceOfTruth,
      }),
    );

  if (stalled?.status === 'True') {
    failed(
      `Stalled: ${conditionText(stalled)}${ready?.status === 'False' ? `; Ready=False: ${conditionText(ready)}` : ''}`,
      attemptsOf(kind, obj, attempted),
    );
  } else if (ready?.status === 'False') {
    if (WAITING_REASONS.has(ready.reason ?? ''))
      throw new KubeDetectionError(`${kind} ${ns}/${objName} is waiting: ${conditionText(ready)}`);
    failed(`Ready=False: ${conditionText(ready)}`, attemptsOf(kind, obj, attempted));
  } else if (ready?.status === 'True') {
    // Ready: what was applied is what the controller last tried; nothing failed.
  } else if (reconciling?.status === 'True' && reconciling.reason === 'ProgressingWithRetry') {
    failed(
      `retrying after a failed reconciliation: ${conditionText(reconciling)}`,
      attemptsOf(kind, obj, attempted),
    );
  } else if (!ready) {
    throw new KubeDetectionError(
      `${kind} ${ns}/${objName} reports no Ready condition: it was never reconciled`,
    );
  } else if (!(applied !== undefined && sourceRevision !== undefined && applied === sourceRevision)) {
    // Ready=Unknown while a new revision is applied: the outcome is not known yet.
    throw new KubeDetectionError(
      `${kind} ${ns}/${objName} is still reconciling (Ready=Unknown: ${conditionText(ready)}); drift cannot be told yet`,
    );
  }

  // Events: uncorrected drift helm-controller reported, and failed drift corrections.
  let events: KubeObject[];
  try {
    const res = await core.listNamespacedEvent({
      namespace: ns,
      fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${objName}`,
    });
    events = (res.items ?? []) as KubeObject[];
  } catch (err) {
    throw kubeFailure(`list Events of ${kind} ${ns}/${objName}`, err);
  }
  const drift = openDrift(events);
  if (drift.correctionFailed && !observations.some((o) => o.resourceRef === ref))
    failed(`drift correction failed: ${drift.correctionFailed}`, 1);
  for (const d of drift.objects) {
    observations.push({
      unit: name,
      resourceRef: `${d.kind}/${d.namespace || '_'}/${d.name}`,
      resourceType: d.kind,
      relationship: 'desired!=actual',
      changeType: d.change === 'removed' ? 'deleted' : 'modified',
      changedFields: ['/'],
      diff: [{ path: '/', kind: d.change === 'removed' ? 'removed' : 'changed' }],
      detectedAt,
      detector: 'flux',
      stateBackend: `flux:${cluster}/${ref}`,
      ...(sourceOfTruth ? { sourceOfTruth } : {}),
      context: { gitops: { ...gitops, sync: 'OutOfSync' } },
    });
  }
  const scanDrifted = observations.length;
  const inventory = Array.isArray(st.inventory?.entries) ? (st.inventory.entries as unknown[]).length : 0;
  return {
    status: 'ok',
    unit: name,
    observations: observations.map((o) => ({ ...o, scanDrifted })),
    resources: 1 + inventory,
  };
}

/** The FAILED_RECONCILIATION observation of the Flux object itself. */
function failedReconciliation(
  unit: DriftManagedUnit,
  r: FluxReading,
  x: { lastError: string; attempts: number; detectedAt: string; sourceOfTruth: string | undefined },
): DriftObservation {
  // A revision that was attempted and not applied is the drift; else the object's readiness is.
  // The pointers are the controller's reconcile outcome, not `/status/...`: status is runtime-owned,
  // and a runtime-owned field would read as controller-owned drift instead of a failed reconcile.
  const revisionDrift = r.attempted !== undefined && r.attempted !== r.applied;
  const path = revisionDrift ? RECONCILE_REVISION : RECONCILE_READY;
  return {
    unit: unit.metadata.name,
    resourceRef: r.ref,
    resourceType: r.kind,
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: [path],
    diff: [
      revisionDrift
        ? { path, kind: 'changed', desired: r.attempted, actual: r.applied ?? null }
        : {
            path,
            kind: 'changed',
            desired: 'True',
            actual: conditionOf(r.obj, 'Ready')?.status ?? 'Unknown',
          },
    ],
    detectedAt: x.detectedAt,
    detector: 'flux',
    stateBackend: `flux:${unit.spec.cluster}/${r.ref}`,
    healthy: false,
    ...(x.sourceOfTruth ? { sourceOfTruth: x.sourceOfTruth } : {}),
    context: { reconcile: { attempts: x.attempts, lastError: x.lastError }, gitops: r.gitops },
  };
}

interface DriftedObject {
  kind: string;
  namespace: string;
  name: string;
  change: 'changed' | 'removed';
}

/**
 * The drift the object's events leave open: each object a `DriftDetected` event names, unless a
 * later `DriftCorrected` event lists it or a later install/upgrade/rollback re-applied the release;
 * and the newest `DriftCorrectionFailed` message when no success came after it.
 */
export function openDrift(events: readonly KubeObject[]): {
  objects: DriftedObject[];
  correctionFailed?: string;
} {
  const at = (e: KubeObject) =>
    timeOf(e.lastTimestamp) ??
    timeOf(e.eventTime) ??
    timeOf(e.firstTimestamp) ??
    timeOf(e.metadata?.creationTimestamp) ??
    0;
  const sorted = [...events].sort((a, b) => at(a) - at(b));
  const open = new Map<string, DriftedObject>();
  let correctionFailed: string | undefined;
  for (const e of sorted) {
    const lines = String(e.message ?? '')
      .split('\n')
      .map((l) => l.trim());
    switch (e.reason) {
      case 'DriftDetected':
        for (const l of lines) {
          const m = DRIFT_LINE.exec(l);
          if (m)
            open.set(`${m[1]}/${m[2]}/${m[3]}`, {
              kind: m[1]!,
              namespace: m[2]!,
              name: m[3]!,
              change: m[4] as 'changed' | 'removed',
            });
        }
        break;
      case 'DriftCorrected':
        for (const l of lines) {
          const m = CHANGESET_LINE.exec(l);
          if (m) open.delete(`${m[1]}/${m[2]}/${m[3]}`);
        }
        correctionFailed = undefined;
        break;
      case 'DriftCorrectionFailed':
        correctionFailed = lines.filter(Boolean).slice(0, 3).join(' ').slice(0, 400);
        break;
      case 'InstallSucceeded':
      case 'UpgradeSucceeded':
      case 'RollbackSucceeded':
        open.clear();
        correctionFailed = undefined;
        break;
      default:
        break;
    }
  }
  return {
    objects: [...open.values()].sort((a, b) =>
      `${a.kind}/${a.namespace}/${a.name}`.localeCompare(`${b.kind}/${b.namespace}/${b.name}`),
    ),
    ...(correctionFailed ? { correctionFailed } : {}),
  };
}
