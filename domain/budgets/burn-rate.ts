/**
 * Multi-window, multi-burn-rate alerting, as in the Google SRE workbook, chapter 5 "Alerting on
 * SLOs" (the recommended table for a 30-day SLO window):
 *
 * | severity | long window | short window | burn rate | budget spent when it fires |
 * |----------|-------------|--------------|-----------|----------------------------|
 * | page     | 1h          | 5m           | 14.4      | 2 %                        |
 * | page     | 6h          | 30m          | 6         | 5 %                        |
 * | ticket   | 3d          | 6h           | 1         | 10 %                       |
 *
 * An alert fires when the burn rate over BOTH its windows is at least its threshold (the short
 * window makes it stop soon after the burning stops).
 *
 * A budget window other than 30 days scales every window (long and short alike) by
 * `budgetWindow / 30d` and keeps the thresholds: a burn rate `b` sustained over `w` spends
 * `b·w / budgetWindow` of the error budget, so scaling `w` with the budget window keeps what each
 * alert means (2 %, 5 %, 10 % of the budget spent). With a 7-day window: page 14m/70s and
 * 84m/7m, ticket 16.8h/84m.
 */

/** The SLO window the workbook's table is written for. */
export const WORKBOOK_WINDOW_MS = 30 * 86_400_000;

/** One row of the alert table. */
export interface BurnAlertSpec {
  severity: 'page' | 'ticket';
  longMs: number;
  shortMs: number;
  threshold: number;
}

/** The workbook's table for a 30-day window. */
export const WORKBOOK_ALERTS: readonly BurnAlertSpec[] = [
  { severity: 'page', longMs: 3_600_000, shortMs: 5 * 60_000, threshold: 14.4 },
  { severity: 'page', longMs: 6 * 3_600_000, shortMs: 30 * 60_000, threshold: 6 },
  { severity: 'ticket', longMs: 3 * 86_400_000, shortMs: 6 * 3_600_000, threshold: 1 },
];

/** The alert table for a budget window: every window scaled by `windowMs / 30d` (rounded to the millisecond). */
export function alertsFor(windowMs: number): BurnAlertSpec[] {
  const k = windowMs / WORKBOOK_WINDOW_MS;
  return WORKBOOK_ALERTS.map((a) => ({ ...a, longMs: Math.round(a.longMs * k), shortMs: Math.round(a.shortMs * k) }));
}

/**
 * The burn rate `(bad / total) / errorBudget`: 0 with no events; `null` (infinite) when the error
 * budget is 0 (a 100 % objective) and an event was bad.
 */
export function burnRate(bad: number, total: number, errorBudget: number): number | null {
  if (total === 0 || bad === 0) return 0;
  if (errorBudget <= 0) return null;
  return bad / total / errorBudget;
}

/** True when a burn rate (null = infinite) is at least `threshold`. */
export function atLeast(rate: number | null, threshold: number): boolean {
  return rate === null || rate >= threshold;
}

/** A duration as the registry writes them: the largest of d/h/m/s that divides it, else milliseconds (`1h`, `14m`, `70s`, `1008m`). */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
