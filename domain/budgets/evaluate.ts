/**
 * Drift budgets and SLOs (§10, §10.1), evaluated from plain ledger rows. Pure: the ledger
 * (ledger/budgets.ts) reads the rows and calls {@link evaluateBudgets}; tests pass rows by hand.
 *
 * Scope. A budget covers the lifecycles (one row per finding run) whose environment and domain are
 * the budget's, and, when it sets `minRisk`, whose risk is at least that. Environment, domain and
 * risk come from the classified decision; before a finding is classified its environment and domain
 * are its unit's (from the registry) and its risk is unknown: an unclassified finding is in the
 * scope of every budget of its unit's environment and domain whatever their `minRisk`, because it
 * may turn out to be that risky (that is what "0 unclassified high-risk IAM drift" guards).
 * The units a budget covers (for `detectionInterval`) are the registry units of its environment
 * and domain (`unitDomain`: a database unit is `database`, an external secret `secrets`).
 *
 * Limits, judged at `now`; breaking one exhausts the budget:
 * - `maxUnclassified`: more open findings in scope not yet classified than allowed;
 * - `maxAge`: an open finding in scope detected longer ago than `maxAge`;
 * - `detectionInterval`: a unit in scope whose last successful detection is older than the interval,
 *   or that never succeeded for longer than the interval since driftplane first saw it, or that has
 *   no detection record at all (the same rule as the staleness sweep's `isOverdue`).
 *
 * Objectives (`timeToClassify`, `timeToReconcile`: `percent` of findings within `within`). Each
 * finding in scope is an event:
 * - timeToClassify: good when `classified_at − detected_at ≤ within`; bad when classified later, or
 *   still unclassified more than `within` after detection; still unclassified within `within`:
 *   pending, not counted.
 * - timeToReconcile: good when closed within `within` with outcome RECONCILED (remediated) or
 *   NO_ACTION (the decision was NONE or IGNORE: explicitly accepted, §10.1 "remediated or explicitly
 *   accepted"); bad when closed later, or closed with any other outcome (REJECTED, EXPIRED, FAILED,
 *   UNVERIFIED: the drift was not reconciled), or still open more than `within` after detection;
 *   still open within `within`: pending.
 * An event counts at the instant its result became known: a good one when it was classified
 * (closed), a bad one at `detected_at + within` (when the deadline passed), or when it closed
 * with a bad outcome if that was earlier. Compliance, the error budget left and every burn rate
 * count the events known in their window `(t − w, t]`, so the remaining budget is exactly
 * `1 − burn rate over the whole window`.
 *
 * Error budget `1 − percent/100`; remaining `1 − (bad/total)/errorBudget` clipped to 0..1 (1 with no
 * events; a 100 % objective is spent by any bad event). Burn rates and alerts: burn-rate.ts.
 *
 * State: exhausted when a limit is broken or an objective has no budget left; burning when a page
 * or ticket alert fires; ok otherwise. `remaining` is the least remaining of the objectives (1 when
 * the budget has none): a broken limit shows in `state` and `reasons`, not in `remaining`.
 *
 * History (the burn chart): `remaining` at evenly spaced instants over the window, each computed
 * by this same evaluation with the earlier instant as `now`, from the rows as they stood then
 * (a finding classified or closed later counts as unclassified or open then).
 */
import { overdueAt } from '../schedules';
import { unitDomain } from '../registry/resolve';
import { parseDuration } from '../registry/durations';
import type { DriftBudget, DriftManagedUnit } from '../registry/schemas';
import { alertsFor, atLeast, burnRate, formatWindow } from './burn-rate';
import type { BudgetState, BurnAlert, BurnRate, EvaluatedBudget, LimitReport, MeanTimes, ObjectiveReport } from './report';

/** One lifecycle run as the ledger holds it (the columns a budget reads). */
export interface BudgetFindingRow {
  findingId: string;
  runId: string;
  unit: string;
  /** From the classified decision; null until classified. */
  environment: string | null;
  domain: string | null;
  /** CRITICAL 4 … INFO 0; null until classified. */
  riskRank: number | null;
  driftClass: string | null;
  outcome: string | null;
  detectedAt: Date;
  classifiedAt: Date | null;
  closedAt: Date | null;
}

/** A unit's detection record (ledger `unit_detection`). */
export interface BudgetDetectionRow {
  unit: string;
  firstSeenAt: Date | null;
  lastSuccessAt: Date | null;
}

/** A registry unit as a budget sees it. */
export interface BudgetUnit {
  name: string;
  environment: string;
  domain?: string;
}

/** The units of a registry as budgets see them (domain as `unitDomain` gives it). */
export function budgetUnitsOf(units: Iterable<DriftManagedUnit>): BudgetUnit[] {
  const out: BudgetUnit[] = [];
  for (const u of units) {
    const domain = unitDomain(u);
    out.push({ name: u.metadata.name, environment: u.spec.environment, ...(domain ? { domain } : {}) });
  }
  return out;
}

/** A budget whose durations cannot be read (the registry schema normally prevents it). */
export class BudgetDefinitionError extends Error {
  override readonly name = 'BudgetDefinitionError';
  constructor(
    readonly budget: string,
    readonly field: string,
    readonly value: string,
  ) {
    super(`DriftBudget ${budget}: spec.${field} ${JSON.stringify(value)} is not a duration such as 15m, 6h or 7d`);
  }
}

/** Severity words in rank order, as `minRisk` spells them (info 0 … critical 4, like the ledger's risk_rank). */
const SEVERITY_RANK: Record<string, number> = { info: 0, low: 1, medium: 2, high: 3, critical: 4 };

/** Outcomes that meet timeToReconcile: remediated, or explicitly accepted (NONE / IGNORE decisions). */
export const GOOD_CLOSE_OUTCOMES: readonly string[] = ['RECONCILED', 'NO_ACTION'];

/** What {@link evaluateBudgets} needs. */
export interface BudgetEvaluationInput {
  budgets: readonly DriftBudget[];
  units: readonly BudgetUnit[];
  findings: readonly BudgetFindingRow[];
  detections: readonly BudgetDetectionRow[];
  now: Date;
  /** The rolling window the objectives are judged over (config.ledger.budgetWindow, default 30d). */
  windowMs: number;
  /** Points in the burn chart (history), evenly spaced over the window, the last at `now`; 0 for none. Default 30. */
  historyPoints?: number;
}

/** A row as it stood at `t` (ms): later classification and closing undone. Undefined when detected after `t`. */
interface Row {
  findingId: string;
  unit: string;
  environment?: string;
  domain?: string;
  riskRank?: number;
  driftClass?: string;
  outcome?: string;
  detected: number;
  classified?: number;
  closed?: number;
}

function asOf(r: BudgetFindingRow, t: number, units: ReadonlyMap<string, BudgetUnit>): Row | undefined {
  const detected = r.detectedAt.getTime();
  if (detected > t) return undefined;
  const classified = r.classifiedAt && r.classifiedAt.getTime() <= t ? r.classifiedAt.getTime() : undefined;
  const closed = r.closedAt && r.closedAt.getTime() <= t ? r.closedAt.getTime() : undefined;
  const unit = units.get(r.unit);
  const environment = (classified !== undefined ? r.environment : null) ?? unit?.environment;
  const domain = (classified !== undefined ? r.domain : null) ?? unit?.domain;
  return {
    findingId: r.findingId,
    unit: r.unit,
    detected,
    ...(environment ? { environment } : {}),
    ...(domain ? { domain } : {}),
    ...(classified !== undefined && r.riskRank !== null ? { riskRank: r.riskRank } : {}),
    ...(classified !== undefined && r.driftClass ? { driftClass: r.driftClass } : {}),
    ...(classified !== undefined ? { classified } : {}),
    ...(closed !== undefined ? { closed, ...(r.outcome ? { outcome: r.outcome } : {}) } : {}),
  };
}

/** True when a row (as of its instant) is in the budget's scope. Unclassified rows have no risk yet: in scope. */
function inScope(row: Row, budget: DriftBudget, minRank: number | undefined): boolean {
  if (row.environment !== budget.spec.environment || row.domain !== budget.spec.domain) return false;
  return minRank === undefined || row.riskRank === undefined || row.riskRank >= minRank;
}

/** One event of an objective: good or bad, known at `at`; or pending. */
type Event = { result: 'good' | 'bad'; at: number } | { result: 'pending' };

function classifyEvent(row: Row, withinMs: number, t: number): Event {
  const deadline = row.detected + withinMs;
  if (row.classified !== undefined) return row.classified <= deadline ? { result: 'good', at: row.classified } : { result: 'bad', at: deadline };
  return t > deadline ? { result: 'bad', at: deadline } : { result: 'pending' };
}

function reconcileEvent(row: Row, withinMs: number, t: number): Event {
  const deadline = row.detected + withinMs;
  if (row.closed !== undefined) {
    const good = GOOD_CLOSE_OUTCOMES.includes(row.outcome ?? '');
    if (good && row.closed <= deadline) return { result: 'good', at: row.closed };
    // Closed unreconciled: bad as soon as it closed (or at the deadline, whichever came first).
    return { result: 'bad', at: Math.min(row.closed, deadline) };
  }
  return t > deadline ? { result: 'bad', at: deadline } : { result: 'pending' };
}

/** Good and bad events known in `(t − w, t]`. */
function countIn(events: readonly Event[], t: number, w: number): { good: number; bad: number } {
  let good = 0;
  let bad = 0;
  for (const e of events) {
    if (e.result === 'pending' || e.at <= t - w || e.at > t) continue;
    if (e.result === 'good') good++;
    else bad++;
  }
  return { good, bad };
}

/** 1 − (bad/total)/errorBudget, clipped to 0..1; 1 with no events; a zero error budget is spent by any bad event. */
export function remainingBudget(bad: number, total: number, errorBudget: number): number {
  if (total === 0 || bad === 0) return 1;
  if (errorBudget <= 0) return 0;
  return Math.min(1, Math.max(0, 1 - bad / total / errorBudget));
}

type ObjectiveName = 'timeToClassify' | 'timeToReconcile';
const OBJECTIVES: readonly ObjectiveName[] = ['timeToClassify', 'timeToReconcile'];

function durationOf(budget: DriftBudget, field: string, value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new BudgetDefinitionError(budget.metadata.name, field, value);
  return ms;
}

function evaluateObjective(name: ObjectiveName, spec: { within: string; percent: number }, withinMs: number, rows: readonly Row[], t: number, windowMs: number): ObjectiveReport {
  const events = rows.map((r) => (name === 'timeToClassify' ? classifyEvent(r, withinMs, t) : reconcileEvent(r, withinMs, t)));
  const pending = events.filter((e) => e.result === 'pending').length;
  const { good, bad } = countIn(events, t, windowMs);
  const total = good + bad;
  // Rounded to 12 significant digits: 1 − 99/100 is 0.010000000000000009 in floating point.
  const errorBudget = Number((1 - spec.percent / 100).toPrecision(12));
  const specs = alertsFor(windowMs);
  const windows = [...new Set([...specs.flatMap((a) => [a.shortMs, a.longMs]), windowMs])].sort((a, b) => a - b);
  const burnRates: BurnRate[] = windows.map((w) => {
    const c = countIn(events, t, w);
    return { window: formatWindow(w), windowMs: w, total: c.good + c.bad, bad: c.bad, rate: burnRate(c.bad, c.good + c.bad, errorBudget) };
  });
  const rateOf = (w: number) => burnRates.find((b) => b.windowMs === w)?.rate ?? 0;
  const alerts: BurnAlert[] = specs.map((a) => {
    const longRate = rateOf(a.longMs);
    const shortRate = rateOf(a.shortMs);
    return {
      severity: a.severity,
      long: formatWindow(a.longMs),
      short: formatWindow(a.shortMs),
      threshold: a.threshold,
      longRate,
      shortRate,
      firing: atLeast(longRate, a.threshold) && atLeast(shortRate, a.threshold),
    };
  });
  return {
    objective: name,
    within: spec.within,
    withinMs,
    percent: spec.percent,
    total,
    good,
    bad,
    pending,
    compliance: total === 0 ? null : (good / total) * 100,
    errorBudget,
    remaining: remainingBudget(bad, total, errorBudget),
    burnRates,
    alerts,
  };
}

/** Mean detected → classified and detected → closed over rows classified (closed) in `(t − w, t]`. */
export function meanTimesOf(rows: readonly { detected: number; classified?: number; closed?: number }[], t: number, windowMs: number): MeanTimes {
  let classified = 0;
  let classifyMs = 0;
  let closed = 0;
  let closeMs = 0;
  for (const r of rows) {
    if (r.classified !== undefined && r.classified > t - windowMs && r.classified <= t) {
      classified++;
      classifyMs += r.classified - r.detected;
    }
    if (r.closed !== undefined && r.closed > t - windowMs && r.closed <= t) {
      closed++;
      closeMs += r.closed - r.detected;
    }
  }
  return {
    mttcSeconds: classified ? classifyMs / classified / 1000 : null,
    mttrSeconds: closed ? closeMs / closed / 1000 : null,
    classified,
    closed,
  };
}

/** Mean times over plain ledger rows as they stood at `now` (every row, no scope). */
export function meanTimesOfRows(findings: readonly BudgetFindingRow[], now: Date, windowMs: number): MeanTimes {
  const t = now.getTime();
  const rows = findings.flatMap((r) => {
    const row = asOf(r, t, new Map());
    return row ? [row] : [];
  });
  return meanTimesOf(rows, t, windowMs);
}

/**
 * The drift class a budget's notification is routed under (routes match on drift class, §19):
 * DETECTION_STALE when stale detection is all that is wrong; otherwise the class most of the
 * offending findings (open past a limit, or bad events of an objective) were classified as
 * (ties: alphabetical); UNAUTHORIZED_RUNTIME_DRIFT when none of them is classified yet: drift
 * nobody has classified is treated as unauthorized until it is.
 */
function routeClassOf(limits: readonly LimitReport[], offenders: readonly Row[]): string {
  const brokenFindings = limits.some((l) => l.broken && l.limit !== 'detectionInterval');
  const staleOnly = limits.some((l) => l.broken && l.limit === 'detectionInterval') && !brokenFindings && offenders.length === 0;
  if (staleOnly) return 'DETECTION_STALE';
  const counts = new Map<string, number>();
  for (const r of offenders) if (r.driftClass) counts.set(r.driftClass, (counts.get(r.driftClass) ?? 0) + 1);
  const best = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  return best?.[0] ?? 'UNAUTHORIZED_RUNTIME_DRIFT';
}

const percentText = (x: number) => `${Number((x * 100).toFixed(2))} %`;
const ageText = (ms: number) => formatWindow(Math.max(1000, Math.round(ms / 1000) * 1000));

interface Prepared {
  budget: DriftBudget;
  minRank: number | undefined;
  maxAgeMs: number;
  detectionMs: number;
  objectives: { name: ObjectiveName; spec: { within: string; percent: number }; withinMs: number }[];
}

function prepare(budget: DriftBudget): Prepared {
  const s = budget.spec;
  return {
    budget,
    minRank: s.minRisk ? SEVERITY_RANK[s.minRisk] : undefined,
    maxAgeMs: durationOf(budget, 'maxAge', s.maxAge),
    detectionMs: durationOf(budget, 'detectionInterval', s.detectionInterval),
    objectives: OBJECTIVES.flatMap((name) => {
      const spec = s[name];
      return spec ? [{ name, spec, withinMs: durationOf(budget, `${name}.within`, spec.within) }] : [];
    }),
  };
}

function scopedRows(p: Prepared, findings: readonly BudgetFindingRow[], units: ReadonlyMap<string, BudgetUnit>, t: number): Row[] {
  const out: Row[] = [];
  for (const f of findings) {
    const row = asOf(f, t, units);
    if (row && inScope(row, p.budget, p.minRank)) out.push(row);
  }
  return out;
}

/** The least remaining error budget of a budget's objectives at `t` (1 with none): one point of the burn chart. */
function remainingAt(p: Prepared, findings: readonly BudgetFindingRow[], units: ReadonlyMap<string, BudgetUnit>, t: number, windowMs: number): number {
  const rows = scopedRows(p, findings, units, t);
  return Math.min(1, ...p.objectives.map((o) => evaluateObjective(o.name, o.spec, o.withinMs, rows, t, windowMs).remaining));
}

/** Evaluates every budget at `input.now` (see the file comment for the semantics). */
export function evaluateBudgets(input: BudgetEvaluationInput): EvaluatedBudget[] {
  const units = new Map(input.units.map((u) => [u.name, u]));
  const detections = new Map(input.detections.map((d) => [d.unit, d]));
  const t = input.now.getTime();
  const points = input.historyPoints ?? 30;
  return input.budgets.map((budget) => {
    const p = prepare(budget);
    const s = budget.spec;
    const rows = scopedRows(p, input.findings, units, t);
    const open = rows.filter((r) => r.closed === undefined);

    const unclassified = open.filter((r) => r.classified === undefined);
    const old = open.filter((r) => t - r.detected > p.maxAgeMs).sort((a, b) => a.detected - b.detected);
    const scopeUnits = input.units.filter((u) => u.environment === s.environment && u.domain === s.domain);
    const overdue = scopeUnits.filter((u) => {
      const d = detections.get(u.name);
      const success = d?.lastSuccessAt && d.lastSuccessAt.getTime() <= t ? d.lastSuccessAt.getTime() : undefined;
      return overdueAt(success, d?.firstSeenAt?.getTime(), p.detectionMs, t);
    });
    const limits: LimitReport[] = [
      {
        limit: 'maxUnclassified',
        broken: unclassified.length > s.maxUnclassified,
        count: unclassified.length,
        threshold: s.maxUnclassified,
        detail: `${unclassified.length} open finding(s) not yet classified (at most ${s.maxUnclassified})`,
        offenders: unclassified.slice(0, 10).map((r) => r.findingId),
      },
      {
        limit: 'maxAge',
        broken: old.length > 0,
        count: old.length,
        threshold: p.maxAgeMs,
        detail: old[0]
          ? `${old.length} open finding(s) older than ${s.maxAge} (oldest ${ageText(t - old[0].detected)}: ${old[0].findingId})`
          : `no open finding older than ${s.maxAge}`,
        offenders: old.slice(0, 10).map((r) => r.findingId),
      },
      {
        limit: 'detectionInterval',
        broken: overdue.length > 0,
        count: overdue.length,
        threshold: p.detectionMs,
        detail: overdue.length
          ? `${overdue.length} of ${scopeUnits.length} unit(s) without a successful detection in ${s.detectionInterval}: ${overdue.slice(0, 5).map((u) => u.name).join(', ')}`
          : `every unit (${scopeUnits.length}) detected within ${s.detectionInterval}`,
        offenders: overdue.slice(0, 10).map((u) => u.name),
      },
    ];
    const objectives = p.objectives.map((o) => evaluateObjective(o.name, o.spec, o.withinMs, rows, t, input.windowMs));
    const remaining = Math.min(1, ...objectives.map((o) => o.remaining));

    const reasons: string[] = [];
    for (const l of limits) if (l.broken) reasons.push(`${l.limit} broken: ${l.detail}`);
    for (const o of objectives) {
      const label = `${o.objective} (${o.percent} % within ${o.within})`;
      if (o.remaining <= 0) reasons.push(`${label}: error budget spent: ${o.bad} of ${o.total} finding(s) late, compliance ${percentText((o.compliance ?? 100) / 100)}`);
      for (const a of o.alerts) {
        if (a.firing) reasons.push(`${label}: ${a.severity} alert: burn rate ${rateText(a.longRate)} over ${a.long} and ${rateText(a.shortRate)} over ${a.short} (≥ ${a.threshold})`);
      }
    }
    const exhausted = limits.some((l) => l.broken) || objectives.some((o) => o.remaining <= 0);
    const burning = objectives.some((o) => o.alerts.some((a) => a.firing));
    const state: BudgetState = exhausted ? 'exhausted' : burning ? 'burning' : 'ok';

    // The findings behind the state: open past a limit, and the late ones of each objective.
    const late = p.objectives.flatMap((o) =>
      rows.filter((r) => {
        const e = o.name === 'timeToClassify' ? classifyEvent(r, o.withinMs, t) : reconcileEvent(r, o.withinMs, t);
        return e.result === 'bad' && e.at > t - input.windowMs;
      }),
    );
    const offenders = [
      ...(limits[0]?.broken ? unclassified : []),
      ...old,
      ...late,
    ];

    const history: { at: string; remaining: number }[] = [];
    for (let i = 0; i < points; i++) {
      const at = t - input.windowMs + ((i + 1) * input.windowMs) / points;
      history.push({ at: new Date(at).toISOString(), remaining: i === points - 1 ? remaining : remainingAt(p, input.findings, units, at, input.windowMs) });
    }

    const scope = `${s.environment} ${s.domain}${s.minRisk ? `, risk ≥ ${s.minRisk}` : ''}`;
    return {
      budget: budget.metadata.name,
      domain: s.domain,
      environment: s.environment,
      ...(s.owner ? { owner: s.owner } : {}),
      state,
      remaining,
      reasons,
      history,
      scope,
      ...(s.minRisk ? { minRisk: s.minRisk } : {}),
      slos: s.slos,
      limits,
      objectives,
      meanTimes: meanTimesOf(rows, t, input.windowMs),
      routeClass: state === 'ok' ? 'NONE' : routeClassOf(limits, offenders),
      evaluatedAt: input.now.toISOString(),
      windowMs: input.windowMs,
    };
  });
}

/** A burn rate for people: `14.4×`, `∞` for infinite. */
export function rateText(rate: number | null): string {
  return rate === null ? '∞' : `${Number(rate.toFixed(2))}×`;
}
