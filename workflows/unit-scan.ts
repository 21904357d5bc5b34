/** One scheduled (or on-demand) scan of one unit: detect, then open or join a lifecycle per drift. */
import type { ActivityOptions } from '@temporalio/common';
import { ActivityFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { OpenedLifecycle, ScanActivities } from '../activities/scan';
import { isFullCoverage, staleObservation, type DetectionCoverage } from '../domain/finding';
import type { LocalDetection } from '../activities/local-planes/local-planes';
import { BOUNDARY_QUEUES_PATCH, unitQueue } from './boundary-queue';

const SCAN_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '10 minutes',
  // The worker's heartbeat interceptor pulses while an activity runs: a killed worker is noticed in seconds.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
};
const acts = proxyActivities<ScanActivities>(SCAN_OPTIONS);

/** Patch id: a failed detection opens a DETECTION_STALE lifecycle instead of only returning "failed". */
export const STALE_ON_FAILURE_PATCH = 'detection-failure-opens-stale-lifecycle';

/**
 * The result of one scan. `failed` means "could not tell", never "no drift"; since the
 * stale-lifecycle patch it also carries the DETECTION_STALE lifecycle it opened (or joined).
 */
export type UnitScanResult =
  | { unit: string; status: 'clean'; resources: number; coverage?: DetectionCoverage }
  /** No drift among what the detectors could see, but some resource types could not be seen: never "clean". */
  | { unit: string; status: 'partial'; resources: number; coverage: DetectionCoverage }
  | { unit: string; status: 'drift'; resources: number; findings: OpenedLifecycle[]; coverage?: DetectionCoverage }
  | { unit: string; status: 'failed'; error: string; findings?: OpenedLifecycle[] };

/**
 * Detects the unit on its credential-boundary queue (since the boundary patch), else the control
 * queue. A registry that cannot say the unit's boundary is a failed detection: could not tell.
 */
async function detectOnBoundary(unit: string): Promise<LocalDetection> {
  if (!patched(BOUNDARY_QUEUES_PATCH)) return acts.detectUnit({ unit });
  let queue;
  try {
    queue = await unitQueue(unit, 'brief');
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return { status: 'failed', unit, error: `could not tell the unit's credential boundary: ${err.cause?.message ?? err.message}` };
  }
  const on = queue ? proxyActivities<ScanActivities>({ ...SCAN_OPTIONS, taskQueue: queue.taskQueue }) : acts;
  return on.detectUnit({ unit });
}

/** The unit scan workflow (a noun; never renamed once released). */
export async function unitScan(input: { unit: string }): Promise<UnitScanResult> {
  const detection = await detectOnBoundary(input.unit);
  if (detection.status === 'failed') {
    if (!patched(STALE_ON_FAILURE_PATCH)) return { unit: input.unit, status: 'failed', error: detection.error };
    // No result is not "no drift" (§24.1): the failure itself goes through the lifecycle.
    const stale = staleObservation({ unit: input.unit, status: 'failed', error: detection.error, detectedAt: new Date().toISOString(), detector: 'unit-scan' });
    const findings = await acts.openLifecycles({ observations: [stale] });
    return { unit: input.unit, status: 'failed', error: detection.error, findings };
  }
  const coverage = detection.coverage ? { coverage: detection.coverage } : {};
  if (detection.observations.length === 0) {
    // Resource types the detectors cannot read are not covered, never clean (issue 11 §2).
    if (detection.coverage && !isFullCoverage(detection.coverage)) {
      return { unit: input.unit, status: 'partial', resources: detection.resources, coverage: detection.coverage };
    }
    return { unit: input.unit, status: 'clean', resources: detection.resources, ...coverage };
  }
  const findings = await acts.openLifecycles({ observations: detection.observations });
  return { unit: input.unit, status: 'drift', resources: detection.resources, findings, ...coverage };
}
