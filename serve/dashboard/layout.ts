/**
 * The dashboard's page shell: one small stylesheet (inline, no JavaScript), the nav bar, page
 * titles and the state badges. Colours come from a colour-blind-safe palette (Okabe–Ito hues,
 * darkened for text), and every coloured mark carries its state word: no "wall of red".
 */
import { html, raw, type HtmlValue, type SafeHtml } from './html';

/** Text/background pairs of the state badges; each has a contrast of at least 4.5:1 (tested). */
export const PALETTE = {
  ok: { fg: '#0b5a3f', bg: '#e3f2ec' },
  burning: { fg: '#6a4a00', bg: '#fff4d6' },
  exhausted: { fg: '#8a2e00', bg: '#fde7dd' },
  open: { fg: '#0b4a7a', bg: '#e4eef7' },
  neutral: { fg: '#333333', bg: '#eeeeee' },
  text: { fg: '#1b1f24', bg: '#ffffff' },
  muted: { fg: '#57606a', bg: '#ffffff' },
  link: { fg: '#0550ae', bg: '#ffffff' },
} as const;

/** Chart marks (non-text, ≥ 3:1 on white): blue for totals, vermillion for what is still open. */
export const CHART = { primary: '#0072b2', accent: '#d55e00', grid: '#d0d7de' } as const;

/** A state word and the tone it is shown in. */
export type Tone = keyof Pick<typeof PALETTE, 'ok' | 'burning' | 'exhausted' | 'open' | 'neutral'>;

const CSS = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:${PALETTE.text.fg};background:#f6f8fa}
header{background:#1b1f24;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header .brand{font-weight:700;letter-spacing:.02em;color:#fff;text-decoration:none}
nav a{color:#fff;text-decoration:none;padding:.3rem .6rem;border-radius:4px}
nav a[aria-current=page]{background:#fff;color:#1b1f24}
nav a:focus-visible,a:focus-visible,button:focus-visible{outline:3px solid #e69f00;outline-offset:2px}
header .who{margin-left:auto;font-size:.9rem;color:#e6edf3}
main{max-width:78rem;margin:0 auto;padding:1.2rem 1.5rem 3rem}
h1{font-size:1.5rem;margin:.4rem 0 1rem}
h2{font-size:1.1rem;margin:0 0 .6rem}
section.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:1rem 1.2rem;margin:0 0 1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1rem;align-items:start;margin-bottom:1rem}
.grid>section.card{margin:0}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:1rem;margin-bottom:1rem}
.kpi{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.8rem 1rem}
.kpi .label{color:${PALETTE.muted.fg};font-size:.85rem}
.kpi .value{font-size:1.8rem;font-weight:650;font-variant-numeric:tabular-nums}
.kpi .note{color:${PALETTE.muted.fg};font-size:.8rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
th{font-size:.8rem;color:${PALETTE.muted.fg};font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right}
a{color:${PALETTE.link.fg}}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.88em;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
.nowrap{white-space:nowrap}
.muted{color:${PALETTE.muted.fg}}
.badge{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
${(Object.keys(PALETTE) as (keyof typeof PALETTE)[]).map((k) => `.tone-${k}{color:${PALETTE[k].fg};background:${PALETTE[k].bg}}`).join('\n')}
.notice{border-left:4px solid ${PALETTE.burning.fg};background:${PALETTE.burning.bg};padding:.6rem .9rem;margin:0 0 1rem}
.empty{color:${PALETTE.muted.fg};font-style:italic}
svg text{font:11px system-ui,sans-serif;fill:${PALETTE.text.fg}}
figure{margin:0}
figcaption{font-size:.85rem;color:${PALETTE.muted.fg}}
form.answer{display:grid;gap:.5rem;max-width:36rem}
form.answer textarea{font:inherit;min-height:4rem}
form.answer button{font:inherit;padding:.35rem 1rem}
.picker a{margin-right:.8rem}
`;

/** The read views, in nav order. */
export const NAV = [
  { href: '/', label: 'Executive', key: 'executive' },
  { href: '/platform', label: 'Platform', key: 'platform' },
  { href: '/owner', label: 'Service owner', key: 'owner' },
  { href: '/security', label: 'Security', key: 'security' },
] as const;

/** Which nav entry a page belongs to. */
export type NavKey = (typeof NAV)[number]['key'] | 'finding' | 'none';

/** A whole page: the shell, the nav with `active` marked, the title and the body. */
export function page(opts: { title: string; active: NavKey; body: HtmlValue; user?: string; generatedAt: Date }): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · driftplane</title>
<style>${raw(CSS)}</style>
</head><body>
<header><a class="brand" href="/">driftplane</a>
<nav aria-label="Dashboard views">${NAV.map((n) => html`<a href="${n.href}"${n.key === opts.active ? raw(' aria-current="page"') : ''}>${n.label}</a>`)}</nav>
<span class="who">${opts.user ? html`Signed in as ${opts.user}` : html`<a href="/auth/login" style="color:#fff">Sign in</a>`}</span>
</header>
<main>
<h1>${opts.title}</h1>
${opts.body}
<p class="muted">Generated ${opts.generatedAt.toISOString()} from the findings ledger (a read model; Temporal and evidence are the sources of truth).</p>
</main></body></html>
`.value;
}

/** A state word on its tone: the colour is never the only signal. */
export function badge(word: string, tone: Tone): SafeHtml {
  return html`<span class="badge tone-${tone}" data-state="${word}">${word}</span>`;
}

/** The state word of a lifecycle run: Open, Reconciled, or its outcome in sentence case. */
export function runState(run: { closedAt?: Date; outcome?: string; stage: string }): SafeHtml {
  if (!run.closedAt) return badge(run.stage === 'routed' ? 'Open · awaiting approval' : 'Open', 'open');
  if (run.outcome === 'RECONCILED') return badge('Reconciled', 'ok');
  const word = (run.outcome ?? 'Closed').toLowerCase().replace(/_/g, ' ');
  return badge(word.charAt(0).toUpperCase() + word.slice(1), 'neutral');
}

/** A KPI tile; `metric` names it for tests and scrapers (`data-metric`). */
export function kpi(label: string, value: HtmlValue, metric: string, note?: HtmlValue): SafeHtml {
  return html`<div class="kpi"><div class="label">${label}</div><div class="value" data-metric="${metric}">${value}</div>${note !== undefined ? html`<div class="note">${note}</div>` : ''}</div>`;
}

/** The link to a finding's page. */
export function findingHref(findingId: string): string {
  return `/findings/${encodeURIComponent(findingId)}`;
}

/** A table, or a line saying it is empty. */
export function table(opts: { caption?: string; head: HtmlValue[]; rows: HtmlValue[][]; empty: string; testid?: string; numeric?: number[] }): SafeHtml {
  if (opts.rows.length === 0) return html`<p class="empty" data-testid="${opts.testid}" data-rows="0">${opts.empty}</p>`;
  const num = new Set(opts.numeric ?? []);
  return html`<div class="scroll"><table data-testid="${opts.testid}" data-rows="${opts.rows.length}">${opts.caption ? html`<caption class="muted">${opts.caption}</caption>` : ''}
<thead><tr>${opts.head.map((h, i) => html`<th scope="col"${num.has(i) ? raw(' class="num"') : ''}>${h}</th>`)}</tr></thead>
<tbody>${opts.rows.map((r) => html`<tr>${r.map((c, i) => html`<td${num.has(i) ? raw(' class="num"') : ''}>${c}</td>`)}</tr>`)}</tbody></table></div>`;
}
