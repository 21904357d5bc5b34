import { describe, expect, it } from 'vitest';
import { dependencyContext, isVersionRange, mutableImage, mutableRefs, unpinnedModuleSource } from '../../../domain/context/dependency';
import { withContext } from '../../../activities/context/source';
import { actor, classifyObservation, firedRules, observation, unitOf } from './support';

const DIGEST = `sha256:${'a1'.repeat(32)}`;
const web = unitOf('shop-web', { type: 'argocd-app', environment: 'staging', domain: 'app' });

describe('mutableImage', () => {
  it('a tag without digest, :latest and no tag at all are mutable; a digest pins', () => {
    expect(mutableImage('ghcr.io/acme/shop:1.4.2')).toMatch(/tag :1\.4\.2 without digest/);
    expect(mutableImage('nginx:latest')).toMatch(/:latest/);
    expect(mutableImage('nginx')).toMatch(/neither tag nor digest/);
    expect(mutableImage('registry.local:5000/team/app')).toMatch(/neither tag nor digest/);
    expect(mutableImage(`nginx@${DIGEST}`)).toBeUndefined();
    expect(mutableImage(`ghcr.io/acme/shop:1.4.2@${DIGEST}`)).toBeUndefined();
  });
});

describe('unpinnedModuleSource', () => {
  it('Git sources need ?ref= with a tag or commit, not a branch', () => {
    expect(unpinnedModuleSource('git::https://github.com/acme/modules.git//vpc')).toMatch(/no \?ref=/);
    expect(unpinnedModuleSource('github.com/acme/modules//vpc?ref=main')).toMatch(/ref=main is a branch/);
    expect(unpinnedModuleSource('git::ssh://git@github.com/acme/modules.git//vpc?ref=master')).toMatch(/branch/);
    expect(unpinnedModuleSource('git::https://github.com/acme/modules.git//vpc?ref=v1.2.0')).toBeUndefined();
    expect(unpinnedModuleSource(`github.com/acme/modules//vpc?ref=${'0123456789abcdef0123'.repeat(2)}`)).toBeUndefined();
  });

  it('registry modules need an exact version; local modules are not dependencies', () => {
    expect(unpinnedModuleSource('terraform-aws-modules/vpc/aws', '~> 5.0')).toMatch(/constraint/);
    expect(unpinnedModuleSource('terraform-aws-modules/vpc/aws', '>= 5.1.0, < 6.0.0')).toMatch(/constraint/);
    expect(unpinnedModuleSource('app.terraform.io/acme/vpc/aws')).toMatch(/without a version/);
    expect(unpinnedModuleSource('terraform-aws-modules/vpc/aws', '5.1.2')).toBeUndefined();
    expect(unpinnedModuleSource('./modules/vpc')).toBeUndefined();
    expect(unpinnedModuleSource('../shared/vpc')).toBeUndefined();
  });
});

describe('isVersionRange (Helm charts)', () => {
  it('^, ~, x, *, comparators and partial versions are ranges; an exact version is not', () => {
    for (const r of ['^1.2', '~1.2.0', '1.x', '1.2.X', '*', '>=1.0.0 <2.0.0', '1.2', '']) expect(isVersionRange(r), r).toBe(true);
    for (const v of ['1.2.3', 'v1.2.3', '1.2.3-rc.1']) expect(isVersionRange(v), v).toBe(false);
  });
});

describe('mutableRefs / dependencyContext', () => {
  it('finds an image inside a changed container object, desired before actual, without repeats', () => {
    const diff = [
      {
        path: '/spec/template/spec/containers/0',
        kind: 'changed' as const,
        desired: { name: 'web', image: 'ghcr.io/acme/shop:1.4' },
        actual: { name: 'web', image: 'ghcr.io/acme/shop:1.4', env: [{ name: 'A', value: 'b' }] },
      },
      { path: '/spec/template/spec/initContainers/0/image', kind: 'changed' as const, desired: `busybox@${DIGEST}`, actual: 'busybox' },
    ];
    expect(mutableRefs(diff).map((r) => r.ref)).toEqual(['ghcr.io/acme/shop:1.4', 'busybox']);
  });

  it('Flux HelmRelease and helm_release chart versions that are ranges; Helm values image.repository/tag', () => {
    expect(dependencyContext({ diff: [{ path: '/spec/chart/spec/version', kind: 'changed', desired: '^1.2', actual: '1.2.7' }] })).toEqual({
      dependency: { ref: '^1.2', why: expect.stringContaining('Helm chart version "^1.2" is a range') },
    });
    expect(dependencyContext({ diff: [{ path: '/spec/chart/spec/version', kind: 'changed', desired: '1.2.6', actual: '1.2.7' }] })).toBeUndefined();
    expect(dependencyContext({ diff: [{ path: '', kind: 'changed', desired: { chart: 'ingress-nginx', version: '4.x', repository: 'https://kubernetes.github.io/ingress-nginx' } }] })?.dependency?.ref).toBe('ingress-nginx@4.x');
    expect(dependencyContext({ diff: [{ path: '/values', kind: 'changed', actual: { image: { repository: 'ghcr.io/acme/api', tag: '2.0' } } }] })?.dependency?.ref).toBe('ghcr.io/acme/api:2.0');
    expect(dependencyContext({ diff: [{ path: '/values', kind: 'changed', actual: { image: { repository: 'ghcr.io/acme/api', tag: '2.0', digest: DIGEST } } }] })).toBeUndefined();
  });

  it('module calls of a plan configuration: source without ref, or a version constraint', () => {
    const calls = { vpc: { source: 'terraform-aws-modules/vpc/aws', version_constraint: '~> 5.0' }, local: { source: './modules/x' } };
    expect(mutableRefs([{ path: '/configuration/root_module/module_calls', kind: 'changed', desired: calls }])).toEqual([
      { ref: 'terraform-aws-modules/vpc/aws', why: expect.stringContaining('"~> 5.0" is a constraint') },
    ]);
    expect(mutableRefs([{ path: '/module_calls/vpc/version_constraint', kind: 'changed', desired: '5.1.2', actual: '>= 5.1' }])).toEqual([{ ref: '>= 5.1', why: expect.stringContaining('constraint') }]);
  });

  it('a module source keeps no credential in its ref', () => {
    const [ref] = mutableRefs([{ path: '/module_calls/vpc/source', kind: 'changed', desired: 'git::https://ci-bot:ghp_secretvalue123@github.com/acme/modules.git//vpc' }]);
    expect(ref?.ref).toBe('git::https://github.com/acme/modules.git//vpc');
    expect(JSON.stringify(ref)).not.toContain('ghp_secretvalue123');
  });

  it('values that only look similar are not dependencies', () => {
    expect(dependencyContext({ diff: [{ path: '/source', kind: 'changed', desired: 'artifacts/app/latest', actual: 'artifacts/app/v2' }] })).toBeUndefined();
    expect(dependencyContext({ diff: [{ path: '/spec/replicas', kind: 'changed', desired: 2, actual: 3 }] })).toBeUndefined();
    expect(dependencyContext({ diff: [{ path: '/metadata/labels/version', kind: 'changed', desired: '^1', actual: '2' }] })).toBeUndefined();
  });

  it('an image tag without digest that moved, with no actor or a controller: DEPENDENCY_DRIFT (rule dependency-drift)', () => {
    const o = observation({
      unit: 'shop-web',
      resourceRef: 'Deployment/shop/web',
      resourceType: 'Deployment',
      diff: [{ path: '/spec/template/spec/containers/0/image', kind: 'changed', desired: 'ghcr.io/acme/shop:1.4', actual: 'ghcr.io/acme/shop:1.5' }],
    });
    const ctx = dependencyContext(o);
    expect(ctx?.dependency?.ref).toBe('ghcr.io/acme/shop:1.4');
    const d = classifyObservation(withContext(o, ctx), web);
    expect(d.driftClass).toBe('DEPENDENCY_DRIFT');
    expect(firedRules(d)).toContain('dependency-drift');
    expect(classifyObservation(withContext({ ...o, auditCorrelation: actor('controller', 'system:serviceaccount:kube-system:image-updater') }, ctx), web).driftClass).toBe('DEPENDENCY_DRIFT');
    // A person who swapped the image is not a dependency that moved on its own.
    const human = classifyObservation(withContext({ ...o, auditCorrelation: actor('human') }, ctx), web);
    expect(human.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
  });
});
