import { ScheduleNotFoundError, type Client, type ScheduleOptions, type ScheduleUpdateOptions } from '@temporalio/client';
import { MANAGED_SCHEDULE_PREFIX, type DesiredSchedule, type ExistingSchedule, type SchedulePlan } from '../domain/schedules';
import { UnitKey } from '../workflows/search-attributes';

/** The key in a scheduled action's memo where driftplane records what it wrote. */
const SIGNATURE_MEMO = 'driftplaneScheduleSignature';
const NOTE = 'managed by `driftplane schedules sync`: change the registry, not this schedule';

/**
 * The schedules on the server whose ids driftplane owns, with the signature each was written with.
 * The ids the registry asks for are described directly (exact); the schedule list, which comes
 * from visibility and may lag, only adds leftovers for deletion.
 */
export async function readManagedSchedules(client: Client, wantedIds: readonly string[] = []): Promise<ExistingSchedule[]> {
  const ids = new Set(wantedIds);
  for await (const s of client.schedule.list()) if (s.scheduleId.startsWith(MANAGED_SCHEDULE_PREFIX)) ids.add(s.scheduleId);
  const out: ExistingSchedule[] = [];
  for (const scheduleId of [...ids].sort()) {
    try {
      const d = await client.schedule.getHandle(scheduleId).describe();
      const memo = d.action.type === 'startWorkflow' ? d.action.memo : undefined;
      const signature = memo?.[SIGNATURE_MEMO];
      out.push({ scheduleId, ...(typeof signature === 'string' ? { signature } : {}) });
    } catch (err) {
      // Not there (never created, or deleted since it was listed): nothing to compare.
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  }
  return out;
}

function specOf(d: DesiredSchedule): ScheduleOptions['spec'] {
  const jitter = d.jitterMs ? { jitter: d.jitterMs } : {};
  return d.cron ? { cronExpressions: [d.cron], ...jitter } : { intervals: [{ every: d.everyMs ?? 3_600_000 }], ...jitter };
}

function actionOf(d: DesiredSchedule): ScheduleOptions['action'] {
  const unit = (d.args[0] as { unit?: string } | undefined)?.unit;
  return {
    type: 'startWorkflow',
    workflowType: d.workflowType,
    // Temporal appends the scheduled time to this id, so each run's id is derived too.
    workflowId: d.scheduleId.slice(MANAGED_SCHEDULE_PREFIX.length),
    taskQueue: d.taskQueue,
    args: d.args,
    memo: { [SIGNATURE_MEMO]: d.signature },
    ...(unit ? { typedSearchAttributes: [{ key: UnitKey, value: unit }] } : {}),
  };
}

/** Creates, updates and deletes schedules as planned. A schedule someone paused stays paused. */
export async function applySchedulePlan(client: Client, plan: SchedulePlan, log: (line: string) => void = () => {}): Promise<void> {
  for (const d of plan.create) {
    await client.schedule.create({
      scheduleId: d.scheduleId,
      spec: specOf(d),
      action: actionOf(d),
      // A missed run is not caught up in bulk: the next one detects the same drift.
      policies: { overlap: 'SKIP', catchupWindow: '1 minute' },
      state: { note: NOTE },
    });
    log(`+ created ${describeSchedule(d)}`);
  }
  for (const d of plan.update) {
    await client.schedule.getHandle(d.scheduleId).update(
      (prev): ScheduleUpdateOptions => ({
        ...prev,
        spec: specOf(d),
        action: actionOf(d),
        policies: { ...prev.policies, overlap: 'SKIP', catchupWindow: '1 minute' },
        state: { paused: prev.state.paused, ...(prev.state.note !== undefined ? { note: prev.state.note } : {}) },
      }),
    );
    log(`~ updated ${describeSchedule(d)}`);
  }
  for (const id of plan.remove) {
    await client.schedule.getHandle(id).delete();
    log(`- deleted ${id} (no longer in the registry)`);
  }
}

/** `driftplane-scan-x: unitScan every 15m` */
export function describeSchedule(d: DesiredSchedule): string {
  const when = d.cron ? `cron "${d.cron}"` : `every ${formatMs(d.everyMs ?? 0)}`;
  return `${d.scheduleId}: ${d.workflowType} ${when}${d.jitterMs ? ` (jitter ${formatMs(d.jitterMs)})` : ''} on ${d.taskQueue}`;
}

function formatMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
