import { InputError } from '../domain/errors';
import type { RegistryIssue } from '../domain/registry/model';
import { formatIssue } from './format-issue';

/** The registry is invalid: carries every error with its file, line, column and field. Exit code 1. */
export class RegistryError extends InputError {
  constructor(
    readonly dir: string,
    readonly issues: RegistryIssue[],
  ) {
    const first = issues[0];
    super(
      `registry ${dir} is invalid: ${issues.length} error(s)`,
      first
        ? { file: first.file, line: first.line, column: first.column, field: first.field }
        : { file: dir },
      issues.map((i) => ({
        location: { file: i.file, line: i.line, column: i.column, field: i.field },
        message: formatIssue(i),
      })),
    );
  }
}
