import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError, ToolError } from '../../domain/errors';
import { findingIdFromAny } from '../../domain/finding';
import { escaped } from '../../domain/terminal-text';
import { auditEvidence, type AuditReport } from '../../evidence/audit';
import { noteVerifierOf } from '../../evidence/checkpoint';
import { LogInconsistentError, type StoredCheckpoint } from '../../evidence/log';
import {
  adoptUnlogged,
  checkpointSignerOf,
  EvidenceSettingsError,
  openEvidenceStore,
  publishCheckpoint,
  type EvidenceSettings,
} from '../../evidence/open';
import { evidenceRecordJsonSchema } from '../../evidence/record';
import type { EvidenceRecord } from '../../evidence/record';
import { EvidenceFileError, type EvidenceStore } from '../../evidence/store';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { printSchema, schemaCommand } from './schema';

/** Options every evidence command takes to say which store to read. */
interface StoreOptions {
  dir?: string;
  url?: string;
  s3Endpoint?: string;
  region?: string;
}

/**
 * The evidence settings: the store named by --url or --dir, else DRIFTPLANE_EVIDENCE_URL, else the
 * configured evidence folder; the checkpoint key from DRIFTPLANE_EVIDENCE_LOG_KEY, else
 * `$DRIFTPLANE_HOME/evidence-log.key` (created the first time a checkpoint is signed).
 */
function settingsFor(opts: StoreOptions): EvidenceSettings {
  const settings = loadConfig().evidence;
  if (opts.url && opts.dir) throw new InputError('give --url or --dir, not both', { field: '--url' });
  const url = opts.url ?? (opts.dir ? path.resolve(opts.dir) : settings.url);
  return {
    ...settings,
    url,
    ...(opts.s3Endpoint ? { s3Endpoint: opts.s3Endpoint } : {}),
    ...(opts.region ? { region: opts.region } : {}),
  };
}

function storeFor(opts: StoreOptions): { store: EvidenceStore; settings: EvidenceSettings } {
  const settings = settingsFor(opts);
  try {
    return { store: openEvidenceStore(settings), settings };
  } catch (err) {
    if (err instanceof EvidenceSettingsError)
      throw new InputError(err.message, { field: opts.url ? '--url' : 'DRIFTPLANE_EVIDENCE_URL' });
    throw err;
  }
}

/**
 * One line of `evidence show`: when, which step, which run, and the head of the hash chain. Records
 * are files anyone with write access could have edited: every field is made visible.
 */
function lineOf(r: EvidenceRecord): string {
  return escaped`${String(r.seq).padStart(3)}  ${r.at}  ${String(r.step).padEnd(14)} run ${String(r.runId).slice(0, 8)}  ${String(r.hash).slice(0, 12)} ← ${String(r.prevHash).slice(0, 12)}`;
}

/** Runs a store call: an unreadable record is invalid input (1); a store that cannot be reached is a failure (3). */
async function readOrExplain<T>(store: EvidenceStore, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EvidenceFileError) throw new InputError(err.problem, { file: err.file });
    if (err instanceof InputError || err instanceof ToolError) throw err;
    if (err instanceof LogInconsistentError)
      throw new ToolError(err.message, 'find what changed with `driftplane evidence verify --all`');
    throw new ToolError(
      `cannot read the evidence at ${store.location}: ${(err as Error).message}`,
      store.location.startsWith('s3://')
        ? 'check the bucket, the credentials and --s3-endpoint / DRIFTPLANE_EVIDENCE_S3_ENDPOINT'
        : undefined,
    );
  }
}

const withStoreOptions = (c: Command): Command =>
  c
    .option(
      '--dir <folder>',
      'a local evidence folder (default: $DRIFTPLANE_EVIDENCE_URL, else $DRIFTPLANE_EVIDENCE_DIR, else $DRIFTPLANE_HOME/evidence)',
    )
    .option('--url <url>', 'the evidence store: s3://<bucket>/<prefix> or file:///<folder>')
    .option(
      '--s3-endpoint <url>',
      'S3 endpoint override (MinIO, moto); default $DRIFTPLANE_EVIDENCE_S3_ENDPOINT',
    )
    .option(
      '--region <region>',
      'S3 region (default $DRIFTPLANE_EVIDENCE_REGION, else $DRIFTPLANE_AWS_REGION)',
    );

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Human lines of a verification: one per finding, then the checkpoint, then warnings. */
function printReport(report: AuditReport, all: boolean): void {
  const lines: string[] = [];
  if (report.checkpoint) {
    const c = report.checkpoint;
    lines.push(
      escaped`checkpoint ${String(c.size)} of ${c.origin}, signed by ${c.signedBy.map((k) => k.split('+').slice(0, 2).join('+')).join(', ')}` +
        (report.checkpoints > 1
          ? escaped` (${String(report.checkpoints)} checkpoints, each consistent with the one before)`
          : ''),
    );
  }
  for (const f of report.findings) {
    if (all && f.chain.ok && f.records === f.anchored && report.findings.length > 20) continue;
    const anchoring = report.checkpoint
      ? escaped`, ${String(f.anchored)} in the log under checkpoint ${String(report.checkpoint.size)}`
      : '';
    if (f.records === 0) lines.push(escaped`${f.findingId}: no records in the store`);
    else
      lines.push(
        escaped`${f.findingId}: ${String(f.records)} record(s), chain ${f.chain.ok ? 'intact' : 'broken'}` +
          anchoring,
      );
  }
  if (all)
    lines.push(
      escaped`${String(report.findings.length)} finding(s), ${String(report.logSize)} leaf/leaves in the log`,
    );
  if (report.ok) writeOut(`${lines.join('\n')}\n`);
  else writeErr(`${lines.join('\n')}\n`);
  for (const w of report.warnings) writeErr(`${escaped`warning: ${w}`}\n`);
  if (!report.ok) {
    writeErr(
      `${escaped`error: evidence verification failed: ${String(report.problems.length)} problem(s)`}\n`,
    );
    for (const p of report.problems) writeErr(`${escaped`  ${p}`}\n`);
  }
}

/** Signed checkpoints an auditor kept, read from files. */
async function checkpointFiles(files: string[]): Promise<StoredCheckpoint[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        return { source: path.resolve(file), note: await readFile(file, 'utf8') };
      } catch (err) {
        throw new InputError(`cannot read the checkpoint: ${(err as Error).message}`, { file });
      }
    }),
  );
}

/** `evidence show`, `verify`, `checkpoint`, `key` and `schema evidence`: what auditors run. Reads the evidence store, not Temporal. */
export function registerEvidenceCommands(program: Command): void {
  const evidence = program
    .command('evidence')
    .description(
      'Read and check evidence: hash-chained records, one per lifecycle step (what was detected, the decision and its rules, ' +
        'the approval, the action, the verification), and the transparency log with signed checkpoints over every record ' +
        '(docs/evidence.md). Needs no Temporal server.',
    );

  withStoreOptions(evidence.command('show <findingId>'))
    .description("List a finding's evidence records; --json prints them whole.")
    .option('--json', 'print { "findingId", "folder", "records": [ ... ] }')
    .addHelpText(
      'after',
      '\nExamples:\n  driftplane evidence show checkout-web-prod:760c28255832dc80\n  driftplane evidence show finding:checkout-web-prod:760c28255832dc80 --url s3://acme-evidence/prod --json\n',
    )
    .action(
      runAction(async (id: string, opts: StoreOptions & { json?: boolean }) => {
        const findingId = findingIdFromAny(id);
        const { store } = storeFor(opts);
        const records = await readOrExplain(store, () => store.read(findingId));
        if (records.length === 0)
          throw new InputError(`no evidence for ${findingId} in ${store.folderOf(findingId)}`, {
            field: 'findingId',
          });
        if (opts.json) writeJson({ findingId, folder: store.folderOf(findingId), records });
        else
          writeOut(
            `${escaped`${findingId}  (${store.folderOf(findingId)})`}\n${records.map(lineOf).join('\n')}\n`,
          );
        return ExitCode.ok;
      }),
    );

  withStoreOptions(evidence.command('verify [findingId]'))
    .summary(
      'Check a finding (or --all) against the hash chains and signed checkpoints of the log; exit 1 naming each problem.',
    )
    .description(
      "Check a finding's evidence (or, with --all, every finding's) without trusting the store: recompute every record's " +
        'SHA-256 and its link to the record before it, verify each signed answer (docs/identity.md), and check the ' +
        'transparency log: every signed checkpoint is consistent with the one before, the stored log reproduces each ' +
        "checkpoint's root, each record's inclusion proof verifies against the latest checkpoint, and every record the " +
        'checkpoint covers is still there. Detects an edited, inserted, reordered or removed record, a truncated chain, a ' +
        'whole chain rewritten with recomputed hashes and a dropped finding. Exit 0 when all holds; 1 naming each problem; ' +
        '3 when the store cannot be read.',
    )
    .option('--all', 'verify every finding in the store and every finding the log names')
    .option(
      '--key <vkey>',
      'a verifier key checkpoints must be signed by (<name>+<id>+<key>, from `driftplane evidence key`); repeatable. Default: the keys stored with the log (a warning says so)',
      collect,
    )
    .option(
      '--checkpoint <file>',
      'a signed checkpoint kept outside the store (saved from `driftplane evidence checkpoint`), checked too; repeatable',
      collect,
    )
    .option('--origin <origin>', 'the log origin every checkpoint must name')
    .option(
      '--strict',
      'a record no signed checkpoint covers yet, or no checkpoint at all, is a problem (exit 1)',
    )
    .option(
      '--json',
      'print { "ok", "findingId"?, "records"?, "problems", "warnings", "checkpoint", "findings": [...] }',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  driftplane evidence verify checkout-web-prod:760c28255832dc80\n' +
        '  driftplane evidence verify --all --key "$(cat evidence-log.vkey)" --checkpoint saved-checkpoint.txt\n' +
        '  driftplane evidence verify --all --url s3://acme-evidence/prod --strict --json\n',
    )
    .action(
      runAction(
        async (
          id: string | undefined,
          opts: StoreOptions & {
            all?: boolean;
            key?: string[];
            checkpoint?: string[];
            origin?: string;
            strict?: boolean;
            json?: boolean;
          },
        ) => {
          if (!opts.all === (id === undefined))
            throw new InputError(
              id === undefined ? 'name a finding, or give --all' : 'give a finding or --all, not both',
              { field: 'findingId' },
            );
          const findingId = id === undefined ? undefined : findingIdFromAny(id);
          const { store } = storeFor(opts);
          const checkpoints = await checkpointFiles(opts.checkpoint ?? []);
          const report = await readOrExplain(store, () =>
            auditEvidence(store, {
              ...(findingId !== undefined ? { findingId } : {}),
              trustedKeys: opts.key ?? [],
              checkpoints,
              ...(opts.origin ? { origin: opts.origin } : {}),
              strict: opts.strict ?? false,
            }),
          );
          if (opts.json) {
            const one = findingId !== undefined ? report.findings[0] : undefined;
            writeJson({
              ...(findingId !== undefined ? { findingId, records: one?.records ?? 0 } : {}),
              location: store.location,
              ...report,
            });
          } else printReport(report, findingId === undefined);
          return report.ok ? ExitCode.ok : ExitCode.invalidInput;
        },
      ),
    );

  withStoreOptions(evidence.command('checkpoint'))
    .summary('Sign a checkpoint of the transparency log now and print it (C2SP note, Ed25519).')
    .description(
      'Sign a checkpoint of the evidence transparency log now (C2SP tlog-checkpoint note, Ed25519), over every record ' +
        'appended so far, unless none was added since the last one. It is stored with the log (under Object Lock on S3) and ' +
        'printed: keep a copy outside the store and give it to `evidence verify --checkpoint`. The worker also signs one ' +
        'periodically. The key is DRIFTPLANE_EVIDENCE_LOG_KEY, else $DRIFTPLANE_HOME/evidence-log.key (created on first use).',
    )
    .option(
      '--adopt',
      'first add to the log every record not in it yet (records written before the log existed); chains that do not verify are left out and named',
    )
    .option('--json', 'print { "origin", "size", "rootHash", "created", "verifierKey", "note" }')
    .addHelpText(
      'after',
      '\nExamples:\n  driftplane evidence checkpoint > checkpoint-$(date +%F).txt\n  driftplane evidence checkpoint --url s3://acme-evidence/prod --json\n',
    )
    .action(
      runAction(async (opts: StoreOptions & { adopt?: boolean; json?: boolean }) => {
        const { store, settings } = storeFor(opts);
        const signer = checkpointSignerOf(settings);
        if (!signer) throw new InputError('no checkpoint key', { field: 'DRIFTPLANE_EVIDENCE_LOG_KEY' });
        const adopted = opts.adopt ? await readOrExplain(store, () => adoptUnlogged(store)) : undefined;
        const result = await readOrExplain(store, () => publishCheckpoint(store, signer));
        if (opts.json) writeJson({ origin: signer.origin, ...result, ...(adopted ? { adopted } : {}) });
        else {
          if (adopted) {
            writeErr(`${escaped`adopted ${String(adopted.adopted)} record(s) into the log`}\n`);
            for (const f of adopted.skipped)
              writeErr(
                `${escaped`warning: ${f}: its chain does not verify; not adopted (see driftplane evidence verify ${f})`}\n`,
              );
          }
          writeErr(
            `${escaped`${result.created ? 'signed' : 'unchanged:'} checkpoint ${String(result.size)} of ${signer.origin}; verify with --key ${result.verifierKey}`}\n`,
          );
          process.stdout.write(result.note);
        }
        return ExitCode.ok;
      }),
    );

  withStoreOptions(evidence.command('key'))
    .description(
      'Print the verifier key of the checkpoint key (<name>+<id>+<base64 key>), for auditors to pass to `evidence verify --key`.',
    )
    .option('--json', 'print { "origin", "verifierKey" }')
    .addHelpText('after', '\nExamples:\n  driftplane evidence key > evidence-log.vkey\n')
    .action(
      runAction((opts: StoreOptions & { json?: boolean }) => {
        const signer = checkpointSignerOf(settingsFor(opts));
        if (!signer) throw new InputError('no checkpoint key', { field: 'DRIFTPLANE_EVIDENCE_LOG_KEY' });
        const { vkey } = noteVerifierOf(signer.origin, signer.secretKey);
        if (opts.json) writeJson({ origin: signer.origin, verifierKey: vkey });
        else writeOut(`${vkey}\n`);
        return ExitCode.ok;
      }),
    );

  schemaCommand(program)
    .command('evidence')
    .summary('JSON Schema of an evidence record.')
    .description(
      'Print the JSON Schema (draft-07) of one evidence record, as `evidence show --json` lists them and the store keeps ' +
        'them. Each record names its schema version in `v` (records written before versions existed have none).',
    )
    .action(
      runAction(() => {
        printSchema(evidenceRecordJsonSchema());
      }),
    );
}
