/**
 * What an evaluated drift budget (§10, §10.1) looks like to its readers: `driftplane budgets`, the
 * dashboard's executive view, `/metrics` and the budget sweep that routes a burning budget.
 * (The budgets work fills in the evaluation; these fields are the contract its readers use.)
 */

/** ok: within budget; burning: a multi-window burn-rate alert fires; exhausted: a limit is broken or the error budget is spent. */
export type BudgetState = 'ok' | 'burning' | 'exhausted';

/** One evaluated budget. */
export interface BudgetReport {
  /** The DriftBudget's metadata.name. */
  budget: string;
  domain: string;
  environment: string;
  owner?: string;
  state: BudgetState;
  /** Fraction of the error budget left over the window, 0..1 (the least of its objectives; 1 when it has none). */
  remaining: number;
  /** Why the state is what it is, one line each (empty when ok). */
  reasons: string[];
  /** Budget remaining at points over the window, oldest first: the burn chart. */
  history: { at: string; remaining: number }[];
}
