import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { findingIdOf, workflowIdOf, type DriftObservation } from '../../domain/finding';
import { parseDuration } from '../../domain/registry/durations';
import type { StatementTrust } from '../../domain/signing/statement';
import { detected, type LifecycleInput, type LifecycleState, type PreviousRun } from '../../workflows/messages';
import { LifecycleStateKey, UnitKey } from '../../workflows/search-attributes';
import { detectionIntervalMs, loadRegistry, type Registry } from '../../registry';
import type { LocalDetection, LocalPlanes } from '../local-planes/local-planes';
import { isOverdue, type DetectionStatusRepo } from '../../ledger/detection';
import { localPlanesDetector, type UnitDetector } from './detectors';

export { DetectionStatusSchema, isOverdue } from '../../ledger/detection';
export type { DetectionStatus, DetectionStatusRepo } from '../../ledger/detection';
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
  /** Set when the scan reopened the finding as a regression: the earlier RECONCILED run it links. */
  reopened?: { previousRunId: string };
}

/** The reopen window of a unit that sets no `policies.reconcile.reopenWindow`. */
export const DEFAULT_REOPEN_WINDOW = '7d';

/** The latest run of a lifecycle's workflow id, as {@link LifecycleStarter.describe} reports it. */
export interface LatestRun {
  runId: string;
  /** Temporal's execution status name: RUNNING, COMPLETED, FAILED, TERMINATED, CONTINUED_AS_NEW, … */
  status: string;
  /** When the run closed; absent while it runs. */
  closeTime?: Date;
}

/** One signal-with-start of `driftLifecycle`. */
export interface LifecycleStart {
  workflowId: string;
  input: LifecycleInput;
  signal: { detectedAt: string; detector: string };
  unit: string;
}

/**
 * What `openLifecycles` asks Temporal, and nothing more: narrow, so the reopen decision can be
 * tested against a hand-made fake. {@link temporalLifecycleStarter} is the real one.
 */
export interface LifecycleStarter {
  /** The latest run of the workflow id; undefined when the id was never used (or retention removed it). */
  describe(workflowId: string): Promise<LatestRun | undefined>;
  /** The result (the final LifecycleState) of a completed run. */
  result(workflowId: string, runId: string): Promise<unknown>;
  /** Signal-with-start: the single start call. Returns the id of the run signalled (started or joined). */
  signalWithStart(start: LifecycleStart): Promise<string>;
}

/** The {@link LifecycleStarter} of a Temporal client: describe, result and signal-with-start on `taskQueue`. */
export function temporalLifecycleStarter(client: Client, taskQueue: string): LifecycleStarter {
  return {
    async describe(workflowId) {
      try {
        const d = await client.workflow.getHandle(workflowId).describe();
        return { runId: d.runId, status: d.status.name, ...(d.closeTime ? { closeTime: d.closeTime } : {}) };
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
    result: (workflowId, runId) => client.workflow.getHandle(workflowId, runId).result(),
    async signalWithStart({ workflowId, input, signal, unit }) {
      const handle = await client.workflow.signalWithStart('driftLifecycle', {
        workflowId,
        taskQueue,
        args: [input],
        signal: detected,
        signalArgs: [signal],
        typedSearchAttributes: [
          { key: UnitKey, value: unit },
          { key: LifecycleStateKey, value: 'detect' },
        ],
      });
      return handle.signaledRunId;
    },
  };
}

/**
 * The earlier run a new detection reopens as a regression, if any: the workflow id's latest run
 * completed (none is running) with outcome RECONCILED, and closed no longer than `windowMs` before
 * `now`. A running lifecycle, another outcome, a run that failed or was terminated, one closed
 * outside the window, or no run at all: undefined (the scan joins or starts a plain run as before).
 * The result is fetched only for a completed run inside the window.
 */
export async function reopenableRun(
  lifecycles: Pick<LifecycleStarter, 'describe' | 'result'>,
  workflowId: string,
  now: Date,
  windowMs: () => Promise<number>,
): Promise<PreviousRun | undefined> {
  const latest = await lifecycles.describe(workflowId);
  if (!latest || latest.status !== 'COMPLETED' || !latest.closeTime) return undefined;
  const window = await windowMs();
  // A window of 0 turns reopening off (DRIFTPLANE_REOPEN_WINDOW=off).
  if (window <= 0) return undefined;
  // A close stamped a little after our clock (skew between hosts) is still inside the window.
  if (now.getTime() - latest.closeTime.getTime() > window) return undefined;
  const result = (await lifecycles.result(workflowId, latest.runId)) as Partial<LifecycleState> | undefined;
  if (result?.outcome !== 'RECONCILED') return undefined;
  return { workflowId, runId: latest.runId, outcome: result.outcome, closedAt: latest.closeTime.toISOString() };
}

/**
 * A unit's reopen window in ms: its `policies.reconcile.reopenWindow`, else the installation's
 * default (DRIFTPLANE_REOPEN_WINDOW; `off` is 0), else {@link DEFAULT_REOPEN_WINDOW}.
 */
export function reopenWindowMs(registry: Registry | undefined, unit: string, fallback: string = DEFAULT_REOPEN_WINDOW): number {
  const set = registry?.units.get(unit)?.spec.policies?.reconcile?.reopenWindow;
  if (set === undefined && fallback === 'off') return 0;
  return parseDuration(set ?? fallback) ?? (parseDuration(DEFAULT_REOPEN_WINDOW) as number);
}

/** What the scan activities need. */
export interface ScanDeps {
  planes: LocalPlanes;
  /** The detector per unit (default: local planes only). */
  detector?: UnitDetector;
  /** Where each unit's last attempt and last success are recorded (staleness). Unset: not recorded. */
  status?: DetectionStatusRepo;
  /** The registry, for the staleness sweep's intervals and each unit's reopen window (unset: 7d everywhere). */
  registryDir?: string;
  /** The reopen window of units whose policy sets none (DRIFTPLANE_REOPEN_WINDOW; `off` turns reopening off). Default 7d. */
  defaultReopenWindow?: string;
  client: Client;
  /** The Temporal calls of `openLifecycles` (default: {@link temporalLifecycleStarter} of `client`). */
  lifecycles?: LifecycleStarter;
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
     * Runs the unit's detector and records the attempt (last success, last error) in the ledger. A unit
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
      // One of several detectors failing makes the attempt a failure for staleness, though the others' drift is reported.
      await deps.status?.record(
        input.unit,
        result.status === 'ok' && !result.partialFailure
          ? { status: 'ok', ...(result.coverage ? { coverage: result.coverage } : {}) }
          : { status: 'failed', error: result.status === 'ok' ? (result.partialFailure as string) : result.error },
        at,
      );
      return result;
    },

    /**
     * The staleness sweep's question: which units (all registered ones, or those named) have no
     * successful detection within their tier's interval? A unit never detected is overdue. Units
     * scheduled by cron have no interval here and are left to their schedule.
     */
    async findOverdueUnits(input: { units?: string[] }): Promise<OverdueUnit[]> {
      if (!deps.registryDir) throw ApplicationFailure.nonRetryable('the staleness sweep needs the registry', 'InvalidInput');
      if (!deps.status) throw ApplicationFailure.nonRetryable("the staleness sweep needs the ledger's detection records", 'InvalidInput');
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
     * When none runs and the latest run closed RECONCILED within the unit's reopen window, the new
     * run reopens it as a regression: `previous` in its input and `regression` on its observation.
     * Signal-with-start stays the only start call, so concurrent scans still open one run.
     */
    async openLifecycles(input: { observations: DriftObservation[] }): Promise<OpenedLifecycle[]> {
      const lifecycles = deps.lifecycles ?? temporalLifecycleStarter(deps.client, deps.taskQueue);
      // The registry is read at most once per call, and only when a closed RECONCILED run is a candidate.
      let registry: Promise<Registry | undefined> | undefined;
      const registryOnce = () =>
        (registry ??= (async () => {
          if (!deps.registryDir) return undefined;
          const loaded = await loadRegistry(deps.registryDir);
          if (!loaded.ok) throw new Error(`registry at ${deps.registryDir} is invalid (${loaded.errors.length} problem(s))`);
          return loaded.registry;
        })());
      const at = now();
      const opened: OpenedLifecycle[] = [];
      // Stale-detection observations stand for the unit, not for objects to heal.
      const drifted = input.observations.filter((o) => o.detectorStatus === undefined).length;
      for (const found of input.observations) {
        // Only the scan says what a detection reopens: a detector's own claim is dropped.
        const { regression: _claimed, ...plain } = found;
        const observation: DriftObservation = plain.detectorStatus === undefined ? { ...plain, scanDrifted: drifted } : plain;
        const findingId = findingIdOf(observation);
        const workflowId = workflowIdOf(findingId);
        const previous = await reopenableRun(lifecycles, workflowId, at, async () => reopenWindowMs(await registryOnce(), observation.unit, deps.defaultReopenWindow));
        const reopened: DriftObservation = previous
          ? { ...observation, regression: { previousRunId: previous.runId, previousOutcome: previous.outcome, closedAt: previous.closedAt } }
          : observation;
        const runId = await lifecycles.signalWithStart({
          workflowId,
          input: { findingId, observation: reopened, ...(deps.trust ? { trust: deps.trust() } : {}), ...(previous ? { previous } : {}) },
          signal: { detectedAt: observation.detectedAt, detector: observation.detector },
          unit: observation.unit,
        });
        opened.push({
          findingId,
          workflowId,
          runId,
          resourceRef: observation.resourceRef,
          ...(previous ? { reopened: { previousRunId: previous.runId } } : {}),
        });
      }
      return opened;
    },
  };
}

/** The scan activities, as the workflow sees them. */
export type ScanActivities = ReturnType<typeof createScanActivities>;
