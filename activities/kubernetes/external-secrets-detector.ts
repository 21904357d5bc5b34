import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  setHeaderOptions,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { manifestRef, type DriftObservation, type FieldChange } from '../../domain/finding';
import { keylessRedactor, type Redactor } from '../../domain/redaction';
import type { DriftManagedUnit } from '../../registry';
import type { LocalDetection } from '../local-planes/local-planes';
import type { UnitDetector } from '../scan/detectors';
import { kubeHttpStatus } from './errors';
import {
  KubeDetectionError,
  conditionOf,
  conditionText,
  kubeConfigForUnit,
  kubeFailure,
  kubeUnit,
  sourceOfTruthOf,
  timeOf,
  type KubeDetectorDeps,
  type KubeObject,
} from './flux-detector';
import { RESTARTED_AT_ANNOTATION } from './restart-consumers';
import { secretReferences } from './secret-consumers';

/** The Accept header of a metadata-only read: the API server answers without `data`. */
export const PARTIAL_OBJECT_METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** external-secrets.io versions, newest first: the first one the cluster serves is used. */
export const EXTERNAL_SECRET_VERSIONS = ['v1', 'v1beta1', 'v1alpha1'] as const;

/** ESO's default `spec.refreshInterval`. */
const DEFAULT_REFRESH = '1h';
const PAGE = 500;

/** What the External Secrets detector needs beyond cluster access. */
export interface ExternalSecretsDetectorDeps extends KubeDetectorDeps {
  /**
   * A periodic ExternalSecret whose last refresh is older than this many refresh intervals is
   * late (default 3): its delivery is stale, whatever the value was.
   */
  staleAfterIntervals?: number;
}

/** Parses a Go duration (`1h0m0s`, `15m`, `30s`, `0`) to milliseconds; undefined when malformed. */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;

/** A workload consuming the target Secret, and when its pods were last rolled. */
interface Consumer {
  id: string;
  rolledAt?: number;
  generation?: number;
  observedGeneration?: number;
  references: string[];
}

/** The newest managedFields time of an entry that wrote the object (or, with `templateOnly`, its pod template). */
function lastWrite(managedFields: unknown, templateOnly: boolean): number | undefined {
  if (!Array.isArray(managedFields)) return undefined;
  let best: number | undefined;
  for (const f of managedFields as KubeObject[]) {
    if (f?.subresource) continue; // status writes do not change what pods run with
    if (templateOnly && !f?.fieldsV1?.['f:spec']?.['f:template']) continue;
    const t = timeOf(f?.time);
    if (t !== undefined && (best === undefined || t > best)) best = t;
  }
  return best;
}

/** When a workload's pods were last rolled: restartedAt, else the last write of its pod template, else its creation. */
function rolledAtOf(w: Workload): number | undefined {
  const restarted = timeOf(w.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION]);
  return restarted ?? lastWrite(w.metadata?.managedFields, true) ?? timeOf(w.metadata?.creationTimestamp);
}

async function listAll<T>(
  page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const res = await page(cont);
    items.push(...(res.items ?? []));
    cont = res.metadata?._continue || undefined;
  } while (cont);
  return items;
}

/**
 * The External Secrets detector (issue 11 §3, domain text §17) for `external-secret` units
 * (`spec.cluster`, `spec.namespaces`). For every ExternalSecret in those namespaces it proves
 * freshness and lineage, never a value:
 * - `status.refreshTime` age against `spec.refreshInterval` (late after `staleAfterIntervals`),
 *   `status.syncedResourceVersion` against the object's generation, the Ready condition;
 * - the target Secret through a metadata-only read (`PartialObjectMetadata`): its existence and
 *   last write (managedFields), never `data`;
 * - the Deployments, StatefulSets and DaemonSets whose pod template references that Secret (env,
 *   envFrom, volumes), and whether they were rolled (restartedAt, template write) after it changed.
 * A late refresh, an unsynced generation, a missing target or consumers older than the Secret give
 * one observation with `context.secret` (SECRET_DELIVERY_DRIFT, RESTART_CONSUMERS_AFTER_SECRET_SYNC);
 * Ready=False gives one with `context.reconcile` (secret sync failed). Any read that fails fails
 * the detection (stale), naming it.
 */
export function externalSecretsDetector(deps: ExternalSecretsDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? keylessRedactor;
  const staleAfter = deps.staleAfterIntervals ?? 3;
  return {
    name: 'external-secrets',
    has: async (unit) => (await kubeUnit(deps, unit, ['external-secret'])) !== undefined,
    async detect(name, now) {
      const unit = await kubeUnit(deps, name, ['external-secret']);
      if (!unit)
        return {
          status: 'failed',
          unit: name,
          error: `${name} is not an external-secret unit with a cluster in the registry`,
        };
      let token: string | undefined;
      try {
        const access = await kubeConfigForUnit(unit, deps);
        token = access.token;
        return await detectUnit(unit, access.kc, now, staleAfter, redactor);
      } catch (err) {
        const message =
          err instanceof KubeDetectionError
            ? err.message
            : `External Secrets detection failed: ${(err as Error).message}`;
        return { status: 'failed', unit: name, error: redactor.text(message, token ? [token] : []) };
      }
    },
    revert: () => Promise.resolve(undefined),
  };
}

async function listExternalSecrets(
  custom: CustomObjectsApi,
  namespace: string,
  versions: string[],
): Promise<KubeObject[]> {
  while (versions.length > 0) {
    const version = versions[0]!;
    try {
      return await listAll<KubeObject>(
        async (c) =>
          (await custom.listNamespacedCustomObject({
            group: 'external-secrets.io',
            version,
            namespace,
            plural: 'externalsecrets',
            limit: PAGE,
            ...(c ? { _continue: c } : {}),
          })) as { items: KubeObject[]; metadata?: { _continue?: string } },
      );
    } catch (err) {
      // 404 on a list: the cluster does not serve this version; try the next (and remember).
      if (kubeHttpStatus(err) === 404) {
        versions.shift();
        continue;
      }
      throw kubeFailure(
        `list ExternalSecrets (external-secrets.io/${version}) in namespace ${namespace}`,
        err,
      );
    }
  }
  throw new KubeDetectionError(
    `the cluster serves no ExternalSecret API (external-secrets.io ${EXTERNAL_SECRET_VERSIONS.join(', ')}): is the External Secrets Operator installed?`,
  );
}

/** The target Secret's metadata (never its data), or undefined when it does not exist. */
async function secretMetadata(
  core: CoreV1Api,
  namespace: string,
  name: string,
): Promise<KubeObject | undefined> {
  let res: KubeObject;
  try {
    res = (await core.readNamespacedSecret(
      { name, namespace },
      setHeaderOptions('Accept', PARTIAL_OBJECT_METADATA_ACCEPT),
    )) as unknown as KubeObject;
  } catch (err) {
    if (kubeHttpStatus(err) === 404) return undefined;
    throw kubeFailure(`read metadata of Secret ${namespace}/${name}`, err);
  }
  // Defence in depth: an answer that is not metadata-only is dropped unread.
  if (res.kind !== 'PartialObjectMetadata' || res.data !== undefined || res.stringData !== undefined)
    throw new KubeDetectionError(
      `the API server answered a metadata-only read of Secret ${namespace}/${name} with a full object; refused`,
    );
  return res.metadata as KubeObject;
}

async function detectUnit(
  unit: DriftManagedUnit,
  kc: KubeConfig,
  now: Date,
  staleAfter: number,
  redactor: Redactor,
): Promise<LocalDetection> {
  const name = unit.metadata.name;
  const namespaces = unit.spec.namespaces ?? [];
  if (namespaces.length === 0)
    throw new KubeDetectionError(`unit ${name} names no namespaces (spec.namespaces)`);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const versions: string[] = [...EXTERNAL_SECRET_VERSIONS];
  const detectedAt = now.toISOString();
  const sourceOfTruth = sourceOfTruthOf(unit);
  const observations: DriftObservation[] = [];
  let resources = 0;

  for (const ns of [...namespaces].sort()) {
    const list = await listExternalSecrets(custom, ns, versions);
    resources += list.length;
    if (list.length === 0) continue;
    const workloads: { kind: string; items: Workload[] }[] = [];
    for (const [kind, page] of [
      [
        'Deployment',
        (c: string | undefined) =>
          apps.listNamespacedDeployment({ namespace: ns, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      ],
      [
        'StatefulSet',
        (c: string | undefined) =>
          apps.listNamespacedStatefulSet({ namespace: ns, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      ],
      [
        'DaemonSet',
        (c: string | undefined) =>
          apps.listNamespacedDaemonSet({ namespace: ns, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      ],
    ] as const) {
      try {
        workloads.push({
          kind,
          items: await listAll<Workload>(page as (c: string | undefined) => Promise<{ items: Workload[] }>),
        });
      } catch (err) {
        throw kubeFailure(`list ${kind}s in namespace ${ns} (consumers of ExternalSecret targets)`, err);
      }
    }
    for (const es of [...list].sort((a, b) =>
      String(a.metadata?.name).localeCompare(String(b.metadata?.name)),
    )) {
      es.metadata = { ...es.metadata, namespace: es.metadata?.namespace ?? ns };
      const o = await observe(es, {
        core,
        workloads,
        now,
        staleAfter,
        redactor,
        unit: name,
        cluster: unit.spec.cluster!,
        detectedAt,
        sourceOfTruth,
      });
      if (o) observations.push(o);
    }
  }
  const scanDrifted = observations.length;
  return {
    status: 'ok',
    unit: name,
    observations: observations.map((o) => ({ ...o, scanDrifted })),
    resources,
  };
}

interface ObserveInput {
  core: CoreV1Api;
  workloads: { kind: string; items: Workload[] }[];
  now: Date;
  staleAfter: number;
  redactor: Redactor;
  unit: string;
  cluster: string;
  detectedAt: string;
  sourceOfTruth: string | undefined;
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** One ExternalSecret: its delivery observation, or undefined when it is fresh. */
async function observe(es: KubeObject, x: ObserveInput): Promise<DriftObservation | undefined> {
  const ns: string = es.metadata.namespace;
  const esName: string = es.metadata.name;
  const ref = manifestRef({ kind: 'ExternalSecret', metadata: { name: esName, namespace: ns } });
  const base = {
    unit: x.unit,
    resourceRef: ref,
    resourceType: 'ExternalSecret',
    relationship: 'desired!=actual' as const,
    changeType: 'modified' as const,
    detectedAt: x.detectedAt,
    detector: 'external-secrets',
    stateBackend: `kubernetes:${x.cluster}/${ns}`,
    ...(x.sourceOfTruth ? { sourceOfTruth: x.sourceOfTruth } : {}),
  };
  const ready = conditionOf(es, 'Ready');
  if (ready?.status === 'False') {
    // The operator could not fetch or write the secret: restarting consumers would not help.
    const path = '/status/conditions/Ready';
    return {
      ...base,
      changedFields: [path],
      diff: [{ path, kind: 'changed', desired: 'True', actual: 'False' }],
      healthy: false,
      context: {
        reconcile: { attempts: 1, lastError: x.redactor.text(`Ready=False: ${conditionText(ready)}`) },
      },
    };
  }

  const target: string = es.spec?.target?.name ?? esName;
  const creationPolicy: string = es.spec?.target?.creationPolicy ?? 'Owner';
  const refreshPolicy: string = es.spec?.refreshPolicy ?? 'Periodic';
  const intervalText = String(es.spec?.refreshInterval ?? DEFAULT_REFRESH);
  const interval = parseGoDuration(intervalText);
  if (interval === undefined)
    throw new KubeDetectionError(
      `ExternalSecret ${ns}/${esName}: refreshInterval ${intervalText} is not a duration`,
    );
  const generation = Number(es.metadata.generation ?? 1);
  const synced: string | undefined = es.status?.syncedResourceVersion;
  const syncedGeneration = synced && /^\d+-/.test(synced) ? Number(synced.split('-')[0]) : undefined;
  const refreshedAt = timeOf(es.status?.refreshTime);
  const createdAt = timeOf(es.metadata.creationTimestamp);
  const nowMs = x.now.getTime();
  const periodic = refreshPolicy === 'Periodic' && interval > 0;

  // Never synced: late only once it has had its allowance; before that it is not due yet.
  const since = refreshedAt ?? createdAt;
  const ageMs = since === undefined ? undefined : Math.max(0, nowMs - since);
  const allowance = periodic ? interval * x.staleAfter : undefined;
  const late = ageMs !== undefined && allowance !== undefined && ageMs > allowance;
  const neverSynced = refreshedAt === undefined && synced === undefined;
  if (neverSynced && !late) return undefined;
  const generationLag = syncedGeneration !== undefined && syncedGeneration < generation;

  const meta = creationPolicy === 'None' ? undefined : await secretMetadata(x.core, ns, target);
  const absent = creationPolicy !== 'None' && meta === undefined && !neverSynced;
  const secretWrittenAt = meta
    ? (lastWrite(meta.managedFields, false) ?? timeOf(meta.creationTimestamp))
    : undefined;

  const consumers: Consumer[] = [];
  for (const { kind, items } of x.workloads)
    for (const w of items) {
      const references = secretReferences(w.spec?.template?.spec, target);
      if (references.length === 0) continue;
      const rolledAt = rolledAtOf(w);
      consumers.push({
        id: `${kind}/${ns}/${w.metadata?.name ?? ''}`,
        references,
        ...(rolledAt !== undefined ? { rolledAt } : {}),
        ...(w.metadata?.generation !== undefined ? { generation: w.metadata.generation } : {}),
        ...(w.status?.observedGeneration !== undefined
          ? { observedGeneration: w.status.observedGeneration }
          : {}),
      });
    }
  consumers.sort((a, b) => a.id.localeCompare(b.id));
  const stale =
    secretWrittenAt === undefined
      ? []
      : consumers.filter((c) => c.rolledAt === undefined || c.rolledAt < secretWrittenAt);

  if (!late && !generationLag && !absent && stale.length === 0) return undefined;

  // Versions are delivery epochs, `<generation>@<refresh instant>`: what the external source should
  // have delivered by now against what the cluster holds. Equal when fresh; never a value.
  const dueAt =
    late && since !== undefined && interval > 0
      ? since + Math.floor((nowMs - since) / interval) * interval
      : refreshedAt;
  const externalVersion = `${generation}@${iso(dueAt) ?? 'due'}`;
  const clusterVersion = absent
    ? 'secret-absent'
    : neverSynced
      ? 'never-synced'
      : `${syncedGeneration ?? '?'}@${iso(refreshedAt) ?? 'never'}`;
  const diff: FieldChange[] = [];
  if (late || neverSynced)
    diff.push({
      path: '/status/refreshTime',
      kind: 'changed',
      desired: `refreshed within ${x.staleAfter} x ${intervalText}`,
      actual: iso(refreshedAt) ?? null,
    });
  if (generationLag)
    diff.push({
      path: '/status/syncedResourceVersion',
      kind: 'changed',
      desired: `generation ${generation}`,
      actual: synced,
    });
  if (absent) diff.push({ path: `/target/${target}`, kind: 'removed', desired: 'present', actual: 'absent' });
  for (const c of stale)
    diff.push({
      path: `/consumers/${c.id.replaceAll('~', '~0').replaceAll('/', '~1')}/rolledAt`,
      kind: 'changed',
      desired: `after ${iso(secretWrittenAt)}`,
      actual: iso(c.rolledAt) ?? null,
    });
  return {
    ...base,
    changedFields: ['/status/refreshTime'],
    diff: diff.map((d) => x.redactor.fieldChange(d, 'ExternalSecret')),
    ...(ready?.status === 'True' ? { healthy: true } : {}),
    context: {
      secret: {
        externalVersion,
        clusterVersion,
        consumersStale: stale.length > 0,
        ...(ageMs !== undefined ? { lastRefreshAgeMinutes: Math.floor(ageMs / 60_000) } : {}),
      },
    },
  };
}
