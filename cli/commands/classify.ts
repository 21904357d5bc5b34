import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import {
  classify,
  ClassifyInputSchema,
  formatMismatches,
  PolicyTestFileSchema,
  runPolicyCase,
  type AutoHealPolicy as InputAutoHealPolicy,
  type ClassifyInput,
  type Decision,
  type DecisionTable,
  type OwnershipRule,
  type PolicyCaseResult,
} from '../../domain/classify';
import { InputError, ToolError } from '../../domain/errors';
import {
  applyDecisionTableOverrides,
  loadDecisionTable,
  loadDecisionTableOverrides,
  parseLocated,
  zodInputError,
  type LocatedDocument,
} from '../../registry/decision-table';
import { activeExceptionsFor, loadRegistryOrThrow, policiesFor, unitDomain } from '../../registry';
import { ExitCode } from '../exit-codes';
import { writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { printSchema, schemaCommand } from './schema';

/**
 * `driftplane classify <input.json>`, `driftplane policy test <dir>` and
 * `driftplane schema classify-input` (issue 4).
 */

function readInput(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError('no such file', { file });
    if (code === 'EISDIR') throw new InputError('is a directory, expected a file', { file });
    throw new ToolError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

function loadTable(tableFile?: string, overridesFile?: string): DecisionTable {
  const table = loadDecisionTable(tableFile);
  return overridesFile === undefined
    ? table
    : applyDecisionTableOverrides(table, loadDecisionTableOverrides(overridesFile), overridesFile);
}

function farFuture(): string {
  return '9999-12-31T23:59:59Z';
}

function toIso(instant: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(instant) ? `${instant}T00:00:00Z` : instant;
}

/**
 * With `--registry`, a unit may be given by name (`"unit": "payments-prod-network"` or
 * `{ "name": ... }`); it is resolved with its policies. Ownership rules, the auto-heal policy and
 * an active exception come from the registry unless the input already has them.
 */
async function resolveWithRegistry(
  raw: unknown,
  dir: string,
  doc: LocatedDocument,
  now: Date,
): Promise<unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const input = { ...(raw as Record<string, unknown>) };
  const registry = await loadRegistryOrThrow(dir);
  const unitField = input.unit;
  const unitName =
    typeof unitField === 'string'
      ? unitField
      : typeof unitField === 'object' && unitField !== null
        ? (unitField as { name?: unknown }).name
        : undefined;
  if (typeof unitName !== 'string') return input;
  const unit = registry.units.get(unitName);
  if (!unit) {
    if (typeof unitField === 'string' || Object.keys(unitField as object).length === 1) {
      throw new InputError(`unit ${unitName} is not in registry ${dir}`, {
        file: doc.file,
        field: '/unit',
        ...doc.locate(['unit']),
      });
    }
    return input;
  }
  if (typeof unitField === 'string' || Object.keys(unitField as object).length === 1) {
    input.unit = {
      name: unit.metadata.name,
      type: unit.spec.type,
      owner: unit.spec.owner,
      environment: unit.spec.environment,
      riskTier: unit.spec.riskTier,
      ...(unitDomain(unit) !== undefined ? { domain: unitDomain(unit) } : {}),
      policies: {
        autoHeal: unit.spec.policies.autoHeal,
        requireIncidentForManualChange: unit.spec.policies.requireIncidentForManualChange,
      },
    };
  }
  const { autoHealPolicies, ownershipRules } = policiesFor(registry, unitName);
  if (input.ownershipRules === undefined && ownershipRules.length > 0) {
    input.ownershipRules = ownershipRules.map((r): OwnershipRule => ({
      name: r.metadata.name,
      resource: {
        ...(r.spec.resource.group !== undefined ? { group: r.spec.resource.group } : {}),
        ...(r.spec.resource.kind !== undefined ? { kind: r.spec.resource.kind } : {}),
        ...(r.spec.resource.resourceType !== undefined ? { type: r.spec.resource.resourceType } : {}),
      },
      gitOwned: r.spec.gitOwned,
      runtimeOwned: r.spec.runtimeOwned.map((p) => (typeof p === 'string' ? p : p.path)),
      policyOwned: r.spec.policyOwned.map((p) => p.path),
      controllerOwned: r.spec.controllerOwned.map((c) => ({
        path: c.path,
        owner: c.owner,
        ...(c.condition !== undefined ? { condition: c.condition } : {}),
      })),
    }));
  }
  if (input.autoHealPolicy === undefined && autoHealPolicies.length > 0) {
    // Several policies combine into the tightest bound: denied paths and classes add up, the smallest maximum wins.
    const denyAll = autoHealPolicies.filter((p) => p.spec.mode === 'deny');
    const allows = autoHealPolicies.filter((p) => p.spec.mode !== 'deny');
    const combined: InputAutoHealPolicy = {
      name: autoHealPolicies.map((p) => p.metadata.name).join('+'),
      allowedPaths: allows.flatMap((p) => p.spec.allowedPaths),
      deniedPaths: [
        ...(denyAll.length > 0 ? [''] : []),
        ...autoHealPolicies.flatMap((p) => p.spec.deniedPaths),
      ],
      requireHealthyBeforeHeal: autoHealPolicies.some((p) => p.spec.requireHealthyBeforeHeal),
      deniedDriftClasses: [...new Set(autoHealPolicies.flatMap((p) => p.spec.deniedDriftClasses))],
    };
    const maxes = allows
      .map((p) => p.spec.maxObjectsPerReconcile)
      .filter((m): m is number => m !== undefined);
    if (maxes.length > 0) combined.maxObjectsPerReconcile = Math.min(...maxes);
    input.autoHealPolicy = combined;
  }
  const change = input.change as { resourceRef?: unknown; changedFields?: unknown } | undefined;
  const context = input.context as Record<string, unknown> | undefined;
  if (context && context.exception === undefined && typeof change?.resourceRef === 'string') {
    const paths = Array.isArray(change.changedFields)
      ? change.changedFields.filter((p): p is string => typeof p === 'string')
      : undefined;
    const [exception] = activeExceptionsFor(registry, {
      unit: unitName,
      resourceRef: change.resourceRef,
      ...(paths ? { paths } : {}),
      now,
    });
    if (exception) {
      input.context = {
        ...context,
        exception: {
          id: exception.metadata.name,
          expiresAt: exception.spec.expiresAt ? toIso(exception.spec.expiresAt) : farFuture(),
          reason: exception.spec.reason,
        },
      };
    }
  }
  return input;
}

/** Reads, resolves and validates a classify input file. */
export async function readClassifyInput(
  file: string,
  registryDir?: string,
  now: Date = new Date(),
): Promise<ClassifyInput> {
  const doc = parseLocated(file, readInput(file));
  let raw = doc.value;
  // An explicit context.now also decides which registry exceptions are active.
  const declaredNow = (raw as { context?: { now?: unknown } } | null)?.context?.now;
  const at =
    typeof declaredNow === 'string' && !Number.isNaN(Date.parse(declaredNow)) ? new Date(declaredNow) : now;
  if (registryDir !== undefined) raw = await resolveWithRegistry(raw, registryDir, doc, at);
  else if (typeof raw === 'object' && raw !== null && typeof (raw as { unit?: unknown }).unit === 'string') {
    throw new InputError('the unit is given by name: pass --registry <dir> to resolve it', {
      file,
      field: '/unit',
      ...doc.locate(['unit']),
    });
  }
  const parsed = ClassifyInputSchema.safeParse(raw);
  if (!parsed.success) throw zodInputError(doc, parsed.error, 'classify input');
  return parsed.data;
}

/** The readable summary of a decision. */
export function formatDecision(d: Decision): string {
  const lines = [
    `${d.driftClass}  risk ${d.risk}  action ${d.recommendedAction}`,
    `resource:     ${d.finding.resourceRef} (${d.relationship})`,
    `owner:        ${d.owner}`,
    `auto-heal:    ${d.autoHealAllowed ? 'allowed' : `refused by ${d.autoHealRefusedBy ?? 'unknown'}`}`,
    `needs person: ${d.needsPerson ? 'yes' : 'no'}`,
  ];
  if (d.budget) lines.push(`budget:       ${d.budget.name} (${d.budget.statement})`);
  lines.push(
    `notify:       ${d.routeHints.notify.join(', ')}${d.routeHints.createIncident ? ' (open an incident)' : ''}`,
  );
  lines.push('rules that fired:');
  for (const r of d.reasons) lines.push(`  - ${r.ruleId}: ${r.why}`);
  return `${lines.join('\n')}\n`;
}

/** The exit code of a decision: 2 when a person is needed, else 0. */
export function exitCodeOf(d: Decision): ExitCode {
  return d.needsPerson ? ExitCode.needsPerson : ExitCode.ok;
}

function listTestFiles(dir: string): string[] {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new InputError('no such file or directory', { file: dir });
  }
  if (st.isFile()) return [dir];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTestFiles(p));
    else if (/\.(ya?ml|json)$/.test(entry.name)) out.push(p);
  }
  return out;
}

/** Result of running a policy test folder. */
export interface PolicyTestRun {
  passed: number;
  failed: number;
  invalid: number;
  output: string[];
}

/** Runs every test file under `target` against the table (per-file `table:` wins). */
export function runPolicyTests(
  target: string,
  opts: { table?: string; overrides?: string; verbose?: boolean } = {},
): PolicyTestRun {
  const files = listTestFiles(target);
  if (files.length === 0) throw new InputError('no test files (*.yaml, *.yml, *.json)', { file: target });
  const run: PolicyTestRun = { passed: 0, failed: 0, invalid: 0, output: [] };
  for (const file of files) {
    let doc: LocatedDocument;
    try {
      doc = parseLocated(file, readInput(file));
    } catch (err) {
      run.invalid++;
      run.output.push(`INVALID ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const parsed = PolicyTestFileSchema.safeParse(doc.value);
    if (!parsed.success) {
      run.invalid++;
      const e = zodInputError(doc, parsed.error, 'policy test file');
      run.output.push(`INVALID ${e.message}`);
      continue;
    }
    const tf = parsed.data;
    let table: DecisionTable;
    try {
      table = loadTable(
        tf.table !== undefined ? path.resolve(path.dirname(file), tf.table) : opts.table,
        opts.overrides,
      );
    } catch (err) {
      run.invalid++;
      run.output.push(`INVALID ${file}: table: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    tf.cases.forEach((c, i) => {
      const loc = doc.locate(['cases', i]);
      const where = `${file}:${loc.line ?? '?'}`;
      let result: PolicyCaseResult;
      try {
        result = runPolicyCase(c, tf.defaults, table);
      } catch (err) {
        run.invalid++;
        run.output.push(`INVALID ${where} ${c.name}: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      if (result.status === 'pass') {
        run.passed++;
        if (opts.verbose) run.output.push(`PASS ${where} ${c.name}`);
      } else if (result.status === 'fail') {
        run.failed++;
        run.output.push(`FAIL ${where} ${c.name}`);
        for (const l of formatMismatches(result.mismatches)) run.output.push(`    ${l}`);
        run.output.push(`    rules that fired: ${result.decision.reasons.map((r) => r.ruleId).join(', ')}`);
      } else {
        run.invalid++;
        run.output.push(`INVALID ${where} ${c.name}`);
        for (const p of result.problems) {
          const at = doc.locate(['cases', i, 'input', ...p.path]);
          run.output.push(
            `    ${file}:${at.line ?? '?'}:${at.column ?? '?'} field /input/${p.path.map(String).join('/')}: ${p.message}`,
          );
        }
      }
    });
  }
  return run;
}

/** Registers `classify`, `policy test` and `schema classify-input`. */
export function registerClassifyCommands(program: Command): void {
  program
    .command('classify')
    .description(
      'Dry-run the decision table on one change and its context. Prints driftClass, risk, recommendedAction, autoHealAllowed and the rules that fired.\n' +
        'Exit 0 when no person is needed, 2 when the decision needs a person, 1 for invalid input, 3 when the tool failed.',
    )
    .argument(
      '<input>',
      'classify input (JSON or YAML): { unit, change, context }; see `driftplane schema classify-input`',
    )
    .option('--json', 'print the decision as JSON')
    .option(
      '--registry <dir>',
      'resolve the unit (by name), its ownership rules, auto-heal policy and exceptions from a registry',
    )
    .option('--table <file>', 'decision table YAML (default: the built-in table)')
    .option('--overrides <file>', 'DecisionTableOverrides YAML merged into the table by rule id')
    .action(
      runAction(
        async (
          file: string,
          opts: { json?: boolean; registry?: string; table?: string; overrides?: string },
        ) => {
          const table = loadTable(opts.table, opts.overrides);
          const input = await readClassifyInput(file, opts.registry);
          // The CLI may read the clock; the domain never does. An explicit context.now wins.
          const decision = classify(input, table, input.context.now !== undefined ? {} : { now: new Date() });
          if (opts.json) writeJson(decision);
          else writeOut(formatDecision(decision));
          return exitCodeOf(decision);
        },
      ),
    );

  const policy =
    program.commands.find((c) => c.name() === 'policy') ??
    program.command('policy').description('Decision-table policy tools.');
  policy
    .command('test')
    .description(
      'Run YAML test cases (input -> expected driftClass, action, auto-heal, risk) against the decision table, like `opa test`. Exit 0 all pass, 1 on failures or invalid cases.',
    )
    .argument('<dir>', 'a folder of test files (or one file)')
    .option('--table <file>', "decision table YAML (default: the built-in table; a file's own `table:` wins)")
    .option('--overrides <file>', 'DecisionTableOverrides YAML merged into the table')
    .option('-v, --verbose', 'list passing cases too')
    .action(
      runAction((dir: string, opts: { table?: string; overrides?: string; verbose?: boolean }) => {
        const run = runPolicyTests(dir, opts);
        for (const l of run.output) writeOut(`${l}\n`);
        const total = run.passed + run.failed + run.invalid;
        writeOut(
          `${'-'.repeat(60)}\nPASS: ${run.passed}/${total}${run.failed ? `  FAIL: ${run.failed}` : ''}${run.invalid ? `  INVALID: ${run.invalid}` : ''}\n`,
        );
        return run.failed + run.invalid === 0 ? ExitCode.ok : ExitCode.invalidInput;
      }),
    );

  schemaCommand(program)
    .command('classify-input')
    .description('JSON Schema of the `driftplane classify` input.')
    .action(
      runAction(() => {
        printSchema(classifyInputJsonSchema());
      }),
    );
}

/** The JSON Schema of the classify input. */
export function classifyInputJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://driftplane.io/schemas/classify-input/v1.json',
    title: 'driftplane classify input',
    ...(z.toJSONSchema(ClassifyInputSchema, { io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >),
  };
}
