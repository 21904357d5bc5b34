import type { Command } from 'commander';
import path from 'node:path';
import { visible } from '../../domain/terminal-text';
import { desiredSchedules, inStep, MANAGED_SCHEDULE_PREFIX, planScheduleSync, type SchedulePlan } from '../../domain/schedules';
import { loadRegistryOrThrow } from '../../registry';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { applySchedulePlan, describeSchedule, readManagedSchedules } from '../schedules';
import { connectClient } from '../temporal';

const log = (line: string) => writeErr(`${line}\n`);

function planJson(plan: SchedulePlan) {
  return {
    inStep: inStep(plan),
    create: plan.create.map((d) => d.scheduleId),
    update: plan.update.map((d) => d.scheduleId),
    remove: plan.remove,
    unchanged: plan.unchanged.length,
  };
}

/** `schedules sync` and `schedules list`: Temporal Schedules kept in step with the registry. */
export function registerScheduleCommands(program: Command): void {
  const schedules = program
    .command('schedules')
    .description(
      'Temporal Schedules, one scan per registered unit (interval from its schedule or risk tier: critical 15m, ' +
        'high 1h, standard 6h, low 24h) plus the staleness sweep every 15m and the budget sweep every 5m, kept in step with the registry.',
    );

  schedules
    .command('sync')
    .description(
      'Create, update and delete schedules so they match the registry. Only schedules whose id starts with ' +
        '"driftplane-" are touched; a schedule someone paused stays paused.',
    )
    .option('--registry <dir>', 'the registry folder (default: $DRIFTPLANE_REGISTRY, else registry/examples/acme)')
    .option('--dry-run', 'print the plan without changing anything; exit 2 when changes are pending')
    .option('--json', 'print { "inStep", "create", "update", "remove", "unchanged" }')
    .addHelpText('after', '\nExamples:\n  driftplane schedules sync --dry-run\n  driftplane schedules sync --registry ./platform/registry')
    .action(
      runAction(async (opts: { registry?: string; dryRun?: boolean; json?: boolean }) => {
        const config = loadConfig();
        const registry = await loadRegistryOrThrow(opts.registry ? path.resolve(opts.registry) : config.registryDir);
        const { client, connection } = await connectClient(config.temporalAddress, config.namespace);
        try {
          const desired = desiredSchedules(registry.units.values(), config.taskQueue);
          const plan = planScheduleSync(desired, await readManagedSchedules(client, desired.map((d) => d.scheduleId)));
          if (opts.dryRun) {
            for (const d of plan.create) log(`+ would create ${describeSchedule(d)}`);
            for (const d of plan.update) log(`~ would update ${describeSchedule(d)}`);
            for (const id of plan.remove) log(`- would delete ${id}`);
          } else {
            await applySchedulePlan(client, plan, log);
          }
          if (opts.json) writeJson(planJson(plan));
          else
            writeOut(
              `${opts.dryRun ? 'plan' : 'synced'}: ${plan.create.length} to create, ${plan.update.length} to update, ` +
                `${plan.remove.length} to delete, ${plan.unchanged.length} unchanged\n`,
            );
          return opts.dryRun && !inStep(plan) ? ExitCode.needsPerson : ExitCode.ok;
        } finally {
          await connection.close();
        }
      }),
    );

  schedules
    .command('list')
    .description("List driftplane's schedules with their next run.")
    .option('--json', 'print { "schedules": [ ... ] }')
    .action(
      runAction(async (opts: { json?: boolean }) => {
        const config = loadConfig();
        const { client, connection } = await connectClient(config.temporalAddress, config.namespace);
        try {
          const rows = [];
          for await (const s of client.schedule.list()) {
            if (!s.scheduleId.startsWith(MANAGED_SCHEDULE_PREFIX)) continue;
            rows.push({
              scheduleId: s.scheduleId,
              workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : undefined,
              paused: s.state.paused,
              nextRun: s.info.nextActionTimes[0]?.toISOString(),
              lastRun: s.info.recentActions.at(-1)?.takenAt.toISOString(),
            });
          }
          rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
          if (opts.json) writeJson({ schedules: rows });
          else if (rows.length === 0) writeOut('no driftplane schedules (run `driftplane schedules sync`)\n');
          else for (const r of rows) writeOut(`${visible(r.scheduleId).padEnd(48)} ${r.paused ? 'paused ' : ''}next ${r.nextRun ?? '-'}\n`);
          return ExitCode.ok;
        } finally {
          await connection.close();
        }
      }),
    );
}
