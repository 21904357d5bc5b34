import type { Command } from 'commander';
import { writeJson } from '../output';

/**
 * The shared `driftplane schema <name>` group. Command groups that publish a JSON Schema add
 * a subcommand to it (e.g. `schema registry`, `schema classify-input`).
 */
export function schemaCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'schema');
  if (existing) return existing;
  return program
    .command('schema')
    .description('Print a JSON Schema (for editors, the YAML language server and other tools).');
}

/** Prints a JSON Schema document on stdout. */
export function printSchema(schema: unknown): void {
  writeJson(schema);
}
