import { classifyObservation, testUnit } from '../../support/classify-observation';
import type { Octokit } from '@octokit/rest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { joinContext } from '../../../activities/context/source';
import { githubMatchingChangeSource, githubSourceOf } from '../../../activities/github/matching-change';
import { createGitHubClient } from '../../../activities/github/pr-provider';
import type { DriftObservation } from '../../../domain/finding';
import type { DriftManagedUnit } from '../../../domain/registry/schemas';
import { defaultRegistryDir, loadRegistryOrThrow, type Registry } from '../../../registry';
import { startGitHubOpenApiServer, type GitHubOpenApiServer } from '../../support/github-openapi-server';

// GitHub at the HTTP boundary: the fake checks every request against GitHub's OpenAPI description.
const TOKEN = 'ghp_MatchingChangeTokenNeverLeak0123456789';
// The fake's first commit is made now; detection is three days later, so it is outside the default window.
const DETECTED = new Date(Date.now() + 3 * 24 * 3600_000);
const ago = (minutes: number) =>
  new Date(DETECTED.getTime() - minutes * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const IMAGE = '/spec/template/spec/containers/0/image';
const REPLICAS = '/spec/replicas';

let gh: GitHubOpenApiServer;
let octokit: Octokit;
let registry: Registry;
let n = 0;
let repo = '';

beforeAll(async () => {
  gh = await startGitHubOpenApiServer();
  octokit = await createGitHubClient({ token: TOKEN, apiUrl: gh.url, timeoutMs: 5000 });
  registry = await loadRegistryOrThrow(defaultRegistryDir);
}, 30_000);
afterAll(async () => gh.close());

const deployment = (name: string, image: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'checkout' },
  spec: { replicas, template: { spec: { containers: [{ name, image }] } } },
});
const manifests = (web: { image: string; replicas: number }, workerReplicas = 1) =>
  [deployment('web', web.image, web.replicas), deployment('worker', 'worker:1.0', workerReplicas)]
    .map((d) => stringify(d))
    .join('---\n');

beforeEach(() => {
  repo = `acme/gitops-${++n}`;
  gh.addRepo(repo, {
    'README.md': '# gitops\n',
    'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.0', replicas: 3 }),
    'apps/catalog/deployment.yaml': 'kind: Deployment\n',
  });
  gh.reset();
});

const unitOn = (full: string, path = 'apps/checkout'): DriftManagedUnit => {
  const u = registry.units.get('checkout-web-prod')!;
  return { ...u, spec: { ...u.spec, source: { repo: `github.com/${full}`, path, revision: 'main' } } };
};

const obs = (diff: DriftObservation['diff'], resourceRef = 'Deployment/checkout/web'): DriftObservation => ({
  unit: 'checkout-web-prod',
  resourceRef,
  resourceType: 'Deployment',
  relationship: 'desired!=actual',
  changeType: 'modified',
  changedFields: diff.map((d) => d.path),
  diff,
  detectedAt: DETECTED.toISOString(),
  detector: 'argocd',
  auditCorrelation: {
    actor: { id: 'dave.kim@acme.example', type: 'human' },
    source: 'k8s-audit',
    eventTime: ago(10),
  },
});

function classOf(o: DriftObservation): string {
  return classifyObservation(o, testUnit('checkout-web-prod', { type: 'argocd-app', owner: 'team-checkout', environment: 'prod' }), { now: DETECTED }).driftClass;
}

const source = () => githubMatchingChangeSource({ octokit });
const contextFor = (o: DriftObservation[], unit = unitOn(repo)) =>
  source().contextFor({ unit, registry, observations: o, now: DETECTED });

describe('github-history: the matching commit or PR through the GitHub API', () => {
  it('a direct commit on main that set what runs: apply, its commit URL; STALE_DESIRED_STATE instead of UNAUTHORIZED', async () => {
    const sha = gh.commitFiles(
      repo,
      { 'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.1', replicas: 3 }) },
      'checkout: roll 1.1',
      { at: ago(60) },
    );
    const o = obs([{ path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:1.1' }]);
    const [patch] = await contextFor([o]);
    expect(patch).toEqual({
      matchingChange: { kind: 'apply', ref: `https://github.com/${repo}/commit/${sha}` },
    });
    expect(classOf(o)).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(classOf({ ...o, context: patch })).toBe('STALE_DESIRED_STATE');

    // Every request held to GitHub's description; the listing asked for the unit's path, branch and window.
    expect(gh.invalid).toEqual([]);
    const list = gh.requests.find((r) => r.operationId === 'repos/list-commits')!;
    expect(list.query).toMatchObject({ sha: 'main', path: 'apps/checkout', until: DETECTED.toISOString() });
    expect(Date.parse(list.query.since!)).toBe(DETECTED.getTime() - 24 * 3600_000);
    expect(new Set(gh.requests.map((r) => r.operationId))).toEqual(
      new Set([
        'repos/list-commits',
        'repos/get-commit',
        'repos/get-content',
        'repos/list-pull-requests-associated-with-commit',
      ]),
    );
    expect(gh.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it('a merged pull request: pr, its html_url', async () => {
    gh.commitFiles(
      repo,
      { 'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.0', replicas: 5 }) },
      'scale to 5',
      { branch: 'driftplane/checkout-web-prod/0123456789abcdef', at: ago(45) },
    );
    const pr = gh.openPull(
      repo,
      'driftplane/checkout-web-prod/0123456789abcdef',
      'Reconcile checkout-web-prod',
    );
    gh.mergePull(repo, pr.number, 'maria-lopez', ago(30));
    const o = obs([{ path: REPLICAS, kind: 'changed', desired: 3, actual: 5 }]);
    const [patch] = await contextFor([o]);
    expect(patch).toEqual({
      matchingChange: { kind: 'pr', ref: `https://github.com/${repo}/pull/${pr.number}` },
    });
    expect(classOf({ ...o, context: patch })).toBe('STALE_DESIRED_STATE');
    expect(gh.invalid).toEqual([]);
  });

  it('no match: a value no change set, another object of the file, a change outside the window', async () => {
    gh.commitFiles(
      repo,
      { 'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.0', replicas: 3 }, 4) },
      'worker: 4',
      { at: ago(20) },
    );
    gh.commitFiles(
      repo,
      { 'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.2', replicas: 3 }, 4) },
      'checkout 1.2, two days ago',
      { at: ago(2 * 24 * 60) },
    );
    const observations = [
      obs([{ path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:debug' }]),
      obs([{ path: REPLICAS, kind: 'changed', desired: 3, actual: 4 }]),
      obs([{ path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:1.2' }]),
      obs([{ path: REPLICAS, kind: 'changed', desired: 1, actual: 4 }], 'Deployment/checkout/worker'),
    ];
    const patches = await contextFor(observations);
    expect(patches.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(patches[3]?.matchingChange?.kind).toBe('apply');
    expect(classOf(observations[0]!)).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    // A 72h window reaches the change of two days ago.
    const [wide] = await githubMatchingChangeSource({ octokit, window: '72h' }).contextFor({
      unit: unitOn(repo),
      registry,
      observations: [observations[2]!],
      now: DETECTED,
    });
    expect(wide?.matchingChange?.kind).toBe('apply');
    expect(gh.invalid).toEqual([]);
  });

  it('knows nothing of units whose source is not on GitHub, and asks nothing', async () => {
    const u = unitOn(repo);
    const local = { ...u, spec: { ...u.spec, source: { ...u.spec.source, repo: 'file:///srv/gitops' } } };
    expect(githubSourceOf(local)).toBeUndefined();
    expect(
      githubSourceOf(
        {
          ...u,
          spec: {
            ...u.spec,
            source: { ...u.spec.source, repo: 'https://ghe.acme.example/platform/gitops.git' },
          },
        },
        ['ghe.acme.example'],
      ),
    ).toEqual({ owner: 'platform', repo: 'gitops', dir: 'apps/checkout', revision: 'main' });
    expect(
      await contextFor([obs([{ path: IMAGE, kind: 'changed', desired: 'a', actual: 'b' }])], local),
    ).toEqual([undefined]);
    expect(gh.requests).toEqual([]);
  });

  it('reads the token when asked, and a GitHub failure is unjoined context naming what failed, never the token', async () => {
    let reads = 0;
    const viaToken = githubMatchingChangeSource({ apiUrl: gh.url, token: () => (reads++, TOKEN) });
    gh.failNext('repos/list-commits', {
      status: 403,
      body: {
        message: 'Resource not accessible by integration',
        documentation_url: 'https://docs.github.com/rest',
        status: '403',
      },
    });
    const o = obs([{ path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:1.1' }]);
    const [joined] = await joinContext([viaToken], {
      unit: unitOn(repo),
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(reads).toBe(1);
    expect(joined!.context?.unjoined).toEqual([
      expect.stringMatching(
        /^github-history: .*repos\.listCommits.*acme\/gitops-\d+.*Resource not accessible by integration/,
      ),
    ]);
    expect(JSON.stringify(joined)).not.toContain(TOKEN);
    gh.commitFiles(
      repo,
      { 'apps/checkout/deployment.yaml': manifests({ image: 'checkout:1.1', replicas: 3 }) },
      'roll',
      { at: ago(5) },
    );
    const [ok] = await viaToken.contextFor({
      unit: unitOn(repo),
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(reads).toBe(2);
    expect(ok?.matchingChange?.kind).toBe('apply');
    await expect(
      githubMatchingChangeSource({ token: '' }).contextFor({
        unit: unitOn(repo),
        registry,
        observations: [o],
        now: DETECTED,
      }),
    ).rejects.toThrow(/needs a token: set GITHUB_TOKEN/);
  });
});
