import { classifyObservation as classifyThroughLiveFlow } from '../../support/classify-observation';
import { readFileSync } from 'node:fs';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import type { DriftObservation } from '../../../domain/finding';
import { DriftManagedUnitSchema, type DriftManagedUnit } from '../../../domain/registry/schemas';
import {
  externalSecretsDetector,
  kubeConfigFor,
  parseGoDuration,
  PARTIAL_OBJECT_METADATA_ACCEPT,
  RESTARTED_AT_ANNOTATION,
  type ClusterAccess,
} from '../../../activities/kubernetes';
import type { Registry } from '../../../registry';
import { loadDecisionTable } from '../../../registry/decision-table';
import { KubeApiServer } from '../../support/kube-api-server';
import { sharedFixture } from '../../support/shared-fixtures';
import { fixture, liveGuestbook, liveNginx, reshape, type K8sObject } from './fixtures';

const TOKEN = 'dp-eso-unit-token-8e02d6b1c49f4a17';
const TOKEN_ENV = 'DP_TEST_ESO_TOKEN';
// A value only the stand-in's Secret holds: it must never reach a request answer, a result or a log.
const SENTINEL = 'sentinel-db-password-6f1d3c9a0b';
const table = loadDecisionTable();

// argo-cd health testdata (external-secrets.io/v1alpha1, namespace argocd, refreshInterval 1m).
const esFixture = (state: 'healthy' | 'degraded' | 'progressing'): K8sObject =>
  fixture(
    'external-secrets',
    `argoproj-argo-cd__resource_customizations__external-secrets.io__ExternalSecret__testdata__${state}.yaml`,
  );
// ESO's documented v1 reference ExternalSecret (refreshInterval 1h0m0s, target application-config);
// wrapped in {% raw %} and with a repeated `dataFrom` key (the doc shows alternatives).
const fullExternalSecret = (): K8sObject =>
  parse(
    readFileSync(
      sharedFixture(
        'external-secrets',
        'external-secrets-external-secrets__docs__snippets__full-external-secret.yaml',
      ),
      'utf8',
    ).replace(/\{%\s*(end)?raw\s*%\}/g, ''),
    { uniqueKeys: false },
  ) as K8sObject;

const healthy = esFixture('healthy');
const NS: string = healthy.metadata.namespace; // argocd
const SECRET: string = healthy.metadata.name; // no spec.target.name: the ExternalSecret's own name
const REFRESHED = Date.parse(healthy.status.refreshTime); // 2021-11-29T18:32:24Z
const at = (ms: number) => new Date(REFRESHED + ms);
const MIN = 60_000;

/** The target Secret as ESO writes it: owner reference, data-hash annotation, its write in managedFields; plus data. */
function targetSecret(name: string, writtenAt: Date): K8sObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: NS,
      creationTimestamp: '2021-11-16T21:59:34Z',
      resourceVersion: '136487400',
      labels: { 'reconcile.external-secrets.io/managed': 'true' },
      annotations: { 'reconcile.external-secrets.io/data-hash': '519a61da0dc68b2575b4f8efada70e42' },
      ownerReferences: [
        {
          apiVersion: healthy.apiVersion,
          kind: 'ExternalSecret',
          name,
          uid: healthy.metadata.uid,
          controller: true,
        },
      ],
      managedFields: [
        {
          manager: 'external-secrets',
          operation: 'Update',
          apiVersion: 'v1',
          time: writtenAt.toISOString(),
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { 'f:token': {} } },
        },
      ],
    },
    data: { token: Buffer.from(SENTINEL).toString('base64'), raw: SENTINEL },
  };
}

/** A real Deployment fixture consuming the Secret from env, rolled (restartedAt) at `rolledAt`. */
function consumer(rolledAt: Date): K8sObject {
  const d = reshape(liveGuestbook(), { namespace: NS });
  d.spec.template.spec.containers[0].env.push({
    name: 'CLUSTER_TOKEN',
    valueFrom: { secretKeyRef: { name: SECRET, key: 'token' } },
  });
  d.spec.template.metadata.annotations = {
    [RESTARTED_AT_ANNOTATION]: rolledAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  return d;
}

function unitDoc(name: string, spec: Record<string, unknown>): DriftManagedUnit {
  return DriftManagedUnitSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftManagedUnit',
    metadata: { name },
    spec: {
      type: 'external-secret',
      owner: 'platform',
      environment: 'prod',
      riskTier: 'high',
      domain: 'secrets',
      cluster: 'prod-euw1-a',
      namespaces: [NS],
      source: { repo: 'github.com/acme/gitops', path: 'apps/argocd/external-secrets', revision: 'main' },
      credentials: { token: { env: TOKEN_ENV } },
      ...spec,
    },
  });
}
const UNITS = [unitDoc('argocd-secrets', {}), unitDoc('no-namespaces', { namespaces: [] })];
const registry = { units: new Map(UNITS.map((u) => [u.metadata.name, u])) } as unknown as Registry;

function classifyObservation(o: DriftObservation, now: Date) {
  const u = registry.units.get(o.unit)!;
  const unit = { ...u, spec: { ...u.spec, domain: 'secrets' as const, policies: { ...u.spec.policies, autoHeal: false, requireIncidentForManualChange: true } } };
  return classifyThroughLiveFlow(o, unit, { now, table });
}

describe('externalSecretsDetector against a Kubernetes API stand-in', () => {
  let api: KubeApiServer;
  let access: ClusterAccess;
  const detector = (staleAfterIntervals?: number) =>
    externalSecretsDetector({
      registry: () => Promise.resolve(registry),
      clusterFor: () => access,
      ...(staleAfterIntervals ? { staleAfterIntervals } : {}),
    });

  beforeAll(async () => {
    api = await KubeApiServer.start(TOKEN);
    access = { server: api.url, skipTLSVerify: true };
  });
  afterAll(async () => api.close());
  beforeEach(() => {
    process.env[TOKEN_ENV] = TOKEN;
    api.clear();
    api.put(healthy);
    // Written 10 s before the refresh; the consumer rolled 5 s after it.
    api.put(targetSecret(SECRET, at(-10_000)));
    api.put(consumer(at(-5_000)));
    api.put(reshape(liveNginx(), { namespace: NS })); // a bystander: references no Secret
  });
  afterEach(() => {
    delete process.env[TOKEN_ENV];
    expect(api.invalid()).toEqual([]);
    // No request asked for a Secret's data: every Secret read was metadata-only.
    for (const r of api.secretReads()) expect(r.accept).toBe(PARTIAL_OBJECT_METADATA_ACCEPT);
    expect(api.requests.filter((r) => r.tokenElsewhere)).toEqual([]);
  });

  it('a fresh ExternalSecret with rolled consumers: ok, no drift; Secret read as metadata only, v1 API first', async () => {
    const r = await detector().detect('argocd-secrets', at(30_000));
    expect(r).toEqual({ status: 'ok', unit: 'argocd-secrets', observations: [], resources: 1 });
    expect(api.calls('GET').map((c) => c.path)).toEqual([
      `/apis/external-secrets.io/v1/namespaces/${NS}/externalsecrets`,
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      `/apis/apps/v1/namespaces/${NS}/statefulsets`,
      `/apis/apps/v1/namespaces/${NS}/daemonsets`,
      `/api/v1/namespaces/${NS}/secrets/${SECRET}`,
    ]);
    expect(api.secretReads()).toHaveLength(1);
  });

  it('a refresh three intervals late: SECRET_DELIVERY_DRIFT with RESTART_CONSUMERS_AFTER_SECRET_SYNC, never a value', async () => {
    const logged: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void logged.push(a.map(String).join(' '))),
    );
    const now = at(10 * MIN); // refreshInterval 1m: ten intervals since the last refresh
    const r = await detector().detect('argocd-secrets', now);
    spies.forEach((s) => s.mockRestore());
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.observations).toHaveLength(1);
    const o = r.observations[0]!;
    expect(o).toMatchObject({
      resourceRef: `ExternalSecret/${NS}/${SECRET}`,
      resourceType: 'ExternalSecret',
      changedFields: ['/status/refreshTime'],
      detector: 'external-secrets',
      healthy: true,
    });
    expect(o.context?.secret).toEqual({
      externalVersion: `1@${at(10 * MIN).toISOString()}`,
      clusterVersion: `1@${new Date(REFRESHED).toISOString()}`,
      consumersStale: false,
      lastRefreshAgeMinutes: 10,
    });
    const d = classifyObservation(o, now);
    expect(d.driftClass).toBe('SECRET_DELIVERY_DRIFT');
    expect(d.recommendedAction).toBe('RESTART_CONSUMERS_AFTER_SECRET_SYNC');
    expect(d.autoHealAllowed).toBe(false);
    expect(d.reasons.map((x) => x.ruleId)).toEqual(
      expect.arrayContaining(['secret-version-mismatch', 'secret-sync-budget']),
    );
    // The value is in the stand-in's Secret only: not in the result, the decision or any log line.
    const out = JSON.stringify([r, d]) + logged.join('\n');
    expect(out).not.toContain(SENTINEL);
    expect(out).not.toContain(Buffer.from(SENTINEL).toString('base64'));
  });

  it('two intervals late is within the allowance (default 3); a stricter allowance flags it', async () => {
    const now = at(2 * MIN + 30_000);
    expect(await detector().detect('argocd-secrets', now)).toMatchObject({ status: 'ok', observations: [] });
    const strict = await detector(2).detect('argocd-secrets', now);
    expect(
      strict.status === 'ok' && strict.observations.map((o) => o.context?.secret?.lastRefreshAgeMinutes),
    ).toEqual([2]);
  });

  it('consumers rolled before the Secret changed: consumersStale, secret-consumers-stale (HIGH)', async () => {
    api.put(targetSecret(SECRET, at(-2_000))); // rewritten after the consumer's restartedAt (-5 s)
    const now = at(30_000);
    const r = await detector().detect('argocd-secrets', now);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    const o = r.observations[0]!;
    expect(o.context?.secret).toMatchObject({
      consumersStale: true,
      externalVersion: o.context?.secret?.clusterVersion,
    });
    expect(o.diff.map((x) => x.path)).toEqual([
      `/consumers/Deployment~1${NS}~1kustomize-guestbook-ui/rolledAt`,
    ]);
    const d = classifyObservation(o, now);
    expect([d.driftClass, d.recommendedAction, d.risk]).toEqual([
      'SECRET_DELIVERY_DRIFT',
      'RESTART_CONSUMERS_AFTER_SECRET_SYNC',
      'HIGH',
    ]);
    expect(d.reasons.map((x) => x.ruleId)).toContain('secret-consumers-stale');
  });

  it('Ready=False (SecretSyncedError): a failed sync, SECRET_DELIVERY_DRIFT with INCIDENT, not a restart', async () => {
    api.clear();
    api.put(esFixture('degraded'));
    const now = at(0);
    const r = await detector().detect('argocd-secrets', now);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    const o = r.observations[0]!;
    expect(o.resourceRef).toBe(`ExternalSecret/${NS}/test-degraded`);
    // The condition's message, through the redactor (which may mask a word after `...Error:`).
    expect(o.context?.reconcile?.attempts).toBe(1);
    expect(o.context?.reconcile?.lastError).toMatch(
      /^Ready=False: SecretSyncedError: .*not get secret data from provider: key "secret\/sa\/example" from ExternalSecret "test-degraded"$/,
    );
    const d = classifyObservation(o, now);
    expect([d.driftClass, d.recommendedAction]).toEqual(['SECRET_DELIVERY_DRIFT', 'INCIDENT']);
    expect(d.reasons.map((x) => x.ruleId)).toContain('secret-delivery-failed');
    // No Secret read at all for a failed sync.
    expect(api.secretReads()).toEqual([]);
  });

  it('never synced (no status): not due within its allowance, delivery drift after it', async () => {
    api.clear();
    const p = esFixture('progressing'); // created 2021-11-16T21:59:33Z
    api.put(p);
    const created = Date.parse(p.metadata.creationTimestamp);
    expect(await detector().detect('argocd-secrets', new Date(created + MIN))).toMatchObject({
      status: 'ok',
      observations: [],
    });
    const r = await detector().detect('argocd-secrets', new Date(created + 5 * MIN));
    expect(r.status === 'ok' && r.observations[0]!.context?.secret?.clusterVersion).toBe('never-synced');
  });

  it('the documented v1 ExternalSecret: Go duration 1h0m0s, target name, a missing target Secret', async () => {
    api.clear();
    const es = fullExternalSecret();
    es.metadata.namespace = NS;
    es.metadata.generation = 2;
    es.status.syncedResourceVersion = '1-5c833527afd7ba3f426cb0082ee7e083';
    api.put(es);
    const now = new Date(Date.parse(es.status.refreshTime) + 30 * MIN);
    const r = await detector().detect('argocd-secrets', now);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    const o = r.observations[0]!;
    expect(o.resourceRef).toBe(`ExternalSecret/${NS}/hello-world`);
    expect(o.diff.map((x) => x.path)).toEqual([
      '/status/syncedResourceVersion',
      '/target/application-config',
    ]);
    expect(o.context?.secret).toMatchObject({
      externalVersion: '2@2019-08-12T12:33:02.000Z',
      clusterVersion: 'secret-absent',
      consumersStale: false,
      lastRefreshAgeMinutes: 30,
    });
    expect(api.secretReads().map((x) => x.path)).toEqual([
      `/api/v1/namespaces/${NS}/secrets/application-config`,
    ]);
  });

  it('a cluster serving only v1alpha1 is found by falling back; failures fail the detection by name', async () => {
    api.inject({
      method: 'GET',
      pathIncludes: '/external-secrets.io/v1/',
      status: 404,
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
    });
    api.inject({
      method: 'GET',
      pathIncludes: '/external-secrets.io/v1beta1/',
      status: 404,
      reason: 'NotFound',
      message: 'the server could not find the requested resource',
    });
    const r = await detector().detect('argocd-secrets', at(30_000));
    expect(r).toMatchObject({ status: 'ok', observations: [] });
    expect(api.calls('GET')[2]!.path).toBe(
      `/apis/external-secrets.io/v1alpha1/namespaces/${NS}/externalsecrets`,
    );

    api.inject({
      method: 'GET',
      pathIncludes: '/secrets/',
      status: 403,
      reason: 'Forbidden',
      message:
        'secrets "test-healthy" is forbidden: User "system:serviceaccount:driftplane:detector" cannot get resource "secrets"',
    });
    const denied = await detector().detect('argocd-secrets', at(10 * MIN));
    expect(denied.status === 'failed' && denied.error).toMatch(
      /^read metadata of Secret argocd\/test-healthy: HTTP 403 Forbidden: secrets "test-healthy" is forbidden/,
    );
    const none = await detector().detect('no-namespaces', at(0));
    expect(none.status === 'failed' && none.error).toBe(
      'unit no-namespaces names no namespaces (spec.namespaces)',
    );
  });

  it('the stand-in refuses a Secret read that would return data (a plain GET)', async () => {
    const core = kubeConfigFor({
      cluster: 'x',
      server: api.url,
      token: TOKEN,
      skipTLSVerify: true,
    }).makeApiClient(CoreV1Api);
    await expect(core.readNamespacedSecret({ name: SECRET, namespace: NS })).rejects.toMatchObject({
      code: 400,
    });
    const bad = api.invalid();
    expect(bad).toHaveLength(1);
    expect(bad[0]!.problem).toMatch(/would return data/);
    api.reset(); // the afterEach check is about the detector's requests
  });

  it('parseGoDuration reads ESO refresh intervals', () => {
    expect([
      parseGoDuration('1h0m0s'),
      parseGoDuration('1m'),
      parseGoDuration('90s'),
      parseGoDuration('0'),
      parseGoDuration('1.5h'),
      parseGoDuration('soon'),
    ]).toEqual([3_600_000, 60_000, 90_000, 0, 5_400_000, undefined]);
  });
});
