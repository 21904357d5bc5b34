/** `GET /`: the executive view (§21.1). Open critical drift, MTTC/MTTR, drift by environment and domain, budget burn, recurring sources. */
import type { BudgetReport, RecurringSource } from '../../domain/budgets/report';
import { executiveFigures, type ExecutiveFigures, type MttrWeek } from '../../ledger/views';
import { barChart, lineChart } from './charts';
import type { ViewContext } from './context';
import { humanDuration, percent, utc } from './format';
import { html, type SafeHtml } from './html';
import { badge, findingHref, kpi, table, type Tone } from './layout';

/** What the executive view shows. */
export interface ExecutiveModel {
  figures: ExecutiveFigures;
  budgets: BudgetReport[];
  recurring: RecurringSource[];
  /** Weekly MTTR, oldest first (refreshed with the budgets). */
  mttrTrend: MttrWeek[];
  /** Why budgets could not be evaluated (the rest of the page still renders). */
  budgetError?: string;
  windowLabel: string;
}

/** Reads the executive view's data. */
export async function executiveModel(ctx: ViewContext): Promise<ExecutiveModel> {
  const [figures, budgets] = await Promise.all([
    executiveFigures(ctx.db, { now: ctx.now, windowMs: ctx.windowMs }),
    ctx.budgets.evaluate(ctx.now).then(
      (b) => ({ ...b, error: undefined }),
      (err: unknown) => ({ reports: [] as BudgetReport[], recurring: [] as RecurringSource[], mttrTrend: [] as MttrWeek[], error: (err as Error).message }),
    ),
  ]);
  return { figures, budgets: budgets.reports, recurring: budgets.recurring, mttrTrend: budgets.mttrTrend ?? [], windowLabel: ctx.windowLabel, ...(budgets.error ? { budgetError: budgets.error } : {}) };
}

const BUDGET_TONE: Record<BudgetReport['state'], Tone> = { ok: 'ok', burning: 'burning', exhausted: 'exhausted' };
const BUDGET_WORD: Record<BudgetReport['state'], string> = { ok: 'OK', burning: 'Burning', exhausted: 'Exhausted' };

/** The state badge of a budget. */
export function budgetBadge(state: BudgetReport['state']): SafeHtml {
  return badge(BUDGET_WORD[state], BUDGET_TONE[state]);
}

function groupTable(rows: ExecutiveModel['figures']['byDomain'], what: string, testid: string): SafeHtml {
  return table({
    testid,
    head: [what, 'Open', `In window`],
    numeric: [1, 2],
    empty: `No drift open or detected in the window.`,
    rows: rows.map((r) => [html`<span data-key="${r.key}">${r.key}</span>`, html`<span data-metric="open">${r.open}</span>`, html`<span data-metric="total">${r.total}</span>`]),
  });
}

function budgetSection(m: ExecutiveModel): SafeHtml {
  if (m.budgetError) return html`<p class="notice" role="status">Budgets could not be evaluated: ${m.budgetError}</p>`;
  if (m.budgets.length === 0) return html`<p class="empty" data-testid="budgets" data-rows="0">No DriftBudget in the registry.</p>`;
  const counts = { ok: 0, burning: 0, exhausted: 0 };
  for (const b of m.budgets) counts[b.state]++;
  const evaluatedAt = m.budgets[0]?.evaluatedAt;
  return html`<p>${m.budgets.length} budgets: <span data-metric="budgets-exhausted">${counts.exhausted}</span> exhausted, <span data-metric="budgets-burning">${counts.burning}</span> burning, <span data-metric="budgets-ok">${counts.ok}</span> OK.${evaluatedAt ? html` <span class="muted">Evaluated ${utc(evaluatedAt)} (at most once a minute).</span>` : ''}</p>
<table data-testid="budgets" data-rows="${m.budgets.length}"><thead><tr><th scope="col">Budget</th><th scope="col">Scope</th><th scope="col">State</th><th scope="col" class="num">Remaining</th><th scope="col">Burn over the window</th><th scope="col">Why</th></tr></thead><tbody>
${m.budgets.map(
  (b) => html`<tr data-budget="${b.budget}"><td>${b.budget}</td><td>${b.environment} ${b.domain}${b.owner ? html`<br><span class="muted">${b.owner}</span>` : ''}</td>
<td data-state-of="${b.budget}">${budgetBadge(b.state)}</td><td class="num" data-metric="budget-remaining">${percent(b.remaining)}</td>
<td>${
    b.history.length > 0
      ? lineChart({ label: `Budget ${b.budget}: remaining error budget over the window, now ${percent(b.remaining)}`, points: b.history.map((h) => ({ at: new Date(h.at), value: h.remaining })), yMax: 1, formatY: percent, width: 220, height: 70, testid: `burn-${b.budget}` })
      : html`<span class="muted">no history</span>`
  }</td>
<td>${b.reasons.length ? html`<ul>${b.reasons.map((r) => html`<li>${r}</li>`)}</ul>` : html`<span class="muted">within budget</span>`}</td></tr>`,
)}
</tbody></table>`;
}

function recurringSection(rows: RecurringSource[]): SafeHtml {
  return table({
    testid: 'recurring',
    head: ['Source', 'Unit', 'Count', 'Last detected'],
    numeric: [2],
    empty: 'No finding or field recurred in the window.',
    rows: rows.map((r) => [
      r.kind === 'finding' && r.findingId ? html`<a href="${findingHref(r.findingId)}">${r.resourceRef ?? r.findingId}</a> <span class="muted">(same finding)</span>` : html`<code>${r.field ?? ''}</code> <span class="muted">(same field)</span>`,
      r.unit,
      html`<span data-metric="recurring-count">${r.count}</span>`,
      utc(r.lastAt),
    ]),
  });
}

/** Renders the executive view's body. */
export function renderExecutive(m: ExecutiveModel): SafeHtml {
  const f = m.figures;
  const trend = m.mttrTrend.map((t) => ({ at: new Date(`${t.week}T00:00:00Z`), value: t.mttrMs }));
  return html`
<div class="kpis">
${kpi('Open critical drift', f.openCritical, 'open-critical', f.openCritical === 0 ? badge('None open', 'ok') : badge('Open', 'open'))}
${kpi('Open drift (all risks)', f.openTotal, 'open-total')}
${kpi('Mean time to classify', humanDuration(f.mttcMs), 'mttc', html`<span data-metric="mttc-ms">${f.mttcMs === undefined ? '' : Math.round(f.mttcMs)}</span> ms over <span data-metric="classified">${f.classifiedInWindow}</span> classified in ${m.windowLabel}`)}
${kpi('Mean time to reconcile', humanDuration(f.mttrMs), 'mttr', html`<span data-metric="mttr-ms">${f.mttrMs === undefined ? '' : Math.round(f.mttrMs)}</span> ms over <span data-metric="closed">${f.closedInWindow}</span> closed in ${m.windowLabel}`)}
</div>
<div class="grid">
<section class="card" aria-labelledby="by-domain"><h2 id="by-domain">Drift by domain</h2>
${barChart({ label: `Drift by domain in the last ${m.windowLabel}: ${f.byDomain.map((d) => `${d.key} ${d.total} (${d.open} open)`).join(', ') || 'none'}`, rows: f.byDomain.map((d) => ({ key: d.key, total: d.total, open: d.open })), testid: 'chart-domain' })}
${groupTable(f.byDomain, 'Domain', 'by-domain')}</section>
<section class="card" aria-labelledby="by-env"><h2 id="by-env">Drift by environment</h2>${groupTable(f.byEnvironment, 'Environment', 'by-environment')}
<h2 style="margin-top:1rem">Drift by class</h2>${groupTable(f.byClass, 'Class', 'by-class')}</section>
</div>
<section class="card" aria-labelledby="budgets-h" style="margin-top:1rem"><h2 id="budgets-h">Drift budget burn</h2>${budgetSection(m)}</section>
<div class="grid">
<section class="card" aria-labelledby="mttr-h"><h2 id="mttr-h">MTTR trend (weekly)</h2>
${trend.length ? lineChart({ label: `Mean time to reconcile per week: ${m.mttrTrend.map((t) => `${t.week} ${humanDuration(t.mttrMs)}`).join(', ')}`, points: trend, yMax: Math.max(...trend.map((p) => p.value)), formatY: humanDuration, testid: 'chart-mttr' }) : ''}
${table({ testid: 'mttr-trend', head: ['Week of', 'MTTR', 'Closed'], numeric: [1, 2], empty: 'Nothing closed in the last 12 weeks.', rows: m.mttrTrend.map((t) => [t.week, humanDuration(t.mttrMs), t.closed]) })}</section>
<section class="card" aria-labelledby="recurring-h"><h2 id="recurring-h">Recurring drift sources</h2>${recurringSection(m.recurring)}</section>
</div>`;
}
