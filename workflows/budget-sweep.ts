/**
 * The budget sweep: evaluates every drift budget of the registry from the ledger and routes each
 * change of state once (§10: a burning budget is routed like a finding). Run by the
 * `driftplane-budget-sweep` Schedule every 5 minutes, or on demand. The evaluation happens in an
 * activity: the registry and the ledger change while nothing here waits, and the result (with the
 * instant it was judged at, the workflow's clock) is recorded in history.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BudgetActivities, BudgetSweepResult } from '../activities/budgets';

const acts = proxyActivities<BudgetActivities>({
  startToCloseTimeout: '2 minutes',
  // The worker's heartbeat interceptor pulses while an activity runs: a killed worker is noticed in seconds.
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidInput', 'InvalidRegistry'] },
});

/** The budget sweep workflow (a noun; never renamed once released). Takes `{}`. */
export async function budgetSweep(input: Record<string, never> = {}): Promise<BudgetSweepResult> {
  void input;
  return acts.evaluateBudgets({ at: new Date().toISOString() });
}
