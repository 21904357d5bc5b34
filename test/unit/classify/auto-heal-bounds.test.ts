import { mkdtemp, cp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify } from '../../../domain/classify';
import { createRegistryPolicySource, requiredApprovalsFor } from '../../../activities/lifecycle/registry-policy';
import type { DriftObservation } from '../../../domain/finding';
import { repoRoot } from '../../support/shared-fixtures';
import { inputOf, NOW, statelessApp, table } from './support';

// Auto-heal is a privilege (§9): every policy that applies holds, a deny policy wins, and nothing
// known to be unhealthy is healed.
const staging = { unit: { environment: 'staging' } };
const allow = { name: 'safe-labels', allowedPaths: ['/metadata/labels'], maxObjectsPerReconcile: 5, requireHealthyBeforeHeal: true };
const decide = (over: Record<string, unknown>) => classify(inputOf(statelessApp, { ...staging, ...over }), table, { now: NOW });

describe('bounded auto-heal', () => {
  it('heals a label change inside one allow policy (the baseline)', () => {
    expect(decide({ autoHealPolicies: [allow] }).autoHealAllowed).toBe(true);
  });

  it('considers every policy: a deny policy anywhere in the list wins', () => {
    const d = decide({ autoHealPolicies: [allow, { name: 'no-heal-here', mode: 'deny' }] });
    expect(d.autoHealAllowed).toBe(false);
    expect(d.autoHealRefusedBy).toBe('AutoHealPolicy/no-heal-here.mode');
  });

  it('considers every policy: the second allow policy bounds too', () => {
    const d = decide({ autoHealPolicies: [allow, { name: 'tight', allowedPaths: ['/metadata/annotations'], maxObjectsPerReconcile: 5 }] });
    expect(d.autoHealAllowed).toBe(false);
    expect(d.autoHealRefusedBy).toBe('AutoHealPolicy/tight.allowedPaths');
  });

  it('enforces maxObjectsPerReconcile with the scan count', () => {
    const d = decide({ autoHealPolicies: [allow], change: { objectCount: 6 } });
    expect(d.autoHealAllowed).toBe(false);
    expect(d.autoHealRefusedBy).toBe('AutoHealPolicy/safe-labels.maxObjectsPerReconcile');
  });

  it('never heals a resource known to be unhealthy, even with no policy (bare autoHeal: true)', () => {
    const d = decide({ context: { healthy: false } });
    expect(d.autoHealAllowed).toBe(false);
    expect(d.reasons.map((r) => r.ruleId)).toContain('hard:unhealthy-resource');
  });

  it('a policy that explicitly sets requireHealthyBeforeHeal: false lifts the health rule', () => {
    const d = decide({ autoHealPolicies: [{ ...allow, requireHealthyBeforeHeal: false }], context: { healthy: false } });
    expect(d.reasons.map((r) => r.ruleId)).not.toContain('hard:unhealthy-resource');
  });

  it('a tripped breaker makes it FAILED_RECONCILIATION for a person, naming the fields', () => {
    const d = decide({ autoHealPolicies: [allow], context: { autoHealBreaker: { heals: 3, window: '1h', tripped: true, fields: ['/metadata/labels/team'] } } });
    expect(d).toMatchObject({ driftClass: 'FAILED_RECONCILIATION', autoHealAllowed: false, autoHealRefusedBy: 'hard:auto-heal-breaker', recommendedAction: 'INCIDENT' });
    expect(['HIGH', 'CRITICAL']).toContain(d.risk);
    // Below the threshold nothing changes.
    expect(decide({ autoHealPolicies: [allow], context: { autoHealBreaker: { heals: 2, window: '1h', tripped: false } } }).autoHealAllowed).toBe(true);
  });
});

describe('quorum by policy', () => {
  it.each([
    ['HIGH RUNTIME_REVERT', { risk: 'HIGH', recommendedAction: 'RUNTIME_REVERT' }, 'standard', undefined, 1],
    ['CRITICAL INCIDENT_AND_REVERT', { risk: 'CRITICAL', recommendedAction: 'INCIDENT_AND_REVERT' }, 'critical', undefined, 2],
    ['STATE_MOVE, whatever the risk', { risk: 'LOW', recommendedAction: 'STATE_MOVE' }, 'low', undefined, 2],
    ['IMPORT on a critical unit', { risk: 'MEDIUM', recommendedAction: 'IMPORT' }, 'critical', undefined, 2],
    ['IMPORT on a standard unit', { risk: 'MEDIUM', recommendedAction: 'IMPORT' }, 'standard', undefined, 1],
    ['a route asking for 3', { risk: 'HIGH', recommendedAction: 'RUNTIME_REVERT' }, 'standard', 3, 3],
    ['a route asking for 1 cannot lower state surgery', { risk: 'LOW', recommendedAction: 'STATE_MOVE' }, 'standard', 1, 2],
  ] as const)('%s', (_name, decision, tier, route, want) => {
    expect(requiredApprovalsFor(decision, tier, route)).toBe(want);
  });
});

describe('an exception removes only the paths it covers', () => {
  const observation = (changedFields: string[]): DriftObservation => ({
    unit: 'checkout-web-prod',
    resourceRef: 'Deployment/checkout/web',
    resourceType: 'Deployment',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields,
    diff: changedFields.map((p) => ({ path: p, kind: 'changed' as const, desired: 'a', actual: 'b' })),
    detectedAt: NOW.toISOString(),
    detector: 'local-planes',
    auditCorrelation: { actor: { id: 'dave.kim@acme.example', type: 'human' }, source: 'k8s-audit', eventTime: NOW.toISOString() },
  });

  it('classifies a co-occurring image change instead of closing the whole change as IGNORE', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'dp-registry-'));
    await cp(path.join(repoRoot, 'registry', 'examples', 'acme'), dir, { recursive: true });
    await writeFile(
      path.join(dir, 'exceptions-labels.yaml'),
      [
        'apiVersion: driftplane.io/v1alpha1',
        'kind: DriftException',
        'metadata:',
        '  name: checkout-labels-by-mesh',
        'spec:',
        '  scope: { unit: checkout-web-prod, kind: Deployment, namespace: checkout, name: web }',
        '  paths: [/metadata/labels]',
        '  reason: the mesh controller relabels pods during rollouts',
        '  owner: checkout',
        '  approvedBy: maria.lopez@acme.example',
        '  approvedAt: 2026-06-01',
        '  expiresAt: 2026-08-29',
        '',
      ].join('\n'),
    );
    const policy = createRegistryPolicySource({ registryDir: dir });
    const labelsOnly = await policy.classify(observation(['/metadata/labels/team']), NOW);
    expect(labelsOnly.recommendedAction).toBe('IGNORE');
    const both = await policy.classify(observation(['/metadata/labels/team', '/spec/template/spec/containers/0/image']), NOW);
    expect(both.recommendedAction).not.toBe('IGNORE');
    expect(both.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(both.reasons.find((r) => r.ruleId.startsWith('exception:'))?.why).toMatch(/covers \/metadata\/labels\/team only; \/spec\/template\/spec\/containers\/0\/image classified/);
  });
});

describe('the breaker counts heals within its window only', () => {
  const relabel: DriftObservation = {
    unit: 'catalog-web-staging',
    resourceRef: 'Deployment/catalog/web',
    resourceType: 'Deployment',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: ['/metadata/labels/tier'],
    diff: [{ path: '/metadata/labels/tier', kind: 'changed', desired: 'frontend', actual: 'experimental' }],
    detectedAt: NOW.toISOString(),
    detector: 'local-planes',
    healthy: true,
    auditCorrelation: { actor: { id: 'sam.ortiz@acme.example', type: 'human' }, source: 'k8s-audit', eventTime: NOW.toISOString() },
  };
  const at = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);
  const decideWith = (heals: Date[]) => createRegistryPolicySource({ registryDir: path.join(repoRoot, 'registry', 'examples', 'acme'), healHistory: async () => heals }).classify(relabel, NOW);

  it.each([
    ['no heals before', [], true],
    ['two heals in the hour', [at(50), at(10)], true],
    ['three heals in the hour: tripped', [at(50), at(30), at(10)], false],
    ['three heals, one of them two hours ago', [at(120), at(30), at(10)], true],
  ] as const)('%s', async (_name, heals, allowed) => {
    const d = await decideWith([...heals]);
    expect(d.autoHealAllowed).toBe(allowed);
    expect(d.driftClass).toBe(allowed ? 'UNAUTHORIZED_RUNTIME_DRIFT' : 'FAILED_RECONCILIATION');
  });
});
