/**
 * `GET /platform`: the platform view (§21.2). Units with stale checks, failed detections, noisy
 * provider versions, lock contention, the longest-open drift, top ignored fields, auto-heal
 * success and failure, detection coverage.
 */
import { coveragePercent } from '../../domain/finding';
import type { Registry } from '../../domain/registry/model';
import { detectionIntervalMs, exceptionActive, ignorePathOf } from '../../domain/registry/resolve';
import { isOverdue, type DetectionStatus } from '../../ledger/detection';
import { platformFigures, type PlatformFigures, type UnitDetectionRow } from '../../ledger/views';
import type { ViewContext } from './context';
import { ago, humanDuration, utc } from './format';
import { html, type SafeHtml } from './html';
import { badge, findingHref, kpi, runState, table } from './layout';

/** A unit whose detection is overdue (reusing the staleness sweep's `isOverdue` and tier intervals). */
export interface StaleUnit {
  unit: string;
  owner: string;
  intervalMs: number;
  lastSuccessAt?: Date;
  neverSucceeded: boolean;
}

/** What the platform view shows. */
export interface PlatformModel {
  figures: PlatformFigures;
  /** Units of the registry (with an interval) that are overdue, most overdue first. */
  stale: StaleUnit[];
  /** Units the registry schedules by interval (the denominator of `stale`). */
  scheduledUnits: number;
  /** Registry exception paths, by how many active exceptions name them. */
  exceptionPaths: { path: string; exceptions: number }[];
  /** Units with a coverage record: percent of resources covered. */
  coverage: { unit: string; percent: number; uncoveredTypes: string[]; at?: Date }[];
  registryError?: string;
  now: Date;
  windowLabel: string;
}

function statusOf(row: UnitDetectionRow | undefined): DetectionStatus | undefined {
  if (!row) return undefined;
  return {
    unit: row.unit,
    consecutiveFailures: row.consecutiveFailures,
    ...(row.firstSeenAt ? { firstSeenAt: row.firstSeenAt.toISOString() } : {}),
    ...(row.lastSuccessAt ? { lastSuccessAt: row.lastSuccessAt.toISOString() } : {}),
  };
}

/** The overdue units of the registry, judged like the staleness sweep judges them. */
export function staleUnits(registry: Registry, detections: UnitDetectionRow[], now: Date): { stale: StaleUnit[]; scheduled: number } {
  const byUnit = new Map(detections.map((d) => [d.unit, d]));
  const stale: StaleUnit[] = [];
  let scheduled = 0;
  for (const unit of registry.units.values()) {
    const intervalMs = detectionIntervalMs(unit);
    if (intervalMs === undefined) continue;
    scheduled++;
    const row = byUnit.get(unit.metadata.name);
    if (!isOverdue(statusOf(row), intervalMs, now)) continue;
    stale.push({ unit: unit.metadata.name, owner: unit.spec.owner, intervalMs, neverSucceeded: !row?.lastSuccessAt, ...(row?.lastSuccessAt ? { lastSuccessAt: row.lastSuccessAt } : {}) });
  }
  stale.sort((a, b) => (a.lastSuccessAt?.getTime() ?? 0) - (b.lastSuccessAt?.getTime() ?? 0) || a.unit.localeCompare(b.unit));
  return { stale, scheduled };
}

/** Reads the platform view's data. */
export async function platformModel(ctx: ViewContext): Promise<PlatformModel> {
  const figures = await platformFigures(ctx.db, { now: ctx.now, windowMs: ctx.windowMs });
  const coverage = figures.detections
    .filter((d) => d.coverage)
    .map((d) => ({ unit: d.unit, percent: coveragePercent(d.coverage!), uncoveredTypes: d.coverage!.uncoveredTypes, ...(d.coverageAt ? { at: d.coverageAt } : {}) }))
    .sort((a, b) => a.percent - b.percent || a.unit.localeCompare(b.unit));
  const base = { figures, coverage, now: ctx.now, windowLabel: ctx.windowLabel };
  if (!ctx.registry.ok) return { ...base, stale: [], scheduledUnits: 0, exceptionPaths: [], registryError: ctx.registry.error };
  const registry = ctx.registry.registry;
  const { stale, scheduled } = staleUnits(registry, figures.detections, ctx.now);
  const paths = new Map<string, number>();
  for (const e of registry.exceptions.values()) {
    if (!exceptionActive(e, ctx.now)) continue;
    for (const p of new Set(e.spec.paths.map(ignorePathOf))) paths.set(p, (paths.get(p) ?? 0) + 1);
  }
  const exceptionPaths = [...paths].map(([path, exceptions]) => ({ path, exceptions })).sort((a, b) => b.exceptions - a.exceptions || a.path.localeCompare(b.path)).slice(0, 10);
  return { ...base, stale, scheduledUnits: scheduled, exceptionPaths };
}

/** Renders the platform view's body. */
export function renderPlatform(m: PlatformModel): SafeHtml {
  const f = m.figures;
  const failed = f.detections.filter((d) => d.consecutiveFailures > 0).sort((a, b) => b.consecutiveFailures - a.consecutiveFailures || a.unit.localeCompare(b.unit));
  const heal = f.autoHeal;
  const healDone = heal.succeeded + heal.failed;
  const meanCoverage = m.coverage.length ? Math.round((m.coverage.reduce((s, c) => s + c.percent, 0) / m.coverage.length) * 10) / 10 : undefined;
  return html`
${m.registryError ? html`<p class="notice" role="status">Staleness and exception paths need the registry: ${m.registryError}</p>` : ''}
<div class="kpis">
${kpi('Units with stale checks', m.stale.length, 'stale-units', html`of ${m.scheduledUnits} scheduled units`)}
${kpi('Failing detections', failed.length, 'failed-detections')}
${kpi('Auto-heal succeeded', heal.succeeded, 'autoheal-succeeded', html`${healDone ? Math.round((heal.succeeded / healDone) * 100) : 0}% of ${healDone} finished in ${m.windowLabel}`)}
${kpi('Auto-heal failed', heal.failed, 'autoheal-failed', html`<span data-metric="autoheal-in-progress">${heal.inProgress}</span> in progress`)}
${kpi('Detection coverage', meanCoverage === undefined ? '—' : `${meanCoverage}%`, 'coverage-mean', html`mean over ${m.coverage.length} units with a coverage record`)}
</div>
<section class="card" aria-labelledby="stale-h"><h2 id="stale-h">Stale drift checks</h2>
${table({
  testid: 'stale',
  head: ['Unit', 'Owner', 'Interval', 'Last success', 'State'],
  empty: 'Every scheduled unit was checked within its interval.',
  rows: m.stale.slice(0, 25).map((s) => [html`<span data-unit="${s.unit}">${s.unit}</span>`, s.owner, humanDuration(s.intervalMs), s.lastSuccessAt ? ago(s.lastSuccessAt, m.now) : 'never', s.neverSucceeded ? badge('Never checked', 'neutral') : badge('Overdue', 'burning')]),
})}${m.stale.length > 25 ? html`<p class="muted">and ${m.stale.length - 25} more.</p>` : ''}</section>
<div class="grid">
<section class="card" aria-labelledby="failed-h"><h2 id="failed-h">Failed detections</h2>
${table({
  testid: 'failed',
  head: ['Unit', 'Failures in a row', 'Last error', 'Since'],
  numeric: [1],
  empty: 'No unit is failing detection.',
  rows: failed.map((d) => [html`<span data-unit="${d.unit}">${d.unit}</span>`, html`<span data-metric="consecutive-failures">${d.consecutiveFailures}</span>`, html`<code>${d.lastError ?? ''}</code>`, utc(d.lastErrorAt)]),
})}</section>
<section class="card" aria-labelledby="lock-h"><h2 id="lock-h">Lock contention</h2>
${table({ testid: 'locks', head: ['Unit', 'Attempts', 'Last', 'Error'], numeric: [1], empty: `No detection hit a lock in the last ${m.windowLabel}.`, rows: f.lockContention.map((l) => [l.unit, l.attempts, utc(l.lastAt), html`<code>${l.lastError}</code>`]) })}</section>
<section class="card" aria-labelledby="noisy-h"><h2 id="noisy-h">Noisy provider versions</h2>
${table({ testid: 'providers', head: ['Provider change', 'Findings', 'Units'], numeric: [1, 2], empty: `No provider upgrade or read noise in the last ${m.windowLabel}.`, rows: f.noisyProviders.map((p) => [html`<code>${p.from}</code> → <code>${p.to}</code>`, p.findings, p.units]) })}</section>
<section class="card" aria-labelledby="longest-h"><h2 id="longest-h">Longest-open drift</h2>
${table({
  testid: 'longest-open',
  head: ['Finding', 'Class', 'Risk', 'Open for', 'State'],
  empty: 'No drift is open.',
  rows: f.longestOpen.map((r) => [html`<a href="${findingHref(r.findingId)}">${r.resourceRef}</a><br><span class="muted">${r.unit}</span>`, r.driftClass ?? 'unclassified', r.risk ?? '—', humanDuration(m.now.getTime() - r.detectedAt.getTime()), runState(r)]),
})}</section>
<section class="card" aria-labelledby="ignored-h"><h2 id="ignored-h">Top ignored fields</h2>
${table({ testid: 'ignored-fields', head: ['Field (IGNORE decisions)', 'Findings'], numeric: [1], empty: `No IGNORE decision in the last ${m.windowLabel}.`, rows: f.ignoredFields.map((i) => [html`<code>${i.field}</code>`, i.count]) })}
${table({ testid: 'exception-paths', head: ['Path (active exceptions)', 'Exceptions'], numeric: [1], empty: 'No active exception in the registry.', rows: m.exceptionPaths.map((p) => [html`<code>${p.path}</code>`, p.exceptions]) })}</section>
<section class="card" aria-labelledby="coverage-h"><h2 id="coverage-h">Detection coverage</h2>
${table({
  testid: 'coverage',
  head: ['Unit', 'Resources covered', 'Types not read', 'Measured'],
  numeric: [1],
  empty: 'No detection has reported a coverage yet.',
  rows: m.coverage.map((c) => [c.unit, html`${c.percent}% ${c.percent < 100 ? badge('Partial', 'burning') : badge('Full', 'ok')}`, c.uncoveredTypes.length ? html`<code>${c.uncoveredTypes.join(', ')}</code>` : '—', utc(c.at)]),
})}</section>
</div>`;
}
