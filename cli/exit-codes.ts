/** Exit codes of every driftplane command (PRODUCT.md). */
export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  needsPerson: 2,
  failed: 3,
  /** An answer Temporal holds that no worker has validated yet (`approve`/`reject`): not done, not failed. */
  queued: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** One line for `--help`. */
export const EXIT_CODES_HELP =
  'Exit codes: 0 success, 1 invalid input, 2 drift or a decision that needs a person, 3 the tool could not do its job, ' +
  '4 an answer is queued for a worker that is not running.';
