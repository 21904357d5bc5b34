import type { DriftManagedUnit } from './registry/schemas';
import { parseDuration } from './registry/durations';
import { detectionIntervalMs } from './registry/resolve';

/** Every schedule driftplane manages has an id with this prefix; anything else is left alone. */
export const MANAGED_SCHEDULE_PREFIX = 'driftplane-';

/** The staleness sweep's schedule: every 15 minutes, the shortest tier interval. */
export const STALENESS_SWEEP_SCHEDULE_ID = `${MANAGED_SCHEDULE_PREFIX}staleness-sweep`;
const STALENESS_SWEEP_EVERY_MS = 15 * 60_000;

/** The budget sweep's schedule: every 5 minutes, the shortest window of the burn-rate alerts (domain/budgets/burn-rate.ts). */
export const BUDGET_SWEEP_SCHEDULE_ID = `${MANAGED_SCHEDULE_PREFIX}budget-sweep`;
const BUDGET_SWEEP_EVERY_MS = 5 * 60_000;

/** One schedule as the registry wants it. */
export interface DesiredSchedule {
  scheduleId: string;
  workflowType: 'unitScan' | 'stalenessSweep' | 'budgetSweep';
  args: unknown[];
  /** Exactly one of `everyMs` and `cron`. */
  everyMs?: number;
  cron?: string;
  jitterMs?: number;
  taskQueue: string;
  /** What the schedule does, canonically; a schedule whose recorded signature differs is updated. */
  signature: string;
}

/** The schedule id of a unit's scan. */
export const scanScheduleId = (unit: string): string => `${MANAGED_SCHEDULE_PREFIX}scan-${unit}`;

function jitterMsOf(unit: DriftManagedUnit): number | undefined {
  const jitter = unit.spec.schedule?.jitter;
  return jitter ? parseDuration(jitter) : undefined;
}

function withSignature(s: Omit<DesiredSchedule, 'signature'>): DesiredSchedule {
  const { scheduleId, workflowType, args, everyMs, cron, jitterMs, taskQueue } = s;
  return { ...s, signature: JSON.stringify({ scheduleId, workflowType, args, everyMs, cron, jitterMs, taskQueue }) };
}

/**
 * The schedules the registry asks for: one scan per unit, every tier interval (or the unit's own
 * frequency or cron), plus the staleness sweep (every 15 minutes) and the budget sweep (every 5
 * minutes), all on one task queue. Sorted by id.
 */
export function desiredSchedules(units: Iterable<DriftManagedUnit>, taskQueue: string): DesiredSchedule[] {
  const out: DesiredSchedule[] = [];
  for (const unit of units) {
    const name = unit.metadata.name;
    const cron = unit.spec.schedule?.cron;
    const everyMs = detectionIntervalMs(unit);
    const jitterMs = jitterMsOf(unit);
    out.push(
      withSignature({
        scheduleId: scanScheduleId(name),
        workflowType: 'unitScan',
        args: [{ unit: name }],
        ...(cron ? { cron } : { everyMs }),
        ...(jitterMs ? { jitterMs } : {}),
        taskQueue,
      }),
    );
  }
  out.push(withSignature({ scheduleId: STALENESS_SWEEP_SCHEDULE_ID, workflowType: 'stalenessSweep', args: [{}], everyMs: STALENESS_SWEEP_EVERY_MS, taskQueue }));
  out.push(withSignature({ scheduleId: BUDGET_SWEEP_SCHEDULE_ID, workflowType: 'budgetSweep', args: [{}], everyMs: BUDGET_SWEEP_EVERY_MS, taskQueue }));
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** A schedule that exists on the server, with the signature driftplane recorded when it wrote it. */
export interface ExistingSchedule {
  scheduleId: string;
  signature?: string;
}

/** What `schedules sync` will do. */
export interface SchedulePlan {
  create: DesiredSchedule[];
  update: DesiredSchedule[];
  remove: string[];
  unchanged: string[];
}

/**
 * Compares the registry's schedules with the server's. Only ids with the managed prefix are
 * considered, so schedules that people or other tools made are never touched.
 */
export function planScheduleSync(desired: DesiredSchedule[], existing: ExistingSchedule[]): SchedulePlan {
  const managed = new Map(existing.filter((e) => e.scheduleId.startsWith(MANAGED_SCHEDULE_PREFIX)).map((e) => [e.scheduleId, e]));
  const plan: SchedulePlan = { create: [], update: [], remove: [], unchanged: [] };
  for (const d of desired) {
    const e = managed.get(d.scheduleId);
    if (!e) plan.create.push(d);
    else if (e.signature !== d.signature) plan.update.push(d);
    else plan.unchanged.push(d.scheduleId);
    managed.delete(d.scheduleId);
  }
  plan.remove = [...managed.keys()].sort();
  return plan;
}

/** True when the server already matches the registry. */
export const inStep = (p: SchedulePlan): boolean => p.create.length + p.update.length + p.remove.length === 0;

/**
 * The one staleness rule (the sweep's `isOverdue`, a budget's `detectionInterval`): a unit is
 * overdue when its last success (ms) is older than `intervalMs` at `nowMs`, or, never having
 * succeeded, when driftplane first saw it longer ago than that; with neither it is overdue.
 */
export function overdueAt(lastSuccessMs: number | undefined, firstSeenMs: number | undefined, intervalMs: number, nowMs: number): boolean {
  const since = lastSuccessMs ?? firstSeenMs;
  return since === undefined || nowMs - since > intervalMs;
}
