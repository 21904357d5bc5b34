/** A test-only workflow: one runPlan with a short heartbeat timeout, cancelled from the test. */
import { ActivityCancellationType, proxyActivities } from '@temporalio/workflow';
import type { RunPlanInput, TofuActivities } from '../../../activities/tofu';

const { runPlan } = proxyActivities<TofuActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '2 seconds',
  retry: { maximumAttempts: 1 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

export async function runPlanOnce(input: RunPlanInput): Promise<unknown> {
  return runPlan(input);
}
