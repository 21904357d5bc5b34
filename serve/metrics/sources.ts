/**
 * What `/metrics` reads besides the ledger's own rows: the registry (units' detection intervals,
 * the drift budgets), read at most once per {@link REGISTRY_TTL_MS}, and the budgets' evaluation.
 */
import type { BudgetReport } from '../../domain/budgets/report';
import { parseDuration } from '../../domain/registry/durations';
import { detectionIntervalMs } from '../../domain/registry/resolve';
import type { Ledger } from '../../ledger';
import { budgetReports } from '../../ledger/budgets';
import { loadRegistry, type Registry } from '../../registry';
import type { Config } from '../../workers/config';

/** How long a loaded registry is reused (a scrape every 15 s must not parse YAML every time). */
const REGISTRY_TTL_MS = 30_000;

/** Each registered unit's detection interval (undefined for cron-scheduled units: never overdue here). */
export type UnitIntervals = Map<string, number | undefined>;

const registries = new Map<string, { at: number; loading: Promise<Registry | undefined> }>();

/** The registry at `dir`, cached; an invalid registry reads as undefined (no stale units, no budgets). */
function registryAt(dir: string): Promise<Registry | undefined> {
  const hit = registries.get(dir);
  if (hit && Date.now() - hit.at <= REGISTRY_TTL_MS) return hit.loading;
  const loading = loadRegistry(dir).then((r) => (r.ok ? r.registry : undefined));
  registries.set(dir, { at: Date.now(), loading });
  return loading;
}

/** The registered units' detection intervals, as the staleness sweep reads them (tier default, or the unit's frequency). */
export function unitIntervalsFor(registryDir: string): () => Promise<UnitIntervals> {
  return async () => {
    const registry = await registryAt(registryDir);
    return new Map(
      [...(registry?.units.values() ?? [])].map((u) => [u.metadata.name, detectionIntervalMs(u)]),
    );
  };
}

/**
 * The registry's drift budgets evaluated at `now` over the configured window (DRIFTPLANE_BUDGET_WINDOW),
 * without the burn history `/metrics` does not show.
 */
export async function budgetReportsFor(config: Config, ledger: Ledger, now: Date): Promise<BudgetReport[]> {
  const registry = await registryAt(config.registryDir);
  if (!registry || registry.budgets.size === 0) return [];
  const windowMs = parseDuration(config.ledger.budgetWindow) ?? 30 * 86_400_000;
  return budgetReports(ledger.db, [...registry.budgets.values()], registry.units.values(), now, windowMs, {
    historyPoints: 0,
  });
}
