import { InputError, ToolError } from '../domain/errors';
import { AnswerQueued } from './answer-queued';
import { ExitCode } from './exit-codes';
import { writeErr } from './output';

/**
 * Wraps a command action: the action returns its exit code; known errors become the exit codes of
 * PRODUCT.md with a one-line message on stderr, and anything unexpected is a failure (3), never success.
 */
export function runAction<A extends unknown[]>(
  action: (...args: A) => Promise<ExitCode | void> | ExitCode | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await action(...args);
      process.exitCode = code ?? ExitCode.ok;
    } catch (err) {
      process.exitCode = reportError(err);
    }
  };
}

/**
 * Prints an error for a person and returns the exit code it maps to. Messages often echo what
 * someone typed or a file held (an identity, a reason, a YAML value): `writeErr` makes control and
 * bidi characters in them visible, so an error message cannot clear the screen or reorder text.
 */
export function reportError(err: unknown): ExitCode {
  if (err instanceof AnswerQueued) {
    writeErr(`${err.message}\n`);
    return ExitCode.queued;
  }
  if (err instanceof InputError) {
    writeErr(`error: ${err.message}\n`);
    for (const p of err.problems) writeErr(`  ${p.message}\n`);
    return ExitCode.invalidInput;
  }
  if (err instanceof ToolError) {
    writeErr(`error: ${err.message}\n`);
    if (err.hint) writeErr(`hint: ${err.hint}\n`);
    return ExitCode.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  writeErr(`error: ${message}\n`);
  return ExitCode.failed;
}
