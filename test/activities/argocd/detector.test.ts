import { classifyObservation, testUnit } from '../../support/classify-observation';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APP_HEALTH_FIELD, APP_OPERATION_FIELD, argoCdDetector } from '../../../activities/argocd/detector';
import type { LocalDetection } from '../../../activities/local-planes/local-planes';
import { type Decision } from '../../../domain/classify';
import { DriftObservationSchema, type DriftObservation } from '../../../domain/finding';
import { createRedactor } from '../../../domain/redaction';
import { loadRegistry, type Registry } from '../../../registry';
import { loadDecisionTable } from '../../../registry/decision-table';
import {
  argoCdFixture,
  resourceDiffOf,
  startArgoCdApiServer,
  type ArgoCdApiServer,
} from '../../support/argocd-api-server';

const TOKEN = 'argocd-detector-token.eyJzdWIiOiJkcmlmdHBsYW5lIn0.c2lnbmF0dXJlLXZhbHVl';
const NOW = new Date('2026-12-03T12:00:00Z');
const table = loadDecisionTable();

let server: ArgoCdApiServer;
let dir: string;
let registry: Registry;
const env: NodeJS.ProcessEnv = { ARGOCD_TOKEN: TOKEN };

type Obj = Record<string, unknown>;
const clone = <T>(v: T): T => structuredClone(v);

/** The util/argo pair (desired replicas 3; live replicas 2 written by kube-controller-manager), renamed to sit in an app. */
function hpaPair(name: string, namespace: string): { desired: Obj; live: Obj } {
  const desired = argoCdFixture('util__argo__testdata__desired_deployment.yaml');
  const live = argoCdFixture('util__argo__testdata__live_deployment_with_managed_replica.yaml');
  for (const o of [desired, live]) Object.assign(o.metadata as Obj, { name, namespace });
  return { desired, live };
}

const renamed = (o: Obj, name: string): Obj => ({ ...o, metadata: { ...(o.metadata as Obj), name } });

/** An Application around a status (the docs extracts carry only `status`). */
function appAround(name: string, namespace: string, status: Obj): Obj {
  const base = argoCdFixture('controller__testdata__diff-cache.yaml');
  return { ...base, metadata: { ...(base.metadata as Obj), name, namespace }, status };
}

/** The registry units: one per scenario, each an argocd-app against the stand-in. */
function unitYaml(
  name: string,
  gitops: { name?: string; namespace?: string },
  token = 'env: ARGOCD_TOKEN',
): string {
  return `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: argocd-app
  owner: checkout
  environment: prod
  riskTier: high
  domain: app
  cluster: prod-euw1-a
  source:
    repo: github.com/acme/gitops
    path: apps/${name}
    revision: main
  state:
    backend: argocd
  schedule:
    frequency: 15m
  policies:
    autoHeal: false
    requireIncidentForManualChange: false
  evidence:
    retention: 7y
  approvers:
    - checkout-approvers
  gitops:
    server: SERVER
${gitops.name ? `    name: ${gitops.name}\n` : ''}${gitops.namespace ? `    namespace: ${gitops.namespace}\n` : ''}  credentials:
    token:
      ${token}
`;
}

beforeAll(async () => {
  server = await startArgoCdApiServer({ token: TOKEN });
  dir = mkdtempSync(path.join(os.tmpdir(), 'argocd-detector-'));
  const units = [
    unitYaml('shop-outofsync', { name: 'guestbook-drifted' }),
    unitYaml('shop-apptree', { name: 'guestbook-apptree' }),
    unitYaml('velero-degraded', { name: 'velero-test', namespace: 'argo-cd' }),
    unitYaml('velero-failed', { name: 'velero-failed', namespace: 'argo-cd' }),
    unitYaml('velero-ssd', { name: 'velero-ssd', namespace: 'argo-cd' }),
    unitYaml('vault-config', { name: 'vault-config' }),
    unitYaml('lost-app', { name: 'nowhere' }),
    unitYaml('unknown-sync', { name: 'unknown-sync' }),
    unitYaml('half-readable', { name: 'half-readable' }),
    unitYaml('nameless-drift', { name: 'nameless-drift' }),
    unitYaml('file-token', { name: 'guestbook-drifted' }, `file: ${path.join(dir, 'token')}`),
  ].join('---\n');
  writeFileSync(path.join(dir, 'units.yaml'), units.replaceAll('SERVER', server.url));
  writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
  writeFileSync(
    path.join(dir, 'teams.yaml'),
    `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: checkout
spec:
  displayName: Checkout
  members:
    - email: maria.lopez@acme.example
      name: Maria Lopez
---
apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: checkout-approvers
spec:
  displayName: Checkout approvers
  members:
    - email: maria.lopez@acme.example
      name: Maria Lopez
`,
  );
  const loaded = await loadRegistry(dir);
  if (!loaded.ok) throw new Error(`test registry invalid: ${JSON.stringify(loaded.errors.slice(0, 3))}`);
  registry = loaded.registry;

  // OutOfSync + Healthy (Argo CD 2.x status, per-resource health persisted): the docs extract; the
  // Deployment it names is the util/argo pair, HPA-owned replicas and all.
  const persisted = argoCdFixture(
    'docs__operator-manual__upgrading__2.14-3.0.md__status-outofsync-health-persisted.yaml',
  );
  const pair = hpaPair('my-app', 'foo');
  server.setApplication(appAround('guestbook-drifted', 'argocd', persisted.status as Obj), [
    resourceDiffOf({ ...pair, modified: true }),
  ]);
  // The same in the Argo CD 3 shape (resourceHealthSource: appTree, no per-resource health).
  const appTree = argoCdFixture(
    'docs__operator-manual__upgrading__2.14-3.0.md__status-outofsync-health-not-persisted.yaml',
  );
  server.setApplication(appAround('guestbook-apptree', 'argocd', appTree.status as Obj), [
    resourceDiffOf({ ...pair, modified: true }),
  ]);

  // Synced + Degraded: the real diff-cache Application (Synced, its operation Succeeded) with the
  // health of gitops-engine's application-degraded fixture; its resources match Git.
  const velero = argoCdFixture('controller__testdata__diff-cache.yaml');
  const degraded = argoCdFixture('gitops-engine__pkg__health__testdata__application-degraded.yaml');
  const veleroDegraded = clone(velero);
  (veleroDegraded.status as Obj).health = {
    ...((degraded.status as Obj).health as Obj),
    message: 'Deployment "test-lla" exceeded its progress deadline',
  };
  const synced = hpaPair('test-lla', 'test-lla');
  server.setApplication(veleroDegraded, [
    resourceDiffOf({ desired: synced.desired, live: synced.desired, modified: false }),
  ]);

  // A failed sync: the same Application, its last operation Failed after two retries on the Deployment.
  const failed = clone(velero);
  (failed.metadata as Obj).name = 'velero-failed';
  const st = failed.status as {
    sync: Obj;
    operationState: Obj & { syncResult: { resources: Obj[] } };
    resources: Obj[];
  };
  st.sync.status = 'OutOfSync';
  st.resources[1]!.status = 'OutOfSync';
  Object.assign(st.operationState, {
    phase: 'Failed',
    retryCount: 2,
    message:
      'one or more objects failed to apply, reason: admission webhook "validate.kyverno.svc" denied the request',
  });
  Object.assign(st.operationState.syncResult.resources[1]!, {
    status: 'SyncFailed',
    message: 'admission webhook "validate.kyverno.svc" denied the request: replicas must be at least 3',
  });
  server.setApplication(failed, [resourceDiffOf({ ...hpaPair('test-lla', 'test-lla'), modified: true })]);

  // Server-side diff (the diff-cache app has ServerSideDiff=true): gitops-engine's manual-apply
  // fixtures, predicted live being the dry-run result (with a webhook's label).
  const ssd = clone(velero);
  (ssd.metadata as Obj).name = 'velero-ssd';
  const ssdSt = ssd.status as { sync: Obj; resources: Obj[] };
  ssdSt.sync.status = 'OutOfSync';
  server.setApplication(ssd, [
    resourceDiffOf({
      desired: argoCdFixture('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-config.yaml'),
      live: argoCdFixture('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-live.yaml'),
      predictedLive: argoCdFixture(
        'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-predicted-live.json',
      ),
      modified: true,
    }),
    // A resource Git has that the cluster lost, and one the cluster has that Git no longer has.
    resourceDiffOf({
      desired: argoCdFixture('gitops-engine__pkg__diff__testdata__ssd-svc-no-label-config.yaml'),
      modified: true,
    }),
    resourceDiffOf({
      live: renamed(
        argoCdFixture('gitops-engine__pkg__diff__testdata__ssd-svc-label-live.yaml'),
        'httpbin-svc-old',
      ),
      modified: true,
    }),
    // A hook is not an application resource.
    resourceDiffOf({ desired: synced.desired, hook: true, modified: true }),
  ]);

  // A Secret out of sync (no Secret pair among the fixtures: made here; the values must never come out).
  const secret = (password: string, rv: string): Obj => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db-credentials',
      namespace: 'vault',
      resourceVersion: rv,
      creationTimestamp: '2026-01-02T03:04:05Z',
    },
    type: 'Opaque',
    data: {
      password: Buffer.from(password).toString('base64'),
      username: Buffer.from('app').toString('base64'),
    },
  });
  // A Deployment whose DB_PASSWORD env value was changed by hand: the secret is known by its sibling name.
  const envPair = hpaPair('api', 'vault');
  for (const [o, v] of [
    [envPair.desired, 'from-git-s3cret-value'],
    [envPair.live, 'hand-typed-s3cret-value'],
  ] as const) {
    const c = ((o.spec as Obj).template as { spec: { containers: Obj[] } }).spec.containers[0]!;
    c.args = ['--listen=:8080', '--db-password', `${v}-arg`];
    c.env = [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'DB_PASSWORD', value: v },
    ];
  }
  (envPair.live.spec as Obj).replicas = 3;
  (envPair.live.spec as Obj).revisionHistoryLimit = 1;
  const vault = appAround('vault-config', 'argocd', {
    sync: { status: 'OutOfSync', revision: 'abc123' },
    health: { status: 'Healthy' },
  });
  server.setApplication(vault, [
    resourceDiffOf({ ...envPair, modified: true }),
    resourceDiffOf({
      desired: secret('correct-horse-battery-staple', '1'),
      live: secret('hunter2-manual-override', '7'),
      modified: true,
    }),
  ]);

  // Two drifted Deployments, one whose last-applied annotation is corrupt: it cannot be compared, the other still is.
  const good = hpaPair('web', 'shop');
  const bad = hpaPair('worker', 'shop');
  ((bad.live.metadata as Obj).annotations as Obj)['kubectl.kubernetes.io/last-applied-configuration'] =
    '{"apiVersion":"apps/v1","kind":';
  server.setApplication(
    appAround('half-readable', 'argocd', {
      sync: { status: 'OutOfSync', revision: 'abc123' },
      health: { status: 'Healthy' },
    }),
    [resourceDiffOf({ ...good, modified: true }), resourceDiffOf({ ...bad, modified: true })],
  );

  // OutOfSync, but the managed-resources list names nothing modified (only a hook): still drift.
  server.setApplication(appAround('nameless-drift', 'argocd', persisted.status as Obj), [
    resourceDiffOf({ ...hpaPair('my-app', 'foo'), hook: true, modified: true }),
  ]);

  // Argo CD could not compare (repo unreachable): sync Unknown with a ComparisonError.
  server.setApplication(
    appAround('unknown-sync', 'argocd', {
      sync: { status: 'Unknown' },
      health: { status: 'Healthy' },
      conditions: [
        {
          type: 'ComparisonError',
          message:
            'rpc error: code = Unknown desc = authentication required for https://user:ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/acme/gitops.git',
        },
      ],
    }),
    [],
  );
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => {
  // Every request the detector made fits the Argo CD API description.
  expect(server.invalid()).toEqual([]);
});

const detector = () =>
  argoCdDetector({
    registry: () => Promise.resolve(registry),
    env,
    redactor: createRedactor({ key: new Uint8Array(32).fill(7) }),
  });

async function detect(unit: string): Promise<Extract<LocalDetection, { status: 'ok' }>> {
  const d = await detector().detect(unit, NOW);
  if (d.status !== 'ok') throw new Error(`detection of ${unit} failed: ${d.error}`);
  for (const o of d.observations) expect(DriftObservationSchema.safeParse(o).success).toBe(true);
  return d;
}

/** Classifies an observation the way activities/lifecycle/registry-policy.ts maps it, with the default table. */
function classOf(o: DriftObservation): Decision {
  const unit = testUnit(o.unit, { type: 'argocd-app', owner: 'checkout', environment: 'prod', riskTier: 'high', domain: 'app' });
  return classifyObservation(o, unit, { now: NOW, table });
}

const byFields = (d: { observations: DriftObservation[] }, field: string) =>
  d.observations.find((o) => o.changedFields.includes(field));

describe('argoCdDetector: sync and health kept apart (§8.1)', () => {
  it('OutOfSync + Healthy: one observation per drifted part of each modified resource, from the real API shapes', async () => {
    const d = await detect('shop-outofsync');
    expect(d.resources).toBe(1);
    expect(d.observations.map((o) => [o.resourceRef, o.resourceType, o.changedFields])).toEqual([
      ['Deployment/foo/my-app', 'apps/Deployment', ['/spec/revisionHistoryLimit']],
      ['Deployment/foo/my-app', 'apps/Deployment', ['/spec/replicas']],
    ]);
    for (const o of d.observations) {
      expect(o).toMatchObject({
        relationship: 'desired!=actual',
        changeType: 'modified',
        detector: 'argocd',
        healthy: true,
      });
      expect(o.context?.gitops).toMatchObject({ controller: 'argocd', sync: 'OutOfSync', health: 'Healthy' });
    }
    expect(byFields(d, '/spec/replicas')!.diff).toEqual([
      { path: '/spec/replicas', kind: 'changed', desired: 3, actual: 2 },
    ]);
    // The requests: one Get and one ManagedResources, no appNamespace (the unit sets none).
    expect(
      server.requests
        .filter(
          (r) =>
            r.pathParams.name === 'guestbook-drifted' || r.pathParams.applicationName === 'guestbook-drifted',
        )
        .map((r) => [r.operationId, r.query]),
    ).toEqual(
      expect.arrayContaining([
        ['ApplicationService_Get', {}],
        ['ApplicationService_ManagedResources', {}],
      ]),
    );
  });

  it('Synced + Degraded: an app-level health finding, not a resource drift; it classifies FAILED_RECONCILIATION (the rollout did not converge)', async () => {
    const d = await detect('velero-degraded');
    expect(d.resources).toBe(1);
    expect(d.observations).toHaveLength(1);
    const o = d.observations[0]!;
    expect(o).toMatchObject({
      resourceRef: 'Application/argo-cd/velero-test',
      resourceType: 'argoproj.io/Application',
      changedFields: [APP_HEALTH_FIELD],
      healthy: false,
      context: {
        gitops: {
          controller: 'argocd',
          sync: 'Synced',
          health: 'Degraded',
          revision: 'rev1',
          phase: 'Succeeded',
        },
      },
    });
    expect(o.context?.reconcile?.lastError).toContain('exceeded its progress deadline');
    const decision = classOf(o);
    expect(decision.driftClass).toBe('FAILED_RECONCILIATION');
    expect(decision.reasons.map((r) => r.ruleId)).toContain('failed-reconciliation');
    expect(decision.autoHealAllowed).toBe(false);
    // The requests named the app's namespace.
    expect(
      server.requests
        .filter((r) => r.pathParams.name === 'velero-test')
        .every((r) => r.query.appNamespace?.[0] === 'argo-cd'),
    ).toBe(true);
  });

  it('OutOfSync + Healthy and Synced + Degraded are different findings (classes, resources, fields)', async () => {
    const outOfSync = await detect('shop-outofsync');
    const degraded = await detect('velero-degraded');
    const classes = (d: { observations: DriftObservation[] }) =>
      d.observations.map((o) => classOf(o).driftClass).sort();
    expect(classes(outOfSync)).toEqual(['CONTROLLER_OWNED_DRIFT', 'UNAUTHORIZED_RUNTIME_DRIFT']);
    expect(classes(degraded)).toEqual(['FAILED_RECONCILIATION']);
    const fields = new Set(outOfSync.observations.flatMap((o) => o.changedFields));
    expect(fields.has(APP_HEALTH_FIELD)).toBe(false);
  });

  it('Argo CD 3 (resourceHealthSource appTree, no per-resource health): a Healthy app vouches for its resources', async () => {
    const d = await detect('shop-apptree');
    expect(d.observations.map((o) => o.healthy)).toEqual([true, true]);
    expect(d.observations.map((o) => o.context?.gitops?.health)).toEqual(['Healthy', 'Healthy']);
  });
});

describe('argoCdDetector: field ownership from real managedFields (§8.3)', () => {
  it('HPA/controller-owned replicas are CONTROLLER_OWNED_DRIFT, from the live object’s managedFields; the other field is not', async () => {
    const d = await detect('shop-outofsync');
    const replicas = byFields(d, '/spec/replicas')!;
    const live = argoCdFixture('util__argo__testdata__live_deployment_with_managed_replica.yaml');
    expect(replicas.context?.managedFields).toEqual((live.metadata as Obj).managedFields);
    expect(replicas.context?.resourceCreatedAt).toBe('2021-12-01T20:36:10Z');
    const decision = classOf(replicas);
    expect(decision.driftClass).toBe('CONTROLLER_OWNED_DRIFT');
    expect(decision.reasons.map((r) => r.ruleId)).toContain('controller-owned-field');
    expect(JSON.stringify(decision.reasons)).toContain('kube-controller-manager');

    // The class comes from managedFields: without them the same change is unexplained runtime drift.
    const { managedFields: _mf, ...withoutOwners } = replicas.context!;
    expect(classOf({ ...replicas, context: withoutOwners }).driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');

    // revisionHistoryLimit was last applied by an unknown manager: Git owns it, so it is runtime drift to revert.
    const rhl = byFields(d, '/spec/revisionHistoryLimit')!;
    expect(classOf(rhl)).toMatchObject({
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      recommendedAction: 'RUNTIME_REVERT',
    });
  });

  it('status, managedFields and server-generated metadata are never reported as drift', async () => {
    for (const unit of ['shop-outofsync', 'velero-ssd', 'velero-failed']) {
      const d = await detect(unit);
      for (const f of d.observations
        .filter((o) => !o.resourceRef.startsWith('Application/'))
        .flatMap((o) => o.changedFields))
        expect(f).not.toMatch(
          /^\/(status|metadata\/(managedFields|resourceVersion|uid|generation|creationTimestamp))/,
        );
    }
  });

  it('server-side diff: the dry-run result against live, the webhook’s label left out; missing and extra resources; hooks skipped', async () => {
    const d = await detect('velero-ssd');
    expect(d.resources).toBe(3);
    expect(d.observations.map((o) => [o.resourceRef, o.changeType, o.changedFields])).toEqual([
      [
        'Deployment/default/manual-apply-test-deployment',
        'modified',
        ['/spec/template/spec/containers/0/ports/1'],
      ],
      ['Service/httpbin/httpbin-svc', 'deleted', ['/']],
      ['Service/httpbin/httpbin-svc-old', 'created', ['/']],
    ]);
    expect(d.observations[0]!.diff[0]).toMatchObject({
      kind: 'removed',
      desired: { containerPort: 40, name: 'https', protocol: 'TCP' },
    });
  });
});

describe('argoCdDetector: partial detection', () => {
  it('a resource that cannot be compared makes the detection partial (named), the others are still reported', async () => {
    const d = await detect('half-readable');
    expect(d.resources).toBe(2);
    expect(new Set(d.observations.map((o) => o.resourceRef))).toEqual(new Set(['Deployment/shop/web']));
    expect(d.partialFailure).toMatch(
      /1 resource\(s\) could not be compared; first: Deployment\/shop\/worker: .*last-applied-configuration/,
    );
  });
});

describe('argoCdDetector: OutOfSync is never clean', () => {
  it('OutOfSync with no resource to name gives an app-level sync observation', async () => {
    const d = await detect('nameless-drift');
    expect(d.resources).toBe(0);
    expect(d.observations).toEqual([
      expect.objectContaining({
        resourceRef: 'Application/argocd/nameless-drift',
        changedFields: ['/status/sync/status'],
        diff: [{ path: '/status/sync/status', kind: 'changed', desired: 'Synced', actual: 'OutOfSync' }],
        healthy: true,
      }),
    ]);
  });
});

describe('argoCdDetector: failed reconciliation (§8.2)', () => {
  it('a failed sync (operationState Failed) is FAILED_RECONCILIATION with its attempts and message', async () => {
    const d = await detect('velero-failed');
    const op = byFields(d, APP_OPERATION_FIELD)!;
    expect(op).toMatchObject({
      resourceRef: 'Application/argo-cd/velero-failed',
      diff: [{ path: APP_OPERATION_FIELD, kind: 'changed', desired: 'Succeeded', actual: 'Failed' }],
      context: {
        reconcile: { attempts: 3 },
        gitops: { controller: 'argocd', sync: 'OutOfSync', phase: 'Failed' },
      },
    });
    expect(op.context?.reconcile?.lastError).toContain('validate.kyverno.svc');
    const decision = classOf(op);
    expect(decision.driftClass).toBe('FAILED_RECONCILIATION');
    expect(decision.reasons.map((r) => r.ruleId)).toContain('failed-reconciliation');

    // The resource the sync could not apply carries the failure too: its Git-owned field is a
    // failed reconciliation; its controller-owned replicas are an auto-heal loop (§24.3).
    const rhl = byFields(d, '/spec/revisionHistoryLimit')!;
    expect(rhl.context?.reconcile).toMatchObject({
      attempts: 3,
      lastError: expect.stringContaining('replicas must be at least 3'),
    });
    expect(classOf(rhl).driftClass).toBe('FAILED_RECONCILIATION');
    const replicas = classOf(byFields(d, '/spec/replicas')!);
    expect(replicas.driftClass).toBe('CONTROLLER_OWNED_DRIFT');
    expect(replicas.reasons.map((r) => r.ruleId)).toContain('auto-heal-loop');
  });
});

describe('argoCdDetector: secrets and tokens', () => {
  it('a Secret’s drift names its paths only: no value, no fingerprint, anywhere in the detection', async () => {
    const d = await detect('vault-config');
    expect(d.observations).toHaveLength(2);
    const o = d.observations.find((x) => x.resourceType === 'Secret')!;
    expect(o).toMatchObject({
      resourceRef: 'Secret/vault/db-credentials',
      resourceType: 'Secret',
      changedFields: ['/data/password'],
    });
    expect(o.diff).toEqual([{ path: '/data/password', kind: 'changed' }]);
    const text = JSON.stringify(d);
    for (const v of ['correct-horse-battery-staple', 'hunter2-manual-override']) {
      expect(text).not.toContain(v);
      expect(text).not.toContain(Buffer.from(v).toString('base64'));
    }
  });

  it('a secret env value of a workload is redacted in place (keyed fingerprints that differ), its path kept', async () => {
    const d = await detect('vault-config');
    const o = d.observations.find((x) => x.resourceRef === 'Deployment/vault/api')!;
    expect(o.changedFields.sort()).toEqual([
      '/spec/template/spec/containers/0/args/2',
      '/spec/template/spec/containers/0/env/1/value',
    ]);
    for (const c of o.diff) {
      expect(c.desired).toMatch(/^\[REDACTED hmac:[0-9a-f]{16}\]$/);
      expect(c.actual).toMatch(/^\[REDACTED hmac:[0-9a-f]{16}\]$/);
      expect(c.desired).not.toBe(c.actual);
    }
    const text = JSON.stringify(d);
    for (const v of ['from-git-s3cret-value', 'hand-typed-s3cret-value']) expect(text).not.toContain(v);
  });

  it('reads the token from a file reference at detection time', async () => {
    const d = await detect('file-token');
    expect(d.observations).toHaveLength(2);
  });

  it.each([
    [401, 'ArgoCdUnauthorized'],
    [404, 'ArgoCdNotFound'],
    [500, 'ArgoCdUnavailable'],
  ])(
    'an API answer %i is a failed detection naming %s, never clean, and never the token',
    async (status, name) => {
      server.failNext({
        status,
        pathIncludes: 'guestbook-drifted',
        message: 'backend said {authorization}',
        times: 2,
      });
      const d = await detector().detect('shop-outofsync', NOW);
      expect(d.status).toBe('failed');
      const error = (d as { error: string }).error;
      expect(error).toContain(name);
      expect(error).toContain(`answered ${status}`);
      expect(JSON.stringify(d)).not.toContain(TOKEN);
    },
  );

  it('an application Argo CD does not have is a failed detection (404)', async () => {
    const d = await detector().detect('lost-app', NOW);
    expect(d).toMatchObject({ status: 'failed', error: expect.stringContaining('ArgoCdNotFound') });
  });

  it('a missing token is a failed detection naming the variable, and nothing is sent', async () => {
    const before = server.requests.length;
    const d = await argoCdDetector({ registry: () => Promise.resolve(registry), env: {} }).detect(
      'shop-outofsync',
      NOW,
    );
    expect(d).toMatchObject({ status: 'failed', error: expect.stringContaining('ARGOCD_TOKEN is not set') });
    expect(server.requests.length).toBe(before);
  });

  it('sync status Unknown (Argo CD could not compare) is a failed detection, credentials in its message redacted', async () => {
    const d = await detector().detect('unknown-sync', NOW);
    expect(d.status).toBe('failed');
    const error = (d as { error: string }).error;
    expect(error).toContain('could not compare unknown-sync');
    expect(error).toContain('ComparisonError');
    expect(error).not.toContain('ghp_abcdefghijklmnopqrstuvwxyz0123456789');
  });

  it('observes only argocd-app units with a server', async () => {
    const det = detector();
    expect(await det.has('shop-outofsync')).toBe(true);
    expect(await det.has('not-a-unit')).toBe(false);
    expect(await det.detect('not-a-unit', NOW)).toMatchObject({ status: 'failed' });
    expect(
      await det.revert(byFields(await detect('shop-outofsync'), '/spec/replicas')!, 'k', NOW),
    ).toBeUndefined();
  });
});
