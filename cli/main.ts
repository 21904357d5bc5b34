import { Command, Help } from 'commander';
import { COMMANDS, commandGroupLoaders, invokedCommand, type CommandGroupName } from './commands';
import { useConnectionFlags, type ConnectionFlags } from './connection-flags';
import { EXIT_CODES_HELP } from './exit-codes';
import { guardPipes, writeErr } from './output';
import { reportError } from './run-action';

/** driftplane's version, as `--version` prints it (package.json holds the same). */
export const VERSION = '0.1.0';

/** The program's options that take a value: the word after one is not the command. */
const PROGRAM_VALUE_OPTIONS = ['--profile', '--address', '--namespace'];

/**
 * Builds the `driftplane` command for a command line. Only the invoked command's group is loaded
 * (cli/commands/index.ts); every other command is a placeholder with its name and one-line summary,
 * enough for `--help`, for commander's "did you mean" and for its unknown-command error.
 * Also makes a closed stdout or stderr (`driftplane … | head -1`) end the process quietly.
 */
export function buildProgram(argv: readonly string[] = process.argv): Command {
  guardPipes();
  const program = new Command('driftplane')
    .description(
      `Drift detection and reconciliation control plane for GitOps/IaC platforms.\n${EXIT_CODES_HELP}`,
    )
    .version(VERSION)
    // The Temporal target of every command that talks to Temporal (docs/temporal.md); before or after the command.
    .option(
      '--profile <name>',
      'the envconfig profile to connect with (TEMPORAL_PROFILE; file: TEMPORAL_CONFIG_FILE)',
    )
    .option(
      '--address <host:port>',
      'the Temporal frontend (TEMPORAL_ADDRESS; default: the profile, else localhost:7233)',
    )
    .option(
      '--namespace <name>',
      'the Temporal namespace (TEMPORAL_NAMESPACE; default: the profile, else default)',
    )
    // `self` is the program: its options, wherever they were typed.
    .hook('preAction', (self) => useConnectionFlags(self.opts<ConnectionFlags>()))
    .showHelpAfterError()
    // commander's usage errors echo what was typed (`unknown option '…'`): shown visible, like every error.
    .configureOutput({ outputError: (str) => writeErr(str) });
  // The top-level listing shows each command's line from COMMANDS, loaded or not; subcommands keep commander's.
  const entryOf = (cmd: Command) =>
    cmd.parent === program ? COMMANDS.find((c) => c.name === cmd.name()) : undefined;
  const help = new Help();
  program.configureHelp({
    subcommandTerm: (cmd) => entryOf(cmd)?.term ?? help.subcommandTerm(cmd),
    subcommandDescription: (cmd) => entryOf(cmd)?.summary ?? help.subcommandDescription(cmd),
  });

  const invoked = COMMANDS.find((c) => c.name === invokedCommand(argv.slice(2), PROGRAM_VALUE_OPTIONS));
  const loaded = new Set<CommandGroupName>();
  for (const group of invoked?.groups ?? []) {
    if (loaded.has(group)) continue;
    loaded.add(group);
    commandGroupLoaders[group]()(program);
  }
  // Placeholders after the loaded groups: a group creates its own commands (and may add to `schema`).
  for (const entry of COMMANDS) {
    if (!program.commands.some((c) => c.name() === entry.name))
      program.command(entry.name).summary(entry.summary);
  }
  const order = (cmd: Command) => COMMANDS.findIndex((c) => c.name === cmd.name());
  // commander lists commands in the order they were added; `commands` is its own array.
  (program.commands as Command[]).sort((a, b) => order(a) - order(b));

  program.exitOverride((err) => {
    // commander's own usage errors are invalid input (1); --help and --version are success.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      process.exit(0);
    process.exit(1);
  });
  return program;
}

/** Runs `driftplane` on a command line (bin/driftplane.cjs calls it); sets the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  try {
    await buildProgram(argv).parseAsync(argv as string[]);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

if (require.main === module) void main();
