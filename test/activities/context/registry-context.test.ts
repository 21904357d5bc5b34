import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeFreezeSource, registryContextSources } from '../../../activities/context/registry-context';
import { joinContext } from '../../../activities/context/source';
import { createRegistryPolicySource } from '../../../activities/lifecycle/registry-policy';
import type { DriftObservation } from '../../../domain/finding';
import { defaultRegistryDir, formatIssue, loadRegistry, type Registry } from '../../../registry';
import { actor, observation } from '../../unit/context/support';

const REGISTRY = `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: shop
spec:
  members:
    - email: maria@acme.example
  approverGroups:
    - name: shop-approvers
      members: [maria@acme.example]
---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: shop-web-prod
spec:
  type: argocd-app
  owner: shop
  environment: prod
  riskTier: high
  domain: app
  source: { repo: github.com/acme/gitops, path: apps/shop/prod }
  approvers: [shop-approvers]
  labels:
    pagerduty-service: PSHOP01
---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: shop-web-staging
spec:
  type: argocd-app
  owner: shop
  environment: staging
  riskTier: standard
  domain: app
  source: { repo: github.com/acme/gitops, path: apps/shop/staging }
---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: shop-batch-staging
spec:
  type: opentofu-stack
  owner: shop
  environment: staging
  riskTier: low
  domain: compute
  source: { repo: github.com/acme/infra, path: staging/batch }
  credentials: { oidcRole: "arn:aws:iam::444455556666:role/drift-shop-batch-staging" }
  state: { backend: s3, bucket: acme-tfstate, key: staging/batch/terraform.tfstate, region: eu-west-1 }
  cost:
    tolerancePercent: 25
    prices:
      gpu.custom: 1200
      gpu.custom-2: 1440
---
apiVersion: driftplane.io/v1alpha1
kind: ChangeFreeze
metadata:
  name: holiday-freeze
spec:
  description: No production changes over the holidays.
  environments: [prod]
  windows:
    - start: 2026-12-20
      end: 2027-01-04
      reason: holidays
---
apiVersion: driftplane.io/v1alpha1
kind: ChangeFreeze
metadata:
  name: batch-migration
spec:
  units: [shop-batch-staging]
  windows:
    - start: 2026-11-20T18:00:00Z
      end: 2026-11-20T22:00:00Z
---
apiVersion: driftplane.io/v1alpha1
kind: CompliancePolicy
metadata:
  name: pod-security
spec:
  version: "2"
  effectiveFrom: 2026-06-01
  resource: { group: apps, kind: Deployment }
  rules:
    - path: /spec/template/spec/securityContext/runAsNonRoot
      equals: true
`;

let dir: string;
let registry: Registry;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'driftplane-context-registry-'));
  writeFileSync(path.join(dir, 'registry.yaml'), REGISTRY);
  const r = await loadRegistry(dir);
  if (!r.ok) throw new Error(r.errors.map((e) => formatIssue(e)).join('\n'));
  registry = r.registry;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const unit = (name: string) => registry.units.get(name)!;
const join = (unitName: string, observations: DriftObservation[], now = new Date('2026-12-24T12:00:00Z')) =>
  joinContext(registryContextSources(), { unit: unit(unitName), registry, observations, now });
const labels = (at: string, unitName = 'shop-web-prod') =>
  observation({ unit: unitName, detectedAt: at, resourceRef: 'Deployment/shop/web', resourceType: 'Deployment', diff: [{ path: '/metadata/labels/team', kind: 'changed', desired: 'shop', actual: 'x' }] });

describe('change freezes from the registry', () => {
  it('a prod drift detected inside the holiday window carries changeFreeze; staging, before and at the end (exclusive) do not', async () => {
    const out = await join('shop-web-prod', [labels('2026-12-24T09:00:00.000Z'), labels('2026-12-19T23:59:59.000Z'), labels('2027-01-04T00:00:00.000Z'), labels('2027-01-03T23:59:59.000Z')]);
    expect(out.map((o) => o.context?.changeFreeze)).toEqual(['holiday-freeze', undefined, undefined, 'holiday-freeze']);
    const staging = await join('shop-web-staging', [labels('2026-12-24T09:00:00.000Z', 'shop-web-staging')]);
    expect(staging[0]?.context).toBeUndefined();
  });

  it('a calendar limited to units covers only them', async () => {
    const o = observation({ unit: 'shop-batch-staging', detectedAt: '2026-11-20T19:30:00.000Z', resourceRef: 'aws_instance.worker', resourceType: 'aws_instance', diff: [{ path: '/tags/Name', kind: 'changed', desired: 'a', actual: 'b' }] });
    const [frozen] = await changeFreezeSource.contextFor({ unit: unit('shop-batch-staging'), registry, observations: [o], now: new Date() });
    expect(frozen).toEqual({ changeFreeze: 'batch-migration' });
    const [other] = await changeFreezeSource.contextFor({ unit: unit('shop-web-staging'), registry, observations: [{ ...o, unit: 'shop-web-staging' }], now: new Date() });
    expect(other).toBeUndefined();
  });

  it('the registry policy source sees the freeze: rule change-freeze fires and auto-heal is refused', async () => {
    const [o] = await join('shop-web-prod', [labels('2026-12-24T09:00:00.000Z')]);
    const d = await createRegistryPolicySource({ registryDir: dir }).classify(o!, new Date('2026-12-24T12:00:00Z'));
    expect(d.reasons.map((r) => r.ruleId)).toContain('change-freeze');
    expect(d.autoHealAllowed).toBe(false);
  });
});

describe('registryContextSources, joined and classified through the registry policy source', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const classify = (o: DriftObservation) => createRegistryPolicySource({ registryDir: dir }).classify(o, now);

  it('compliance: a Deployment created before pod-security@2 is POLICY_DRIFT / MIGRATION_PLAN', async () => {
    const o = observation({
      unit: 'shop-web-prod',
      resourceRef: 'Deployment/shop/web',
      resourceType: 'Deployment',
      context: { resourceCreatedAt: '2025-02-01T10:00:00Z' },
      diff: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', kind: 'changed', desired: true, actual: false }],
    });
    const [joined] = await join('shop-web-prod', [o], now);
    expect(joined?.context).toMatchObject({ policyViolation: { policyId: 'pod-security@2', createdBeforePolicy: true }, resourceCreatedAt: '2025-02-01T10:00:00Z' });
    const d = await classify(joined!);
    expect([d.driftClass, d.recommendedAction]).toEqual(['POLICY_DRIFT', 'MIGRATION_PLAN']);
    expect(d.reasons.map((r) => r.ruleId)).toContain('policy-drift-legacy');
  });

  it("cost: the unit's own prices and tolerance (25 %): +20 % is not cost drift, +300 % on list prices is COST_DRIFT", async () => {
    const size = (desired: string, actual: string) =>
      observation({ unit: 'shop-batch-staging', resourceRef: 'aws_instance.worker', resourceType: 'aws_instance', relationship: 'recorded!=actual', diff: [{ path: '/instance_type', kind: 'changed', desired, actual }] });
    const [small, big] = await join('shop-batch-staging', [size('gpu.custom', 'gpu.custom-2'), size('m5.large', 'm5.2xlarge')], now);
    expect(small?.context?.costDeltaPercent).toBeUndefined();
    expect(big?.context?.costDeltaPercent).toBe(300);
    const d = await classify(big!);
    expect(d.driftClass).toBe('COST_DRIFT');
    expect(d.reasons.map((r) => r.ruleId)).toContain('cost-drift');
  });

  it('dependency: a moved image tag without digest and no actor is DEPENDENCY_DRIFT', async () => {
    const o = observation({
      unit: 'shop-web-staging',
      resourceRef: 'Deployment/shop/web',
      resourceType: 'Deployment',
      diff: [{ path: '/spec/template/spec/containers/0/image', kind: 'changed', desired: 'ghcr.io/acme/shop:1.4', actual: 'ghcr.io/acme/shop:1.5' }],
    });
    const [joined] = await join('shop-web-staging', [o], now);
    expect(joined?.context?.dependency).toEqual({ ref: 'ghcr.io/acme/shop:1.4', why: expect.stringContaining('without digest') });
    const d = await classify(joined!);
    expect(d.driftClass).toBe('DEPENDENCY_DRIFT');
    expect(d.reasons.map((r) => r.ruleId)).toContain('dependency-drift');
    // With a person as the actor the same drift is a manual image patch.
    expect((await classify({ ...joined!, auditCorrelation: actor('human') })).driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
  });

  it('stale-detection observations are not joined, and the detector’s own context wins', async () => {
    const stale = { ...labels('2026-12-24T09:00:00.000Z'), detectorStatus: 'failed' as const };
    const own = { ...labels('2026-12-24T09:00:00.000Z'), context: { changeFreeze: 'detector-said-so' } };
    const out = await join('shop-web-prod', [stale, own]);
    expect(out[0]?.context).toBeUndefined();
    expect(out[1]?.context?.changeFreeze).toBe('detector-said-so');
  });
});

describe('the acme example registry (registry/examples/acme/policies/freeze.yaml, compliance.yaml)', () => {
  it('its holiday freeze covers prod network units and not prod apps; its pod policy is found by the compliance source', async () => {
    const r = await loadRegistry(defaultRegistryDir);
    if (!r.ok) throw new Error(r.errors.map((e) => formatIssue(e)).join('\n'));
    const acme = r.registry;
    const sg = observation({ unit: 'payments-prod-network', detectedAt: '2025-12-24T10:00:00.000Z', resourceRef: 'aws_security_group.web', resourceType: 'aws_security_group', diff: [{ path: '/description', kind: 'changed', desired: 'a', actual: 'b' }] });
    const [net] = await joinContext(registryContextSources(), { unit: acme.units.get('payments-prod-network')!, registry: acme, observations: [sg], now: new Date() });
    expect(net?.context?.changeFreeze).toBe('holiday-freeze-2025');
    const [app] = await joinContext(registryContextSources(), { unit: acme.units.get('checkout-web-prod')!, registry: acme, observations: [{ ...sg, unit: 'checkout-web-prod' }], now: new Date() });
    expect(app?.context).toBeUndefined();
    const dep = observation({
      unit: 'checkout-web-prod',
      resourceRef: 'Deployment/checkout/web',
      resourceType: 'Deployment',
      context: { resourceCreatedAt: '2024-05-01T00:00:00Z' },
      diff: [{ path: '/spec/template/spec/containers/0/securityContext/privileged', kind: 'added', actual: true }],
    });
    const [joined] = await joinContext(registryContextSources(), { unit: acme.units.get('checkout-web-prod')!, registry: acme, observations: [dep], now: new Date() });
    expect(joined?.context?.policyViolation).toEqual({ policyId: 'workloads-run-as-non-root@2', createdBeforePolicy: true });
  });
});
