import type { Command } from 'commander';
import path from 'node:path';
import { InputError } from '../../domain/errors';
import { findingIdFromAny } from '../../domain/finding';
import { escaped } from '../../domain/terminal-text';
import { EvidenceFileError, EvidenceStore, type EvidenceRecord } from '../../evidence/evidence-store';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';

/** The store at --dir, or the configured evidence folder. */
function storeFor(dir: string | undefined): EvidenceStore {
  return new EvidenceStore(dir ? path.resolve(dir) : loadConfig().evidenceDir);
}

/**
 * One line of `evidence show`: when, which step, which run, and the head of the hash chain. Records
 * are files anyone with write access could have edited: every field is made visible.
 */
function lineOf(r: EvidenceRecord): string {
  return escaped`${String(r.seq).padStart(3)}  ${r.at}  ${String(r.step).padEnd(14)} run ${String(r.runId).slice(0, 8)}  ${String(r.hash).slice(0, 12)} ← ${String(r.prevHash).slice(0, 12)}`;
}

async function readOrExplain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EvidenceFileError) throw new InputError(err.problem, { file: err.file });
    throw err;
  }
}

/** `evidence show` and `evidence verify`: what auditors run. Reads the evidence store, not Temporal. */
export function registerEvidenceCommands(program: Command): void {
  const evidence = program
    .command('evidence')
    .description(
      "Read and check a finding's evidence: hash-chained records, one per lifecycle step (what was detected, " +
        'the decision and its rules, the approval, the action, the verification). Needs no Temporal server.',
    );

  evidence
    .command('show <findingId>')
    .description("List a finding's evidence records; --json prints them whole.")
    .option('--dir <folder>', 'the evidence folder (default: $DRIFTPLANE_EVIDENCE_DIR, else $DRIFTPLANE_HOME/evidence)')
    .option('--json', 'print { "findingId", "records": [ ... ] }')
    .action(
      runAction(async (id: string, opts: { dir?: string; json?: boolean }) => {
        const findingId = findingIdFromAny(id);
        const store = storeFor(opts.dir);
        const records = await readOrExplain(() => store.read(findingId));
        if (records.length === 0) throw new InputError(`no evidence for ${findingId} in ${store.folderOf(findingId)}`, { field: 'findingId' });
        if (opts.json) writeJson({ findingId, folder: store.folderOf(findingId), records });
        else writeOut(`${escaped`${findingId}  (${store.folderOf(findingId)})`}\n${records.map(lineOf).join('\n')}\n`);
        return ExitCode.ok;
      }),
    );

  evidence
    .command('verify <findingId>')
    .description(
      'Recompute every record\'s SHA-256 and its link to the record before it, and verify each signed answer in the ' +
        'approval records against the key it names (docs/identity.md). Exit 0 when the chain is whole and every ' +
        'signature verifies; exit 1 naming each file and field that was changed, removed or inserted.',
    )
    .option('--dir <folder>', 'the evidence folder (default: $DRIFTPLANE_EVIDENCE_DIR, else $DRIFTPLANE_HOME/evidence)')
    .option('--json', 'print { "findingId", "ok", "records", "problems" }')
    .action(
      runAction(async (id: string, opts: { dir?: string; json?: boolean }) => {
        const findingId = findingIdFromAny(id);
        const check = await readOrExplain(() => storeFor(opts.dir).verify(findingId));
        if (opts.json) writeJson({ findingId, ...check });
        else if (check.ok) writeOut(`${escaped`${findingId}: ${check.records} record(s), chain intact`}\n`);
        if (!check.ok) {
          if (!opts.json) {
            writeErr(`${escaped`error: ${findingId}: evidence chain broken (${check.problems.length} problem(s) in ${check.records} record(s))`}\n`);
            for (const p of check.problems) writeErr(`${escaped`  ${p}`}\n`);
          }
          return ExitCode.invalidInput;
        }
        return ExitCode.ok;
      }),
    );
}
