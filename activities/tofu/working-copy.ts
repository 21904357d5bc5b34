import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { createScrubber, secretEnvValues, type Scrubber } from '../../domain/plan/scrub';
import type { Redactor } from '../../domain/redaction';
import type { GroupOutcome } from './process-group';

/** Directory names never copied into a working copy: provider caches and VCS metadata. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['.terraform', '.git']);

/** An isolated copy of a stack's source tree. */
export interface WorkingCopy {
  /** The copy's root (a copy of `sourceRoot`). */
  root: string;
  /** Where to run the tool: the stack directory inside the copy. */
  stackDir: string;
  /** Removes the copy. */
  remove(): Promise<void>;
}

/**
 * Copies `sourceRoot` (default: the stack directory itself) into a fresh directory under `workRoot`,
 * leaving out `.terraform/` and `.git/`, so that concurrent runs of one stack never share
 * `.terraform`, plan files or local state, and the checkout is never written to. `stackDir` must be
 * inside `sourceRoot`; stacks that use `../modules` need `sourceRoot` set to the repository root.
 */
export async function createWorkingCopy(opts: {
  workRoot: string;
  unit: string;
  stackDir: string;
  sourceRoot?: string;
}): Promise<WorkingCopy> {
  const stackDir = path.resolve(opts.stackDir);
  const sourceRoot = path.resolve(opts.sourceRoot ?? stackDir);
  const rel = path.relative(sourceRoot, stackDir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`workDir ${stackDir} is not inside sourceRoot ${sourceRoot}`);
  }
  await mkdir(opts.workRoot, { recursive: true });
  const safeUnit = opts.unit.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'unit';
  const root = await mkdtemp(path.join(opts.workRoot, `${safeUnit}-`));
  const copyRoot = path.join(root, 'src');
  await cp(sourceRoot, copyRoot, {
    recursive: true,
    filter: (src) => !SKIPPED_DIRS.has(path.basename(src)),
  });
  return {
    root,
    stackDir: path.join(copyRoot, rel),
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** What {@link prepareTofuRun} gives a run: the child's environment, the secrets in it, a scrubber of them, and the working copy. */
export interface PreparedTofuRun {
  env: Record<string, string>;
  envSecrets: string[];
  scrub: Scrubber;
  wc: WorkingCopy;
}

/**
 * The part every tofu run of a unit shares (plan, refresh-only apply, replace): the unit's own
 * credentials (only into the child's environment), a scrubber of every secret in that environment,
 * and a working copy of the stack. A copy that cannot be made is a permanent failure of type
 * `invalidInputType`; cancellation is honoured before the copy is made.
 */
export async function prepareTofuRun(opts: {
  unit: string;
  env: Record<string, string>;
  sourceRoot?: string;
  workDir: string;
  workRoot: string;
  baseEnv: Record<string, string>;
  credentialsFor?: (unit: string) => Promise<Record<string, string>>;
  redactor?: Redactor;
  signal: AbortSignal;
  cancelledError: () => unknown;
  invalidInputType: string;
}): Promise<PreparedTofuRun> {
  const credentials = opts.credentialsFor ? await opts.credentialsFor(opts.unit) : {};
  const runEnv = { ...opts.env, ...credentials };
  const env = { ...opts.baseEnv, TF_IN_AUTOMATION: '1', TF_INPUT: '0', ...runEnv };
  const envSecrets = secretEnvValues(runEnv);
  const scrub = createScrubber(envSecrets, opts.redactor);
  if (opts.signal.aborted) throw opts.cancelledError();
  const wc = await createWorkingCopy({
    workRoot: opts.workRoot,
    unit: opts.unit,
    stackDir: opts.workDir,
    ...(opts.sourceRoot ? { sourceRoot: opts.sourceRoot } : {}),
  }).catch((err: unknown) => {
    throw ApplicationFailure.nonRetryable(`cannot create the working copy: ${err instanceof Error ? err.message : String(err)}`, opts.invalidInputType);
  });
  return { env, envSecrets, scrub, wc };
}

/** Why a tofu command did not succeed, in words: spawn error, timeout, too much output, signal or exit code. */
export function commandFailure(o: GroupOutcome, what: string, limits: { commandTimeoutMs: number; maxStdoutBytes: number }): string {
  if (o.spawnError) return `${what}: ${o.spawnError}`;
  if (o.timedOut) return `${what} timed out after ${limits.commandTimeoutMs} ms; its process group was killed`;
  if (o.stdoutOverflow) return `${what} printed more than ${limits.maxStdoutBytes} bytes`;
  if (o.exitSignal) return `${what} was killed by ${o.exitSignal}`;
  return `${what} exited with code ${String(o.exitCode)}`;
}

/** How often a long tofu activity heartbeats: a third of its heartbeat timeout, between 50 ms and 10 s (unless set). */
export function heartbeatIntervalOf(configured: number | undefined, heartbeatTimeoutMs: number | undefined): number {
  return configured ?? (heartbeatTimeoutMs ? Math.min(10_000, Math.max(50, heartbeatTimeoutMs / 3)) : 10_000);
}
