/**
 * Inline SVG charts (no JavaScript): each has a <title> and an aria-label, and the view prints the
 * same numbers in a table or text next to it. Coordinates are computed from numbers only.
 */
import { html, type SafeHtml } from './html';
import { CHART } from './layout';

const fmt = (n: number): string => (Math.round(n * 10) / 10).toString();

/** Horizontal bars: one row per label, `total` in blue and the `open` part of it in vermillion. */
export function barChart(opts: { label: string; rows: { key: string; total: number; open?: number }[]; testid?: string }): SafeHtml {
  const rowH = 22;
  const labelW = 130;
  const width = 460;
  // Room after the longest bar for its figure (`12 (3 open)`).
  const barW = width - labelW - 100;
  const max = Math.max(1, ...opts.rows.map((r) => r.total));
  const height = Math.max(rowH, opts.rows.length * rowH) + 8;
  return html`<figure><svg role="img" aria-label="${opts.label}" data-testid="${opts.testid}" viewBox="0 0 ${width} ${height}" width="100%" style="max-width:${width}px">
<title>${opts.label}</title>
${opts.rows.map((r, i) => {
  const y = 4 + i * rowH;
  const w = (r.total / max) * barW;
  const ow = ((r.open ?? 0) / max) * barW;
  return html`<g><text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${r.key}</text>
<rect x="${labelW}" y="${y + 3}" width="${fmt(Math.max(w, r.total > 0 ? 2 : 0))}" height="${rowH - 8}" fill="${CHART.primary}"><title>${r.key}: ${r.total}${r.open !== undefined ? ` (${r.open} open)` : ''}</title></rect>
${r.open ? html`<rect x="${labelW}" y="${y + 3}" width="${fmt(Math.max(ow, 2))}" height="${rowH - 8}" fill="${CHART.accent}"/>` : ''}
<text x="${fmt(labelW + w + 6)}" y="${y + 14}">${r.total}${r.open !== undefined ? ` (${r.open} open)` : ''}</text></g>`;
})}
</svg><figcaption>Blue: all in the window; vermillion: still open.</figcaption></figure>`;
}

/** A line over time: points `{at, value}` (oldest first) on a y axis from 0 to `yMax`. */
export function lineChart(opts: {
  label: string;
  points: { at: Date; value: number }[];
  yMax: number;
  formatY: (v: number) => string;
  width?: number;
  height?: number;
  testid?: string;
}): SafeHtml {
  const width = opts.width ?? 460;
  const height = opts.height ?? 140;
  const pad = { l: 48, r: 10, t: 10, b: 22 };
  const xs = opts.points.map((p) => p.at.getTime());
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yMax = opts.yMax > 0 ? opts.yMax : 1;
  const X = (t: number): number => pad.l + (x1 === x0 ? (width - pad.l - pad.r) / 2 : ((t - x0) / (x1 - x0)) * (width - pad.l - pad.r));
  const Y = (v: number): number => pad.t + (1 - Math.min(Math.max(v, 0), yMax) / yMax) * (height - pad.t - pad.b);
  const path = opts.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${fmt(X(p.at.getTime()))},${fmt(Y(p.value))}`).join(' ');
  const first = opts.points[0];
  const last = opts.points[opts.points.length - 1];
  return html`<figure><svg role="img" aria-label="${opts.label}" data-testid="${opts.testid}" viewBox="0 0 ${width} ${height}" width="100%" style="max-width:${width}px">
<title>${opts.label}</title>
<line x1="${pad.l}" y1="${fmt(Y(0))}" x2="${width - pad.r}" y2="${fmt(Y(0))}" stroke="${CHART.grid}"/>
<line x1="${pad.l}" y1="${fmt(Y(yMax))}" x2="${width - pad.r}" y2="${fmt(Y(yMax))}" stroke="${CHART.grid}" stroke-dasharray="3 3"/>
<text x="${pad.l - 4}" y="${fmt(Y(yMax) + 4)}" text-anchor="end">${opts.formatY(yMax)}</text>
<text x="${pad.l - 4}" y="${fmt(Y(0) + 4)}" text-anchor="end">${opts.formatY(0)}</text>
${opts.points.length > 1 ? html`<path d="${path}" fill="none" stroke="${CHART.primary}" stroke-width="2"/>` : ''}
${opts.points.map((p) => html`<circle cx="${fmt(X(p.at.getTime()))}" cy="${fmt(Y(p.value))}" r="3" fill="${CHART.primary}"><title>${p.at.toISOString().slice(0, 16)}Z: ${opts.formatY(p.value)}</title></circle>`)}
${first ? html`<text x="${pad.l}" y="${height - 6}">${first.at.toISOString().slice(0, 10)}</text>` : ''}
${last && last !== first ? html`<text x="${width - pad.r}" y="${height - 6}" text-anchor="end">${last.at.toISOString().slice(0, 10)}</text>` : ''}
</svg></figure>`;
}
