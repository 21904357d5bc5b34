import type { KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  RESTARTED_AT_ANNOTATION,
  createKubernetesActivities,
  kubeConfigFor,
  restartConsumers,
} from '../../../activities/kubernetes';
import { KubeApiServer } from '../../support/kube-api-server';
import { healthyExternalSecret, liveGuestbook, liveNginx, reshape, targetSecretName } from './fixtures';

const TOKEN = 'dp-k8s-token-3b9f0c1e7a5d4f62';
const AT = new Date('2026-03-04T05:06:07.890Z');
const AT_RFC3339 = '2026-03-04T05:06:07Z';

// The ExternalSecret fixture (argocd/test-healthy) writes the Secret its consumers must be restarted
// after; none of the captured Deployments references it, so each test object below is a real
// fixture on which the test sets one secret reference (env secretKeyRef, envFrom, a volume), the
// way a workload consuming the ExternalSecret's target would.
const es = healthyExternalSecret();
const SECRET = targetSecretName(es);
const NS: string = es.metadata.namespace;

function consumers() {
  const viaEnv = reshape(liveGuestbook(), { namespace: NS });
  viaEnv.spec.template.spec.containers[0].env.push({
    name: 'CLUSTER_TOKEN',
    valueFrom: { secretKeyRef: { name: SECRET, key: 'token' } },
  });

  const viaVolume = reshape(liveNginx(), { name: 'nginx-secret-volume', namespace: NS });
  viaVolume.spec.template.spec.volumes = [{ name: 'cluster', secret: { secretName: SECRET } }];

  const viaInitEnvFrom = reshape(liveGuestbook(), {
    name: 'guestbook-db',
    namespace: NS,
    kind: 'StatefulSet',
  });
  viaInitEnvFrom.spec.template.spec.initContainers = [
    {
      name: 'migrate',
      image: 'quay.io/argoprojlabs/argocd-e2e-container:0.1',
      envFrom: [{ secretRef: { name: SECRET } }],
    },
  ];

  const viaProjected = reshape(liveNginx(), { name: 'nginx-agent', namespace: NS, kind: 'DaemonSet' });
  viaProjected.spec.template.spec.volumes = [
    { name: 'bundle', projected: { sources: [{ secret: { name: SECRET } }] } },
  ];
  return { viaEnv, viaVolume, viaInitEnvFrom, viaProjected };
}

function bystanders() {
  // Unchanged fixture: references no secret.
  const plain = reshape(liveNginx(), { namespace: NS });
  // Same secret name, other namespace: a different Secret.
  const otherNs = liveGuestbook();
  otherNs.spec.template.spec.containers[0].env.push({
    name: 'CLUSTER_TOKEN',
    valueFrom: { secretKeyRef: { name: SECRET, key: 'token' } },
  });
  // A name that merely starts like it.
  const similar = reshape(liveNginx(), { name: 'nginx-old-creds', namespace: NS });
  similar.spec.template.spec.containers[0].envFrom = [{ secretRef: { name: `${SECRET}-old` } }];
  return { plain, otherNs, similar };
}

const EXPECTED = [
  `Deployment/${NS}/kustomize-guestbook-ui`,
  `Deployment/${NS}/nginx-secret-volume`,
  `StatefulSet/${NS}/guestbook-db`,
  `DaemonSet/${NS}/nginx-agent`,
];

const pathOf = (id: string) => {
  const [kind, ns, name] = id.split('/');
  return `/apis/apps/v1/namespaces/${ns}/${kind!.toLowerCase()}s/${name}`;
};

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('restartConsumers against a Kubernetes API stand-in', () => {
  let api: KubeApiServer;
  let kc: KubeConfig;

  beforeAll(async () => {
    api = await KubeApiServer.start(TOKEN);
    kc = kubeConfigFor({ cluster: 'test', server: api.url, token: TOKEN, skipTLSVerify: true });
  });
  afterAll(async () => api.close());
  beforeEach(() => {
    api.clear();
    for (const o of [...Object.values(consumers()), ...Object.values(bystanders())]) api.put(o);
    api.reset();
  });
  afterEach(() => expect(api.invalid()).toEqual([]));

  it('patches exactly the consumers, with kubectl rollout restart’s annotation and content-type', async () => {
    const before = consumers();
    const result = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: AT,
      findingId: 'f-1',
    });

    expect(result.restarted).toEqual(EXPECTED);
    expect(result.skipped).toEqual([]);

    const lists = api.calls('GET').map((r) => r.path);
    expect(lists).toEqual([
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      `/apis/apps/v1/namespaces/${NS}/statefulsets`,
      `/apis/apps/v1/namespaces/${NS}/daemonsets`,
    ]);
    const patches = api.calls('PATCH');
    expect(patches.map((r) => r.path)).toEqual(EXPECTED.map(pathOf));
    for (const p of patches) {
      expect(p.contentType).toBe('application/strategic-merge-patch+json');
      expect(p.query).toEqual({});
      expect(p.body).toEqual({
        spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: AT_RFC3339 } } } },
      });
    }

    // The live objects carry the annotation and nothing else in their template changed.
    const [viaEnv, viaVolume, viaInit, viaProjected] = [
      api.get('Deployment', NS, 'kustomize-guestbook-ui'),
      api.get('Deployment', NS, 'nginx-secret-volume'),
      api.get('StatefulSet', NS, 'guestbook-db'),
      api.get('DaemonSet', NS, 'nginx-agent'),
    ];
    for (const [live, orig] of [
      [viaEnv, before.viaEnv],
      [viaVolume, before.viaVolume],
      [viaInit, before.viaInitEnvFrom],
      [viaProjected, before.viaProjected],
    ] as const) {
      expect(live?.spec.template.metadata.annotations).toEqual({ [RESTARTED_AT_ANNOTATION]: AT_RFC3339 });
      expect(live?.spec.template.spec).toEqual(orig.spec.template.spec);
      expect(live?.spec.replicas).toEqual(orig.spec.replicas);
    }
    for (const [kind, ns, name] of [
      ['Deployment', NS, 'nginx-deployment'],
      ['Deployment', 'default', 'kustomize-guestbook-ui'],
      ['Deployment', NS, 'nginx-old-creds'],
    ] as const)
      expect(api.get(kind, ns, name)?.spec.template.metadata.annotations).toBeUndefined();
  });

  it('is idempotent: a second call with the same instant patches nothing; a new instant restarts again', async () => {
    await restartConsumers({ kubeConfig: kc, namespace: NS, secretName: SECRET, at: AT, findingId: 'f-1' });
    api.reset();

    // Same instant, with other milliseconds: kubectl's annotation has second precision.
    const again = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: new Date(AT.getTime() + 50),
      findingId: 'f-1',
    });
    expect(again.restarted).toEqual([]);
    expect(again.skipped).toEqual(EXPECTED);
    expect(new Set(Object.values(again.skippedReasons))).toEqual(new Set(['already-restarted']));
    expect(api.calls('PATCH')).toEqual([]);

    const later = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: new Date('2026-03-05T00:00:00Z'),
      findingId: 'f-2',
    });
    expect(later.restarted).toEqual(EXPECTED);
    expect(api.get('Deployment', NS, 'kustomize-guestbook-ui')?.spec.template.metadata.annotations).toEqual({
      [RESTARTED_AT_ANNOTATION]: '2026-03-05T00:00:00Z',
    });
  });

  it('leaves a paused Deployment alone, as kubectl does', async () => {
    const paused = reshape(consumers().viaEnv, { name: 'guestbook-paused' });
    paused.spec.paused = true;
    api.put(paused);
    const result = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: AT,
      findingId: 'f-1',
    });
    expect(result.skippedReasons).toEqual({ [`Deployment/${NS}/guestbook-paused`]: 'paused' });
    expect(api.calls('PATCH').map((r) => r.path)).not.toContain(pathOf(`Deployment/${NS}/guestbook-paused`));
  });

  it('403 on the patch is a non-retryable KubernetesForbidden that never carries the token', async () => {
    api.inject({
      method: 'PATCH',
      pathIncludes: '/deployments/kustomize-guestbook-ui',
      status: 403,
      reason: 'Forbidden',
      // A proxy that echoes the request's Authorization header: the token must still not surface.
      message: `deployments.apps "kustomize-guestbook-ui" is forbidden: User "system:serviceaccount:argocd:driftplane" cannot patch resource "deployments" in API group "apps" in the namespace "${NS}" (Authorization: Bearer ${TOKEN})`,
    });
    const f = await failureOf(
      restartConsumers({ kubeConfig: kc, namespace: NS, secretName: SECRET, at: AT, findingId: 'f-403' }),
    );
    expect(f.type).toBe('KubernetesForbidden');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain(`Deployment/${NS}/kustomize-guestbook-ui`);
    expect(f.message).toContain('cannot patch resource "deployments"');
    expect(f.message).not.toContain(TOKEN);
    expect(JSON.stringify(f.details)).not.toContain(TOKEN);
  });

  it('403 on the list is KubernetesForbidden too', async () => {
    api.inject({
      method: 'GET',
      pathIncludes: '/statefulsets',
      status: 403,
      reason: 'Forbidden',
      message: 'statefulsets.apps is forbidden',
    });
    const f = await failureOf(
      restartConsumers({ kubeConfig: kc, namespace: NS, secretName: SECRET, at: AT, findingId: 'f-403' }),
    );
    expect([f.type, f.nonRetryable]).toEqual(['KubernetesForbidden', true]);
  });

  it.each([
    [409, 'Conflict', 'KubernetesConflict'],
    [500, 'InternalError', 'KubernetesUnavailable'],
    [503, 'ServiceUnavailable', 'KubernetesUnavailable'],
    [429, 'TooManyRequests', 'KubernetesUnavailable'],
  ])('%i on the patch is retryable (%s)', async (status, reason, type) => {
    api.inject({ method: 'PATCH', status, reason, message: `${reason} from the stand-in` });
    const f = await failureOf(
      restartConsumers({ kubeConfig: kc, namespace: NS, secretName: SECRET, at: AT, findingId: 'f-r' }),
    );
    expect(f.type).toBe(type);
    expect(f.nonRetryable).toBe(false);
    // Retrying after a partial run restarts only what is left.
    api.reset();
    const retry = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: AT,
      findingId: 'f-r',
    });
    expect([...retry.restarted, ...retry.skipped].sort()).toEqual([...EXPECTED].sort());
    expect(api.calls('PATCH')).toHaveLength(retry.restarted.length);
  });

  it('a workload deleted between list and patch is skipped as gone', async () => {
    api.inject({
      method: 'PATCH',
      pathIncludes: '/statefulsets/guestbook-db',
      status: 404,
      reason: 'NotFound',
      message: 'statefulsets.apps "guestbook-db" not found',
    });
    const result = await restartConsumers({
      kubeConfig: kc,
      namespace: NS,
      secretName: SECRET,
      at: AT,
      findingId: 'f-1',
    });
    expect(result.skippedReasons).toEqual({ [`StatefulSet/${NS}/guestbook-db`]: 'gone' });
    expect(result.restarted).toHaveLength(3);
  });

  it('runs as an activity that resolves the cluster’s credentials itself', async () => {
    const activities = createKubernetesActivities({
      credentialsFor: (cluster) => ({ cluster, server: api.url, token: TOKEN, skipTLSVerify: true }),
    });
    const result = await activities.restartSecretConsumers({
      cluster: 'prod-eu',
      namespace: NS,
      secretName: SECRET,
      at: AT.toISOString(),
      findingId: 'f-act',
    });
    expect(result.restarted).toEqual(EXPECTED);
    const bad = await failureOf(
      activities.restartSecretConsumers({
        cluster: 'prod-eu',
        namespace: NS,
        secretName: SECRET,
        at: 'yesterday',
        findingId: 'f',
      }),
    );
    expect([bad.type, bad.nonRetryable]).toEqual(['InvalidActivityInput', true]);
  });
});
