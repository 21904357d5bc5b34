/**
 * Drift budgets over the ledger: reads the rows a budget is judged by and hands them to the pure
 * evaluation (domain/budgets/evaluate.ts, where the semantics are written down); mean times to
 * classify and to close; recurring drift sources (§26); and the record of budget alerts already
 * routed (`budget_alerts`), so one change of state notifies once.
 */
import { budgetUnitsOf, evaluateBudgets, type BudgetDetectionRow, type BudgetFindingRow } from '../domain/budgets/evaluate';
import type { BudgetState, EvaluatedBudget, MeanTimes, RecurringSource } from '../domain/budgets/report';
import { parseDuration } from '../domain/registry/durations';
import type { DriftBudget, DriftManagedUnit } from '../domain/registry/schemas';
import type { SqlDb } from './db';

interface LifecycleRow {
  finding_id: string;
  run_id: string;
  unit: string;
  environment: string | null;
  domain: string | null;
  risk_rank: number | null;
  drift_class: string | null;
  outcome: string | null;
  detected_at: Date;
  classified_at: Date | null;
  closed_at: Date | null;
}

/**
 * The lifecycle rows budgets need at `now`: detected by then, and either detected after `from`
 * (the events of every window the evaluation and its history look at) or still open at `now`
 * (the limits).
 */
export async function readBudgetFindings(db: SqlDb, now: Date, from: Date): Promise<BudgetFindingRow[]> {
  const rows = await db.query<LifecycleRow>(
    `SELECT finding_id, run_id, unit, environment, domain, risk_rank::int AS risk_rank, drift_class, outcome, detected_at, classified_at, closed_at
       FROM lifecycles
      WHERE detected_at <= $1 AND (detected_at > $2 OR closed_at IS NULL OR closed_at > $1)`,
    [now, from],
  );
  return rows.map((r) => ({
    findingId: r.finding_id,
    runId: r.run_id,
    unit: r.unit,
    environment: r.environment,
    domain: r.domain,
    riskRank: r.risk_rank === null ? null : Number(r.risk_rank),
    driftClass: r.drift_class,
    outcome: r.outcome,
    detectedAt: r.detected_at,
    classifiedAt: r.classified_at,
    closedAt: r.closed_at,
  }));
}

/** Every unit's detection record (first seen, last success). */
export async function readBudgetDetections(db: SqlDb): Promise<BudgetDetectionRow[]> {
  const rows = await db.query<{ unit: string; first_seen_at: Date | null; last_success_at: Date | null }>(
    'SELECT unit, first_seen_at, last_success_at FROM unit_detection',
  );
  return rows.map((r) => ({ unit: r.unit, firstSeenAt: r.first_seen_at, lastSuccessAt: r.last_success_at }));
}

/** Options of {@link budgetReports}. */
export interface BudgetReportOptions {
  /** Points of the burn chart over the window (default 30; 0 for none, as the sweep asks). */
  historyPoints?: number;
}

/**
 * Evaluates `budgets` at `now` over a rolling window of `windowMs` from the ledger's rows, with
 * `units` (the registry's) for the scope of unclassified findings and for `detectionInterval`.
 */
export async function budgetReports(
  db: SqlDb,
  budgets: readonly DriftBudget[],
  units: Iterable<DriftManagedUnit>,
  now: Date,
  windowMs: number,
  opts: BudgetReportOptions = {},
): Promise<EvaluatedBudget[]> {
  const longestWithin = Math.max(
    0,
    ...budgets.flatMap((b) => [b.spec.timeToClassify?.within, b.spec.timeToReconcile?.within].map((w) => (w ? (parseDuration(w) ?? 0) : 0))),
  );
  // The history's oldest point looks back one more window; a bad event counts `within` after detection.
  const from = new Date(now.getTime() - 2 * windowMs - longestWithin);
  const [findings, detections] = await Promise.all([readBudgetFindings(db, now, from), readBudgetDetections(db)]);
  return evaluateBudgets({
    budgets,
    units: budgetUnitsOf(units),
    findings,
    detections,
    now,
    windowMs,
    ...(opts.historyPoints !== undefined ? { historyPoints: opts.historyPoints } : {}),
  });
}

/** Which lifecycles {@link meanTimes} averages over (classified columns; every one optional). */
export interface MeanTimesFilter {
  environment?: string;
  domain?: string;
  /** The owning team. */
  owner?: string;
  /** At least this severity (`info` … `critical`). */
  minRisk?: 'info' | 'low' | 'medium' | 'high' | 'critical';
}

const RANK = { info: 0, low: 1, medium: 2, high: 3, critical: 4 } as const;

/**
 * MTTC (mean detected → classified over findings classified in `(now − windowMs, now]`) and MTTR
 * (mean detected → closed, any outcome, over findings closed in the window), in seconds: one SQL
 * aggregate, so the dashboard can ask over a large ledger. Same definition as the per-budget
 * `meanTimesOf` of domain/budgets/evaluate.ts.
 */
export async function meanTimes(db: SqlDb, now: Date, windowMs: number, filter: MeanTimesFilter = {}): Promise<MeanTimes> {
  const from = new Date(now.getTime() - windowMs);
  const params: unknown[] = [now, from];
  const where: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (filter.environment) add('environment = ?', filter.environment);
  if (filter.domain) add('domain = ?', filter.domain);
  if (filter.owner) add('owner = ?', filter.owner);
  if (filter.minRisk) add('risk_rank >= ?', RANK[filter.minRisk]);
  const c = 'classified_at > $2 AND classified_at <= $1';
  const d = 'closed_at > $2 AND closed_at <= $1';
  const rows = await db.query<{ classified: number; mttc: number | null; closed: number; mttr: number | null }>(
    `SELECT count(*) FILTER (WHERE ${c})::int AS classified,
            (avg(extract(epoch FROM classified_at - detected_at)) FILTER (WHERE ${c}))::float8 AS mttc,
            count(*) FILTER (WHERE ${d})::int AS closed,
            (avg(extract(epoch FROM closed_at - detected_at)) FILTER (WHERE ${d}))::float8 AS mttr
       FROM lifecycles
      WHERE ((${c}) OR (${d}))${where.length ? ` AND ${where.join(' AND ')}` : ''}`,
    params,
  );
  const r = rows[0];
  return {
    mttcSeconds: r?.mttc ?? null,
    mttrSeconds: r?.mttr ?? null,
    classified: r?.classified ?? 0,
    closed: r?.closed ?? 0,
  };
}

/**
 * Recurring drift sources in `(now − windowMs, now]` (§26), most first (then the latest first):
 * - `finding`: the same finding id (unit and fingerprint) detected in two or more runs: it was
 *   closed and came back;
 * - `field`: the same changed field of a unit in two or more distinct findings.
 * A source recurs when it counts at least `minCount` (default 2). At most `limit` (default 20).
 */
export async function recurringSources(db: SqlDb, now: Date, windowMs: number, opts: { minCount?: number; limit?: number } = {}): Promise<RecurringSource[]> {
  const from = new Date(now.getTime() - windowMs);
  const min = opts.minCount ?? 2;
  const limit = opts.limit ?? 20;
  const [findings, fields] = await Promise.all([
    db.query<{ finding_id: string; unit: string; resource_ref: string; n: number; last_at: Date }>(
      `SELECT finding_id, unit, max(resource_ref) AS resource_ref, count(*)::int AS n, max(detected_at) AS last_at
         FROM lifecycles
        WHERE detected_at > $2 AND detected_at <= $1
        GROUP BY finding_id, unit
       HAVING count(*) >= $3
        ORDER BY n DESC, last_at DESC, finding_id
        LIMIT $4`,
      [now, from, min, limit],
    ),
    db.query<{ unit: string; field: string; n: number; last_at: Date }>(
      `SELECT l.unit, f.field, count(DISTINCT l.finding_id)::int AS n, max(l.detected_at) AS last_at
         FROM lifecycles l CROSS JOIN LATERAL jsonb_array_elements_text(l.changed_fields) AS f(field)
        WHERE l.detected_at > $2 AND l.detected_at <= $1
        GROUP BY l.unit, f.field
       HAVING count(DISTINCT l.finding_id) >= $3
        ORDER BY n DESC, last_at DESC, l.unit, f.field
        LIMIT $4`,
      [now, from, min, limit],
    ),
  ]);
  const out: RecurringSource[] = [
    ...findings.map((r) => ({ kind: 'finding' as const, unit: r.unit, findingId: r.finding_id, resourceRef: r.resource_ref, count: Number(r.n), lastAt: r.last_at.toISOString() })),
    ...fields.map((r) => ({ kind: 'field' as const, unit: r.unit, field: r.field, count: Number(r.n), lastAt: r.last_at.toISOString() })),
  ];
  return out.sort((a, b) => b.count - a.count || b.lastAt.localeCompare(a.lastAt) || a.kind.localeCompare(b.kind)).slice(0, limit);
}

/** A budget's last routed state (`budget_alerts`). */
export interface BudgetAlertRecord {
  budget: string;
  state: BudgetState;
  since: Date;
  /** Null while the change of state is still to be notified. */
  notifiedAt: Date | null;
  /** Where the alert went (the "recovered" notification goes there too). */
  targets: string[];
  route: string | null;
}

/** Every budget's last routed state, by budget. */
export async function readBudgetAlerts(db: SqlDb): Promise<Map<string, BudgetAlertRecord>> {
  const rows = await db.query<{ budget: string; state: BudgetState; since: Date; notified_at: Date | null; targets: string[]; route: string | null }>(
    'SELECT budget, state, since, notified_at, targets, route FROM budget_alerts',
  );
  return new Map(rows.map((r) => [r.budget, { budget: r.budget, state: r.state, since: r.since, notifiedAt: r.notified_at, targets: r.targets, route: r.route }]));
}

/**
 * Records a budget's new state (only when it differs from the recorded one), to be notified:
 * `notifiedAt` stays null until {@link markBudgetNotified}, so an evaluation that stopped between
 * the two notifies on its retry. `notify: false` records it as already notified (a budget first
 * seen ok has nothing to tell). Returns true when the state changed.
 */
export async function recordBudgetState(
  db: SqlDb,
  change: { budget: string; state: BudgetState; at: Date; targets: string[]; route?: string; remaining: number; notify: boolean },
): Promise<boolean> {
  const rows = await db.query<{ budget: string }>(
    `INSERT INTO budget_alerts (budget, state, since, notified_at, targets, route, remaining)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
     ON CONFLICT (budget) DO UPDATE
        SET state = excluded.state, since = excluded.since, notified_at = excluded.notified_at,
            targets = excluded.targets, route = excluded.route, remaining = excluded.remaining
      WHERE budget_alerts.state <> excluded.state
     RETURNING budget`,
    [change.budget, change.state, change.at, change.notify ? null : change.at, JSON.stringify(change.targets), change.route ?? null, change.remaining],
  );
  return rows.length > 0;
}

/** Marks a budget's recorded state as notified (only if it is still `state` and not yet notified). */
export async function markBudgetNotified(db: SqlDb, budget: string, state: BudgetState, at: Date): Promise<void> {
  await db.query('UPDATE budget_alerts SET notified_at = $3 WHERE budget = $1 AND state = $2 AND notified_at IS NULL', [budget, state, at]);
}
