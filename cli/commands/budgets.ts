import type { Command } from 'commander';

/** `budgets`: drift budgets and SLOs evaluated from the ledger (TODO: budgets work). */
export function registerBudgetCommands(program: Command): void {
  void program;
}
