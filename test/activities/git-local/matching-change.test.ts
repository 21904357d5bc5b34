import { classifyObservation, firedRules, testUnit } from '../../support/classify-observation';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { gitMatchingChangeSource } from '../../../activities/git-local/matching-change';
import type { DriftManagedUnit } from '../../../domain/registry/schemas';
import type { DriftObservation } from '../../../domain/finding';
import { defaultRegistryDir, loadRegistryOrThrow, type Registry } from '../../../registry';

const DETECTED = new Date('2026-07-03T12:00:00Z');
const ago = (minutes: number) => new Date(DETECTED.getTime() - minutes * 60_000).toISOString();
const dirs: string[] = [];
let registry: Registry;

beforeAll(async () => {
  registry = await loadRegistryOrThrow(defaultRegistryDir);
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Real git with a fixed identity and the given commit date. */
function git(repo: string, at: string | undefined, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test Person',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test Person',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      ...(at ? { GIT_AUTHOR_DATE: at, GIT_COMMITTER_DATE: at } : {}),
    },
  });
}

const deployment = (name: string, image: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'checkout' },
  spec: { replicas, template: { spec: { containers: [{ name, image }] } } },
});
const yamlOf = (...docs: object[]) => docs.map((d) => stringify(d)).join('---\n');

function write(repo: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  writeFileSync(path.join(repo, file), text);
}

function commit(repo: string, at: string, message: string, files: Record<string, string>): string {
  for (const [f, t] of Object.entries(files)) write(repo, f, t);
  git(repo, at, 'add', '-A');
  git(repo, at, 'commit', '-q', '-m', message);
  return git(repo, at, 'rev-parse', 'HEAD').trim();
}

/** Merges `branch` (one commit changing `files`, made at `at`) into main with a merge commit, as a PR merge does. */
function mergedPr(
  repo: string,
  at: string,
  branch: string,
  subject: string,
  files: Record<string, string>,
): string {
  git(repo, at, 'checkout', '-q', '-b', branch);
  commit(repo, at, `change on ${branch}`, files);
  git(repo, at, 'checkout', '-q', 'main');
  // Something else lands on main meanwhile, so the merge is a real one.
  commit(repo, at, 'unrelated', { 'README.md': `# ${branch}\n` });
  git(repo, at, 'merge', '-q', '--no-ff', branch, '-m', subject);
  return git(repo, at, 'rev-parse', 'HEAD').trim();
}

function makeRepo(): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'driftplane-matching-'));
  dirs.push(repo);
  git(repo, undefined, 'init', '-q', '-b', 'main');
  commit(repo, ago(3 * 24 * 60), 'initial', {
    'apps/checkout/deployment.yaml': yamlOf(
      deployment('web', 'checkout:1.0', 3),
      deployment('worker', 'worker:1.0', 1),
    ),
    'apps/catalog/deployment.yaml': yamlOf({
      ...deployment('web', 'catalog:1.0', 2),
      metadata: { name: 'web', namespace: 'catalog' },
    }),
    'README.md': '# desired state\n',
  });
  return repo;
}

const unitAt = (repo: string, dir = 'apps/checkout'): DriftManagedUnit => {
  const u = registry.units.get('checkout-web-prod')!;
  return { ...u, spec: { ...u.spec, source: { repo: `file://${repo}`, path: dir, revision: 'main' } } };
};

const obs = (
  resourceRef: string,
  diff: DriftObservation['diff'],
  over: Partial<DriftObservation> = {},
): DriftObservation => ({
  unit: 'checkout-web-prod',
  resourceRef,
  resourceType: resourceRef.includes('/') ? resourceRef.split('/')[0]! : resourceRef.split('.')[0]!,
  relationship: 'desired!=actual',
  changeType: 'modified',
  changedFields: diff.map((d) => d.path),
  diff,
  detectedAt: DETECTED.toISOString(),
  detector: 'argocd',
  auditCorrelation: {
    actor: { id: 'dave.kim@acme.example', type: 'human' },
    source: 'k8s-audit',
    eventTime: ago(20),
  },
  ...over,
});

/** The class the default decision table gives the observation, its context mapped as the live flow maps it. */
function classOf(o: DriftObservation): { driftClass: string; rules: string[] } {
  const d = classifyObservation(o, testUnit('checkout-web-prod', { type: 'argocd-app', owner: 'team-checkout', environment: 'prod' }), { now: DETECTED });
  return { driftClass: d.driftClass, rules: firedRules(d) };
}

const IMAGE = '/spec/template/spec/containers/0/image';
const REPLICAS = '/spec/replicas';

describe('git-history: the matching commit or PR, from real git log', () => {
  it('a direct commit that set what runs: apply, and the drift is STALE_DESIRED_STATE, not UNAUTHORIZED', async () => {
    const repo = makeRepo();
    const sha = commit(repo, ago(60), 'checkout: roll 1.1', {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.1', 3),
        deployment('worker', 'worker:1.0', 1),
      ),
    });
    // The GitOps tool still renders the earlier revision; the runtime already runs the new image.
    const o = obs('Deployment/checkout/web', [
      { path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:1.1' },
    ]);
    const source = gitMatchingChangeSource();
    expect(source.name).toBe('git-history');
    const [patch] = await source.contextFor({
      unit: unitAt(repo),
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(patch).toEqual({ matchingChange: { kind: 'apply', ref: `file://${repo}@${sha}` } });

    const before = classOf(o);
    expect(before.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    const after = classOf({ ...o, context: { ...patch } });
    expect(after).toMatchObject({
      driftClass: 'STALE_DESIRED_STATE',
      rules: expect.arrayContaining(['matching-change']),
    });
  });

  it('a merged driftplane PR (merge commit on main): pr with its number', async () => {
    const repo = makeRepo();
    mergedPr(
      repo,
      ago(30),
      'driftplane/checkout-web-prod/0123456789abcdef',
      'Merge driftplane PR #4: accept 5 replicas',
      {
        'apps/checkout/deployment.yaml': yamlOf(
          deployment('web', 'checkout:1.0', 5),
          deployment('worker', 'worker:1.0', 1),
        ),
      },
    );
    const o = obs('Deployment/checkout/web', [{ path: REPLICAS, kind: 'changed', desired: 3, actual: 5 }]);
    const [patch] = await gitMatchingChangeSource().contextFor({
      unit: unitAt(repo),
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(patch).toEqual({ matchingChange: { kind: 'pr', ref: `file://${repo}#pr-4` } });
    expect(classOf({ ...o, context: patch })).toMatchObject({ driftClass: 'STALE_DESIRED_STATE' });
  });

  it('a GitHub-style merge without a PR number in a branch merge: pr, named by the merge commit', async () => {
    const repo = makeRepo();
    const merge = mergedPr(repo, ago(30), 'feature/scale', "Merge branch 'feature/scale'", {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.0', 4),
        deployment('worker', 'worker:1.0', 1),
      ),
    });
    const [patch] = await gitMatchingChangeSource().contextFor({
      unit: unitAt(repo),
      registry,
      observations: [
        obs('Deployment/checkout/web', [{ path: REPLICAS, kind: 'changed', desired: 3, actual: 4 }]),
      ],
      now: DETECTED,
    });
    expect(patch).toEqual({ matchingChange: { kind: 'pr', ref: `file://${repo}@${merge}` } });
  });

  it('no match: the runtime value is not what any change says, another object of the file changed, another unit’s path changed', async () => {
    const repo = makeRepo();
    commit(repo, ago(60), 'checkout: roll 1.1', {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.1', 3),
        deployment('worker', 'worker:1.0', 1),
      ),
    });
    commit(repo, ago(50), 'worker: 2 replicas', {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.1', 3),
        deployment('worker', 'worker:1.0', 2),
      ),
    });
    commit(repo, ago(40), 'catalog: 9 replicas', {
      'apps/catalog/deployment.yaml': yamlOf({
        ...deployment('web', 'catalog:1.0', 9),
        metadata: { name: 'web', namespace: 'catalog' },
      }),
    });
    const observations = [
      // Someone set a debug tag by hand: no commit says so.
      obs('Deployment/checkout/web', [
        { path: IMAGE, kind: 'changed', desired: 'checkout:1.1', actual: 'checkout:debug' },
      ]),
      // web's replicas drifted to 9: only catalog's web (another namespace and path) was set to 9 in Git.
      obs('Deployment/checkout/web', [{ path: REPLICAS, kind: 'changed', desired: 3, actual: 9 }]),
      obs('Deployment/checkout/worker', [{ path: REPLICAS, kind: 'changed', desired: 1, actual: 2 }]),
    ];
    const patches = await gitMatchingChangeSource().contextFor({
      unit: unitAt(repo),
      registry,
      observations,
      now: DETECTED,
    });
    expect(patches[0]).toBeUndefined();
    expect(patches[1]).toBeUndefined();
    // The worker's change is in Git (commit at -50 min): it matches.
    expect(patches[2]?.matchingChange?.kind).toBe('apply');
    expect(classOf(observations[0]!)).toMatchObject({ driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT' });
  });

  it('the window: 24h by default, back to the last successful detection when that is older, never after detection', async () => {
    const repo = makeRepo();
    commit(repo, ago(2 * 24 * 60), 'checkout: roll 1.1 two days ago', {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.1', 3),
        deployment('worker', 'worker:1.0', 1),
      ),
    });
    const o = obs('Deployment/checkout/web', [
      { path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:1.1' },
    ]);
    const input = { unit: unitAt(repo), registry, observations: [o], now: DETECTED };
    expect(await gitMatchingChangeSource().contextFor(input)).toEqual([undefined]);
    expect(
      (await gitMatchingChangeSource({ window: '72h' }).contextFor(input))[0]?.matchingChange?.kind,
    ).toBe('apply');
    expect(
      (await gitMatchingChangeSource({ lastSuccessAt: () => ago(3 * 24 * 60 - 10) }).contextFor(input))[0]
        ?.matchingChange?.kind,
    ).toBe('apply');
    // A recent last success does not shrink the window below 24h.
    expect(await gitMatchingChangeSource({ lastSuccessAt: () => ago(5) }).contextFor(input)).toEqual([
      undefined,
    ]);
    // A change made after detection does not explain it.
    const repo2 = makeRepo();
    commit(repo2, new Date(DETECTED.getTime() + 60_000).toISOString(), 'later', {
      'apps/checkout/deployment.yaml': yamlOf(
        deployment('web', 'checkout:1.1', 3),
        deployment('worker', 'worker:1.0', 1),
      ),
    });
    expect(await gitMatchingChangeSource().contextFor({ ...input, unit: unitAt(repo2) })).toEqual([
      undefined,
    ]);
    await expect(gitMatchingChangeSource({ window: 'soon' }).contextFor(input)).rejects.toThrow(
      /window "soon" is not a duration/,
    );
  });

  it('desired changed in Git but not applied (desired!=recorded): matches the desired value → matching-change-not-applied', async () => {
    const repo = makeRepo();
    const sha = commit(repo, ago(15), 'network: open 443', {
      'stacks/network/main.tf': 'resource "aws_security_group" "web" {\n  ingress { from_port = 443 }\n}\n',
    });
    const o = obs(
      'aws_security_group.web',
      [{ path: '/ingress/0/from_port', kind: 'changed', desired: 443, actual: 80 }],
      { relationship: 'desired!=recorded', resourceType: 'aws_security_group', auditCorrelation: undefined },
    );
    const [patch] = await gitMatchingChangeSource().contextFor({
      unit: unitAt(repo, 'stacks/network'),
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(patch).toEqual({ matchingChange: { kind: 'apply', ref: `file://${repo}@${sha}` } });
    expect(classOf({ ...o, context: patch })).toMatchObject({
      driftClass: 'STATE_DRIFT',
      rules: expect.arrayContaining(['matching-change-not-applied']),
    });
    // Another resource of the stack: the block is not in the changed file.
    const [none] = await gitMatchingChangeSource().contextFor({
      unit: unitAt(repo, 'stacks/network'),
      registry,
      observations: [{ ...o, resourceRef: 'aws_security_group.db' }],
      now: DETECTED,
    });
    expect(none).toBeUndefined();
  });

  it('the planes folder of the local detector: <unit>/desired in that repository', async () => {
    const planes = makeRepo();
    const sha = commit(planes, ago(10), 'accept', {
      'checkout-web-prod/desired/deployment-web.yaml': yamlOf(deployment('web', 'checkout:2.0', 3)),
    });
    const o = obs('Deployment/checkout/web', [
      { path: IMAGE, kind: 'changed', desired: 'checkout:1.0', actual: 'checkout:2.0' },
    ]);
    const u = registry.units.get('checkout-web-prod')!;
    const [patch] = await gitMatchingChangeSource({ planesDir: planes }).contextFor({
      unit: u,
      registry,
      observations: [o],
      now: DETECTED,
    });
    expect(patch).toEqual({ matchingChange: { kind: 'apply', ref: `file://${planes}@${sha}` } });
    // Without the planes folder, the registry's source is GitHub: this source knows nothing.
    expect(
      await gitMatchingChangeSource().contextFor({ unit: u, registry, observations: [o], now: DETECTED }),
    ).toEqual([undefined]);
  });

  it('a source that is not a repository, or a missing revision, throws with what failed', async () => {
    const notRepo = mkdtempSync(path.join(os.tmpdir(), 'driftplane-notrepo-'));
    dirs.push(notRepo);
    const o = obs('Deployment/checkout/web', [{ path: IMAGE, kind: 'changed', desired: 'a', actual: 'b' }]);
    await expect(
      gitMatchingChangeSource().contextFor({
        unit: unitAt(notRepo),
        registry,
        observations: [o],
        now: DETECTED,
      }),
    ).rejects.toThrow(/is not a Git repository/);
    const repo = makeRepo();
    const u = unitAt(repo);
    await expect(
      gitMatchingChangeSource().contextFor({
        unit: { ...u, spec: { ...u.spec, source: { ...u.spec.source, revision: 'release' } } },
        registry,
        observations: [o],
        now: DETECTED,
      }),
    ).rejects.toThrow(/git log release -- apps\/checkout in .* failed/);
  });
});
