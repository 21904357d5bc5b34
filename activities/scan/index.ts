import { ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { findingIdOf, workflowIdOf, type DriftObservation } from '../../domain/finding';
import type { StatementTrust } from '../../domain/signing/statement';
import { detected } from '../../workflows/messages';
import { LifecycleStateKey, UnitKey } from '../../workflows/search-attributes';
import { detectionIntervalMs, loadRegistry } from '../../registry';
import type { LocalDetection, LocalPlanes } from '../local-planes/local-planes';
import { isOverdue, type DetectionStatusStore } from './detection-status';
import { localPlanesDetector, type UnitDetector } from './detectors';

export { DetectionStatusError, DetectionStatusSchema, DetectionStatusStore, isOverdue } from './detection-status';
export type { DetectionStatus } from './detection-status';
export { awsInventoryDetector, awsUnitOf, localPlanesDetector, routeDetectors } from './detectors';
export type { AwsInventoryDetectorDeps, ExecutorResult, UnitDetector } from './detectors';

/** A unit the staleness sweep found overdue: no success within its tier's interval. */
export interface OverdueUnit {
  unit: string;
  intervalMs: number;
  lastSuccessAt?: string;
  lastAttemptAt?: string;
  lastError?: string;
}

/** A lifecycle that a scan opened or joined. */
export interface OpenedLifecycle {
  findingId: string;
  workflowId: string;
  runId: string;
  resourceRef: string;
}

/** What the scan activities need. */
export interface ScanDeps {
  planes: LocalPlanes;
  /** The detector per unit (default: local planes only). */
  detector?: UnitDetector;
  /** Where each unit's last attempt and last success are recorded (staleness). Unset: not recorded. */
  status?: DetectionStatusStore;
  /** The registry, for the staleness sweep's intervals. */
  registryDir?: string;
  client: Client;
  taskQueue: string;
  clock?: () => Date;
  /** The server keys new lifecycles trust for signed answers (activities/approval-signing). Unset: none. */
  trust?: () => StatementTrust;
}

/** Activities of a unit scan: detect, then open (or join) one lifecycle per drifted resource. */
export function createScanActivities(deps: ScanDeps) {
  const now = () => (deps.clock ? deps.clock() : new Date());
  const detector = deps.detector ?? localPlanesDetector(deps.planes);
  return {
    /**
     * Runs the unit's detector and records the attempt (last success, last error) durably. A unit
     * no detector can observe is a failed detection, never "no drift".
     */
    async detectUnit(input: { unit: string }): Promise<LocalDetection> {
      const at = now();
      let result: LocalDetection;
      if (!(await detector.has(input.unit))) {
        result = { status: 'failed', unit: input.unit, error: `no detector can observe ${input.unit}` };
      } else {
        result = await detector.detect(input.unit, at);
      }
      await deps.status?.record(input.unit, result.status === 'ok' ? { status: 'ok' } : { status: 'failed', error: result.error }, at);
      return result;
    },

    /**
     * The staleness sweep's question: which units (all registered ones, or those named) have no
     * successful detection within their tier's interval? A unit never detected is overdue. Units
     * scheduled by cron have no interval here and are left to their schedule.
     */
    async findOverdueUnits(input: { units?: string[] }): Promise<OverdueUnit[]> {
      if (!deps.registryDir) throw ApplicationFailure.nonRetryable('the staleness sweep needs the registry', 'InvalidInput');
      if (!deps.status) throw ApplicationFailure.nonRetryable('the staleness sweep needs the detection status store', 'InvalidInput');
      const loaded = await loadRegistry(deps.registryDir);
      if (!loaded.ok) throw new Error(`registry at ${deps.registryDir} is invalid (${loaded.errors.length} problem(s))`);
      const at = now();
      const names = input.units ?? [...loaded.registry.units.keys()].sort();
      const overdue: OverdueUnit[] = [];
      for (const name of names) {
        const unit = loaded.registry.units.get(name);
        if (!unit) throw ApplicationFailure.nonRetryable(`unit ${name} is not in the registry at ${deps.registryDir}`, 'InvalidInput');
        const intervalMs = detectionIntervalMs(unit);
        // A unit the sweep has never seen starts its clock now: its first scheduled scan may be a
        // whole interval away, and a new registry must not open a stale finding for every unit.
        const status = (await deps.status.read(name)) ?? (await deps.status.noteSeen(name, at));
        if (!isOverdue(status, intervalMs, at)) continue;
        overdue.push({
          unit: name,
          intervalMs: intervalMs as number,
          ...(status?.lastSuccessAt ? { lastSuccessAt: status.lastSuccessAt } : {}),
          ...(status?.lastAttemptAt ? { lastAttemptAt: status.lastAttemptAt } : {}),
          ...(status?.lastError ? { lastError: status.lastError } : {}),
        });
      }
      return overdue;
    },

    /**
     * Signal-with-start per observation: the workflow id is derived from the finding's fingerprint,
     * so re-detecting the same drift joins the running lifecycle instead of opening a second one.
     */
    async openLifecycles(input: { observations: DriftObservation[] }): Promise<OpenedLifecycle[]> {
      const opened: OpenedLifecycle[] = [];
      // Stale-detection observations stand for the unit, not for objects to heal.
      const drifted = input.observations.filter((o) => o.detectorStatus === undefined).length;
      for (const found of input.observations) {
        const observation = found.detectorStatus === undefined ? { ...found, scanDrifted: drifted } : found;
        const findingId = findingIdOf(observation);
        const workflowId = workflowIdOf(findingId);
        const handle = await deps.client.workflow.signalWithStart('driftLifecycle', {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [{ findingId, observation, ...(deps.trust ? { trust: deps.trust() } : {}) }],
          signal: detected,
          signalArgs: [{ detectedAt: observation.detectedAt, detector: observation.detector }],
          typedSearchAttributes: [
            { key: UnitKey, value: observation.unit },
            { key: LifecycleStateKey, value: 'detect' },
          ],
        });
        opened.push({ findingId, workflowId, runId: handle.signaledRunId, resourceRef: observation.resourceRef });
      }
      return opened;
    },
  };
}

/** The scan activities, as the workflow sees them. */
export type ScanActivities = ReturnType<typeof createScanActivities>;
