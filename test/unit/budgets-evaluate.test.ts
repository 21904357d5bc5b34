import { describe, expect, it } from 'vitest';
import { alertsFor, burnRate, formatWindow } from '../../domain/budgets/burn-rate';
import { evaluateBudgets, meanTimesOfRows, remainingBudget, type BudgetFindingRow, type BudgetUnit } from '../../domain/budgets/evaluate';
import { DriftBudgetSchema, type DriftBudget } from '../../domain/registry/schemas';

// Fixed clock: every case is judged at T.
const T = Date.parse('2026-07-01T12:00:00Z');
const NOW = new Date(T);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function budget(spec: Record<string, unknown>, name = 'b'): DriftBudget {
  return DriftBudgetSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftBudget',
    metadata: { name },
    spec: { domain: 'iam', environment: 'prod', maxUnclassified: 1000, maxAge: '30d', detectionInterval: '15m', ...spec },
  });
}

let seq = 0;
/** A classified prod iam finding run; times in ms since the epoch. */
function row(detected: number, opts: { classified?: number | null; closed?: number; outcome?: string; risk?: number; unit?: string; env?: string; domain?: string; cls?: string } = {}): BudgetFindingRow {
  const classified = opts.classified === undefined ? detected + MIN : opts.classified;
  return {
    findingId: `finding:${opts.unit ?? 'prod-iam-baseline'}:f${++seq}`,
    runId: 'r1',
    unit: opts.unit ?? 'prod-iam-baseline',
    environment: classified === null ? null : (opts.env ?? 'prod'),
    domain: classified === null ? null : (opts.domain ?? 'iam'),
    riskRank: classified === null ? null : (opts.risk ?? 4),
    driftClass: classified === null ? null : (opts.cls ?? 'UNAUTHORIZED_RUNTIME_DRIFT'),
    outcome: opts.closed !== undefined ? (opts.outcome ?? 'RECONCILED') : null,
    detectedAt: new Date(detected),
    classifiedAt: classified === null ? null : new Date(classified),
    closedAt: opts.closed !== undefined ? new Date(opts.closed) : null,
  };
}

const UNITS: BudgetUnit[] = [{ name: 'prod-iam-baseline', environment: 'prod', domain: 'iam' }];
const evaluate = (budgets: DriftBudget[], findings: BudgetFindingRow[], extra: { windowMs?: number; units?: BudgetUnit[]; detections?: Parameters<typeof evaluateBudgets>[0]['detections']; historyPoints?: number } = {}) =>
  evaluateBudgets({
    budgets,
    // The unit of the rows (unclassified rows are scoped by it), detected a minute ago.
    units: extra.units ?? UNITS,
    findings,
    detections: extra.detections ?? [{ unit: 'prod-iam-baseline', firstSeenAt: null, lastSuccessAt: new Date(T - MIN) }],
    now: NOW,
    windowMs: extra.windowMs ?? 30 * DAY,
    historyPoints: extra.historyPoints ?? 0,
  });

// A timeToClassify event known `m` minutes before T (objective `within: 1m`):
// good: detected m+0.5 min ago, classified m min ago (30 s, on time) → counts at T − m;
// bad: detected m+1 min ago, classified m−1 min ago (2 min, late) → counts at its deadline T − m.
const good = (m: number) => row(T - m * MIN - 30_000, { classified: T - m * MIN });
const bad = (m: number) => row(T - (m + 1) * MIN, { classified: T - (m - 1) * MIN });
// 1000 good events between 4 and 29 days ago (one every 36 minutes): only the 30-day window sees them.
const background = () => Array.from({ length: 1000 }, (_, k) => good((4 * DAY + k * 36 * MIN) / MIN));

describe('timeToClassify compliance and remaining error budget', () => {
  // 200 findings over 25 days, 3 of them classified after 45 min (objective: 30 min).
  const findings = Array.from({ length: 200 }, (_, i) => {
    const detected = T - (i + 1) * 3 * HOUR;
    return row(detected, { classified: detected + ([100, 101, 102].includes(i) ? 45 : 10) * MIN });
  });

  it('200 findings with 3 late: compliance 98.5 %; a 99 % target is spent (1 − 0.015/0.01 < 0): exhausted', () => {
    const [r] = evaluate([budget({ timeToClassify: { within: '30m', percent: 99 } })], findings);
    const o = r!.objectives[0]!;
    expect(o).toMatchObject({ objective: 'timeToClassify', total: 200, good: 197, bad: 3, pending: 0, errorBudget: 0.01, remaining: 0 });
    expect(o.compliance).toBeCloseTo(98.5, 10);
    expect(r!.state).toBe('exhausted');
    expect(r!.remaining).toBe(0);
    expect(r!.reasons.join('\n')).toMatch(/timeToClassify \(99 % within 30m\): error budget spent: 3 of 200 finding\(s\) late, compliance 98.5 %/);
  });

  it('the same findings against 95 %: remaining 1 − 0.015/0.05 = 0.7, burn rate over 30d 0.3; the late ones are 12 days old: no alert, ok', () => {
    const [r] = evaluate([budget({ timeToClassify: { within: '30m', percent: 95 } })], findings);
    const o = r!.objectives[0]!;
    expect(o.remaining).toBeCloseTo(0.7, 12);
    expect(o.burnRates.find((b) => b.window === '30d')!.rate).toBeCloseTo(0.3, 12);
    // The 3-day window holds the events of findings 0..23 (detected 3 h … 72 h ago): all on time.
    expect(o.burnRates.find((b) => b.window === '3d')).toMatchObject({ total: 24, bad: 0, rate: 0 });
    expect(o.alerts.every((a) => !a.firing)).toBe(true);
    expect(r).toMatchObject({ state: 'ok', reasons: [], routeClass: 'NONE' });
  });

  it('a finding still unclassified within `within` is pending; past it, it is bad (counted at its deadline)', () => {
    const [r] = evaluate([budget({ timeToClassify: { within: '30m', percent: 90 } })], [
      row(T - 20 * MIN, { classified: null }), // pending
      row(T - 40 * MIN, { classified: null }), // bad since T − 10 min
      row(T - 2 * HOUR, { classified: T - 2 * HOUR + 30 * MIN }), // exactly 30 min: good
    ]);
    expect(r!.objectives[0]).toMatchObject({ total: 2, good: 1, bad: 1, pending: 1 });
    // 1 bad of 2 against a 10 % error budget: 1 − 0.5/0.1 < 0 → 0.
    expect(r!.objectives[0]!.remaining).toBe(0);
  });

  it('a 100 % objective is spent by one bad event, and its burn rate is infinite (null)', () => {
    const findings100 = [...Array.from({ length: 49 }, (_, i) => good(10 + i)), bad(5)];
    const [r] = evaluate([budget({ timeToClassify: { within: '1m', percent: 100 } })], findings100);
    const o = r!.objectives[0]!;
    expect(o).toMatchObject({ total: 50, bad: 1, errorBudget: 0, remaining: 0 });
    expect(o.burnRates.find((b) => b.window === '1h')!.rate).toBeNull();
    expect(r!.state).toBe('exhausted');
    // With no bad event a 100 % objective keeps all of it.
    expect(evaluate([budget({ timeToClassify: { within: '1m', percent: 100 } })], [good(3)])[0]!.remaining).toBe(1);
  });

  it('no events: remaining 1 and compliance null', () => {
    const [r] = evaluate([budget({ timeToClassify: { within: '30m', percent: 99 } })], []);
    expect(r!.objectives[0]).toMatchObject({ total: 0, compliance: null, remaining: 1 });
    expect(r!.remaining).toBe(1);
  });
});

describe('multi-window, multi-burn-rate alerts (SRE workbook ch. 5; 99 % target: error budget 0.01)', () => {
  const spec = { timeToClassify: { within: '1m', percent: 99 } };
  const rates = (r: ReturnType<typeof evaluate>[number]) => Object.fromEntries(r.objectives[0]!.burnRates.map((b) => [b.window, b.rate]));
  const firing = (r: ReturnType<typeof evaluate>[number]) => r.objectives[0]!.alerts.map((a) => `${a.severity} ${a.long}/${a.short}: ${a.firing}`);

  it.each([
    {
      name: 'fast burn: 1 bad of 4 in the last 5 min (rate 0.25/0.01 = 25 on every window up to 3d): both pages and the ticket',
      events: () => [good(1), good(2), good(3), bad(2)],
      want: { '5m': 25, '30m': 25, '1h': 25, '6h': 25, '3d': 25 },
      alerts: [true, true, true],
    },
    {
      name: 'the same, diluted by 20 good events 2 h–5 h ago: 6h rate 1/24/0.01 = 4.17 < 6: the 1h/5m page and the ticket only',
      events: () => [good(1), good(2), good(3), bad(2), ...Array.from({ length: 20 }, (_, k) => good(120 + 9 * k))],
      want: { '5m': 25, '30m': 25, '1h': 25, '6h': 100 / 24, '3d': 100 / 24 },
      alerts: [true, false, true],
    },
    {
      name: '1 bad of 10 in the last 30 min, none in the last 5: 30m and 6h rate 10 ≥ 6, 1h 10 < 14.4: the 6h/30m page and the ticket',
      events: () => [good(1), good(2), bad(20), ...Array.from({ length: 7 }, (_, k) => good(10 + k))],
      want: { '5m': 0, '30m': 10, '1h': 10, '6h': 10, '3d': 10 },
      alerts: [false, true, true],
    },
    {
      name: 'a burn that stopped 40 min ago (1 bad of 8 in the hour, none in 30 min): 1h 12.5 < 14.4: the ticket only',
      events: () => [good(1), good(2), good(3), good(4), good(40), good(40), good(40), bad(40)],
      want: { '5m': 0, '30m': 0, '1h': 12.5, '6h': 12.5, '3d': 12.5 },
      alerts: [false, false, true],
    },
    {
      name: 'one bad event 4 days ago: outside every alert window: no alert',
      events: () => [bad(4 * 24 * 60)],
      want: { '5m': 0, '30m': 0, '1h': 0, '6h': 0, '3d': 0 },
      alerts: [false, false, false],
    },
  ])('$name', ({ events, want, alerts }) => {
    const [r] = evaluate([budget(spec)], [...background(), ...events()]);
    const got = rates(r!);
    for (const [w, v] of Object.entries(want)) expect(got[w], w).toBeCloseTo(v, 9);
    expect(firing(r!)).toEqual([`page 1h/5m: ${alerts[0]}`, `page 6h/30m: ${alerts[1]}`, `ticket 3d/6h: ${alerts[2]}`]);
    expect(r!.state).toBe(alerts.some(Boolean) ? 'burning' : 'ok');
    // Over 30 days the 1000 background events dilute a single bad one: remaining 1 − (1/n)/0.01, not spent.
    const o = r!.objectives[0]!;
    expect(o.bad).toBe(1);
    expect(o.remaining).toBeCloseTo(1 - 1 / o.total / 0.01, 12);
    expect(o.remaining).toBeGreaterThan(0.89);
  });

  it('a 7-day budget window scales every alert window by 7/30 and keeps the thresholds', () => {
    expect(alertsFor(7 * DAY).map((a) => `${a.severity} ${formatWindow(a.longMs)}/${formatWindow(a.shortMs)} ≥ ${a.threshold}`)).toEqual([
      'page 14m/70s ≥ 14.4',
      'page 84m/7m ≥ 6',
      'ticket 1008m/84m ≥ 1',
    ]);
    // 1 bad of 4, all 10 min ago: inside the 14m window, outside the 70s one: the first page does not fire; 84m/7m: 7m has none.
    const [r] = evaluate([budget(spec)], [good(10), good(10), good(10), bad(10)], { windowMs: 7 * DAY });
    expect(r!.objectives[0]!.alerts.map((a) => a.firing)).toEqual([false, false, true]);
  });

  it('burnRate and remainingBudget', () => {
    expect(burnRate(3, 200, 0.01)).toBeCloseTo(1.5, 12);
    expect(burnRate(0, 0, 0)).toBe(0);
    expect(burnRate(1, 10, 0)).toBeNull();
    expect(remainingBudget(3, 200, 0.05)).toBeCloseTo(0.7, 12);
    expect(remainingBudget(3, 200, 0.01)).toBe(0);
  });
});

describe('timeToReconcile', () => {
  it('RECONCILED and NO_ACTION on time are good; a late close, EXPIRED and an open finding past `within` are bad; an open one within it is pending', () => {
    const d = T - 10 * HOUR;
    const [r] = evaluate([budget({ timeToReconcile: { within: '1h', percent: 95 } })], [
      row(d, { closed: d + 30 * MIN, outcome: 'RECONCILED' }), // good
      row(d, { closed: d + 50 * MIN, outcome: 'NO_ACTION' }), // good: explicitly accepted
      row(d, { closed: d + 20 * MIN, outcome: 'EXPIRED' }), // bad at once
      row(d, { closed: d + 2 * HOUR, outcome: 'RECONCILED' }), // bad: late
      row(d), // open for 10 h: bad
      row(T - 30 * MIN), // open for 30 min: pending
    ]);
    const o = r!.objectives[0]!;
    expect(o).toMatchObject({ total: 5, good: 2, bad: 3, pending: 1 });
    expect(o.compliance).toBeCloseTo(40, 10);
    expect(r!.state).toBe('exhausted');
  });
});

describe('limits', () => {
  it('maxUnclassified counts open unclassified findings of the scope (unit environment and domain; any risk), not closed or other scopes', () => {
    const units: BudgetUnit[] = [...UNITS, { name: 'staging-iam', environment: 'staging', domain: 'iam' }];
    const b = budget({ minRisk: 'high', maxUnclassified: 1 });
    const findings = [
      row(T - 5 * MIN, { classified: null }),
      row(T - 6 * MIN, { classified: null }),
      row(T - 7 * MIN, { classified: null, closed: T - MIN, outcome: 'NO_ACTION' }),
      row(T - 8 * MIN, { classified: null, unit: 'staging-iam' }),
      row(T - 9 * MIN, { risk: 1 }), // classified LOW: outside minRisk high
    ];
    const [r] = evaluate([b], findings, { units, detections: [{ unit: 'prod-iam-baseline', firstSeenAt: null, lastSuccessAt: new Date(T - MIN) }] });
    expect(r!.limits.map((l) => [l.limit, l.broken, l.count])).toEqual([
      ['maxUnclassified', true, 2],
      ['maxAge', false, 0],
      ['detectionInterval', false, 0],
    ]);
    expect(r).toMatchObject({ state: 'exhausted', scope: 'prod iam, risk ≥ high', routeClass: 'UNAUTHORIZED_RUNTIME_DRIFT' });
    expect(r!.reasons).toEqual(['maxUnclassified broken: 2 open finding(s) not yet classified (at most 1)']);
  });

  it('maxAge: an open finding older than maxAge exhausts the budget, and routes under its class', () => {
    const [r] = evaluate([budget({ maxAge: '30m' })], [row(T - 45 * MIN, { cls: 'IDENTITY_DRIFT' }), row(T - 10 * MIN)]);
    expect(r!.limits[1]).toMatchObject({ limit: 'maxAge', broken: true, count: 1, threshold: 30 * MIN });
    expect(r!.limits[1]!.detail).toMatch(/1 open finding\(s\) older than 30m \(oldest 45m: finding:prod-iam-baseline:f\d+\)/);
    expect(r!.routeClass).toBe('IDENTITY_DRIFT');
  });

  it('detectionInterval: a unit without a success for longer than the interval, or with no record, is overdue; one first seen recently is not', () => {
    const units: BudgetUnit[] = [
      { name: 'a', environment: 'prod', domain: 'iam' },
      { name: 'b', environment: 'prod', domain: 'iam' },
      { name: 'c', environment: 'prod', domain: 'iam' },
      { name: 'd', environment: 'prod', domain: 'iam' },
      { name: 'other', environment: 'prod', domain: 'network' },
    ];
    const [r] = evaluate([budget({ detectionInterval: '15m' })], [], {
      units,
      detections: [
        { unit: 'a', firstSeenAt: new Date(T - DAY), lastSuccessAt: new Date(T - 20 * MIN) }, // overdue
        { unit: 'b', firstSeenAt: new Date(T - DAY), lastSuccessAt: new Date(T - 10 * MIN) }, // fine
        { unit: 'c', firstSeenAt: new Date(T - 5 * MIN), lastSuccessAt: null }, // new: fine
      ], // d: no record: overdue; other: not in scope
    });
    expect(r!.limits[2]).toMatchObject({ broken: true, count: 2, offenders: ['a', 'd'] });
    expect(r!.limits[2]!.detail).toBe('2 of 4 unit(s) without a successful detection in 15m: a, d');
    expect(r).toMatchObject({ state: 'exhausted', routeClass: 'DETECTION_STALE', remaining: 1 });
  });
});

describe('history: the same evaluation at earlier instants', () => {
  it('4 points over a 4-day window, 95 % within 30m (error budget 0.05)', () => {
    const findings = [
      ...Array.from({ length: 99 }, () => row(T - 3.5 * DAY, { classified: T - 3.5 * DAY + 10 * MIN })),
      row(T - 2.5 * DAY, { classified: T - 2.5 * DAY + 2 * HOUR }), // late: bad at T − 2.5d + 30m
      row(T - DAY - 10 * MIN, { classified: T - DAY + 10 * MIN }), // 20 min: good, but pending at T − 1d
      row(T - 0.5 * DAY, { classified: null }), // never classified: bad at T − 0.5d + 30m
    ];
    const [r] = evaluate([budget({ timeToClassify: { within: '30m', percent: 95 } })], findings, { windowMs: 4 * DAY, historyPoints: 4 });
    expect(r!.history.map((h) => h.at)).toEqual([3, 2, 1, 0].map((d) => new Date(T - d * DAY).toISOString()));
    const got = r!.history.map((h) => h.remaining);
    expect(got[0]).toBe(1); // (T−7d, T−3d]: the 99 good ones only
    expect(got[1]).toBeCloseTo(1 - 1 / 100 / 0.05, 12); // + the late one: 0.8
    expect(got[2]).toBeCloseTo(0.8, 12); // the 20-minute one is still pending at T − 1d
    expect(got[3]).toBeCloseTo(1 - 2 / 102 / 0.05, 12); // 102 events, 2 bad: 0.607843…
    expect(got[3]).toBe(r!.remaining);
  });
});

describe('mean times', () => {
  it('MTTC and MTTR over findings classified / closed in the window', () => {
    const rows = [
      row(T - 3 * HOUR, { classified: T - 3 * HOUR + 10 * MIN, closed: T - 2 * HOUR }), // 600 s, 3600 s
      row(T - 5 * HOUR, { classified: T - 5 * HOUR + 20 * MIN, closed: T - 4 * HOUR }), // 1200 s, 3600 s
      row(T - 50 * HOUR, { classified: T - 50 * HOUR + 30 * MIN }), // classified 49.5 h ago: outside 48 h
    ];
    // MTTC (600 + 1200) / 2 = 900 s; MTTR (3600 + 3600) / 2 = 3600 s.
    expect(meanTimesOfRows(rows, NOW, 48 * HOUR)).toEqual({ mttcSeconds: 900, mttrSeconds: 3600, classified: 2, closed: 2 });
    const [r] = evaluate([budget({})], rows, { windowMs: 48 * HOUR });
    expect(r!.meanTimes).toEqual({ mttcSeconds: 900, mttrSeconds: 3600, classified: 2, closed: 2 });
  });
});
