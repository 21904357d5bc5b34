import { Command } from 'commander';
import { commandGroups } from './commands';
import { EXIT_CODES_HELP } from './exit-codes';
import { guardPipes, writeErr } from './output';
import { reportError } from './run-action';

/**
 * Builds the `driftplane` command. Each command group registers itself from cli/commands/.
 * Also makes a closed stdout or stderr (`driftplane … | head -1`) end the process quietly.
 */
export function buildProgram(): Command {
  guardPipes();
  const program = new Command('driftplane')
    .description(
      `Drift detection and reconciliation control plane for GitOps/IaC platforms.\n${EXIT_CODES_HELP}`,
    )
    .version('0.1.0')
    .showHelpAfterError()
    // commander's usage errors echo what was typed (`unknown option '…'`): shown visible, like every error.
    .configureOutput({ outputError: (str) => writeErr(str) });
  for (const register of commandGroups) register(program);
  program.exitOverride((err) => {
    // commander's own usage errors are invalid input (1); --help and --version are success.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0)
      process.exit(0);
    process.exit(1);
  });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.exitCode = reportError(err);
    });
}
