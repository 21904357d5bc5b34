import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/shared-fixtures';
import { baseRegistry, writeRegistry } from './support';

const cli = path.join(repoRoot, 'bin', 'driftplane.cjs');

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const brokenFiles = {
  'base.yaml': baseRegistry,
  'units/owner.yaml': `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: api-prod
spec:
  type: argocd-app
  owner: nobody
  environment: prod
  riskTier: high
  source: { repo: github.com/example/gitops, path: apps/api }
`,
  'units/typo.yaml': `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: worker
spec:
  type: argocd-app
  owner: web
  environment: staging
  riskTier: urgent
  source: { repo: github.com/example/gitops, path: apps/worker }
`,
  'rules/broad.yaml': `apiVersion: driftplane.io/v1alpha1
kind: DriftOwnershipRule
metadata:
  name: too-broad
spec:
  resource: { group: apps, kind: Deployment }
  runtimeOwned:
    - /status
    - /spec/template/spec/containers
`,
  'syntax.yaml': `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: t
spec:
  members: [{ email: a@example.com }
`,
};

describe('driftplane registry validate', () => {
  it('prints every problem of a folder with several broken files as file:line:col kind/name field, and exits 1', () => {
    const dir = writeRegistry(brokenFiles);
    const r = run(['registry', 'validate', dir]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const expected = [
      `${dir}/rules/broad.yaml:9:7 DriftOwnershipRule/too-broad /spec/runtimeOwned/1: error [ignore-sensitive-path]`,
      `${dir}/units/owner.yaml:7:10 DriftManagedUnit/api-prod /spec/owner: error [unknown-owner]`,
      `${dir}/units/owner.yaml:5:1 DriftManagedUnit/api-prod /spec/approvers: error [prod-without-approvers]`,
      `${dir}/units/typo.yaml:9:13 DriftManagedUnit/worker /spec/riskTier: error [invalid-value] expected one of: critical, high, standard, low, got "urgent"`,
    ];
    for (const e of expected)
      expect(
        lines.some((l) => l.startsWith(e)),
        `missing: ${e}\n${r.stdout}`,
      ).toBe(true);
    expect(
      lines.some((l) => /syntax\.yaml:\d+:\d+: error \[yaml-syntax\]/.test(l)),
      r.stdout,
    ).toBe(true);
    expect(r.stdout).toMatch(/invalid: \d+ error\(s\)/);
  });

  it('reports a YAML syntax error with its file and line', () => {
    const dir = writeRegistry({
      'bad.yaml': 'apiVersion: driftplane.io/v1alpha1\nkind: Team\nmetadata:\n  name: t\n\tspec: {}\n',
    });
    const r = run(['registry', 'validate', dir, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      errors: { rule: string; file: string; line: number }[];
    };
    expect(out.ok).toBe(false);
    expect(out.errors).toContainEqual(
      expect.objectContaining({ rule: 'yaml-syntax', file: `${dir}/bad.yaml`, line: 5 }),
    );
  });

  it('exits 0 on acme (the default folder), and honours $DRIFTPLANE_REGISTRY', () => {
    const r = run(['registry', 'validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/registry\/examples\/acme: valid \(45 units/);
    const other = run(['registry', 'validate'], { DRIFTPLANE_REGISTRY: writeRegistry(brokenFiles) });
    expect(other.code).toBe(1);
  });

  it('prints JSON with the version and counts', () => {
    const r = run(['registry', 'validate', 'registry/examples/acme', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      errors: [],
      counts: { units: 45, teams: 11, changeFreezes: 2, compliancePolicies: 2 },
      version: expect.stringMatching(/^sha256:/),
    });
  });
});

describe('driftplane registry lint', () => {
  it('is clean on acme at the test clock', () => {
    expect(run(['registry', 'lint', '--now', '2026-11-24T12:00:00Z']).code).toBe(0);
  });

  it('fails on expired exceptions, which validate only warns about', () => {
    expect(run(['registry', 'validate', '--now', '2027-03-01']).code).toBe(0);
    const r = run(['registry', 'lint', '--now', '2027-03-01']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /exceptions\/checkout\.yaml:\d+:\d+ DriftException\/checkout-web-prod-payment-flow-flag \/spec\/expiresAt: error \[exception-expired\]/,
    );
  });
});

describe('driftplane registry show', () => {
  it('prints the resolved view of a unit with the policies that apply', () => {
    const r = run(['registry', 'show', 'unit/catalog-web-staging', '--json']);
    expect(r.code).toBe(0);
    const view = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({
      kind: 'DriftManagedUnit',
      name: 'catalog-web-staging',
      approvers: [{ email: 'li.wei@acme.example' }],
      autoHeal: { enabled: true, policies: [{ name: 'stateless-app-safe-fields', mode: 'allow' }] },
      source: expect.stringMatching(/^registry\/examples\/acme\/units\/apps-catalog\.yaml:\d+$/),
    });
  });

  it('exits 1 for an unknown document', () => {
    const r = run(['registry', 'show', 'unit/nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DriftManagedUnit "nope" is not in registry');
  });
});
