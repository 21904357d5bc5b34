/**
 * `GET /metrics`: driftplane's figures in Prometheus text format (prom-client), computed from the
 * findings ledger at scrape time. One registry per module instance (never prom-client's global one),
 * one ledger snapshot per scrape shared by every metric. Names are a contract: the Grafana dashboard
 * (deploy/grafana/driftplane.json) queries them, and a test fails when one is renamed.
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import type { BudgetReport } from '../../domain/budgets/report';
import type { Ledger } from '../../ledger';
import { isOverdue } from '../../ledger/detection';
import { readLedgerMetrics, STAGE_DURATION_BUCKETS, type LedgerMetrics } from '../../ledger/metrics';
import type { Config } from '../../workers/config';
import type { Logger } from '../../workers/logger';
import type { ServeModule } from '../server';
import { budgetReportsFor, unitIntervalsFor, type UnitIntervals } from './sources';

/** Every metric name `/metrics` exposes (the dashboard test checks its queries against these). */
export const METRIC_NAMES = [
  'driftplane_open_findings',
  'driftplane_findings',
  'driftplane_stage_duration_seconds',
  'driftplane_detections_total',
  'driftplane_units_stale',
  'driftplane_auto_heals_total',
  'driftplane_breaker_trips_total',
  'driftplane_budget_remaining',
  'driftplane_approvals_waiting',
  'driftplane_approval_wait_seconds',
] as const;

/** What one scrape reads. */
interface Snapshot {
  ledger: LedgerMetrics;
  stale: number;
  budgets: BudgetReport[];
  now: Date;
}

/** What the module reads; `budgets` and `intervals` default to the ledger's budget reports and the registry's tier intervals. */
export interface MetricsDeps {
  config: Config;
  ledger: Ledger;
  now?: () => Date;
  /** The evaluated budgets (default {@link budgetReportsFor}). */
  budgets?: () => Promise<BudgetReport[]>;
  /** Each registered unit's detection interval (default: the registry's, as the staleness sweep reads them). */
  intervals?: () => Promise<UnitIntervals>;
  log?: Logger;
}

/**
 * A histogram whose buckets the database counted: prom-client's Histogram only observes values one
 * by one, so this metric hands the registry its series directly (`_bucket{le}`, `_sum`, `_count`).
 */
function stageDurationHistogram(snapshot: () => Promise<Snapshot>): Metric {
  const name = 'driftplane_stage_duration_seconds';
  const help =
    'Time from detection to each lifecycle stage reached (classified, routed, approved, reconciled, verified, closed), from ledger timestamps.';
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    collect: () => undefined,
    reset: () => undefined,
    get: async () => {
      const { ledger } = await snapshot();
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const row of ledger.stageDurations) {
        STAGE_DURATION_BUCKETS.forEach((le, i) =>
          values.push({
            metricName: `${name}_bucket`,
            labels: { stage: row.stage, le },
            value: row.buckets[i] ?? 0,
          }),
        );
        values.push({
          metricName: `${name}_bucket`,
          labels: { stage: row.stage, le: '+Inf' },
          value: row.count,
        });
        values.push({ metricName: `${name}_sum`, labels: { stage: row.stage }, value: row.sum });
        values.push({ metricName: `${name}_count`, labels: { stage: row.stage }, value: row.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  return metric as unknown as Metric;
}

/** The metrics registry of one module instance; `snapshot` is read once per scrape. */
export function metricsRegistry(snapshot: () => Promise<Snapshot>): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'driftplane_open_findings',
    help: 'Open (not closed) lifecycles by drift class, risk and environment.',
    labelNames: ['drift_class', 'risk', 'environment'] as const,
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const r of s.ledger.open)
        this.set({ drift_class: r.driftClass, risk: r.risk, environment: r.environment }, r.count);
    },
  });
  new Gauge({
    name: 'driftplane_findings',
    help: "Every lifecycle run in the ledger by drift class and outcome ('open' when not closed).",
    labelNames: ['drift_class', 'outcome'] as const,
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const r of s.ledger.findings) this.set({ drift_class: r.driftClass, outcome: r.outcome }, r.count);
    },
  });
  registry.registerMetric(stageDurationHistogram(snapshot));
  new Counter({
    name: 'driftplane_detections_total',
    help: 'Detection attempts recorded in the ledger, by result (ok | failed).',
    labelNames: ['result'] as const,
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      const by = new Map(s.ledger.detections.map((d) => [d.result, d.count]));
      for (const result of new Set(['ok', 'failed', ...by.keys()])) this.inc({ result }, by.get(result) ?? 0);
    },
  });
  new Gauge({
    name: 'driftplane_units_stale',
    help: "Registered units overdue now: no successful detection within their tier's interval (as the staleness sweep judges).",
    registers,
    async collect() {
      this.set((await snapshot()).stale);
    },
  });
  new Counter({
    name: 'driftplane_auto_heals_total',
    help: 'Auto-healed lifecycles by result: success (closed RECONCILED) or failure (closed otherwise).',
    labelNames: ['result'] as const,
    registers,
    async collect() {
      const { autoHeals } = (await snapshot()).ledger;
      this.reset();
      this.inc({ result: 'success' }, autoHeals.success);
      this.inc({ result: 'failure' }, autoHeals.failure);
    },
  });
  new Counter({
    name: 'driftplane_breaker_trips_total',
    help: 'Lifecycles classified with the controller-fight breaker rule (hard:auto-heal-breaker).',
    registers,
    async collect() {
      this.reset();
      this.inc((await snapshot()).ledger.breakerTrips);
    },
  });
  new Gauge({
    name: 'driftplane_budget_remaining',
    help: 'Fraction of each drift budget left over its window (0..1).',
    labelNames: ['budget'] as const,
    registers,
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const b of s.budgets) this.set({ budget: b.budget }, b.remaining);
    },
  });
  new Gauge({
    name: 'driftplane_approvals_waiting',
    help: 'Lifecycles routed to a person and not answered yet.',
    registers,
    async collect() {
      this.set((await snapshot()).ledger.approvalsWaiting.count);
    },
  });
  new Gauge({
    name: 'driftplane_approval_wait_seconds',
    help: 'Age of the oldest approval waiting for a person (0 when none waits).',
    registers,
    async collect() {
      const s = await snapshot();
      const oldest = s.ledger.approvalsWaiting.oldestRoutedAt;
      this.set(oldest ? Math.max(0, (s.now.getTime() - oldest.getTime()) / 1000) : 0);
    },
  });
  return registry;
}

/** Counts the registered units overdue at `now` (isOverdue over the ledger's detection records). */
export function countStale(units: LedgerMetrics['units'], intervals: UnitIntervals, now: Date): number {
  const byUnit = new Map(units.map((u) => [u.unit, u]));
  let stale = 0;
  for (const [unit, intervalMs] of intervals) if (isOverdue(byUnit.get(unit), intervalMs, now)) stale++;
  return stale;
}

/** `GET /metrics`: Prometheus text format, read from the ledger at scrape time. */
export function metricsModule(deps: MetricsDeps): ServeModule {
  const now = deps.now ?? (() => new Date());
  const budgets = deps.budgets ?? (() => budgetReportsFor(deps.config, deps.ledger, now()));
  const intervals = deps.intervals ?? unitIntervalsFor(deps.config.registryDir);
  const read = async (): Promise<Snapshot> => {
    const at = now();
    const [ledger, units, reports] = await Promise.all([
      readLedgerMetrics(deps.ledger.db),
      intervals(),
      budgets(),
    ]);
    return { ledger, stale: countStale(ledger.units, units, at), budgets: reports, now: at };
  };
  // Every metric of one scrape shares one snapshot: the registry asks them all in the same tick.
  let inflight: Promise<Snapshot> | undefined;
  const snapshot = () => (inflight ??= read().finally(() => (inflight = undefined)));
  const registry = metricsRegistry(snapshot);
  return {
    name: 'metrics',
    register(app) {
      app.get('/metrics', async (_req, reply) => {
        try {
          const text = await registry.metrics();
          return reply.type(registry.contentType).send(text);
        } catch (err) {
          deps.log?.error({ err }, 'metrics: reading the ledger failed');
          return reply
            .code(503)
            .type('text/plain; charset=utf-8')
            .send('metrics unavailable: the ledger could not be read\n');
        }
      });
    },
  };
}
