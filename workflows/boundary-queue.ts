/**
 * Credential-boundary routing for workflows (docs/temporal.md): the activities that touch a unit's
 * systems run on its boundary's task queue, `<workflow's task queue>.<boundary>`, when the registry
 * declares one. The lifecycle and the unit scan ask once per run, through a local activity on the
 * control worker, so the answer is one marker in history and replay never moves an activity.
 */
import { proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { BoundaryActivities } from '../activities/boundaries';
import { boundaryTaskQueue } from '../domain/boundaries';

/**
 * Patch id: activities that touch a unit's systems (detect, reconcile, verify, the PR poll) go to
 * the unit's credential-boundary queue. Runs from before it keep every activity on the control queue.
 */
export const BOUNDARY_QUEUES_PATCH = 'credential-boundary-queues';

/** A lifecycle waits for a registry being fixed: retried with backoff, without limit. */
const patient = proxyLocalActivities<BoundaryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '1 minute' },
});

/** A scan gives up after a few attempts: an unreadable registry is a failed detection, reported as such. */
const brief = proxyLocalActivities<BoundaryActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
});

/** Where a unit's activities run: its boundary and that boundary's task queue, or undefined for the control queue. */
export interface UnitQueue {
  boundary: string;
  taskQueue: string;
}

/**
 * The unit's boundary queue from the registry, or undefined (no boundary: the control queue).
 * `patience: 'brief'` fails after three attempts instead of waiting for the registry.
 */
export async function unitQueue(
  unit: string,
  patience: 'patient' | 'brief' = 'patient',
): Promise<UnitQueue | undefined> {
  const { boundary } = await (patience === 'brief' ? brief : patient).unitBoundary({ unit });
  return boundary
    ? { boundary, taskQueue: boundaryTaskQueue(workflowInfo().taskQueue, boundary) }
    : undefined;
}
