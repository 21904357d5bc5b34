/**
 * The reconcile executors as a worker builds them (`reconcileWorkerParts` from a Config), against
 * real parts: real `git` repositories (the local planes, a stack repository, the registry itself),
 * the fake GitHub that checks every request against @octokit/openapi, the fake Kubernetes API, and
 * the PagerDuty Events v2 stand-in. Every test asserts what was really done: the files of the
 * commit (`git show`), the request bodies the servers received, the named failure.
 */
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryPolicySource } from '../../../activities/lifecycle/registry-policy';
import { LocalPlanes } from '../../../activities/local-planes/local-planes';
import type { ReconcileRequest, TofuExecutors } from '../../../activities/reconcile/executors';
import { localPlanesDetector, routeDetectors } from '../../../activities/scan/detectors';
import { findingIdOf, type DriftObservation, type FieldChange } from '../../../domain/finding';
import type { LifecycleDecision } from '../../../domain/lifecycle';
import { branchOf } from '../../../domain/reconcile/branch';
import { exceptionDocument, exceptionNameOf, lintExceptionAgainst } from '../../../domain/reconcile/ignore-exception';
import { loadRegistry } from '../../../registry';
import { reconcileWorkerParts, tofuExecutors } from '../../../workers/reconcile-parts';
import type { Config } from '../../../workers/config';
import { startGitHubOpenApiServer, type GitHubOpenApiServer } from '../../support/github-openapi-server';
import { fakeTofuPath, prepareScenario, removeScenarios, type PreparedScenario } from '../../support/fake-tofu';
import { KubeApiServer } from '../../support/kube-api-server';
import { testConfig } from '../../support/lifecycle-helpers';
import { motoCredentials, startMoto, type MotoServer } from '../../support/moto';
import { repoRoot, sharedFixture } from '../../support/shared-fixtures';
import { checkEvent, startPagerDutyServer, type PagerDutyServer } from '../incident/pagerduty-server';
import { liveGuestbook, liveNginx, reshape, type K8sObject } from '../kubernetes/fixtures';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Person',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test Person',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};
const sh = (repo: string, ...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { env: GIT_ENV, encoding: 'utf8' });

const temps: string[] = [];
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(d);
  return d;
};

/** Writes files into `dir` and commits them on `main` (a fresh repository when `init`). */
function commitFiles(dir: string, files: Record<string, string>, init = false): void {
  if (init) sh(dir, 'init', '-q', '-b', 'main');
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    writeFileSync(path.join(dir, p), content);
  }
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '-q', '-m', 'desired state');
}

/** The paths one commit changes, with their status letter (`M\tpath`). */
const changedIn = (repo: string, commit: string): string[] => sh(repo, 'show', '--format=', '--name-status', commit).trim().split('\n');

/** Commits on `branch` that are not on main. */
const commitsAhead = (repo: string, branch: string): string[] => sh(repo, 'rev-list', `main..refs/heads/${branch}`).trim().split('\n').filter(Boolean);

const GOLDEN_DIR = path.resolve(__dirname, '../../fixtures/golden/reconcile-executors');
/** Compares with a golden file (regenerate with UPDATE_GOLDEN=1, then review the diff). */
function expectGolden(name: string, actual: string): void {
  const file = path.join(GOLDEN_DIR, name);
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(file, actual);
  }
  let expected: string;
  try {
    expected = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`golden file ${file} is missing: run with UPDATE_GOLDEN=1 and review it`);
  }
  expect(actual).toBe(expected);
}

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

/** A real tfstate v4 (serial 1) with one instance, tfcoremock_simple_resource.drift. */
const TFSTATE = sharedFixture('tofu', 'state', 'testing__equivalence-tests__tests__drift_simple__terraform.tfstate');
const serialOf = (file: string): number => (JSON.parse(readFileSync(file, 'utf8')) as { serial: number }).serial;

const DETECTED_AT = '2026-12-01T10:00:00.000Z';

function observation(o: { unit: string; resourceRef: string; resourceType: string; diff: FieldChange[]; changeType?: DriftObservation['changeType']; changedFields?: string[] }): DriftObservation {
  return {
    unit: o.unit,
    resourceRef: o.resourceRef,
    resourceType: o.resourceType,
    relationship: 'desired!=actual',
    changeType: o.changeType ?? 'modified',
    changedFields: o.changedFields ?? o.diff.map((d) => d.path),
    diff: o.diff,
    detectedAt: DETECTED_AT,
    detector: 'test',
    auditCorrelation: { actor: { id: 'maria.lopez@acme.example', type: 'human' }, source: 'kubernetes-audit', eventTime: '2026-12-01T09:58:00.000Z', eventName: 'patch' },
  };
}

function decision(action: string, over: Partial<LifecycleDecision> = {}): LifecycleDecision {
  return {
    driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
    risk: 'HIGH',
    recommendedAction: action,
    autoHealAllowed: false,
    autoHealRefusedBy: 'unit policy autoHeal: false',
    owner: 'checkout',
    environment: 'prod',
    reasons: [{ ruleId: 'manual-change-prod', why: 'a person changed a production resource outside Git' }],
    policyVersion: 'registry@test',
    ...over,
  };
}

function request(o: DriftObservation, d: LifecycleDecision, over: Partial<ReconcileRequest> = {}): ReconcileRequest {
  return {
    findingId: findingIdOf(o),
    runId: 'run-0001',
    observation: o,
    decision: d,
    approvedBy: 'priya.nair@acme.example',
    approvers: ['priya.nair@acme.example'],
    reason: 'the hotfix is correct; keep it',
    ...over,
  };
}

/** Edits documents of the registry copy (by metadata.name) and writes the file back. */
function editRegistry(file: string, edits: Record<string, (spec: Record<string, unknown>) => void>): void {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const name = doc.getIn(['metadata', 'name']) as string | undefined;
    const edit = name ? edits[name] : undefined;
    if (!edit) continue;
    const spec = doc.get('spec', true) as unknown as { toJSON(): Record<string, unknown> };
    const js = spec.toJSON();
    edit(js);
    doc.set('spec', doc.createNode(js));
  }
  writeFileSync(file, list.map((d) => d.toString({ lineWidth: 0 })).join(''));
}

// ---------------------------------------------------------------------------------------------
// The world: repositories, servers, the registry copy, the worker parts
// ---------------------------------------------------------------------------------------------

const DEPLOYMENT_YAML = `# Checkout web in production: the desired state as Git keeps it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout-web
  namespace: checkout # the team's namespace
spec:
  # Three replicas carry the peak; the HPA scales from here.
  replicas: 3 # keep in sync with the HPA minimum
  template:
    spec:
      containers:
        - name: web
          image: acme/checkout-web:1.4.2 # pinned by the release pipeline
`;

const MAIN_TF = `# CI runners of the shared account.
resource "aws_instance" "runner" {
  ami           = var.runner_ami
  instance_type = "t3.large" # sized for the monorepo build
  monitoring    = true

  tags = {
    Name = "ci-runner"
  }
}
`;
const VARIABLES_TF = `variable "runner_ami" {
  type    = string
  default = "ami-0abc1234"
}
`;

const CHECKOUT_API_YAML = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: checkout-api
  namespace: checkout
spec:
  # checkout-api scales with the web tier
  replicas: 4
  template:
    spec:
      containers:
        - name: api
          image: acme/checkout-api:2.0.1
`;

const TOKEN = 'ghp_ExecutorsTestTokenNeverLogged0123456789';
const KUBE_TOKEN = 'dp-k8s-token-executors-5e6f7a8b9c0d';
const ROUTING_KEY = 'R0UT1NGK3Y5ECRET0123456789abcdef';

let gh: GitHubOpenApiServer;
let kube: KubeApiServer;
let pd: PagerDutyServer;
let planesRoot: string;
let stackRepo: string;
let registryDir: string;
let kubeconfig: string;
let config: Config;
let parts: ReturnType<typeof reconcileWorkerParts>;
let planes: LocalPlanes;
let policy: ReturnType<typeof createRegistryPolicySource>;
const detector = () => routeDetectors([localPlanesDetector(planes)]);

/** The desired Deployment of payments-api in the gitops repository (what a revert applies). */
function paymentsDesired(): K8sObject {
  const live = liveNginx();
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'payments-api', namespace: 'payments', labels: { app: 'payments-api' } },
    spec: { ...structuredClone(live.spec), replicas: 3 },
  };
}

beforeAll(async () => {
  [gh, kube, pd] = await Promise.all([startGitHubOpenApiServer(), KubeApiServer.start(KUBE_TOKEN), startPagerDutyServer()]);

  // The local planes, a Git repository: checkout-web-prod's desired state is YAML with comments.
  planesRoot = tempDir('driftplane-planes-');
  commitFiles(planesRoot, { 'checkout-web-prod/desired/deployment.yaml': DEPLOYMENT_YAML, 'checkout-web-prod/actual/.keep': '' }, true);
  planes = new LocalPlanes(planesRoot);

  // A stack repository (file://) for the OpenTofu and database units.
  stackRepo = tempDir('driftplane-stacks-');
  commitFiles(stackRepo, { 'ci-runners/main.tf': MAIN_TF, 'ci-runners/variables.tf': VARIABLES_TF, 'rds/checkout/main.tf': '# checkout database\n', 'README.md': '# stacks\n' }, true);

  // The registry: a copy of acme, itself a Git repository (IGNORE opens PRs against it).
  registryDir = tempDir('driftplane-registry-');
  cpSync(path.join(repoRoot, 'registry', 'examples', 'acme'), registryDir, { recursive: true });
  editRegistry(path.join(registryDir, 'units', 'compute.yaml'), {
    'shared-ci-runners': (s) => {
      s.source = { repo: `file://${stackRepo}`, path: 'ci-runners', revision: 'main' };
    },
  });
  editRegistry(path.join(registryDir, 'units', 'data.yaml'), {
    'checkout-db-prod': (s) => {
      s.source = { repo: `file://${stackRepo}`, path: 'rds/checkout', revision: 'main' };
      (s.policies as Record<string, unknown>).reconcile = { migrationsPath: 'migrations' };
    },
    'prod-data-lake': (s) => {
      s.source = { repo: `file://${stackRepo}`, path: 'ci-runners', revision: 'main' };
      (s.policies as Record<string, unknown>).reconcile = { allowDestroyRecreate: true };
    },
  });
  commitFiles(registryDir, {}, true);
  const loaded = await loadRegistry(registryDir);
  if (!loaded.ok) throw new Error(`registry copy invalid: ${JSON.stringify(loaded.errors.slice(0, 3))}`);

  // GitHub: the gitops repository of the argocd apps.
  gh.addRepo('acme/gitops', {
    'README.md': '# gitops\n',
    'apps/checkout-api/overlays/prod/deployment.yaml': CHECKOUT_API_YAML,
    'apps/checkout-api/overlays/prod/kustomization.yaml': 'resources:\n  - deployment.yaml\n',
    'apps/payments-api/overlays/prod/deployment.yaml': stringify(paymentsDesired()),
  });

  // A kubeconfig: context prod-euw1-a reaches the fake API. prod-euw1-b is only a *cluster* entry
  // (no context of that name): the worker cannot reach it by context and must not claim it.
  const kdir = tempDir('driftplane-kube-');
  kubeconfig = path.join(kdir, 'config');
  writeFileSync(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        // Plain http on loopback: kubeConfigFor insists the entry says so.
        { name: 'fake-api', cluster: { server: kube.url, 'insecure-skip-tls-verify': true } },
        { name: 'prod-euw1-b', cluster: { server: 'https://prod-euw1-b.invalid:6443' } },
      ],
      users: [{ name: 'driftplane', user: { token: KUBE_TOKEN } }],
      contexts: [{ name: 'prod-euw1-a', context: { cluster: 'fake-api', user: 'driftplane' } }],
      'current-context': 'prod-euw1-a',
    }),
  );

  config = await testConfig('127.0.0.1:1', {
    DRIFTPLANE_REGISTRY: registryDir,
    DRIFTPLANE_REGISTRY_REPO: `file://${registryDir}`,
    GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: gh.url,
    DRIFTPLANE_KUBECONFIG: kubeconfig,
  });
  policy = createRegistryPolicySource({ registryDir });
  parts = reconcileWorkerParts(config, { policy, detector: detector(), planes, env: { PAGERDUTY_ROUTING_KEY: ROUTING_KEY, PAGERDUTY_EVENTS_URL: pd.url } });
}, 60_000);

afterAll(async () => {
  await Promise.all([gh?.close(), kube?.close(), pd?.close()]);
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// 1. OPEN_RECONCILIATION_PR on a manifest unit whose desired state is a local Git repository
// ---------------------------------------------------------------------------------------------

describe('OPEN_RECONCILIATION_PR, manifest unit, desired state in the local planes repository', () => {
  const o = observation({
    unit: 'checkout-web-prod',
    resourceRef: 'Deployment/checkout/checkout-web',
    resourceType: 'Deployment',
    diff: [{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 5 }],
  });
  const req = request(o, decision('OPEN_RECONCILIATION_PR'));

  it('commits exactly the live value on driftplane/<unit>/<fp>, comments kept, with the §23 body; a retry finds the same PR', async () => {
    const mainBefore = sh(planesRoot, 'rev-parse', 'main').trim();
    const out = await parts.executors.execute(req);

    const fp = req.findingId.slice('checkout-web-prod:'.length);
    expect(out.pr).toMatchObject({ provider: 'local-git', repo: planesRoot, branch: `driftplane/checkout-web-prod/${fp}`, created: true });
    expect(out.pr!.branch).toBe(branchOf(req.findingId));
    expect(out).toMatchObject({ action: 'OPEN_RECONCILIATION_PR', executed: true, facts: { files: ['checkout-web-prod/desired/deployment.yaml'] } });

    // One commit on main changing exactly that field to the live value; every comment kept.
    expect(commitsAhead(planesRoot, out.pr!.branch)).toEqual([out.pr!.commit]);
    expect(sh(planesRoot, 'rev-parse', `${out.pr!.commit}^`).trim()).toBe(mainBefore);
    expect(changedIn(planesRoot, out.pr!.commit)).toEqual(['M\tcheckout-web-prod/desired/deployment.yaml']);
    expect(sh(planesRoot, 'show', `${out.pr!.commit}:checkout-web-prod/desired/deployment.yaml`)).toBe(
      DEPLOYMENT_YAML.replace('replicas: 3 # keep', 'replicas: 5 # keep'),
    );
    // main and the working tree are untouched.
    expect(sh(planesRoot, 'rev-parse', 'main').trim()).toBe(mainBefore);
    expect(readFileSync(path.join(planesRoot, 'checkout-web-prod/desired/deployment.yaml'), 'utf8')).toBe(DEPLOYMENT_YAML);

    // The PR record and its body: every §23 section, in order, with the facts of this finding.
    const record = JSON.parse(readFileSync(out.pr!.recordPath!, 'utf8')) as { labels: string[]; reviewers: { teams: string[] }; files: string[] };
    expect(record.labels).toEqual(['driftplane', 'UNAUTHORIZED_RUNTIME_DRIFT', 'HIGH']);
    expect(record.reviewers.teams).toEqual(['checkout']);
    expect(record.files).toEqual(['checkout-web-prod/desired/deployment.yaml']);
    const body = readFileSync(out.pr!.recordPath!.replace(/\.json$/, '.md'), 'utf8');
    const sections = ['## Drift Reconciliation', '### Classification', '### Detected fields', '### Audit correlation', '### Proposed Desired-State Update', '### Policy evaluation', '### Risk and rollback', '### Evidence', '### Reviewers'];
    const at = sections.map((s) => body.split('\n').indexOf(s));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(body).toContain(req.findingId);
    expect(body).toContain('Deployment/checkout/checkout-web');
    expect(body).toContain('/spec/replicas');
    expect(body).toContain('maria.lopez@acme.example');
    expect(body).toContain('`checkout-web-prod/desired/deployment.yaml`');
    expect(body).toContain('@acme/checkout');

    // A retry (the activity ran again after a crash) finds the same PR and commits nothing.
    const again = await parts.executors.execute(req);
    expect(again.pr).toMatchObject({ number: out.pr!.number, branch: out.pr!.branch, commit: out.pr!.commit, created: false });
    expect(commitsAhead(planesRoot, out.pr!.branch)).toEqual([out.pr!.commit]);
    expect(readdirSync(path.dirname(out.pr!.recordPath!)).filter((n) => n.endsWith('.json'))).toEqual([path.basename(out.pr!.recordPath!)]);
  });

  it('a finding whose resource no manifest declares fails DesiredFileNotFound, nothing committed', async () => {
    const missing = observation({ unit: 'checkout-web-prod', resourceRef: 'Deployment/checkout/nope', resourceType: 'Deployment', diff: [{ path: '/spec/replicas', kind: 'changed', desired: 1, actual: 2 }] });
    const f = await failureOf(parts.executors.execute(request(missing, decision('OPEN_RECONCILIATION_PR'))));
    expect(f.type).toBe('DesiredFileNotFound');
    expect(f.nonRetryable).toBe(true);
    expect(sh(planesRoot, 'branch', '--list', `${branchOf(findingIdOf(missing))}`).trim()).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// 2. The same against GitHub
// ---------------------------------------------------------------------------------------------

describe('OPEN_RECONCILIATION_PR against GitHub (the unit’s source is github.com/acme/gitops)', () => {
  afterEach(() => expect(gh.invalid).toEqual([]));

  it('opens the PR with one commit, the owning team as reviewers and the driftplane/class/risk labels; every request valid', async () => {
    gh.reset();
    const o = observation({
      unit: 'checkout-api-prod',
      resourceRef: 'Deployment/checkout/checkout-api',
      resourceType: 'Deployment',
      diff: [{ path: '/spec/replicas', kind: 'changed', desired: 4, actual: 6 }],
    });
    const req = request(o, decision('OPEN_RECONCILIATION_PR', { risk: 'MEDIUM' }));
    const out = await parts.executors.execute(req);

    expect(out.pr).toMatchObject({ provider: 'github', repo: 'acme/gitops', branch: branchOf(req.findingId), created: true });
    const files = gh.filesAt('acme/gitops', out.pr!.commit);
    expect(files.get('apps/checkout-api/overlays/prod/deployment.yaml')).toBe(CHECKOUT_API_YAML.replace('replicas: 4', 'replicas: 6'));
    expect(files.get('apps/checkout-api/overlays/prod/kustomization.yaml')).toBe('resources:\n  - deployment.yaml\n');

    const byOp = (op: string) => gh.requests.filter((r) => r.operationId === op);
    const [create] = byOp('pulls/create');
    expect(create?.body).toMatchObject({ head: branchOf(req.findingId), base: 'main', title: expect.stringContaining('Deployment/checkout/checkout-api') });
    expect((create?.body as { body: string }).body).toContain('## Drift Reconciliation');
    // GitHub takes team *slugs* (the registry's githubTeam is `org/slug`).
    expect(byOp('pulls/request-reviewers').map((r) => r.body)).toEqual([{ reviewers: [], team_reviewers: ['checkout'] }]);
    expect(byOp('issues/add-labels').map((r) => r.body)).toEqual([{ labels: ['driftplane', 'UNAUTHORIZED_RUNTIME_DRIFT', 'MEDIUM'] }]);
    for (const r of gh.requests) expect(r.authorization).toBe(`token ${TOKEN}`);

    // A retry finds the PR: no second pull request, commit or review request.
    gh.reset();
    const again = await parts.executors.execute(req);
    expect(again.pr).toMatchObject({ number: out.pr!.number, created: false });
    expect(gh.requests.filter((r) => r.method === 'POST').map((r) => r.operationId)).toEqual([]);
    expect(gh.pulls('acme/gitops').filter((p) => p.head === branchOf(req.findingId))).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// 3–5, 7, 8. OpenTofu and database units (desired state in a file:// stack repository)
// ---------------------------------------------------------------------------------------------

describe('OpenTofu unit (shared-ci-runners, source file://…/ci-runners)', () => {
  it('OPEN_RECONCILIATION_PR edits a literal attribute in place and states an attribute set by var.x as a manual edit', async () => {
    const o = observation({
      unit: 'shared-ci-runners',
      resourceRef: 'aws_instance.runner',
      resourceType: 'aws_instance',
      diff: [
        { path: '/instance_type', kind: 'changed', desired: 't3.large', actual: 't3.xlarge' },
        { path: '/ami', kind: 'changed', desired: 'ami-0abc1234', actual: 'ami-0def5678' },
      ],
    });
    const req = request(o, decision('OPEN_RECONCILIATION_PR', { owner: 'iac-platform', environment: 'shared' }));
    const out = await parts.executors.execute(req);

    expect(out.pr).toMatchObject({ provider: 'local-git', repo: stackRepo, branch: branchOf(req.findingId), created: true });
    expect(changedIn(stackRepo, out.pr!.commit)).toEqual(['M\tci-runners/main.tf']);
    expect(sh(stackRepo, 'show', `${out.pr!.commit}:ci-runners/main.tf`)).toBe(MAIN_TF.replace('"t3.large"', '"t3.xlarge"'));
    expect(out.facts?.manual).toEqual([{ attribute: 'aws_instance.runner.ami', value: 'ami-0def5678', why: expect.stringMatching(/var\.runner_ami.*not a literal|not a literal.*var\.runner_ami/) }]);

    const body = readFileSync(out.pr!.recordPath!.replace(/\.json$/, '.md'), 'utf8');
    const manual = body.slice(body.indexOf('#### Manual edits required'));
    expect(body).toContain('#### Manual edits required');
    const line = manual.split('\n').find((l) => l.startsWith('- [ ] Set `aws_instance.runner.ami`'));
    expect(line).toBeDefined();
    expect(line).toContain('"ami-0def5678"');
    // The body escapes Markdown (`_` → `\_`): the reason names the variable that sets the attribute.
    expect(line).toMatch(/set by the expression var\.runner\\_ami, not a literal/);
    expect(body).toContain('@acme/iac-platform');
  });

  it('IMPORT writes an import block to <dir>/driftplane_imports.tf (golden)', async () => {
    const o = observation({
      unit: 'shared-ci-runners',
      resourceRef: 'aws_s3_bucket.artifacts',
      resourceType: 'aws_s3_bucket',
      changeType: 'unmanaged',
      diff: [{ path: '/id', kind: 'added', actual: 'acme-ci-artifacts' }],
    });
    const req = request(o, decision('IMPORT', { driftClass: 'STATE_DRIFT', owner: 'iac-platform' }));
    const out = await parts.executors.execute(req);
    expect(changedIn(stackRepo, out.pr!.commit)).toEqual(['A\tci-runners/driftplane_imports.tf']);
    const text = sh(stackRepo, 'show', `${out.pr!.commit}:ci-runners/driftplane_imports.tf`);
    expect(text).toContain('to = aws_s3_bucket.artifacts');
    expect(text).toContain('id = "acme-ci-artifacts"');
    expectGolden('driftplane_imports.tf', text);
    const body = readFileSync(out.pr!.recordPath!.replace(/\.json$/, '.md'), 'utf8');
    expect(body).toContain('-chdir=ci-runners plan -generate-config-out=generated.tf');
  });

  it('IMPORT without the resource id fails MissingImportId, nothing committed', async () => {
    const o = observation({ unit: 'shared-ci-runners', resourceRef: 'aws_s3_bucket.logs', resourceType: 'aws_s3_bucket', changeType: 'unmanaged', diff: [{ path: '/', kind: 'added' }] });
    const f = await failureOf(parts.executors.execute(request(o, decision('IMPORT', { owner: 'iac-platform' }))));
    expect(f).toMatchObject({ type: 'MissingImportId', nonRetryable: true });
    expect(f.message).toContain('aws_s3_bucket.logs');
    expect(sh(stackRepo, 'branch', '--list', branchOf(findingIdOf(o))).trim()).toBe('');
  });

  it('STATE_MOVE writes a moved block to <dir>/driftplane_moved.tf (golden)', async () => {
    const o = observation({
      unit: 'shared-ci-runners',
      resourceRef: 'aws_instance.ci_runner',
      resourceType: 'aws_instance',
      diff: [{ path: '/address', kind: 'changed', desired: 'aws_instance.runner', actual: 'aws_instance.ci_runner' }],
    });
    const out = await parts.executors.execute(request(o, decision('STATE_MOVE', { driftClass: 'STATE_DRIFT', owner: 'iac-platform' })));
    expect(changedIn(stackRepo, out.pr!.commit)).toEqual(['A\tci-runners/driftplane_moved.tf']);
    const text = sh(stackRepo, 'show', `${out.pr!.commit}:ci-runners/driftplane_moved.tf`);
    expect(text).toContain('from = aws_instance.runner');
    expect(text).toContain('to   = aws_instance.ci_runner');
    expectGolden('driftplane_moved.tf', text);
  });

  it('DESTROY_RECREATE is refused (DestroyRecreateRefused) when the unit’s policy does not allow it; nothing runs', async () => {
    const calls: unknown[] = [];
    const tofu: TofuExecutors = {
      refreshOnly: async (i) => (calls.push(['refreshOnly', i]), { output: '' }),
      replace: async (i) => (calls.push(['replace', i.address]), { output: 'replaced' }),
    };
    const withTofu = reconcileWorkerParts(config, { policy, detector: detector(), planes, tofu });
    const o = observation({ unit: 'shared-ci-runners', resourceRef: 'aws_instance.runner', resourceType: 'aws_instance', diff: [{ path: '/ami', kind: 'changed', desired: 'a', actual: 'b' }] });
    const f = await failureOf(withTofu.executors.execute(request(o, decision('DESTROY_RECREATE', { owner: 'iac-platform' }))));
    expect(f).toMatchObject({ type: 'DestroyRecreateRefused', nonRetryable: true });
    expect(f.message).toContain('allowDestroyRecreate');
    expect(calls).toEqual([]);

    // Where the policy allows it, the tofu runner replaces exactly the finding's address.
    const lake = observation({ unit: 'prod-data-lake', resourceRef: 'aws_s3_bucket.lake', resourceType: 'aws_s3_bucket', diff: [{ path: '/bucket', kind: 'changed', desired: 'a', actual: 'b' }] });
    const done = await withTofu.executors.execute(request(lake, decision('DESTROY_RECREATE', { owner: 'platform-data' })));
    expect(done).toMatchObject({ action: 'DESTROY_RECREATE', executed: true, detail: 'tofu apply -replace=aws_s3_bucket.lake' });
    expect(calls).toEqual([['replace', 'aws_s3_bucket.lake']]);
  });
});

describe('MIGRATION_PLAN (checkout-db-prod, a database unit with migrationsPath)', () => {
  it('adds a skeleton under <dir>/<migrationsPath>, never applied', async () => {
    const o = observation({
      unit: 'checkout-db-prod',
      resourceRef: 'aws_rds_cluster_parameter_group.checkout',
      resourceType: 'aws_rds_cluster_parameter_group',
      diff: [{ path: '/parameter/max_connections', kind: 'changed', desired: '500', actual: '800' }],
    });
    const req = request(o, decision('MIGRATION_PLAN', { owner: 'platform-data', driftClass: 'STALE_DESIRED_STATE' }));
    const out = await parts.executors.execute(req);
    const changed = changedIn(stackRepo, out.pr!.commit);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatch(/^A\trds\/checkout\/migrations\/\d{14}_driftplane_[0-9a-f]{8}\.sql$/);
    const file = changed[0]!.slice(2);
    const text = sh(stackRepo, 'show', `${out.pr!.commit}:${file}`);
    expect(text).toContain('/parameter/max_connections');
    expect(text).toMatch(/never/i);
    expect(text).toContain(req.findingId);
  });
});

// ---------------------------------------------------------------------------------------------
// 6. IGNORE: a PR to the registry (itself a Git repository)
// ---------------------------------------------------------------------------------------------

describe('IGNORE: a PR adding a scoped, expiring exception to the registry repository', () => {
  it('adds exceptions/<name>.yaml, and the registry on the PR branch loads and lints clean with it', async () => {
    const o = observation({
      unit: 'checkout-web-prod',
      resourceRef: 'ConfigMap/checkout/checkout-web-flags',
      resourceType: 'ConfigMap',
      diff: [{ path: '/data/FLAG_CHECKOUT_V2', kind: 'changed', desired: 'off', actual: 'on' }],
    });
    const req = request(o, decision('IGNORE', { driftClass: 'CONTROLLER_OWNED_DRIFT', risk: 'LOW' }));
    const out = await parts.executors.execute(req);

    const name = exceptionNameOf(req.findingId);
    const file = `exceptions/${name}.yaml`;
    expect(out.pr).toMatchObject({ provider: 'local-git', repo: registryDir, branch: branchOf(req.findingId), created: true });
    expect(commitsAhead(registryDir, out.pr!.branch)).toEqual([out.pr!.commit]);
    expect(changedIn(registryDir, out.pr!.commit)).toEqual([`A\t${file}`]);

    // Check the branch out on its own and load it as the registry it will become.
    const wt = path.join(tempDir('driftplane-registry-wt-'), 'tree');
    sh(registryDir, 'worktree', 'add', '-q', wt, out.pr!.branch);
    const loaded = await loadRegistry(wt);
    if (!loaded.ok) throw new Error(`the PR branch's registry is invalid: ${JSON.stringify(loaded.errors)}`);
    const ex = loaded.registry.exceptions.get(name);
    expect(ex?.spec).toMatchObject({
      scope: { unit: 'checkout-web-prod', kind: 'ConfigMap', namespace: 'checkout', name: 'checkout-web-flags' },
      paths: ['/data/FLAG_CHECKOUT_V2'],
      owner: 'checkout',
      approvedBy: 'priya.nair@acme.example',
      reason: 'the hotfix is correct; keep it',
    });
    // And the §14.1 lint of the committed file against the registry it is added to (main) is clean.
    const main = await loadRegistry(registryDir);
    if (!main.ok) throw new Error('registry invalid');
    expect(main.registry.exceptions.has(name)).toBe(false);
    expect(lintExceptionAgainst(main.registry, { fileName: file, text: readFileSync(path.join(wt, file), 'utf8') }, { now: new Date() }).filter((p) => p.startsWith('error'))).toEqual([]);

    const body = readFileSync(out.pr!.recordPath!.replace(/\.json$/, '.md'), 'utf8');
    expect(body).toContain('### Expiration');
    expect(body).toContain(`\`${file}\``);
  });

  it('an ignore of /spec/template/spec/containers is refused with LintFailed carrying the lint’s own text; no PR', async () => {
    const o = observation({
      unit: 'checkout-web-prod',
      resourceRef: 'Deployment/checkout/checkout-web',
      resourceType: 'Deployment',
      diff: [{ path: '/spec/template/spec/containers', kind: 'changed', desired: [], actual: [] }],
    });
    const req = request(o, decision('IGNORE'));
    const prsBefore = readdirSync(path.join(registryDir, '.git', 'driftplane', 'prs')).length;
    const f = await failureOf(parts.executors.execute(req));
    expect(f).toMatchObject({ type: 'LintFailed', nonRetryable: true });

    // The lint, run independently on the same exception, says exactly what the failure says.
    const loaded = await loadRegistry(registryDir);
    if (!loaded.ok) throw new Error('registry invalid');
    const doc = exceptionDocument({
      findingId: req.findingId,
      unit: o.unit,
      owner: 'checkout',
      resource: { kind: 'Deployment', namespace: 'checkout', name: 'checkout-web' },
      paths: o.changedFields,
      reason: req.reason!,
      approvedBy: req.approvedBy,
      approvedAt: new Date(),
      expiresInDays: 90,
    });
    const problems = lintExceptionAgainst(loaded.registry, doc, { now: new Date() }).filter((p) => p.startsWith('error'));
    expect(problems.length).toBeGreaterThan(0);
    for (const p of problems) expect(f.message).toContain(p);
    expect(f.message).toContain('/spec/template/spec/containers');
    expect(readdirSync(path.join(registryDir, '.git', 'driftplane', 'prs')).length).toBe(prsBefore);
    expect(sh(registryDir, 'branch', '--list', branchOf(req.findingId)).trim()).toBe('');
  });
});

// ---------------------------------------------------------------------------------------------
// 9. Kubernetes: rollout restart and server-side apply through the kubeconfig's context
// ---------------------------------------------------------------------------------------------

describe('Kubernetes executors through DRIFTPLANE_KUBECONFIG (context prod-euw1-a)', () => {
  afterEach(() => expect(kube.invalid()).toEqual([]));

  it('RESTART_CONSUMERS_AFTER_SECRET_SYNC patches the restart annotation on the consumers of the synced Secret, once', async () => {
    kube.clear();
    const consumer = reshape(liveGuestbook(), { name: 'checkout-web', namespace: 'checkout' });
    consumer.spec.template.spec.containers[0].env.push({ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'checkout-db-creds', key: 'password' } } });
    const bystander = reshape(liveNginx(), { name: 'checkout-docs', namespace: 'checkout' });
    kube.put(consumer);
    kube.put(bystander);
    kube.reset();

    const o = observation({
      unit: 'checkout-secrets-prod',
      resourceRef: 'ExternalSecret/checkout/checkout-db',
      resourceType: 'ExternalSecret',
      diff: [
        { path: '/spec/target/name', kind: 'changed', desired: 'checkout-db-creds', actual: 'checkout-db-creds' },
        { path: '/status/refreshTime', kind: 'changed', desired: '2026-12-01T09:00:00Z', actual: '2026-12-01T09:59:00Z' },
      ],
    });
    const req = request(o, decision('RESTART_CONSUMERS_AFTER_SECRET_SYNC', { driftClass: 'SECRET_DELIVERY_DRIFT' }));
    const out = await parts.executors.execute(req);
    expect(out).toMatchObject({ action: 'RESTART_CONSUMERS_AFTER_SECRET_SYNC', executed: true, facts: { restarted: ['Deployment/checkout/checkout-web'] } });

    const patches = kube.calls('PATCH');
    expect(patches.map((p) => p.path)).toEqual(['/apis/apps/v1/namespaces/checkout/deployments/checkout-web']);
    expect(patches[0]!.contentType).toBe('application/strategic-merge-patch+json');
    expect(patches[0]!.body).toEqual({ spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-01T10:00:00Z' } } } } });
    expect(kube.get('Deployment', 'checkout', 'checkout-docs')?.spec.template.metadata?.annotations).toBeUndefined();

    // A retry of the step restarts nothing again.
    kube.reset();
    const again = await parts.executors.execute(req);
    expect(again.executed).toBe(false);
    expect(kube.calls('PATCH')).toEqual([]);
  });

  it('RUNTIME_REVERT server-side applies the desired object read from the unit’s Git source (GitHub)', async () => {
    kube.clear();
    const live = reshape(liveNginx(), { name: 'payments-api', namespace: 'payments' });
    live.spec.replicas = 7;
    kube.put(live);
    kube.reset();
    gh.reset();

    const o = observation({ unit: 'payments-api-prod', resourceRef: 'Deployment/payments/payments-api', resourceType: 'Deployment', diff: [{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 7 }] });
    const out = await parts.executors.execute(request(o, decision('RUNTIME_REVERT', { owner: 'payments' })));
    expect(out).toMatchObject({ action: 'RUNTIME_REVERT', executed: true });
    expect(out.detail).toContain('server-side applied');

    const patches = kube.calls('PATCH');
    expect(patches).toHaveLength(1);
    expect(patches[0]!.path).toBe('/apis/apps/v1/namespaces/payments/deployments/payments-api');
    expect(patches[0]!.contentType).toBe('application/apply-patch+yaml');
    expect(patches[0]!.query).toEqual({ fieldManager: 'driftplane', force: 'true' });
    expect(patches[0]!.body).toEqual(paymentsDesired());
    expect(kube.get('Deployment', 'payments', 'payments-api')?.spec.replicas).toBe(3);
    expect(gh.invalid).toEqual([]);
  });

  it('a cluster the kubeconfig has no context for is not claimed: NoExecutor, nothing sent', async () => {
    kube.reset();
    // checkout-api-prod runs on prod-euw1-b: the kubeconfig names a *cluster* prod-euw1-b but no context.
    const o = observation({ unit: 'checkout-api-prod', resourceRef: 'Deployment/checkout/checkout-api', resourceType: 'Deployment', diff: [{ path: '/spec/replicas', kind: 'changed', desired: 4, actual: 6 }] });
    const f = await failureOf(parts.executors.execute(request(o, decision('RUNTIME_REVERT'))));
    expect(f).toMatchObject({ type: 'NoExecutor', nonRetryable: true });
    expect(f.message).toContain('prod-euw1-b');
    expect(kube.calls()).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 10. The incident opener
// ---------------------------------------------------------------------------------------------

describe('the incident opener from reconcileWorkerParts', () => {
  it('sends the documented Events v2 trigger to PagerDuty with dedup_key = finding id', async () => {
    const before = pd.received.length;
    const findingId = 'checkout-web-prod:0123456789abcdef';
    const ref = await parts.incidents({
      target: { type: 'pagerduty' },
      findingId,
      title: 'Manual change to Deployment/checkout/checkout-web in prod',
      summary: 'checkout-web-prod: /spec/replicas changed 3 → 5 by maria.lopez@acme.example outside Git',
      severity: 'critical',
      source: 'checkout-web-prod',
      component: 'Deployment/checkout/checkout-web',
      group: 'checkout',
      customDetails: { driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'CRITICAL' },
    });
    expect(ref).toMatchObject({ adapter: 'pagerduty', incidentId: findingId });
    expect(pd.received.slice(before)).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: findingId,
        payload: {
          summary: 'checkout-web-prod: /spec/replicas changed 3 → 5 by maria.lopez@acme.example outside Git',
          source: 'checkout-web-prod',
          severity: 'critical',
          component: 'Deployment/checkout/checkout-web',
          group: 'checkout',
          class: 'drift',
          custom_details: { driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'CRITICAL' },
        },
      },
    ]);
    expect(checkEvent(pd.received.at(-1))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// 11. STATE_REFRESH
// ---------------------------------------------------------------------------------------------

describe('OpenTofu executors wired from the Config (tofuExecutors): the unit’s own role via STS (moto), the fake tofu', () => {
  let moto: MotoServer;
  let tofuParts: ReturnType<typeof reconcileWorkerParts>;
  let prepared: PreparedScenario;
  type Invocation = { argv: string[]; cwd: string; files: string[]; env: Record<string, string | undefined> };
  const invocations = (): Invocation[] => readFileSync(prepared.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Invocation);
  const activity = () => new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 }, { logger: new DefaultLogger('WARN') });

  beforeAll(async () => {
    moto = await startMoto();
    prepared = prepareScenario({ state: { fixture: TFSTATE }, recordEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SESSION_TOKEN', 'FAKE_TOFU_SCENARIO'] });
    // The runner passes the child only an allowlist of the worker's environment (and the unit's
    // credentials), so the scenario is chosen by a wrapper standing where DRIFTPLANE_TOFU_BIN points.
    const dir = tempDir('driftplane-tofu-bin-');
    const wrapper = path.join(dir, 'tofu');
    writeFileSync(wrapper, `#!/bin/sh\nFAKE_TOFU_SCENARIO='${prepared.env.FAKE_TOFU_SCENARIO}' exec '${fakeTofuPath()}' "$@"\n`, { mode: 0o755 });
    const token = path.join(dir, 'web-identity-token');
    writeFileSync(token, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZHJpZnRwbGFuZSJ9.c2ln');
    const tofuConfig = await testConfig('127.0.0.1:1', {
      DRIFTPLANE_REGISTRY: registryDir,
      DRIFTPLANE_TOFU_BIN: wrapper,
      DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE: token,
    });
    const aws = { region: 'eu-west-1', endpoint: moto.endpoint, baseCredentials: motoCredentials };
    tofuParts = reconcileWorkerParts(tofuConfig, { policy, detector: detector(), planes, tofu: tofuExecutors(tofuConfig, aws) });
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
    removeScenarios();
  });

  it('STATE_REFRESH runs tofu apply -refresh-only in the unit’s stack with the unit’s STS credentials and reports the serials', async () => {
    const o = observation({ unit: 'shared-ci-runners', resourceRef: 'tfcoremock_simple_resource.drift', resourceType: 'tfcoremock_simple_resource', diff: [{ path: '/string', kind: 'changed', desired: 'a', actual: 'b' }] });
    o.relationship = 'recorded!=actual';
    const out = await activity().run(tofuParts.executors.execute, request(o, decision('STATE_REFRESH', { driftClass: 'STATE_DRIFT', owner: 'iac-platform' })));
    expect(out).toMatchObject({ action: 'STATE_REFRESH', executed: true, detail: 'tofu apply -refresh-only: state serial 1 → 2' });

    const calls = invocations();
    const apply = calls.find((c) => c.argv[0] === 'apply');
    expect(apply?.argv.slice(0, 2)).toEqual(['apply', '-refresh-only']);
    expect(apply?.argv).not.toContain('-replace');
    // A working copy of the stack the registry names (file://…/ci-runners), not the repository itself.
    expect(calls.every((c) => c.cwd !== path.join(stackRepo, 'ci-runners'))).toBe(true);
    expect(apply?.files).toEqual(expect.arrayContaining(['main.tf', 'variables.tf']));
    // The unit's own temporary credentials (moto STS), never the worker's base keys.
    expect(apply?.env.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
    expect(apply?.env.AWS_ACCESS_KEY_ID).not.toBe(motoCredentials.accessKeyId);
    expect(apply?.env.AWS_SESSION_TOKEN).toBeTruthy();
    expect(serialOf(prepared.stateFile)).toBe(2);
  });

  it('DESTROY_RECREATE, where the unit allows it, runs tofu apply -replace=<address>', async () => {
    const before = invocations().length;
    const o = observation({ unit: 'prod-data-lake', resourceRef: 'tfcoremock_simple_resource.drift', resourceType: 'tfcoremock_simple_resource', diff: [{ path: '/string', kind: 'changed', desired: 'a', actual: 'b' }] });
    const out = await activity().run(tofuParts.executors.execute, request(o, decision('DESTROY_RECREATE', { owner: 'platform-data' })));
    expect(out).toMatchObject({ action: 'DESTROY_RECREATE', executed: true, detail: 'tofu apply -replace=tfcoremock_simple_resource.drift' });
    const apply = invocations().slice(before).find((c) => c.argv[0] === 'apply');
    expect(apply?.argv).toContain('-replace=tfcoremock_simple_resource.drift');
    expect(apply?.argv).not.toContain('-refresh-only');
  });
});
