import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Context, heartbeat, sleep } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import { InputError } from '../../domain/errors';
import { normalizePlan } from '../../domain/plan/normalize-plan';
import { assertNoDuplicateKeys } from '../../domain/plan/parse-plan-json';
import type { NormalizedPlan } from '../../domain/plan/normalized-plan-schema';
import { collectSensitiveValues, redactPlan } from '../../domain/plan/redact-plan';
import type { Scrubber } from '../../domain/plan/scrub';
import { createScrubber } from '../../domain/plan/scrub';
import type { Redactor } from '../../domain/redaction';
import type { GroupOutcome } from './process-group';
import { runInProcessGroup } from './process-group';
import { commandFailure, heartbeatIntervalOf, prepareTofuRun } from './working-copy';

/** Input of {@link TofuActivities.runPlan}. It is recorded in workflow history: never put a secret in it. */
export const RunPlanInputSchema = z.object({
  /** The drift-managed unit (registry name); names the working copy, the logs and the credentials. */
  unit: z.string().min(1),
  /** The stack directory (where `tofu init` would run). */
  workDir: z.string().min(1),
  /** Tree copied into the working copy (default: workDir). Set it to the repository root when the stack uses `../modules`. */
  sourceRoot: z.string().min(1).optional(),
  /** `tofu`, `terraform` or a path: the unit's binary from the registry, looked up on the child's PATH. */
  binary: z.string().min(1).default('tofu'),
  mode: z.enum(['normal', 'refresh-only']).default('normal'),
  /** Passed as `-lock-timeout=`: how long the tool itself waits for the state lock per attempt. */
  lockTimeout: z
    .string()
    .regex(/^\d+(ms|s|m|h)$/, 'a duration like 30s or 5m')
    .default('60s'),
  /** Extra environment for this run only (non-secret: TF_VAR_*, AWS_REGION). Credentials come from `credentialsFor`. */
  env: z.record(z.string(), z.string()).default({}),
  /** `-var-file=` arguments, relative to workDir. */
  varFiles: z.array(z.string().min(1)).default([]),
});
/** What a caller passes to `runPlan` (defaults applied inside). */
export type RunPlanInput = z.input<typeof RunPlanInputSchema>;

/**
 * - `NO_CHANGES` / `DRIFT_DETECTED`: from the plan JSON, which wins over the exit code.
 * - `DETECTION_FAILED`: init/plan/show failed, timed out, printed no JSON, or the plan errored.
 * - `DETECTION_STALE`: the state lock stayed held through every retry; the last result stands but is stale.
 */
export const RunPlanStatusSchema = z.enum([
  'NO_CHANGES',
  'DRIFT_DETECTED',
  'DETECTION_FAILED',
  'DETECTION_STALE',
]);
/** See {@link RunPlanStatusSchema}. */
export type RunPlanStatus = z.infer<typeof RunPlanStatusSchema>;

/** The step of a run: where it failed, or `done`. */
export type RunPlanPhase = 'prepare' | 'init' | 'plan' | 'show' | 'normalize' | 'done';

/** Result of {@link TofuActivities.runPlan}. Carries no secret and no sensitive value. */
export interface RunPlanResult {
  unit: string;
  mode: 'normal' | 'refresh-only';
  binary: string;
  status: RunPlanStatus;
  /** The phase that decided the status. */
  phase: RunPlanPhase;
  /** Exit code of the last `plan` (0, 1, 2, other), null when it never exited normally. */
  planExitCode: number | null;
  /**
   * Whether `-detailed-exitcode` agreed with the JSON (2 ⇔ DRIFT_DETECTED). False is logged and
   * expected for refresh-only plans (hashicorp/terraform#35117, #36403, #37406).
   */
  exitCodeAgrees?: boolean;
  /** The normalized plan, when `show -json` produced one. */
  plan?: NormalizedPlan;
  /** Why detection failed or is stale (scrubbed). */
  reason?: string;
  /** The end of the failing command's stderr (scrubbed, no colours). */
  stderrExcerpt?: string;
  /** How many times `plan` ran (more than one after state-lock errors). */
  planAttempts: number;
  /** The redacted plan JSON, when the activities were built with `artifactsDir`. */
  planJsonPath?: string;
  startedAt: string;
  durationMs: number;
}

/** Backoff of whole-plan retries when the state lock is held. */
export interface LockRetryOptions {
  maxAttempts: number;
  initialDelayMs: number;
  backoffCoefficient: number;
  maxDelayMs: number;
}

/** Dependencies of {@link createTofuActivities}. */
export interface TofuActivityDeps {
  /** Working copies are created (and removed) under this directory. */
  workRoot: string;
  /**
   * The base environment of every child process. Default: a short allowlist of the worker's
   * environment (PATH, HOME, locale, proxies, CA bundle) — never the worker's own credentials.
   */
  spawnEnv?: Record<string, string>;
  /**
   * The unit's credentials (e.g. from STS AssumeRole), as environment variables of this run's
   * processes only. They are scrubbed from everything the run logs or returns.
   */
  credentialsFor?: (unit: string) => Promise<Record<string, string>>;
  lockRetry?: Partial<LockRetryOptions>;
  /** Default: a third of the activity's heartbeat timeout, between 50 ms and 10 s. */
  heartbeatIntervalMs?: number;
  /** Per command (init, plan, show). Default 30 minutes. */
  commandTimeoutMs?: number;
  /** Between SIGINT and SIGKILL of a cancelled or timed-out process group. Default 10 s. */
  killGraceMs?: number;
  /** Largest `show -json` output accepted. Default 1 GiB. */
  maxPlanJsonBytes?: number;
  /** Size of stderr excerpts. Default 4 KiB. */
  excerptBytes?: number;
  /** Keep working copies (debugging). Default false. */
  keepWorkingCopy?: boolean;
  /** Write each redacted plan JSON here and return its path. */
  artifactsDir?: string;
  /** The installation's redactor (keyed fingerprints in artifacts and scrubbed text); default `[REDACTED]`. */
  redactor?: Redactor;
}

/** Environment variables copied from the worker into {@link TofuActivityDeps.spawnEnv} by default. */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'TF_PLUGIN_CACHE_DIR',
  'TF_CLI_CONFIG_FILE',
];

/** The allowlisted part of an environment (default: the worker's). */
export function defaultSpawnEnv(from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of DEFAULT_ENV_ALLOWLIST) {
    const v = from[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

const LOCK_ERROR = /Error acquiring the state lock|Error locking state/i;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** True when tool output says the state lock is held by someone else. */
export function isStateLockError(stderr: string): boolean {
  return LOCK_ERROR.test(stderr);
}

/** The activities that run OpenTofu/Terraform. */
export interface TofuActivities {
  /**
   * Runs `init`, `plan` (normal or refresh-only) and `show -json` for one unit in an isolated
   * working copy and returns the normalized result. Heartbeats throughout; cancellation kills the
   * process group. Tool failures are results (DETECTION_FAILED / DETECTION_STALE), never NO_CHANGES;
   * only invalid input throws (non-retryable `InvalidPlanInput`).
   */
  runPlan(input: RunPlanInput): Promise<RunPlanResult>;
}

/** Builds the tofu activities around their dependencies. */
export function createTofuActivities(deps: TofuActivityDeps): TofuActivities {
  const lockRetry: LockRetryOptions = {
    maxAttempts: 3,
    initialDelayMs: 10_000,
    backoffCoefficient: 2,
    maxDelayMs: 120_000,
    ...deps.lockRetry,
  };
  const baseEnv = deps.spawnEnv ?? defaultSpawnEnv();
  const commandTimeoutMs = deps.commandTimeoutMs ?? 30 * 60_000;
  const killGraceMs = deps.killGraceMs ?? 10_000;
  const maxPlanJsonBytes = deps.maxPlanJsonBytes ?? 1024 * 1024 * 1024;
  const excerptBytes = deps.excerptBytes ?? 4096;

  async function runPlan(rawInput: RunPlanInput): Promise<RunPlanResult> {
    const parsed = RunPlanInputSchema.safeParse(rawInput);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApplicationFailure.nonRetryable(
        `invalid runPlan input: ${issue ? `/${issue.path.join('/')}: ${issue.message}` : parsed.error.message}`,
        'InvalidPlanInput',
      );
    }
    const input = parsed.data;
    const workDir = path.resolve(input.workDir);
    const isDir = await stat(workDir).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir)
      throw ApplicationFailure.nonRetryable(`workDir is not a directory: ${workDir}`, 'InvalidPlanInput');

    const ctx = Context.current();
    const signal = ctx.cancellationSignal;
    const started = Date.now();
    const state = { phase: 'prepare' as RunPlanPhase, attempt: 0 };
    const beat = (): void => heartbeat({ unit: input.unit, phase: state.phase, attempt: state.attempt });
    const hbTimeout = ctx.info.heartbeatTimeoutMs;
    const interval = heartbeatIntervalOf(deps.heartbeatIntervalMs, hbTimeout);
    beat();
    const ticker = setInterval(beat, interval);

    let scrub: Scrubber = createScrubber([], deps.redactor);
    const base = {
      unit: input.unit,
      mode: input.mode,
      binary: input.binary,
      startedAt: new Date(started).toISOString(),
    };
    const finish = (r: Omit<RunPlanResult, keyof typeof base | 'durationMs'>): RunPlanResult => {
      const result: RunPlanResult = { ...base, ...r, durationMs: Date.now() - started };
      const line = `runPlan ${input.unit}: ${result.status} (phase ${result.phase}, exit ${String(result.planExitCode)}, attempts ${result.planAttempts})`;
      if (result.status === 'NO_CHANGES' || result.status === 'DRIFT_DETECTED') ctx.log.info(line);
      else ctx.log.warn(scrub(`${line}: ${result.reason ?? ''}`));
      return result;
    };
    const excerpt = (o: GroupOutcome): string =>
      scrub(o.stderrTail.replace(ANSI, '')).slice(-excerptBytes).trim();
    const cancelledError = (): unknown => (signal.reason as unknown) ?? new CancelledFailure('CANCELLED');
    const failure = (o: GroupOutcome, what: string): string => commandFailure(o, what, { commandTimeoutMs, maxStdoutBytes: maxPlanJsonBytes });

    let removeCopy: (() => Promise<void>) | undefined;
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
        invalidInputType: 'InvalidPlanInput',
      });
      const { env, envSecrets, wc } = prepared;
      scrub = prepared.scrub;
      if (!deps.keepWorkingCopy) removeCopy = wc.remove;
      const planFile = path.join(wc.root, 'driftplane.tfplan');
      const run = (args: string[], captureStdout = false): Promise<GroupOutcome> =>
        runInProcessGroup({
          command: input.binary,
          args,
          cwd: wc.stackDir,
          env,
          signal,
          timeoutMs: commandTimeoutMs,
          killGraceMs,
          captureStdout,
          maxStdoutBytes: maxPlanJsonBytes,
          tailBytes: Math.max(excerptBytes * 4, 16_384),
        });

      state.phase = 'init';
      beat();
      const init = await run(['init', '-input=false', '-no-color']);
      if (init.cancelled) throw cancelledError();
      if (init.exitCode !== 0) {
        return finish({
          status: 'DETECTION_FAILED',
          phase: 'init',
          planExitCode: null,
          planAttempts: 0,
          reason: failure(init, 'init'),
          stderrExcerpt: excerpt(init),
        });
      }

      state.phase = 'plan';
      const planArgs = [
        'plan',
        '-input=false',
        '-no-color',
        '-detailed-exitcode',
        `-lock-timeout=${input.lockTimeout}`,
        `-out=${planFile}`,
        ...(input.mode === 'refresh-only' ? ['-refresh-only'] : []),
        ...input.varFiles.map((f) => `-var-file=${f}`),
      ];
      let plan: GroupOutcome;
      for (;;) {
        state.attempt++;
        beat();
        plan = await run(planArgs);
        if (plan.cancelled) throw cancelledError();
        if (plan.exitCode === 0 || plan.exitCode === 2) break;
        const locked = !plan.timedOut && isStateLockError(plan.stderrTail);
        if (!locked) {
          return finish({
            status: 'DETECTION_FAILED',
            phase: 'plan',
            planExitCode: plan.exitCode,
            planAttempts: state.attempt,
            reason: failure(plan, 'plan'),
            stderrExcerpt: excerpt(plan),
          });
        }
        if (state.attempt >= lockRetry.maxAttempts) {
          return finish({
            status: 'DETECTION_STALE',
            phase: 'plan',
            planExitCode: plan.exitCode,
            planAttempts: state.attempt,
            reason: `the state lock was held through ${state.attempt} attempts (lock timeout ${input.lockTimeout} each); the last detection result is stale`,
            stderrExcerpt: excerpt(plan),
          });
        }
        const delay = Math.min(
          lockRetry.maxDelayMs,
          lockRetry.initialDelayMs * lockRetry.backoffCoefficient ** (state.attempt - 1),
        );
        ctx.log.info(
          `runPlan ${input.unit}: state lock held, retrying in ${delay} ms (attempt ${state.attempt})`,
        );
        await sleep(delay); // rejects with CancelledFailure when cancelled
      }
      const planExitCode = plan.exitCode;

      state.phase = 'show';
      beat();
      const show = await run(['show', '-json', '-no-color', planFile], true);
      if (show.cancelled) throw cancelledError();
      if (show.exitCode !== 0) {
        return finish({
          status: 'DETECTION_FAILED',
          phase: 'show',
          planExitCode,
          planAttempts: state.attempt,
          reason: failure(show, 'show -json'),
          stderrExcerpt: excerpt(show),
        });
      }
      const text = show.stdout.toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return finish({
          status: 'DETECTION_FAILED',
          phase: 'show',
          planExitCode,
          planAttempts: state.attempt,
          reason: `show -json printed no valid JSON (${show.stdout.length} bytes)`,
          stderrExcerpt: excerpt(show),
        });
      }
      const sensitive = collectSensitiveValues(json, deps.redactor).filter(
        (v) => v !== 'true' && v !== 'false' && v !== 'null',
      );
      scrub = createScrubber([...envSecrets, ...sensitive], deps.redactor);

      state.phase = 'normalize';
      let normalized: NormalizedPlan;
      try {
        assertNoDuplicateKeys(text, json, 'show -json');
        normalized = normalizePlan(json, { file: 'show -json', refreshOnly: input.mode === 'refresh-only' });
      } catch (err) {
        // Whatever normalization cannot read is a detection that failed, never a clean result and
        // never a retry (the same bytes would fail the same way).
        const why =
          err instanceof InputError
            ? `show -json output is not a plan this version understands: ${err.message}`
            : `show -json output could not be normalized: ${err instanceof Error ? err.message : String(err)}`;
        return finish({
          status: 'DETECTION_FAILED',
          phase: 'normalize',
          planExitCode,
          planAttempts: state.attempt,
          reason: scrub(why),
        });
      }

      let planJsonPath: string | undefined;
      if (deps.artifactsDir) {
        await mkdir(deps.artifactsDir, { recursive: true });
        planJsonPath = path.join(deps.artifactsDir, `${path.basename(wc.root)}.plan.redacted.json`);
        await writeFile(planJsonPath, JSON.stringify(redactPlan(json, deps.redactor)));
      }
      const artifacts = planJsonPath ? { planJsonPath } : {};

      if (normalized.result === 'DETECTION_FAILED') {
        // An errored or incomplete plan is the plan's own verdict; lost changes are the show output's.
        const byPlan = normalized.errored || !normalized.changesMissing;
        return finish({
          status: 'DETECTION_FAILED',
          phase: byPlan ? 'plan' : 'normalize',
          planExitCode,
          planAttempts: state.attempt,
          plan: normalized,
          reason: normalized.failureReason ?? 'the plan JSON says DETECTION_FAILED: cannot tell',
          ...(byPlan ? { stderrExcerpt: excerpt(plan) } : {}),
          ...artifacts,
        });
      }
      // Exit code 2 means "changes present": resource drift or changes, or changed root outputs.
      // The JSON wins when it shows drift the exit code missed (-detailed-exitcode is known to be
      // wrong for refresh-only plans upstream). The other way round, exit 2 with nothing at all in
      // the JSON, is a contradiction: "could not tell", never NO_CHANGES (§24.1).
      const jsonShowsChanges = normalized.result === 'DRIFT_DETECTED' || normalized.outputChanges.length > 0;
      const exitCodeAgrees = (planExitCode === 2) === jsonShowsChanges;
      if (!exitCodeAgrees) {
        ctx.log.warn(
          `runPlan ${input.unit}: plan exit code ${String(planExitCode)} disagrees with the plan JSON (${normalized.result}, ${input.mode})`,
        );
      }
      if (planExitCode === 2 && !jsonShowsChanges) {
        return finish({
          status: 'DETECTION_FAILED',
          phase: 'show',
          planExitCode,
          exitCodeAgrees,
          planAttempts: state.attempt,
          plan: normalized,
          reason: `plan exited 2 (changes present) but its JSON shows no change at all (${input.mode}); cannot tell which is right`,
          ...artifacts,
        });
      }
      return finish({
        status: normalized.result,
        phase: 'done',
        planExitCode,
        exitCodeAgrees,
        planAttempts: state.attempt,
        plan: normalized,
        ...artifacts,
      });
    } finally {
      clearInterval(ticker);
      if (removeCopy) await removeCopy().catch(() => undefined);
    }
  }

  return { runPlan };
}
