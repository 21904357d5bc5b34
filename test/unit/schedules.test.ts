import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Registry } from '../../domain/registry/model';
import type { DriftManagedUnit } from '../../domain/registry/schemas';
import { BUDGET_SWEEP_SCHEDULE_ID, desiredSchedules, planScheduleSync, scanScheduleId, STALENESS_SWEEP_SCHEDULE_ID } from '../../domain/schedules';
import { loadRegistryOrThrow } from '../../registry';
import { repoRoot } from '../support/shared-fixtures';

let registry: Registry;
beforeAll(async () => {
  registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
});

const withSchedule = (u: DriftManagedUnit, schedule: DriftManagedUnit['spec']['schedule']): DriftManagedUnit => ({ ...u, spec: { ...u.spec, schedule } });

describe('desiredSchedules', () => {
  it('asks for one scan per registered unit plus the staleness and budget sweeps, on the given task queue', () => {
    const desired = desiredSchedules(registry.units.values(), 'q');
    expect(desired).toHaveLength(registry.units.size + 2);
    expect(desired.map((d) => d.scheduleId)).toContain(scanScheduleId('checkout-web-prod'));
    expect(desired.find((d) => d.scheduleId === STALENESS_SWEEP_SCHEDULE_ID)).toMatchObject({ workflowType: 'stalenessSweep', everyMs: 15 * 60_000 });
    expect(BUDGET_SWEEP_SCHEDULE_ID).toBe('driftplane-budget-sweep');
    expect(desired.find((d) => d.scheduleId === BUDGET_SWEEP_SCHEDULE_ID)).toMatchObject({ workflowType: 'budgetSweep', args: [{}], everyMs: 5 * 60_000 });
    expect(desired.every((d) => d.taskQueue === 'q')).toBe(true);
  });

  it.each([
    ['critical', undefined, 15 * 60_000],
    ['high', undefined, 60 * 60_000],
    ['standard', undefined, 6 * 3_600_000],
    ['low', undefined, 24 * 3_600_000],
    ['low', { frequency: '5m' }, 5 * 60_000],
    ['critical', { frequency: 'daily' }, 24 * 3_600_000],
  ] as const)('a %s unit with schedule %j runs every %i ms', (tier, schedule, everyMs) => {
    const base = registry.units.get('checkout-web-prod')!;
    const unit = withSchedule({ ...base, spec: { ...base.spec, riskTier: tier } }, schedule);
    const d = desiredSchedules([unit], 'q').find((x) => x.workflowType === 'unitScan');
    expect(d).toMatchObject({ workflowType: 'unitScan', args: [{ unit: 'checkout-web-prod' }], everyMs });
  });

  it('uses a unit’s cron instead of an interval, with its jitter', () => {
    const unit = withSchedule(registry.units.get('checkout-web-prod')!, { cron: '17 * * * *', jitter: '5m' });
    const d = desiredSchedules([unit], 'q').find((x) => x.workflowType === 'unitScan');
    expect(d).toMatchObject({ cron: '17 * * * *', jitterMs: 300_000 });
    expect(d?.everyMs).toBeUndefined();
  });
});

describe('planScheduleSync', () => {
  const desired = () => desiredSchedules([registry.units.get('checkout-web-prod')!, registry.units.get('catalog-web-staging')!], 'q');

  it('creates what is missing and leaves what matches', () => {
    const [a, b, c, d] = desired();
    const plan = planScheduleSync([a!, b!, c!, d!], [{ scheduleId: a!.scheduleId, signature: a!.signature }]);
    expect(plan.create.map((x) => x.scheduleId)).toEqual([b!.scheduleId, c!.scheduleId, d!.scheduleId]);
    expect(plan.unchanged).toEqual([a!.scheduleId]);
    expect(plan.update).toEqual([]);
    expect(plan.remove).toEqual([]);
  });

  it('updates a schedule whose signature differs (or was never recorded) and deletes managed schedules the registry lost', () => {
    const [a, b] = desired();
    const plan = planScheduleSync([a!, b!], [
      { scheduleId: a!.scheduleId, signature: a!.signature.replace('"q"', '"old-queue"') },
      { scheduleId: b!.scheduleId },
      { scheduleId: scanScheduleId('retired-unit'), signature: 'x' },
    ]);
    expect(plan.update.map((d) => d.scheduleId)).toEqual([a!.scheduleId, b!.scheduleId]);
    expect(plan.remove).toEqual([scanScheduleId('retired-unit')]);
  });

  it('never touches a schedule driftplane does not own', () => {
    const plan = planScheduleSync(desired(), [{ scheduleId: 'nightly-backup' }, { scheduleId: 'someone-elses-scan' }]);
    expect(plan.remove).toEqual([]);
    expect(plan.create).toHaveLength(4);
  });

  it('is stable: the same registry gives the same signatures', () => {
    expect(desired().map((d) => d.signature)).toEqual(desired().map((d) => d.signature));
  });
});
