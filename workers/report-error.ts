import { InputError, ToolError } from '../domain/errors';
import { visible } from '../domain/terminal-text';

/**
 * The exit codes a worker process ends with: the CLI's (cli/exit-codes.ts, PRODUCT.md), of which a
 * worker has three. Defined here because workers/ never imports cli/.
 */
export const WorkerExitCode = {
  ok: 0,
  /** The configuration is invalid (a variable, a profile, a file it names). */
  invalidInput: 1,
  /** The worker could not do its job: Temporal unreachable, a folder it cannot write, a failed start check. */
  failed: 3,
} as const;
export type WorkerExitCode = (typeof WorkerExitCode)[keyof typeof WorkerExitCode];

/**
 * Prints why a worker process stops, on stderr, and returns its exit code: an InputError (bad
 * configuration) is 1 with each problem on its own line, a ToolError is 3 with its hint, anything
 * else is 3. Messages can echo configuration values: control characters are shown, never obeyed.
 */
export function reportWorkerError(
  err: unknown,
  write: (text: string) => void = (t) => process.stderr.write(t),
): WorkerExitCode {
  const out = (line: string) => write(`${visible(line, { keepNewlines: true, keepTabs: true })}\n`);
  if (err instanceof InputError) {
    out(`error: ${err.message}`);
    for (const p of err.problems) out(`  ${p.message}`);
    return WorkerExitCode.invalidInput;
  }
  out(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof ToolError && err.hint) out(`hint: ${err.hint}`);
  return WorkerExitCode.failed;
}
