import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kubeConfigFor, revertToDesired } from '../../../activities/kubernetes';
import { KubeApiServer } from '../../support/kube-api-server';
import { healthyExternalSecret, liveNginx, type K8sObject } from './fixtures';

const TOKEN = 'dp-k8s-token-9c1d2e3f4a5b6c7d';
const SERVER_FIELDS = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation'];

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** What the apply body must be: the manifest without status and server-populated metadata. */
function withoutServerFields(obj: K8sObject): K8sObject {
  const o = structuredClone(obj);
  delete o.status;
  for (const f of [...SERVER_FIELDS, 'selfLink']) delete o.metadata[f];
  return o;
}

describe('revertToDesired against a Kubernetes API stand-in', () => {
  let api: KubeApiServer;
  let kc: KubeConfig;

  beforeAll(async () => {
    api = await KubeApiServer.start(TOKEN);
    kc = kubeConfigFor({ cluster: 'test', server: api.url, token: TOKEN, skipTLSVerify: true });
  });
  afterAll(async () => api.close());
  beforeEach(() => {
    api.clear();
    // Live state: the captured Deployment, then changed by hand (replicas and image).
    const live = liveNginx();
    live.spec.replicas = 5;
    live.spec.template.spec.containers[0].image = 'nginx:1.25-hotfix';
    api.put(live);
    api.reset();
  });
  afterEach(() => expect(api.invalid()).toEqual([]));

  it('server-side applies the desired object as driftplane with force, without status or managedFields', async () => {
    // The desired manifest is the captured object itself, so it carries the noise a live export
    // has (status, managedFields, uid, resourceVersion, ...): exactly what must not be sent.
    const desired = liveNginx();
    expect(desired.status).toBeDefined();
    expect(desired.metadata.managedFields.length).toBeGreaterThan(0);
    // A field client-node 1.4.0's typed models do not know, as a newer API server's fields would be:
    // serialized through V1Deployment it would be dropped, and the apply would leave that drift.
    desired.spec.template.spec.fieldNewerThanTheClient = { enabled: true };

    const result = await revertToDesired({ kubeConfig: kc, desired, findingId: 'f-ssa' });

    const patches = api.calls('PATCH');
    expect(patches).toHaveLength(1);
    const [p] = patches;
    expect(p!.path).toBe('/apis/apps/v1/namespaces/default/deployments/nginx-deployment');
    expect(p!.contentType).toBe('application/apply-patch+yaml');
    expect(p!.query).toEqual({ fieldManager: 'driftplane', force: 'true' });
    const body = p!.body as K8sObject;
    expect(body).toMatchObject({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'nginx-deployment' },
    });
    expect(body).not.toHaveProperty('status');
    for (const f of SERVER_FIELDS) expect(body.metadata).not.toHaveProperty(f);
    // Everything else is sent as Git has it: nothing dropped by the client's typed models.
    expect(body).toEqual(withoutServerFields(desired));
    // The caller's object is not modified.
    expect(desired.status).toBeDefined();

    const live = api.get('Deployment', 'default', 'nginx-deployment');
    expect(live?.spec.replicas).toBe(2);
    expect(live?.spec.template.spec.containers[0].image).toBe('nginx:1.23.1');
    expect(result).toEqual({
      applied: 'Deployment/default/nginx-deployment',
      resourceVersion: live?.metadata.resourceVersion,
    });
    expect(result.resourceVersion).not.toBe(desired.metadata.resourceVersion);

    // Applying again is harmless and sends the same body.
    await revertToDesired({ kubeConfig: kc, desired, findingId: 'f-ssa' });
    expect(api.calls('PATCH').map((r) => r.body)).toEqual([body, body]);
  });

  it('applies a custom resource (the ExternalSecret fixture) through discovery, into the given namespace', async () => {
    const desired = healthyExternalSecret();
    delete desired.metadata.namespace;
    const result = await revertToDesired({ kubeConfig: kc, desired, findingId: 'f-es', namespace: 'argocd' });
    expect(result.applied).toBe('ExternalSecret/argocd/test-healthy');
    const [p] = api.calls('PATCH');
    expect(p!.path).toBe('/apis/external-secrets.io/v1alpha1/namespaces/argocd/externalsecrets/test-healthy');
    expect(p!.body).toEqual({
      ...withoutServerFields(desired),
      metadata: { ...withoutServerFields(desired).metadata, namespace: 'argocd' },
    });
    expect(api.get('ExternalSecret', 'argocd', 'test-healthy')?.spec).toEqual(desired.spec);
  });

  it('403 is a non-retryable KubernetesForbidden that never carries the token', async () => {
    api.inject({
      method: 'PATCH',
      status: 403,
      reason: 'Forbidden',
      message: `deployments.apps "nginx-deployment" is forbidden: User "system:serviceaccount:default:driftplane" cannot patch resource "deployments" in API group "apps" in the namespace "default"; token=${TOKEN}`,
    });
    const f = await failureOf(revertToDesired({ kubeConfig: kc, desired: liveNginx(), findingId: 'f-403' }));
    expect(f.type).toBe('KubernetesForbidden');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('Deployment/default/nginx-deployment');
    expect(f.message).toContain('f-403');
    expect(f.message).not.toContain(TOKEN);
  });

  it('404 on the target is a non-retryable KubernetesObjectNotFound', async () => {
    api.inject({
      method: 'PATCH',
      status: 404,
      reason: 'NotFound',
      message: 'namespaces "default" not found',
    });
    const f = await failureOf(revertToDesired({ kubeConfig: kc, desired: liveNginx(), findingId: 'f-404' }));
    expect([f.type, f.nonRetryable]).toEqual(['KubernetesObjectNotFound', true]);
  });

  it.each([
    [409, 'Conflict', 'KubernetesConflict'],
    [500, 'InternalError', 'KubernetesUnavailable'],
  ])('%i is retryable', async (status, reason, type) => {
    api.inject({ method: 'PATCH', status, reason, message: `${reason} from the stand-in` });
    const f = await failureOf(revertToDesired({ kubeConfig: kc, desired: liveNginx(), findingId: 'f-r' }));
    expect([f.type, f.nonRetryable]).toEqual([type, false]);
  });

  it('a manifest without kind or name is rejected before any request', async () => {
    const noName = liveNginx();
    delete noName.metadata.name;
    const f = await failureOf(revertToDesired({ kubeConfig: kc, desired: noName, findingId: 'f' }));
    expect([f.type, f.nonRetryable]).toEqual(['InvalidActivityInput', true]);
    expect(api.requests).toEqual([]);
  });

  it('a network failure is retryable and does not carry the token', async () => {
    const closed = await KubeApiServer.start(TOKEN);
    await closed.close();
    const f = await failureOf(
      revertToDesired({
        kubeConfig: kubeConfigFor({ cluster: 'gone', server: closed.url, token: TOKEN, skipTLSVerify: true }),
        desired: liveNginx(),
        findingId: 'f-net',
      }),
    );
    expect([f.type, f.nonRetryable]).toEqual(['KubernetesUnavailable', false]);
    expect(f.message).not.toContain(TOKEN);
  });
});

describe('kubeConfigFor', () => {
  it('builds a config from server and bearer token', () => {
    const kc = kubeConfigFor({
      cluster: 'prod-eu',
      server: 'https://10.0.0.1:6443',
      token: TOKEN,
      caData: 'Q0E=',
    });
    expect(kc.getCurrentCluster()).toMatchObject({
      name: 'prod-eu',
      server: 'https://10.0.0.1:6443',
      caData: 'Q0E=',
      skipTLSVerify: false,
    });
    expect(kc.getCurrentUser()?.token).toBe(TOKEN);
  });

  it('picks the context from a kubeconfig file: the named one, else the cluster’s, else the current one', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-kubeconfig-'));
    const file = path.join(dir, 'config');
    writeFileSync(
      file,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'a', cluster: { server: 'https://a.example:6443' } },
          { name: 'b', cluster: { server: 'https://b.example:6443' } },
        ],
        users: [
          { name: 'ua', user: { token: 'token-a-0000' } },
          { name: 'ub', user: { token: 'token-b-0000' } },
        ],
        contexts: [
          { name: 'ctx-a', context: { cluster: 'a', user: 'ua' } },
          { name: 'b', context: { cluster: 'b', user: 'ub', namespace: 'apps' } },
        ],
        'current-context': 'ctx-a',
      }),
    );
    expect(
      kubeConfigFor({ cluster: 'x', kubeconfigPath: file, context: 'b' }).getCurrentCluster()?.server,
    ).toBe('https://b.example:6443');
    expect(kubeConfigFor({ cluster: 'b', kubeconfigPath: file }).getCurrentUser()?.token).toBe(
      'token-b-0000',
    );
    expect(kubeConfigFor({ cluster: 'x', kubeconfigPath: file }).getCurrentCluster()?.server).toBe(
      'https://a.example:6443',
    );
    expect(() => kubeConfigFor({ cluster: 'x', kubeconfigPath: file, context: 'nope' })).toThrow(
      /no context nope/,
    );
  });

  it.each([
    ['no server', { cluster: 'c', token: TOKEN }],
    ['a bad server URL', { cluster: 'c', server: `not a url ${TOKEN}`, token: TOKEN }],
    ['plain http without skipTLSVerify', { cluster: 'c', server: 'http://127.0.0.1:1', token: TOKEN }],
    ['a missing kubeconfig', { cluster: 'c', kubeconfigPath: '/nonexistent/kubeconfig', token: TOKEN }],
  ])('rejects %s with InvalidKubernetesCredentials, never echoing the token', (_what, input) => {
    let err: unknown;
    try {
      kubeConfigFor(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplicationFailure);
    const f = err as ApplicationFailure;
    expect([f.type, f.nonRetryable]).toEqual(['InvalidKubernetesCredentials', true]);
    expect(f.message).not.toContain(TOKEN);
  });
});
