/** The executive view's budgets and recurring sources, evaluated by ledger/budgets.ts over the registry's DriftBudgets. */
import { budgetReports, recurringSources } from '../../ledger/budgets';
import type { SqlDb } from '../../ledger';
import { mttrTrend } from '../../ledger/views';
import type { BudgetSource, RegistryState } from './context';

/** Budgets evaluated from the ledger (the registry's budgets and units); recurring sources over the same window; the weekly MTTR trend. */
export function ledgerBudgetSource(db: SqlDb, registry: () => Promise<RegistryState>, windowMs: number): BudgetSource {
  return {
    async evaluate(now) {
      const [reg, recurring, trend] = await Promise.all([registry(), recurringSources(db, now, windowMs), mttrTrend(db, now)]);
      if (!reg.ok) throw new Error(reg.error);
      const reports = await budgetReports(db, [...reg.registry.budgets.values()], reg.registry.units.values(), now, windowMs);
      return { reports, recurring, mttrTrend: trend };
    },
  };
}

/**
 * A budget source that re-evaluates at most every `ttlMs`: a fresh result is served from memory; a
 * stale one is served while one evaluation refreshes it in the background; only the first request
 * (or one after a failure) waits. Evaluating every budget reads the ledger's rows of two windows,
 * too much to repeat on every page view of a large ledger; `evaluatedAt` says how old the figures are.
 */
export function cachedBudgetSource(inner: BudgetSource, ttlMs = 60_000, clock: () => number = Date.now): BudgetSource & { evaluatedAt(): Date | undefined } {
  let last: { at: number; value: Awaited<ReturnType<BudgetSource['evaluate']>> } | undefined;
  let running: Promise<Awaited<ReturnType<BudgetSource['evaluate']>>> | undefined;
  const refresh = (now: Date) => {
    running ??= inner
      .evaluate(now)
      .then((value) => {
        last = { at: clock(), value };
        return value;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    evaluatedAt: () => (last ? new Date(last.at) : undefined),
    async evaluate(now) {
      if (!last) return refresh(now);
      if (clock() - last.at >= ttlMs) refresh(now).catch(() => undefined);
      return last.value;
    },
  };
}
