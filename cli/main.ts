import { Command } from 'commander';
import { commandGroups } from './commands';

/** Builds the `driftplane` command. Each command group registers itself from cli/commands/. */
export function buildProgram(): Command {
  const program = new Command('driftplane')
    .description(
      'Drift detection and reconciliation control plane for GitOps/IaC platforms.\n' +
        'Exit codes: 0 success, 1 invalid input, 2 drift or a decision that needs a person, 3 the tool could not do its job.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  for (const register of commandGroups) register(program);
  program.exitOverride((err) => {
    // commander's own usage errors are invalid input (1); --help and --version are success.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) process.exit(0);
    process.exit(1);
  });
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 3;
    });
}
