import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  classify,
  managerKind,
  pointerCovers,
  resolveOwnership,
  writersOf,
  type ManagedFieldsEntry,
} from '../../../domain/classify';
import { sharedFixture } from '../../support/shared-fixtures';
import { NOW, inputOf, statelessApp, table, without } from './support';

interface LiveObject {
  kind: string;
  apiVersion: string;
  metadata: { managedFields: ManagedFieldsEntry[] };
}

function live(...parts: string[]): LiveObject {
  const text = readFileSync(sharedFixture(...parts), 'utf8');
  return (parts[parts.length - 1]?.endsWith('.json') ? JSON.parse(text) : parse(text)) as LiveObject;
}

const managedReplica = live('argocd', 'util__argo__testdata__live_deployment_with_managed_replica.yaml');
const subscription = live(
  'k8s',
  'argoproj-argo-cd__resource_customizations__operators.coreos.com__Subscription__testdata__install_plan_missing.yaml',
);
const deploymentConfig = live(
  'k8s',
  'argoproj-argo-cd__resource_customizations__apps.openshift.io__DeploymentConfig__testdata__degraded.yaml',
);
const webhook = live('k8s', 'argoproj-argo-cd__util__argo__testdata__live_validating_webhook.yaml');
const manualApply = live(
  'argocd',
  'gitops-engine__pkg__diff__testdata__ssd-deploy-with-manual-apply-live.yaml',
);
const statusDeploy = live(
  'k8s',
  'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-deploy2-live.yaml',
);
const endpoints = live('k8s', 'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__endpoints-live.json');

describe('managedFields (FieldsV1) ownership on real objects', () => {
  it('/spec/replicas is owned by kube-controller-manager (latest writer over argocd)', () => {
    const [o] = resolveOwnership({
      resourceType: 'apps/Deployment',
      changedFields: ['/spec/replicas'],
      managedFields: managedReplica.metadata.managedFields,
    });
    expect(o).toMatchObject({
      path: '/spec/replicas',
      owner: 'kube-controller-manager',
      kind: 'controller',
      source: 'managedFields',
    });
    expect(o?.managers).toEqual(['kube-controller-manager', 'argocd']);
  });

  it('a container image maps through k:{"name":...} to argocd (Git), using the live object for the index', () => {
    const [o] = resolveOwnership({
      resourceType: 'apps/Deployment',
      changedFields: ['/spec/template/spec/containers/0/image'],
      managedFields: managedReplica.metadata.managedFields,
      liveObject: managedReplica,
    });
    expect(o).toMatchObject({ owner: 'argocd', kind: 'git', source: 'managedFields' });
  });

  it('a list index that matches no element key is not owned by that manager', () => {
    const writers = writersOf(
      managedReplica.metadata.managedFields,
      '/spec/template/spec/containers/5/image',
      managedReplica,
    );
    expect(writers).toEqual([]);
  });

  it('an empty FieldsV1 leaf owns everything beneath it (f:resources: {})', () => {
    const writers = writersOf(
      managedReplica.metadata.managedFields,
      '/spec/template/spec/containers/0/resources/limits/cpu',
      managedReplica,
    );
    expect(writers.map((w) => w.manager)).toEqual(['argocd']);
  });

  it('a Mozilla manager is a manual console edit (Subscription /spec/channel)', () => {
    const [o] = resolveOwnership({
      resourceType: 'operators.coreos.com/Subscription',
      changedFields: ['/spec/channel'],
      managedFields: subscription.metadata.managedFields,
    });
    expect(o?.lastWriter).toMatchObject({ manager: 'Mozilla', kind: 'manual', operation: 'Update' });
    // A manual writer never becomes the owner: the field stays declared in Git.
    expect(o).toMatchObject({ owner: 'git', kind: 'git' });
  });

  it('classifies a console edit found only in managedFields as unauthorized, with the actor inferred', () => {
    const input = without(
      inputOf(statelessApp, {
        change: {
          resourceRef: 'apps.openshift.io/DeploymentConfig/default/example',
          resourceType: 'apps.openshift.io/DeploymentConfig',
          changedFields: ['/spec/replicas'],
        },
        managedFields: deploymentConfig.metadata.managedFields,
      }),
      'context.actor',
    );
    const d = classify(input, table, { now: NOW });
    expect(d.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(d.finding.auditCorrelation).toMatchObject({
      actor: 'Mozilla',
      actorType: 'human',
      source: 'managedFields',
    });
    expect(d.reasons.find((r) => r.ruleId === 'unauthorized-manual')?.why).toContain(
      'Mozilla (human, from managedFields)',
    );
  });

  it('the caBundle injected into a webhook belongs to external-secrets and is controller-owned drift', () => {
    const path = '/webhooks/0/clientConfig/caBundle';
    const [o] = resolveOwnership({
      resourceType: 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
      changedFields: [path],
      managedFields: webhook.metadata.managedFields,
      liveObject: webhook,
    });
    expect(o).toMatchObject({ owner: 'external-secrets', kind: 'controller' });
    const d = classify(
      without(
        inputOf(statelessApp, {
          change: {
            resourceRef: 'ValidatingWebhookConfiguration/externalsecret-validate',
            resourceType: 'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
            changedFields: [path],
          },
          managedFields: webhook.metadata.managedFields,
          liveObject: webhook,
        }),
        'context.actor',
      ),
      table,
      { now: NOW },
    );
    expect(d).toMatchObject({
      driftClass: 'CONTROLLER_OWNED_DRIFT',
      recommendedAction: 'IGNORE',
      autoHealAllowed: false,
    });
    // The base64 CA bundle of the live object is never copied into the decision.
    expect(JSON.stringify(d)).not.toContain('LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t');
  });

  it('a container added by kubectl-client-side-apply is a manual change; the Git container stays argocd-controller', () => {
    const idle = writersOf(
      manualApply.metadata.managedFields,
      '/spec/template/spec/containers/1/image',
      manualApply,
    );
    expect(idle.map((w) => `${w.manager}:${w.kind}`)).toEqual(['kubectl-client-side-apply:manual']);
    const main = writersOf(
      manualApply.metadata.managedFields,
      '/spec/template/spec/containers/0/image',
      manualApply,
    );
    expect(main.map((w) => `${w.manager}:${w.kind}`)).toEqual(['argocd-controller:git']);
    const d = classify(
      without(
        inputOf(statelessApp, {
          change: { changedFields: ['/spec/template/spec/containers/1'] },
          managedFields: manualApply.metadata.managedFields,
          liveObject: manualApply,
        }),
        'context.actor',
      ),
      table,
      { now: NOW },
    );
    expect(d.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(d.finding.auditCorrelation?.actor).toBe('kubectl-client-side-apply');
  });

  it('status written through the status subresource is runtime-owned', () => {
    const [o] = resolveOwnership({
      resourceType: 'apps/Deployment',
      changedFields: ['/status/readyReplicas'],
      managedFields: statusDeploy.metadata.managedFields,
    });
    expect(o).toMatchObject({ owner: 'kube-controller-manager', kind: 'runtime', source: 'managedFields' });
  });

  it('reads the JSON-encoded form (endpoints-live.json)', () => {
    expect(endpoints.metadata.managedFields.length).toBeGreaterThan(0);
    const w = writersOf(endpoints.metadata.managedFields, '/subsets');
    expect(w.map((x) => x.manager)).toContain('main');
  });

  it.each([
    ['Mozilla', 'manual'],
    ['kubectl-edit', 'manual'],
    ['kubectl-client-side-apply', 'manual'],
    ['argocd', 'git'],
    ['argocd-controller', 'git'],
    ['kustomize-controller', 'git'],
    ['kube-controller-manager', 'controller'],
    ['external-secrets', 'controller'],
    ['trident-operator', 'controller'],
    ['openshift-controller-manager', 'controller'],
    ['olm', 'controller'],
    ['revision-history-manager', 'unknown'],
  ])('manager %s is %s', (manager, kind) => {
    expect(managerKind(manager)).toBe(kind);
  });
});

describe('DriftOwnershipRules (§8.3)', () => {
  const rules = [
    {
      name: 'deployment-runtime-owned-fields',
      resource: { group: 'apps', kind: 'Deployment' },
      gitOwned: ['/spec/template/spec/containers', '/spec/template/spec/securityContext', '/spec/selector'],
      runtimeOwned: ['/status', '/metadata/managedFields'],
      controllerOwned: [
        { path: '/spec/replicas', owner: 'horizontal-pod-autoscaler', condition: 'hpa-enabled' },
        { path: '/spec/template/spec/containers/*/env/*/value', owner: 'vault-injector' },
      ],
    },
  ];
  const own = (path: string, conditions: string[] = [], resourceType = 'apps/Deployment') =>
    resolveOwnership({ resourceType, changedFields: [path], ownershipRules: rules, conditions })[0];

  it.each([
    ['/spec/replicas', ['hpa-enabled'], 'horizontal-pod-autoscaler', 'controller'],
    ['/spec/replicas', [], 'git', 'git'],
    ['/status/conditions/0', [], 'runtime', 'runtime'],
    ['/spec/template/spec/containers/0/image', [], 'git', 'git'],
    ['/spec/template/spec/containers/2/env/0/value', [], 'vault-injector', 'controller'],
  ])('%s with conditions %j is owned by %s', (path, conditions, owner, kind) => {
    expect(own(path, conditions)).toMatchObject({ owner, kind });
  });

  it('rules only apply to their resource kind', () => {
    expect(own('/spec/replicas', ['hpa-enabled'], 'apps/StatefulSet')).toMatchObject({
      owner: 'git',
      source: 'default',
    });
  });

  it('two equally specific rules naming different owners are ambiguous and refuse auto-heal', () => {
    const input = inputOf(statelessApp, {
      change: { changedFields: ['/spec/template/spec/containers/0/resources'] },
      ownershipRules: [
        {
          name: 'a',
          controllerOwned: [{ path: '/spec/template/spec/containers/*/resources', owner: 'vpa' }],
        },
        { name: 'b', gitOwned: ['/spec/template/spec/containers/*/resources'] },
      ],
    });
    const d = classify(input, table, { now: NOW });
    expect(d.fieldOwnership[0]?.ambiguous).toBe(true);
    expect(d.autoHealAllowed).toBe(false);
    expect(d.reasons.map((r) => r.ruleId)).toContain('hard:ownership-ambiguous');
  });

  it.each([
    ['/metadata/labels', '/metadata/labels/team', true],
    ['/metadata/labels', '/metadata/labelsX', false],
    ['/spec/template/spec/containers/*/image', '/spec/template/spec/containers/3/image', true],
    ['/spec/template/spec/containers/*/image', '/spec/template/spec/containers/image', false],
    ['/spec/**/image', '/spec/template/spec/containers/0/image', true],
    ['', '/anything', true],
  ])('pattern %s covers %s: %s', (pattern, path, covers) => {
    expect(pointerCovers(pattern, path)).toBe(covers);
  });
});
