/**
 * What every dashboard view reads besides its request: the ledger, the clock, the budget window,
 * the registry (loaded from DRIFTPLANE_REGISTRY and cached briefly), and the budget evaluation.
 */
import type { SqlDb } from '../../ledger';
import type { MttrWeek } from '../../ledger/views';
import type { BudgetReport, RecurringSource } from '../../domain/budgets/report';
import { parseDuration } from '../../domain/registry/durations';
import type { Registry } from '../../domain/registry/model';
import { loadRegistry } from '../../registry';

/**
 * The executive view's slow-moving figures: the evaluated budgets and recurring drift sources
 * (ledger/budgets.ts) and the weekly MTTR trend (ledger/views.ts `mttrTrend`), refreshed together.
 */
export interface BudgetSource {
  evaluate(now: Date): Promise<{ reports: BudgetReport[]; recurring: RecurringSource[]; mttrTrend?: MttrWeek[] }>;
}

/** The registry as the dashboard last loaded it, or the reason it could not. */
export type RegistryState = { ok: true; registry: Registry } | { ok: false; error: string };

/** Everything a view's model function reads. */
export interface ViewContext {
  db: SqlDb;
  now: Date;
  windowMs: number;
  /** The window as configured (`30d`). */
  windowLabel: string;
  registry: RegistryState;
  budgets: BudgetSource;
}

const DEFAULT_WINDOW_MS = 30 * 86_400_000;

/** The budget window in ms (DRIFTPLANE_BUDGET_WINDOW, e.g. `30d`); 30 days when it cannot be read. */
export function windowMsOf(label: string): number {
  const ms = /^\d+ms$/.test(label) ? Number(label.slice(0, -2)) : parseDuration(label);
  return ms && ms > 0 ? ms : DEFAULT_WINDOW_MS;
}

/**
 * A registry loader that keeps a loaded registry for `ttlMs` (the dashboard renders on every
 * request; the registry changes with a Git push, not per request). A failed load is not cached.
 */
export function cachedRegistry(dir: string, ttlMs = 30_000, clock: () => number = Date.now): () => Promise<RegistryState> {
  let cached: { at: number; state: Promise<RegistryState> } | undefined;
  return async () => {
    if (cached && clock() - cached.at < ttlMs) return cached.state;
    const state = loadRegistry(dir).then(
      (r): RegistryState =>
        r.ok ? { ok: true, registry: r.registry } : { ok: false, error: `the registry at ${dir} has ${r.errors.length} error(s): ${r.errors.slice(0, 3).map((e) => `${e.file}: ${e.message}`).join('; ')}` },
      (err: unknown): RegistryState => ({ ok: false, error: `the registry at ${dir} could not be loaded: ${(err as Error).message}` }),
    );
    cached = { at: clock(), state };
    const s = await state;
    if (!s.ok) cached = undefined;
    return s;
  };
}
