/**
 * deploy/grafana/driftplane.json as data: its panels (rows' nested panels included) and the metric
 * names their PromQL queries read, so tests can hold them to what driftplane and Temporal expose.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './shared-fixtures';

/** One panel of the dashboard (the fields the tests read). */
export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { expr?: string; refId: string; datasource?: { type: string; uid: string } }[];
  panels?: GrafanaPanel[];
  gridPos: { h: number; w: number; x: number; y: number };
}

/** The dashboard file. */
export const DASHBOARD_FILE = path.join(repoRoot, 'deploy', 'grafana', 'driftplane.json');

/** The dashboard, parsed. */
export function readDashboard(): {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
} {
  return JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: GrafanaPanel[];
  };
}

/** Every panel, rows' children included. */
export function allPanels(panels: GrafanaPanel[]): GrafanaPanel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'rate',
  'increase',
  'histogram_quantile',
  'le',
  'without',
  'avg',
  'max',
  'min',
  'count',
  'on',
  'ignoring',
]);

/**
 * The metric names a PromQL expression reads, with a histogram's `_bucket`, `_sum` and `_count`
 * folded into its family name when `histograms` says it is one.
 */
export function metricNamesIn(expr: string, histograms: ReadonlySet<string> = new Set()): string[] {
  // Drop label matchers, label lists and strings: what is left are functions, keywords and metric names.
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/"[^"]*"/g, '')
    .replace(/\[[^\]]*\]/g, '');
  const names = new Set<string>();
  for (const m of bare.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
    const word = m[1] as string;
    if (PROMQL_WORDS.has(word) || /^\d/.test(word)) continue;
    const family = word.replace(/_(bucket|sum|count)$/, '');
    names.add(family !== word && histograms.has(family) ? family : word);
  }
  return [...names];
}
