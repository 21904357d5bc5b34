/**
 * `GET /owner?team=<team>`: the service-owner view (§21.3), filtered to one registry team. Required
 * actions, PRs waiting for review, exceptions expiring within 14 days, the last successful
 * reconciliation, and the team's drift. Without `team`: a team picker.
 */
import type { DriftException } from '../../domain/registry/schemas';
import { parseInstant } from '../../domain/registry/durations';
import { exceptionActive, ignorePathOf } from '../../domain/registry/resolve';
import { ownerFigures, type FindingSummary, type OwnerFigures } from '../../ledger/views';
import type { ViewContext } from './context';
import { ago, humanDuration, utc } from './format';
import { html, type SafeHtml } from './html';
import { badge, findingHref, kpi, runState, table } from './layout';

/** How far ahead an expiring exception is shown. */
export const EXPIRING_WITHIN_MS = 14 * 86_400_000;

/** What the service-owner view shows. */
export interface OwnerModel {
  figures: OwnerFigures;
  /** The team's active exceptions expiring within 14 days, soonest first. */
  expiring: { name: string; unit: string; paths: string[]; expiresAt: Date; ticket?: string }[];
  teams: string[];
  now: Date;
  windowLabel: string;
}

/** The team's active exceptions that expire within {@link EXPIRING_WITHIN_MS} of `now`. */
export function expiringExceptions(exceptions: Iterable<DriftException>, team: string, now: Date): OwnerModel['expiring'] {
  const out: OwnerModel['expiring'] = [];
  for (const e of exceptions) {
    if (e.spec.owner !== team || e.spec.permanent || !e.spec.expiresAt || !exceptionActive(e, now)) continue;
    const expiresAt = parseInstant(e.spec.expiresAt);
    if (!expiresAt || expiresAt.getTime() - now.getTime() > EXPIRING_WITHIN_MS) continue;
    out.push({ name: e.metadata.name, unit: e.spec.scope.unit, paths: e.spec.paths.map(ignorePathOf), expiresAt, ...(e.spec.ticket ? { ticket: e.spec.ticket } : {}) });
  }
  return out.sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime() || a.name.localeCompare(b.name));
}

/** Reads the service-owner view's data for a team known to the registry. */
export async function ownerModel(ctx: ViewContext, team: string, teams: string[]): Promise<OwnerModel> {
  const figures = await ownerFigures(ctx.db, team, { now: ctx.now, windowMs: ctx.windowMs });
  const expiring = ctx.registry.ok ? expiringExceptions(ctx.registry.registry.exceptions.values(), team, ctx.now) : [];
  return { figures, expiring, teams, now: ctx.now, windowLabel: ctx.windowLabel };
}

/** The team picker (also shown above a team's view). */
export function renderTeamPicker(teams: string[], current?: string): SafeHtml {
  return html`<p class="picker" data-testid="team-picker">Team: ${teams.map((t) => (t === current ? html`<strong aria-current="page">${t}</strong> ` : html`<a href="/owner?team=${encodeURIComponent(t)}">${t}</a> `))}</p>`;
}

function findingRow(r: FindingSummary, now: Date): SafeHtml[] {
  return [
    html`<a href="${findingHref(r.findingId)}" data-finding="${r.findingId}" data-owner="${r.owner ?? ''}">${r.resourceRef}</a><br><span class="muted">${r.unit}</span>`,
    html`${r.driftClass ?? 'unclassified'}`,
    html`${r.risk ?? '—'}`,
    html`${r.action ?? '—'}`,
    html`${r.closedAt ? humanDuration(r.closedAt.getTime() - r.detectedAt.getTime()) : `${humanDuration(now.getTime() - r.detectedAt.getTime())} so far`}`,
    runState(r),
  ];
}

/** Renders a team's view. */
export function renderOwner(m: OwnerModel): SafeHtml {
  const f = m.figures;
  const open = f.findings.filter((r) => !r.closedAt).length;
  return html`${renderTeamPicker(m.teams, f.team)}
<div class="kpis">
${kpi('Required actions', f.requiredActions.length, 'required-actions', 'open findings waiting for approval')}
${kpi('PRs waiting for review', f.prsWaiting.length, 'prs-waiting')}
${kpi('Exceptions expiring in 14 days', m.expiring.length, 'expiring-exceptions')}
${kpi('Last successful reconciliation', f.lastReconciled?.closedAt ? ago(f.lastReconciled.closedAt, m.now) : 'never', 'last-reconciled', f.lastReconciled ? html`<a href="${findingHref(f.lastReconciled.findingId)}">${f.lastReconciled.resourceRef}</a>` : undefined)}
</div>
<section class="card" aria-labelledby="actions-h"><h2 id="actions-h">Required actions</h2>
${table({ testid: 'required-actions', head: ['Finding', 'Class', 'Risk', 'Action', 'Age', 'State'], empty: 'Nothing is waiting for your team.', rows: f.requiredActions.map((r) => findingRow(r, m.now)) })}</section>
<div class="grid">
<section class="card" aria-labelledby="prs-h"><h2 id="prs-h">Reconciliation PRs waiting for review</h2>
${table({ testid: 'prs-waiting', head: ['Finding', 'PR', 'Open for'], empty: 'No reconciliation PR is open.', rows: f.prsWaiting.map((r) => [html`<a href="${findingHref(r.findingId)}" data-finding="${r.findingId}" data-owner="${r.owner ?? ''}">${r.resourceRef}</a>`, r.prUrl ? html`<a href="${r.prUrl}">${r.prUrl}</a>` : '—', humanDuration(m.now.getTime() - r.detectedAt.getTime())]) })}</section>
<section class="card" aria-labelledby="exc-h"><h2 id="exc-h">Exceptions expiring within 14 days</h2>
${table({ testid: 'expiring', head: ['Exception', 'Unit', 'Paths', 'Expires', 'State'], empty: 'No exception of your team expires in the next 14 days.', rows: m.expiring.map((e) => [html`${e.name}${e.ticket ? html`<br><span class="muted">${e.ticket}</span>` : ''}`, e.unit, html`<code>${e.paths.join(', ')}</code>`, utc(e.expiresAt), badge(`Expires in ${humanDuration(e.expiresAt.getTime() - m.now.getTime())}`, 'burning')]) })}</section>
</div>
<section class="card" aria-labelledby="team-h"><h2 id="team-h">Drift affecting ${f.team}</h2>
<p><span data-metric="team-findings">${f.findings.length}</span> lifecycle runs open or detected in the last ${m.windowLabel}, <span data-metric="team-open">${open}</span> open.</p>
${table({ testid: 'team-findings', head: ['Finding', 'Class', 'Risk', 'Action', 'Time to close', 'State'], empty: `No drift of ${f.team} is open or was detected in the window.`, rows: f.findings.map((r) => findingRow(r, m.now)) })}</section>`;
}
