/**
 * The executors that change a unit's state through OpenTofu/Terraform: STATE_REFRESH
 * (`apply -refresh-only`, which records the real objects in state without touching them) and
 * DESTROY_RECREATE (`apply -replace=<address>` of one resource instance). They run like
 * {@link TofuActivities.runPlan}: in an isolated working copy, with only the unit's credentials in
 * the child's environment, as the leader of a process group that cancellation and timeouts kill,
 * and with every secret scrubbed from what they log and return.
 */
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { parseTfStateV4 } from '../../domain/inventory/tfstate';
import type { Scrubber } from '../../domain/plan/scrub';
import { createScrubber } from '../../domain/plan/scrub';
import type { GroupOutcome } from './process-group';
import { runInProcessGroup } from './process-group';
import type { TofuActivityDeps } from './run-plan';
import { defaultSpawnEnv, isStateLockError, RunPlanInputSchema } from './run-plan';
import { commandFailure, heartbeatIntervalOf, prepareTofuRun } from './working-copy';

/**
 * A managed resource instance address as OpenTofu prints it: optional `module.<name>[<key>].` steps,
 * then `<type>.<name>`, then an optional `[<number>]` or `["<key>"]`. Data sources cannot be
 * replaced and are not matched. Keys are limited to characters that need no escaping, so the
 * address can never be read as another option.
 */
export const RESOURCE_ADDRESS =
  /^(?:module\.[A-Za-z_][A-Za-z0-9_-]*(?:\[(?:\d+|"[A-Za-z0-9_.:/@+=,-]{1,128}")\])?\.)*[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*(?:\[(?:\d+|"[A-Za-z0-9_.:/@+=,-]{1,128}")\])?$/;

/** Input of `runRefreshOnlyApply`: the unit and working-copy inputs of `runPlan`. Recorded in history: no secret. */
export const RefreshOnlyApplyInputSchema = RunPlanInputSchema.omit({ mode: true });
/** What a caller passes to `runRefreshOnlyApply` (defaults applied inside). */
export type RefreshOnlyApplyInput = z.input<typeof RefreshOnlyApplyInputSchema>;

/** Input of `runReplaceApply`: as {@link RefreshOnlyApplyInputSchema}, plus the one instance to destroy and recreate. */
export const ReplaceApplyInputSchema = RefreshOnlyApplyInputSchema.extend({
  address: z
    .string()
    .max(512)
    .regex(RESOURCE_ADDRESS, 'a managed resource address such as module.net.aws_instance.web["a"]'),
});
/** What a caller passes to `runReplaceApply`. */
export type ReplaceApplyInput = z.input<typeof ReplaceApplyInputSchema>;

/** What one apply did. Carries no secret and no sensitive value. */
export interface TofuApplyResult {
  unit: string;
  action: 'refresh-only' | 'replace';
  /** The replaced instance (replace only). */
  address?: string;
  binary: string;
  /** Exit code of `apply` (0: it succeeded). */
  exitCode: number;
  /** `serial` of the state before the apply; null when there was no state yet. */
  serialBefore: number | null;
  /** `serial` after the apply; null when it could not be read (the apply itself succeeded). */
  serialAfter: number | null;
  /** True when the state was written (the serial moved). A refresh-only apply that found nothing leaves it alone. */
  stateChanged: boolean;
  /** The end of the apply's stdout and stderr: no colours, secrets scrubbed, at most `outputBytes`. */
  output: string;
  startedAt: string;
  durationMs: number;
}

/** The phase an apply run failed in. */
export type ApplyPhase = 'init' | 'state-pull' | 'apply';

/**
 * A tofu command of an apply run failed. `output` is scrubbed. Surfaced as an ApplicationFailure of
 * the same type, with `{ unit, action, phase, exitCode, stateLocked, output }` as its details.
 */
export class TofuApplyFailed extends Error {
  override readonly name = 'TofuApplyFailed';
  constructor(
    readonly unit: string,
    readonly action: 'refresh-only' | 'replace',
    readonly phase: ApplyPhase,
    readonly exitCode: number | null,
    readonly reason: string,
    readonly output: string,
    readonly stateLocked: boolean,
  ) {
    super(`${action} apply of ${unit} failed in ${phase}: ${reason}`);
  }
}

/** The instance to replace is not in the unit's state: nothing would be destroyed, so nothing runs. */
export class ReplaceTargetNotFound extends Error {
  override readonly name = 'ReplaceTargetNotFound';
  constructor(
    readonly unit: string,
    readonly address: string,
  ) {
    super(`${address} is not a managed resource instance in the state of ${unit}; nothing to replace`);
  }
}

/** The stack keeps its state in a local file, which an apply in a throwaway working copy would lose. */
export class LocalStateNotSupported extends Error {
  override readonly name = 'LocalStateNotSupported';
  constructor(
    readonly unit: string,
    readonly file: string,
  ) {
    super(
      `${unit} keeps its state in ${file}: an apply runs in an isolated working copy and would discard it; configure a remote backend`,
    );
  }
}

/** Extra dependencies of the apply activities. */
export interface TofuApplyDeps extends TofuActivityDeps {
  /** Size of `output` in results and errors. Default 16 KiB. */
  outputBytes?: number;
}

/** The apply activities (executors STATE_REFRESH and DESTROY_RECREATE). */
export interface TofuApplyActivities {
  /**
   * `init -input=false -no-color`, `state pull` (serial before), `apply -refresh-only -auto-approve
   * -input=false -no-color -lock-timeout=<t> [-var-file=...]`, `state pull` (serial after).
   * Idempotent: a second run records the same real objects again. A failed command throws a
   * retryable `TofuApplyFailed`; invalid input and a local state file are non-retryable.
   */
  runRefreshOnlyApply(input: RefreshOnlyApplyInput): Promise<TofuApplyResult>;
  /**
   * As runRefreshOnlyApply, with `apply -replace=<address> -target=<address> ...`: the one instance
   * is destroyed and recreated and nothing else of the stack is applied (without `-target`, every
   * other pending change of a drifted stack would be applied too). Refused (non-retryable
   * `ReplaceTargetNotFound`) when the address is not in the state. A failed apply is non-retryable
   * (it may have destroyed the instance already, and a person must look before anything runs
   * again), except when the state lock was held, which means nothing ran.
   */
  runReplaceApply(input: ReplaceApplyInput): Promise<TofuApplyResult>;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

function invalidInput(what: string, error: z.ZodError): ApplicationFailure {
  const issue = error.issues[0];
  return ApplicationFailure.nonRetryable(
    `invalid ${what} input: ${issue ? `/${issue.path.join('/')}: ${issue.message}` : error.message}`,
    'InvalidApplyInput',
  );
}

/** The string values of state attributes marked sensitive, to scrub from output. */
function sensitiveStateValues(state: unknown): string[] {
  const out: string[] = [];
  try {
    for (const r of parseTfStateV4(state, 'state pull')) {
      for (const name of r.sensitiveAttributes) {
        const v = r.attributes[name];
        if (typeof v === 'string') out.push(v);
        else if (v !== null && v !== undefined && typeof v === 'object') out.push(JSON.stringify(v));
      }
    }
  } catch {
    // Not tfstate v4: the serial is still read; nothing is known to be sensitive.
  }
  return out;
}

/** Builds the apply activities around the same dependencies as `createTofuActivities`. */
export function createTofuApplyActivities(deps: TofuApplyDeps): TofuApplyActivities {
  const baseEnv = deps.spawnEnv ?? defaultSpawnEnv();
  const commandTimeoutMs = deps.commandTimeoutMs ?? 30 * 60_000;
  const killGraceMs = deps.killGraceMs ?? 10_000;
  const maxStateBytes = deps.maxPlanJsonBytes ?? 1024 * 1024 * 1024;
  const outputBytes = deps.outputBytes ?? 16_384;

  async function run(
    action: 'refresh-only' | 'replace',
    input: z.output<typeof RefreshOnlyApplyInputSchema>,
    address: string | undefined,
  ): Promise<TofuApplyResult> {
    const workDir = path.resolve(input.workDir);
    const isDir = await stat(workDir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir)
      throw ApplicationFailure.nonRetryable(`workDir is not a directory: ${workDir}`, 'InvalidApplyInput');
    const localState = path.join(workDir, 'terraform.tfstate');
    if (
      await access(localState).then(
        () => true,
        () => false,
      )
    ) {
      const e = new LocalStateNotSupported(input.unit, localState);
      throw ApplicationFailure.nonRetryable(e.message, e.name);
    }

    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const started = Date.now();
    const state = { phase: 'init' as ApplyPhase };
    const beat = (): void => heartbeat({ unit: input.unit, action, phase: state.phase });
    const hbTimeout = ctx.info.heartbeatTimeoutMs;
    const interval = heartbeatIntervalOf(deps.heartbeatIntervalMs, hbTimeout);
    beat();
    const ticker = setInterval(beat, interval);
    const cancelledError = (): unknown => (signal.reason as unknown) ?? new CancelledFailure('CANCELLED');

    let scrub: Scrubber = createScrubber([], deps.redactor);
    let removeCopy: (() => Promise<void>) | undefined;
    const text = (o: GroupOutcome): string =>
      scrub(`${o.stdoutTail}${o.stderrTail ? `\n${o.stderrTail}` : ''}`.replace(ANSI, ''))
        .slice(-outputBytes)
        .trim();
    const fail = (
      o: GroupOutcome,
      phase: ApplyPhase,
      what: string,
      nonRetryable: boolean,
      why?: string,
    ): ApplicationFailure => {
      const reason = why ? `${what} ${why}` : commandFailure(o, what, { commandTimeoutMs, maxStdoutBytes: maxStateBytes });
      const locked = !o.timedOut && isStateLockError(o.stderrTail);
      const e = new TofuApplyFailed(input.unit, action, phase, o.exitCode, scrub(reason), text(o), locked);
      ctx.log.warn(`${e.message}\n${e.output}`);
      return ApplicationFailure.create({
        type: e.name,
        message: e.message,
        // A held state lock means nothing was applied: that is always safe to try again.
        nonRetryable: nonRetryable && !locked,
        details: [
          {
            unit: e.unit,
            action: e.action,
            phase: e.phase,
            exitCode: e.exitCode,
            stateLocked: e.stateLocked,
            output: e.output,
          },
        ],
      });
    };

    try {
      const prepared = await prepareTofuRun({
        unit: input.unit,
        env: input.env,
        ...(input.sourceRoot ? { sourceRoot: input.sourceRoot } : {}),
        workDir,
        workRoot: deps.workRoot,
        baseEnv,
        ...(deps.credentialsFor ? { credentialsFor: deps.credentialsFor } : {}),
        ...(deps.redactor ? { redactor: deps.redactor } : {}),
        signal,
        cancelledError,
        invalidInputType: 'InvalidApplyInput',
      });
      const { env, envSecrets, wc } = prepared;
      scrub = prepared.scrub;
      if (!deps.keepWorkingCopy) removeCopy = wc.remove;
      const exec = async (args: string[], captureStdout = false): Promise<GroupOutcome> => {
        beat();
        const o = await runInProcessGroup({
          command: input.binary,
          args,
          cwd: wc.stackDir,
          env,
          signal,
          timeoutMs: commandTimeoutMs,
          killGraceMs,
          captureStdout,
          maxStdoutBytes: maxStateBytes,
          tailBytes: Math.max(outputBytes, 16_384),
        });
        if (o.cancelled) throw cancelledError();
        return o;
      };
      type Pulled = { serial: number | null; doc: unknown } | { failed: GroupOutcome; why?: string };
      /** The state's serial (null: no state) and document, or why `state pull` failed. */
      const pull = async (): Promise<Pulled> => {
        const o = await exec(['state', 'pull'], true);
        // Its stdout is the state, which may hold secrets: it is never quoted in an error.
        const failed = { ...o, stdoutTail: '' };
        if (o.exitCode !== 0) return { failed };
        const raw = o.stdout.toString('utf8').trim();
        if (raw === '') return { serial: null, doc: undefined };
        let doc: unknown;
        try {
          doc = JSON.parse(raw);
        } catch {
          return { failed, why: `printed no valid JSON (${raw.length} bytes)` };
        }
        const serial = (doc as { serial?: unknown } | null)?.serial;
        if (typeof serial !== 'number' || !Number.isInteger(serial) || serial < 0)
          return { failed, why: 'printed a state without an integer serial' };
        return { serial, doc };
      };

      state.phase = 'init';
      const init = await exec(['init', '-input=false', '-no-color']);
      if (init.exitCode !== 0) throw fail(init, 'init', 'init', false);

      state.phase = 'state-pull';
      const before = await pull();
      if ('failed' in before) throw fail(before.failed, 'state-pull', 'state pull', false, before.why);
      scrub = createScrubber([...envSecrets, ...sensitiveStateValues(before.doc)], deps.redactor);
      if (address !== undefined) {
        const present =
          before.doc !== undefined &&
          (() => {
            try {
              return parseTfStateV4(before.doc, 'state pull').some((r) => r.address === address);
            } catch {
              return false;
            }
          })();
        if (!present) {
          const e = new ReplaceTargetNotFound(input.unit, address);
          throw ApplicationFailure.nonRetryable(e.message, e.name);
        }
      }

      state.phase = 'apply';
      const args = [
        'apply',
        ...(action === 'refresh-only' ? ['-refresh-only'] : [`-replace=${address}`, `-target=${address}`]),
        '-auto-approve',
        '-input=false',
        '-no-color',
        `-lock-timeout=${input.lockTimeout}`,
        ...input.varFiles.map((f) => `-var-file=${f}`),
      ];
      const applied = await exec(args);
      // Retrying a failed replace could destroy a second time what the first attempt recreated.
      if (applied.exitCode !== 0) throw fail(applied, 'apply', 'apply', action === 'replace');

      // The apply succeeded: from here on nothing may fail the activity (a retry would apply again).
      state.phase = 'state-pull';
      let serialAfter: number | null = null;
      try {
        const after = await pull();
        if ('failed' in after)
          ctx.log.warn(scrub(`${action} apply of ${input.unit}: serial after unknown (state pull failed)`));
        else serialAfter = after.serial;
      } catch (err) {
        if (signal.aborted) throw err;
        ctx.log.warn(`${action} apply of ${input.unit}: serial after unknown`);
      }
      const result: TofuApplyResult = {
        unit: input.unit,
        action,
        ...(address !== undefined ? { address } : {}),
        binary: input.binary,
        exitCode: 0,
        serialBefore: before.serial,
        serialAfter,
        stateChanged: serialAfter !== null && serialAfter !== before.serial,
        output: text(applied),
        startedAt: new Date(started).toISOString(),
        durationMs: Date.now() - started,
      };
      ctx.log.info(
        `${action} apply of ${input.unit}${address ? ` (${address})` : ''}: serial ${String(result.serialBefore)} → ${String(result.serialAfter)}`,
      );
      return result;
    } finally {
      clearInterval(ticker);
      if (removeCopy) await removeCopy().catch(() => undefined);
    }
  }

  return {
    async runRefreshOnlyApply(raw) {
      const parsed = RefreshOnlyApplyInputSchema.safeParse(raw);
      if (!parsed.success) throw invalidInput('runRefreshOnlyApply', parsed.error);
      return run('refresh-only', parsed.data, undefined);
    },
    async runReplaceApply(raw) {
      const parsed = ReplaceApplyInputSchema.safeParse(raw);
      if (!parsed.success) throw invalidInput('runReplaceApply', parsed.error);
      const { address, ...rest } = parsed.data;
      return run('replace', rest, address);
    },
  };
}
