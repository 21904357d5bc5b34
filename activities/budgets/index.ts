import { ApplicationFailure } from '@temporalio/common';
import type { BudgetState, EvaluatedBudget } from '../../domain/budgets/report';
import { parseDuration } from '../../domain/registry/durations';
import { budgetReports, markBudgetNotified, readBudgetAlerts, recordBudgetState } from '../../ledger/budgets';
import type { SqlDb } from '../../ledger/db';
import { loadRegistry } from '../../registry';
import type { BudgetNotificationKind, Notifier } from '../notify/console-notifier';
export type { BudgetNotificationKind } from '../notify/console-notifier';
import { routeBudget } from './route-budget';

export { routeBudget, type BudgetRouting } from './route-budget';

/** What the budget activities need from the outside world. */
export interface BudgetDeps {
  /** The findings ledger's database (the worker's shared ledger: `ledger.db`). */
  db: SqlDb;
  /** Where budget alerts go (the worker's notifier). */
  notifier: Notifier;
  registryDir: string;
  /** The rolling window budgets are judged over (config.ledger.budgetWindow, e.g. `30d`). */
  budgetWindow: string;
}

/** The kind of a budget's notification (one per change of state). */

/** One notification sent by an evaluation. */
export interface BudgetNotice {
  budget: string;
  kind: BudgetNotificationKind;
  targets: string[];
  route?: string;
}

/** What one evaluation found and whom it told. */
export interface BudgetSweepResult {
  at: string;
  /** Every budget's report (without the burn-chart history, which only readers draw). */
  reports: EvaluatedBudget[];
  notified: BudgetNotice[];
}

const kindOf = (state: BudgetState): BudgetNotificationKind => (state === 'ok' ? 'budget-recovered' : state === 'burning' ? 'budget-burning' : 'budget-exhausted');

function textOf(report: EvaluatedBudget, kind: BudgetNotificationKind, was?: BudgetState): string {
  const name = `drift budget ${report.budget} (${report.scope})`;
  const left = `${Math.round(report.remaining * 1000) / 10} % of the error budget left`;
  if (kind === 'budget-recovered') return `${name} is ok again${was ? ` (was ${was})` : ''}; ${left}`;
  const what = kind === 'budget-exhausted' ? 'is exhausted' : 'is burning its error budget';
  return `${name} ${what}; ${left}: ${report.reasons.join('; ')}`;
}

/** The budget sweep's activities: evaluate every budget of the registry from the ledger and route the changes. */
export function createBudgetActivities(deps: BudgetDeps) {
  return {
    /**
     * Evaluates every DriftBudget of the registry at `at` (ISO; the workflow's clock) and routes each
     * change of state once (§10 "a burning budget is routed like a finding, by the routing rules"):
     * ok → burning → exhausted each notify the matching route's targets (see `routeBudget`); back to
     * ok notifies "recovered" to the targets of the alert it ends. The state is recorded in
     * `budget_alerts` before the notification and marked notified after it, so a retried
     * evaluation sends what an interrupted one did not, and an unchanged state sends nothing.
     */
    async evaluateBudgets(input: { at?: string } = {}): Promise<BudgetSweepResult> {
      const at = input.at ? new Date(input.at) : new Date();
      if (Number.isNaN(at.getTime())) throw ApplicationFailure.nonRetryable(`evaluateBudgets: at ${JSON.stringify(input.at)} is not an instant`, 'InvalidInput');
      const windowMs = parseDuration(deps.budgetWindow);
      if (windowMs === undefined) throw ApplicationFailure.nonRetryable(`budget window ${JSON.stringify(deps.budgetWindow)} is not a duration such as 30d`, 'InvalidInput');
      const loaded = await loadRegistry(deps.registryDir);
      if (!loaded.ok) {
        const first = loaded.errors[0];
        // Retried by the next scheduled sweep, once the registry is fixed.
        throw ApplicationFailure.nonRetryable(
          `registry at ${deps.registryDir} is invalid (${loaded.errors.length} problem(s)); first: ${first?.file}:${first?.line ?? '?'} ${first?.message}`,
          'InvalidRegistry',
        );
      }
      const registry = loaded.registry;
      const reports = await budgetReports(deps.db, [...registry.budgets.values()], registry.units.values(), at, windowMs, { historyPoints: 0 });
      const alerts = await readBudgetAlerts(deps.db);
      const notified: BudgetNotice[] = [];
      for (const report of reports) {
        const prev = alerts.get(report.budget);
        let record = prev;
        if (!prev || prev.state !== report.state) {
          const routing = report.state === 'ok' ? { targets: prev?.targets ?? [] } : routeBudget(registry, report);
          // A budget first seen ok has nothing to tell.
          const notify = prev !== undefined || report.state !== 'ok';
          await recordBudgetState(deps.db, {
            budget: report.budget,
            state: report.state,
            at,
            targets: routing.targets,
            ...('route' in routing && routing.route ? { route: routing.route } : {}),
            remaining: report.remaining,
            notify,
          });
          record = { budget: report.budget, state: report.state, since: at, notifiedAt: notify ? null : at, targets: routing.targets, route: 'route' in routing ? (routing.route ?? null) : null };
        }
        // Recorded but not yet told (now, or by an evaluation interrupted before it could).
        if (record && record.notifiedAt === null && record.state === report.state) {
          const kind = kindOf(report.state);
          await deps.notifier.send({
            kind,
            findingId: `budget:${report.budget}`,
            targets: record.targets,
            text: textOf(report, kind, prev && prev.state !== report.state ? prev.state : undefined),
          });
          await markBudgetNotified(deps.db, report.budget, report.state, at);
          notified.push({ budget: report.budget, kind, targets: record.targets, ...(record.route ? { route: record.route } : {}) });
        }
      }
      return { at: at.toISOString(), reports, notified };
    },
  };
}

/** The budget activities, as workflows proxy them. */
export type BudgetActivities = ReturnType<typeof createBudgetActivities>;
