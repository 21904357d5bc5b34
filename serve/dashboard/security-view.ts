/**
 * `GET /security`: the security view (§21.4). Identity drift, network-exposure drift, secret
 * freshness, unverified artifacts, break-glass changes not reconciled, open hotfix windows.
 */
import { securityFigures, type FindingSummary, type SecurityFigures, type SecuritySection } from '../../ledger/views';
import type { ViewContext } from './context';
import { humanDuration, utc } from './format';
import { html, type SafeHtml } from './html';
import { badge, findingHref, kpi, runState, table } from './layout';

/** What the security view shows. */
export interface SecurityModel {
  figures: SecurityFigures;
  now: Date;
  windowLabel: string;
}

/** Reads the security view's data. */
export async function securityModel(ctx: ViewContext): Promise<SecurityModel> {
  return { figures: await securityFigures(ctx.db, { now: ctx.now, windowMs: ctx.windowMs }), now: ctx.now, windowLabel: ctx.windowLabel };
}

const SECTIONS: { key: SecuritySection; title: string; what: string; empty: string }[] = [
  { key: 'identity', title: 'Identity drift', what: 'IDENTITY_DRIFT or drift in the iam domain', empty: 'No identity drift.' },
  { key: 'network', title: 'Network-exposure drift', what: 'the network domain, or a changed ingress, egress or CIDR field', empty: 'No network-exposure drift.' },
  { key: 'secrets', title: 'Secret freshness drift', what: 'SECRET_DELIVERY_DRIFT or the secrets domain (External Secrets)', empty: 'No secret delivery drift.' },
  { key: 'artifacts', title: 'Unverified artifacts', what: 'an image changed and the run has not verified clean', empty: 'No unverified artifact change.' },
  { key: 'breakGlass', title: 'Break-glass changes not reconciled', what: 'EMERGENCY_DRIFT whose outcome is not RECONCILED', empty: 'Every break-glass change was reconciled.' },
];

function rows(findings: FindingSummary[], now: Date): SafeHtml[][] {
  return findings.map((r) => [
    html`<a href="${findingHref(r.findingId)}" data-finding="${r.findingId}">${r.resourceRef}</a><br><span class="muted">${r.unit} · ${r.environment ?? '?'}</span>`,
    html`${r.driftClass ?? 'unclassified'}`,
    html`${r.risk ?? '—'}`,
    html`${r.closedAt ? `closed after ${humanDuration(r.closedAt.getTime() - r.detectedAt.getTime())}` : `open for ${humanDuration(now.getTime() - r.detectedAt.getTime())}`}`,
    runState(r),
  ]);
}

/** Renders the security view's body. */
export function renderSecurity(m: SecurityModel): SafeHtml {
  const s = m.figures.sections;
  return html`
<div class="kpis">
${SECTIONS.map((x) => kpi(`${x.title} (open)`, s[x.key].open, `open-${x.key}`, html`<span data-metric="window-${x.key}">${s[x.key].findings.length}</span> open or detected in ${m.windowLabel}`))}
${kpi('Open hotfix windows', m.figures.openHotfixWindows.length, 'open-hotfix-windows')}
</div>
<div class="grid">
${SECTIONS.map(
  (x) => html`<section class="card" aria-labelledby="${x.key}-h" data-section="${x.key}"><h2 id="${x.key}-h">${x.title}</h2><p class="muted">${x.what}; open now or detected in the last ${m.windowLabel}.</p>
${table({ testid: `section-${x.key}`, head: ['Finding', 'Class', 'Risk', 'Age', 'State'], empty: x.empty, rows: rows(s[x.key].findings, m.now) })}</section>`,
)}
<section class="card" aria-labelledby="hotfix-h"><h2 id="hotfix-h">Open hotfix windows</h2>
${table({
  testid: 'hotfix-windows',
  head: ['Window', 'Incident', 'Opened', 'Deadline', 'Attached', 'State'],
  numeric: [4],
  empty: 'No hotfix window is open.',
  rows: m.figures.openHotfixWindows.map((w) => [html`<code>${w.windowId}</code>`, w.incident ?? '—', utc(w.openedAt), w.deadline ? (w.deadline.getTime() < m.now.getTime() ? badge('Past deadline', 'exhausted') : utc(w.deadline)) : '—', w.attached, badge('Open', 'open')]),
})}</section>
</div>`;
}
