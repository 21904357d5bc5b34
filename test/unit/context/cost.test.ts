import { describe, expect, it } from 'vitest';
import { builtInMonthlyPrices, costContext, costDelta, monthlyPrice } from '../../../domain/context/cost';
import { withContext } from '../../../activities/context/source';
import { actor, classifyObservation, firedRules, observation, unitOf } from './support';

const stack = unitOf('batch-workers', { type: 'opentofu-stack', environment: 'staging', domain: 'compute' });
const prodStack = unitOf('batch-prod', { type: 'opentofu-stack', environment: 'prod', domain: 'compute', approvers: ['x'] });

const instance = (desired: unknown, actual: unknown, path = '/instance_type') =>
  observation({ unit: 'batch-workers', resourceRef: 'aws_instance.worker', resourceType: 'aws_instance', relationship: 'recorded!=actual', diff: [{ path, kind: 'changed', desired, actual }] });

describe('the price table', () => {
  it('holds monthly prices (hourly × 730) for common EC2 types and RDS classes; the unit overrides them', () => {
    expect(builtInMonthlyPrices['m5.large']).toBeCloseTo(0.096 * 730, 2);
    expect(builtInMonthlyPrices['db.t3.medium']).toBeCloseTo(0.068 * 730, 2);
    expect(Object.keys(builtInMonthlyPrices).length).toBeGreaterThan(40);
    expect(monthlyPrice('m5.large', { 'm5.large': 50 })).toBe(50);
    expect(monthlyPrice('x9.huge')).toBeUndefined();
  });
});

describe('costDelta / costContext', () => {
  it('m5.large → m5.2xlarge is +300 %: COST_DRIFT (rule cost-drift) when no actor explains it', () => {
    const o = instance('m5.large', 'm5.2xlarge');
    expect(costDelta(o.diff)).toMatchObject({ percent: 300, paths: ['/instance_type'] });
    const ctx = costContext(o);
    expect(ctx).toEqual({ costDeltaPercent: 300 });
    const d = classifyObservation(withContext(o, ctx), stack);
    expect(d.driftClass).toBe('COST_DRIFT');
    expect(d.recommendedAction).toBe('OPEN_RECONCILIATION_PR');
    expect(firedRules(d)).toContain('cost-drift');
  });

  it('a CI identity resizing counts as cost drift too; in prod the risk is at least MEDIUM', () => {
    const o = withContext({ ...instance('t3.medium', 't3.xlarge'), unit: 'batch-prod', auditCorrelation: actor('ci', 'github-actions') }, costContext(instance('t3.medium', 't3.xlarge')));
    expect(o.context?.costDeltaPercent).toBe(300);
    const d = classifyObservation(o, prodStack);
    expect(d.driftClass).toBe('COST_DRIFT');
    expect(firedRules(d)).toEqual(expect.arrayContaining(['cost-drift', 'cost-drift-prod']));
    expect(['MEDIUM', 'HIGH', 'CRITICAL']).toContain(d.risk);
  });

  it('RDS instance class and ElastiCache node type are priced as well', () => {
    expect(costContext(instance('db.t3.medium', 'db.t3.large', '/instance_class'))).toEqual({ costDeltaPercent: 100 });
    expect(costContext(instance('cache.t3.small', 'cache.t3.micro', '/node_type'))).toEqual({ costDeltaPercent: -50 });
  });

  it('a node-group desired size is a count: 2 → 3 nodes is +50 %, and it multiplies a type change', () => {
    const count = (desired: number, actual: number) => ({ path: '/scaling_config/0/desired_size', kind: 'changed' as const, desired, actual });
    expect(costContext({ diff: [count(2, 3)] })).toEqual({ costDeltaPercent: 50 });
    expect(costContext({ diff: [count(2, 4), { path: '/instance_types/0', kind: 'changed', desired: 'm5.large', actual: 'm5.large' }] })).toEqual({ costDeltaPercent: 100 });
    expect(costContext({ diff: [{ path: '/instance_types/0', kind: 'changed', desired: 'm5.large', actual: 'm5.xlarge' }] })).toEqual({ costDeltaPercent: 100 });
    expect(costContext({ diff: [{ path: '/instance_types/0', kind: 'changed', desired: 'm5.large', actual: 'x9.unknown' }] })).toBeUndefined();
    expect(costDelta([count(2, 3), { path: '/instance_type', kind: 'changed', desired: 'm5.large', actual: 'm5.xlarge' }])?.percent).toBe(200);
  });

  it('an unknown size gives no cost context at all, never a made-up number', () => {
    expect(costDelta(instance('m5.large', 'x9.huge').diff)).toBeUndefined();
    expect(costContext(instance('m5.large', 'x9.huge'))).toBeUndefined();
    expect(costContext(instance('m5.large', 42))).toBeUndefined();
    expect(costContext({ diff: [{ path: '/tags/Name', kind: 'changed', desired: 'a', actual: 'b' }] })).toBeUndefined();
  });

  it("the unit's prices extend the table, and its tolerance decides what matters", () => {
    const prices = { 'gpu.custom': 1000, 'gpu.custom-2': 1120 };
    expect(costContext(instance('gpu.custom', 'gpu.custom-2'), { prices })).toEqual({ costDeltaPercent: 12 });
    expect(costContext(instance('gpu.custom', 'gpu.custom-2'), { prices, tolerancePercent: 15 })).toBeUndefined();
    // m5.large → m6i.large costs the same: no cost drift.
    expect(costContext(instance('m5.large', 'm6i.large'))).toBeUndefined();
  });

  it('a cheaper size is reported (negative) but is not COST_DRIFT: the table prices only increases', () => {
    const o = instance('m5.2xlarge', 'm5.large');
    const ctx = costContext(o);
    expect(ctx).toEqual({ costDeltaPercent: -75 });
    const d = classifyObservation(withContext(o, ctx), stack);
    expect(d.driftClass).not.toBe('COST_DRIFT');
    expect(firedRules(d)).not.toContain('cost-drift');
  });

  it('a human resizing is not cost drift: the table treats it as an unauthorized change', () => {
    const o = withContext({ ...instance('m5.large', 'm5.2xlarge'), auditCorrelation: actor('human') }, { costDeltaPercent: 300 });
    expect(classifyObservation(o, stack).driftClass).toBe('UNAUTHORIZED_RUNTIME_DRIFT');
  });
});
