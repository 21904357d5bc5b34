import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activeExceptionsFor,
  allBreakGlassRoles,
  autoHealPathDecision,
  breakGlassRolesFor,
  defaultRegistryDir,
  detectionIntervalMs,
  formatIssue,
  loadRegistry,
  loadRegistryOrThrow,
  matchRoute,
  policiesFor,
  RegistryError,
  resolveApprovers,
  type Registry,
} from '../../../registry';
import { repoRoot } from '../../support/shared-fixtures';
import { testNow, writeRegistry } from './support';

let acme: Registry;
beforeAll(async () => {
  const result = await loadRegistry(defaultRegistryDir, { now: testNow });
  if (!result.ok) throw new Error(result.errors.map((e) => formatIssue(e)).join('\n'));
  acme = result.registry;
});

describe('registry/examples/acme', () => {
  it('is the default registry folder', () => {
    expect(defaultRegistryDir).toBe(path.join(repoRoot, 'registry', 'examples', 'acme'));
  });

  it('validates clean, without warnings, at the test clock', async () => {
    const result = await loadRegistry(defaultRegistryDir, { now: testNow });
    expect(result.ok ? [] : result.errors.map((e) => formatIssue(e))).toEqual([]);
    expect(result.warnings.map((e) => formatIssue(e))).toEqual([]);
  });

  it('validates without errors at the real clock (expired exceptions only warn)', async () => {
    const result = await loadRegistry(defaultRegistryDir);
    expect(result.ok ? [] : result.errors.map((e) => formatIssue(e))).toEqual([]);
  });

  it('is the practical exercise at size: ~40 units across tiers, environments and unit types, with teams', () => {
    const units = [...acme.units.values()];
    expect(units.length).toBeGreaterThanOrEqual(40);
    expect(new Set(units.map((u) => u.spec.riskTier))).toEqual(
      new Set(['critical', 'high', 'standard', 'low']),
    );
    expect(new Set(units.map((u) => u.spec.environment))).toEqual(
      new Set(['prod', 'staging', 'shared', 'dev', 'sandbox']),
    );
    for (const t of [
      'opentofu-stack',
      'terragrunt-stack',
      'argocd-app',
      'external-secret',
      'database',
      'aws-account',
    ]) {
      expect(units.some((u) => u.spec.type === t)).toBe(true);
    }
    expect(new Set(units.map((u) => u.spec.cluster).filter(Boolean)).size).toBeGreaterThanOrEqual(10);
    expect(acme.teams.size).toBeGreaterThanOrEqual(8);
    expect(acme.budgets.size).toBeGreaterThanOrEqual(5);
    expect(acme.exceptions.size).toBeGreaterThanOrEqual(3);
    expect(acme.version).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('has checkout-web-prod as the demo needs it', () => {
    const u = acme.units.get('checkout-web-prod');
    expect(u?.spec).toMatchObject({
      type: 'argocd-app',
      environment: 'prod',
      owner: 'checkout',
      riskTier: 'high',
      domain: 'app',
      approvers: ['checkout-approvers'],
      policies: { autoHeal: false, requireIncidentForManualChange: true },
    });
    const approvers = resolveApprovers(acme, 'checkout-web-prod');
    expect(approvers).toContainEqual(
      expect.objectContaining({
        team: 'checkout',
        email: 'maria.lopez@acme.example',
        slackUserId: 'U04MARIA',
        githubLogin: 'mlopez',
      }),
    );
    expect(approvers.map((a) => a.email)).not.toContain('dave.kim@acme.example');
    expect(acme.teams.get('checkout')?.spec.members).toContainEqual(
      expect.objectContaining({
        email: 'dave.kim@acme.example',
        slackUserId: 'U04DAVE',
        githubLogin: 'dkim',
      }),
    );
    expect(breakGlassRolesFor(acme, 'checkout-web-prod')).toContain(
      'arn:aws:iam::111122223333:role/acme-break-glass',
    );
    expect(allBreakGlassRoles(acme)).toEqual(['arn:aws:iam::111122223333:role/acme-break-glass']);
    expect(policiesFor(acme, 'checkout-web-prod').autoHealPolicies).toEqual([]);
  });

  it('has catalog-web-staging auto-healing under the stateless policy', () => {
    const u = acme.units.get('catalog-web-staging');
    expect(u?.spec).toMatchObject({
      type: 'argocd-app',
      environment: 'staging',
      owner: 'catalog',
      riskTier: 'low',
      domain: 'app',
      approvers: ['catalog-approvers'],
      policies: { autoHeal: true },
    });
    expect(resolveApprovers(acme, 'catalog-web-staging').map((a) => a.email)).toEqual([
      'li.wei@acme.example',
    ]);
    const { autoHealPolicies, ownershipRules } = policiesFor(acme, 'catalog-web-staging');
    expect(autoHealPolicies.map((p) => p.metadata.name)).toEqual(['stateless-app-safe-fields']);
    expect(ownershipRules.map((r) => r.metadata.name)).toContain('deployment-runtime-owned-fields');
    expect(autoHealPathDecision(autoHealPolicies, '/metadata/labels/team').allowed).toBe(true);
    expect(
      autoHealPathDecision(autoHealPolicies, '/spec/template/spec/containers/0/resources/limits/cpu').allowed,
    ).toBe(true);
    expect(autoHealPathDecision(autoHealPolicies, '/spec/template/spec/containers/0/image')).toEqual({
      allowed: false,
      reason: 'deniedPaths of stateless-app-safe-fields: /spec/template/spec/containers/*/image',
    });
    expect(autoHealPathDecision(autoHealPolicies, '/metadata/labels/x', 'EMERGENCY_DRIFT').allowed).toBe(
      false,
    );
  });

  it.each(['prod-iam-baseline', 'payments-prod-network', 'checkout-db-prod', 'prod-secrets-manager'])(
    'never auto-heals %s (IAM/network/database/secrets)',
    (name) => {
      const { autoHealPolicies } = policiesFor(acme, name);
      expect(autoHealPolicies.map((p) => p.spec.mode)).toEqual(['deny']);
      expect(autoHealPathDecision(autoHealPolicies, '/metadata/labels/x').allowed).toBe(false);
    },
  );

  it('gives every IaC unit its own role (no global drift role)', () => {
    const roles = [...acme.units.values()]
      .map((u) => u.spec.credentials?.oidcRole ?? u.spec.credentials?.roleArn)
      .filter(Boolean);
    expect(new Set(roles).size).toBe(roles.length);
  });

  it.each([
    [
      {
        driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
        domain: 'iam',
        environment: 'prod',
        severity: 'CRITICAL',
        owner: 'platform-identity',
      },
      'security-critical',
      0,
      true,
      ['#security-oncall', '#platform-identity-oncall'],
    ],
    [
      {
        driftClass: 'CONTROLLER_OWNED_DRIFT',
        domain: 'app',
        environment: 'prod',
        severity: 'info',
        owner: 'checkout',
      },
      'noise-and-controllers',
      0,
      false,
      [],
    ],
    [
      {
        driftClass: 'PROVIDER_READ_NOISE',
        environment: 'staging',
        severity: 'low',
        owner: 'platform-network',
      },
      'noise-and-controllers',
      1,
      false,
      ['#iac-platform', 'acme/infra-live'],
    ],
    [
      {
        driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
        domain: 'app',
        environment: 'prod',
        severity: 'high',
        owner: 'checkout',
      },
      'owners-default',
      3,
      false,
      ['#team-checkout'],
    ],
    [
      {
        driftClass: 'STALE_DESIRED_STATE',
        domain: 'app',
        environment: 'staging',
        severity: 'low',
        owner: 'catalog',
      },
      'owners-default',
      4,
      false,
      ['#team-catalog'],
    ],
  ])('routes %j to %s route %i', (attrs, policy, index, incident, targets) => {
    const m = matchRoute(acme, attrs);
    expect(m).toMatchObject({ policy, index, createIncident: incident });
    const names = (m?.notify ?? []).map((t) =>
      t.type === 'slack' ? t.channel : t.type === 'github-issue' ? t.repo : t.type,
    );
    expect(names).toEqual(targets);
  });

  it('finds active exceptions by unit, resource and path, and forgets them once expired', () => {
    const q = {
      unit: 'checkout-web-prod',
      resourceRef: 'ConfigMap/checkout/checkout-web-flags',
      paths: ['/data/FLAG_NEW_PAYMENT_FLOW'],
      now: testNow,
    };
    expect(activeExceptionsFor(acme, q).map((e) => e.metadata.name)).toEqual([
      'checkout-web-prod-payment-flow-flag',
    ]);
    expect(activeExceptionsFor(acme, { ...q, paths: ['/data/OTHER'] })).toEqual([]);
    expect(activeExceptionsFor(acme, { ...q, resourceRef: 'ConfigMap/checkout/other' })).toEqual([]);
    expect(activeExceptionsFor(acme, { ...q, now: new Date('2027-02-10T00:00:00Z') })).toEqual([]);
    expect(
      activeExceptionsFor(acme, {
        unit: 'prod-eu-west-1-network',
        resourceRef: 'aws_security_group.partner_vpn',
        paths: ['/ingress/0/cidr_blocks'],
        now: testNow,
      }),
    ).toHaveLength(1);
    expect(
      activeExceptionsFor(acme, {
        unit: 'data-pipelines-prod',
        resourceRef: 'batch/CronJob/data-pipelines/nightly',
        paths: ['/spec/suspend'],
        now: new Date('2030-01-01'),
      }),
    ).toHaveLength(1);
  });

  it('derives the detection interval from the schedule or the risk tier', () => {
    expect(detectionIntervalMs(acme.units.get('checkout-web-prod')!)).toBe(15 * 60_000);
    expect(detectionIntervalMs(acme.units.get('prod-iam-baseline')!)).toBe(15 * 60_000);
    expect(detectionIntervalMs(acme.units.get('prod-eu-west-1-eks')!)).toBe(60 * 60_000);
  });

  it('keeps a stable version for the same files, wherever they are, and changes it when a file changes', async () => {
    const copy = writeRegistry({});
    cpSync(defaultRegistryDir, copy, { recursive: true });
    const again = await loadRegistryOrThrow(copy, { now: testNow });
    expect(again.version).toBe(acme.version);
    writeFileSync(path.join(copy, 'teams.yaml'), '\n# a comment\n', { flag: 'a' });
    expect((await loadRegistryOrThrow(copy, { now: testNow })).version).not.toBe(acme.version);
  });

  it('warns about expired exceptions instead of failing the whole registry', async () => {
    const result = await loadRegistry(defaultRegistryDir, { now: new Date('2027-02-12T00:00:00Z') });
    expect(result.ok).toBe(true);
    expect(result.warnings.map((w) => `${w.rule} ${w.name}`)).toEqual(
      expect.arrayContaining([
        'exception-expired checkout-web-prod-payment-flow-flag',
        'exception-expired partner-vpn-ingress-rotation',
        'exception-expiring catalog-search-replica-shards',
      ]),
    );
  });

  it('throws a RegistryError carrying every error from loadRegistryOrThrow', async () => {
    const dir = writeRegistry({
      'bad.yaml':
        'apiVersion: driftplane.io/v1alpha1\nkind: Team\nmetadata: { name: t }\nspec: { members: [] }\n',
    });
    await expect(loadRegistryOrThrow(dir)).rejects.toBeInstanceOf(RegistryError);
    await expect(loadRegistryOrThrow(dir)).rejects.toMatchObject({
      issues: [{ rule: 'out-of-range', line: 4, field: '/spec/members' }],
    });
  });
});
