import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InputError } from '../../../domain/errors';
import { diffManifests, type K8sDiffOptions, type K8sDiffResult } from '../../../domain/kubernetes/diff';
import { sharedFixture } from '../../support/shared-fixtures';

/** Reads one object from ../shared/fixtures at test time (YAML or JSON). */
function fixture(folder: 'argocd' | 'k8s', name: string): Record<string, unknown> {
  const text = readFileSync(sharedFixture(folder, name), 'utf8');
  return (name.endsWith('.json') ? JSON.parse(text) : parse(text)) as Record<string, unknown>;
}

const argo = (name: string) => fixture('argocd', name);
const k8s = (name: string) => fixture('k8s', name);
const clone = <T>(v: T): T => structuredClone(v);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function lastApplied(live: Obj): Obj {
  return JSON.parse(live.metadata.annotations[LAST_APPLIED] as string) as Obj;
}

/** What a manifest in Git looks like for a live object: no status, no server-generated metadata. */
function manifestOf(live: Obj): Obj {
  const m = clone(live);
  delete m.status;
  for (const k of ['managedFields', 'resourceVersion', 'uid', 'generation', 'creationTimestamp', 'selfLink'])
    delete m.metadata[k];
  if (m.metadata.annotations) delete m.metadata.annotations[LAST_APPLIED];
  return m;
}

function paths(r: K8sDiffResult): string[] {
  return r.changes.map((c) => c.path);
}

/** Status, managedFields and generated metadata never appear in any result. */
function expectNoGeneratedFields(r: K8sDiffResult): void {
  for (const c of r.changes) {
    expect(c.path).not.toMatch(
      /^\/(status|metadata\/(managedFields|resourceVersion|uid|generation|creationTimestamp|selfLink))(\/|$)/,
    );
    expect(c.path).not.toContain('last-applied-configuration');
  }
}

const K8S_LIVE_OBJECTS = [
  'argoproj-argo-cd__controller__testdata__live-deployment.yaml',
  'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__endpoints-live.json',
  'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-deploy2-live.yaml',
  'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-service-live.yaml',
  'argoproj-argo-cd__resource_customizations__apps.openshift.io__DeploymentConfig__testdata__degraded.yaml',
  'argoproj-argo-cd__resource_customizations__operators.coreos.com__Subscription__testdata__install_plan_missing.yaml',
  'argoproj-argo-cd__resource_customizations__trident.netapp.io__TridentOrchestrator__testdata__healthy.yaml',
  'argoproj-argo-cd__util__argo__testdata__live_validating_webhook.yaml',
];

describe('diffManifests on the upstream desired/live pairs (../shared/fixtures/argocd)', () => {
  it('smd-deploy: structured merge as argocd-controller is not modified (TestStructuredMergeDiff "will apply deployment defaults correctly")', () => {
    const r = diffManifests(
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-live.yaml'),
      { mode: 'structured-merge', manager: 'argocd-controller' },
    );
    expect(r).toEqual({ modified: false, changes: [] });
  });

  it('smd-deploy: a changed image and a dropped owned field are drift in structured merge', () => {
    const desired = argo('gitops-engine__pkg__diff__testdata__smd-deploy-config.yaml') as Obj;
    desired.spec.template.spec.containers[0].image = 'nginx:1.25.0';
    delete desired.metadata.labels['something-else'];
    const r = diffManifests(desired, argo('gitops-engine__pkg__diff__testdata__smd-deploy-live.yaml'), {
      mode: 'structured-merge',
      manager: 'argocd-controller',
    });
    expect(r.modified).toBe(true);
    expect(r.changes).toEqual([
      { path: '/metadata/labels/something-else', live: 'bla' },
      { path: '/spec/template/spec/containers/0/image', desired: 'nginx:1.25.0', live: 'nginx:1.23.1' },
    ]);
  });

  it('ssd-deploy-with-manual-apply: server-side shows the new port, not the webhook label nor the kubectl-added container', () => {
    const r = diffManifests(
      argo('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-live.yaml'),
      {
        mode: 'server-side',
        manager: 'argocd-controller',
        predictedLive: argo(
          'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-predicted-live.json',
        ),
      },
    );
    expect(r.modified).toBe(true);
    expect(r.changes).toEqual([
      {
        path: '/spec/template/spec/containers/0/ports/1',
        desired: { containerPort: 40, name: 'https', protocol: 'TCP' },
      },
    ]);
    expect(JSON.stringify(r)).not.toContain('mutation-test');
  });

  it('ssd-deploy-with-manual-apply: without the manager filter limit, an unowned webhook label would show — so the filter is what hides it', () => {
    const predicted = argo(
      'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-predicted-live.json',
    ) as Obj;
    // Give the webhook's label to argocd-controller: now it is the manager's own field and must be reported.
    predicted.metadata.managedFields[0].fieldsV1['f:metadata']['f:labels']['f:mutation-test'] = {};
    const r = diffManifests(
      argo('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-live.yaml'),
      { mode: 'server-side', manager: 'argocd-controller', predictedLive: predicted },
    );
    expect(paths(r)).toEqual(['/metadata/labels/mutation-test', '/spec/template/spec/containers/0/ports/1']);
  });

  it('ssd-svc: server-side reflects the deletion of a label (TestServerSideDiff "will reflect deletion of labels")', () => {
    const r = diffManifests(
      argo('gitops-engine__pkg__diff__testdata__ssd-svc-no-label-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__ssd-svc-label-live.yaml'),
      {
        mode: 'server-side',
        manager: 'argocd-controller',
        predictedLive: argo('gitops-engine__pkg__diff__testdata__ssd-svc-no-label-predicted-live.json'),
      },
    );
    expect(r).toEqual({
      modified: true,
      changes: [{ path: '/metadata/labels/delete-me', live: 'delete-value' }],
    });
  });

  it('desired_deployment vs live_deployment_with_managed_replica: three-way drift, labelled with the managers that own the fields (util/argo/diff TestStateDiff)', () => {
    const r = diffManifests(
      argo('util__argo__testdata__desired_deployment.yaml'),
      argo('util__argo__testdata__live_deployment_with_managed_replica.yaml'),
    );
    expect(r.modified).toBe(true);
    expect(r.changes).toEqual([
      { path: '/spec/replicas', owner: 'kube-controller-manager', desired: 3, live: 2 },
      { path: '/spec/revisionHistoryLimit', owner: 'revision-history-manager', desired: 1, live: 3 },
    ]);
  });

  it('target vs live child Application: three-way shows the chart version only (controller sync_test)', () => {
    const r = diffManifests(
      argo('controller__testdata__target-child-application.yaml'),
      argo('controller__testdata__live-child-application.yaml'),
    );
    expect(r).toEqual({
      modified: true,
      changes: [{ path: '/spec/source/targetRevision', desired: '0.45.28', live: '0.45.27' }],
    });
  });

  it('diff-cache Application: its Git manifest against the live object is not modified; status never counts', () => {
    const live = argo('controller__testdata__diff-cache.yaml') as Obj;
    expect(live.status).toBeDefined();
    const r = diffManifests(manifestOf(live), live);
    expect(r).toEqual({ modified: false, changes: [] });
    const liveChangedStatus = clone(live);
    liveChangedStatus.status.sync.status = 'OutOfSync';
    liveChangedStatus.status.health.status = 'Degraded';
    expect(diffManifests(manifestOf(live), liveChangedStatus).modified).toBe(false);
    const desired = manifestOf(live);
    desired.spec.destination.namespace = 'other';
    expect(diffManifests(desired, live).changes).toEqual([
      { path: '/spec/destination/namespace', desired: 'other', live: 'test-lla' },
    ]);
  });
});

describe('status, managedFields and generated metadata never count, on every upstream pair in its mode', () => {
  const ssd = (name: string) => ({
    mode: 'server-side' as const,
    manager: 'argocd-controller',
    predictedLive: argo(`gitops-engine__pkg__diff__testdata__${name}-predicted-live.json`),
  });
  const pairs: [string, string, string, K8sDiffOptions][] = [
    [
      'smd-deploy',
      'gitops-engine__pkg__diff__testdata__smd-deploy-config.yaml',
      'gitops-engine__pkg__diff__testdata__smd-deploy-live.yaml',
      { mode: 'structured-merge', manager: 'argocd-controller' },
    ],
    [
      'ssd-deploy-with-manual-apply',
      'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-config.yaml',
      'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-live.yaml',
      ssd('ssd-deploy-with-manual-apply'),
    ],
    [
      'ssd-svc',
      'gitops-engine__pkg__diff__testdata__ssd-svc-no-label-config.yaml',
      'gitops-engine__pkg__diff__testdata__ssd-svc-label-live.yaml',
      ssd('ssd-svc-no-label'),
    ],
    [
      'managed-replica',
      'util__argo__testdata__desired_deployment.yaml',
      'util__argo__testdata__live_deployment_with_managed_replica.yaml',
      {},
    ],
    [
      'child-application',
      'controller__testdata__target-child-application.yaml',
      'controller__testdata__live-child-application.yaml',
      {},
    ],
  ];

  it.each(pairs)('%s', (_name, desiredFile, liveFile, opts) => {
    const desired = argo(desiredFile) as Obj;
    const live = argo(liveFile) as Obj;
    const before = diffManifests(desired, live, opts);
    expectNoGeneratedFields(before);
    const noisyLive = clone(live);
    noisyLive.status = { observedGeneration: 99, conditions: [{ type: 'Ready', status: 'False' }] };
    Object.assign(noisyLive.metadata, {
      resourceVersion: '999999',
      uid: 'another-uid',
      generation: 42,
      creationTimestamp: '2030-01-01T00:00:00Z',
      selfLink: '/api/somewhere',
    });
    const noisyDesired = clone(desired);
    noisyDesired.status = { phase: 'Whatever' };
    noisyDesired.metadata.managedFields = [{ manager: 'someone', operation: 'Update', fieldsV1: {} }];
    noisyDesired.metadata.creationTimestamp = null;
    const after = diffManifests(noisyDesired, noisyLive, opts);
    expect(after).toEqual(before);
  });
});

describe('diffManifests on the live objects with managedFields (../shared/fixtures/k8s)', () => {
  it.each(K8S_LIVE_OBJECTS)('%s: its own manifest is no drift in every mode', (name) => {
    const live = k8s(name) as Obj;
    const manifest = manifestOf(live);
    expect(diffManifests(manifest, live)).toEqual({ modified: false, changes: [] });
    expect(diffManifests(live, live)).toEqual({ modified: false, changes: [] });
    for (const entry of live.metadata.managedFields as Obj[]) {
      const r = diffManifests(manifest, live, { mode: 'structured-merge', manager: entry.manager as string });
      expect(r).toEqual({ modified: false, changes: [] });
    }
  });

  it.each(K8S_LIVE_OBJECTS)(
    '%s: a changed label is drift at its escaped pointer, nothing generated is reported',
    (name) => {
      const live = k8s(name) as Obj;
      const desired = manifestOf(live);
      desired.metadata.labels = { ...(desired.metadata.labels ?? {}), 'example.com/team': 'payments' };
      const r = diffManifests(desired, live);
      // A label map live does not have at all is reported as the map.
      expect(r.changes).toEqual(
        live.metadata.labels
          ? [{ path: '/metadata/labels/example.com~1team', desired: 'payments' }]
          : [{ path: '/metadata/labels', desired: { 'example.com/team': 'payments' } }],
      );
      expectNoGeneratedFields(r);
    },
  );

  it('endpoints-live: the last-applied manifest, even with subsets in another order, is not modified (TestUnsortedEndpoints)', () => {
    const live = k8s('argoproj-argo-cd__gitops-engine__pkg__diff__testdata__endpoints-live.json') as Obj;
    const desired = lastApplied(live);
    expect(diffManifests(desired, live)).toEqual({ modified: false, changes: [] });
    const shuffled = clone(desired);
    shuffled.subsets[0].addresses.reverse();
    shuffled.subsets[0].ports.reverse();
    expect(diffManifests(shuffled, live)).toEqual({ modified: false, changes: [] });
    const removed = clone(desired);
    removed.subsets[0].addresses.pop();
    expect(diffManifests(removed, live).modified).toBe(true);
  });

  it('live-deployment: the last-applied manifest is not modified; dropping its iksm-version annotation is a three-way removal', () => {
    const live = k8s('argoproj-argo-cd__controller__testdata__live-deployment.yaml') as Obj;
    const desired = lastApplied(live);
    expect(diffManifests(desired, live)).toEqual({ modified: false, changes: [] });
    delete desired.metadata.annotations['iksm-version'];
    const r = diffManifests(desired, live);
    expect(r.modified).toBe(true);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]).toMatchObject({ path: '/metadata/annotations/iksm-version', live: '2.0' });
  });

  it('live_validating_webhook: the caBundle injected by external-secrets is drift labelled with its owner', () => {
    const live = k8s('argoproj-argo-cd__util__argo__testdata__live_validating_webhook.yaml') as Obj;
    const r = diffManifests(lastApplied(live), live);
    expect(r.modified).toBe(true);
    expect(r.changes).toHaveLength(1);
    expect(r.changes[0]).toMatchObject({
      path: '/webhooks/0/clientConfig/caBundle',
      owner: 'external-secrets',
      desired: 'Cg==',
    });
  });

  it('smd-service-live: structured merge as argocd-controller finds the label it owns alone but the manifest dropped; the shared annotation is not drift', () => {
    const live = k8s('argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-service-live.yaml') as Obj;
    const desired = lastApplied(live);
    const r = diffManifests(desired, live, { mode: 'structured-merge', manager: 'argocd-controller' });
    expect(r).toEqual({
      modified: true,
      changes: [{ path: '/metadata/labels/app.kubernetes.io~1instance', live: 'big-crd' }],
    });
    // Three-way: the label was never in last-applied, so someone else added it: not drift.
    expect(diffManifests(desired, live)).toEqual({ modified: false, changes: [] });
  });

  it('smd-deploy2-live: a field owned only by kube-controller-manager is not the applier’s to remove; an argocd-controller field is', () => {
    const live = k8s('argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-deploy2-live.yaml') as Obj;
    const desired = manifestOf(live);
    delete desired.metadata.annotations['deployment.kubernetes.io/revision'];
    const opts: K8sDiffOptions = { mode: 'structured-merge', manager: 'argocd-controller' };
    expect(diffManifests(desired, live, opts)).toEqual({ modified: false, changes: [] });
    delete desired.spec.replicas;
    const r = diffManifests(desired, live, opts);
    expect(r.changes).toEqual([{ path: '/spec/replicas', live: live.spec.replicas }]);
  });
});

describe('three-way: removed from desired vs added by someone else', () => {
  const live = (): Obj => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'app',
      namespace: 'default',
      uid: 'u1',
      resourceVersion: '7',
      annotations: {
        [LAST_APPLIED]: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'app', namespace: 'default', annotations: { foo: 'bar' } },
          data: { a: '1', b: '2' },
        }),
        foo: 'bar',
        'added-by-other': 'x',
      },
    },
    data: { a: '1', b: '2', c: '3' },
  });
  const desired = (): Obj => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'app', annotations: { foo: 'bar' } },
    data: { a: '1', b: '2' },
  });

  it('same config, fields only in live (never applied) and the namespace are no drift', () => {
    expect(diffManifests(desired(), live())).toEqual({ modified: false, changes: [] });
  });

  it('a field removed from desired that is still in live is drift', () => {
    const d = desired();
    delete d.metadata.annotations.foo;
    delete d.data.b;
    const r = diffManifests(d, live());
    expect(r.changes).toEqual([
      { path: '/metadata/annotations/foo', live: 'bar' },
      { path: '/data/b', live: '2' },
    ]);
  });

  it('without last-applied, a removed field cannot be told from an added one: two-way, not drift (TestThreeWayDiff step 5)', () => {
    const l = live();
    delete l.metadata.annotations[LAST_APPLIED];
    const d = desired();
    delete d.metadata.annotations.foo;
    expect(diffManifests(d, l)).toEqual({ modified: false, changes: [] });
  });

  it('a malformed last-applied annotation is an input error naming the field, not "no drift"', () => {
    const l = live();
    l.metadata.annotations[LAST_APPLIED] = '{not json';
    expect(() => diffManifests(desired(), l)).toThrow(InputError);
    try {
      diffManifests(desired(), l);
    } catch (e) {
      expect((e as InputError).location).toEqual({
        file: 'live',
        field: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration',
      });
    }
  });

  it('keyed lists: a container injected by someone else is not drift; one removed from desired is', () => {
    const container = (name: string) => ({ name, image: `${name}:1` });
    const lastAppliedDeploy = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { template: { spec: { containers: [container('app'), container('helper')] } } },
    };
    const l: Obj = clone(lastAppliedDeploy);
    l.metadata.annotations = { [LAST_APPLIED]: JSON.stringify(lastAppliedDeploy) };
    l.spec.template.spec.containers = [
      { ...container('istio-proxy') },
      { ...container('helper'), imagePullPolicy: 'IfNotPresent' },
      { ...container('app'), terminationMessagePath: '/dev/termination-log' },
    ];
    const d: Obj = clone(lastAppliedDeploy);
    expect(diffManifests(d, l)).toEqual({ modified: false, changes: [] });
    d.spec.template.spec.containers = [container('app')];
    expect(diffManifests(d, l).changes).toEqual([
      {
        path: '/spec/template/spec/containers/1',
        live: { ...container('helper'), imagePullPolicy: 'IfNotPresent' },
      },
    ]);
  });

  it('atomic lists are compared whole: an extra live element is drift', () => {
    const d = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', args: ['a'] }] },
    };
    const l = clone(d) as Obj;
    l.spec.containers[0].args = ['a', 'b'];
    expect(diffManifests(d, l).changes).toEqual([{ path: '/spec/containers/0/args/1', live: 'b' }]);
  });
});

describe('empty against null is no drift', () => {
  it('ClusterRole rules: [] against null (TestNullRoleRule)', () => {
    const d = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'r' },
      rules: [],
    };
    expect(diffManifests(d, { ...d, rules: null })).toEqual({ modified: false, changes: [] });
    expect(diffManifests({ ...d, rules: null }, { ...d, rules: [] })).toEqual({
      modified: false,
      changes: [],
    });
  });

  it('Secret data: "" against null (TestNullSecretData), without revealing anything', () => {
    const d = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { password: '' } };
    expect(diffManifests(d, { ...d, data: { password: null } })).toEqual({ modified: false, changes: [] });
  });

  it('a null creationTimestamp in desired and in a pod template (TestNullCreationTimestamp)', () => {
    const d = {
      apiVersion: 'bitnami.com/v1alpha1',
      kind: 'SealedSecret',
      metadata: { name: 's', creationTimestamp: null },
      spec: { template: { metadata: { creationTimestamp: null, name: 's' } } },
    };
    const l = {
      ...d,
      metadata: { name: 's', namespace: 'ns', creationTimestamp: '2019-01-01T00:00:00Z', uid: 'x' },
      spec: { template: { metadata: { name: 's' } } },
    };
    expect(diffManifests(d, l)).toEqual({ modified: false, changes: [] });
  });

  it('an empty annotation map, an empty list or map against a missing field', () => {
    const d = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', annotations: {} },
      data: {},
      binaryData: null,
    };
    const l = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n' } };
    expect(diffManifests(d, l)).toEqual({ modified: false, changes: [] });
  });
});

describe('Secret data is never returned', () => {
  const secret = (data: Record<string, string>, extra: Obj = {}): Obj => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', ...extra },
    type: 'Opaque',
    data,
  });

  it('stringData is compared as its base64 data (TestSecretStringData)', () => {
    const d: Obj = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'db' },
      type: 'Opaque',
      stringData: { foo: 'bar', bar: '1234' },
      data: { baz: 'cXV4' },
    };
    const l = secret({ foo: 'YmFy', bar: 'MTIzNA==', baz: 'cXV4' }, { namespace: 'argocd', uid: 'u' });
    expect(diffManifests(d, l)).toEqual({ modified: false, changes: [] });
  });

  it('a changed, removed or added key shows its path only, in every mode', () => {
    const applied = secret({ password: 'b2xkLXNlY3JldA==', gone: 'Z29uZS1zZWNyZXQ=' });
    const l = secret(
      { password: 'bGl2ZS1zZWNyZXQ=', gone: 'Z29uZS1zZWNyZXQ=' },
      { annotations: { [LAST_APPLIED]: JSON.stringify(applied) } },
    );
    const d = secret({ password: 'bmV3LXNlY3JldA==', added: 'YWRkZWQtc2VjcmV0' });
    const r = diffManifests(d, l);
    expect(r).toEqual({
      modified: true,
      changes: [{ path: '/data/password' }, { path: '/data/added' }, { path: '/data/gone' }],
    });
    const text = JSON.stringify(r);
    for (const v of ['b2xk', 'bGl2', 'bmV3', 'YWRk', 'Z29u']) expect(text).not.toContain(v);
    const created = diffManifests(d, null);
    expect(created).toEqual({ modified: true, changes: [{ path: '' }] });
  });

  it('server-side: Secret values from predicted live stay hidden', () => {
    const l = secret({ password: 'bGl2ZS1zZWNyZXQ=' });
    const predicted = secret(
      { password: 'bmV3LXNlY3JldA==' },
      {
        managedFields: [
          {
            manager: 'argocd-controller',
            operation: 'Apply',
            fieldsType: 'FieldsV1',
            fieldsV1: { 'f:data': { 'f:password': {} } },
          },
        ],
      },
    );
    const r = diffManifests(secret({ password: 'bmV3LXNlY3JldA==' }), l, {
      mode: 'server-side',
      manager: 'argocd-controller',
      predictedLive: predicted,
    });
    expect(r).toEqual({ modified: true, changes: [{ path: '/data/password' }] });
  });
});

describe('ignoreAggregatedRoles', () => {
  const role = (rules: unknown): Obj => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'monitoring' },
    aggregationRule: {
      clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } }],
    },
    rules,
  });
  const live = role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }]);

  it('ignores the rules the controller aggregated into the role', () => {
    expect(diffManifests(role([]), live, { ignoreAggregatedRoles: true })).toEqual({
      modified: false,
      changes: [],
    });
  });

  it('without it, the aggregated rules are a diff (TestDiffOptionIgnoreAggregateRoles case 2)', () => {
    const r = diffManifests(role([]), live);
    expect(r.modified).toBe(true);
    expect(r.changes).toEqual([{ path: '/rules', desired: null, live: live.rules }]);
  });

  it('a role without aggregationRule keeps its rules compared', () => {
    const d = role([]);
    delete d.aggregationRule;
    const l = clone(live);
    delete l.aggregationRule;
    expect(diffManifests(d, l, { ignoreAggregatedRoles: true }).modified).toBe(true);
  });
});

describe('owner labels from managedFields', () => {
  const deploy = (replicas: number, managedFields?: Obj[]): Obj => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', ...(managedFields ? { managedFields } : {}) },
    spec: { replicas, template: { spec: { containers: [{ name: 'app', image: 'app:1' }] } } },
  });
  const fields = [
    {
      manager: 'argocd-controller',
      operation: 'Apply',
      time: '2026-01-01T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:template': {} } },
    },
    {
      manager: 'horizontal-pod-autoscaler',
      operation: 'Update',
      time: '2026-01-02T00:00:00Z',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    },
  ];

  it('a field written by another manager is labelled with it, not hidden', () => {
    const r = diffManifests(deploy(2), deploy(5, fields), {
      mode: 'structured-merge',
      manager: 'argocd-controller',
    });
    expect(r.changes).toEqual([
      { path: '/spec/replicas', owner: 'horizontal-pod-autoscaler', desired: 2, live: 5 },
    ]);
  });

  it('a field the applying manager owns carries no owner', () => {
    const d = deploy(5);
    d.spec.template.spec.containers[0].image = 'app:2';
    const r = diffManifests(d, deploy(5, fields), { mode: 'structured-merge', manager: 'argocd-controller' });
    expect(r.changes).toEqual([
      { path: '/spec/template/spec/containers/0/image', desired: 'app:2', live: 'app:1' },
    ]);
  });

  it('with no managedFields there is no owner to name', () => {
    expect(diffManifests(deploy(2), deploy(5)).changes).toEqual([
      { path: '/spec/replicas', desired: 2, live: 5 },
    ]);
  });
});

describe('structured-merge and server-side options', () => {
  const cm = (data: Obj, managedFields?: Obj[]): Obj => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'n', ...(managedFields ? { managedFields } : {}) },
    data,
  });
  const mf = (manager: string, keys: string[]) => ({
    manager,
    operation: 'Apply',
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:data': Object.fromEntries(keys.map((k) => [`f:${k}`, {}])) },
  });

  it('structured-merge: only fields the manager owns alone are removed; other managers’ and shared fields stay', () => {
    const live = cm({ mine: '1', theirs: '2', shared: '3' }, [
      mf('argocd-controller', ['mine', 'shared']),
      mf('helm', ['theirs', 'shared']),
    ]);
    const r = diffManifests(cm({}), live, { mode: 'structured-merge', manager: 'argocd-controller' });
    expect(r.changes).toEqual([{ path: '/data/mine', live: '1' }]);
    const asHelm = diffManifests(cm({}), live, { mode: 'structured-merge', manager: 'helm' });
    expect(asHelm.changes).toEqual([{ path: '/data/theirs', live: '2' }]);
  });

  it('structured-merge and server-side need a manager; server-side needs the predicted live object', () => {
    const live = cm({ a: '1' });
    expect(() => diffManifests(cm({ a: '1' }), live, { mode: 'structured-merge' })).toThrow(/--manager/);
    expect(() => diffManifests(cm({ a: '1' }), live, { mode: 'server-side', manager: 'm' })).toThrow(
      /predicted live/,
    );
  });

  it('server-side: a predicted object without the manager’s managedFields is an error, not "no drift"', () => {
    const live = cm({ a: '1' });
    expect(() =>
      diffManifests(cm({ a: '2' }), live, {
        mode: 'server-side',
        manager: 'argocd-controller',
        predictedLive: cm({ a: '2' }),
      }),
    ).toThrow(/no managedFields for manager "argocd-controller"/);
  });

  it('server-side: fields the dry run adds or changes without the manager owning them are mutations, not drift; removals count', () => {
    const live = cm({ a: '1', stamped: 'old', dropped: 'gone-after-apply' });
    const predicted = cm({ a: '2', stamped: 'new', injected: 'x' }, [
      mf('argocd-controller', ['a']),
      mf('mutating-webhook', ['injected', 'stamped']),
    ]);
    const r = diffManifests(cm({ a: '2' }), live, {
      mode: 'server-side',
      manager: 'argocd-controller',
      predictedLive: predicted,
    });
    expect(r.changes).toEqual([
      { path: '/data/a', desired: '2', live: '1' },
      { path: '/data/dropped', live: 'gone-after-apply' },
    ]);
  });
});

describe('input checks', () => {
  const obj = (kind: string, name: string) => ({ apiVersion: 'v1', kind, metadata: { name } });

  it('desired and live must be the same kind and name', () => {
    expect(() => diffManifests(obj('ConfigMap', 'a'), obj('Secret', 'a'))).toThrow(InputError);
    expect(() => diffManifests(obj('ConfigMap', 'a'), obj('ConfigMap', 'b'))).toThrow(
      /name "b" does not match the desired name "a"/,
    );
  });

  it('an object needs apiVersion and kind', () => {
    try {
      diffManifests({ kind: 'ConfigMap' }, obj('ConfigMap', 'a'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      expect((e as InputError).location).toEqual({ file: 'desired', field: '/apiVersion' });
    }
  });

  it('a missing live object is one change at the root; a missing desired one is not a modification', () => {
    expect(diffManifests(obj('ConfigMap', 'a'), undefined)).toEqual({
      modified: true,
      changes: [{ path: '', desired: obj('ConfigMap', 'a') }],
    });
    expect(diffManifests(null, obj('ConfigMap', 'a'))).toEqual({ modified: false, changes: [] });
  });
});
