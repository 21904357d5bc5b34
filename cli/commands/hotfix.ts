import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Command } from 'commander';
import path from 'node:path';
import { InputError, ToolError } from '../../domain/errors';
import {
  checkHotfixOpening,
  HotfixResolutionSchema,
  hotfixWindowId,
  hotfixWindowsQuery,
  HotfixWindowInputSchema,
  type CloseWindowInput,
  type ExtendWindowInput,
  type HotfixWindowInput,
  type ResolveFindingInput,
} from '../../domain/hotfix';
import { parseDuration } from '../../domain/registry/durations';
import { escaped, visible } from '../../domain/terminal-text';
import { loadRegistryOrThrow, type Registry } from '../../registry';
import { closeWindow, extendWindow, resolveFinding, windowState, type HotfixWindowState } from '../../workflows/messages';
import { HotfixIncidentKey, UnitKey, WindowStateKey } from '../../workflows/search-attributes';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { connectClient } from '../temporal';

/**
 * Who a person is, as the CLI proves it. Today: the name given with `--as`, checked against the
 * registry by the caller (and again by the window's validators). SIGNED-STATEMENT HOOK: when CLI
 * answers are signed (issue 9, part 3; cli/answer-finding.ts), sign a statement over
 * (windowId, action, by, reason, issuedAt, channel 'cli') here and return it as `statement`; the
 * window's validators verify it (workflows/hotfix-window.ts, "Signed statements").
 */
export async function hotfixIdentity(claimed: string, _what: { windowId: string; action: 'start' | 'extend' | 'close' | 'resolve'; reason: string }): Promise<{ by: string; statement?: unknown }> {
  return { by: claimed };
}

/** How long an extend/close/resolve waits for a worker to validate it. */
const UPDATE_WAIT_MS = 30_000;

/** Checks a window's input and its people against the registry (InputError, exit 1, naming the flag). */
export function checkedHotfixInput(registry: Registry, input: Omit<HotfixWindowInput, 'statement'>): HotfixWindowInput {
  const parsed = HotfixWindowInputSchema.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new InputError(`invalid hotfix window: ${first?.path.join('.') || 'input'}: ${first?.message ?? 'invalid'}`, { field: `--${String(first?.path[0] ?? 'input')}` });
  }
  const problems = checkHotfixOpening(registry, parsed.data);
  if (problems.length > 0) throw new InputError(`cannot open a hotfix window: ${problems.join('; ')}`, { field: '--actor/--as/--unit' });
  return parsed.data;
}

/** Opens a window: checks the input and the people against the registry, then starts `hotfixWindow`. */
export async function startHotfixWindow(
  client: Client,
  registry: Registry,
  taskQueue: string,
  input: Omit<HotfixWindowInput, 'statement'>,
): Promise<{ windowId: string; runId: string; deadline: string }> {
  const checked = checkedHotfixInput(registry, input);
  const windowId = hotfixWindowId(checked.unit, checked.incident);
  const id = await hotfixIdentity(checked.openedBy, { windowId, action: 'start', reason: checked.reason });
  const args: HotfixWindowInput = { ...checked, openedBy: id.by, ...(id.statement !== undefined ? { statement: id.statement } : {}) };
  try {
    const handle = await client.workflow.start('hotfixWindow', {
      workflowId: windowId,
      taskQueue,
      args: [args],
      typedSearchAttributes: [
        { key: UnitKey, value: args.unit },
        { key: HotfixIncidentKey, value: args.incident },
        { key: WindowStateKey, value: 'open' },
      ],
    });
    return { windowId, runId: handle.firstExecutionRunId, deadline: new Date(Date.now() + (parseDuration(args.window) ?? 0)).toISOString() };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new InputError(`a hotfix window for ${args.incident} on ${args.unit} is already running (${windowId})`, { field: '--incident' });
    throw err;
  }
}

/** Reads a window: by query while it runs, from its result once closed. */
export async function readHotfixWindow(client: Client, windowId: string): Promise<{ state: HotfixWindowState; status: string }> {
  const handle = client.workflow.getHandle(windowId);
  try {
    const d = await handle.describe();
    if (d.status.name === 'COMPLETED') return { state: (await handle.result()) as HotfixWindowState, status: d.status.name };
    if (d.status.name !== 'RUNNING') throw new InputError(`hotfix window ${windowId} is ${d.status.name.toLowerCase()}`, { field: '--incident' });
    return { state: await handle.query(windowState), status: d.status.name };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new InputError(`no hotfix window ${windowId}`, { field: '--unit/--incident' });
    throw err;
  }
}

type WindowUpdate =
  | { kind: 'extend'; input: ExtendWindowInput }
  | { kind: 'close'; input: CloseWindowInput }
  | { kind: 'resolve'; input: ResolveFindingInput };

/** Sends extend / close / resolve; the window's validator refuses what the person may not do (exit 1). */
export async function updateHotfixWindow(client: Client, windowId: string, u: WindowUpdate, waitMs = UPDATE_WAIT_MS): Promise<HotfixWindowState> {
  const handle = client.workflow.getHandle(windowId);
  const id = await hotfixIdentity(u.input.by, { windowId, action: u.kind, reason: u.input.reason });
  const signed = { ...u.input, by: id.by, ...(id.statement !== undefined ? { statement: id.statement } : {}) };
  const waited = new AbortController();
  const timer = setTimeout(() => waited.abort(), waitMs);
  try {
    return await client.withAbortSignal(waited.signal, () => {
      if (u.kind === 'extend') return handle.executeUpdate(extendWindow, { args: [signed as ExtendWindowInput] });
      if (u.kind === 'close') return handle.executeUpdate(closeWindow, { args: [signed as CloseWindowInput] });
      return handle.executeUpdate(resolveFinding, { args: [signed as ResolveFindingInput] });
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const why = err.cause instanceof Error ? err.cause.message : err.message;
      throw new InputError(`${u.kind} refused for ${windowId}: ${why}`, { field: '--as/--reason' });
    }
    if (err instanceof WorkflowNotFoundError) throw new InputError(`no running hotfix window ${windowId}`, { field: '--unit/--incident' });
    if (waited.signal.aborted) throw new ToolError(`no worker validated the ${u.kind} of ${windowId} within ${waitMs / 1000}s`, 'start a worker (`driftplane dev` or `npm run worker`) and run the command again');
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** One row of `driftplane hotfix list`. */
export interface HotfixRow {
  windowId: string;
  unit?: string;
  incident?: string;
  state?: string;
  status: string;
  startTime: string;
  closeTime?: string;
}

function rowOf(w: WorkflowExecutionInfo): HotfixRow {
  const sa = w.typedSearchAttributes;
  const unit = sa.get(UnitKey);
  const incident = sa.get(HotfixIncidentKey);
  const state = sa.get(WindowStateKey);
  return {
    windowId: w.workflowId,
    ...(unit !== undefined ? { unit } : {}),
    ...(incident !== undefined ? { incident } : {}),
    ...(state !== undefined ? { state } : {}),
    status: w.status.name,
    startTime: w.startTime.toISOString(),
    ...(w.closeTime ? { closeTime: w.closeTime.toISOString() } : {}),
  };
}

/** Lists windows from Temporal visibility, newest first. */
export async function listHotfixWindows(client: Client, query: string, limit = 100): Promise<HotfixRow[]> {
  const rows: HotfixRow[] = [];
  for await (const w of client.workflow.list({ query })) {
    rows.push(rowOf(w));
    if (rows.length >= limit) break;
  }
  return rows;
}

/** A window for a person: every value from outside made visible on its own line. */
export function renderHotfixWindow(s: HotfixWindowState, status: string): string {
  const lines = [
    escaped`window      ${s.windowId}  (${status}, ${s.status})`,
    escaped`incident    ${s.incident} on ${s.unit}${s.owner ? ` (owner ${s.owner})` : ''}`,
    escaped`opened      ${s.openedAt} by ${s.openedBy}: ${s.reason}`,
    escaped`break-glass ${s.actors.join(', ')}${s.actorPersons.length ? ` (${s.actorPersons.join(', ')})` : ''}`,
    escaped`closes      ${s.deadline} (window ${s.window}; extensions ${s.extensions.length} of ${s.maxExtensions})`,
  ];
  for (const e of s.extensions) lines.push(escaped`  extended  ${e.at} by ${e.duration}, approved by ${e.by}: ${e.reason}`);
  for (const r of s.reminders) lines.push(escaped`  reminder  ${r.percent}% at ${r.at}`);
  lines.push(escaped`findings    ${s.findings.length} attached, ${s.findings.filter((f) => !f.resolution).length} without a reconciliation path`);
  for (const f of s.findings) {
    const r = f.resolution;
    lines.push(escaped`  ${f.findingId}  ${f.driftClass} ${f.resourceRef} by ${f.actor}: ${r ? `${r.resolution}${r.reference ? ` ${r.reference}` : ''} (${r.by}: ${r.reason})` : 'no reconciliation path yet'}`);
  }
  if (s.escalation) lines.push(escaped`escalated   ${s.escalation.at}: ${s.escalation.unresolved.join(', ')}`);
  if (s.closed) lines.push(escaped`closed      ${s.closed.at} (${s.closed.outcome}) by ${s.closed.by}: ${s.closed.reason}`);
  return `${lines.join('\n')}\n`;
}

async function withClient<T>(fn: (client: Client, taskQueue: string, registryDir: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const { client, connection } = await connectClient(config.temporalAddress, config.namespace);
  try {
    return await fn(client, config.taskQueue, config.registryDir);
  } finally {
    await connection.close();
  }
}

const EXIT_HELP =
  '\nExit codes: 0 done, 1 invalid input or refused (the reason is printed), 2 the window escalated (a person must act),\n3 the tool could not do its job (Temporal unreachable, no worker).';

const windowIdOf = (opts: { unit: string; incident: string }) => hotfixWindowId(opts.unit, opts.incident);
const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `hotfix start|status|extend|resolve|close|list`: hotfix-reconciliation windows (domain text §13). */
export function registerHotfixCommands(program: Command): void {
  const hotfix = program
    .command('hotfix')
    .description(
      'Hotfix-reconciliation windows (§13): while a window is open, drift on its unit by its declared break-glass actor is ' +
        'EMERGENCY_DRIFT tied to the incident and is not reverted; at expiry each such finding needs a back-port PR, a state ' +
        'action or an explicit acceptance, or the window escalates to the owner and the incident channel.',
    );

  hotfix
    .command('start')
    .description('Open a window for an incident on a unit, declaring its break-glass actor(s).')
    .requiredOption('--incident <id>', 'the incident or emergency change record, e.g. INC-9127')
    .requiredOption('--unit <unit>', 'the registered unit')
    .requiredOption('--window <duration>', 'how long the window stays open, e.g. 72h')
    .requiredOption('--actor <identity>', 'the break-glass actor: a listed approver of the unit or a break-glass role ARN of its owning team (repeatable)', collect)
    .requiredOption('--reason <text>', 'why (goes into the evidence)')
    .option('--as <identity>', 'who opens it: an approver of the unit or a member of its owning team (default: the first --actor)')
    .option('--registry <dir>', 'the registry folder (default: $DRIFTPLANE_REGISTRY, else registry/examples/acme)')
    .option('--json', 'print { "windowId", "runId", "deadline" }')
    .addHelpText(
      'after',
      '\nExamples:\n  driftplane hotfix start --incident INC-9127 --unit payments-prod-network --window 72h \\\n' +
        '    --actor elena.rossi@acme.example --as noah.fischer@acme.example --reason "restore checkout traffic during the LB incident"\n' +
        '  driftplane hotfix start --incident INC-9127 --unit checkout-web-prod --window 24h --actor maria.lopez@acme.example --reason "hotfix" --json' +
        EXIT_HELP,
    )
    .action(
      runAction(async (opts: { incident: string; unit: string; window: string; actor: string[]; reason: string; as?: string; registry?: string; json?: boolean }) => {
        const config = loadConfig();
        const registry = await loadRegistryOrThrow(opts.registry ? path.resolve(opts.registry) : config.registryDir);
        const input = { unit: opts.unit, incident: opts.incident, window: opts.window, actors: opts.actor, openedBy: opts.as ?? opts.actor[0] ?? '', reason: opts.reason };
        // Invalid input is exit 1 whether or not Temporal answers.
        checkedHotfixInput(registry, input);
        const started = await withClient((c, taskQueue) => startHotfixWindow(c, registry, taskQueue, input));
        if (opts.json) writeJson(started);
        else writeOut(`${escaped`opened ${started.windowId}; it closes at ${started.deadline} unless extended`}\n`);
        return ExitCode.ok;
      }),
    );

  hotfix
    .command('status')
    .description('Show a window: its actors, deadline, reminders, attached findings and their reconciliation paths.')
    .requiredOption('--unit <unit>', 'the unit')
    .requiredOption('--incident <id>', 'the incident')
    .option('--json', 'print the window state as JSON')
    .addHelpText('after', '\nExamples:\n  driftplane hotfix status --unit checkout-web-prod --incident INC-9127\n  driftplane hotfix status --unit checkout-web-prod --incident INC-9127 --json' + EXIT_HELP)
    .action(
      runAction(async (opts: { unit: string; incident: string; json?: boolean }) => {
        const { state: s, status } = await withClient((c) => readHotfixWindow(c, windowIdOf(opts)));
        if (opts.json) writeJson({ executionStatus: status, ...s });
        else writeOut(renderHotfixWindow(s, status));
        return s.status === 'escalated' ? ExitCode.needsPerson : ExitCode.ok;
      }),
    );

  hotfix
    .command('extend')
    .description('Extend an open window: a listed approver of the unit who is not its break-glass actor; at most as often as policy allows (default once).')
    .requiredOption('--unit <unit>', 'the unit')
    .requiredOption('--incident <id>', 'the incident')
    .requiredOption('--as <identity>', 'the approver')
    .requiredOption('--reason <text>', 'why')
    .option('--by <duration>', 'how much longer (default: the original window, which is also the most)')
    .option('--json', 'print the window state as JSON')
    .addHelpText('after', '\nExample:\n  driftplane hotfix extend --unit checkout-web-prod --incident INC-9127 --by 24h --as priya.nair@acme.example --reason "vendor fix lands Friday"' + EXIT_HELP)
    .action(
      runAction(async (opts: { unit: string; incident: string; as: string; reason: string; by?: string; json?: boolean }) => {
        const s = await withClient((c) => updateHotfixWindow(c, windowIdOf(opts), { kind: 'extend', input: { by: opts.as, reason: opts.reason, ...(opts.by ? { duration: opts.by } : {}) } }));
        if (opts.json) writeJson(s);
        else writeOut(`${escaped`extended ${s.windowId}; it now closes at ${s.deadline}`}\n`);
        return ExitCode.ok;
      }),
    );

  hotfix
    .command('resolve')
    .description('Record the reconciliation path of an attached finding: a back-port PR, a state action, or an explicit acceptance (an approver, not the break-glass actor).')
    .requiredOption('--unit <unit>', 'the unit')
    .requiredOption('--incident <id>', 'the incident')
    .requiredOption('--finding <findingId>', 'the attached finding')
    .requiredOption('--resolution <kind>', 'pr, state-action or accepted')
    .option('--reference <ref>', 'the PR URL or the state action (required for pr and state-action)')
    .requiredOption('--as <identity>', 'who records it')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print the window state as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  driftplane hotfix resolve --unit checkout-web-prod --incident INC-9127 --finding checkout-web-prod:760c28255832dc80 \\\n' +
        '    --resolution pr --reference https://github.com/acme/apps/pull/412 --as maria.lopez@acme.example --reason "back-port of the hotfix"' +
        EXIT_HELP,
    )
    .action(
      runAction(async (opts: { unit: string; incident: string; finding: string; resolution: string; reference?: string; as: string; reason: string; json?: boolean }) => {
        const resolution = HotfixResolutionSchema.safeParse(opts.resolution);
        if (!resolution.success) throw new InputError(`--resolution ${opts.resolution}: expected pr, state-action or accepted`, { field: '--resolution' });
        const s = await withClient((c) =>
          updateHotfixWindow(c, windowIdOf(opts), {
            kind: 'resolve',
            input: { findingId: opts.finding, resolution: resolution.data, ...(opts.reference ? { reference: opts.reference } : {}), by: opts.as, reason: opts.reason },
          }),
        );
        if (opts.json) writeJson(s);
        else writeOut(`${escaped`${opts.finding}: ${resolution.data} recorded on ${s.windowId}`}\n`);
        return ExitCode.ok;
      }),
    );

  hotfix
    .command('close')
    .description('Close a window, recording who closed it and why. Refused while an attached finding has no reconciliation path.')
    .requiredOption('--unit <unit>', 'the unit')
    .requiredOption('--incident <id>', 'the incident')
    .requiredOption('--as <identity>', 'who closes it: an approver of the unit or a member of its owning team')
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print the window state as JSON')
    .addHelpText('after', '\nExample:\n  driftplane hotfix close --unit checkout-web-prod --incident INC-9127 --as priya.nair@acme.example --reason "incident resolved; PR 412 merged"' + EXIT_HELP)
    .action(
      runAction(async (opts: { unit: string; incident: string; as: string; reason: string; json?: boolean }) => {
        const s = await withClient((c) => updateHotfixWindow(c, windowIdOf(opts), { kind: 'close', input: { by: opts.as, reason: opts.reason } }));
        if (opts.json) writeJson(s);
        else writeOut(`${escaped`closing ${s.windowId} as ${opts.as}`}\n`);
        return ExitCode.ok;
      }),
    );

  hotfix
    .command('list')
    .description('List hotfix windows from Temporal visibility (search attributes Unit, HotfixIncident, WindowState), newest first.')
    .option('--open', 'only windows still running (open or escalated)')
    .option('--unit <unit>', 'only this unit')
    .option('--incident <id>', 'only this incident')
    .option('--state <state>', 'only open, escalated or closed windows')
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--json', 'print { "windows": [ ... ] }')
    .addHelpText('after', '\nExamples:\n  driftplane hotfix list --open\n  driftplane hotfix list --unit checkout-web-prod --json' + EXIT_HELP)
    .action(
      runAction(async (opts: { open?: boolean; unit?: string; incident?: string; state?: string; limit: string; json?: boolean }) => {
        const limit = Number(opts.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new InputError('--limit must be a whole number above 0', { field: '--limit' });
        const rows = await withClient((c) => listHotfixWindows(c, hotfixWindowsQuery({ ...opts, running: opts.open === true }), limit));
        if (opts.json) writeJson({ windows: rows });
        else if (rows.length === 0) writeOut('no hotfix windows\n');
        else for (const r of rows) writeOut(`${visible(`${r.windowId}  ${r.state ?? '-'}  ${r.status}  ${r.startTime}`)}\n`);
        return ExitCode.ok;
      }),
    );
}
