import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { sharedFixture } from '../../support/shared-fixtures';

/** A parsed Kubernetes object: arbitrary real data that tests reach into by path. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

/** A real object from ../shared/fixtures (see SOURCES.md there), parsed fresh on every call. */
export function fixture(folder: 'k8s' | 'external-secrets', file: string): K8sObject {
  return parse(readFileSync(sharedFixture(folder, file), 'utf8')) as K8sObject;
}

/** argo-cd controller/testdata: live Deployment `default/kustomize-guestbook-ui` (managers argocd, janitor, kcm). */
export const liveGuestbook = () =>
  fixture('k8s', 'argoproj-argo-cd__controller__testdata__live-deployment.yaml');
/** gitops-engine diff testdata: live Deployment `default/nginx-deployment` with status and managedFields. */
export const liveNginx = () =>
  fixture('k8s', 'argoproj-argo-cd__gitops-engine__pkg__diff__testdata__smd-deploy2-live.yaml');
/** argo-cd health testdata: ExternalSecret `argocd/test-healthy` (Ready, SecretSynced). */
export const healthyExternalSecret = () =>
  fixture(
    'external-secrets',
    'argoproj-argo-cd__resource_customizations__external-secrets.io__ExternalSecret__testdata__healthy.yaml',
  );

/** The Secret an ExternalSecret writes: `spec.target.name`, defaulting to the ExternalSecret's own name. */
export function targetSecretName(es: K8sObject): string {
  return (es.spec?.target?.name as string | undefined) ?? (es.metadata.name as string);
}

/** A copy of `obj` as another object: new name/namespace/kind (a StatefulSet or DaemonSet keeps the pod template). */
export function reshape(
  obj: K8sObject,
  changes: { name?: string; namespace?: string; kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet' },
): K8sObject {
  const o = structuredClone(obj);
  if (changes.name) o.metadata.name = changes.name;
  if (changes.namespace) o.metadata.namespace = changes.namespace;
  if (changes.kind && changes.kind !== o.kind) {
    o.kind = changes.kind;
    // Only the Deployment-specific fields go; the real pod template stays as captured.
    delete o.spec.strategy;
    delete o.spec.progressDeadlineSeconds;
    if (changes.kind === 'DaemonSet') delete o.spec.replicas;
    if (changes.kind === 'StatefulSet') o.spec.serviceName = o.metadata.name;
    delete o.status;
  }
  return o;
}
