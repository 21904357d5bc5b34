import type { Command } from 'commander';
import path from 'node:path';
import { InputError } from '../../domain/errors';
import type { EvaluatedBudget, MeanTimes, RecurringSource } from '../../domain/budgets/report';
import { rateText } from '../../domain/budgets/evaluate';
import { formatWindow } from '../../domain/budgets/burn-rate';
import { parseDuration } from '../../domain/registry/durations';
import { visible } from '../../domain/terminal-text';
import type * as LedgerModule from '../../ledger';
import type * as BudgetsModule from '../../ledger/budgets';
import { loadRegistryOrThrow } from '../../registry';
import { loadConfig } from '../../workers/config';
import { EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { writeJson, writeOut } from '../output';
import { ledgerOpenError } from '../ledger-open';
import { runAction } from '../run-action';

// The database drivers load only when the command runs: every other command stays light.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazyLedger = () => require('../../ledger') as typeof LedgerModule;
const lazyBudgets = () => require('../../ledger/budgets') as typeof BudgetsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** What `driftplane budgets --json` prints. */
export interface BudgetsJson {
  at: string;
  window: string;
  budgets: EvaluatedBudget[];
  recurring: RecurringSource[];
  meanTimes: MeanTimes;
}

const pct = (x: number) => `${(Math.round(x * 1000) / 10).toFixed(1)} %`;
const one = (s: string) => visible(s);

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...(r[i] ?? '')].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i]! - [...c].length))).join('  ').trimEnd()).join('\n');
}

function seconds(s: number | null): string {
  if (s === null) return '–';
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 360) / 10}h`;
}

/** The human table: one line per budget, its reasons under it, then mean times and recurring sources. */
function render(out: BudgetsJson): string {
  const lines: string[] = [];
  const rows = [['BUDGET', 'SCOPE', 'STATE', 'REMAINING', 'BURN 1h/6h/3d', 'OWNER']];
  for (const b of out.budgets) {
    const burn = b.objectives.length
      ? b.objectives
          .map((o) => {
            const [page1, page2, ticket] = o.alerts;
            return [page1?.longRate, page2?.longRate, ticket?.longRate].map((r) => rateText(r ?? 0)).join('/');
          })
          .join(', ')
      : '–';
    rows.push([one(b.budget), one(b.scope), b.state.toUpperCase(), pct(b.remaining), burn, one(b.owner ?? '–')]);
  }
  lines.push(`Drift budgets at ${out.at} (window ${out.window})`, '', pad(rows));
  const why = out.budgets.filter((b) => b.reasons.length);
  if (why.length) {
    lines.push('', 'Reasons:');
    for (const b of why) for (const r of b.reasons) lines.push(`  ${one(b.budget)}: ${one(r)}`);
  }
  lines.push('', `Mean time to classify ${seconds(out.meanTimes.mttcSeconds)} (${out.meanTimes.classified} classified), to close ${seconds(out.meanTimes.mttrSeconds)} (${out.meanTimes.closed} closed)`);
  lines.push('', out.recurring.length ? 'Recurring drift sources:' : 'Recurring drift sources: none in the window');
  if (out.recurring.length) {
    const rec = [['COUNT', 'KIND', 'SOURCE', 'LAST']];
    for (const r of out.recurring) rec.push([String(r.count), r.kind, one(r.kind === 'finding' ? `${r.findingId} (${r.resourceRef ?? ''})` : `${r.unit} ${r.field}`), r.lastAt]);
    lines.push(pad(rec));
  }
  return `${lines.join('\n')}\n`;
}

/** `budgets`: drift budgets and SLOs evaluated from the ledger (§10, docs/budgets.md). */
export function registerBudgetCommands(program: Command): void {
  program
    .command('budgets')
    .description(
      'Evaluate every DriftBudget of the registry from the findings ledger: its limits (unclassified findings, ' +
        'age, detection interval), its SLOs (compliance and error budget left over the rolling window, burn rates ' +
        'in the multi-window style of the SRE workbook), and recurring drift sources. Exits 2 when a budget is exhausted.',
    )
    .option('--json', 'print { "at", "window", "budgets": [BudgetReport], "recurring": [...], "meanTimes": {...} }')
    .option('--at <iso>', 'evaluate as of this instant (default: now)')
    .option('--window <duration>', 'the rolling window (default: $DRIFTPLANE_BUDGET_WINDOW, else 30d)')
    .option('--registry <dir>', 'the registry folder (default: $DRIFTPLANE_REGISTRY, else registry/examples/acme)')
    .option('--url <url>', 'the ledger (default: $DRIFTPLANE_LEDGER_URL, else PGlite in $DRIFTPLANE_HOME/ledger)')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  driftplane budgets\n' +
        '  driftplane budgets --json | jq \'.budgets[] | select(.state != "ok") | .budget\'\n' +
        '  driftplane budgets --at 2026-07-01T12:00:00Z --window 7d\n' +
        '  DRIFTPLANE_LEDGER_URL=postgres://driftplane@db:5432/driftplane driftplane budgets --json\n\n' +
        `${EXIT_CODES_HELP} Here: 0 no budget exhausted (ok or burning), 2 at least one exhausted.\n`,
    )
    .action(
      runAction(async (opts: { json?: boolean; at?: string; window?: string; registry?: string; url?: string }) => {
        const config = loadConfig();
        const at = opts.at ? new Date(opts.at) : new Date();
        if (opts.at && (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(opts.at))) throw new InputError(`--at: expected an ISO instant such as 2026-07-01T12:00:00Z, got ${JSON.stringify(opts.at)}`, { field: '--at' });
        const window = opts.window ?? config.ledger.budgetWindow;
        const windowMs = parseDuration(window);
        if (windowMs === undefined) throw new InputError(`--window: expected a duration such as 30d or 7d, got ${JSON.stringify(window)}`, { field: '--window' });
        const registry = await loadRegistryOrThrow(opts.registry ? path.resolve(opts.registry) : config.registryDir);
        const url = opts.url ?? config.ledger.url;
        const { openLedger } = lazyLedger();
        let ledger: LedgerModule.Ledger;
        try {
          ledger = await openLedger(url);
        } catch (err) {
          throw ledgerOpenError(url, err);
        }
        try {
          const { budgetReports, meanTimes, recurringSources } = lazyBudgets();
          const [budgets, recurring, means] = await Promise.all([
            budgetReports(ledger.db, [...registry.budgets.values()], registry.units.values(), at, windowMs),
            recurringSources(ledger.db, at, windowMs),
            meanTimes(ledger.db, at, windowMs),
          ]);
          const out: BudgetsJson = { at: at.toISOString(), window: formatWindow(windowMs), budgets, recurring, meanTimes: means };
          if (opts.json) writeJson(out);
          else writeOut(render(out));
          // Exit 2: a budget is exhausted (a decision for a person, like drift).
          return budgets.some((b) => b.state === 'exhausted') ? ExitCode.needsPerson : ExitCode.ok;
        } finally {
          await ledger.close();
        }
      }),
    );
}
