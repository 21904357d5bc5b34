import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openLedger, type Ledger } from '../../ledger';
import { metricsModule } from '../../serve/metrics';
import { buildServer } from '../../serve/server';
import { loadConfig } from '../../workers/config';
import { allPanels, metricNamesIn, readDashboard } from '../support/grafana-dashboard';
import { parsePrometheusText } from '../support/prometheus-text';
import { repoRoot } from '../support/shared-fixtures';

const dashboard = readDashboard();
const panels = allPanels(dashboard.panels);
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

describe('deploy/grafana/driftplane.json', () => {
  let ledger: Ledger;
  let exposed: Map<string, string>;
  beforeAll(async () => {
    // The names /metrics actually exposes, from the module itself over an empty ledger.
    ledger = await openLedger('pglite:memory');
    const app = await buildServer([
      metricsModule({
        config: loadConfig({ DRIFTPLANE_HOME: '/tmp/driftplane-deploy-test' }),
        ledger,
        intervals: async () => new Map(),
        budgets: async () => [],
      }),
    ]);
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    await app.close();
    expect(res.statusCode).toBe(200);
    exposed = new Map([...parsePrometheusText(res.body).values()].map((f) => [f.name, f.type]));
  }, 60_000);
  afterAll(async () => {
    await ledger?.close();
  });

  it('is a Grafana dashboard (schemaVersion 36 or later) with unique panel ids, each query on the Prometheus datasource', () => {
    expect(dashboard.uid).toBe('driftplane');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    const withQueries = panels.filter((p) => p.type !== 'row');
    expect(withQueries.length).toBeGreaterThanOrEqual(10);
    for (const p of withQueries) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: 'prometheus' });
    }
  });

  it('queries only metric names /metrics exposes (a renamed metric fails here)', () => {
    const histograms = new Set([...exposed].filter(([, type]) => type === 'HISTOGRAM').map(([name]) => name));
    const read = queries.flatMap((q) => metricNamesIn(q.expr, histograms).map((name) => ({ ...q, name })));
    const ours = read.filter((r) => r.name.startsWith('driftplane_'));
    const missing = ours.filter((r) => !exposed.has(r.name)).map((r) => `${r.panel}: ${r.name}`);
    expect(missing).toEqual([]);
    // Everything else is Temporal's worker metrics (checked against a real worker in test/workflows/telemetry-logs.test.ts).
    expect(
      read
        .filter((r) => !r.name.startsWith('driftplane_') && !r.name.startsWith('temporal_'))
        .map((r) => `${r.panel}: ${r.name}`),
    ).toEqual([]);
  });

  it('has the panels the issue asks for: open findings by class, stage durations p50/p95, detections, budget remaining, approvals waiting, the worker', () => {
    const exprs = queries.map((q) => q.expr);
    expect(exprs).toContain('sum by (drift_class) (driftplane_open_findings)');
    expect(exprs).toContain(
      'histogram_quantile(0.5, sum by (le, stage) (driftplane_stage_duration_seconds_bucket))',
    );
    expect(exprs).toContain(
      'histogram_quantile(0.95, sum by (le, stage) (driftplane_stage_duration_seconds_bucket))',
    );
    expect(exprs.some((e) => e.includes('driftplane_detections_total'))).toBe(true);
    expect(exprs.some((e) => e.includes('driftplane_budget_remaining'))).toBe(true);
    expect(exprs.some((e) => e.includes('driftplane_approvals_waiting'))).toBe(true);
    expect(exprs.some((e) => e.includes('temporal_workflow_completed'))).toBe(true);
    // Every metric /metrics exposes is on the dashboard somewhere.
    const onDashboard = new Set(
      queries.flatMap((q) => metricNamesIn(q.expr, new Set(['driftplane_stage_duration_seconds']))),
    );
    expect([...exposed.keys()].filter((n) => !onDashboard.has(n))).toEqual([]);
  });

  it('the name extraction reads what a query reads (histogram suffixes folded, labels and functions ignored)', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, activity_type) (rate(temporal_activity_execution_latency_bucket[5m])))',
      ),
    ).toEqual(['temporal_activity_execution_latency_bucket']);
    expect(
      metricNamesIn(
        'sum(x_seconds_sum{stage="closed"}) / sum(x_seconds_count{stage="closed"})',
        new Set(['x_seconds']),
      ),
    ).toEqual(['x_seconds']);
    expect(metricNamesIn('sum(driftplane_open_findings{risk=~"CRITICAL|HIGH"})')).toEqual([
      'driftplane_open_findings',
    ]);
  });
});

describe('Prometheus and Grafana provisioning (docker compose --profile observability)', () => {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
    services: Record<
      string,
      { profiles?: string[]; volumes?: string[]; environment?: Record<string, string>; ports?: string[] }
    >;
  };

  it('prometheus and grafana are in the observability profile only, with their files mounted', () => {
    const { prometheus, grafana } = compose.services;
    expect(prometheus?.profiles).toEqual(['observability']);
    expect(grafana?.profiles).toEqual(['observability']);
    for (const v of [...(prometheus?.volumes ?? []), ...(grafana?.volumes ?? [])]) {
      const [src] = v.split(':');
      if (src?.startsWith('./')) expect(existsSync(path.join(repoRoot, src)), src).toBe(true);
    }
    expect(grafana?.volumes).toContain(
      './deploy/grafana/driftplane.json:/var/lib/grafana/dashboards/driftplane.json:ro',
    );
    for (const [name, s] of Object.entries(compose.services))
      if (name !== 'prometheus' && name !== 'grafana') expect(s.profiles, name).toBeUndefined();
  });

  it("prometheus scrapes serve's /metrics and the worker's Temporal metrics address", () => {
    const prom = parse(
      readFileSync(path.join(repoRoot, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'),
    ) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(
      prom.scrape_configs.map((c) => [
        c.job_name,
        { path: c.metrics_path ?? '/metrics', targets: c.static_configs.flatMap((s) => s.targets) },
      ]),
    );
    const servePort = compose.services.serve?.environment?.DRIFTPLANE_SERVE_PORT;
    expect(targets['driftplane-serve']).toEqual({ path: '/metrics', targets: [`serve:${servePort}`] });
    const workerAddress =
      compose.services['driftplane-worker']?.environment?.DRIFTPLANE_WORKER_METRICS_ADDRESS;
    expect(workerAddress).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(targets['driftplane-worker']).toEqual({
      path: '/metrics',
      targets: [`driftplane-worker:${workerAddress?.split(':')[1]}`],
    });
    // The worker's address passes the config's own validation.
    expect(
      loadConfig({ DRIFTPLANE_WORKER_METRICS_ADDRESS: workerAddress }).telemetry.workerMetricsAddress,
    ).toBe(workerAddress);
  });

  it("grafana's provisioning points at prometheus and at the mounted dashboard folder", () => {
    const ds = parse(
      readFileSync(
        path.join(repoRoot, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
        'utf8',
      ),
    ) as { datasources: { uid: string; type: string; url: string }[] };
    expect(ds.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const dash = parse(
      readFileSync(
        path.join(repoRoot, 'deploy', 'grafana', 'provisioning', 'dashboards', 'driftplane.yml'),
        'utf8',
      ),
    ) as { providers: { options: { path: string } }[] };
    expect(dash.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
  });
});
