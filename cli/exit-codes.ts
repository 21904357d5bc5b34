/** Exit codes of every driftplane command (PRODUCT.md). */
export const ExitCode = {
  ok: 0,
  invalidInput: 1,
  needsPerson: 2,
  failed: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
