/**
 * The ledger reads behind `GET /metrics` (serve/metrics): one snapshot per scrape, every figure an
 * aggregate computed by the database (counts, histogram buckets), never rows counted in Node.
 */
import { NO_PERSON_ACTIONS } from '../domain/classify/vocabulary';
import type { SqlDb } from './db';
import type { DetectionStatus } from './detection';

/** The stages a lifecycle's duration is measured to, from its detection (lifecycles.<stage>_at). */
export const MEASURED_STAGES = [
  'classified',
  'routed',
  'approved',
  'reconciled',
  'verified',
  'closed',
] as const;
/** One measured stage. */
export type MeasuredStage = (typeof MEASURED_STAGES)[number];

/**
 * Upper bounds (seconds) of the stage-duration histogram: 1, 5, 15 and 30 minutes, 1, 4 and 12
 * hours, 1, 3 and 7 days. Drift lives from minutes (auto-heal) to days (an approval timeout).
 */
export const STAGE_DURATION_BUCKETS: readonly number[] = [
  60, 300, 900, 1800, 3600, 14_400, 43_200, 86_400, 259_200, 604_800,
];

/** The rule id the controller-fight breaker (§24.3) records when it trips (domain/classify/classify.ts). */
export const BREAKER_RULE_ID = 'hard:auto-heal-breaker';

/** One histogram series: cumulative counts per upper bound (same order as the bounds), the sum and the count. */
export interface HistogramRow {
  stage: MeasuredStage;
  buckets: number[];
  sum: number;
  count: number;
}

/** What one scrape reads from the ledger. */
export interface LedgerMetrics {
  /** Open (not closed) lifecycles by class, risk and environment ('unknown' before classification). */
  open: { driftClass: string; risk: string; environment: string; count: number }[];
  /** Every lifecycle run by class and outcome ('open' when not closed). */
  findings: { driftClass: string; outcome: string; count: number }[];
  stageDurations: HistogramRow[];
  /** Detection attempts by result. */
  detections: { result: string; count: number }[];
  /** Each unit's detection record, for staleness. */
  units: DetectionStatus[];
  autoHeals: { success: number; failure: number };
  breakerTrips: number;
  /** Lifecycles routed to a person and not answered yet, and when the oldest of them was routed. */
  approvalsWaiting: { count: number; oldestRoutedAt?: Date };
}

const iso = (d: unknown): string | undefined =>
  d instanceof Date ? d.toISOString() : typeof d === 'string' ? new Date(d).toISOString() : undefined;

/** Reads every figure `/metrics` shows, in one pass over the ledger (one statement per family). */
export async function readLedgerMetrics(
  db: SqlDb,
  buckets: readonly number[] = STAGE_DURATION_BUCKETS,
): Promise<LedgerMetrics> {
  const [open, findings, stageDurations, detections, units, heals, approvals] = await Promise.all([
    db.query<{ drift_class: string; risk: string; environment: string; n: number }>(
      `SELECT coalesce(drift_class, 'unknown') AS drift_class, coalesce(risk, 'unknown') AS risk,
              coalesce(environment, 'unknown') AS environment, count(*)::int AS n
         FROM lifecycles WHERE closed_at IS NULL
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    ),
    db.query<{ drift_class: string; outcome: string; n: number }>(
      `SELECT coalesce(drift_class, 'unknown') AS drift_class,
              CASE WHEN closed_at IS NULL THEN 'open' ELSE coalesce(outcome, 'unknown') END AS outcome, count(*)::int AS n
         FROM lifecycles GROUP BY 1, 2 ORDER BY 1, 2`,
    ),
    readStageDurations(db, buckets),
    db.query<{ result: string; n: number }>(
      `SELECT result, count(*)::int AS n FROM detection_attempts GROUP BY result ORDER BY result`,
    ),
    db.query<{
      unit: string;
      first_seen_at: Date | null;
      last_attempt_at: Date | null;
      last_success_at: Date | null;
      consecutive_failures: number;
    }>(
      `SELECT unit, first_seen_at, last_attempt_at, last_success_at, consecutive_failures FROM unit_detection ORDER BY unit`,
    ),
    db.query<{ success: number; failure: number; trips: number }>(
      `SELECT count(*) FILTER (WHERE approval_kind = 'auto-heal' AND outcome = 'RECONCILED')::int AS success,
              count(*) FILTER (WHERE approval_kind = 'auto-heal' AND closed_at IS NOT NULL AND outcome IS DISTINCT FROM 'RECONCILED')::int AS failure,
              count(*) FILTER (WHERE rules @> $1::jsonb)::int AS trips
         FROM lifecycles`,
      [JSON.stringify([{ ruleId: BREAKER_RULE_ID }])],
    ),
    // A person must answer (domain/classify: needsPerson): stale detections, and refused auto-heals
    // whose action is not one that needs nobody. Routed, no answer yet, still open.
    db.query<{ n: number; oldest: Date | null }>(
      `SELECT count(*)::int AS n, min(routed_at) AS oldest FROM lifecycles
        WHERE stage = 'routed' AND closed_at IS NULL AND approved_at IS NULL AND approvals = 0
          AND (drift_class = 'DETECTION_STALE' OR (auto_heal_allowed IS NOT TRUE AND NOT (coalesce(action, '') = ANY($1::text[]))))`,
      [[...NO_PERSON_ACTIONS]],
    ),
  ]);
  const h = heals[0] ?? { success: 0, failure: 0, trips: 0 };
  const a = approvals[0];
  const oldest = a?.oldest ? new Date(a.oldest) : undefined;
  return {
    open: open.map((r) => ({
      driftClass: r.drift_class,
      risk: r.risk,
      environment: r.environment,
      count: r.n,
    })),
    findings: findings.map((r) => ({ driftClass: r.drift_class, outcome: r.outcome, count: r.n })),
    stageDurations,
    detections: detections.map((r) => ({ result: r.result, count: r.n })),
    units: units.map((r) => {
      const firstSeenAt = iso(r.first_seen_at);
      const lastAttemptAt = iso(r.last_attempt_at);
      const lastSuccessAt = iso(r.last_success_at);
      return {
        unit: r.unit,
        consecutiveFailures: r.consecutive_failures,
        ...(firstSeenAt ? { firstSeenAt } : {}),
        ...(lastAttemptAt ? { lastAttemptAt } : {}),
        ...(lastSuccessAt ? { lastSuccessAt } : {}),
      };
    }),
    autoHeals: { success: h.success, failure: h.failure },
    breakerTrips: h.trips,
    approvalsWaiting: { count: a?.n ?? 0, ...(oldest ? { oldestRoutedAt: oldest } : {}) },
  };
}

/**
 * Time from detection to each stage reached, as histogram series: the database counts, per stage,
 * the lifecycles whose duration is within each bound (`count(*) FILTER (WHERE d <= le)`), their
 * sum and their number. A stage not reached is not counted; a clock that went backwards counts 0.
 */
export async function readStageDurations(
  db: SqlDb,
  buckets: readonly number[] = STAGE_DURATION_BUCKETS,
): Promise<HistogramRow[]> {
  const bucketCols = buckets
    .map((_, i) => `count(*) FILTER (WHERE s.d <= $${i + 1}::float8)::int AS b${i}`)
    .join(',\n              ');
  const rows = await db.query<Record<string, number | string>>(
    `SELECT s.stage, count(*)::int AS n, coalesce(sum(s.d), 0)::float8 AS total,
              ${bucketCols}
         FROM (SELECT v.stage, greatest(0, extract(epoch FROM (v.at - l.detected_at)))::float8 AS d
                 FROM lifecycles l
                 CROSS JOIN LATERAL (VALUES ('classified', l.classified_at), ('routed', l.routed_at), ('approved', l.approved_at),
                                            ('reconciled', l.reconciled_at), ('verified', l.verified_at), ('closed', l.closed_at)) AS v(stage, at)
                WHERE v.at IS NOT NULL) s
        GROUP BY s.stage`,
    buckets,
  );
  const byStage = new Map(rows.map((r) => [String(r.stage), r]));
  // Every stage is a series, reached or not: a dashboard's quantile sees zeros, not a gap.
  return MEASURED_STAGES.map((stage) => {
    const r = byStage.get(stage);
    return {
      stage,
      buckets: buckets.map((_, i) => Number(r?.[`b${i}`] ?? 0)),
      sum: Number(r?.total ?? 0),
      count: Number(r?.n ?? 0),
    };
  });
}
