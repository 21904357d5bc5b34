import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateBudgets, type BudgetFindingRow } from '../../domain/budgets/evaluate';
import { DriftBudgetSchema, type DriftManagedUnit } from '../../domain/registry/schemas';
import type { SqlDb } from '../../ledger/db';
import { openLedger, type Ledger } from '../../ledger';
import { budgetReports, markBudgetNotified, meanTimes, readBudgetAlerts, readBudgetFindings, recordBudgetState, recurringSources } from '../../ledger/budgets';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';

const T = Date.parse('2026-07-01T12:00:00Z');
const NOW = new Date(T);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

/** Inserts one lifecycle run the way the projection fills it (only the columns budgets read, plus the required ones). */
async function insertLifecycle(
  db: SqlDb,
  r: { findingId: string; runId?: string; unit: string; detected: number; classified?: number; closed?: number; outcome?: string; env?: string; domain?: string; risk?: number; cls?: string; owner?: string; fields?: string[] },
): Promise<void> {
  const classified = r.classified !== undefined;
  await db.query(
    `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, environment, domain, owner, drift_class, risk_rank, changed_fields, stage, outcome, detected_at, classified_at, closed_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $13)`,
    [
      r.findingId,
      r.runId ?? 'r1',
      r.unit,
      `ref:${r.findingId}`,
      classified ? (r.env ?? 'prod') : null,
      classified ? (r.domain ?? 'iam') : null,
      classified ? (r.owner ?? 'platform-identity') : null,
      classified ? (r.cls ?? 'UNAUTHORIZED_RUNTIME_DRIFT') : null,
      classified ? (r.risk ?? 4) : null,
      JSON.stringify(r.fields ?? []),
      r.closed !== undefined ? 'closed' : classified ? 'classified' : 'detected',
      r.closed !== undefined ? (r.outcome ?? 'RECONCILED') : null,
      new Date(r.detected),
      classified ? new Date(r.classified!) : null,
      r.closed !== undefined ? new Date(r.closed) : null,
    ],
  );
}

const budget = DriftBudgetSchema.parse({
  apiVersion: 'driftplane.io/v1alpha1',
  kind: 'DriftBudget',
  metadata: { name: 'prod-iam' },
  spec: { domain: 'iam', environment: 'prod', owner: 'platform-identity', minRisk: 'high', maxUnclassified: 0, maxAge: '1d', detectionInterval: '15m', timeToClassify: { within: '30m', percent: 99 } },
});

describe.each(LEDGER_ENGINES)('budgets over the ledger ($engine)', ({ engine, url }) => {
  let ledger: Ledger;
  let dbUrl: string;

  beforeAll(async () => {
    dbUrl = await url();
    ledger = await openLedger(dbUrl);
    const db = ledger.db;
    // 200 prod iam findings over 25 days, 3 classified after 45 min (objective 30 min), all closed.
    for (let i = 0; i < 200; i++) {
      const detected = T - (i + 1) * 3 * HOUR;
      const classified = detected + ([100, 101, 102].includes(i) ? 45 : 10) * MIN;
      await insertLifecycle(db, { findingId: `prod-iam-baseline:fp${i}`, unit: 'prod-iam-baseline', detected, classified, closed: classified + 50 * MIN, fields: i < 3 ? ['/Statement/0/Action'] : [] });
    }
    // The same finding came back twice more (three runs), and a field of another unit drifted in two findings.
    await insertLifecycle(db, { findingId: 'prod-iam-baseline:fp0', runId: 'r2', unit: 'prod-iam-baseline', detected: T - 2 * HOUR, classified: T - 2 * HOUR + 5 * MIN, closed: T - HOUR });
    await insertLifecycle(db, { findingId: 'prod-iam-baseline:fp0', runId: 'r3', unit: 'prod-iam-baseline', detected: T - 30 * MIN, classified: T - 25 * MIN, closed: T - 20 * MIN });
    await insertLifecycle(db, { findingId: 'checkout-web-prod:a', unit: 'checkout-web-prod', detected: T - 5 * HOUR, classified: T - 5 * HOUR + MIN, env: 'prod', domain: 'app', risk: 2, fields: ['/spec/replicas'], closed: T - 4 * HOUR });
    await insertLifecycle(db, { findingId: 'checkout-web-prod:b', unit: 'checkout-web-prod', detected: T - 3 * HOUR, classified: T - 3 * HOUR + MIN, env: 'prod', domain: 'app', risk: 2, fields: ['/spec/replicas', '/metadata/labels/x'], closed: T - 2 * HOUR });
    // Older than the window: never counted.
    await insertLifecycle(db, { findingId: 'checkout-web-prod:old', unit: 'checkout-web-prod', detected: T - 40 * DAY, classified: T - 40 * DAY + MIN, env: 'prod', domain: 'app', fields: ['/spec/replicas'], closed: T - 40 * DAY + HOUR });
    await db.query("INSERT INTO unit_detection (unit, first_seen_at, last_success_at, last_result) VALUES ('prod-iam-baseline', $1, $2, 'ok')", [new Date(T - DAY), new Date(T - 5 * MIN)]);
  }, 60_000);

  afterAll(async () => {
    await ledger?.close();
    if (engine === 'postgres') await dropDatabase(dbUrl);
  });

  const units = [
    {
      apiVersion: 'driftplane.io/v1alpha1',
      kind: 'DriftManagedUnit',
      metadata: { name: 'prod-iam-baseline' },
      spec: { type: 'opentofu-stack', owner: 'platform-identity', environment: 'prod', domain: 'iam', riskTier: 'critical' },
    },
  ] as unknown as DriftManagedUnit[];

  it('reads rows of both engines alike and evaluates them: 202 events, 3 late → compliance ≈ 98.51 %, 99 % target spent', async () => {
    const [r] = await budgetReports(ledger.db, [budget], units, NOW, 30 * DAY, { historyPoints: 30 });
    const o = r!.objectives[0]!;
    // 200 + the two later runs of fp0 (both on time) = 202 prod iam events; checkout is another scope.
    expect(o).toMatchObject({ total: 202, good: 199, bad: 3 });
    expect(o.compliance).toBeCloseTo((199 / 202) * 100, 10);
    expect(r).toMatchObject({ budget: 'prod-iam', state: 'exhausted', remaining: 0 });
    expect(r!.limits.every((l) => !l.broken)).toBe(true);
    expect(r!.history).toHaveLength(30);
    // The same rows through the pure evaluation give the same report.
    const rows: BudgetFindingRow[] = await readBudgetFindings(ledger.db, NOW, new Date(T - 61 * DAY));
    const pure = evaluateBudgets({ budgets: [budget], units: [{ name: 'prod-iam-baseline', environment: 'prod', domain: 'iam' }], findings: rows, detections: [{ unit: 'prod-iam-baseline', firstSeenAt: new Date(T - DAY), lastSuccessAt: new Date(T - 5 * MIN) }], now: NOW, windowMs: 30 * DAY });
    expect(pure[0]).toEqual(r);
  });

  it('meanTimes in SQL: MTTC and MTTR in seconds over the window, overall and filtered', async () => {
    // Over 3 hours: classified in (T−3h, T]: fp0 r2 (5 min = 300 s), fp0 r3 (5 min), fp i=0 (detected T−3h, classified T−2h50m: 600 s),
    // checkout b is classified at T−3h+1min (60 s) → (300 + 300 + 600 + 60) / 4 = 315 s.
    // Closed in (T−3h, T]: fp0 r2 (1 h), fp0 r3 (10 min), checkout b (1 h) → (3600 + 600 + 3600) / 3 = 2600 s;
    // fp i=0 closed at T−3h+60min = T−2h (3600 s) too → (3600 + 600 + 3600 + 3600) / 4 = 2850 s.
    expect(await meanTimes(ledger.db, NOW, 3 * HOUR)).toEqual({ mttcSeconds: 315, mttrSeconds: 2850, classified: 4, closed: 4 });
    expect(await meanTimes(ledger.db, NOW, 3 * HOUR, { domain: 'app' })).toEqual({ mttcSeconds: 60, mttrSeconds: 3600, classified: 1, closed: 1 });
    expect(await meanTimes(ledger.db, NOW, 3 * HOUR, { minRisk: 'critical', owner: 'platform-identity' })).toEqual({ mttcSeconds: 400, mttrSeconds: 2600, classified: 3, closed: 3 });
    expect(await meanTimes(ledger.db, new Date(T - 100 * DAY), HOUR)).toEqual({ mttcSeconds: null, mttrSeconds: null, classified: 0, closed: 0 });
  });

  it('recurring drift sources: the finding with three runs, the field in two findings (the 40-day-old one outside), most first', async () => {
    const rec = await recurringSources(ledger.db, NOW, 30 * DAY);
    expect(rec).toEqual([
      { kind: 'finding', unit: 'prod-iam-baseline', findingId: 'prod-iam-baseline:fp0', resourceRef: 'ref:prod-iam-baseline:fp0', count: 3, lastAt: new Date(T - 30 * MIN).toISOString() },
      // /Statement/0/Action drifted in fp0, fp1 and fp2 (three findings, the latest fp0's first run 3 h ago); /spec/replicas in a and b.
      { kind: 'field', unit: 'prod-iam-baseline', field: '/Statement/0/Action', count: 3, lastAt: new Date(T - 3 * HOUR).toISOString() },
      { kind: 'field', unit: 'checkout-web-prod', field: '/spec/replicas', count: 2, lastAt: new Date(T - 3 * HOUR).toISOString() },
    ]);
  });

  it('budget_alerts: a change of state is recorded once, to be notified, then marked', async () => {
    const at = new Date(T);
    expect(await recordBudgetState(ledger.db, { budget: 'x', state: 'exhausted', at, targets: ['slack:#a'], route: 'p#0', remaining: 0, notify: true })).toBe(true);
    expect(await recordBudgetState(ledger.db, { budget: 'x', state: 'exhausted', at: new Date(T + MIN), targets: ['slack:#b'], remaining: 0, notify: true })).toBe(false);
    let rec = (await readBudgetAlerts(ledger.db)).get('x')!;
    expect(rec).toMatchObject({ state: 'exhausted', since: at, notifiedAt: null, targets: ['slack:#a'], route: 'p#0' });
    await markBudgetNotified(ledger.db, 'x', 'exhausted', new Date(T + 2 * MIN));
    rec = (await readBudgetAlerts(ledger.db)).get('x')!;
    expect(rec.notifiedAt).toEqual(new Date(T + 2 * MIN));
  });
});
