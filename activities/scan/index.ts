import type { Client } from '@temporalio/client';
import { findingIdOf, workflowIdOf, type DriftObservation } from '../../domain/finding';
import { detected } from '../../workflows/messages';
import { LifecycleStateKey, UnitKey } from '../../workflows/search-attributes';
import type { LocalDetection, LocalPlanes } from '../local-planes/local-planes';

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
  client: Client;
  taskQueue: string;
  clock?: () => Date;
}

/** Activities of a unit scan: detect, then open (or join) one lifecycle per drifted resource. */
export function createScanActivities(deps: ScanDeps) {
  const now = () => (deps.clock ? deps.clock() : new Date());
  return {
    /** Runs the unit's detector. A unit no detector can observe is a failed detection, never "no drift". */
    async detectUnit(input: { unit: string }): Promise<LocalDetection> {
      if (!(await deps.planes.has(input.unit))) {
        return { status: 'failed', unit: input.unit, error: `no detector can observe ${input.unit}` };
      }
      return deps.planes.detect(input.unit, now());
    },

    /**
     * Signal-with-start per observation: the workflow id is derived from the finding's fingerprint,
     * so re-detecting the same drift joins the running lifecycle instead of opening a second one.
     */
    async openLifecycles(input: { observations: DriftObservation[] }): Promise<OpenedLifecycle[]> {
      const opened: OpenedLifecycle[] = [];
      for (const observation of input.observations) {
        const findingId = findingIdOf(observation);
        const workflowId = workflowIdOf(findingId);
        const handle = await deps.client.workflow.signalWithStart('driftLifecycle', {
          workflowId,
          taskQueue: deps.taskQueue,
          args: [{ findingId, observation }],
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
