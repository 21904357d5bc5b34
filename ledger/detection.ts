import { z } from 'zod';
import { DetectionCoverageSchema, type DetectionCoverage } from '../domain/finding';
import type { SqlDb } from './db';

/** One unit's detection record: the last attempt, the last success and the last error. */
export const DetectionStatusSchema = z.object({
  unit: z.string().min(1),
  /** When driftplane first knew the unit (its first attempt, or the first sweep that saw it). */
  firstSeenAt: z.iso.datetime().optional(),
  /** Absent until the first attempt: the sweep may have only noted the unit. */
  lastAttemptAt: z.iso.datetime().optional(),
  lastResult: z.enum(['ok', 'failed']).optional(),
  lastSuccessAt: z.iso.datetime().optional(),
  lastErrorAt: z.iso.datetime().optional(),
  lastError: z.string().optional(),
  /** Failed attempts since the last success. */
  consecutiveFailures: z.number().int().nonnegative(),
  /**
   * What the last successful detection that reported a coverage could see (types and resources
   * it reads against all present). Kept across failed attempts; dropped by a success that reports
   * none (it saw everything). Absent in records written before coverage existed.
   */
  coverage: DetectionCoverageSchema.optional(),
  /** When {@link coverage} was measured. */
  coverageAt: z.iso.datetime().optional(),
});
/** One unit's detection record. */
export type DetectionStatus = z.infer<typeof DetectionStatusSchema>;

/** Each unit's detection record in the ledger (`unit_detection`, `detection_attempts`). */
export interface DetectionStatusRepo {
  /** The record of one unit, or undefined when it was never attempted. */
  read(unit: string): Promise<DetectionStatus | undefined>;
  /** Every recorded unit, by name. */
  list(): Promise<DetectionStatus[]>;
  /**
   * Records one attempt: a success moves `lastSuccessAt` and stores its `coverage` (a success
   * without one saw every resource type, so an older coverage is dropped); a failure keeps both
   * and records the error. Also appends the attempt to `detection_attempts`.
   */
  record(unit: string, result: { status: 'ok'; coverage?: DetectionCoverage } | { status: 'failed'; error: string }, at: Date): Promise<DetectionStatus>;
  /** Notes that a unit exists before any detection of it: its clock starts now. No-op for a known unit. */
  noteSeen(unit: string, at: Date): Promise<DetectionStatus>;
}

/** The ledger's detection records (TODO: implemented by the ledger-detection work). */
export class LedgerDetectionStatus implements DetectionStatusRepo {
  constructor(readonly db: SqlDb) {}
  read(): Promise<DetectionStatus | undefined> {
    throw new Error('not implemented');
  }
  list(): Promise<DetectionStatus[]> {
    throw new Error('not implemented');
  }
  record(): Promise<DetectionStatus> {
    throw new Error('not implemented');
  }
  noteSeen(): Promise<DetectionStatus> {
    throw new Error('not implemented');
  }
}

/**
 * True when a unit is overdue: its last success is older than its interval, or it never succeeded
 * in the interval since driftplane first saw it. A unit with no record at all is overdue: the
 * sweep notes units first (see `noteSeen`), so an unnoted one means the record was lost.
 * Units without an interval (cron schedules) cannot be judged here and are never overdue.
 */
export function isOverdue(status: DetectionStatus | undefined, intervalMs: number | undefined, now: Date): boolean {
  if (intervalMs === undefined) return false;
  const since = status?.lastSuccessAt ?? status?.firstSeenAt;
  if (!since) return true;
  return now.getTime() - Date.parse(since) > intervalMs;
}
