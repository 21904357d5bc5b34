import { matchRoute, type Registry } from '../../registry';
import type { EvaluatedBudget } from '../../domain/budgets/report';
import { unitDomain } from '../../domain/registry/resolve';
import { targetName } from '../lifecycle/registry-policy';

/** Where a budget's alert goes: the targets' short names and the route that matched (`policy#index`), if any. */
export interface BudgetRouting {
  targets: string[];
  route?: string;
  owner?: string;
  severity: 'critical' | 'high';
}

/**
 * Routes a burning or exhausted budget "like a finding, by the routing rules" (§10): the routing
 * policies are matched with the budget's domain and environment, its owner, severity `critical`
 * when exhausted and `high` when burning, and the drift class of what is wrong (`routeClass`: the
 * class most of its offending findings have, DETECTION_STALE when only detection is late, see
 * domain/budgets/evaluate.ts). Without a matching route it goes to `team:<owner>`. A budget
 * without an owner is owned by the team owning most of its units (ties: alphabetical).
 */
export function routeBudget(registry: Registry, report: EvaluatedBudget): BudgetRouting {
  const severity = report.state === 'exhausted' ? 'critical' : 'high';
  const owner = report.owner ?? ownerOfUnits(registry, report);
  const match = matchRoute(registry, {
    driftClass: report.routeClass,
    domain: report.domain,
    environment: report.environment,
    severity,
    owner: owner ?? '',
  });
  const targets = match ? match.notify.map((t) => targetName(t, owner ?? '')) : owner ? [`team:${owner}`] : [];
  return {
    // An `owner` target of a budget nobody owns names no one: dropped.
    targets: [...new Set(targets.filter((t) => t !== 'team:'))],
    ...(match ? { route: `${match.policy}#${match.index}${match.name ? ` (${match.name})` : ''}` } : {}),
    ...(owner ? { owner } : {}),
    severity,
  };
}

function ownerOfUnits(registry: Registry, report: EvaluatedBudget): string | undefined {
  const counts = new Map<string, number>();
  for (const u of registry.units.values()) {
    if (u.spec.environment === report.environment && unitDomain(u) === report.domain) counts.set(u.spec.owner, (counts.get(u.spec.owner) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0];
}
