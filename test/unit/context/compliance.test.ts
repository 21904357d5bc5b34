import { describe, expect, it } from 'vitest';
import { complianceBreaches, complianceContext, resourceIdentity, selectorMatchesResource } from '../../../domain/context/compliance';
import { withContext } from '../../../activities/context/source';
import { CompliancePolicySchema, type CompliancePolicy } from '../../../domain/registry/schemas';
import { actor, classifyObservation, firedRules, observation, unitOf } from './support';

function policy(name: string, spec: Record<string, unknown>): CompliancePolicy {
  return CompliancePolicySchema.parse({ apiVersion: 'driftplane.io/v1alpha1', kind: 'CompliancePolicy', metadata: { name }, spec });
}

const podSecurity = policy('pod-security', {
  version: '2',
  effectiveFrom: '2026-06-01',
  resource: { group: 'apps', kind: 'Deployment' },
  rules: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', equals: true }],
});
const rdsEncryption = policy('rds-encryption', {
  version: '2026.1',
  effectiveFrom: '2026-01-15T00:00:00Z',
  resource: { resourceType: 'aws_db_instance' },
  rules: [
    { path: '/storage_encrypted', equals: true },
    { path: '/engine_version', oneOf: ['15.5', '16.3'] },
    { path: '/publicly_accessible', notEquals: true },
  ],
});

const web = unitOf('shop-web', { type: 'argocd-app', environment: 'prod', riskTier: 'high', domain: 'app', approvers: ['x'] });
const db = unitOf('shop-db', { type: 'opentofu-stack', environment: 'staging', domain: 'compute' });

const deploymentBreach = (createdAt?: string) =>
  observation({
    unit: 'shop-web',
    resourceRef: 'Deployment/shop/web',
    resourceType: 'Deployment',
    diff: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', kind: 'changed', desired: true, actual: false }],
    ...(createdAt ? { context: { resourceCreatedAt: createdAt } } : {}),
  });

describe('resource selectors', () => {
  it('reads kind, group, namespace and name from Kubernetes refs and types, and type/address from IaC', () => {
    expect(resourceIdentity({ resourceRef: 'Deployment/shop/web', resourceType: 'Deployment' })).toEqual({ kind: 'Deployment', group: 'apps', namespace: 'shop', name: 'web' });
    expect(resourceIdentity({ resourceRef: 'example.com/Widget/shop/w', resourceType: 'example.com/Widget' })).toEqual({ kind: 'Widget', group: 'example.com', namespace: 'shop', name: 'w' });
    expect(resourceIdentity({ resourceRef: 'ClusterRole/_/view', resourceType: 'ClusterRole' })).toEqual({ kind: 'ClusterRole', group: 'rbac.authorization.k8s.io', name: 'view' });
    expect(resourceIdentity({ resourceRef: 'module.db.aws_db_instance.main', resourceType: 'aws_db_instance' })).toEqual({ iacType: 'aws_db_instance', address: 'module.db.aws_db_instance.main', name: 'main' });
  });

  it('matches kind with group, IaC types with globs, and narrows by namespace and name', () => {
    const dep = { resourceRef: 'Deployment/shop/web', resourceType: 'Deployment' };
    expect(selectorMatchesResource({ kind: 'Deployment', group: 'apps' }, dep)).toBe(true);
    expect(selectorMatchesResource({ kind: 'Deployment', group: 'extensions' }, dep)).toBe(false);
    expect(selectorMatchesResource({ kind: 'StatefulSet' }, dep)).toBe(false);
    expect(selectorMatchesResource({ kind: 'Deployment', namespaces: ['shop'], names: ['we*'] }, dep)).toBe(true);
    expect(selectorMatchesResource({ kind: 'Deployment', namespaces: ['payments'] }, dep)).toBe(false);
    expect(selectorMatchesResource({ resourceType: 'aws_db_*' }, { resourceRef: 'aws_db_instance.main', resourceType: 'aws_db_instance' })).toBe(true);
    expect(selectorMatchesResource({ resourceType: 'aws_db_*' }, dep)).toBe(false);
    expect(selectorMatchesResource({ kind: 'Deployment' }, { resourceRef: 'aws_db_instance.main', resourceType: 'aws_db_instance' })).toBe(false);
  });
});

describe('complianceContext', () => {
  it('a Deployment created before the policy that breaks it: policyViolation with createdBeforePolicy, classified POLICY_DRIFT / MIGRATION_PLAN', () => {
    const o = deploymentBreach('2025-03-02T09:00:00Z');
    const ctx = complianceContext([podSecurity], web, o);
    expect(ctx).toEqual({ policyViolation: { policyId: 'pod-security@2', createdBeforePolicy: true } });
    const d = classifyObservation(withContext(o, ctx), web);
    expect(d.driftClass).toBe('POLICY_DRIFT');
    expect(d.recommendedAction).toBe('MIGRATION_PLAN');
    expect(firedRules(d)).toContain('policy-drift-legacy');
  });

  it('created after the policy took effect: createdBeforePolicy false, which the table calls unauthorized', () => {
    const o = deploymentBreach('2026-09-01T00:00:00Z');
    const ctx = complianceContext([podSecurity], web, o);
    expect(ctx).toEqual({ policyViolation: { policyId: 'pod-security@2', createdBeforePolicy: false } });
    const d = classifyObservation(withContext({ ...o, auditCorrelation: actor('human') }, ctx), web);
    expect(d.driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
    expect(firedRules(d)).toContain('policy-violation-new');
  });

  it('creation time unknown: no policyViolation is guessed; the breach is named as missing context', () => {
    const ctx = complianceContext([podSecurity], web, deploymentBreach());
    expect(ctx?.policyViolation).toBeUndefined();
    expect(ctx?.unjoined).toEqual([expect.stringContaining('pod-security@2 is violated at /spec/template/spec/securityContext/runAsNonRoot')]);
    expect(ctx?.unjoined?.[0]).toContain('creation time is unknown');
  });

  it('a compliant live value, a removed field, or a change below the rule path is no breach', () => {
    const ok = observation({ resourceRef: 'Deployment/shop/web', resourceType: 'Deployment', context: { resourceCreatedAt: '2025-01-01T00:00:00Z' }, diff: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', kind: 'changed', desired: false, actual: true }] });
    expect(complianceContext([podSecurity], web, ok)).toBeUndefined();
    const removed = observation({ resourceRef: 'Deployment/shop/web', resourceType: 'Deployment', diff: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', kind: 'removed', desired: true }] });
    expect(complianceContext([podSecurity], web, removed)).toBeUndefined();
  });

  it('reads the rule field inside a changed parent object, and through a * segment', () => {
    const parent = observation({
      resourceRef: 'Deployment/shop/web',
      resourceType: 'Deployment',
      context: { resourceCreatedAt: '2025-01-01T00:00:00Z' },
      diff: [{ path: '/spec/template/spec/securityContext', kind: 'changed', desired: { runAsNonRoot: true }, actual: { runAsNonRoot: false, runAsUser: 0 } }],
    });
    expect(complianceContext([podSecurity], web, parent)?.policyViolation?.policyId).toBe('pod-security@2');
    const star = policy('no-privileged', { version: '1', effectiveFrom: '2026-01-01', resource: { kind: 'Deployment' }, rules: [{ path: '/spec/template/spec/containers/*/securityContext/privileged', notEquals: true }] });
    const priv = observation({
      resourceRef: 'Deployment/shop/web',
      resourceType: 'Deployment',
      diff: [{ path: '/spec/template/spec/containers/1/securityContext/privileged', kind: 'added', actual: true }],
    });
    expect(complianceBreaches([star], web, priv)).toEqual([{ policy: 'no-privileged', policyId: 'no-privileged@1', path: '/spec/template/spec/containers/*/securityContext/privileged', rule: 'notEquals', effectiveFrom: '2026-01-01' }]);
  });

  it('IaC resources by type: equals, oneOf and notEquals each break on their own', () => {
    const o = (path: string, actual: unknown) =>
      observation({ unit: 'shop-db', resourceRef: 'aws_db_instance.main', resourceType: 'aws_db_instance', relationship: 'recorded!=actual', context: { resourceCreatedAt: '2025-11-01T00:00:00Z' }, diff: [{ path, kind: 'changed', actual }] });
    expect(complianceBreaches([rdsEncryption], db, o('/storage_encrypted', false)).map((b) => b.rule)).toEqual(['equals']);
    expect(complianceBreaches([rdsEncryption], db, o('/engine_version', '14.2')).map((b) => b.rule)).toEqual(['oneOf']);
    expect(complianceBreaches([rdsEncryption], db, o('/engine_version', '16.3'))).toEqual([]);
    expect(complianceBreaches([rdsEncryption], db, o('/publicly_accessible', true)).map((b) => b.rule)).toEqual(['notEquals']);
    expect(complianceBreaches([rdsEncryption], db, o('/publicly_accessible', false))).toEqual([]);
    const ctx = complianceContext([rdsEncryption], db, o('/storage_encrypted', false));
    expect(ctx).toEqual({ policyViolation: { policyId: 'rds-encryption@2026.1', createdBeforePolicy: true } });
    expect(classifyObservation(withContext(o('/storage_encrypted', false), ctx), db).driftClass).toBe('POLICY_DRIFT');
  });

  it('a policy not in force yet at detection, or limited to other units, does not apply', () => {
    const future = policy('future', { version: '3', effectiveFrom: '2027-01-01', resource: { kind: 'Deployment' }, rules: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', equals: true }] });
    expect(complianceContext([future], web, deploymentBreach('2025-01-01T00:00:00Z'))).toBeUndefined();
    const other = policy('other', { version: '1', effectiveFrom: '2026-01-01', units: ['payments-web'], resource: { kind: 'Deployment' }, rules: [{ path: '/spec/template/spec/securityContext/runAsNonRoot', equals: true }] });
    expect(complianceContext([other], web, deploymentBreach('2025-01-01T00:00:00Z'))).toBeUndefined();
    expect(complianceContext([other, podSecurity], web, deploymentBreach('2025-01-01T00:00:00Z'))?.policyViolation?.policyId).toBe('pod-security@2');
  });
});
