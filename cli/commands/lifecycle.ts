import { type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InputError, ToolError } from '../../domain/errors';
import { coveragePercent, findingIdFromAny, workflowIdOf, type DetectionCoverage } from '../../domain/finding';
import { describeCoverage, isFullCoverage } from '../../domain/inventory/coverage';
import { parseDuration } from '../../domain/registry/durations';
import { escaped, visible } from '../../domain/terminal-text';
import { state, TIMELINE_HEAD, type LifecycleInput, type LifecycleState, type PreviousRun } from '../../workflows/messages';
import { DriftClassKey, EnvironmentKey, LifecycleStateKey, OwnerKey, RiskKey, UnitKey } from '../../workflows/search-attributes';
import { loadConfig } from '../../workers/config';
import { openLedger, redactUrl } from '../../ledger';
import type { DetectionStatusRepo } from '../../ledger/detection';
import { folderLockHolder, LedgerInUseError, lockFileOf } from '../../ledger/folder-lock';
import { answerFinding, needsSignedAnswer } from '../answer-finding';
import { AnswerQueued } from '../answer-queued';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { resolveSshKey } from '../ssh-sign';
import { connectClient } from '../temporal';
import { approvalProgressText, noteApprovalProgress } from '../../serve/slack/approval-progress';

export { answerFinding } from '../answer-finding';

/** One row of `driftplane findings`. */
export interface FindingRow {
  findingId: string;
  workflowId: string;
  runId: string;
  status: string;
  stage?: string;
  driftClass?: string;
  risk?: string;
  owner?: string;
  environment?: string;
  unit?: string;
  startTime: string;
}

const FILTERS = [
  ['class', DriftClassKey],
  ['risk', RiskKey],
  ['owner', OwnerKey],
  ['environment', EnvironmentKey],
  ['stage', LifecycleStateKey],
  ['unit', UnitKey],
] as const;

const quote = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Builds the visibility query for `findings` from its filters. */
export function findingsQuery(filters: Partial<Record<(typeof FILTERS)[number][0], string>> & { open?: boolean }): string {
  const parts = [`WorkflowType = 'driftLifecycle'`];
  for (const [flag, key] of FILTERS) {
    const v = filters[flag];
    if (v) parts.push(`${key.name} = ${quote(flag === 'risk' || flag === 'class' ? v.toUpperCase() : v)}`);
  }
  if (filters.open) parts.push(`ExecutionStatus = 'Running'`);
  return parts.join(' AND ');
}

function rowOf(w: WorkflowExecutionInfo): FindingRow {
  const sa = w.typedSearchAttributes;
  const opt = <T>(k: string, v: T | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    findingId: findingIdFromAny(w.workflowId),
    workflowId: w.workflowId,
    runId: w.runId,
    status: w.status.name,
    ...opt('stage', sa.get(LifecycleStateKey)),
    ...opt('driftClass', sa.get(DriftClassKey)),
    ...opt('risk', sa.get(RiskKey)),
    ...opt('owner', sa.get(OwnerKey)),
    ...opt('environment', sa.get(EnvironmentKey)),
    ...opt('unit', sa.get(UnitKey)),
    startTime: w.startTime.toISOString(),
  };
}

/** Lists lifecycles from Temporal visibility, newest first. */
export async function listFindings(client: Client, query: string, limit: number): Promise<FindingRow[]> {
  const rows: FindingRow[] = [];
  for await (const w of client.workflow.list({ query })) {
    rows.push(rowOf(w));
    if (rows.length >= limit) break;
  }
  return rows;
}

/** Reads one lifecycle's state: by query while it runs, from its result once it has closed. */
export async function readLifecycle(client: Client, idOrWorkflowId: string): Promise<{ state: LifecycleState; status: string; runId: string }> {
  const handle = client.workflow.getHandle(workflowIdOf(findingIdFromAny(idOrWorkflowId)));
  try {
    const d = await handle.describe();
    if (d.status.name === 'COMPLETED') return { state: (await handle.result()) as LifecycleState, status: d.status.name, runId: d.runId };
    return { state: await withTimeout(handle.query(state), 15_000, 'no worker answered the state query'), status: d.status.name, runId: d.runId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new InputError(`no lifecycle for finding ${findingIdFromAny(idOrWorkflowId)}`, { field: 'findingId' });
    throw err;
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => {
        timer = setTimeout(() => rej(new ToolError(`${what} (waited ${ms / 1000}s)`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function withClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { client, connection } = await connectClient(config.temporalAddress, config.namespace);
  try {
    return await fn(client);
  } finally {
    await connection.close();
  }
}

function printTable(rows: FindingRow[]): void {
  if (rows.length === 0) {
    writeOut('no findings\n');
    return;
  }
  const cols: (keyof FindingRow)[] = ['findingId', 'stage', 'driftClass', 'risk', 'owner', 'environment', 'status'];
  // Search attributes are written by whoever starts a workflow: each cell is made visible before it is measured.
  const cells = rows.map((r) => cols.map((c) => visible(String(r[c] ?? '-'))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  writeOut(`${line(cols.map(String))}\n`);
  for (const row of cells) writeOut(`${line(row)}\n`);
}

/** One unit's last recorded detection coverage, as `driftplane findings` shows it. */
export type UnitCoverage = DetectionCoverage & {
  unit: string;
  /** Resources covered, in percent (see `coveragePercent`). */
  percent: number;
  /** Whether every type and resource was read. */
  full: boolean;
  /** When the coverage was measured. */
  at?: string;
};

/**
 * Each unit's last detection coverage from its detection record in the ledger (written by the
 * worker's scans). Units without a recorded coverage are left out. A record that cannot be read is
 * named in `unreadable` (by unit), never taken for full coverage.
 */
export async function readUnitCoverage(detection: Pick<DetectionStatusRepo, 'listReadable'>): Promise<{ units: UnitCoverage[]; unreadable: string[] }> {
  const { records, unreadable } = await detection.listReadable();
  const units: UnitCoverage[] = [];
  for (const { unit, coverage, coverageAt } of records) {
    if (coverage) units.push({ unit, ...coverage, percent: coveragePercent(coverage), full: isFullCoverage(coverage), ...(coverageAt ? { at: coverageAt } : {}) });
  }
  return { units, unreadable: unreadable.map((u) => u.unit) };
}

/**
 * {@link readUnitCoverage} of the ledger at `url` (config.ledger.url), opened for this read and
 * closed after it. A PGlite ledger that was never created has no coverage (nothing is created to
 * say so); one that another process has open is refused with `LedgerInUseError`: PGlite allows
 * one process at a time, and opening it beside the worker would corrupt it.
 */
export async function readLedgerCoverage(url: string): Promise<{ units: UnitCoverage[]; unreadable: string[] }> {
  if (url.startsWith('pglite:')) {
    const where = url.slice('pglite:'.length);
    if (where === 'memory' || !existsSync(path.join(path.resolve(where), 'PG_VERSION'))) return { units: [], unreadable: [] };
    const holder = await folderLockHolder(where);
    if (holder) throw new LedgerInUseError(path.resolve(where), holder, lockFileOf(where));
  }
  const ledger = await openLedger(url);
  try {
    return await readUnitCoverage(ledger.detection);
  } finally {
    await ledger.close();
  }
}

/**
 * The coverage lines `findings` prints: one per unit whose last detection could not read every
 * type or resource, e.g. `coverage  acme-prod-account 83.3% (5/6 types, 40/48 resources); not
 * covered: aws_lambda_function`. Units at full coverage print nothing.
 */
export function coverageLines(units: readonly UnitCoverage[]): string[] {
  return units.filter((u) => !u.full).map((u) => escaped`coverage  ${u.unit} ${describeCoverage(u)}`);
}

/** The input a run started with (its first history event), and the first run of its continue-as-new chain. */
export type RunInputReader = (workflowId: string, runId: string) => Promise<{ input?: Partial<LifecycleInput>; firstRunId?: string } | undefined>;

/**
 * Reads a run's input from its first history event only (one event, not the whole history),
 * decoded with the client's data converter. Undefined when the run is gone (retention).
 */
export function temporalRunInputReader(client: Client): RunInputReader {
  return async (workflowId, runId) => {
    let res;
    try {
      res = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId, runId }, maximumPageSize: 1 });
    } catch (err) {
      // gRPC NOT_FOUND: the run's history is past retention; the chain ends there.
      if ((err as { code?: number }).code === 5) return undefined;
      throw err;
    }
    const started = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) return undefined;
    const [input] = await decodeArrayFromPayloads(client.options.loadedDataConverter, started.input?.payloads);
    return { ...(input && typeof input === 'object' ? { input: input as Partial<LifecycleInput> } : {}), ...(started.firstExecutionRunId ? { firstRunId: started.firstExecutionRunId } : {}) };
  };
}

/** How many reopened runs `show` walks back at most. */
export const MAX_REOPEN_CHAIN = 50;

/**
 * The runs a reopened finding links back through, newest first: each run's input names the run it
 * reopens (`previous`). A run that continued as new is looked up in the first run of its chain.
 * The walk stops at a run with no `previous`, one already seen, one past retention, or after
 * {@link MAX_REOPEN_CHAIN} runs.
 */
export async function readReopenChain(read: RunInputReader, workflowId: string, runId: string, first?: Partial<LifecycleInput>): Promise<PreviousRun[]> {
  const chain: PreviousRun[] = [];
  const seen = new Set([runId]);
  let at = { workflowId, runId };
  let known = first;
  while (chain.length < MAX_REOPEN_CHAIN) {
    let previous = known?.previous;
    known = undefined;
    if (!previous) {
      const run = await read(at.workflowId, at.runId);
      previous = run?.input?.previous;
      if (!previous && run?.firstRunId && run.firstRunId !== at.runId) previous = (await read(at.workflowId, run.firstRunId))?.input?.previous;
    }
    if (!previous || seen.has(previous.runId)) break;
    chain.push(previous);
    seen.add(previous.runId);
    at = { workflowId: previous.workflowId || at.workflowId, runId: previous.runId };
  }
  return chain;
}

/**
 * Renders one lifecycle for a person. Every value in it came from outside at some point (a cluster,
 * an audit log, a person's answer, the registry): each is made visible on its own line, so none can
 * move the cursor, recolour the screen or fake a line of the timeline.
 */
export function renderLifecycle(s: LifecycleState, status: string, chain: readonly PreviousRun[] = []): string {
  const o = s.observation;
  const lines = [
    escaped`finding     ${s.findingId}  (${status}, stage ${s.stage}${s.outcome ? `, outcome ${s.outcome}` : ''})`,
    escaped`resource    ${o.resourceRef} in ${o.unit} (${o.relationship}, ${o.changeType})`,
    escaped`changed     ${o.changedFields.join(', ')}`,
  ];
  // A regression: the runs this finding reopens, newest first.
  for (const p of chain) lines.push(`reopened    from run ${visible(p.runId)} (${visible(p.outcome)} at ${visible(p.closedAt)})`);
  const audit = o.auditCorrelation;
  if (audit) lines.push(escaped`actor       ${audit.actor.id} (${audit.actor.type}) via ${audit.source} at ${audit.eventTime}`);
  const who = s.route?.actor;
  if (who) lines.push(who.person ? escaped`  person    ${who.person} (matched ${who.matched ?? who.id})` : escaped`  person    unresolved: ${who.unresolved ?? 'unknown'}`);
  if (s.decision) {
    const d = s.decision;
    const autoHeal = d.autoHealAllowed ? 'allowed' : `refused${d.autoHealRefusedBy ? ` by ${d.autoHealRefusedBy}` : ''}`;
    lines.push(escaped`decision    ${d.driftClass}, risk ${d.risk}, action ${d.recommendedAction}, auto-heal ${autoHeal}`);
    for (const r of d.reasons) lines.push(escaped`  rule      ${r.ruleId}: ${r.why}`);
  }
  if (s.route) lines.push(escaped`approvers   ${s.route.approvers.map((a) => a.email).join(', ') || '(none)'}`, escaped`notified    ${s.route.notify.join(', ') || '(nobody)'}`);
  const need = s.route?.requiredApprovals ?? 1;
  if (need > 1 || (s.approvals?.length ?? 0) > 1) {
    lines.push(escaped`approvals   ${s.approvals?.length ?? 0} of ${need}${s.route?.approvalNotes?.length ? ` (${s.route.approvalNotes.join('; ')})` : ''}`);
    for (const a of s.approvals ?? []) lines.push(escaped`  approved  ${a.approver} (${a.via}) at ${a.at}: ${a.reason}`);
  }
  if (s.answer) lines.push(escaped`answer      ${s.answer.answer} by ${s.answer.approver} (${s.answer.via}): ${s.answer.reason}`);
  const answers = [...(s.approvals ?? []), ...(s.answer ? [s.answer] : [])];
  // The decisive answer is also the last approval counted: each person's proof is printed once.
  for (const a of answers.filter((x, i) => answers.findIndex((y) => y.approver === x.approver && y.at === x.at) === i)) {
    const st = a.statement;
    if (st) lines.push(escaped`  proof     ${a.approver}: signed with ${st.signer.kind === 'ssh' ? 'SSH key' : 'server key'} ${st.signer.keyId}, issued ${st.statement.issuedAt} via ${st.statement.channel}`);
    else if (a.authenticated === false) lines.push(escaped`  proof     ${a.approver}: none (unauthenticated ${a.via} answer, allowed by the unit's policy)`);
  }
  if (s.ignoredSignals?.count)
    lines.push(escaped`ignored     ${s.ignoredSignals.count} invalid signal(s): ${Object.entries(s.ignoredSignals.byReason).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  if (s.runs) lines.push(escaped`runs        continued as new ${s.runs} time(s) (long history); the state was carried`);
  if (s.escalations) lines.push(escaped`escalations ${s.escalations}`);
  if (s.evidenceUri) lines.push(escaped`evidence    ${s.evidenceUri}`);
  lines.push('timeline');
  s.timeline.forEach((t, i) => {
    // The lifecycle keeps the first and the last entries; say where the middle was dropped.
    if (s.timelineDropped && i === TIMELINE_HEAD) lines.push(escaped`  … ${s.timelineDropped} entries dropped from the middle …`);
    lines.push(escaped`  ${t.at}  ${t.stage.padEnd(9)} ${t.event}${t.detail ? `: ${t.detail}` : ''}`);
  });
  return `${lines.join('\n')}\n`;
}

/** `findings`, `show`, `approve`, `reject`. */
export function registerLifecycleCommands(program: Command): void {
  const findings = program
    .command('findings')
    .description('List drift lifecycles from Temporal visibility, newest first, and each unit whose last detection could not read every resource type (coverage below 100 %).')
    .option('--json', 'print JSON: { "findings": [ ... ], "coverage": [ { "unit", "percent", "full", ... } ] }')
    .option('--open', 'only lifecycles that are still running')
    .option('--limit <n>', 'at most this many rows', '100');
  for (const [flag] of FILTERS) findings.option(`--${flag} <value>`, `only findings whose ${flag === 'class' ? 'drift class' : flag} is <value>`);
  findings
    .addHelpText('after', '\nExamples:\n  driftplane findings --open --risk high\n  driftplane findings --owner checkout --json')
    .action(
      runAction(async (opts: Record<string, string | boolean | undefined>) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit must be a whole number above 0', { field: '--limit' });
        const query = findingsQuery({ ...(opts as Record<string, string>), open: opts.open === true });
        const rows = await withClient((c) => listFindings(c, query, limit));
        // What the last detections could not see: below 100 % is "not covered", never clean.
        const read = await readLedgerCoverage(loadConfig().ledger.url).catch((err: unknown) => {
          writeErr(`coverage not shown: the ledger's detection records could not be read: ${redactUrl((err as Error).message)}\n`);
          return { units: [], unreadable: [] };
        });
        const coverage = typeof opts.unit === 'string' ? read.units.filter((u) => u.unit === opts.unit) : read.units;
        if (read.unreadable.length > 0) writeErr(`coverage unknown for ${read.unreadable.length} unreadable detection record(s): ${read.unreadable.join(', ')}\n`);
        if (opts.json) writeJson({ findings: rows, coverage });
        else {
          printTable(rows);
          for (const line of coverageLines(coverage)) writeOut(`${line}\n`);
        }
        return ExitCode.ok;
      }),
    );

  program
    .command('show <findingId>')
    .description('Show one lifecycle: stage, finding, decision and the rules that fired, approvals, timeline.')
    .option('--json', 'print the lifecycle state as JSON')
    .action(
      runAction(async (findingId: string, opts: { json?: boolean }) => {
        const { s, status, chain } = await withClient(async (c) => {
          const { state: s, status, runId } = await readLifecycle(c, findingId);
          // The state may carry the run's own link (`previous`); older runs are read from their first event.
          const own = (s as LifecycleState & { previous?: PreviousRun }).previous;
          const chain = await readReopenChain(temporalRunInputReader(c), workflowIdOf(s.findingId), runId, own ? { previous: own } : undefined);
          return { s, status, chain };
        });
        if (opts.json) writeJson({ status, ...s, chain });
        else writeOut(renderLifecycle(s, status, chain));
        return ExitCode.ok;
      }),
    );

  for (const answer of ['approve', 'reject'] as const) {
    program
      .command(`${answer} <findingId>`)
      .description(
        `${answer === 'approve' ? 'Approve' : 'Reject'} a lifecycle's proposed reconciliation. Only the unit's approvers may answer, ` +
          'never the actor who caused the drift, and a reason is required. A worker validates the answer; when none takes it ' +
          'within --wait, Temporal keeps it for the next worker and the command exits 4 (queued).',
      )
      .requiredOption('--as <identity>', 'who you are: email, Slack user id or GitHub login of a listed approver')
      .requiredOption('--reason <text>', 'why (goes into the evidence)')
      .option('--key <file>', 'your SSH private key (Ed25519, registered as yours in the registry) to sign the answer with; default DRIFTPLANE_SSH_KEY, else ~/.ssh/id_ed25519')
      .option('--wait <duration>', 'how long to wait for a worker to validate the answer, e.g. 10s or 2m', '10s')
      .option('--json', 'print the accepted answer as JSON ({ "status": "queued", ... } when queued)')
      .addHelpText(
        'after',
        `\nExample:\n  driftplane ${answer} checkout-web-prod:760c28255832dc80 --as maria.lopez@acme.example --reason "revert to the digest in Git"\n\n` +
          'The answer is signed with your SSH key (ssh-keygen -Y sign, like a signed Git commit); the lifecycle verifies it\n' +
          'against the keys the registry lists for you. Production units accept only signed answers (docs/identity.md).\n\n' +
          'Exit codes: 0 accepted, 1 refused (the reason is printed), 3 the tool could not do its job, 4 queued: Temporal holds\n' +
          'the answer but no worker has validated it yet; a worker validates it when it runs (`driftplane show` tells).\n' +
          'Until then the server holds it outside the workflow history (a server restart can drop it). Running the same\n' +
          'command again is safe: it joins the queued answer instead of sending a second one.',
      )
      .action(
        runAction(async (findingId: string, opts: { as: string; reason: string; wait: string; key?: string; json?: boolean }) => {
          const waitMs = parseDuration(opts.wait);
          if (waitMs === undefined) throw new InputError(`--wait ${opts.wait}: expected a duration such as 10s or 2m`, { field: '--wait' });
          const sshKey = resolveSshKey(opts.key);
          try {
            const accepted = await withClient(async (c) => {
              if (!sshKey) {
                const { needed, environment } = await needsSignedAnswer(c, findingId);
                if (needed) {
                  throw new InputError(
                    `no SSH key to sign the answer with (tried --key, DRIFTPLANE_SSH_KEY, ~/.ssh/id_ed25519), and this lifecycle ` +
                      `(${environment ?? 'environment unknown'}) accepts only signed answers: pass --key <your ed25519 key> registered under your name in the registry`,
                    { field: '--key' },
                  );
                }
              }
              const a = await answerFinding(c, findingId, answer, { approver: opts.as, reason: opts.reason, ...(sshKey ? { sshKey } : {}) }, waitMs);
              // An approval short of the quorum: the finding's Slack message shows "1 of 2 approvals".
              await noteApprovalProgress(c, a, 'cli').catch(() => undefined);
              return a;
            });
            const progress = approvalProgressText(accepted, 'cli');
            if (opts.json) writeJson(accepted, 0);
            else writeOut(`${escaped`${accepted.answer} ${accepted.findingId} as ${accepted.approver}`}${progress ? escaped` (${progress})` : ''}\n`);
            return ExitCode.ok;
          } catch (err) {
            if (!(err instanceof AnswerQueued)) throw err;
            if (opts.json) writeJson({ status: 'queued', findingId: err.findingId, answer, updateId: err.updateId, message: err.message }, 0);
            else writeOut(`${err.message}\n`);
            return ExitCode.queued;
          }
        }),
      );
  }
}
