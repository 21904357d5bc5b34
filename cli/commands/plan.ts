import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { InputError } from '../../domain/errors';
import { normalizePlan } from '../../domain/plan/normalize-plan';
import { parsePlanJson } from '../../domain/plan/parse-plan-json';
import type { NormalizedPlan, ResourceChange, ResourceDrift } from '../../domain/plan/normalized-plan-schema';
import { NormalizedPlanSchema } from '../../domain/plan/normalized-plan-schema';
import { ExitCode } from '../exit-codes';
import { runAction } from '../run-action';
import { printSchema, schemaCommand } from './schema';

/** The exit code of a normalized plan: 0 no changes, 2 drift, 3 the plan errored (could not tell). */
export function planExitCode(plan: NormalizedPlan): ExitCode {
  if (plan.result === 'NO_CHANGES') return ExitCode.ok;
  if (plan.result === 'DRIFT_DETECTED') return ExitCode.needsPerson;
  return ExitCode.failed;
}

/**
 * Reads and parses a plan JSON file: a missing file, bad JSON or a key repeated in one object is
 * invalid input naming the file (and line).
 */
export function readPlanFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`, {
      file,
    });
  }
  return parsePlanJson(text, file);
}

const symbol = (actions: readonly string[]): string => {
  const a = actions.join(',');
  if (a === 'create') return '+';
  if (a === 'delete') return '-';
  if (a === 'update') return '~';
  if (a === 'delete,create') return '-/+';
  if (a === 'create,delete') return '+/-';
  if (a === 'read') return '<=';
  if (a === 'no-op') return '=';
  return '!';
};

function line(e: ResourceDrift | ResourceChange): string {
  const tags: string[] = [];
  if ('destructive' in e && e.destructive) tags.push('destructive');
  if (e.identity) tags.push('identity');
  if ('importing' in e && e.importing) tags.push('import');
  if (e.previousAddress) tags.push(`moved from ${e.previousAddress}`);
  if (e.deposed) tags.push(`deposed ${e.deposed}`);
  if ('actionReason' in e && e.actionReason) tags.push(e.actionReason);
  const paths =
    e.changedPaths.length > 6
      ? [...e.changedPaths.slice(0, 6), `… ${e.changedPaths.length - 6} more`]
      : e.changedPaths;
  return (
    `  ${symbol(e.actions).padEnd(3)} ${e.address} [${e.actions.join(', ')}]` +
    (tags.length ? ` (${tags.join('; ')})` : '') +
    (paths.length ? `\n        ${paths.join(' ')}` : '')
  );
}

/** A short human-readable summary of a normalized plan (never a value, like the JSON). */
export function formatPlanSummary(plan: NormalizedPlan, file: string): string {
  const out: string[] = [];
  out.push(`${file}: ${plan.result} (plan format ${plan.formatVersion}, tool ${plan.toolVersion})`);
  if (plan.failureReason) out.push(`  could not tell: ${plan.failureReason}`);
  if (!plan.complete) out.push('  the plan is incomplete (deferred actions): the lists below may be partial');
  out.push(`drift, recorded!=actual: ${plan.summary.driftedResources}`);
  for (const d of plan.resourceDrift) out.push(line(d));
  const s = plan.summary;
  out.push(
    `changes, desired!=actual: ${s.resourceChanges} (${s.destructiveChanges} destructive, ${s.identityChanges} identity)`,
  );
  for (const c of plan.resourceChanges) out.push(line(c));
  if (plan.outputChanges.length) {
    out.push(
      `output changes: ${plan.outputChanges.map((o) => `${o.name}${o.sensitive ? ' (sensitive)' : ''}`).join(', ')}`,
    );
  }
  return `${out.join('\n')}\n`;
}

/** `driftplane plan normalize <plan.json> [--json]` and `driftplane schema plan-normalized`. */
export function registerPlanCommands(program: Command): void {
  const plan = program.command('plan').description('OpenTofu/Terraform plans.');
  plan
    .command('normalize')
    .description(
      'Normalize `tofu show -json` / `terraform show -json` plan output into the shared contract.\n' +
        'Exit codes: 0 no changes, 1 invalid input (not a plan, bad JSON, a repeated key), 2 drift detected,\n' +
        '3 could not tell (the plan errored, or is incomplete and empty, or its changes are missing).',
    )
    .argument('<plan.json>', 'output of `tofu show -json <planfile>`')
    .option('--json', 'print the normalized plan as JSON')
    .option(
      '--refresh-only',
      'the plan was made with -refresh-only: no resource_changes is expected, so it is not "could not tell"',
    )
    .action(
      runAction((file: string, opts: { json?: boolean; refreshOnly?: boolean }) => {
        const normalized = normalizePlan(readPlanFile(file), {
          file,
          refreshOnly: opts.refreshOnly === true,
        });
        process.stdout.write(
          opts.json ? `${JSON.stringify(normalized, null, 2)}\n` : formatPlanSummary(normalized, file),
        );
        if (normalized.failureReason) {
          const hint = normalized.changesMissing
            ? '\nhint: if this is a refresh-only plan (tofu plan -refresh-only), pass --refresh-only'
            : '';
          process.stderr.write(`error: ${file}: could not tell: ${normalized.failureReason}${hint}\n`);
        }
        return planExitCode(normalized);
      }),
    );
  schemaCommand(program)
    .command('plan-normalized')
    .description('JSON Schema of `plan normalize --json` output.')
    .action(runAction(() => printSchema(z.toJSONSchema(NormalizedPlanSchema))));
}
