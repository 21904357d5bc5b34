import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetReport } from '../../domain/budgets/report';
import { detectionIntervalMs } from '../../domain/registry/resolve';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';
import { openLedger, type Ledger } from '../../ledger';
import { loadRegistry } from '../../registry';
import { buildServer } from '../../serve/server';
import { METRIC_NAMES, metricsModule } from '../../serve/metrics';
import { loadConfig } from '../../workers/config';
import { parsePrometheusText, sampleValue, type PromFamily } from '../support/prometheus-text';
import { repoRoot } from '../support/shared-fixtures';

const NOW = new Date('2026-01-10T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const H = 3600;

/** A lifecycle row: detected `detectedAgo` seconds before NOW, each stage `+s` seconds after detection. */
interface Row {
  id: string;
  run?: string;
  unit: string;
  detectedAgo: number;
  cls?: string;
  risk?: string;
  env?: string;
  action?: string;
  autoHeal?: boolean;
  kind?: 'person' | 'auto-heal';
  approvals?: number;
  rules?: { ruleId: string; why: string }[];
  stage: string;
  outcome?: string;
  at: Partial<Record<'classified' | 'routed' | 'approved' | 'reconciled' | 'verified' | 'closed', number>>;
}

const ROWS: Row[] = [
  // Routed to a person, no answer: waiting since detected+120 s (2 h ago).
  {
    id: 'finding:web-prod:f1',
    unit: 'web-prod',
    detectedAgo: 2 * H,
    cls: 'UNAUTHORIZED_RUNTIME_DRIFT',
    risk: 'HIGH',
    env: 'prod',
    action: 'RUNTIME_REVERT',
    autoHeal: false,
    stage: 'routed',
    at: { classified: 30, routed: 120 },
  },
  {
    id: 'finding:web-prod:f2',
    unit: 'web-prod',
    detectedAgo: 600,
    cls: 'UNAUTHORIZED_RUNTIME_DRIFT',
    risk: 'HIGH',
    env: 'prod',
    stage: 'classified',
    at: { classified: 90 },
  },
  // Auto-healed, reconciled: a success.
  {
    id: 'finding:db-staging:f3',
    unit: 'db-staging',
    detectedAgo: 24 * H,
    cls: 'CONTROLLER_OWNED_DRIFT',
    risk: 'LOW',
    env: 'staging',
    action: 'RUNTIME_REVERT',
    autoHeal: true,
    kind: 'auto-heal',
    approvals: 1,
    stage: 'closed',
    outcome: 'RECONCILED',
    at: { classified: 10, routed: 20, approved: 20, reconciled: 200, verified: 400, closed: 400 },
  },
  // Auto-healed, closed FAILED: a failure.
  {
    id: 'finding:db-staging:f4',
    unit: 'db-staging',
    detectedAgo: 48 * H,
    cls: 'CONTROLLER_OWNED_DRIFT',
    risk: 'LOW',
    env: 'staging',
    action: 'RUNTIME_REVERT',
    autoHeal: true,
    kind: 'auto-heal',
    approvals: 1,
    stage: 'closed',
    outcome: 'FAILED',
    at: { classified: 5, routed: 5, approved: 5, reconciled: 1000, closed: 4000 },
  },
  // The breaker tripped: an incident, waiting for a person since detected+60 s (3 h ago): the oldest.
  {
    id: 'finding:iam:f5',
    unit: 'iam',
    detectedAgo: 3 * H,
    cls: 'FAILED_RECONCILIATION',
    risk: 'HIGH',
    env: 'prod',
    action: 'INCIDENT',
    autoHeal: false,
    rules: [{ ruleId: 'hard:auto-heal-breaker', why: 'healed 3 times within 1h' }],
    stage: 'routed',
    at: { classified: 60, routed: 60 },
  },
  // Routed with IGNORE: nobody has to answer, so not waiting.
  {
    id: 'finding:web-prod:f6',
    unit: 'web-prod',
    detectedAgo: 1800,
    cls: 'IDENTITY_DRIFT',
    risk: 'CRITICAL',
    env: 'prod',
    action: 'IGNORE',
    autoHeal: false,
    stage: 'routed',
    at: { classified: 2000, routed: 2000 },
  },
  // A second run of f1 (reopened), only detected: unknown class.
  { id: 'finding:web-prod:f1', run: 'r2', unit: 'web-prod', detectedAgo: 60, stage: 'detected', at: {} },
  // A person rejected it after 200000 s.
  {
    id: 'finding:iam:f8',
    unit: 'iam',
    detectedAgo: 5 * 24 * H,
    cls: 'IDENTITY_DRIFT',
    risk: 'CRITICAL',
    env: 'prod',
    action: 'OPEN_RECONCILIATION_PR',
    autoHeal: false,
    kind: 'person',
    approvals: 1,
    stage: 'closed',
    outcome: 'REJECTED',
    at: { classified: 100_000, routed: 100_000, approved: 200_000, closed: 200_000 },
  },
];

async function fill(ledger: Ledger): Promise<void> {
  for (const r of ROWS) {
    const detected = ago(r.detectedAgo);
    const t = (k: keyof Row['at']) =>
      r.at[k] === undefined ? null : new Date(detected.getTime() + (r.at[k] as number) * 1000);
    await ledger.db.query(
      `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, environment, drift_class, risk, action, auto_heal_allowed, rules, stage, outcome,
         approval_kind, approvals, detected_at, classified_at, routed_at, approved_at, reconciled_at, verified_at, closed_at, updated_at)
       VALUES ($1, $2, $3, 'Deployment/x/y', $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
      [
        r.id,
        r.run ?? 'r1',
        r.unit,
        r.env ?? null,
        r.cls ?? null,
        r.risk ?? null,
        r.action ?? null,
        r.autoHeal ?? null,
        JSON.stringify(r.rules ?? []),
        r.stage,
        r.outcome ?? null,
        r.kind ?? null,
        r.approvals ?? 0,
        detected,
        t('classified'),
        t('routed'),
        t('approved'),
        t('reconciled'),
        t('verified'),
        t('closed'),
        NOW,
      ],
    );
  }
  for (const [unit, agoS, result] of [
    ['web-prod', H, 'ok'],
    ['web-prod', 1800, 'failed'],
    ['web-prod', 300, 'ok'],
    ['db-staging', 2 * H, 'failed'],
  ] as const) {
    await ledger.db.query(`INSERT INTO detection_attempts (unit, at, result) VALUES ($1, $2, $3)`, [
      unit,
      ago(agoS),
      result,
    ]);
  }
  // web-prod succeeded 5 min ago (interval 15 min): fresh. db-staging's last success is 3 h old (1 h): stale.
  // new-unit was first seen 10 min ago (1 h): not overdue yet. iam has no record at all: stale.
  for (const [unit, firstSeen, lastSuccess] of [
    ['web-prod', 10 * 24 * H, 300],
    ['db-staging', 10 * 24 * H, 3 * H],
    ['new-unit', 600, undefined],
  ] as const) {
    await ledger.db.query(
      `INSERT INTO unit_detection (unit, first_seen_at, last_success_at, consecutive_failures) VALUES ($1, $2, $3, 0)`,
      [unit, ago(firstSeen), lastSuccess === undefined ? null : ago(lastSuccess)],
    );
  }
}

const INTERVALS = new Map<string, number | undefined>([
  ['web-prod', 15 * 60_000],
  ['db-staging', H * 1000],
  ['iam', 6 * H * 1000],
  ['new-unit', H * 1000],
  ['cron-unit', undefined],
]);

const budget = (name: string, remaining: number): BudgetReport => ({
  budget: name,
  domain: 'iam',
  environment: 'prod',
  state: remaining > 0 ? 'ok' : 'exhausted',
  remaining,
  reasons: [],
  history: [],
});

const config = loadConfig({ DRIFTPLANE_HOME: '/tmp/driftplane-metrics-test' });

async function scrape(
  ledger: Ledger,
  extra: Partial<Parameters<typeof metricsModule>[0]> = {},
): Promise<{ status: number; type: string; body: string; families: Map<string, PromFamily> }> {
  const app = await buildServer([
    metricsModule({
      config,
      ledger,
      now: () => NOW,
      intervals: async () => INTERVALS,
      budgets: async () => [budget('iam-zero-unclassified', 0.25), budget('gitops-reconcile', 1)],
      ...extra,
    }),
  ]);
  try {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    return {
      status: res.statusCode,
      type: String(res.headers['content-type']),
      body: res.body,
      families: parsePrometheusText(res.body),
    };
  } finally {
    await app.close();
  }
}

describe.each(LEDGER_ENGINES)('GET /metrics on $engine', ({ engine, url }) => {
  let ledger: Ledger;
  let dbUrl: string;
  let m: Map<string, PromFamily>;
  beforeAll(async () => {
    dbUrl = await url();
    ledger = await openLedger(dbUrl);
    await fill(ledger);
    const res = await scrape(ledger);
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain; version=0.0.4');
    m = res.families;
  }, 60_000);
  afterAll(async () => {
    await ledger?.close();
    if (engine === 'postgres') await dropDatabase(dbUrl);
  });

  it('exposes every metric of the contract, with its type', () => {
    expect([...m.keys()].sort()).toEqual([...METRIC_NAMES].sort());
    expect(m.get('driftplane_stage_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(m.get('driftplane_detections_total')?.type).toBe('COUNTER');
    expect(m.get('driftplane_open_findings')?.type).toBe('GAUGE');
  });

  it('open findings by class, risk and environment; every run by class and outcome', () => {
    const open = m
      .get('driftplane_open_findings')!
      .metrics.map((s) => [s.labels?.drift_class, s.labels?.risk, s.labels?.environment, Number(s.value)]);
    expect(open.sort()).toEqual(
      [
        ['FAILED_RECONCILIATION', 'HIGH', 'prod', 1],
        ['IDENTITY_DRIFT', 'CRITICAL', 'prod', 1],
        ['UNAUTHORIZED_RUNTIME_DRIFT', 'HIGH', 'prod', 2],
        ['unknown', 'unknown', 'unknown', 1],
      ].sort(),
    );
    const all = m
      .get('driftplane_findings')!
      .metrics.map((s) => `${s.labels?.drift_class}/${s.labels?.outcome}=${s.value}`);
    expect(all.sort()).toEqual(
      [
        'CONTROLLER_OWNED_DRIFT/FAILED=1',
        'CONTROLLER_OWNED_DRIFT/RECONCILED=1',
        'FAILED_RECONCILIATION/open=1',
        'IDENTITY_DRIFT/REJECTED=1',
        'IDENTITY_DRIFT/open=1',
        'UNAUTHORIZED_RUNTIME_DRIFT/open=2',
        'unknown/open=1',
      ].sort(),
    );
  });

  it('stage durations are a real histogram: cumulative buckets, sum and count per stage', () => {
    const h = m.get('driftplane_stage_duration_seconds')!;
    const series = (stage: string) => h.metrics.find((s) => s.labels?.stage === stage)!;
    const buckets = (stage: string) =>
      Object.fromEntries(Object.entries(series(stage).buckets ?? {}).map(([le, v]) => [le, Number(v)]));
    const le = ['60', '300', '900', '1800', '3600', '14400', '43200', '86400', '259200', '604800', '+Inf'];
    const expected: Record<string, { b: number[]; sum: number; count: number }> = {
      // 30, 90, 10, 5, 60, 2000, 100000
      classified: { b: [4, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7], sum: 102_195, count: 7 },
      // 120, 20, 5, 60, 2000, 100000
      routed: { b: [3, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6], sum: 102_205, count: 6 },
      // 20, 5, 200000
      approved: { b: [2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3], sum: 200_025, count: 3 },
      // 200, 1000
      reconciled: { b: [0, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2], sum: 1200, count: 2 },
      // 400
      verified: { b: [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], sum: 400, count: 1 },
      // 400, 4000, 200000
      closed: { b: [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3], sum: 204_400, count: 3 },
    };
    for (const [stage, e] of Object.entries(expected)) {
      const got = buckets(stage);
      expect(
        Object.keys(got).map((k) => (k === '+Inf' ? k : String(Number(k)))),
        stage,
      ).toEqual(le);
      expect(Object.values(got), stage).toEqual(e.b);
      expect(Number(series(stage).sum), stage).toBeCloseTo(e.sum, 6);
      expect(Number(series(stage).count), stage).toBe(e.count);
    }
  });

  it('detections by result, stale units, auto-heals, breaker trips', () => {
    expect(sampleValue(m.get('driftplane_detections_total'), { result: 'ok' })).toBe(2);
    expect(sampleValue(m.get('driftplane_detections_total'), { result: 'failed' })).toBe(2);
    // db-staging (3 h > 1 h) and iam (no record); not web-prod (5 min < 15), new-unit (seen 10 min ago < 1 h) or the cron unit.
    expect(sampleValue(m.get('driftplane_units_stale'))).toBe(2);
    expect(sampleValue(m.get('driftplane_auto_heals_total'), { result: 'success' })).toBe(1);
    expect(sampleValue(m.get('driftplane_auto_heals_total'), { result: 'failure' })).toBe(1);
    expect(sampleValue(m.get('driftplane_breaker_trips_total'))).toBe(1);
  });

  it('budgets remaining, approvals waiting and the age of the oldest', () => {
    expect(sampleValue(m.get('driftplane_budget_remaining'), { budget: 'iam-zero-unclassified' })).toBe(0.25);
    expect(sampleValue(m.get('driftplane_budget_remaining'), { budget: 'gitops-reconcile' })).toBe(1);
    // f1 (RUNTIME_REVERT refused) and f5 (INCIDENT); not f6 (IGNORE needs nobody) nor f2 (not routed).
    expect(sampleValue(m.get('driftplane_approvals_waiting'))).toBe(2);
    // f5 was routed 3 h - 60 s ago.
    expect(sampleValue(m.get('driftplane_approval_wait_seconds'))).toBe(3 * H - 60);
  });

  it('the default sources read the registry: tier intervals for staleness, its budgets evaluated', async () => {
    const registryDir = path.join(repoRoot, 'registry', 'examples', 'acme');
    const loaded = await loadRegistry(registryDir);
    if (!loaded.ok) throw new Error('the example registry does not load');
    const app = await buildServer([
      metricsModule({
        config: loadConfig({
          DRIFTPLANE_HOME: '/tmp/driftplane-metrics-test',
          DRIFTPLANE_REGISTRY: registryDir,
        }),
        ledger,
        now: () => NOW,
      }),
    ]);
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const f = parsePrometheusText(res.body);
      // None of the example's units has a record in this ledger (its units are named otherwise): every one with an interval is overdue.
      const withInterval = [...loaded.registry.units.values()]
        .filter((u) => detectionIntervalMs(u) !== undefined)
        .map((u) => u.metadata.name);
      expect(withInterval.some((u) => ['web-prod', 'db-staging', 'iam', 'new-unit'].includes(u))).toBe(false);
      expect(withInterval.length).toBeGreaterThan(0);
      expect(sampleValue(f.get('driftplane_units_stale'))).toBe(withInterval.length);
      // One series per DriftBudget, each a fraction.
      const budgets = f.get('driftplane_budget_remaining')!.metrics;
      expect(budgets.map((s) => s.labels?.budget).sort()).toEqual([...loaded.registry.budgets.keys()].sort());
      expect(loaded.registry.budgets.size).toBeGreaterThan(0);
      for (const s of budgets) {
        expect(Number(s.value)).toBeGreaterThanOrEqual(0);
        expect(Number(s.value)).toBeLessThanOrEqual(1);
      }
    } finally {
      await app.close();
    }
  });

  it('a ledger that cannot be read answers 503, not a partial scrape', async () => {
    const broken = {
      ...ledger,
      db: { ...ledger.db, query: async () => Promise.reject(new Error('connection refused')) },
    } as Ledger;
    const res = await scrape(broken);
    expect(res.status).toBe(503);
    expect(res.body).toContain('metrics unavailable');
  });
});
