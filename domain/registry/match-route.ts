import type { Registry } from './model';
import type { Route, RouteMatchSpec, RoutingPolicy, Target } from './schemas';

/** The attributes of a finding that routes match on. */
export interface RouteAttributes {
  driftClass: string;
  domain?: string;
  environment: string;
  severity: string;
  owner: string;
  labels?: Record<string, string>;
}

/** The route that matched: its policy, its index in `spec.routes`, and concrete targets. */
export interface RouteMatch {
  policy: string;
  index: number;
  name?: string;
  /** Targets with `owner` and `team` resolved to the team's Slack channel (or e-mail) where the registry knows it. */
  notify: Target[];
  createIncident: boolean;
  createIssue: boolean;
  /** Distinct approvers the route asks for, when it says. */
  requiredApprovals?: number;
  /** Where the route's incidents are opened (absent: the console). */
  incident?: Route['incident'];
}

function valueMatches(
  want: string | readonly string[] | undefined,
  got: string | undefined,
  fold = false,
): boolean {
  if (want === undefined) return true;
  if (got === undefined) return false;
  const norm = (s: string) => (fold ? s.toLowerCase() : s);
  const list = typeof want === 'string' ? [want] : want;
  return list.some((w) => norm(w) === norm(got));
}

/** True when a route's match accepts the attributes. Severity compares case-insensitively (`CRITICAL` = `critical`). */
export function routeMatches(match: RouteMatchSpec, attrs: RouteAttributes): boolean {
  if (!valueMatches(match.driftClass, attrs.driftClass)) return false;
  if (!valueMatches(match.domain, attrs.domain)) return false;
  if (!valueMatches(match.environment, attrs.environment)) return false;
  if (!valueMatches(match.severity, attrs.severity, true)) return false;
  if (!valueMatches(match.owner, attrs.owner)) return false;
  if (match.labels) {
    for (const [k, v] of Object.entries(match.labels)) if (attrs.labels?.[k] !== v) return false;
  }
  return true;
}

/** Routing policies in the order they are tried: by `priority` (lower first), then name. */
export function orderedRoutingPolicies(registry: Registry): RoutingPolicy[] {
  return [...registry.routingPolicies.values()].sort(
    (a, b) => a.spec.priority - b.spec.priority || a.metadata.name.localeCompare(b.metadata.name),
  );
}

/** Resolves `owner` and `team` targets to the team's Slack channel or e-mail; other targets are returned as they are. */
export function resolveTargets(registry: Registry, targets: readonly Target[], owner: string): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  const push = (t: Target) => {
    const key = JSON.stringify(t);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(t);
    }
  };
  for (const t of targets) {
    if (t.type !== 'team' && t.type !== 'owner') {
      push(t);
      continue;
    }
    const teamName = t.type === 'team' ? t.team : owner;
    const team = registry.teams.get(teamName);
    if (team?.spec.slackChannel) push({ type: 'slack', channel: team.spec.slackChannel });
    else if (team?.spec.email) push({ type: 'email', address: team.spec.email });
    else push({ type: 'team', team: teamName });
  }
  return out;
}

/** First matching route (ordered) across routing policies, or undefined. */
export function matchRoute(registry: Registry, attrs: RouteAttributes): RouteMatch | undefined {
  for (const policy of orderedRoutingPolicies(registry)) {
    const index = policy.spec.routes.findIndex((r) => routeMatches(r.match, attrs));
    if (index < 0) continue;
    const route = policy.spec.routes[index];
    if (!route) continue;
    const m: RouteMatch = {
      policy: policy.metadata.name,
      index,
      notify: resolveTargets(registry, route.notify, attrs.owner),
      createIncident: route.createIncident,
      createIssue: route.createIssue,
      ...(route.requiredApprovals !== undefined ? { requiredApprovals: route.requiredApprovals } : {}),
      ...(route.incident !== undefined ? { incident: route.incident } : {}),
    };
    if (route.name !== undefined) m.name = route.name;
    return m;
  }
  return undefined;
}
