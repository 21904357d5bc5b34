import type { Command } from 'commander';
import path from 'node:path';
import { openEvidenceStore } from '../../evidence/open';
import type * as LedgerModule from '../../ledger';
import type * as RebuildModule from '../../ledger/rebuild';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { ledgerOpenError } from '../ledger-open';
import { runAction } from '../run-action';

// The database drivers load only for `db` commands: every other command stays light.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazyLedger = () => require('../../ledger') as typeof LedgerModule;
const lazyRebuild = () => require('../../ledger/rebuild') as typeof RebuildModule;
/* eslint-enable @typescript-eslint/no-require-imports */

const URL_HELP = 'the ledger (default: $DRIFTPLANE_LEDGER_URL, else PGlite in $DRIFTPLANE_HOME/ledger)';

/** Opens the database without migrating, explaining an unreachable server or a PGlite folder in use. */
async function openOrExplain(url: string) {
  const { openDb } = lazyLedger();
  try {
    return await openDb(url);
  } catch (err) {
    throw ledgerOpenError(url, err);
  }
}

/** `db migrate`, `db status`, `db rebuild`: the findings ledger (docs/ledger.md). */
export function registerDbCommands(program: Command): void {
  const db = program
    .command('db')
    .description(
      'The findings ledger (PostgreSQL, or embedded PGlite): apply its versioned migrations, show where it stands, or ' +
        'rebuild it from evidence. Workers and `serve` apply pending migrations at start too.',
    );

  db.command('migrate')
    .description('Apply every pending migration (ledger/migrations/NNNN_*.sql) in order; running it again applies nothing.')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print { "applied": [{ "version", "name" }], "current" }')
    .addHelpText('after', '\nExamples:\n  driftplane db migrate\n  DRIFTPLANE_LEDGER_URL=postgres://driftplane@db:5432/driftplane driftplane db migrate --json\n')
    .action(
      runAction(async (opts: { url?: string; json?: boolean }) => {
        const url = opts.url ?? loadConfig().ledger.url;
        const { migrate, redactUrl } = lazyLedger();
        const conn = await openOrExplain(url);
        try {
          const result = await migrate(conn);
          if (opts.json) writeJson(result);
          else if (result.applied.length === 0) writeOut(`${redactUrl(url)}: up to date (version ${result.current})\n`);
          else writeOut(`${redactUrl(url)}: applied ${result.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).join(', ')}; now at version ${result.current}\n`);
          return ExitCode.ok;
        } finally {
          await conn.close();
        }
      }),
    );

  db.command('status')
    .description('Show the ledger\'s engine, its applied and pending migrations, and how many lifecycles and units it holds.')
    .option('--url <url>', URL_HELP)
    .option('--json', 'print { "engine", "applied", "pending", "lifecycles", "units" }')
    .action(
      runAction(async (opts: { url?: string; json?: boolean }) => {
        const url = opts.url ?? loadConfig().ledger.url;
        const { loadMigrations, redactUrl } = lazyLedger();
        const conn = await openOrExplain(url);
        try {
          const exists = (await conn.query<{ t: string | null }>("SELECT to_regclass('ledger_migrations')::text AS t"))[0]?.t;
          const applied = exists ? (await conn.query<{ version: number }>('SELECT version FROM ledger_migrations ORDER BY version')).map((r) => Number(r.version)) : [];
          const pending = loadMigrations().filter((m) => !applied.includes(m.version)).map((m) => m.version);
          const count = async (table: string) =>
            applied.length ? Number((await conn.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]?.n ?? 0) : 0;
          const out = { engine: conn.engine, url: redactUrl(url), applied, pending, lifecycles: await count('lifecycles'), units: await count('unit_detection') };
          if (opts.json) writeJson(out);
          else
            writeOut(
              `${out.url} (${out.engine}): migrations applied ${applied.join(', ') || 'none'}; pending ${pending.join(', ') || 'none'}; ` +
                `${out.lifecycles} lifecycle run(s), ${out.units} unit(s) with detection records\n`,
            );
          return pending.length ? ExitCode.needsPerson : ExitCode.ok;
        } finally {
          await conn.close();
        }
      }),
    );

  db.command('rebuild')
    .description(
      'Rebuild the lifecycle tables (lifecycles, lifecycle_steps, approvals, hotfix_windows) from evidence, in one ' +
        'transaction, with the same projection the workers use. Detection records are not in evidence and are kept. ' +
        'Exit 1 when a chain fails verification (it is still replayed and named).',
    )
    .option('--url <url>', URL_HELP)
    .option('--dir <folder>', 'the evidence folder (default: $DRIFTPLANE_EVIDENCE_DIR, else $DRIFTPLANE_HOME/evidence)')
    .option('--json', 'print the counts and any problems as JSON')
    .addHelpText('after', '\nExamples:\n  driftplane db rebuild\n  driftplane db rebuild --dir /var/lib/driftplane/evidence --json\n')
    .action(
      runAction(async (opts: { url?: string; dir?: string; json?: boolean }) => {
        const config = loadConfig();
        const url = opts.url ?? config.ledger.url;
        const { migrate } = lazyLedger();
        const conn = await openOrExplain(url);
        try {
          await migrate(conn);
          const evidence = openEvidenceStore(opts.dir ? { url: path.resolve(opts.dir) } : config.evidence);
          let last = 0;
          const result = await lazyRebuild().rebuildFromEvidence(conn, evidence, {
            onProgress: (p: { findings: number; records: number }) => {
              if (!opts.json && process.stderr.isTTY && Date.now() - last > 500) {
                last = Date.now();
                writeErr(`\r${p.findings} finding(s), ${p.records} record(s) ...`);
              }
            },
          });
          if (opts.json) writeJson(result);
          else {
            if (process.stderr.isTTY) writeErr('\n');
            writeOut(`rebuilt the ledger from ${result.findings} finding(s), ${result.records} evidence record(s)\n`);
            for (const p of result.problems) writeErr(`warning: ${p}\n`);
          }
          return result.problems.length ? ExitCode.invalidInput : ExitCode.ok;
        } finally {
          await conn.close();
        }
      }),
    );
}
