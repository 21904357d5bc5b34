/**
 * A deliberately incompatible `driftLifecycle`: it classifies before it records the detection.
 * Replaying a recorded history against it must fail with a determinism violation, which proves
 * the replay tests would catch an unguarded change to the workflow's shape.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { LifecycleActivities } from '../../../activities/lifecycle';
import type { LifecycleInput } from '../../../workflows/messages';

const acts = proxyActivities<LifecycleActivities>({ startToCloseTimeout: '2 minutes' });

export async function driftLifecycle(input: LifecycleInput): Promise<void> {
  await acts.classifyFinding({ findingId: input.findingId, runId: 'x', observation: input.observation });
  await acts.recordDetection({ findingId: input.findingId, runId: 'x', observation: input.observation });
}
