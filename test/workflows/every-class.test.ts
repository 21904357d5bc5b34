/**
 * Acceptance: every drift class is reachable through the live flow (issue 11). A real worker on the
 * run's dev server, with the real detectors and context sources as workers/detection-parts.ts
 * wires them, scans registry units whose systems answer at their HTTP boundary (the Argo CD API
 * stand-in) or through a fake `tofu` that prints real plan JSON; each case asserts the class the
 * decision table gave, the three-plane relationship of the observation, and a rule that fired.
 */
import { execFileSync } from 'node:child_process';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecurityGroupCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify as toYaml } from 'yaml';
import { APP_OPERATION_FIELD } from '../../activities/argocd/detector';
import type { OpenedLifecycle } from '../../activities/scan';
import { analyzePlanes } from '../../domain/classify/planes';
import type { LifecycleState } from '../../workflows/messages';
import { workflowIdOf } from '../../domain/finding';
import { EvidenceStore } from '../../evidence/evidence-store';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { keyedAcmeRegistry } from '../support/approver-keys';
import { argoCdFixture, resourceDiffOf, startArgoCdApiServer, type ArgoCdApiServer } from '../support/argocd-api-server';
import { bigDriftPlan, fakeTofuPath, prepareScenario, removeScenarios, type FakeScenario } from '../support/fake-tofu';
import { useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { sharedFixture } from '../support/shared-fixtures';
import { loadRegistry } from '../../registry';
import { KubeApiServer } from '../support/kube-api-server';
import { tfstate } from '../activities/aws/tfstate-builders';
import { motoAccountId, motoCredentials, startMoto, type MotoServer } from '../support/moto';

type Obj = Record<string, unknown>;
const TOKEN_ENV = 'DRIFTPLANE_EVERY_CLASS_ARGOCD_TOKEN';
const TOKEN = 'every-class-argocd-token.eyJzdWIiOiJkcmlmdHBsYW5lIn0.c2lnbmF0dXJl';
const KUBE_TOKEN_ENV = 'DRIFTPLANE_EVERY_CLASS_KUBE_TOKEN';
const KUBE_TOKEN = 'every-class-kube-token-4f0c2a9d7e1b';
const CLUSTER = 'staging-euw1-a';
const plan = (name: string): string => sharedFixture('tofu', 'plan', name);

let tmp: string;
let argo: ArgoCdApiServer;
let moto: MotoServer;
let kube: KubeApiServer;
/** The worker's base AWS credentials come from the SDK's default chain: moto's fake keys, restored after. */
const AWS_KEYS = { AWS_ACCESS_KEY_ID: motoCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: motoCredentials.secretAccessKey };
const savedAwsEnv: Record<string, string | undefined> = {};

// ---------------------------------------------------------------- registry units

function argoUnit(name: string, app: string, o: { domain?: string; riskTier?: string; repo?: string } = {}): string {
  return `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: argocd-app
  owner: checkout
  environment: staging
  riskTier: ${o.riskTier ?? 'standard'}
  domain: ${o.domain ?? 'app'}
  cluster: ${CLUSTER}
  source:
    repo: ${o.repo ?? 'github.com/acme/gitops'}
    path: apps/${name}
    revision: main
  state:
    backend: argocd
  schedule:
    frequency: 5m
  policies:
    autoHeal: false
    requireIncidentForManualChange: false
  evidence:
    retention: 400d
  approvers:
    - checkout-approvers
  gitops:
    server: ${argo.url}
    name: ${app}
  credentials:
    token:
      env: ${TOKEN_ENV}
`;
}

/** An ExternalSecret unit on the Kubernetes API stand-in (the worker's kubeconfig names the cluster's context). */
function esoUnit(name: string, namespace: string): string {
  return `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: external-secret
  owner: checkout
  environment: staging
  riskTier: standard
  domain: secrets
  cluster: ${CLUSTER}
  namespaces: [${namespace}]
  source:
    repo: github.com/acme/gitops
    path: apps/${name}
    revision: main
  schedule:
    frequency: 5m
  policies:
    autoHeal: false
    requireIncidentForManualChange: false
  evidence:
    retention: 400d
  approvers:
    - checkout-approvers
  credentials:
    token:
      env: ${KUBE_TOKEN_ENV}
`;
}

/** A Flux Kustomization unit on the Kubernetes API stand-in. */
function fluxUnit(name: string, object: string): string {
  return esoUnit(name, 'flux-system')
    .replace('type: external-secret', 'type: flux-kustomization')
    .replace('  domain: secrets\n', '  domain: app\n')
    .replace('  namespaces: [flux-system]\n', `  gitops:\n    name: ${object}\n    namespace: flux-system\n`);
}

/** The account itself (moto's), scanned for resources no registered stack manages. */
const accountUnit = (name: string): string => `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: aws-account
  owner: checkout
  environment: staging
  riskTier: standard
  domain: network
  account: '${motoAccountId}'
  source:
    repo: github.com/acme/infra-live
    path: accounts/${name}
    revision: main
  credentials:
    roleArn: arn:aws:iam::${motoAccountId}:role/driftplane-account-detect
  schedule:
    frequency: 1h
  policies:
    autoHeal: false
    requireIncidentForManualChange: false
  evidence:
    retention: 400d
  approvers:
    - checkout-approvers
`;

/** Objects of a flux2 CLI test fixture (Go templates filled in). */
function fluxObjects(file: string): Obj[] {
  const text = readFileSync(sharedFixture('flux', file), 'utf8').replaceAll('{{ .fluxns }}', 'flux-system').replaceAll('{{ .ns }}', 'default');
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null && typeof o === 'object');
}

/** The argo-cd health testdata ExternalSecret whose sync failed (Ready=False, SecretSyncedError). */
const degradedExternalSecret = (): Obj =>
  parseYaml(readFileSync(sharedFixture('external-secrets', 'argoproj-argo-cd__resource_customizations__external-secrets.io__ExternalSecret__testdata__degraded.yaml'), 'utf8')) as Obj;

const STATE_BUCKET = 'every-class-tfstate';

const repoOf = (unit: string) => path.join(tmp, 'repos', unit);
const PLAN_UNITS = ['ec-cost', 'ec-state', 'ec-upgrade', 'ec-plan-drift', 'ec-plan-error', 'ec-plan-big'];
const SHOW_JSON_DRIFT = 'internal__command__testdata__show-json__drift__output.json';
const STACK = 'stacks/main';

function planUnit(name: string): string {
  return `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: opentofu-stack
  owner: checkout
  environment: staging
  riskTier: standard
  domain: app
  region: eu-west-1
  source:
    repo: file://${repoOf(name)}
    path: ${STACK}
    revision: main
  state:
    backend: s3
    bucket: ${STATE_BUCKET}
    key: checkout/${name}.tfstate
    region: us-east-1
  credentials:
    roleArn: arn:aws:iam::${motoAccountId}:role/driftplane-checkout-detect
  schedule:
    frequency: 5m
  policies:
    autoHeal: false
    requireIncidentForManualChange: false
  evidence:
    retention: 400d
  approvers:
    - checkout-approvers
  detection:
    binary: ${path.join(tmp, 'bin', name)}
`;
}

/**
 * The fake tofu for one unit: the worker hands tofu only an allow-listed environment, so the
 * scenario it plays is named by a wrapper script per unit.
 */
function tofuFor(unit: string, scenario: FakeScenario): void {
  const file = prepareScenario(scenario).env.FAKE_TOFU_SCENARIO!;
  const bin = path.join(tmp, 'bin', unit);
  writeFileSync(bin, `#!/bin/sh\nFAKE_TOFU_SCENARIO='${file}' exec '${process.execPath}' '${fakeTofuPath()}' "$@"\n`);
  chmodSync(bin, 0o755);
}

const LOCK = (version: string) => `# This file is maintained automatically by "tofu init".
provider "registry.opentofu.org/hashicorp/local" {
  version     = "${version}"
  constraints = "~> 2.4"
  hashes = [
    "h1:local=",
  ]
}
`;

// ---------------------------------------------------------------- Argo CD answers, from the real fixtures

/** The util/argo pair (desired replicas 3; live replicas 2 written by kube-controller-manager), renamed. */
function hpaPair(name: string, namespace: string): { desired: Obj; live: Obj } {
  const desired = argoCdFixture('util__argo__testdata__desired_deployment.yaml');
  const live = argoCdFixture('util__argo__testdata__live_deployment_with_managed_replica.yaml');
  for (const o of [desired, live]) Object.assign(o.metadata as Obj, { name, namespace });
  return { desired, live };
}

function appAround(name: string, status: Obj): Obj {
  const base = argoCdFixture('controller__testdata__diff-cache.yaml');
  return { ...base, metadata: { ...(base.metadata as Obj), name, namespace: 'argocd' }, status };
}

const outOfSync = (): Obj => argoCdFixture('docs__operator-manual__upgrading__2.14-3.0.md__status-outofsync-health-persisted.yaml').status as Obj;

const podSpec = (o: Obj) => ((o.spec as Obj).template as { spec: Obj }).spec;

function serveArgoApps(): void {
  for (const name of ['unauth', 'emergency', 'identity']) {
    argo.setApplication(appAround(`ec-${name}`, outOfSync()), [resourceDiffOf({ ...hpaPair(`${name}-web`, 'ec'), modified: true })]);
  }
  // Policy: the pod template's runAsNonRoot, true in Git, false live; the live Deployment was created in 2021.
  const policy = hpaPair('policy-web', 'ec');
  podSpec(policy.desired).securityContext = { runAsNonRoot: true };
  podSpec(policy.live).securityContext = { runAsNonRoot: false };
  argo.setApplication(appAround('ec-policy', outOfSync()), [resourceDiffOf({ ...policy, modified: true })]);
  // Dependency: the image tag moved (a tag, no digest) and no audit event explains it.
  const dep = hpaPair('dep-web', 'ec');
  const c = (podSpec(dep.live).containers as Obj[])[0]!;
  c.image = String(c.image).replace(/:[^:]+$/, ':0.2');
  argo.setApplication(appAround('ec-dependency', outOfSync()), [resourceDiffOf({ ...dep, modified: true })]);
  // Stale desired state: the runtime matches a recent commit of the unit's repository (set up below).
  argo.setApplication(appAround('ec-stale-desired', outOfSync()), [resourceDiffOf({ ...hpaPair('stale-web', 'ec'), modified: true })]);
  // Failed reconciliation: the real diff-cache Application, its last sync Failed after retries.
  const failed = argoCdFixture('controller__testdata__diff-cache.yaml');
  (failed.metadata as Obj).name = 'ec-failed';
  (failed.metadata as Obj).namespace = 'argocd';
  const st = failed.status as { sync: Obj; operationState: Obj };
  st.sync.status = 'OutOfSync';
  Object.assign(st.operationState, { phase: 'Failed', retryCount: 2, message: 'one or more objects failed to apply, reason: admission webhook "validate.kyverno.svc" denied the request' });
  argo.setApplication(failed, [resourceDiffOf({ ...hpaPair('failed-web', 'ec'), modified: true })]);
  // Detection stale: the unit names an application Argo CD does not have (404): no answer is not "no drift".
}

/** A Kubernetes audit log: a person patched ec/unauth-web five minutes ago (the fixture event, re-aimed). */
function auditLog(file: string): void {
  const dir = sharedFixture('k8s-audit');
  const base = JSON.parse(readFileSync(path.join(dir, readdirSync(dir).filter((f) => f.endsWith('create_deployment.json'))[0]!), 'utf8')) as Obj;
  const at = new Date(Date.now() - 5 * 60_000).toISOString();
  const event = {
    ...base,
    apiVersion: 'audit.k8s.io/v1',
    verb: 'patch',
    user: { username: 'maria.lopez@acme.example', groups: ['system:authenticated'] },
    objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1', namespace: 'ec', name: 'unauth-web' },
    requestReceivedTimestamp: at,
    stageTimestamp: at,
  };
  writeFileSync(file, `${JSON.stringify(event)}\n`);
}

/** The unit's Git repository: the Deployment as Git had it three days ago, and a commit an hour ago that set what runs now. */
function staleDesiredRepo(unit: string): void {
  const repo = repoOf(unit);
  const dir = path.join(repo, 'apps', unit);
  mkdirSync(dir, { recursive: true });
  const { desired, live } = hpaPair('stale-web', 'ec');
  const git = (args: string[], when: Date) =>
    execFileSync('git', args, {
      cwd: repo,
      env: { ...process.env, GIT_AUTHOR_NAME: 'Li Wei', GIT_AUTHOR_EMAIL: 'li.wei@acme.example', GIT_COMMITTER_NAME: 'Li Wei', GIT_COMMITTER_EMAIL: 'li.wei@acme.example', GIT_AUTHOR_DATE: when.toISOString(), GIT_COMMITTER_DATE: when.toISOString() },
      stdio: 'pipe',
    });
  git(['init', '-q', '-b', 'main'], new Date());
  writeFileSync(path.join(dir, 'deployment.yaml'), toYaml(desired));
  git(['add', '.'], new Date());
  git(['commit', '-q', '-m', 'web: initial'], new Date(Date.now() - 3 * 86_400_000));
  const next = structuredClone(desired);
  (next.spec as Obj).revisionHistoryLimit = (live.spec as Obj).revisionHistoryLimit;
  writeFileSync(path.join(dir, 'deployment.yaml'), toYaml(next));
  git(['commit', '-q', '-am', 'web: keep the runtime history limit'], new Date(Date.now() - 3_600_000));
}

// ---------------------------------------------------------------- plan fixtures derived at test time

function costPlan(): string {
  // drift_simple's shape, its resource an EC2 instance whose recorded size is t3.micro and live m5.4xlarge.
  const text = readFileSync(plan('testing__equivalence-tests__outputs__drift_simple__plan.json'), 'utf8')
    .replaceAll('tfcoremock_simple_resource', 'aws_instance')
    .replaceAll('"string"', '"instance_type"')
    .replaceAll('Hello, world!', 't3.micro')
    .replaceAll('Hello, drift!', 'm5.4xlarge');
  const file = path.join(tmp, 'cost-plan.json');
  writeFileSync(file, text);
  return file;
}

function reencodedLocalUpdate(): string {
  const local = JSON.parse(readFileSync(plan('testing__equivalence-tests__outputs__local_provider_update__plan.json'), 'utf8')) as {
    resource_changes: { change: { before: { content: string }; after: { content: string } } }[];
  };
  const c = local.resource_changes[0]!.change;
  c.after.content = JSON.stringify(JSON.parse(c.before.content), null, 2);
  const file = path.join(tmp, 'local-update-reencoded.json');
  writeFileSync(file, JSON.stringify(local));
  return file;
}

// ---------------------------------------------------------------- the worker

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'every-class-'));
  mkdirSync(path.join(tmp, 'bin'));
  argo = await startArgoCdApiServer({ token: TOKEN });
  // The Kubernetes API stand-in, and a kubeconfig whose context is named like the units' cluster.
  kube = await KubeApiServer.start(KUBE_TOKEN);
  process.env[KUBE_TOKEN_ENV] = KUBE_TOKEN;
  const eso = degradedExternalSecret();
  kube.put(eso);
  const kubeconfig = path.join(tmp, 'kubeconfig.yaml');
  writeFileSync(
    kubeconfig,
    toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: CLUSTER, cluster: { server: kube.url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'driftplane', user: {} }],
      contexts: [{ name: CLUSTER, context: { cluster: CLUSTER, user: 'driftplane' } }],
      'current-context': CLUSTER,
    }),
  );
  esoNamespace = String((eso.metadata as Obj).namespace);
  // Flux: the Kustomization of flux2's trace fixture, reading the status fixture's GitRepository whose fetch failed.
  const kustomization = structuredClone(fluxObjects('fluxcd-flux2__cmd__flux__testdata__trace__helmrelease.yaml').find((o) => o.kind === 'Kustomization' && (o.metadata as Obj).name === 'infrastructure')) as Obj;
  ((kustomization.spec as Obj).sourceRef as Obj).name = 'gr-failed';
  kube.put(kustomization);
  for (const o of fluxObjects('fluxcd-flux2__cmd__flux__testdata__get__status_objects.yaml').filter((x) => x.kind === 'GitRepository')) kube.put(o);
  // The plan units assume their own role (moto's STS) before tofu runs.
  moto = await startMoto();
  for (const [k, v] of Object.entries(AWS_KEYS)) {
    savedAwsEnv[k] = process.env[k];
    process.env[k] = v;
  }
  process.env[TOKEN_ENV] = TOKEN;
  serveArgoApps();
  staleDesiredRepo('ec-stale-desired');

  // Their recorded state in moto's S3, read by the AWS inventory scan that also runs for s3-backed
  // stacks: empty (no resource the plan names is recorded there), so that scan finds nothing.
  const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: motoCredentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: STATE_BUCKET }));
  for (const unit of PLAN_UNITS)
    await s3.send(new PutObjectCommand({ Bucket: STATE_BUCKET, Key: `checkout/${unit}.tfstate`, Body: JSON.stringify(tfstate([])) }));
  s3.destroy();
  // A security group someone made by hand in the account: in no registered state.
  const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials: motoCredentials });
  const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }))).Vpcs?.[0]?.VpcId;
  rogueGroup = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'rogue-debug', Description: 'opened by hand', VpcId: vpc }))).GroupId ?? '';
  ec2.destroy();
  for (const unit of PLAN_UNITS) {
    mkdirSync(path.join(repoOf(unit), STACK), { recursive: true });
    writeFileSync(path.join(repoOf(unit), STACK, 'main.tf'), 'resource "aws_instance" "drift" {}\n');
  }
  writeFileSync(path.join(repoOf('ec-upgrade'), STACK, '.terraform.lock.hcl'), LOCK('2.4.0'));
  tofuFor('ec-cost', { plan: { exit: 2 }, show: { fixture: costPlan() } });
  tofuFor('ec-state', { plan: { exit: 2 }, show: { fixture: plan('internal__command__testdata__show-json__drift__output.json') } });
  tofuFor('ec-upgrade', { plan: { exit: 2 }, show: { fixture: reencodedLocalUpdate() } });
  tofuFor('ec-plan-drift', { plan: { exit: 2 }, show: { fixture: plan(SHOW_JSON_DRIFT) } });
  tofuFor('ec-plan-error', { plan: { exit: 2 }, show: { fixture: plan('internal__command__testdata__show-json__plan-error__output.json') } });
  const big = path.join(tmp, 'big-plan.json');
  writeFileSync(big, JSON.stringify(bigDriftPlan(plan('testing__equivalence-tests__outputs__drift_simple__plan.json'))));
  tofuFor('ec-plan-big', { plan: { exit: 2 }, show: { fixture: big } });

  const registry = path.join(tmp, 'registry');
  cpSync((await keyedAcmeRegistry()).registryDir, registry, { recursive: true });
  const units = [
    argoUnit('ec-unauth', 'ec-unauth'),
    argoUnit('ec-emergency', 'ec-emergency'),
    argoUnit('ec-identity', 'ec-identity', { domain: 'iam' }),
    argoUnit('ec-policy', 'ec-policy'),
    argoUnit('ec-dependency', 'ec-dependency'),
    argoUnit('ec-failed', 'ec-failed'),
    argoUnit('ec-stale-desired', 'ec-stale-desired', { repo: `file://${repoOf('ec-stale-desired')}` }),
    argoUnit('ec-detection-stale', 'ec-nowhere'),
    esoUnit('ec-secret', esoNamespace),
    fluxUnit('ec-flux-stale', 'infrastructure'),
    accountUnit('ec-account'),
    planUnit('ec-cost'),
    planUnit('ec-state'),
    planUnit('ec-upgrade'),
    planUnit('ec-plan-drift'),
    planUnit('ec-plan-error'),
    planUnit('ec-plan-big'),
  ];
  writeFileSync(path.join(registry, 'units', 'every-class.yaml'), units.join('---\n'));
  const loaded = await loadRegistry(registry);
  if (!loaded.ok) throw new Error(`the test registry is invalid: ${loaded.errors.map((e) => `${e.file}:${e.line ?? '?'} ${e.message}`).join('; ')}`);

  const auditFile = path.join(tmp, 'k8s-audit.log');
  auditLog(auditFile);
  const incidents = path.join(tmp, 'incidents.yaml');
  writeFileSync(
    incidents,
    `incidents:
  - id: INC-4711
    status: open
    units: [ec-emergency]
    startedAt: ${new Date(Date.now() - 3_600_000).toISOString()}
    title: checkout web 500s
`,
  );
  overrides = { DRIFTPLANE_REGISTRY: registry, DRIFTPLANE_AWS_ENDPOINT: moto.endpoint, DRIFTPLANE_KUBECONFIG: kubeconfig, DRIFTPLANE_K8S_AUDIT_LOG: auditFile, DRIFTPLANE_INCIDENTS_FILE: incidents };
});

let overrides: Record<string, string> = {};
let rogueGroup = '';
let esoNamespace = '';
const t = useDevServerWorker(() => overrides);

afterAll(async () => {
  await argo?.close();
  await moto?.stop();
  await kube?.close();
  delete process.env[KUBE_TOKEN_ENV];
  for (const [k, v] of Object.entries(savedAwsEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  delete process.env[TOKEN_ENV];
  removeScenarios();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------- scanning

interface Seen {
  result: UnitScanResult;
  states: LifecycleState[];
}

/**
 * Runs `unitScan` for a unit and waits until every lifecycle it opened has its decision. Unless a
 * failed detection is the point, every adapter of the unit must have answered: drift, and no
 * DETECTION_STALE lifecycle beside the findings.
 */
async function scan(unit: string, want: 'drift' | 'failed' = 'drift'): Promise<Seen> {
  const result = (await t.env.client.workflow.execute('unitScan', {
    workflowId: `every-class:${unit}:${Date.now()}:${Math.random()}`,
    taskQueue: t.config.taskQueue,
    args: [{ unit }],
  })) as UnitScanResult;
  const findings: OpenedLifecycle[] = 'findings' in result ? (result.findings ?? []) : [];
  if (result.status !== want || findings.length === 0) throw new Error(`scan of ${unit}: expected ${want} with findings, got ${JSON.stringify(result)}`);
  const states = await Promise.all(findings.map((f) => waitForState(t.env.client, f.workflowId, (s) => s.decision !== undefined)));
  if (want === 'drift') expect(states.map((s) => s.decision?.driftClass)).not.toContain('DETECTION_STALE');
  // Every request the detectors sent fits the API description of the system they asked.
  expect(argo.invalid()).toEqual([]);
  expect(kube.invalid()).toEqual([]);
  return { result, states };
}

const ruleIds = (s: LifecycleState) => s.decision?.reasons.map((r) => r.ruleId) ?? [];

/** The observation's relationship, checked against the plane analysis when the detector gave planes. */
function relationshipOf(s: LifecycleState): string {
  const planes = s.observation.context?.planes;
  if (planes) expect(analyzePlanes({ planes, resourceRef: s.observation.resourceRef }).relationship).toBe(s.observation.relationship);
  return s.observation.relationship;
}

function pick(seen: Seen, match: (s: LifecycleState) => boolean, what: string): LifecycleState {
  const s = seen.states.find(match);
  if (!s)
    throw new Error(
      `no lifecycle ${what} (scan ${seen.result.status}${'error' in seen.result ? `: ${seen.result.error}` : ''}); got ${JSON.stringify(seen.states.map((x) => ({ ref: x.observation.resourceRef, fields: x.observation.changedFields, class: x.decision?.driftClass, rules: ruleIds(x) })))}`,
    );
  return s;
}
const byField = (field: string) => (s: LifecycleState) => s.observation.changedFields.includes(field);

describe('every drift class is reachable through the live flow (issue 11)', () => {
  it('UNAUTHORIZED_RUNTIME_DRIFT: Argo CD OutOfSync on a Git-owned field, a person patched it (k8s audit log)', async () => {
    const s = pick(await scan('ec-unauth'), byField('/spec/revisionHistoryLimit'), 'for revisionHistoryLimit');
    expect(s.decision?.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.auditCorrelation).toMatchObject({ actor: { id: 'maria.lopez@acme.example', type: 'human' }, source: expect.stringContaining('k8s') as unknown });
    expect(ruleIds(s)).toContain('unauthorized-manual');
  });

  it('CONTROLLER_OWNED_DRIFT: HPA-owned replicas, from the live object’s managedFields', async () => {
    const s = pick(await scan('ec-unauth'), byField('/spec/replicas'), 'for replicas');
    expect(s.decision?.driftClass).toBe('CONTROLLER_OWNED_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(ruleIds(s)).toContain('controller-owned-field');
  });

  it('FAILED_RECONCILIATION: the application’s last sync Failed after retries', async () => {
    const s = pick(await scan('ec-failed'), byField(APP_OPERATION_FIELD), 'for the sync operation');
    expect(s.decision?.driftClass).toBe('FAILED_RECONCILIATION');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.reconcile?.lastError).toContain('validate.kyverno.svc');
    expect(ruleIds(s)).toContain('failed-reconciliation');
  });

  it('POLICY_DRIFT: the live value breaks a CompliancePolicy that took effect after the object was created', async () => {
    const s = pick(await scan('ec-policy'), (x) => x.observation.changedFields.some((f) => f.includes('securityContext')), 'for the securityContext');
    expect(s.decision?.driftClass).toBe('POLICY_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.policyViolation).toMatchObject({ policyId: 'workloads-run-as-non-root@2', createdBeforePolicy: true });
    expect(ruleIds(s)).toContain('policy-drift-legacy');
  });

  it('EMERGENCY_DRIFT: a change on a unit with an open incident (incident file)', async () => {
    const s = pick(await scan('ec-emergency'), byField('/spec/revisionHistoryLimit'), 'for revisionHistoryLimit');
    expect(s.decision?.driftClass).toBe('EMERGENCY_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.incident).toMatchObject({ id: 'INC-4711', status: 'open' });
    expect(ruleIds(s)).toContain('emergency-open-incident');
  });

  it('DEPENDENCY_DRIFT: an image tag without digest moved, and no actor explains it', async () => {
    const s = pick(await scan('ec-dependency'), (x) => x.observation.changedFields.some((f) => f.endsWith('/image')), 'for the image');
    expect(s.decision?.driftClass).toBe('DEPENDENCY_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.dependency).toBeDefined();
    expect(ruleIds(s)).toContain('dependency-drift');
  });

  it('IDENTITY_DRIFT: drift on an identity unit (domain iam)', async () => {
    const s = pick(await scan('ec-identity'), byField('/spec/revisionHistoryLimit'), 'for revisionHistoryLimit');
    expect(s.decision?.driftClass).toBe('IDENTITY_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(ruleIds(s)).toContain('identity');
  });

  it('STALE_DESIRED_STATE: what runs is what a recent commit of the unit’s repository says', async () => {
    const s = pick(await scan('ec-stale-desired'), byField('/spec/revisionHistoryLimit'), 'for revisionHistoryLimit');
    expect(s.decision?.driftClass).toBe('STALE_DESIRED_STATE');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.matchingChange).toBeDefined();
    expect(ruleIds(s)).toContain('matching-change');
  });

  it('DETECTION_STALE: Argo CD does not have the application: the failed detection opens a stale lifecycle', async () => {
    const seen = await scan('ec-detection-stale', 'failed');
    expect('error' in seen.result && seen.result.error).toMatch(/ArgoCdNotFound/);
    expect(seen.states).toHaveLength(1);
    const s = seen.states[0]!;
    expect(s.decision?.driftClass).toBe('DETECTION_STALE');
    expect(s.observation).toMatchObject({ resourceRef: 'unit/ec-detection-stale', changedFields: ['/detector/status'] });
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(ruleIds(s)).toContain('detection-stale');
  });

  it('DETECTION_STALE: a Flux GitRepository whose fetch failed is not "in sync" (Kubernetes API)', async () => {
    const seen = await scan('ec-flux-stale', 'failed');
    expect('error' in seen.result && seen.result.error).toMatch(/source GitRepository\/flux-system\/gr-failed not ready: GitOperationFailed/);
    const s = seen.states[0]!;
    expect(s.decision?.driftClass).toBe('DETECTION_STALE');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(ruleIds(s)).toContain('detection-stale');
  });

  it('STATE_DRIFT (IMPORT): a security group made by hand in the account is an IMPORT candidate, and the account is not 100 % covered', async () => {
    const seen = await scan('ec-account');
    const s = pick(seen, (x) => x.observation.resourceRef === `aws_security_group/${rogueGroup}`, 'for the hand-made security group');
    expect(s.observation.changeType).toBe('unmanaged');
    expect(s.observation.diff).toContainEqual({ path: '/id', kind: 'added', actual: rogueGroup });
    expect(s.decision).toMatchObject({ driftClass: 'STATE_DRIFT', recommendedAction: 'IMPORT' });
    expect(relationshipOf(s)).toBe('recorded!=actual');
    expect(ruleIds(s)).toContain('unmanaged-import');
    expect('coverage' in seen.result ? seen.result.coverage : undefined).toBeDefined();
  });

  it('SECRET_DELIVERY_DRIFT: the ExternalSecret could not sync (Ready=False) on the Kubernetes API', async () => {
    const s = pick(await scan('ec-secret'), (x) => x.observation.resourceRef.startsWith('ExternalSecret/'), 'for the ExternalSecret');
    expect(s.decision?.driftClass).toBe('SECRET_DELIVERY_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=actual');
    expect(s.observation.context?.reconcile?.lastError).toMatch(/^Ready=False: SecretSyncedError/);
    expect(ruleIds(s)).toContain('secret-delivery-failed');
  });

  it('STATE_DRIFT: a configuration change not applied yet (desired != recorded) in a real plan', async () => {
    const s = pick(await scan('ec-state'), (x) => x.observation.resourceRef === 'test_instance.no_refresh', 'for test_instance.no_refresh');
    expect(s.decision?.driftClass).toBe('STATE_DRIFT');
    expect(relationshipOf(s)).toBe('desired!=recorded');
    expect(ruleIds(s)).toContain('desired-not-applied');
  });

  it('COST_DRIFT: an instance recorded as t3.micro runs as m5.4xlarge', async () => {
    const s = pick(await scan('ec-cost'), (x) => x.observation.resourceRef === 'aws_instance.drift', 'for aws_instance.drift');
    expect(s.decision?.driftClass).toBe('COST_DRIFT');
    expect(relationshipOf(s)).toBe('recorded!=actual');
    expect(s.observation.context?.costDeltaPercent).toBeGreaterThan(10);
    expect(ruleIds(s)).toContain('cost-drift');
  });

  it('PROVIDER_READ_NOISE: the lock file moved a provider and the plan differs only in representation', async () => {
    // First scan: records the provider versions of a successful plan; its lifecycle is ended so the next scan opens a new one.
    const first = await scan('ec-upgrade');
    for (const f of 'findings' in first.result ? (first.result.findings ?? []) : []) await t.env.client.workflow.getHandle(f.workflowId).terminate('provider upgrade follows');
    expect(first.states.map((s) => s.decision?.driftClass)).not.toContain('PROVIDER_READ_NOISE');
    writeFileSync(path.join(repoOf('ec-upgrade'), STACK, '.terraform.lock.hcl'), LOCK('2.5.0'));
    const s = pick(await scan('ec-upgrade'), (x) => x.observation.resourceRef === 'local_file.local_file', 'for local_file.local_file');
    expect(s.decision?.driftClass).toBe('PROVIDER_READ_NOISE');
    expect(relationshipOf(s)).toBe('desired!=recorded');
    expect(s.observation.context?.providerUpgrade).toBeDefined();
    expect(ruleIds(s)).toContain('provider-upgrade-read-noise');
  });
});

describe('plan scans through the live flow (issue 11 §1)', () => {
  const evidence = () => new EvidenceStore(t.config.evidenceDir);
  const artifactOf = (s: LifecycleState) => {
    const ref = s.observation.context?.artifacts?.find((a) => a.name === 'plan.json');
    if (!ref) throw new Error(`no plan artifact on ${s.observation.resourceRef}`);
    return ref;
  };

  it('a real drifted plan opens one lifecycle per drifted resource; the raw plan is in evidence, only its reference in history', async () => {
    const fixture = JSON.parse(readFileSync(plan(SHOW_JSON_DRIFT), 'utf8')) as { resource_changes?: { address: string; change: { actions: string[] } }[]; resource_drift?: { address: string }[] };
    const changed = new Set([
      ...(fixture.resource_changes ?? []).filter((r) => r.change.actions.join() !== 'no-op').map((r) => r.address),
      ...(fixture.resource_drift ?? []).map((r) => r.address),
    ]);
    const seen = await scan('ec-plan-drift');
    expect(new Set(seen.states.map((s) => s.observation.resourceRef))).toEqual(changed);
    expect(seen.states).toHaveLength(changed.size);
    for (const s of seen.states) {
      const ref = artifactOf(s);
      // The evidence record of the detection names the artifact, and the artifact is the plan tofu printed.
      const detected = (await evidence().read(s.findingId)).find((r) => r.step === 'detected');
      expect(JSON.stringify(detected?.data)).toContain(ref.uri);
      expect(JSON.parse(await evidence().readArtifact(ref))).toEqual(fixture);
    }
  });

  it('a plan over 2 MB: 21 lifecycles, each carrying a reference to the 2 MB plan, nothing near the payload limit in history', async () => {
    const seen = await scan('ec-plan-big');
    expect(seen.states).toHaveLength(21);
    const ref = artifactOf(seen.states[0]!);
    expect(ref.bytes).toBeGreaterThan(2 * 1024 * 1024);
    for (const s of seen.states) expect(JSON.stringify(s.observation).length).toBeLessThan(16 * 1024);
    const history = await t.env.client.workflow.getHandle(workflowIdOf(seen.states[0]!.findingId)).fetchHistory();
    const largest = Math.max(...(history.events ?? []).map((e) => JSON.stringify(e).length));
    expect(largest).toBeLessThan(256 * 1024);
  });

  it('an errored plan opens DETECTION_STALE, never "no drift" (the stack\'s inventory scan still answered)', async () => {
    const result = (await t.env.client.workflow.execute('unitScan', { workflowId: `every-class:ec-plan-error:${Date.now()}`, taskQueue: t.config.taskQueue, args: [{ unit: 'ec-plan-error' }] })) as UnitScanResult;
    // One adapter of two failed: not clean, and its one finding is the unit's stale detection.
    expect(result.status).toBe('drift');
    const findings = 'findings' in result ? (result.findings ?? []) : [];
    expect(findings.map((f) => f.resourceRef)).toEqual(['unit/ec-plan-error']);
    const s = await waitForState(t.env.client, findings[0]!.workflowId, (x) => x.decision !== undefined);
    expect(s.decision?.driftClass).toBe('DETECTION_STALE');
    expect(s.observation.detectorStatus).toBe('failed');
    expect(s.observation.detectorError).toMatch(/^plan: .*errored/);
    expect(ruleIds(s)).toContain('detection-stale');
  });
});
