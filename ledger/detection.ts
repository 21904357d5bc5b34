import { z } from 'zod';
import { DetectionCoverageSchema, type DetectionCoverage } from '../domain/finding';
import { overdueAt } from '../domain/schedules';
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

/** A unit's row in `unit_detection` that is not a detection record (hand-edited, or a bad rebuild): never read as "fresh". */
export class DetectionStatusError extends Error {
  override readonly name = 'DetectionStatusError';
  constructor(
    readonly unit: string,
    detail: string,
  ) {
    super(`unit_detection row of ${unit}: ${detail}`);
  }
}

/** What one attempt found: a success (with what it could see) or a failure (with its error). */
export type DetectionAttempt = { status: 'ok'; coverage?: DetectionCoverage } | { status: 'failed'; error: string };

/** Every readable record, and the units whose rows are not records (named, never taken for fresh or full coverage). */
export interface DetectionStatusListing {
  records: DetectionStatus[];
  unreadable: { unit: string; problem: string }[];
}

/** Each unit's detection record in the ledger (`unit_detection`, `detection_attempts`). */
export interface DetectionStatusRepo {
  /** The record of one unit, or undefined when it was never attempted. Throws {@link DetectionStatusError} on a row that is not one. */
  read(unit: string): Promise<DetectionStatus | undefined>;
  /** Every recorded unit, by name. Throws {@link DetectionStatusError} on a row that is not a record. */
  list(): Promise<DetectionStatus[]>;
  /** Every recorded unit, by name, with the rows that are not records set apart instead of thrown. */
  listReadable(): Promise<DetectionStatusListing>;
  /**
   * Records one attempt: a success moves `lastSuccessAt` and stores its `coverage` (a success
   * without one saw every resource type, so an older coverage is dropped); a failure keeps both
   * and records the error. Also appends the attempt to `detection_attempts`.
   */
  record(unit: string, result: DetectionAttempt, at: Date): Promise<DetectionStatus>;
  /** Notes that a unit exists before any detection of it: its clock starts now. No-op for a known unit. */
  noteSeen(unit: string, at: Date): Promise<DetectionStatus>;
}

/** The longest error text kept for a unit (the detector's message can be a whole stack or a plan's stderr). */
export const MAX_DETECTION_ERROR = 500;

/** A `unit_detection` row as both engines return it (timestamptz as Date, jsonb parsed). */
interface UnitDetectionRow {
  unit: string;
  first_seen_at: Date | null;
  last_attempt_at: Date | null;
  last_result: string | null;
  last_success_at: Date | null;
  last_error_at: Date | null;
  last_error: string | null;
  consecutive_failures: number;
  coverage: unknown;
  coverage_at: Date | null;
}

const COLUMNS = 'unit, first_seen_at, last_attempt_at, last_result, last_success_at, last_error_at, last_error, consecutive_failures, coverage, coverage_at';

/*
 * One statement per kind of attempt, each an upsert whose new values are computed from the row as
 * it stands when the statement runs: PostgreSQL locks the row for the update, so concurrent writers
 * (in this process or in other workers) queue on it and none of their updates is lost. What each
 * keeps and moves is the same as the file store's read-modify-write was:
 * - a success moves the attempt and the success, resets the failures, keeps the last error, and
 *   stores its coverage (none: the unit was seen whole, so an older one is dropped);
 * - a failure moves the attempt and the error, counts one more failure, and keeps the last
 *   success and the coverage it measured.
 */
const RECORD_OK = `
INSERT INTO unit_detection AS d (unit, first_seen_at, last_attempt_at, last_result, last_success_at, consecutive_failures, coverage, coverage_at)
VALUES ($1, $2::timestamptz, $2::timestamptz, 'ok', $2::timestamptz, 0, $3::jsonb, CASE WHEN $3::jsonb IS NULL THEN NULL ELSE $2::timestamptz END)
ON CONFLICT (unit) DO UPDATE SET
  first_seen_at = COALESCE(d.first_seen_at, EXCLUDED.first_seen_at),
  last_attempt_at = EXCLUDED.last_attempt_at,
  last_result = 'ok',
  last_success_at = EXCLUDED.last_success_at,
  consecutive_failures = 0,
  coverage = EXCLUDED.coverage,
  coverage_at = EXCLUDED.coverage_at
RETURNING ${COLUMNS}`;

const RECORD_FAILED = `
INSERT INTO unit_detection AS d (unit, first_seen_at, last_attempt_at, last_result, last_error_at, last_error, consecutive_failures)
VALUES ($1, $2::timestamptz, $2::timestamptz, 'failed', $2::timestamptz, $3, 1)
ON CONFLICT (unit) DO UPDATE SET
  first_seen_at = COALESCE(d.first_seen_at, EXCLUDED.first_seen_at),
  last_attempt_at = EXCLUDED.last_attempt_at,
  last_result = 'failed',
  last_error_at = EXCLUDED.last_error_at,
  last_error = EXCLUDED.last_error,
  consecutive_failures = d.consecutive_failures + 1
RETURNING ${COLUMNS}`;

/** The record a row holds, or why it is not one. */
function recordOf(row: UnitDetectionRow): { ok: true; record: DetectionStatus } | { ok: false; problem: string } {
  const iso = (d: Date | null) => (d ? d.toISOString() : undefined);
  const candidate = {
    unit: row.unit,
    firstSeenAt: iso(row.first_seen_at),
    lastAttemptAt: iso(row.last_attempt_at),
    lastResult: row.last_result ?? undefined,
    lastSuccessAt: iso(row.last_success_at),
    lastErrorAt: iso(row.last_error_at),
    lastError: row.last_error ?? undefined,
    consecutiveFailures: row.consecutive_failures,
    coverage: row.coverage ?? undefined,
    coverageAt: iso(row.coverage_at),
  };
  // Absent fields are left out, not set to undefined: records compare equal to what the file store wrote.
  const present = Object.fromEntries(Object.entries(candidate).filter(([, v]) => v !== undefined));
  const parsed = DetectionStatusSchema.safeParse(present);
  if (parsed.success) return { ok: true, record: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, problem: `${issue?.path.join('.') || 'row'}: ${issue?.message ?? 'invalid'}` };
}

/** The record a row holds; throws {@link DetectionStatusError} when it holds none. */
function mustRecord(row: UnitDetectionRow): DetectionStatus {
  const r = recordOf(row);
  if (!r.ok) throw new DetectionStatusError(row.unit, r.problem);
  return r.record;
}

/**
 * Each unit's detection record in the ledger, on PostgreSQL or PGlite: written by the scan and the
 * lifecycle's verification after every attempt, read by the staleness sweep, the detectors (last
 * success) and `driftplane findings` (coverage). Every worker sharing the ledger sees the same
 * record, so a unit's staleness is the same whichever worker asks.
 */
export class LedgerDetectionStatus implements DetectionStatusRepo {
  constructor(readonly db: SqlDb) {}

  async read(unit: string): Promise<DetectionStatus | undefined> {
    const [row] = await this.db.query<UnitDetectionRow>(`SELECT ${COLUMNS} FROM unit_detection WHERE unit = $1`, [unit]);
    return row ? mustRecord(row) : undefined;
  }

  async list(): Promise<DetectionStatus[]> {
    return (await this.rows()).map(mustRecord);
  }

  async listReadable(): Promise<DetectionStatusListing> {
    const out: DetectionStatusListing = { records: [], unreadable: [] };
    for (const row of await this.rows()) {
      const r = recordOf(row);
      if (r.ok) out.records.push(r.record);
      else out.unreadable.push({ unit: row.unit, problem: r.problem });
    }
    return out;
  }

  async record(unit: string, result: DetectionAttempt, at: Date): Promise<DetectionStatus> {
    const iso = at.toISOString();
    const error = result.status === 'failed' ? result.error.slice(0, MAX_DETECTION_ERROR) : null;
    // The attempt and the record change together: a retry after a failure here counts the attempt once.
    const row = await this.db.transaction(async (tx) => {
      // Keyed by (unit, at): attempts of one unit in the same millisecond are one row there, though each counts in the record.
      await tx.query('INSERT INTO detection_attempts (unit, at, result, error) VALUES ($1, $2::timestamptz, $3, $4) ON CONFLICT (unit, at) DO NOTHING', [
        unit,
        iso,
        result.status,
        error,
      ]);
      const [updated] =
        result.status === 'ok'
          ? await tx.query<UnitDetectionRow>(RECORD_OK, [unit, iso, result.coverage ? JSON.stringify(result.coverage) : null])
          : await tx.query<UnitDetectionRow>(RECORD_FAILED, [unit, iso, error]);
      return updated;
    });
    if (!row) throw new DetectionStatusError(unit, 'the upsert returned no row');
    return mustRecord(row);
  }

  async noteSeen(unit: string, at: Date): Promise<DetectionStatus> {
    await this.db.query('INSERT INTO unit_detection (unit, first_seen_at, consecutive_failures) VALUES ($1, $2::timestamptz, 0) ON CONFLICT (unit) DO NOTHING', [
      unit,
      at.toISOString(),
    ]);
    const now = await this.read(unit);
    // Rows are never deleted by driftplane: one that vanished in between was removed by hand.
    if (!now) throw new DetectionStatusError(unit, 'noted as seen, then gone');
    return now;
  }

  /** Every row, by unit name in byte order (the same on both engines, whatever their collation). */
  private rows(): Promise<UnitDetectionRow[]> {
    return this.db.query<UnitDetectionRow>(`SELECT ${COLUMNS} FROM unit_detection ORDER BY unit COLLATE "C"`);
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
  const ms = (iso: string | undefined) => (iso ? Date.parse(iso) : undefined);
  return overdueAt(ms(status?.lastSuccessAt), ms(status?.firstSeenAt), intervalMs, now.getTime());
}
