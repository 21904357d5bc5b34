/**
 * The program-level `--profile`, `--address` and `--namespace` flags (docs/temporal.md). Kept free
 * of heavy imports: cli/main.ts applies them in a preAction hook before any command loads.
 */

/** The parsed program options this module reads (commander's `program.opts()`). */
export interface ConnectionFlags {
  profile?: string;
  address?: string;
  namespace?: string;
}

/**
 * Applies the flags before any command connects, as the variables envconfig and loadConfig read
 * (TEMPORAL_PROFILE, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE): a flag beats the variable, which beats
 * the profile file, as in the `temporal` CLI. Written to the environment so that every reader in
 * this process (the CLI, `serve`, the demo's worker) and every child it starts sees the same target.
 */
export function useConnectionFlags(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): void {
  if (flags.profile) env.TEMPORAL_PROFILE = flags.profile;
  if (flags.address) env.TEMPORAL_ADDRESS = flags.address;
  if (flags.namespace) env.TEMPORAL_NAMESPACE = flags.namespace;
}
