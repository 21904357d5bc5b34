import { parseDuration } from './durations';
import { buildRegistry, type ParsedDocument, type PendingIssue, type Registry } from './model';
import { joinPointer, pathMatches } from './paths';
import {
  autoHealPolicyApplies,
  detectionIntervalMs,
  ignorePathOf,
  resolveApprovers,
  unitDomain,
} from './resolve';
import { iacUnitTypes, neverAutoHealDomains, type RegistryDocument } from './schemas';

/** Builds a pending issue for a document. */
export function issueAt(
  entry: ParsedDocument,
  rule: string,
  field: (string | number)[] | string,
  message: string,
  severity: 'error' | 'warning' = 'error',
): PendingIssue {
  return {
    severity,
    rule,
    source: entry.source,
    kind: entry.doc.kind,
    name: entry.doc.metadata.name,
    field: typeof field === 'string' ? field : joinPointer(field),
    message,
  };
}

type Of<K extends RegistryDocument['kind']> = ParsedDocument & {
  doc: Extract<RegistryDocument, { kind: K }>;
};

function ofKind<K extends RegistryDocument['kind']>(docs: readonly ParsedDocument[], kind: K): Of<K>[] {
  return docs.filter((d): d is Of<K> => d.doc.kind === kind);
}

function where(entry: ParsedDocument): string {
  return `${entry.source.file}${entry.source.line ? `:${entry.source.line}` : ''}`;
}

function list(names: Iterable<string>, max = 8): string {
  const all = [...names];
  return all.length > max ? `${all.slice(0, max).join(', ')}, …` : all.join(', ');
}

/** Keeps the first document of each kind/name and reports the others as duplicates. */
export function uniqueDocuments(docs: readonly ParsedDocument[]): {
  unique: ParsedDocument[];
  issues: PendingIssue[];
} {
  const first = new Map<string, ParsedDocument>();
  const issues: PendingIssue[] = [];
  const unique: ParsedDocument[] = [];
  for (const d of docs) {
    const key = `${d.doc.kind}/${d.doc.metadata.name}`;
    const prev = first.get(key);
    if (prev) {
      issues.push(
        issueAt(
          d,
          'duplicate-name',
          '/metadata/name',
          `${d.doc.kind} "${d.doc.metadata.name}" is already defined at ${where(prev)}; names are unique per kind`,
        ),
      );
    } else {
      first.set(key, d);
      unique.push(d);
    }
  }
  return { unique, issues };
}

/**
 * Cross-reference checks over schema-valid, unique documents: owners, approver groups, policy and
 * unit references resolve; approver groups only hold team members; one credential role is never
 * shared across owners or risk tiers (§25.3); prod units have approvers; auto-heal has scope and
 * stays off identity, network, database and secrets; schedules fit the budgets.
 */
export function checkReferences(docs: readonly ParsedDocument[]): PendingIssue[] {
  const issues: PendingIssue[] = [];
  const registry: Registry = buildRegistry(docs, '');
  const teams = ofKind(docs, 'Team');
  const units = ofKind(docs, 'DriftManagedUnit');
  const teamNames = new Set(registry.teams.keys());
  const unitNames = new Set(registry.units.keys());
  const unknownTeam = (entry: ParsedDocument, field: (string | number)[], name: string, role = 'owner') => {
    issues.push(
      issueAt(
        entry,
        'unknown-owner',
        field,
        `unknown team "${name}" as ${role} (expected one of: ${list(teamNames)})`,
      ),
    );
  };
  const unknownUnit = (entry: ParsedDocument, field: (string | number)[], name: string) => {
    issues.push(issueAt(entry, 'unknown-unit', field, `unknown DriftManagedUnit "${name}"`));
  };

  // Teams and approver groups.
  const groupOwner = new Map<string, Of<'Team'>>();
  for (const t of teams) {
    const emails = new Set<string>();
    t.doc.spec.members.forEach((m, i) => {
      if (emails.has(m.email))
        issues.push(
          issueAt(
            t,
            'duplicate-member',
            ['spec', 'members', i, 'email'],
            `${m.email} is listed twice in team ${t.doc.metadata.name}`,
          ),
        );
      emails.add(m.email);
    });
    t.doc.spec.approverGroups.forEach((g, i) => {
      const prev = groupOwner.get(g.name);
      if (prev) {
        issues.push(
          issueAt(
            t,
            'duplicate-approver-group',
            ['spec', 'approverGroups', i, 'name'],
            `approver group "${g.name}" is already defined by team ${prev.doc.metadata.name} (${where(prev)}); group names are unique across teams`,
          ),
        );
      } else if (teamNames.has(g.name)) {
        issues.push(
          issueAt(
            t,
            'duplicate-approver-group',
            ['spec', 'approverGroups', i, 'name'],
            `approver group "${g.name}" has the name of a team; approver references would be ambiguous`,
          ),
        );
      } else groupOwner.set(g.name, t);
      g.members.forEach((email, j) => {
        if (!emails.has(email))
          issues.push(
            issueAt(
              t,
              'approver-not-member',
              ['spec', 'approverGroups', i, 'members', j],
              `${email} is not a member of team ${t.doc.metadata.name} (add it to spec.members first)`,
            ),
          );
      });
    });
  }

  const denyPolicies = [...registry.autoHealPolicies.values()].filter((p) => p.spec.mode === 'deny');
  const allowPolicies = [...registry.autoHealPolicies.values()].filter((p) => p.spec.mode === 'allow');
  const budgets = ofKind(docs, 'DriftBudget');

  // Units.
  const byRole = new Map<string, { entry: Of<'DriftManagedUnit'>; field: string }[]>();
  for (const u of units) {
    const spec = u.doc.spec;
    const name = u.doc.metadata.name;
    if (!teamNames.has(spec.owner)) unknownTeam(u, ['spec', 'owner'], spec.owner);
    spec.approvers.forEach((ref, i) => {
      if (!groupOwner.has(ref) && !teamNames.has(ref))
        issues.push(
          issueAt(
            u,
            'unknown-approver',
            ['spec', 'approvers', i],
            `unknown approver group or team "${ref}" (approver groups: ${list(groupOwner.keys())})`,
          ),
        );
    });
    if (spec.environment === 'prod' && spec.approvers.length === 0)
      issues.push(
        issueAt(
          u,
          'prod-without-approvers',
          ['spec', 'approvers'],
          'a prod unit needs approvers (an approver group or team); nobody could approve its reconciliation',
        ),
      );
    else if (
      spec.environment === 'prod' &&
      spec.approvers.every((r) => groupOwner.has(r) || teamNames.has(r)) &&
      resolveApprovers(registry, name).length === 0
    )
      issues.push(
        issueAt(
          u,
          'prod-without-approvers',
          ['spec', 'approvers'],
          'the approvers of this prod unit resolve to nobody',
        ),
      );
    if (iacUnitTypes.includes(spec.type) && !spec.credentials)
      issues.push(
        issueAt(
          u,
          'credentials-required',
          ['spec', 'credentials'],
          `a ${spec.type} unit needs stack-scoped credentials (oidcRole or roleArn); detection never runs with one global role`,
        ),
      );
    if ((spec.type === 'opentofu-stack' || spec.type === 'terragrunt-stack') && !spec.state)
      issues.push(
        issueAt(
          u,
          'state-required',
          ['spec', 'state'],
          `a ${spec.type} unit needs its state backend and location (the recorded plane)`,
        ),
      );
    const role = spec.credentials?.oidcRole ?? spec.credentials?.roleArn;
    if (role) {
      const field = spec.credentials?.oidcRole ? '/spec/credentials/oidcRole' : '/spec/credentials/roleArn';
      byRole.set(role, [...(byRole.get(role) ?? []), { entry: u, field }]);
    }
    const ref = spec.policies.autoHealPolicy;
    if (ref !== undefined) {
      const p = registry.autoHealPolicies.get(ref);
      if (!p)
        issues.push(
          issueAt(
            u,
            'unknown-policy',
            ['spec', 'policies', 'autoHealPolicy'],
            `unknown AutoHealPolicy "${ref}" (expected one of: ${list(registry.autoHealPolicies.keys())})`,
          ),
        );
      else if (p.spec.mode === 'deny')
        issues.push(
          issueAt(
            u,
            'unknown-policy',
            ['spec', 'policies', 'autoHealPolicy'],
            `AutoHealPolicy "${ref}" is a deny policy; reference an allow policy`,
          ),
        );
    }
    if (spec.policies.autoHeal) {
      const domain = unitDomain(u.doc);
      const deny = denyPolicies.find((p) => autoHealPolicyApplies(p, u.doc));
      if (domain && neverAutoHealDomains.includes(domain))
        issues.push(
          issueAt(
            u,
            'auto-heal-forbidden-domain',
            ['spec', 'policies', 'autoHeal'],
            `auto-heal is never allowed for ${domain} units (identity, network, database and secrets drift is routed to a person)`,
          ),
        );
      else if (deny)
        issues.push(
          issueAt(
            u,
            'auto-heal-denied',
            ['spec', 'policies', 'autoHeal'],
            `auto-heal is denied for this unit by AutoHealPolicy ${deny.metadata.name}`,
          ),
        );
      else if (
        !(ref !== undefined && !registry.autoHealPolicies.has(ref)) &&
        !allowPolicies.some((p) => autoHealPolicyApplies(p, u.doc))
      )
        issues.push(
          issueAt(
            u,
            'auto-heal-without-policy',
            ['spec', 'policies', 'autoHeal'],
            'autoHeal is true but no AutoHealPolicy applies (set policies.autoHealPolicy); auto-heal must have scope',
          ),
        );
    }
    const domain = unitDomain(u.doc);
    const interval = detectionIntervalMs(u.doc);
    if (domain && interval !== undefined) {
      for (const b of budgets) {
        const budgetMs = parseDuration(b.doc.spec.detectionInterval);
        if (
          b.doc.spec.domain === domain &&
          b.doc.spec.environment === spec.environment &&
          budgetMs !== undefined &&
          interval > budgetMs
        ) {
          const field = spec.schedule?.frequency ? ['spec', 'schedule', 'frequency'] : ['spec', 'riskTier'];
          issues.push(
            issueAt(
              u,
              'schedule-exceeds-budget',
              field,
              `detection every ${spec.schedule?.frequency ?? `${interval / 60_000}m (the ${spec.riskTier} tier default)`} is slower than DriftBudget ${b.doc.metadata.name} allows (${b.doc.spec.detectionInterval})`,
            ),
          );
        }
      }
    }
  }
  for (const [role, users] of byRole) {
    const owners = new Set(users.map((x) => x.entry.doc.spec.owner));
    const tiers = new Set(users.map((x) => x.entry.doc.spec.riskTier));
    if (owners.size < 2 && tiers.size < 2) continue;
    for (const { entry, field } of users) {
      const others = users
        .filter((x) => x.entry !== entry)
        .map(
          (x) =>
            `${x.entry.doc.metadata.name} (owner ${x.entry.doc.spec.owner}, ${x.entry.doc.spec.riskTier})`,
        );
      issues.push(
        issueAt(
          entry,
          'shared-credential-role',
          field,
          `role ${role} is also used by ${list(others, 4)}: one global drift role (§25.3); give each owner and risk tier its own role`,
        ),
      );
    }
  }

  // Ownership rules.
  for (const r of ofKind(docs, 'DriftOwnershipRule')) {
    r.doc.spec.appliesTo?.units.names?.forEach((n, i) => {
      if (!unitNames.has(n)) unknownUnit(r, ['spec', 'appliesTo', 'units', 'names', i], n);
    });
    const others: [string, string][] = [
      ...r.doc.spec.runtimeOwned.map((p, i): [string, string] => [
        ignorePathOf(p),
        `/spec/runtimeOwned/${i}`,
      ]),
      ...r.doc.spec.controllerOwned.map((p, i): [string, string] => [
        p.path,
        `/spec/controllerOwned/${i}/path`,
      ]),
      ...r.doc.spec.policyOwned.map((p, i): [string, string] => [p.path, `/spec/policyOwned/${i}/path`]),
    ];
    r.doc.spec.gitOwned.forEach((g, i) => {
      const clash = others.find(([p]) => pathMatches(p, g));
      if (clash)
        issues.push(
          issueAt(
            r,
            'ownership-conflict',
            ['spec', 'gitOwned', i],
            `${g} is both git-owned and owned at ${clash[1]}; a field has one owner`,
          ),
        );
    });
  }

  // Auto-heal policies.
  for (const p of ofKind(docs, 'AutoHealPolicy')) {
    p.doc.spec.appliesTo.units?.names?.forEach((n, i) => {
      if (!unitNames.has(n)) unknownUnit(p, ['spec', 'appliesTo', 'units', 'names', i], n);
    });
    p.doc.spec.allowedPaths.forEach((a, i) => {
      if (p.doc.spec.deniedPaths.some((d) => pathMatches(d, a)))
        issues.push(
          issueAt(
            p,
            'auto-heal-path-conflict',
            ['spec', 'allowedPaths', i],
            `${a} is both allowed and denied`,
          ),
        );
    });
  }

  // Routing.
  for (const rp of ofKind(docs, 'RoutingPolicy')) {
    let catchAll: number | undefined;
    rp.doc.spec.routes.forEach((route, i) => {
      const owners =
        route.match.owner === undefined
          ? []
          : typeof route.match.owner === 'string'
            ? [route.match.owner]
            : route.match.owner;
      owners.forEach((o, j) => {
        if (!teamNames.has(o))
          unknownTeam(
            rp,
            typeof route.match.owner === 'string'
              ? ['spec', 'routes', i, 'match', 'owner']
              : ['spec', 'routes', i, 'match', 'owner', j],
            o,
          );
      });
      route.notify.forEach((t, j) => {
        if (t.type !== 'team') return;
        const team = registry.teams.get(t.team);
        if (!team) unknownTeam(rp, ['spec', 'routes', i, 'notify', j, 'team'], t.team, 'notify target');
        else if (!team.spec.slackChannel && !team.spec.email)
          issues.push(
            issueAt(
              rp,
              'team-unreachable',
              ['spec', 'routes', i, 'notify', j, 'team'],
              `team ${t.team} has neither slackChannel nor email to notify`,
            ),
          );
      });
      if (catchAll !== undefined)
        issues.push(
          issueAt(
            rp,
            'route-shadowed',
            ['spec', 'routes', i],
            `route ${i} can never match: route ${catchAll} matches everything`,
            'warning',
          ),
        );
      else if (Object.keys(route.match).length === 0) catchAll = i;
    });
  }

  // Budgets.
  const budgetScope = new Map<string, Of<'DriftBudget'>>();
  for (const b of budgets) {
    const key = `${b.doc.spec.domain}/${b.doc.spec.environment}`;
    const prev = budgetScope.get(key);
    if (prev)
      issues.push(
        issueAt(
          b,
          'duplicate-budget',
          ['spec', 'domain'],
          `DriftBudget ${prev.doc.metadata.name} (${where(prev)}) already covers ${b.doc.spec.domain} in ${b.doc.spec.environment}`,
        ),
      );
    else budgetScope.set(key, b);
    if (b.doc.spec.owner !== undefined && !teamNames.has(b.doc.spec.owner))
      unknownTeam(b, ['spec', 'owner'], b.doc.spec.owner);
    const maxAge = parseDuration(b.doc.spec.maxAge);
    const every = parseDuration(b.doc.spec.detectionInterval);
    if (maxAge !== undefined && every !== undefined && maxAge < every)
      issues.push(
        issueAt(
          b,
          'budget-inconsistent',
          ['spec', 'maxAge'],
          `maxAge ${b.doc.spec.maxAge} is shorter than detectionInterval ${b.doc.spec.detectionInterval}: drift could exceed its budget before it is detected`,
        ),
      );
  }

  // Exceptions: references (time and ignore-rule checks are in lint-ignore-rules).
  for (const e of ofKind(docs, 'DriftException')) {
    const s = e.doc.spec;
    if (!unitNames.has(s.scope.unit)) unknownUnit(e, ['spec', 'scope', 'unit'], s.scope.unit);
    if (!teamNames.has(s.owner)) unknownTeam(e, ['spec', 'owner'], s.owner);
    if (unitNames.has(s.scope.unit)) {
      // Units without approvers (non-prod) accept an approval from a member of the owning team.
      let approvers = resolveApprovers(registry, s.scope.unit).map((a) => a.email);
      if (approvers.length === 0)
        approvers =
          registry.teams
            .get(registry.units.get(s.scope.unit)?.spec.owner ?? '')
            ?.spec.members.map((m) => m.email) ?? [];
      if (!approvers.includes(s.approvedBy))
        issues.push(
          issueAt(
            e,
            'exception-approver',
            ['spec', 'approvedBy'],
            `${s.approvedBy} is not an approver of unit ${s.scope.unit} (approvers: ${list(approvers) || 'none'})`,
          ),
        );
    }
  }
  return issues;
}
