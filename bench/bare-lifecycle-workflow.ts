/**
 * The lifecycle benchmark's baseline (bench/lifecycle.bench.ts): a workflow that does nothing but
 * call a given number of no-op activities one after another, as many as an auto-healed
 * `driftLifecycle` schedules, with the lifecycle's activity options. What a lifecycle costs beyond
 * it is driftplane's own work: payloads, search attributes, timers, evidence and ledger writes.
 * Registered only by the benchmark's second worker, on its own task queue; never by driftplane.
 */
import { proxyActivities } from '@temporalio/workflow';

/** The baseline's one activity: returns at once. */
export interface BareActivities {
  noop(step: number): Promise<void>;
}

/** The lifecycle's own activity options (workflows/drift-lifecycle.ts ACTIVITY_OPTIONS), so the server does the same bookkeeping. */
const acts = proxyActivities<BareActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidInput'] },
});

/** Calls `activities` no-op activities in sequence and returns how many ran. */
export async function bareLifecycle(input: { activities: number }): Promise<number> {
  for (let i = 0; i < input.activities; i++) await acts.noop(i);
  return input.activities;
}
