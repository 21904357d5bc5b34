/**
 * Task queue names, in one place (docs/temporal.md).
 *
 * - The control queue (DRIFTPLANE_TASK_QUEUE, default {@link DEFAULT_TASK_QUEUE}): every workflow,
 *   and the activities that only touch driftplane's own stores and people: evidence, classification,
 *   routing, the ledger, notifications, starting lifecycles.
 * - One queue per credential boundary, `<control queue>.<boundary>` (domain/boundaries.ts): the
 *   activities in {@link BOUNDARY_ACTIVITIES}, for units that declare that boundary in the registry.
 *   Only workers configured to serve the boundary (DRIFTPLANE_BOUNDARIES) poll it.
 */
export { boundaryTaskQueue } from '../domain/boundaries';

/** The control queue's default name. */
export const DEFAULT_TASK_QUEUE = 'driftplane';

/**
 * The activities that reach a unit's own systems with the unit's credentials, so they run on its
 * boundary's queue: detection (`detectUnit`), the reconcile executors (`reconcile`: a revert, a
 * PR, a `tofu apply`, a restart), verification (`verifyClosure` detects again) and the poll of the
 * PR the executor opened (`checkPullRequest`). The AWS activities (`createAwsActivities`) are
 * boundary activities too. Everything else stays on the control queue.
 */
export const BOUNDARY_ACTIVITIES = ['detectUnit', 'reconcile', 'verifyClosure', 'checkPullRequest'] as const;
