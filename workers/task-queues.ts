/**
 * Task queue names, in one place. One queue today; per-credential-boundary queues (one per AWS
 * account or cluster) come with the detectors that need them.
 */
export const DEFAULT_TASK_QUEUE = 'driftplane';
