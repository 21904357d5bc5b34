/**
 * The staleness sweep: finds units whose last successful detection is older than their tier's
 * interval (or that never succeeded) and opens a DETECTION_STALE lifecycle for each. Run it on a
 * Schedule (e.g. every 15 minutes) or on demand; a unit already in a stale lifecycle joins it.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { OpenedLifecycle, ScanActivities } from '../activities/scan';
import { staleObservation } from '../domain/finding';

const acts = proxyActivities<ScanActivities>({
  startToCloseTimeout: '5 minutes',
  // The worker's heartbeat interceptor pulses while an activity runs: a killed worker is noticed in seconds.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidInput'] },
});

/** What one sweep found: the overdue units and the lifecycles opened (or joined) for them. */
export interface StalenessSweepResult {
  checked: 'all' | number;
  overdue: { unit: string; lastSuccessAt?: string; intervalMs: number }[];
  findings: OpenedLifecycle[];
}

/** The staleness sweep workflow (a noun; never renamed once released). `units` limits it; default every registered unit. */
export async function stalenessSweep(input: { units?: string[] } = {}): Promise<StalenessSweepResult> {
  const overdue = await acts.findOverdueUnits({ ...(input.units ? { units: input.units } : {}) });
  const detectedAt = new Date().toISOString();
  const observations = overdue.map((u) =>
    staleObservation({
      unit: u.unit,
      status: 'overdue',
      detectedAt,
      detector: 'staleness-sweep',
      error: u.lastSuccessAt
        ? `no successful detection since ${u.lastSuccessAt} (interval ${Math.round(u.intervalMs / 60_000)} min)${u.lastError ? `; last error: ${u.lastError}` : ''}`
        : `no successful detection recorded (interval ${Math.round(u.intervalMs / 60_000)} min)${u.lastError ? `; last error: ${u.lastError}` : ''}`,
      ...(u.lastSuccessAt ? { lastSuccessAt: u.lastSuccessAt } : {}),
    }),
  );
  const findings = observations.length ? await acts.openLifecycles({ observations }) : [];
  return {
    checked: input.units ? input.units.length : 'all',
    overdue: overdue.map((u) => ({ unit: u.unit, intervalMs: u.intervalMs, ...(u.lastSuccessAt ? { lastSuccessAt: u.lastSuccessAt } : {}) })),
    findings,
  };
}
