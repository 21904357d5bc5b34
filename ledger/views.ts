/**
 * The dashboard's read queries (§21): each returns a plain view model the HTML modules in
 * serve/dashboard render. Everything is computed in SQL over the ledger (lifecycles, steps,
 * detection records, hotfix windows), the same on PostgreSQL and PGlite. "Open" means a lifecycle
 * run that has not closed (`closed_at IS NULL`); "the window" is the rolling budget window
 * (DRIFTPLANE_BUDGET_WINDOW) ending now.
 */
import { meanTimes } from './budgets';
import type { SqlDb } from './db';

/** The label of a group whose key is NULL (a lifecycle not classified yet). */
export const UNCLASSIFIED = 'unclassified';

/** One lifecycle run, as the dashboard lists it. */
export interface FindingSummary {
  findingId: string;
  runId: string;
  unit: string;
  resourceRef: string;
  environment?: string;
  domain?: string;
  owner?: string;
  driftClass?: string;
  risk?: string;
  action?: string;
  stage: string;
  outcome?: string;
  approvalKind?: string;
  prUrl?: string;
  prState?: string;
  verifyClean?: boolean;
  changedFields: string[];
  detectedAt: Date;
  classifiedAt?: Date;
  closedAt?: Date;
}

/** A count per key (environment, domain, class), with how many are still open. */
export interface GroupCount {
  key: string;
  open: number;
  total: number;
}

/** The executive view's figures from the ledger (budgets and recurring sources come from ledger/budgets). */
export interface ExecutiveFigures {
  since: Date;
  openCritical: number;
  openTotal: number;
  /** Mean time to classify (detected → classified) of the runs classified in the window (`meanTimes`); undefined when none. */
  mttcMs?: number;
  classifiedInWindow: number;
  /** Mean time to reconcile (detected → closed) of the runs closed in the window; undefined when none. */
  mttrMs?: number;
  closedInWindow: number;
  /** Runs open now or detected in the window, by environment / domain / class: open and total. */
  byEnvironment: GroupCount[];
  byDomain: GroupCount[];
  byClass: GroupCount[];
}

/** MTTR of the runs closed in one UTC week (starting Monday). */
export interface MttrWeek {
  week: string;
  mttrMs: number;
  closed: number;
}

const FINDING_COLUMNS = `finding_id, run_id, unit, resource_ref, environment, domain, owner, drift_class, risk, action, stage,
  outcome, approval_kind, pr_url, pr_state, verify_clean, changed_fields, detected_at, classified_at, closed_at`;

interface FindingDbRow {
  finding_id: string;
  run_id: string;
  unit: string;
  resource_ref: string;
  environment: string | null;
  domain: string | null;
  owner: string | null;
  drift_class: string | null;
  risk: string | null;
  action: string | null;
  stage: string;
  outcome: string | null;
  approval_kind: string | null;
  pr_url: string | null;
  pr_state: string | null;
  verify_clean: boolean | null;
  changed_fields: unknown;
  detected_at: Date;
  classified_at: Date | null;
  closed_at: Date | null;
}

/** Copies the non-null values of `entries` into an object (optional fields stay absent, not undefined). */
function defined<T extends object>(entries: Record<string, unknown>): Partial<T> {
  return Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== null && v !== undefined)) as Partial<T>;
}

function toFinding(r: FindingDbRow): FindingSummary {
  return {
    findingId: r.finding_id,
    runId: r.run_id,
    unit: r.unit,
    resourceRef: r.resource_ref,
    stage: r.stage,
    changedFields: Array.isArray(r.changed_fields) ? r.changed_fields.map(String) : [],
    detectedAt: r.detected_at,
    ...defined<FindingSummary>({
      environment: r.environment,
      domain: r.domain,
      owner: r.owner,
      driftClass: r.drift_class,
      risk: r.risk,
      action: r.action,
      outcome: r.outcome,
      approvalKind: r.approval_kind,
      prUrl: r.pr_url,
      prState: r.pr_state,
      verifyClean: r.verify_clean,
      classifiedAt: r.classified_at,
      closedAt: r.closed_at,
    }),
  };
}

const msOrUndefined = (seconds: number | null): number | undefined => (seconds === null || Number.isNaN(seconds) ? undefined : seconds * 1000);

/**
 * Weekly MTTR of the runs closed in each of the last `weeks` UTC weeks (Monday 00:00), oldest
 * first. A trend changes by the week: the dashboard refreshes it with the budgets (once a minute),
 * not on every request.
 */
export async function mttrTrend(db: SqlDb, now: Date, weeks = 12): Promise<MttrWeek[]> {
  const since = new Date(now.getTime() - weeks * 7 * 86_400_000);
  // Weeks start on Monday 00:00 UTC (epoch 345600 s is Monday 1970-01-05). date_part is float8:
  // much cheaper per row than extract (numeric) over a large ledger.
  const rows = await db.query<{ w: number; mttr_ms: number; closed: number }>(
    `SELECT floor((date_part('epoch', closed_at) - 345600) / 604800)::int AS w,
            (avg(date_part('epoch', closed_at) - date_part('epoch', detected_at)) * 1000)::float8 AS mttr_ms, count(*)::int AS closed
       FROM lifecycles
      WHERE closed_at >= $1
      GROUP BY 1 ORDER BY 1`,
    [since],
  );
  return rows.map((r) => ({ week: new Date((345_600 + r.w * 604_800) * 1000).toISOString().slice(0, 10), mttrMs: r.mttr_ms, closed: r.closed }));
}

/**
 * The executive view's ledger figures (§21.1): open critical drift, MTTC and MTTR over the window,
 * drift by environment, domain and class. Three statements, each one pass over `lifecycles` (or an
 * index of it). MTTC and MTTR are ledger/budgets.ts `meanTimes`; the weekly trend is {@link mttrTrend}.
 */
export async function executiveFigures(db: SqlDb, opts: { now: Date; windowMs: number }): Promise<ExecutiveFigures> {
  const since = new Date(opts.now.getTime() - opts.windowMs);
  const [totals, times, groups] = await Promise.all([
    db.query<{ open_critical: number; open_total: number }>(
      `SELECT count(*) FILTER (WHERE risk = 'CRITICAL')::int AS open_critical, count(*)::int AS open_total
         FROM lifecycles WHERE closed_at IS NULL`,
    ),
    // The budgets' own definition of MTTC and MTTR (one implementation): ledger/budgets.ts.
    meanTimes(db, opts.now, opts.windowMs),
    db.query<{ environment: string | null; domain: string | null; drift_class: string | null; g: number; open: number; total: number }>(
      `SELECT environment, domain, drift_class, GROUPING(environment, domain, drift_class)::int AS g,
              count(*) FILTER (WHERE closed_at IS NULL)::int AS open, count(*)::int AS total
         FROM lifecycles
        WHERE closed_at IS NULL OR detected_at >= $1
        GROUP BY GROUPING SETS ((environment), (domain), (drift_class))`,
      [since],
    ),
  ]);
  const t = totals[0];
  const pick = (g: number, key: (r: (typeof groups)[number]) => string | null): GroupCount[] =>
    groups
      .filter((r) => r.g === g)
      .map((r) => ({ key: key(r) ?? UNCLASSIFIED, open: r.open, total: r.total }))
      .sort((a, b) => b.open - a.open || b.total - a.total || a.key.localeCompare(b.key));
  // GROUPING(environment, domain, drift_class): a bit is set for each column NOT grouped by.
  return {
    since,
    openCritical: t?.open_critical ?? 0,
    openTotal: t?.open_total ?? 0,
    ...defined<ExecutiveFigures>({ mttcMs: msOrUndefined(times.mttcSeconds), mttrMs: msOrUndefined(times.mttrSeconds) }),
    classifiedInWindow: times.classified,
    closedInWindow: times.closed,
    byEnvironment: pick(0b011, (r) => r.environment),
    byDomain: pick(0b101, (r) => r.domain),
    byClass: pick(0b110, (r) => r.drift_class),
  };
}

/** One unit's detection record as the platform view reads it. */
export interface UnitDetectionRow {
  unit: string;
  firstSeenAt?: Date;
  lastAttemptAt?: Date;
  lastResult?: string;
  lastSuccessAt?: Date;
  lastErrorAt?: Date;
  lastError?: string;
  consecutiveFailures: number;
  coverage?: { coveredTypes: number; totalTypes: number; coveredResources: number; totalResources: number; uncoveredTypes: string[] };
  coverageAt?: Date;
}

/** The platform view's ledger figures (§21.2); staleness and ignored exception paths are joined with the registry by the view. */
export interface PlatformFigures {
  since: Date;
  detections: UnitDetectionRow[];
  /** Units whose failed attempts mention a (state) lock in the window. */
  lockContention: { unit: string; attempts: number; lastAt: Date; lastError: string }[];
  /** Provider upgrades that explain drift, and provider read noise, in the window. */
  noisyProviders: { from: string; to: string; findings: number; units: number }[];
  /** Open runs, oldest first. */
  longestOpen: FindingSummary[];
  /** Changed fields of IGNORE decisions in the window, most often first. */
  ignoredFields: { field: string; count: number }[];
  /** Auto-healed runs in the window: reconciled, closed otherwise, still open. */
  autoHeal: { succeeded: number; failed: number; inProgress: number };
}

/** The platform view's figures: detection records, lock contention, noisy providers, longest open, ignored fields, auto-heal. */
export async function platformFigures(db: SqlDb, opts: { now: Date; windowMs: number; limit?: number }): Promise<PlatformFigures> {
  const since = new Date(opts.now.getTime() - opts.windowMs);
  const limit = opts.limit ?? 10;
  const [detections, locks, providers, longest, ignored, heal] = await Promise.all([
    db.query<{
      unit: string;
      first_seen_at: Date | null;
      last_attempt_at: Date | null;
      last_result: string | null;
      last_success_at: Date | null;
      last_error_at: Date | null;
      last_error: string | null;
      consecutive_failures: number;
      coverage: UnitDetectionRow['coverage'] | null;
      coverage_at: Date | null;
    }>('SELECT * FROM unit_detection ORDER BY unit'),
    db.query<{ unit: string; attempts: number; last_at: Date; last_error: string }>(
      `SELECT unit, count(*)::int AS attempts, max(at) AS last_at,
              (array_agg(error ORDER BY at DESC))[1] AS last_error
         FROM detection_attempts
        WHERE at >= $1 AND result = 'failed' AND error ~* '\\mlock(ed|ing|s)?\\M'
        GROUP BY unit ORDER BY attempts DESC, unit LIMIT $2`,
      [since, limit],
    ),
    db.query<{ from: string; to: string; findings: number; units: number }>(
      `SELECT coalesce(provider_versions->>'from', 'unknown') AS "from", coalesce(provider_versions->>'to', 'unknown') AS "to",
              count(*)::int AS findings, count(DISTINCT unit)::int AS units
         FROM lifecycles
        WHERE detected_at >= $1 AND (provider_versions IS NOT NULL OR drift_class = 'PROVIDER_READ_NOISE')
        GROUP BY 1, 2 ORDER BY findings DESC, 1, 2 LIMIT $2`,
      [since, limit],
    ),
    db.query<FindingDbRow>(`SELECT ${FINDING_COLUMNS} FROM lifecycles WHERE closed_at IS NULL ORDER BY detected_at, finding_id LIMIT $1`, [limit]),
    db.query<{ field: string; count: number }>(
      `SELECT f AS field, count(*)::int AS count
         FROM lifecycles CROSS JOIN LATERAL jsonb_array_elements_text(changed_fields) AS f
        WHERE action = 'IGNORE' AND detected_at >= $1
        GROUP BY f ORDER BY count DESC, f LIMIT $2`,
      [since, limit],
    ),
    db.query<{ succeeded: number; failed: number; in_progress: number }>(
      `SELECT count(*) FILTER (WHERE outcome = 'RECONCILED')::int AS succeeded,
              count(*) FILTER (WHERE closed_at IS NOT NULL AND coalesce(outcome, '') <> 'RECONCILED')::int AS failed,
              count(*) FILTER (WHERE closed_at IS NULL)::int AS in_progress
         FROM lifecycles
        WHERE approval_kind = 'auto-heal' AND detected_at >= $1`,
      [since],
    ),
  ]);
  return {
    since,
    detections: detections.map((r) => ({
      unit: r.unit,
      consecutiveFailures: r.consecutive_failures,
      ...defined<UnitDetectionRow>({
        firstSeenAt: r.first_seen_at,
        lastAttemptAt: r.last_attempt_at,
        lastResult: r.last_result,
        lastSuccessAt: r.last_success_at,
        lastErrorAt: r.last_error_at,
        lastError: r.last_error,
        coverage: r.coverage,
        coverageAt: r.coverage_at,
      }),
    })),
    lockContention: locks.map((r) => ({ unit: r.unit, attempts: r.attempts, lastAt: r.last_at, lastError: r.last_error })),
    noisyProviders: providers,
    longestOpen: longest.map(toFinding),
    ignoredFields: ignored,
    autoHeal: { succeeded: heal[0]?.succeeded ?? 0, failed: heal[0]?.failed ?? 0, inProgress: heal[0]?.in_progress ?? 0 },
  };
}

/** The service-owner view's ledger figures for one team (§21.3). */
export interface OwnerFigures {
  team: string;
  since: Date;
  /** The team's runs open now or detected in the window, newest first. */
  findings: FindingSummary[];
  /** Open runs waiting for a person: routed, with an action to take. */
  requiredActions: FindingSummary[];
  /** Runs whose reconciliation PR is open. */
  prsWaiting: FindingSummary[];
  /** The team's latest run closed RECONCILED. */
  lastReconciled?: FindingSummary;
}

/** The service-owner view's figures: only runs whose owner is `team`. */
export async function ownerFigures(db: SqlDb, team: string, opts: { now: Date; windowMs: number; limit?: number }): Promise<OwnerFigures> {
  const since = new Date(opts.now.getTime() - opts.windowMs);
  const limit = opts.limit ?? 200;
  const [findings, actions, prs, last] = await Promise.all([
    db.query<FindingDbRow>(
      `SELECT ${FINDING_COLUMNS} FROM lifecycles WHERE owner = $1 AND (closed_at IS NULL OR detected_at >= $2)
        ORDER BY detected_at DESC, finding_id LIMIT $3`,
      [team, since, limit],
    ),
    db.query<FindingDbRow>(
      `SELECT ${FINDING_COLUMNS} FROM lifecycles
        WHERE owner = $1 AND closed_at IS NULL AND stage = 'routed' AND coalesce(action, 'NONE') <> 'NONE'
        ORDER BY detected_at, finding_id LIMIT $2`,
      [team, limit],
    ),
    db.query<FindingDbRow>(
      `SELECT ${FINDING_COLUMNS} FROM lifecycles WHERE owner = $1 AND pr_state = 'open' ORDER BY detected_at, finding_id LIMIT $2`,
      [team, limit],
    ),
    db.query<FindingDbRow>(
      `SELECT ${FINDING_COLUMNS} FROM lifecycles WHERE owner = $1 AND outcome = 'RECONCILED' AND closed_at IS NOT NULL
        ORDER BY closed_at DESC, finding_id LIMIT 1`,
      [team],
    ),
  ]);
  return {
    team,
    since,
    findings: findings.map(toFinding),
    requiredActions: actions.map(toFinding),
    prsWaiting: prs.map(toFinding),
    ...(last[0] ? { lastReconciled: toFinding(last[0]) } : {}),
  };
}

/** What makes a run belong to a section of the security view (§21.4). */
export type SecuritySection = 'identity' | 'network' | 'secrets' | 'artifacts' | 'breakGlass';

/** The SQL predicate of each security section (over one `lifecycles` row). */
export const SECURITY_SECTION_SQL: Record<SecuritySection, string> = {
  // Identity: the IDENTITY_DRIFT class, or any drift in the iam domain.
  identity: `(drift_class = 'IDENTITY_DRIFT' OR domain = 'iam')`,
  // Network exposure: the network domain, or a changed ingress/egress/CIDR field anywhere.
  network: `(domain = 'network' OR changed_fields::text ~* '(ingress|egress|cidr|sourceRanges)')`,
  // Secret freshness: ESO / secret delivery drift, or the secrets domain.
  secrets: `(drift_class = 'SECRET_DELIVERY_DRIFT' OR domain = 'secrets')`,
  // Unverified artifacts: an image (artifact) changed and the run has not verified clean.
  artifacts: `(changed_fields::text ~* 'image' AND verify_clean IS NOT TRUE)`,
  // Break-glass changes not reconciled: EMERGENCY_DRIFT whose outcome is not RECONCILED (yet).
  breakGlass: `(drift_class = 'EMERGENCY_DRIFT' AND coalesce(outcome, '') <> 'RECONCILED')`,
};

/** The security view's figures. */
export interface SecurityFigures {
  since: Date;
  /** Per section: its runs open now or detected in the window (newest first), and how many are open. */
  sections: Record<SecuritySection, { open: number; findings: FindingSummary[] }>;
  openHotfixWindows: { windowId: string; unit?: string; incident?: string; openedAt: Date; deadline?: Date; attached: number }[];
}

/** The security view's figures: identity, network exposure, secrets, artifacts, break-glass, open hotfix windows. */
export async function securityFigures(db: SqlDb, opts: { now: Date; windowMs: number; limit?: number }): Promise<SecurityFigures> {
  const since = new Date(opts.now.getTime() - opts.windowMs);
  const limit = opts.limit ?? 100;
  const names = Object.keys(SECURITY_SECTION_SQL) as SecuritySection[];
  const [rows, windows] = await Promise.all([
    db.query<FindingDbRow & Record<SecuritySection, boolean>>(
      `SELECT * FROM (
         SELECT ${FINDING_COLUMNS}, ${names.map((n) => `${SECURITY_SECTION_SQL[n]} AS "${n}"`).join(', ')}
           FROM lifecycles WHERE closed_at IS NULL OR detected_at >= $1) s
        WHERE ${names.map((n) => `"${n}"`).join(' OR ')}
        ORDER BY detected_at DESC, finding_id`,
      [since],
    ),
    db.query<{ window_id: string; unit: string | null; incident: string | null; opened_at: Date; deadline: Date | null; attached: number }>(
      `SELECT window_id, unit, incident, opened_at, deadline, attached FROM hotfix_windows WHERE state = 'open' ORDER BY opened_at, window_id`,
    ),
  ]);
  const sections = Object.fromEntries(
    names.map((n) => {
      const of = rows.filter((r) => r[n]);
      return [n, { open: of.filter((r) => r.closed_at === null).length, findings: of.slice(0, limit).map(toFinding) }];
    }),
  ) as SecurityFigures['sections'];
  return {
    since,
    sections,
    openHotfixWindows: windows.map((w) => ({
      windowId: w.window_id,
      openedAt: w.opened_at,
      attached: w.attached,
      ...defined<SecurityFigures['openHotfixWindows'][number]>({ unit: w.unit, incident: w.incident, deadline: w.deadline }),
    })),
  };
}

/** One lifecycle run in full, for the finding page. */
export interface FindingRun extends FindingSummary {
  rules: { ruleId: string; why: string }[];
  actor?: string;
  approvals: number;
  escalations: number;
  reconcileDetail?: string;
  incidentId?: string;
  regression: boolean;
}

/** The finding page's ledger data: every run, its steps (timeline) and its answers. */
export interface FindingDetail {
  findingId: string;
  runs: FindingRun[];
  steps: { runId: string; step: string; seq: number; at: Date; summary: Record<string, unknown> }[];
  approvals: { runId: string; step: string; approver: string; answer: string; via?: string; at: Date }[];
}

/** A finding's runs (oldest first), its timeline (by run, then seq) and answers; undefined when the ledger has no such finding. */
export async function findingDetail(db: SqlDb, findingId: string): Promise<FindingDetail | undefined> {
  const [runs, steps, approvals] = await Promise.all([
    db.query<FindingDbRow & { rules: unknown; actor: string | null; approvals: number; escalations: number; reconcile_detail: string | null; incident_id: string | null; regression: boolean }>(
      `SELECT ${FINDING_COLUMNS}, rules, actor, approvals, escalations, reconcile_detail, incident_id, regression
         FROM lifecycles WHERE finding_id = $1 ORDER BY detected_at, run_id`,
      [findingId],
    ),
    db.query<{ run_id: string; step: string; seq: number; at: Date; summary: unknown }>(
      'SELECT run_id, step, seq, at, summary FROM lifecycle_steps WHERE finding_id = $1 ORDER BY seq, at, step',
      [findingId],
    ),
    db.query<{ run_id: string; step: string; approver: string; answer: string; via: string | null; at: Date }>(
      'SELECT run_id, step, approver, answer, via, at FROM approvals WHERE finding_id = $1 ORDER BY at, approver',
      [findingId],
    ),
  ]);
  if (runs.length === 0 && steps.length === 0) return undefined;
  return {
    findingId,
    runs: runs.map((r) => ({
      ...toFinding(r),
      rules: Array.isArray(r.rules) ? (r.rules as { ruleId?: unknown; why?: unknown }[]).map((x) => ({ ruleId: String(x.ruleId ?? ''), why: String(x.why ?? '') })) : [],
      approvals: r.approvals,
      escalations: r.escalations,
      regression: r.regression,
      ...defined<FindingRun>({ actor: r.actor, reconcileDetail: r.reconcile_detail, incidentId: r.incident_id }),
    })),
    steps: steps.map((s) => ({ runId: s.run_id, step: s.step, seq: s.seq, at: s.at, summary: (s.summary && typeof s.summary === 'object' ? s.summary : {}) as Record<string, unknown> })),
    approvals: approvals.map((a) => ({ runId: a.run_id, step: a.step, approver: a.approver, answer: a.answer, at: a.at, ...defined<{ via: string }>({ via: a.via }) })),
  };
}
