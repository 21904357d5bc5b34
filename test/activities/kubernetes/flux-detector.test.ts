import { classifyObservation as classifyThroughLiveFlow } from '../../support/classify-observation';
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { staleObservation, type DriftObservation } from '../../../domain/finding';
import { DriftManagedUnitSchema, type DriftManagedUnit } from '../../../domain/registry/schemas';
import { fluxDetector, openDrift, type ClusterAccess } from '../../../activities/kubernetes';
import type { Registry } from '../../../registry';
import { loadDecisionTable } from '../../../registry/decision-table';
import { KubeApiServer } from '../../support/kube-api-server';
import { sharedFixture } from '../../support/shared-fixtures';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const TOKEN = 'dp-flux-unit-token-5c1e9a77b20d4e83';
const TOKEN_ENV = 'DP_TEST_FLUX_TOKEN';
const NOW = new Date('2026-05-01T12:00:00Z');
const table = loadDecisionTable();

/** Objects of a flux2 CLI test fixture (Go templates: `{{ .fluxns }}`, `{{ .ns }}`), parsed fresh. */
function flux(file: string): Obj[] {
  const text = readFileSync(sharedFixture('flux', file), 'utf8')
    .replaceAll('{{ .fluxns }}', 'flux-system')
    .replaceAll('{{ .ns }}', 'default');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}
const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (!o) throw new Error(`fixture has no ${kind} ${name}`);
  return structuredClone(o);
};

// trace/helmrelease.yaml: Kustomization flux-system/infrastructure (Ready, applied main@sha1:696f…)
// reading GitRepository flux-system/flux-system (Ready, artifact main@sha1:696f…), and HelmRelease
// default/podinfo (Ready, 6.3.5) whose chart comes from HelmRepository flux-system/podinfo.
const trace = () => flux('fluxcd-flux2__cmd__flux__testdata__trace__helmrelease.yaml');
// trace/deployment.yaml: the HelmChart flux-system/podinfo-podinfo (Ready, 6.3.5) and its HelmRepository.
const traceDeployment = () => flux('fluxcd-flux2__cmd__flux__testdata__trace__deployment.yaml');
// get/status_objects.yaml: GitRepositories gr-failed (GitOperationFailed), gr-ready, gr-unknown.
const statusObjects = () => flux('fluxcd-flux2__cmd__flux__testdata__get__status_objects.yaml');
// helm-controller docs: a real helm-controller Event (TestSucceeded) for HelmRelease default/podinfo.
const helmEvent = (): Obj =>
  parseAllDocuments(
    readFileSync(
      sharedFixture('flux', 'fluxcd-helm-controller__docs__spec__v2__helmreleases.md__event-example.yaml'),
      'utf8',
    ),
  )[0]!.toJS() as Obj;
// kustomize-controller docs: status.history with a HealthCheckFailed entry (120 reconciliations).
const kustomizationHistory = (): Obj[] =>
  (
    parseAllDocuments(
      readFileSync(
        sharedFixture(
          'flux',
          'fluxcd-kustomize-controller__docs__spec__v1__kustomizations.md__history-example.yaml',
        ),
        'utf8',
      ),
    )[0]!.toJS() as Obj
  ).status.history;

function unitDoc(name: string, spec: Obj): DriftManagedUnit {
  return DriftManagedUnitSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftManagedUnit',
    metadata: { name },
    spec: {
      owner: 'platform',
      environment: 'prod',
      riskTier: 'standard',
      source: { repo: 'github.com/acme/gitops', path: `clusters/prod/${name}`, revision: 'main' },
      cluster: 'prod-euw1-a',
      credentials: { token: { env: TOKEN_ENV } },
      ...spec,
    },
  });
}

const UNITS = [
  unitDoc('infrastructure', { type: 'flux-kustomization' }),
  unitDoc('podinfo-release', { type: 'flux-helmrelease', gitops: { name: 'podinfo', namespace: 'default' } }),
  unitDoc('argo-managed', { type: 'flux-kustomization', state: { backend: 'argocd', path: 'x' } }),
];
const registry = { units: new Map(UNITS.map((u) => [u.metadata.name, u])) } as unknown as Registry;
const unitOf = (name: string) => registry.units.get(name)!;

/** Classifies an observation the way the live flow does (registry-policy.ts maps its context). */
function classifyObservation(o: DriftObservation) {
  const u = unitOf(o.unit);
  return classifyThroughLiveFlow(o, { ...u, spec: { ...u.spec, policies: { ...u.spec.policies, autoHeal: false, requireIncidentForManualChange: false } } }, { now: NOW, table });
}

describe('fluxDetector against a Kubernetes API stand-in with the flux2 fixtures', () => {
  let api: KubeApiServer;
  let access: ClusterAccess;
  const detector = () =>
    fluxDetector({
      registry: () => Promise.resolve(registry),
      clusterFor: (c) => (c === 'prod-euw1-a' ? access : undefined),
    });

  beforeAll(async () => {
    api = await KubeApiServer.start(TOKEN);
    // The worker's access names the server only; the unit's token comes from credentials.token.
    access = { server: api.url, skipTLSVerify: true };
  });
  afterAll(async () => api.close());
  beforeEach(() => {
    process.env[TOKEN_ENV] = TOKEN;
    api.clear();
    const t = trace();
    for (const o of [
      find(t, 'Kustomization', 'infrastructure'),
      find(t, 'GitRepository', 'flux-system'),
      find(t, 'HelmRelease', 'podinfo'),
    ])
      api.put(o);
    const d = traceDeployment();
    for (const o of [find(d, 'HelmChart', 'podinfo-podinfo'), find(d, 'HelmRepository', 'podinfo')])
      api.put(o);
    for (const o of statusObjects().filter((x) => x.kind === 'GitRepository')) api.put(o);
  });
  afterEach(() => {
    delete process.env[TOKEN_ENV];
    expect(api.invalid()).toEqual([]);
  });

  it('a Ready Kustomization whose GitRepository serves the applied revision: ok, no drift, through the CRD paths', async () => {
    const r = await detector().detect('infrastructure', NOW);
    expect(r).toEqual({ status: 'ok', unit: 'infrastructure', observations: [], resources: 1 });
    const paths = api.calls('GET').map((c) => c.path);
    expect(paths).toEqual([
      '/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations/infrastructure',
      '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/gitrepositories/flux-system',
      '/api/v1/namespaces/flux-system/events',
    ]);
    expect(api.calls('GET')[2]!.query.fieldSelector).toBe(
      'involvedObject.kind=Kustomization,involvedObject.name=infrastructure',
    );
  });

  it('a GitRepository whose fetch failed (GitOperationFailed) fails the detection: DETECTION_STALE, not clean', async () => {
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.spec.sourceRef.name = 'gr-failed';
    api.put(k);
    const r = await detector().detect('infrastructure', NOW);
    expect(r).toEqual({
      status: 'failed',
      unit: 'infrastructure',
      error:
        'source GitRepository/flux-system/gr-failed not ready: GitOperationFailed: failed to checkout and determine revision',
    });
    // What the scan makes of a failed detection, through the default table.
    const stale = staleObservation({
      unit: 'infrastructure',
      status: 'failed',
      error: r.status === 'failed' ? r.error : '',
      detectedAt: NOW.toISOString(),
      detector: 'flux',
    });
    const d = classifyObservation(stale);
    expect(d.driftClass).toBe('DETECTION_STALE');
    expect(d.reasons.map((x) => x.ruleId)).toContain('detection-stale');
  });

  it('a GitRepository still fetching (Ready=Unknown, no artifact) and a missing source are stale too', async () => {
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.spec.sourceRef.name = 'gr-unknown';
    api.put(k);
    const r1 = await detector().detect('infrastructure', NOW);
    expect(r1.status === 'failed' && r1.error).toBe(
      'source GitRepository/flux-system/gr-unknown has no artifact yet (Ready=Unknown: Progressing: reconciliation in progress)',
    );
    k.spec.sourceRef = { kind: 'OCIRepository', name: 'flux-system' };
    api.put(k);
    const r2 = await detector().detect('infrastructure', NOW);
    expect(r2.status === 'failed' && r2.error).toBe('source OCIRepository/flux-system/flux-system not found');
  });

  it('Stalled after an apply (attempted != applied): FAILED_RECONCILIATION with the controller’s attempts and error', async () => {
    const history = kustomizationHistory();
    const failedEntry = history.find((h) => h.lastReconciledStatus === 'HealthCheckFailed')!;
    const goodEntry = history.find((h) => h.lastReconciledStatus === 'ReconciliationSucceeded')!;
    const attempted: string = failedEntry.metadata.revision;
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.status.lastAppliedRevision = goodEntry.metadata.revision;
    k.status.lastAttemptedRevision = attempted;
    k.status.history = history;
    k.status.conditions = [
      {
        type: 'Ready',
        status: 'False',
        reason: 'HealthCheckFailed',
        message:
          "health check failed after 2m0s: timeout waiting for: [Deployment/default/podinfo status: 'InProgress']",
        lastTransitionTime: '2026-05-01T11:50:00Z',
      },
      {
        type: 'Stalled',
        status: 'True',
        reason: 'HealthCheckFailed',
        message: 'health check failed after 2m0s',
        lastTransitionTime: '2026-05-01T11:50:00Z',
      },
    ];
    const git = find(trace(), 'GitRepository', 'flux-system');
    git.status.artifact.revision = attempted;
    api.put(k);
    api.put(git);

    const r = await detector().detect('infrastructure', NOW);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.observations).toHaveLength(1);
    const o = r.observations[0]!;
    expect(o).toMatchObject({
      resourceRef: 'Kustomization/flux-system/infrastructure',
      resourceType: 'Kustomization',
      relationship: 'desired!=actual',
      changedFields: ['/reconcile/appliedRevision'],
      diff: [
        {
          path: '/reconcile/appliedRevision',
          kind: 'changed',
          desired: attempted,
          actual: goodEntry.metadata.revision,
        },
      ],
      healthy: false,
      detector: 'flux',
      sourceOfTruth: 'github.com/acme/gitops/clusters/prod/infrastructure@main',
    });
    expect(o.context?.reconcile?.attempts).toBe(failedEntry.totalReconciliations);
    expect(o.context?.reconcile?.lastError).toMatch(
      /^Stalled: HealthCheckFailed: health check failed after 2m0s; Ready=False: HealthCheckFailed/,
    );
    expect(o.context?.gitops).toEqual({
      controller: 'flux',
      sync: 'OutOfSync',
      health: 'Stalled',
      revision: goodEntry.metadata.revision,
      attemptedRevision: attempted,
      phase: 'HealthCheckFailed',
    });
    const d = classifyObservation(o);
    expect(d.driftClass).toBe('FAILED_RECONCILIATION');
    expect(d.recommendedAction).toBe('INCIDENT');
    expect(d.reasons.map((x) => x.ruleId)).toContain('failed-reconciliation');
  });

  it('Ready=False while waiting for a dependency is stale (not this unit’s failure); Ready=Unknown on a new revision is stale', async () => {
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.status.conditions = [
      {
        type: 'Ready',
        status: 'False',
        reason: 'DependencyNotReady',
        message: "dependency 'flux-system/flux-system' is not ready",
      },
    ];
    api.put(k);
    const r1 = await detector().detect('infrastructure', NOW);
    expect(r1.status === 'failed' && r1.error).toBe(
      "Kustomization flux-system/infrastructure is waiting: DependencyNotReady: dependency 'flux-system/flux-system' is not ready",
    );

    const git = find(trace(), 'GitRepository', 'flux-system');
    git.status.artifact.revision = 'main@sha1:0000000000000000000000000000000000000001';
    k.status.conditions = [
      {
        type: 'Reconciling',
        status: 'True',
        reason: 'Progressing',
        message: 'Fetching manifests for revision main@sha1:0000000000000000000000000000000000000001',
      },
      { type: 'Ready', status: 'Unknown', reason: 'Progressing', message: 'Reconciliation in progress' },
    ];
    api.put(k);
    api.put(git);
    const r2 = await detector().detect('infrastructure', NOW);
    expect(r2.status === 'failed' && r2.error).toMatch(
      /is still reconciling \(Ready=Unknown: Progressing: Reconciliation in progress\); drift cannot be told yet$/,
    );
  });

  it('a suspended object, a missing object and an unknown cluster fail with what is wrong', async () => {
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.spec.suspend = true;
    api.put(k);
    const r1 = await detector().detect('infrastructure', NOW);
    expect(r1.status === 'failed' && r1.error).toMatch(
      /^Kustomization flux-system\/infrastructure is suspended/,
    );
    const r2 = await detector().detect('nope', NOW);
    expect(r2.status).toBe('failed');
    api.clear();
    const r3 = await detector().detect('podinfo-release', NOW);
    expect(r3.status === 'failed' && r3.error).toBe(
      'HelmRelease default/podinfo not found in cluster prod-euw1-a',
    );
    const other = fluxDetector({ registry: () => Promise.resolve(registry), clusterFor: () => undefined });
    const r4 = await other.detect('infrastructure', NOW);
    expect(r4.status === 'failed' && r4.error).toMatch(
      /^cluster prod-euw1-a \(unit infrastructure\) is not configured on this worker/,
    );
  });

  it('a HelmRelease reads its HelmChart and HelmRepository; an uncorrected DriftDetected event gives one observation per object it names', async () => {
    const clean = await detector().detect('podinfo-release', NOW);
    expect(clean).toMatchObject({ status: 'ok', observations: [] });
    expect(api.calls('GET').map((c) => c.path)).toEqual([
      '/apis/helm.toolkit.fluxcd.io/v2/namespaces/default/helmreleases/podinfo',
      '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/helmcharts/podinfo-podinfo',
      '/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/helmrepositories/podinfo',
      '/api/v1/namespaces/default/events',
    ]);

    // The real helm-controller Event, as the drift detection (mode: warn) emits it.
    const drift = helmEvent();
    drift.metadata.name = 'podinfo.17cd1c4e15d474cc';
    drift.type = 'Warning';
    drift.reason = 'DriftDetected';
    drift.message =
      'Cluster state of release default/podinfo.v2 has drifted from the desired state:\nDeployment/default/podinfo changed (0 additions, 1 changes, 0 removals)\nService/default/podinfo removed';
    drift.lastTimestamp = '2026-05-01T11:58:00Z';
    api.put(drift);
    api.put(helmEvent()); // TestSucceeded: not drift
    const r = await detector().detect('podinfo-release', NOW);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.observations.map((o) => [o.resourceRef, o.changeType])).toEqual([
      ['Deployment/default/podinfo', 'modified'],
      ['Service/default/podinfo', 'deleted'],
    ]);
    expect(r.observations[0]!.context?.gitops).toMatchObject({
      controller: 'flux',
      sync: 'OutOfSync',
      health: 'Healthy',
      revision: '6.3.5',
    });
    expect(r.observations[0]!.scanDrifted).toBe(2);

    // A later DriftCorrected lists the Deployment: only the Service stays open.
    const corrected = helmEvent();
    corrected.metadata.name = 'podinfo.17cd1c4e15d474dd';
    corrected.reason = 'DriftCorrected';
    corrected.message =
      'Cluster state of release default/podinfo.v2 has been corrected:\nDeployment/default/podinfo configured';
    corrected.lastTimestamp = '2026-05-01T11:59:00Z';
    api.put(corrected);
    const r2 = await detector().detect('podinfo-release', NOW);
    expect(r2.status === 'ok' && r2.observations.map((o) => o.resourceRef)).toEqual([
      'Service/default/podinfo',
    ]);
  });

  it('openDrift: a later upgrade closes drift; a failed correction is reported', () => {
    const ev = (reason: string, message: string, t: string) => ({ reason, message, lastTimestamp: t });
    expect(
      openDrift([
        ev(
          'DriftDetected',
          'x:\nDeployment/a/b changed (1 additions, 0 changes, 0 removals)',
          '2026-01-01T00:00:00Z',
        ),
        ev('UpgradeSucceeded', 'ok', '2026-01-01T00:01:00Z'),
      ]),
    ).toEqual({ objects: [] });
    expect(
      openDrift([
        ev(
          'DriftCorrectionFailed',
          'Failed to correct cluster state of release a/b.v1:\nDeployment/a/b dry-run failed',
          '2026-01-01T00:00:00Z',
        ),
      ]).correctionFailed,
    ).toBe('Failed to correct cluster state of release a/b.v1: Deployment/a/b dry-run failed');
  });

  it('the unit’s token (credentials.token) goes only into the Authorization header, and nowhere in the result', async () => {
    const k = find(trace(), 'Kustomization', 'infrastructure');
    k.spec.sourceRef.name = 'gr-failed';
    api.put(k);
    const results = [
      await detector().detect('infrastructure', NOW),
      await detector().detect('podinfo-release', NOW),
    ];
    expect(api.requests.length).toBeGreaterThan(0);
    // Every request was accepted with `Bearer <token>` (else invalid, see afterEach) and carried it nowhere else.
    expect(api.requests.filter((r) => r.tokenElsewhere)).toEqual([]);
    expect(JSON.stringify(results)).not.toContain(TOKEN);

    // Without the token on the worker: a failed detection naming the variable, never a request.
    delete process.env[TOKEN_ENV];
    api.reset();
    const r = await detector().detect('infrastructure', NOW);
    expect(r.status === 'failed' && r.error).toBe(
      `the token variable ${TOKEN_ENV} is not set on this worker`,
    );
    expect(api.requests).toEqual([]);
  });

  it('has(): Flux units with a cluster, not the Argo CD-managed one', async () => {
    const d = detector();
    expect(await d.has('infrastructure')).toBe(true);
    expect(await d.has('podinfo-release')).toBe(true);
    expect(await d.has('argo-managed')).toBe(false);
    expect(await d.has('nope')).toBe(false);
  });
});
