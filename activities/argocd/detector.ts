import { writersOf } from '../../domain/classify';
import {
  manifestRef,
  type DriftObservation,
  type FieldChange,
  type ObservationContext,
} from '../../domain/finding';
import { valueAtPointer } from '../../domain/json-diff';
import { unescapePointerToken } from '../../domain/json-pointer';
import { diffManifests, type K8sChange } from '../../domain/kubernetes/diff';
import { isSecretResourceType, keylessRedactor, type Redactor } from '../../domain/redaction';
import type { DriftManagedUnit, Registry } from '../../registry';
import type { LocalDetection } from '../local-planes/local-planes';
import type { UnitDetector } from '../scan/detectors';
import {
  ArgoCdBadResponse,
  createArgoCdClient,
  type ArgoCdApplication,
  type ArgoCdClient,
  type ArgoCdClientOptions,
  type ArgoCdResourceDiff,
  type ArgoCdResourceResult,
  type ArgoCdResourceStatus,
} from './client';

/**
 * The Argo CD detector (issue 11 §3; domain text §8): reads an `argocd-app` unit's Application and
 * its managed resources through the Argo CD REST API and reports what it sees, keeping sync and
 * health apart (§8.1). docs/detection-argocd.md describes what each Argo CD state becomes.
 */

/** The detector's name, as observations carry it. */
export const ARGOCD_DETECTOR = 'argocd';

/** Phases of `status.operationState` that mean the last sync failed. */
const FAILED_PHASES = new Set(['Failed', 'Error']);

/** Health states (`health.lib.go`) that say the resource is not serving as it should. */
const UNHEALTHY = new Set(['Degraded', 'Missing']);

/** The field of the app-level observation for OutOfSync with no resource to name. */
export const APP_SYNC_FIELD = '/status/sync/status';
/** The field of the app-level health observation (Degraded). */
export const APP_HEALTH_FIELD = '/status/health/status';
/** The field of the app-level failed-sync observation (operationState Failed/Error). */
export const APP_OPERATION_FIELD = '/status/operationState/phase';

/**
 * Who answers for an app-level field: Argo CD's application controller (a GitOps manager to the
 * classifier). Without it, a `/status/...` pointer reads as runtime-owned and a failed sync would
 * look like controller-owned noise to ignore, not a control loop that failed.
 */
const APP_FIELD_OWNER = 'argocd-application-controller';

/** What {@link argoCdDetector} needs. */
export interface ArgoCdDetectorDeps {
  /** The registry (read at each detection; a change on disk is seen at the next scan). */
  registry: () => Promise<Registry | undefined>;
  /** Replaces secrets in every diff value and error text (default: `[REDACTED]`, no fingerprints). */
  redactor?: Redactor;
  /** Where token references with `env` are read (default `process.env`, at each call). */
  env?: NodeJS.ProcessEnv;
  /** Per API request (default 30 s). */
  timeoutMs?: number;
  /** Default the global fetch. */
  fetch?: typeof fetch;
  /** Builds the API client (default {@link createArgoCdClient}). */
  client?: (opts: ArgoCdClientOptions) => ArgoCdClient;
}

/** The unit's Argo CD settings, or why the unit cannot be observed through the API. */
export function argoCdTargetOf(unit: DriftManagedUnit):
  | {
      server: string;
      app: string;
      appNamespace?: string;
      token: NonNullable<NonNullable<DriftManagedUnit['spec']['credentials']>['token']>;
    }
  | { error: string } {
  const name = unit.metadata.name;
  const { gitops, credentials } = unit.spec;
  if (unit.spec.type !== 'argocd-app')
    return { error: `unit ${name} is a ${unit.spec.type}, not an argocd-app` };
  if (!gitops?.server) return { error: `unit ${name} has no spec.gitops.server (the Argo CD API)` };
  if (!credentials?.token)
    return {
      error: `unit ${name} has no spec.credentials.token: the Argo CD API needs a bearer token reference (env or file)`,
    };
  return {
    server: gitops.server,
    app: gitops.name ?? name,
    ...(gitops.namespace ? { appNamespace: gitops.namespace } : {}),
    token: credentials.token,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON-encoded `*State` of a ResourceDiff as an object; absent, empty or `null` is no object. */
function stateOf(
  text: string | undefined,
  field: string,
  item: ArgoCdResourceDiff,
): Record<string, unknown> | undefined {
  if (text === undefined || text === '' || text === 'null') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new ArgoCdBadResponse(
      `${field} of ${item.kind ?? '?'}/${item.namespace ?? '_'}/${item.name ?? '?'} is not JSON`,
      'ApplicationService_ManagedResources',
      200,
    );
  }
  if (v === null) return undefined;
  if (!isRecord(v))
    throw new ArgoCdBadResponse(
      `${field} of ${item.kind ?? '?'}/${item.namespace ?? '_'}/${item.name ?? '?'} is not an object`,
      'ApplicationService_ManagedResources',
      200,
    );
  return v;
}

/** True when a live object carries its managedFields. */
const hasOwnership = (o: Record<string, unknown>): boolean =>
  isRecord(o.metadata) && Array.isArray(o.metadata.managedFields);

/**
 * A shallow view of an object without what the comparison leaves out anyway (status, managedFields):
 * the diff normalizes a deep copy of what it is given, and these are the bulk of a live object.
 * Ownership is resolved here from the full object, so the diff's owner labels are not needed.
 */
function comparable(o: Record<string, unknown>): Record<string, unknown> {
  const { status: _status, ...rest } = o;
  if (!isRecord(o.metadata) || !('managedFields' in o.metadata)) return rest;
  const { managedFields: _mf, ...metadata } = o.metadata;
  return { ...rest, metadata };
}

/** True when a `*State` text holds an object (without parsing it). */
const present = (text: string | undefined): boolean => text !== undefined && text !== '' && text !== 'null';

/** `group/Kind` (`Kind` for the core group): how observations type Kubernetes objects. */
const resourceTypeOf = (group: string | undefined, kind: string): string =>
  group ? `${group}/${kind}` : kind;

const keyOf = (r: { group?: string; kind?: string; namespace?: string; name?: string }): string =>
  `${r.group ?? ''}/${r.kind ?? ''}/${r.namespace ?? ''}/${r.name ?? ''}`;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Health reading of one resource: Argo CD 3 keeps per-resource health out of status (appTree), so an app that is Healthy as a whole vouches for each. */
function healthyOf(appHealth: string | undefined, resourceHealth: string | undefined): boolean | undefined {
  const h = resourceHealth ?? (appHealth === 'Healthy' ? 'Healthy' : undefined);
  if (h === 'Healthy') return true;
  if (h !== undefined && UNHEALTHY.has(h)) return false;
  return undefined;
}

/** Tries of the last operation: its retries plus the first. */
const attemptsOf = (retryCount: number | string | undefined): number => {
  const n = typeof retryCount === 'string' ? Number.parseInt(retryCount, 10) : retryCount;
  return Number.isFinite(n) && (n as number) > 0 ? (n as number) + 1 : 1;
};

/** Argo CD's server-side apply field manager (`common.ArgoCDSSAManager`). */
export const ARGOCD_SSA_MANAGER = 'argocd-controller';

const managerOf = (obj: Record<string, unknown>, manager: string): boolean => {
  const mf = isRecord(obj.metadata) ? obj.metadata.managedFields : undefined;
  return Array.isArray(mf) && mf.some((e) => isRecord(e) && e.manager === manager && isRecord(e.fieldsV1));
};

/**
 * The changed fields of one resource, compared as Argo CD compared it: with server-side diff (the
 * predicted live state carries Argo CD's apply manager), the dry-run result against live, counting
 * only what that manager owns (webhook mutations are not drift); otherwise desired (predicted, else
 * target) against live, three-way with the last-applied configuration.
 */
function changesOf(
  item: ArgoCdResourceDiff,
  desired: Record<string, unknown>,
  live: Record<string, unknown>,
): K8sChange[] {
  const target = present(item.predictedLiveState)
    ? stateOf(item.targetState, 'targetState', item)
    : undefined;
  // The predicted object keeps its managedFields: server-side mode reads the apply manager's fields there.
  if (target && managerOf(desired, ARGOCD_SSA_MANAGER))
    return diffManifests(comparable(target), comparable(live), {
      mode: 'server-side',
      manager: ARGOCD_SSA_MANAGER,
      predictedLive: desired,
    }).changes;
  return diffManifests(comparable(desired), comparable(live)).changes;
}

/**
 * One change's values, redacted where they sit. Besides the value's own key and path, a sibling
 * can make it secret: the name of a `{ name: DB_PASSWORD, value: … }` pair (env lists), or the
 * flag before it in an argument list (`--password`, then the value). Those two neighbours are
 * handed to the redactor with the value; everything else is the value on its own path.
 */
function redactChange(
  redactor: Redactor,
  fc: FieldChange,
  live: Record<string, unknown>,
  resourceType: string,
): FieldChange {
  const cut = fc.path.lastIndexOf('/');
  if (cut <= 0 || (!('desired' in fc) && !('actual' in fc))) return redactor.fieldChange(fc, resourceType);
  const leaf = unescapePointerToken(fc.path.slice(cut + 1));
  const parentPath = fc.path.slice(0, cut);
  let inContext: ((v: unknown) => unknown) | undefined;
  if (leaf === 'value' || leaf === 'Value') {
    const parent = valueAtPointer(live, parentPath);
    const holder = isRecord(parent) ? PAIR_HOLDERS.find((h) => typeof parent[h] === 'string') : undefined;
    if (holder && isRecord(parent))
      inContext = (v) =>
        (
          redactor.value(
            { [holder]: parent[holder], [leaf]: v },
            { path: parentPath, resourceType },
          ) as Record<string, unknown>
        )[leaf];
  } else if (/^[1-9]\d*$/.test(leaf)) {
    const parent = valueAtPointer(live, parentPath);
    const before: unknown = Array.isArray(parent) ? parent[Number(leaf) - 1] : undefined;
    if (typeof before === 'string')
      inContext = (v) => (redactor.value([before, v], { path: parentPath, resourceType }) as unknown[])[1];
  }
  if (!inContext) return redactor.fieldChange(fc, resourceType);
  const out: FieldChange = { path: fc.path, kind: fc.kind };
  if ('desired' in fc) out.desired = inContext(fc.desired);
  if ('actual' in fc) out.actual = inContext(fc.actual);
  // And on its own path too: idempotent on what is already redacted.
  return redactor.fieldChange(out, resourceType);
}

/** Keys that name a `{name, value}` pair (the redactor's own list). */
const PAIR_HOLDERS = ['name', 'key', 'Name', 'Key'];

/** The FieldChange of one k8s diff change: kind from which sides hold the field; values only when not a Secret's. */
function fieldChangeOf(c: K8sChange, secretType: boolean): FieldChange {
  const hasDesired = 'desired' in c && c.desired !== undefined;
  const hasLive = 'live' in c && c.live !== undefined;
  const kind: FieldChange['kind'] =
    hasDesired && !hasLive && !secretType
      ? 'removed'
      : hasLive && !hasDesired && !secretType
        ? 'added'
        : 'changed';
  if (secretType) return { path: c.path, kind };
  return {
    path: c.path,
    kind,
    ...(hasDesired ? { desired: c.desired } : {}),
    ...(hasLive ? { actual: c.live } : {}),
  };
}

/**
 * The Argo CD detector for `argocd-app` units with `spec.gitops.server` (app name
 * `spec.gitops.name` ?? the unit's name, `appNamespace` = `spec.gitops.namespace` when set), with
 * the bearer token of `spec.credentials.token`. What it reports (docs/detection-argocd.md):
 * - each managed resource Argo CD marks modified (or OutOfSync): its changed fields, desired
 *   (`predictedLiveState`, else `targetState`) against live (`normalizedLiveState`, else
 *   `liveState`) through `diffManifests`, split into the fields a controller or the runtime last
 *   wrote (per the live object's managedFields) and the rest, so each part classifies on its own;
 *   `context.managedFields` and `context.resourceCreatedAt` feed the classifier's ownership logic;
 * - a resource missing in the cluster (`deleted`) or present but no longer in Git (`created`);
 * - a failed sync (operationState phase Failed/Error): an app-level observation with
 *   `context.reconcile` (FAILED_RECONCILIATION); resources the failed sync could not apply carry
 *   it too;
 * - a Degraded application (whatever its sync status): an app-level health observation,
 *   `healthy: false`, with `context.reconcile` naming the health message: the controller applied
 *   the revision and the result did not converge (FAILED_RECONCILIATION), not a runtime change to revert;
 * - OutOfSync with no resource to name: an app-level sync observation (never clean).
 * An API failure, sync status Unknown (Argo CD could not compare) or a malformed answer is a
 * failed detection. Revert: none (Argo CD syncs by itself or through a PR).
 */
export function argoCdDetector(deps: ArgoCdDetectorDeps): UnitDetector {
  const redactor = deps.redactor ?? keylessRedactor;
  const makeClient = deps.client ?? createArgoCdClient;

  const unitOf = async (name: string): Promise<DriftManagedUnit | undefined> => {
    const u = (await deps.registry().catch(() => undefined))?.units.get(name);
    return u && u.spec.type === 'argocd-app' && u.spec.gitops?.server ? u : undefined;
  };

  return {
    name: ARGOCD_DETECTOR,
    has: async (unit) => (await unitOf(unit)) !== undefined,

    async detect(name, now): Promise<LocalDetection> {
      const u = await unitOf(name);
      if (!u)
        return {
          status: 'failed',
          unit: name,
          error: `${name} is not an argocd-app unit with spec.gitops.server in the registry`,
        };
      const target = argoCdTargetOf(u);
      if ('error' in target) return { status: 'failed', unit: name, error: target.error };
      try {
        const client = makeClient({
          server: target.server,
          token: { ref: target.token, ...(deps.env ? { env: deps.env } : {}) },
          ...(deps.timeoutMs !== undefined ? { timeoutMs: deps.timeoutMs } : {}),
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
        const q = target.appNamespace ? { appNamespace: target.appNamespace } : {};
        const [app, managed] = await Promise.all([
          client.getApplication(target.app, q),
          client.managedResources(target.app, q),
        ]);
        return observe({
          unit: name,
          appName: target.app,
          app,
          items: managed.items,
          detectedAt: now.toISOString(),
          redactor,
        });
      } catch (err) {
        const e = err as Error;
        return { status: 'failed', unit: name, error: redactor.text(`${e.name}: ${e.message}`) };
      }
    },

    // Argo CD reconciles through its own sync (or a PR to Git); driftplane does not patch its objects.
    revert: () => Promise.resolve(undefined),
  };
}

/** Turns one Application and its managed resources into a detection. Exported for the benchmark and tests. */
export function observe(input: {
  unit: string;
  appName: string;
  app: ArgoCdApplication;
  items: readonly ArgoCdResourceDiff[];
  detectedAt: string;
  redactor?: Redactor;
}): LocalDetection {
  const { unit, app, items, detectedAt } = input;
  const redactor = input.redactor ?? keylessRedactor;
  const status = app.status ?? {};
  const sync = status.sync?.status;
  const health = status.health?.status;
  const revision = status.sync?.revision ?? status.sync?.revisions?.[0];
  const op = status.operationState;
  const appNs = app.metadata?.namespace;
  const appRef = `Application/${appNs ?? '_'}/${app.metadata?.name ?? input.appName}`;

  if (!sync || sync === 'Unknown') {
    const why = (status.conditions ?? [])
      .filter((c) => c.message)
      .map((c) => `${c.type ?? 'Condition'}: ${c.message}`)
      .join('; ');
    return {
      status: 'failed',
      unit,
      error: redactor.text(
        `Argo CD could not compare ${input.appName} (sync status ${sync ?? 'absent'})${why ? `: ${why}` : ''}`.slice(
          0,
          1000,
        ),
      ),
    };
  }

  const gitops = (
    extra: { health?: string; phase?: string } = {},
  ): NonNullable<ObservationContext['gitops']> => ({
    controller: 'argocd',
    sync,
    ...((extra.health ?? health) ? { health: extra.health ?? health } : {}),
    ...(revision ? { revision } : {}),
    ...(extra.phase ? { phase: extra.phase } : {}),
  });
  const src = app.spec?.source as
    { repoURL?: string; path?: string; chart?: string; targetRevision?: string } | undefined;
  const sourceOfTruth = src?.repoURL
    ? redactor.text(
        `${src.repoURL}/${src.path ?? src.chart ?? ''}@${revision ?? src.targetRevision ?? 'HEAD'}`,
      )
    : undefined;
  const base = {
    unit,
    detectedAt,
    detector: ARGOCD_DETECTOR,
    relationship: 'desired!=actual' as const,
    stateBackend: `argocd:${appNs ? `${appNs}/` : ''}${input.appName}`,
    ...(sourceOfTruth ? { sourceOfTruth } : {}),
  };

  const failedOp = op?.phase !== undefined && FAILED_PHASES.has(op.phase);
  const attempts = attemptsOf(op?.retryCount);
  const failedResults = new Map<string, ArgoCdResourceResult>();
  if (failedOp)
    for (const r of op?.syncResult?.resources ?? [])
      if (r.status && r.status !== 'Synced' && r.status !== 'Pruned') failedResults.set(keyOf(r), r);
  const resourceStatus = new Map<string, ArgoCdResourceStatus>();
  for (const r of status.resources ?? []) resourceStatus.set(keyOf(r), r);

  const observations: DriftObservation[] = [];
  const uncompared: string[] = [];
  let resources = 0;
  for (const item of items) {
    if (item.hook) continue;
    resources++;
    const st = resourceStatus.get(keyOf(item));
    if (item.modified !== true && st?.status !== 'OutOfSync') continue;
    const kind = item.kind ?? 'Unknown';
    const resourceType = resourceTypeOf(item.group, kind);
    const secretType = isSecretResourceType(resourceType) || isSecretResourceType(kind);
    const ref = manifestRef({
      kind,
      metadata: { name: item.name ?? '?', ...(item.namespace ? { namespace: item.namespace } : {}) },
    });
    const healthy = healthyOf(health, st?.health?.status);
    const failedResult = failedResults.get(keyOf(item));
    const ctxBase: ObservationContext = {
      gitops: gitops(st?.health?.status ? { health: st.health.status } : {}),
      ...(failedResult
        ? {
            reconcile: {
              attempts,
              lastError: redactor
                .text(failedResult.message ?? op?.message ?? `sync ${op?.phase}`)
                .slice(0, 500),
            },
          }
        : {}),
    };
    const common = { ...base, resourceRef: ref, resourceType, ...(healthy !== undefined ? { healthy } : {}) };

    const liveText =
      item.normalizedLiveState !== undefined && present(item.normalizedLiveState)
        ? item.normalizedLiveState
        : item.liveState;
    const desiredText = present(item.predictedLiveState) ? item.predictedLiveState : item.targetState;
    const hasLive = present(liveText);
    const hasDesired = present(item.targetState);
    if (!hasLive && hasDesired) {
      observations.push({
        ...common,
        changeType: 'deleted',
        changedFields: ['/'],
        diff: [{ path: '/', kind: 'removed' }],
        context: ctxBase,
      });
      continue;
    }
    if (hasLive && !hasDesired) {
      observations.push({
        ...common,
        changeType: 'created',
        changedFields: ['/'],
        diff: [{ path: '/', kind: 'added' }],
        context: ctxBase,
      });
      continue;
    }
    if (!hasLive && !hasDesired) continue;

    const desired = stateOf(
      desiredText,
      desiredText === item.predictedLiveState ? 'predictedLiveState' : 'targetState',
      item,
    )!;
    const live = stateOf(
      liveText,
      liveText === item.normalizedLiveState ? 'normalizedLiveState' : 'liveState',
      item,
    )!;
    // Ownership needs the live object's managedFields and creationTimestamp: when the normalized
    // state lacks them, the raw live state has them (parsed only then).
    const rawLive =
      liveText === item.liveState || hasOwnership(live)
        ? live
        : (stateOf(item.liveState, 'liveState', item) ?? live);
    const meta = isRecord(rawLive.metadata) ? rawLive.metadata : {};
    const managedFields = Array.isArray(meta.managedFields)
      ? (meta.managedFields as NonNullable<ObservationContext['managedFields']>)
      : undefined;
    const createdAt =
      typeof meta.creationTimestamp === 'string' && RFC3339.test(meta.creationTimestamp)
        ? meta.creationTimestamp
        : undefined;
    const ctx: ObservationContext = {
      ...ctxBase,
      ...(managedFields ? { managedFields } : {}),
      ...(createdAt ? { resourceCreatedAt: createdAt } : {}),
    };

    let changes: K8sChange[];
    try {
      changes = changesOf(item, desired, live);
    } catch (err) {
      // One object that cannot be compared (kind or name mismatch, a broken annotation) leaves the others readable: a partial detection.
      uncompared.push(redactor.text(`${ref}: ${(err as Error).message}`).slice(0, 300));
      continue;
    }
    if (changes.length === 0) {
      // Argo CD says it differs and our comparison cannot say where: report the resource, never "clean".
      observations.push({
        ...common,
        changeType: 'modified',
        changedFields: ['/'],
        diff: [{ path: '/', kind: 'changed' }],
        context: ctx,
      });
      continue;
    }
    // Fields a controller or the runtime last wrote are their own observation: HPA-owned replicas
    // are CONTROLLER_OWNED_DRIFT even when someone also edited the image of the same Deployment.
    const groups: [FieldChange[], FieldChange[]] = [[], []];
    for (const c of changes) {
      const writer = managedFields ? writersOf(managedFields, c.path, rawLive)[0] : undefined;
      const byController =
        writer !== undefined && (writer.kind === 'controller' || writer.kind === 'runtime');
      const fc = fieldChangeOf(c, secretType);
      groups[byController ? 1 : 0].push(secretType ? fc : redactChange(redactor, fc, live, resourceType));
    }
    for (const diff of groups) {
      if (diff.length === 0) continue;
      observations.push({
        ...common,
        changeType: 'modified',
        changedFields: diff.map((d) => d.path),
        diff,
        context: ctx,
      });
    }
  }

  if (failedOp) {
    observations.push({
      ...base,
      resourceRef: appRef,
      resourceType: 'argoproj.io/Application',
      changeType: 'modified',
      changedFields: [APP_OPERATION_FIELD],
      diff: [{ path: APP_OPERATION_FIELD, kind: 'changed', desired: 'Succeeded', actual: op?.phase }],
      ...(healthyOf(health, undefined) !== undefined ? { healthy: healthyOf(health, undefined)! } : {}),
      context: {
        fieldOwners: { [APP_OPERATION_FIELD]: APP_FIELD_OWNER },
        gitops: gitops({ ...(op?.phase ? { phase: op.phase } : {}) }),
        reconcile: { attempts, lastError: redactor.text(op?.message ?? `sync ${op?.phase}`).slice(0, 500) },
      },
    });
  }
  // Health is its own finding (§8.1). While a sync runs, Degraded is the rollout in progress.
  if (health === 'Degraded' && op?.phase !== 'Running') {
    const message = status.health?.message;
    observations.push({
      ...base,
      resourceRef: appRef,
      resourceType: 'argoproj.io/Application',
      changeType: 'modified',
      changedFields: [APP_HEALTH_FIELD],
      diff: [{ path: APP_HEALTH_FIELD, kind: 'changed', desired: 'Healthy', actual: health }],
      healthy: false,
      context: {
        fieldOwners: { [APP_HEALTH_FIELD]: APP_FIELD_OWNER },
        gitops: gitops(op?.phase ? { phase: op.phase } : {}),
        reconcile: {
          attempts: 1,
          lastError: redactor
            .text(`application health ${health}${message ? `: ${message}` : ''}`)
            .slice(0, 500),
        },
      },
    });
  }
  // OutOfSync with no resource to name (all were hooks, or Argo CD's list lags): say so, never clean.
  if (sync === 'OutOfSync' && !observations.some((o) => o.resourceRef !== appRef)) {
    observations.push({
      ...base,
      resourceRef: appRef,
      resourceType: 'argoproj.io/Application',
      changeType: 'modified',
      changedFields: [APP_SYNC_FIELD],
      diff: [{ path: APP_SYNC_FIELD, kind: 'changed', desired: 'Synced', actual: sync }],
      ...(healthyOf(health, undefined) !== undefined ? { healthy: healthyOf(health, undefined)! } : {}),
      context: { fieldOwners: { [APP_SYNC_FIELD]: APP_FIELD_OWNER }, gitops: gitops() },
    });
  }
  return {
    status: 'ok',
    unit,
    observations,
    resources,
    ...(uncompared.length
      ? {
          partialFailure: `argocd: ${uncompared.length} resource(s) could not be compared; first: ${uncompared[0]}`,
        }
      : {}),
  };
}
