import type { Command } from 'commander';
import path from 'node:path';
import { stringify } from 'yaml';
import { InputError } from '../../domain/errors';
import {
  autoHealPolicyApplies,
  detectionIntervalMs,
  exceptionActive,
  ignorePathOf,
  ownershipRuleApplies,
} from '../../domain/registry/resolve';
import { documentKey, type Registry, type RegistryIssue } from '../../domain/registry/model';
import {
  activeExceptionsFor,
  breakGlassRolesFor,
  defaultRegistryDir,
  formatIssue,
  loadRegistry,
  policiesFor,
  registryJsonSchema,
  resolveApprovers,
  unitDomain,
  type RegistryLoadResult,
} from '../../registry';
import { ExitCode } from '../exit-codes';
import { writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { printSchema, schemaCommand } from './schema';

const dirHelp = `registry folder (default: $DRIFTPLANE_REGISTRY or ${path.relative(process.cwd(), defaultRegistryDir) || '.'})`;

function parseNow(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new InputError(`--now ${value}: expected an ISO date or date-time`, { field: '--now' });
  return d;
}

function printIssues(issues: readonly RegistryIssue[]): void {
  for (const i of issues) writeOut(`${formatIssue(i, { cwd: process.cwd() })}\n`);
}

function counts(r: Registry): string {
  return [
    `${r.units.size} units`,
    `${r.teams.size} teams`,
    `${r.ownershipRules.size} ownership rules`,
    `${r.autoHealPolicies.size} auto-heal policies`,
    `${r.routingPolicies.size} routing policies`,
    `${r.budgets.size} budgets`,
    `${r.exceptions.size} exceptions`,
    `${r.changeFreezes.size} change freezes`,
    `${r.compliancePolicies.size} compliance policies`,
  ].join(', ');
}

function jsonResult(
  dir: string,
  result: RegistryLoadResult,
  errors: RegistryIssue[],
  warnings: RegistryIssue[],
): Record<string, unknown> {
  const body: Record<string, unknown> = { dir, ok: errors.length === 0, errors, warnings };
  if (result.ok) {
    body.version = result.registry.version;
    body.counts = Object.fromEntries(
      (
        [
          'units',
          'teams',
          'ownershipRules',
          'autoHealPolicies',
          'routingPolicies',
          'budgets',
          'exceptions',
          'changeFreezes',
          'compliancePolicies',
        ] as const
      ).map((k) => [k, result.registry[k].size]),
    );
  }
  return body;
}

const kindAliases: Record<string, string> = {
  unit: 'DriftManagedUnit',
  units: 'DriftManagedUnit',
  driftmanagedunit: 'DriftManagedUnit',
  team: 'Team',
  ownershiprule: 'DriftOwnershipRule',
  driftownershiprule: 'DriftOwnershipRule',
  autohealpolicy: 'AutoHealPolicy',
  routingpolicy: 'RoutingPolicy',
  budget: 'DriftBudget',
  driftbudget: 'DriftBudget',
  exception: 'DriftException',
  driftexception: 'DriftException',
};

function where(registry: Registry, kind: string, name: string): string | undefined {
  const s = registry.sources.get(documentKey(kind, name));
  if (!s) return undefined;
  const rel = path.relative(process.cwd(), s.file);
  return `${rel.startsWith('..') ? s.file : rel}${s.line ? `:${s.line}` : ''}`;
}

/** The resolved view of one document: the document, where it is defined, and what applies to it or what it applies to. */
function resolvedView(
  registry: Registry,
  kind: string,
  name: string,
  now: Date,
): Record<string, unknown> | undefined {
  const source = where(registry, kind, name);
  switch (kind) {
    case 'DriftManagedUnit': {
      const unit = registry.units.get(name);
      if (!unit) return undefined;
      const { autoHealPolicies, ownershipRules } = policiesFor(registry, name);
      const team = registry.teams.get(unit.spec.owner);
      const interval = detectionIntervalMs(unit);
      const domain = unitDomain(unit);
      return {
        kind,
        name,
        source,
        registryVersion: registry.version,
        unit: unit.spec,
        owner: { team: unit.spec.owner, slackChannel: team?.spec.slackChannel },
        approvers: resolveApprovers(registry, name),
        detection: unit.spec.schedule?.cron
          ? { cron: unit.spec.schedule.cron }
          : {
              everyMinutes: interval === undefined ? undefined : interval / 60_000,
              from: unit.spec.schedule?.frequency ? 'schedule' : `riskTier ${unit.spec.riskTier}`,
            },
        autoHeal: {
          enabled: unit.spec.policies.autoHeal,
          policies: autoHealPolicies.map((p) => ({
            name: p.metadata.name,
            mode: p.spec.mode,
            allowedPaths: p.spec.allowedPaths,
            deniedPaths: p.spec.deniedPaths,
            maxObjectsPerReconcile: p.spec.maxObjectsPerReconcile,
          })),
        },
        ownershipRules: ownershipRules.map((r) => ({ name: r.metadata.name, resource: r.spec.resource })),
        budgets: [...registry.budgets.values()]
          .filter((b) => b.spec.domain === domain && b.spec.environment === unit.spec.environment)
          .map((b) => ({ name: b.metadata.name, ...b.spec })),
        activeExceptions: activeExceptionsFor(registry, { unit: name, now }).map((e) => ({
          name: e.metadata.name,
          scope: e.spec.scope,
          paths: e.spec.paths.map(ignorePathOf),
          expiresAt: e.spec.permanent ? 'permanent' : e.spec.expiresAt,
        })),
        breakGlassRoles: breakGlassRolesFor(registry, name),
      };
    }
    case 'Team': {
      const team = registry.teams.get(name);
      if (!team) return undefined;
      return {
        kind,
        name,
        source,
        team: team.spec,
        units: [...registry.units.values()].filter((u) => u.spec.owner === name).map((u) => u.metadata.name),
        approvesFor: [...registry.units.values()]
          .filter((u) =>
            u.spec.approvers.some((a) => a === name || team.spec.approverGroups.some((g) => g.name === a)),
          )
          .map((u) => u.metadata.name),
      };
    }
    case 'AutoHealPolicy': {
      const p = registry.autoHealPolicies.get(name);
      if (!p) return undefined;
      return {
        kind,
        name,
        source,
        policy: p.spec,
        appliesToUnits: [...registry.units.values()]
          .filter((u) => autoHealPolicyApplies(p, u))
          .map((u) => u.metadata.name),
      };
    }
    case 'DriftOwnershipRule': {
      const r = registry.ownershipRules.get(name);
      if (!r) return undefined;
      return {
        kind,
        name,
        source,
        rule: r.spec,
        appliesToUnits: [...registry.units.values()]
          .filter((u) => ownershipRuleApplies(r, u))
          .map((u) => u.metadata.name),
      };
    }
    case 'RoutingPolicy': {
      const r = registry.routingPolicies.get(name);
      return r && { kind, name, source, policy: r.spec };
    }
    case 'DriftBudget': {
      const b = registry.budgets.get(name);
      if (!b) return undefined;
      return {
        kind,
        name,
        source,
        budget: b.spec,
        units: [...registry.units.values()]
          .filter((u) => unitDomain(u) === b.spec.domain && u.spec.environment === b.spec.environment)
          .map((u) => u.metadata.name),
      };
    }
    case 'DriftException': {
      const e = registry.exceptions.get(name);
      if (!e) return undefined;
      return { kind, name, source, active: exceptionActive(e, now), exception: e.spec };
    }
  }
  return undefined;
}

async function load(
  dir: string | undefined,
  now: Date | undefined,
): Promise<{ dir: string; result: RegistryLoadResult }> {
  const d = dir ?? defaultRegistryDir;
  return { dir: d, result: await loadRegistry(d, now ? { now } : {}) };
}

/** `driftplane registry validate|lint|show` and `driftplane schema registry`. */
export function registerRegistryCommands(program: Command): void {
  const registry = program
    .command('registry')
    .description(
      'Validate, lint and inspect the registry of drift-managed units, ownership rules, auto-heal policies, routing, budgets and exceptions.',
    );

  registry
    .command('validate')
    .summary('Check a registry folder: schemas, references, ignore-rule review. Exit 0 valid, 1 invalid.')
    .description(
      'Load every *.yaml/*.yml under a folder and check schemas, references and the ignore-rule review (§14.1).\n' +
        'Prints every problem as `file:line:col Kind/name /field: error [rule] message`.\n' +
        'Exit codes: 0 valid (warnings allowed), 1 invalid.',
    )
    .argument('[dir]', dirHelp)
    .option('--json', 'print {ok, version, counts, errors, warnings} as JSON')
    .option('--now <instant>', 'evaluate exception expiry at this ISO instant instead of the current time')
    .action(
      runAction(async (dir: string | undefined, opts: { json?: boolean; now?: string }) => {
        const { dir: d, result } = await load(dir, parseNow(opts.now));
        const errors = result.ok ? [] : result.errors;
        if (opts.json) writeJson(jsonResult(d, result, errors, result.warnings));
        else {
          printIssues([...errors, ...result.warnings]);
          if (result.ok)
            writeOut(
              `registry ${d}: valid (${counts(result.registry)}; ${result.warnings.length} warning(s)); version ${result.registry.version}\n`,
            );
          else
            writeOut(
              `registry ${d}: invalid: ${errors.length} error(s), ${result.warnings.length} warning(s)\n`,
            );
        }
        return result.ok ? ExitCode.ok : ExitCode.invalidInput;
      }),
    );

  registry
    .command('lint')
    .summary('Validate and review ignore rules and exception expiry (expired exceptions fail).')
    .description(
      'Validate, then review the ignore rules: sensitive paths (identity, image, network, privilege, persistence, command),\n' +
        'exception expiry (expired: error here; expiring within 7 days: warning), broad scopes and shadowed routes.\n' +
        'Exit codes: 0 clean, 1 errors or expired exceptions (or any warning with --strict).',
    )
    .argument('[dir]', dirHelp)
    .option('--json', 'print {ok, errors, warnings} as JSON')
    .option('--strict', 'fail on warnings too')
    .option('--now <instant>', 'evaluate exception expiry at this ISO instant instead of the current time')
    .action(
      runAction(async (dir: string | undefined, opts: { json?: boolean; strict?: boolean; now?: string }) => {
        const { dir: d, result } = await load(dir, parseNow(opts.now));
        // An expired exception only stops applying at load time (the control plane keeps running); in review it is an error.
        const promote = (i: RegistryIssue): boolean => i.rule === 'exception-expired' || !!opts.strict;
        const errors = [
          ...(result.ok ? [] : result.errors),
          ...result.warnings.filter(promote).map((i) => ({ ...i, severity: 'error' as const })),
        ];
        const warnings = result.warnings.filter((i) => !promote(i));
        errors.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0));
        if (opts.json) writeJson(jsonResult(d, result, errors, warnings));
        else {
          printIssues([...errors, ...warnings]);
          writeOut(`registry ${d}: ${errors.length} error(s), ${warnings.length} warning(s)\n`);
        }
        return errors.length === 0 ? ExitCode.ok : ExitCode.invalidInput;
      }),
    );

  registry
    .command('show')
    .summary('Print the resolved view of a unit, team or policy, with what applies to it.')
    .description(
      'Print the resolved view of one document: for a unit, its owner, approvers (people), detection interval, the\n' +
        'auto-heal policies, ownership rules, budgets and active exceptions that apply, and its break-glass roles.\n' +
        'REF is <kind>/<name> (kind: unit, team, ownershiprule, autohealpolicy, routingpolicy, budget, exception,\n' +
        'or the full kind name) or a bare unit name. Exit codes: 0 shown, 1 registry invalid or REF not found.',
    )
    .argument('<ref>', 'e.g. unit/checkout-web-prod, team/checkout, AutoHealPolicy/stateless-app-safe-fields')
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print JSON instead of YAML')
    .option('--now <instant>', 'which exceptions are active at this ISO instant (default: now)')
    .action(
      runAction(async (ref: string, opts: { dir?: string; json?: boolean; now?: string }) => {
        const now = parseNow(opts.now) ?? new Date();
        const { dir: d, result } = await load(opts.dir, now);
        if (!result.ok) {
          printIssues(result.errors);
          throw new InputError(`registry ${d} is invalid: ${result.errors.length} error(s)`, { file: d });
        }
        const slash = ref.indexOf('/');
        const rawKind = slash < 0 ? 'unit' : ref.slice(0, slash);
        const name = slash < 0 ? ref : ref.slice(slash + 1);
        const kind = kindAliases[rawKind.toLowerCase()];
        if (!kind)
          throw new InputError(
            `unknown kind "${rawKind}" in ${ref} (expected one of: ${Object.keys(kindAliases).join(', ')})`,
            { field: 'ref' },
          );
        const view = resolvedView(result.registry, kind, name, now);
        if (!view) throw new InputError(`${kind} "${name}" is not in registry ${d}`, { field: 'ref' });
        if (opts.json) writeJson(view);
        else writeOut(stringify(view, { lineWidth: 0 }));
        return ExitCode.ok;
      }),
    );

  schemaCommand(program)
    .command('registry')
    .summary('JSON Schema of a registry document (for the YAML language server).')
    .description(
      'Print the JSON Schema (draft-07) of a registry document, for the YAML language server and other editors.\n' +
        'Save it (driftplane schema registry > registry.schema.json) and point a `# yaml-language-server: $schema=…` modeline at it.',
    )
    .action(
      runAction(() => {
        printSchema(registryJsonSchema());
      }),
    );
}
