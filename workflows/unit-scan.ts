/** One scheduled (or on-demand) scan of one unit: detect, then open or join a lifecycle per drift. */
import { proxyActivities } from '@temporalio/workflow';
import type { OpenedLifecycle, ScanActivities } from '../activities/scan';

const acts = proxyActivities<ScanActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2s', maximumAttempts: 5 },
});

/** The result of one scan. `failed` means "could not tell", never "no drift". */
export type UnitScanResult =
  | { unit: string; status: 'clean'; resources: number }
  | { unit: string; status: 'drift'; resources: number; findings: OpenedLifecycle[] }
  | { unit: string; status: 'failed'; error: string };

/** The unit scan workflow (a noun; never renamed once released). */
export async function unitScan(input: { unit: string }): Promise<UnitScanResult> {
  const detection = await acts.detectUnit({ unit: input.unit });
  if (detection.status === 'failed') return { unit: input.unit, status: 'failed', error: detection.error };
  if (detection.observations.length === 0) return { unit: input.unit, status: 'clean', resources: detection.resources };
  const findings = await acts.openLifecycles({ observations: detection.observations });
  return { unit: input.unit, status: 'drift', resources: detection.resources, findings };
}
