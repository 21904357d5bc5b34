import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Command } from 'commander';
import { InputError, ToolError } from '../../domain/errors';
import { workflowIdOf } from '../../domain/finding';
import { findingIdOfBranch } from '../../domain/reconcile/branch';
import { hasInvisible, visible } from '../../domain/terminal-text';
import { pullRequestClosed, type PullRequestClosed } from '../../workflows/messages';
import { loadConfig } from '../../workers/config';
// `prs` is the local Git provider's pull-request page (what github.com is to the GitHub provider): a
// person reads, merges and closes the local PRs here, in their own repository, so the CLI uses the
// provider's functions directly. Nothing here runs in a worker; the lifecycle hears of it by signal.
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- the local PR host's page, as said above
import {
  closePr,
  listPrs,
  LocalRepoNotFound,
  MergeConflict,
  mergePr,
  NotOnBaseBranch,
  PrBusy,
  PrNotFound,
  PrNotOpen,
  PrRecordInvalid,
  showPr,
  WorkingTreeDirty,
  type LocalPrRecord,
} from '../../activities/git-local';
import { EXIT_CODES_HELP, ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { connectClient } from '../temporal';

const STATES = ['open', 'merged', 'closed'] as const;

/** The default repository of local PRs: the local planes' folder (DRIFTPLANE_PLANES_DIR, default `$DRIFTPLANE_HOME/planes`), which the demo makes a Git repository of desired state. */
export function defaultPrRepo(): string {
  return loadConfig().planesDir;
}

const repoOf = (opts: { repo?: string }) => path.resolve(opts.repo ?? defaultPrRepo());

function numberOf(text: string): number {
  const m = /^#?([1-9]\d{0,8})$/.exec(text.trim());
  if (!m)
    throw new InputError(
      `${JSON.stringify(text)} is not a PR number (expected a whole number such as 3 or #3)`,
      { field: '<number>' },
    );
  return Number(m[1]);
}

function identityOf(as: string): string {
  const v = as.trim();
  if (!v || v.length > 254 || hasInvisible(v) || /\s/.test(v))
    throw new InputError(
      `--as ${visible(JSON.stringify(as))}: expected one identity such as maria.lopez@acme.example`,
      { field: '--as' },
    );
  return v;
}

/** Maps the provider's named errors onto the CLI's: what was asked is wrong (1), or could not be done (3). */
function translate(err: unknown): unknown {
  if (err instanceof LocalRepoNotFound) return new InputError(err.message, { field: '--repo' });
  if (err instanceof PrNotFound || err instanceof PrNotOpen)
    return new InputError(err.message, { field: '<number>' });
  if (err instanceof WorkingTreeDirty)
    return new ToolError(
      err.message,
      'the merge happens in the working tree: commit, stash or discard the changes, then run the command again',
    );
  if (err instanceof NotOnBaseBranch) return new ToolError(err.message);
  if (err instanceof MergeConflict)
    return new ToolError(
      err.message,
      'the branch no longer applies cleanly: resolve it by hand in the repository, or close the PR and let the lifecycle open a new one',
    );
  if (err instanceof PrBusy || err instanceof PrRecordInvalid) return new ToolError(err.message);
  return err;
}

async function provider<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translate(err);
  }
}

function printList(rows: LocalPrRecord[]): void {
  if (rows.length === 0) {
    writeOut('no pull requests\n');
    return;
  }
  const cols = ['#', 'state', 'finding', 'title', 'created'];
  // Titles and finding ids came from outside (a cluster, the registry): each cell is made visible before it is measured.
  const cells = rows.map((r) =>
    [String(r.number), r.state, r.findingId, r.title, r.createdAt].map((c) => visible(c)),
  );
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  writeOut(`${line(cols)}\n`);
  for (const row of cells) writeOut(`${line(row)}\n`);
}

function describeRecord(r: LocalPrRecord): string[] {
  const lines = [
    `PR #${r.number}  ${visible(r.title)}`,
    `state       ${r.state}${r.closedBy ? ` by ${visible(r.closedBy)}` : ''}${r.closedAt ? ` at ${visible(r.closedAt)}` : ''}`,
    `finding     ${visible(r.findingId)}`,
    `branch      ${visible(r.branch)} into ${visible(r.base)}`,
    `commit      ${visible(r.commit)}`,
    `created     ${visible(r.createdAt)}`,
    `labels      ${visible(r.labels.join(', ') || '(none)')}`,
    `reviewers   ${visible([...r.reviewers.teams.map((t) => `team:${t}`), ...r.reviewers.users].join(', ') || '(none)')}`,
    `url         ${visible(r.url)}`,
  ];
  if (r.mergeCommit) lines.push(`merged as   ${visible(r.mergeCommit)}`);
  if (r.reason) lines.push(`reason      ${visible(r.reason)}`);
  return lines;
}

/** What happened to the signal that tells the lifecycle. */
interface SignalOutcome {
  sent: boolean;
  workflowId?: string;
  warning?: string;
}

/**
 * Tells the finding's lifecycle the PR was closed. The merge or close already stands: when the
 * lifecycle cannot be told now, it finds out at its next poll of the PR, so this only warns.
 */
async function signalLifecycle(
  record: LocalPrRecord,
  repo: string,
  via: 'prs-merge' | 'prs-close',
): Promise<SignalOutcome> {
  // The record names its finding: a PR opened again after a close is on `<branch>-r<n>`, whose name
  // alone (findingIdOfBranch) would give the wrong finding.
  const findingId = record.findingId || findingIdOfBranch(record.branch);
  if (!findingId)
    return { sent: false, warning: `PR #${record.number} names no finding: no lifecycle to tell` };
  const workflowId = workflowIdOf(findingId);
  const payload: PullRequestClosed = {
    number: record.number,
    merged: record.state === 'merged',
    repo,
    url: record.url,
    ...(record.closedBy ? { by: record.closedBy } : {}),
    at: record.closedAt ?? new Date().toISOString(),
    ...(record.mergeCommit ? { mergeCommit: record.mergeCommit } : {}),
    via,
  };
  const later = 'the lifecycle will see it at its next poll of the PR';
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    return { sent: false, workflowId, warning: `${(err as Error).message}; ${later}` };
  }
  let connected;
  try {
    connected = await connectClient(config.temporalAddress, config.namespace, '3s');
  } catch (err) {
    return { sent: false, workflowId, warning: `${(err as Error).message}; ${later}` };
  }
  try {
    await Promise.race([
      connected.client.workflow.getHandle(workflowId).signal(pullRequestClosed, payload),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('Temporal did not answer within 10s')), 10_000).unref(),
      ),
    ]);
    return { sent: true, workflowId };
  } catch (err) {
    const why =
      err instanceof WorkflowNotFoundError
        ? `no running lifecycle ${workflowId}`
        : `could not signal ${workflowId}: ${(err as Error).message}`;
    return { sent: false, workflowId, warning: `${why}; ${later}` };
  } finally {
    await connected.connection.close().catch(() => undefined);
  }
}

interface ChangeOpts {
  repo?: string;
  as: string;
  reason?: string;
  signal: boolean;
  json?: boolean;
}

async function changePr(numberText: string, opts: ChangeOpts, kind: 'merge' | 'close'): Promise<ExitCode> {
  const number = numberOf(numberText);
  const by = identityOf(opts.as);
  const repo = repoOf(opts);
  const change = { by, at: new Date().toISOString(), ...(opts.reason ? { reason: opts.reason } : {}) };
  const res = await provider(() =>
    kind === 'merge' ? mergePr(repo, number, change) : closePr(repo, number, change),
  );
  const r = res.record;
  let signal: SignalOutcome = { sent: false };
  if (res.changed && opts.signal)
    signal = await signalLifecycle(r, repo, kind === 'merge' ? 'prs-merge' : 'prs-close');
  if (opts.json) {
    writeJson({ pr: r, changed: res.changed, signal });
  } else {
    const did = kind === 'merge' ? 'merged' : 'closed';
    if (!res.changed)
      writeOut(
        `PR #${number} was already ${did}${r.closedBy ? ` by ${visible(r.closedBy)}` : ''}${r.closedAt ? ` at ${visible(r.closedAt)}` : ''}: nothing to do\n`,
      );
    else writeOut(`PR #${number} ${did}${r.mergeCommit ? ` as ${r.mergeCommit}` : ''} by ${visible(by)}\n`);
    if (signal.sent) writeOut(`told lifecycle ${visible(signal.workflowId ?? '')}\n`);
  }
  if (signal.warning) writeErr(`warning: ${visible(signal.warning)}\n`);
  else if (res.changed && !opts.signal && !opts.json)
    writeErr('warning: --no-signal: the lifecycle will see it at its next poll of the PR\n');
  return ExitCode.ok;
}

/** `prs list|show|merge|close`: the reconciliation PRs of a local Git repository. */
export function registerPrsCommands(program: Command): void {
  const prs = program
    .command('prs')
    .description(
      'Reconciliation pull requests in a local Git repository (the local-git provider): list, show, merge, close.',
    )
    .addHelpText(
      'after',
      '\nThe repository is --repo, default the local planes folder, $DRIFTPLANE_PLANES_DIR or $DRIFTPLANE_HOME/planes. A PR is a branch driftplane/<unit>/<fingerprint>\n' +
        'with one commit, and a record in <repo>/.git/driftplane/prs/<number>.json.\n\n' +
        'Examples:\n  driftplane prs list --state open\n  driftplane prs show 3\n' +
        '  driftplane prs merge 3 --as maria.lopez@acme.example\n  driftplane prs close 4 --as maria.lopez@acme.example --reason "fixed by hand"\n\n' +
        EXIT_CODES_HELP,
    );
  const repoOption = [
    '--repo <folder>',
    'the Git repository (default the local planes folder, $DRIFTPLANE_PLANES_DIR or $DRIFTPLANE_HOME/planes)',
  ] as const;

  prs
    .command('list')
    .description('List the local PRs, by number.')
    .option(...repoOption)
    .option('--state <state>', `only PRs in this state: ${STATES.join(', ')}`)
    .option('--json', 'print JSON: { "prs": [ ... ] }')
    .addHelpText(
      'after',
      '\nExamples:\n  driftplane prs list\n  driftplane prs list --state open --json --repo /srv/desired-state',
    )
    .action(
      runAction(async (opts: { repo?: string; state?: string; json?: boolean }) => {
        const state = opts.state?.toLowerCase();
        if (state !== undefined && !(STATES as readonly string[]).includes(state))
          throw new InputError(
            `--state ${JSON.stringify(opts.state)}: expected one of ${STATES.join(', ')}`,
            { field: '--state' },
          );
        const rows = await provider(() =>
          listPrs(repoOf(opts), state ? { state: state as LocalPrRecord['state'] } : {}),
        );
        if (opts.json) writeJson({ prs: rows });
        else printList(rows);
        return ExitCode.ok;
      }),
    );

  prs
    .command('show <number>')
    .description('Show one local PR: its record, body, and its change (diffstat and full diff).')
    .option(...repoOption)
    .option('--json', 'print JSON: { ...record, "body", "head", "stat", "diff" }')
    .addHelpText(
      'after',
      '\nExamples:\n  driftplane prs show 3\n  driftplane prs show 3 --json | jq -r .diff',
    )
    .action(
      runAction(async (numberText: string, opts: { repo?: string; json?: boolean }) => {
        const d = await provider(() => showPr(repoOf(opts), numberOf(numberText)));
        if (opts.json) {
          writeJson({ ...d.record, body: d.body, head: d.head, stat: d.stat, diff: d.diff });
          return ExitCode.ok;
        }
        const out = [
          ...describeRecord(d.record),
          '',
          d.body.trimEnd(),
          '',
          d.stat.trimEnd(),
          '',
          d.diff.trimEnd(),
        ];
        writeOut(`${out.join('\n')}\n`);
        return ExitCode.ok;
      }),
    );

  for (const kind of ['merge', 'close'] as const) {
    prs
      .command(`${kind} <number>`)
      .description(
        kind === 'merge'
          ? "Merge a local PR for real (git merge --no-ff into the base branch, in the repository's working tree, which must be " +
              "on the base branch with no uncommitted changes to tracked files), record it, and tell the finding's lifecycle."
          : "Close a local PR without merging it (the branch is kept), record it, and tell the finding's lifecycle.",
      )
      .option(...repoOption)
      .requiredOption(
        '--as <email>',
        `who ${kind === 'merge' ? 'merges' : 'closes'} it (recorded in the PR and sent to the lifecycle)`,
      )
      .option('--reason <text>', 'why (recorded in the PR)')
      .option(
        '--no-signal',
        "do not signal the finding's lifecycle (it sees the change at its next poll of the PR)",
      )
      .option(
        '--json',
        'print JSON: { "pr": { ... }, "changed", "signal": { "sent", "workflowId", "warning"? } }',
      )
      .addHelpText(
        'after',
        `\nExamples:\n  driftplane prs ${kind} 3 --as maria.lopez@acme.example${kind === 'close' ? ' --reason "fixed by hand"' : ''}\n` +
          `  driftplane prs ${kind} 3 --as maria.lopez@acme.example --repo /srv/desired-state --no-signal --json\n\n` +
          `${kind === 'merge' ? 'Merging a merged PR' : 'Closing a closed PR'} does nothing and says so (exit 0). When Temporal cannot be reached or the\n` +
          `lifecycle is not running, the ${kind} still stands: a warning says the lifecycle will see it at its next poll (exit 0).\n` +
          (kind === 'merge' ? 'A conflict aborts the merge and changes nothing (exit 3).\n' : '') +
          `\n${EXIT_CODES_HELP}`,
      )
      .action(runAction(async (numberText: string, opts: ChangeOpts) => changePr(numberText, opts, kind)));
  }
}
