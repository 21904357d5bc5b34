import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  classifyK8sActor,
  correlateK8sObservation,
  isSuccessfulChange,
  k8sTargetOf,
  K8sAuditFormatError,
  matchK8sAuditEvents,
  parseK8sAuditText,
  resourceOfKind,
  type K8sAuditChange,
} from '../../../domain/audit';
import { sharedFixture } from '../../support/shared-fixtures';

const DIR = sharedFixture('k8s-audit');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const text = (f: string) => readFileSync(`${DIR}/${f}`, 'utf8');
const one = (suffix: string): K8sAuditChange => {
  const f = FILES.find((x) => x.endsWith(suffix));
  if (!f) throw new Error(`no fixture ${suffix}`);
  const events = parseK8sAuditText(text(f), f);
  expect(events).toHaveLength(1);
  return events[0]!;
};

describe('Kubernetes audit events: every fixture parses', () => {
  it('finds the seven fixtures (three shapes: no apiVersion key, v1beta1, v1)', () => {
    expect(FILES).toHaveLength(7);
    const raw = FILES.map((f) => JSON.parse(text(f)) as { apiVersion?: string });
    expect(new Set(raw.map((r) => r.apiVersion ?? '(none)'))).toEqual(
      new Set(['(none)', 'audit.k8s.io/v1beta1', 'audit.k8s.io/v1']),
    );
  });

  it.each(FILES)('%s: one event with user, verb, objectRef and a time', (f) => {
    const [e] = parseK8sAuditText(text(f), f);
    const raw = JSON.parse(text(f)) as {
      verb: string;
      user: { username: string };
      objectRef: { resource: string };
      stageTimestamp?: string;
      timestamp?: string;
    };
    expect(e).toMatchObject({
      verb: raw.verb,
      user: { username: raw.user.username },
      objectRef: { resource: raw.objectRef.resource },
      stage: 'ResponseComplete',
    });
    expect(e!.eventTime).toBe(new Date(raw.stageTimestamp ?? raw.timestamp!).toISOString());
  });

  it('reads the same events as JSON lines, a JSON array and an EventList', () => {
    const docs = FILES.map((f) => JSON.parse(text(f)) as unknown);
    const lines = parseK8sAuditText(`${docs.map((d) => JSON.stringify(d)).join('\n')}\n`, 'lines');
    const array = parseK8sAuditText(JSON.stringify(docs, null, 2), 'array');
    const list = parseK8sAuditText(
      JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items: docs }),
      'list',
    );
    expect(lines).toHaveLength(7);
    expect(array).toEqual(lines);
    expect(list).toEqual(lines);
  });

  it('leaves out a last line still being written, and names a bad line elsewhere', () => {
    const e = JSON.stringify(JSON.parse(text(FILES[0]!)));
    expect(parseK8sAuditText(`${e}\n${e}\n{"kind":"Ev`, 'log')).toHaveLength(2);
    expect(() => parseK8sAuditText(`${e}\n{"kind":"Ev\n${e}\n`, 'log')).toThrow(/log line 2: not JSON/);
    expect(() => parseK8sAuditText(`${e}\n{"kind":"Event","user":{}}\n`, 'log')).toThrow(K8sAuditFormatError);
    expect(() => parseK8sAuditText(`${e}\n{"kind":"Event","user":{}}\n`, 'log')).toThrow(/log line 2 \/verb/);
    expect(() =>
      parseK8sAuditText('{"kind":"Pod","verb":"get","user":{},"stageTimestamp":"2020-01-01T00:00:00Z"}', 'x'),
    ).toThrow(/kind "Pod" is not an audit Event/);
    expect(() => parseK8sAuditText('{"verb":"get","user":{}}', 'x')).toThrow(/no stageTimestamp/);
  });

  it('names a created object from the response when objectRef has no name (generateName)', () => {
    const pod = one('create_nginx_pod_privileged.json');
    expect(pod.objectRef).toMatchObject({
      resource: 'pods',
      namespace: 'default',
      name: expect.stringMatching(/^nginx-deployment-5cdcc99dbf-/),
    });
  });
});

describe('Kubernetes audit: the actor (acceptance)', () => {
  it("the human user's ClusterRole patch: minikube-user, human", () => {
    const e = one('modify_cluster_role_node_problem_detector.json');
    expect(e).toMatchObject({
      verb: 'patch',
      objectRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        resource: 'clusterroles',
        name: 'system:node-problem-detector',
      },
    });
    expect(e.objectRef.namespace).toBeUndefined();
    const c = correlateK8sObservation(
      { resourceRef: 'ClusterRole/_/system:node-problem-detector', detectedAt: '2026-01-01T00:00:00Z' },
      [e],
    );
    expect(c.auditCorrelation).toEqual({
      actor: { id: 'minikube-user', type: 'human' },
      source: 'k8s-audit',
      eventTime: '2018-10-26T14:11:51.039Z',
      eventName: 'patch',
    });
  });

  it("the human user's Deployment create: minikube-user, human", () => {
    const e = one('create_deployment.json');
    const c = correlateK8sObservation(
      { resourceRef: 'Deployment/default/nginx-deployment', detectedAt: '2026-01-01T00:00:00Z' },
      [e],
    );
    expect(c.auditCorrelation).toMatchObject({
      actor: { id: 'minikube-user', type: 'human' },
      eventName: 'create',
    });
    expect(c.auditCorrelation!.eventTime).toBe('2018-10-26T13:07:36.911Z');
  });

  it('the replicaset-controller service account: controller', () => {
    const e = one('create_nginx_pod_privileged.json');
    expect(e.user.username).toBe('system:serviceaccount:kube-system:replicaset-controller');
    expect(classifyK8sActor(e)).toBe('controller');
    const c = correlateK8sObservation(
      { resourceRef: `Pod/default/${e.objectRef.name!}`, detectedAt: '2026-01-01T00:00:00Z' },
      [e],
    );
    expect(c.auditCorrelation?.actor).toEqual({
      id: 'system:serviceaccount:kube-system:replicaset-controller',
      type: 'controller',
    });
  });

  it.each([
    ['create_service_account_token_secret.json', 'system:kube-controller-manager', 'controller'],
    ['create_secret.json', 'minikube-user', 'human'],
    ['delete_deployment.json', 'minikube-user', 'human'],
    // An operator's service account in another namespace: its user agent says it is an operator.
    [
      'kube-apiserver-update-configmap.json',
      'system:serviceaccount:openshift-kube-controller-manager:localhost-recovery-client',
      'controller',
    ],
  ])('%s: %s is %s', (suffix, username, type) => {
    const e = one(suffix);
    expect(e.user.username).toBe(username);
    expect(classifyK8sActor(e)).toBe(type);
  });
});

describe('Kubernetes audit: actor classification rules', () => {
  const ev = (username: string, over: Partial<K8sAuditChange['user']> = {}, userAgent?: string) => ({
    user: { username, groups: ['system:authenticated'], ...over },
    ...(userAgent ? { userAgent } : {}),
  });
  it.each([
    ['a person', ev('maria.lopez@acme.example'), {}, 'human'],
    ['Argo CD', ev('system:serviceaccount:argocd:argocd-application-controller'), {}, 'ci'],
    ['Flux kustomize-controller', ev('system:serviceaccount:flux-system:kustomize-controller'), {}, 'ci'],
    ['Flux helm-controller', ev('system:serviceaccount:flux-system:helm-controller'), {}, 'ci'],
    ['a GitHub Actions deployer', ev('github-actions-deployer'), {}, 'ci'],
    [
      'a configured CI account',
      ev('system:serviceaccount:ci:deploy-bot'),
      { ciIdentities: ['deploy-bot'] },
      'ci',
    ],
    ['a name that merely contains a CI word', ev('maria.jenkins@acme.example'), {}, 'human'],
    [
      'a kube-system controller',
      ev('system:serviceaccount:kube-system:deployment-controller'),
      {},
      'controller',
    ],
    ['a node', ev('system:node:ip-10-0-0-1'), {}, 'controller'],
    ['an operator by name', ev('system:serviceaccount:monitoring:prometheus-operator'), {}, 'controller'],
    [
      'a configured operator',
      ev('system:serviceaccount:istio-system:istiod'),
      { controllerIdentities: ['istiod'] },
      'controller',
    ],
    ['some pod token', ev('system:serviceaccount:default:app'), {}, 'unknown'],
    ['anonymous', ev('system:anonymous'), {}, 'unknown'],
    ['a break-glass user', ev('breakglass-admin'), { breakGlassUsers: ['breakglass-admin'] }, 'break-glass'],
    [
      'a break-glass group',
      ev('maria', { groups: ['acme:break-glass'] }),
      { breakGlassGroups: ['acme:break-glass'] },
      'break-glass',
    ],
    [
      'an EKS session of a break-glass role',
      ev('maria', {
        extra: {
          arn: ['arn:aws:sts::111122223333:assumed-role/acme-break-glass/maria'],
          canonicalArn: ['arn:aws:iam::111122223333:role/acme-break-glass'],
        },
      }),
      { breakGlassRoleArns: ['arn:aws:iam::111122223333:role/acme-break-glass'] },
      'break-glass',
    ],
    [
      'the same role name in another account',
      ev('maria', { extra: { arn: ['arn:aws:sts::999999999999:assumed-role/acme-break-glass/maria'] } }),
      { breakGlassRoleArns: ['arn:aws:iam::111122223333:role/acme-break-glass'] },
      'human',
    ],
  ] as const)('%s', (_what, e, config, type) => {
    expect(classifyK8sActor(e as Pick<K8sAuditChange, 'user' | 'userAgent'>, config)).toBe(type);
  });
});

describe('Kubernetes audit: which events count and match', () => {
  const base = one('create_deployment.json');
  const at = (iso: string, over: Partial<K8sAuditChange> = {}): K8sAuditChange => ({
    ...base,
    eventTime: iso,
    ...over,
  });

  it.each([
    ['a successful create', {}, true],
    ['a get', { verb: 'get' }, false],
    ['a list', { verb: 'list' }, false],
    ['a watch', { verb: 'watch' }, false],
    ['a request not complete yet', { stage: 'RequestReceived' }, false],
    ['a refused patch (403)', { verb: 'patch', responseStatus: { code: 403 } }, false],
    ['a conflict (409)', { verb: 'update', responseStatus: { code: 409 } }, false],
    ['a status write', { verb: 'update', objectRef: { ...base.objectRef, subresource: 'status' } }, false],
    ['a scale', { verb: 'patch', objectRef: { ...base.objectRef, subresource: 'scale' } }, true],
  ] as const)('%s counts: %s', (_w, over, expected) => {
    expect(isSuccessfulChange({ ...base, ...(over as Partial<K8sAuditChange>) })).toBe(expected);
  });

  it('takes the latest change before detection, of the same kind, namespace and name', () => {
    const events = [
      at('2026-01-01T10:00:00.000Z'),
      at('2026-01-01T11:00:00.000Z', { verb: 'patch', user: { ...base.user, username: 'sam@acme.example' } }),
      at('2026-01-01T12:00:00.000Z', {
        verb: 'patch',
        user: { ...base.user, username: 'later@acme.example' },
      }),
      at('2026-01-01T11:30:00.000Z', { verb: 'patch', objectRef: { ...base.objectRef, namespace: 'other' } }),
      at('2026-01-01T11:30:00.000Z', {
        verb: 'patch',
        objectRef: { ...base.objectRef, resource: 'statefulsets' },
      }),
      at('2026-01-01T11:40:00.000Z', {
        verb: 'get',
        user: { ...base.user, username: 'reader@acme.example' },
      }),
    ];
    const c = correlateK8sObservation(
      { resourceRef: 'Deployment/default/nginx-deployment', detectedAt: '2026-01-01T11:45:00Z' },
      events,
    );
    expect(c).toEqual({
      matched: 2,
      auditCorrelation: {
        actor: { id: 'sam@acme.example', type: 'human' },
        source: 'k8s-audit',
        eventTime: '2026-01-01T11:00:00.000Z',
        eventName: 'patch',
      },
    });
    expect(
      correlateK8sObservation(
        { resourceRef: 'Deployment/default/nginx-deployment', detectedAt: '2026-01-01T09:00:00Z' },
        events,
      ),
    ).toEqual({ matched: 0, auditCorrelation: null });
    expect(
      correlateK8sObservation(
        { resourceRef: 'aws_security_group.web', detectedAt: '2026-01-01T12:00:00Z' },
        events,
      ).auditCorrelation,
    ).toBeNull();
  });

  it('maps kinds to resources and reads resource references', () => {
    expect(
      [
        'Deployment',
        'ClusterRole',
        'Ingress',
        'NetworkPolicy',
        'ConfigMap',
        'Endpoints',
        'PodDisruptionBudget',
        'Gateway',
        'HTTPProxy',
      ].map(resourceOfKind),
    ).toEqual([
      'deployments',
      'clusterroles',
      'ingresses',
      'networkpolicies',
      'configmaps',
      'endpoints',
      'poddisruptionbudgets',
      'gateways',
      'httpproxies',
    ]);
    expect(k8sTargetOf('Deployment/checkout/web')).toEqual({
      kind: 'Deployment',
      namespace: 'checkout',
      name: 'web',
    });
    expect(k8sTargetOf('ClusterRole/_/system:node-problem-detector')).toEqual({
      kind: 'ClusterRole',
      name: 'system:node-problem-detector',
    });
    expect(k8sTargetOf('unit/checkout-web-prod')).toBeUndefined();
    expect(k8sTargetOf('aws_security_group.web')).toBeUndefined();
    expect(
      matchK8sAuditEvents({ kind: 'Deployment', namespace: 'default', name: 'nginx-deployment' }, [base]),
    ).toEqual([base]);
  });
});
