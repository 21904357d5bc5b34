import type { Command } from 'commander';

/** `db migrate` and `db rebuild` (TODO: lead). */
export function registerDbCommands(program: Command): void {
  void program;
}
