/**
 * Server-side limits driftplane relies on, as Temporal dynamic config. A signal cannot be refused
 * by a workflow, and a flood of large signals can outrun continue-as-new (a run can only continue
 * as new in a workflow task that no new signal interrupts). So the server refuses signals past a
 * per-run budget, and every driftplane workflow continues as new well before it
 * (SIGNALS_PER_RUN in the lifecycle): a flood is refused at the door, never written into history.
 * The dev servers driftplane starts (dev, demo, tests) pass these; docker-compose's server reads
 * deploy/temporal/dynamicconfig/driftplane.yaml, which sets the same.
 */
export const SERVER_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.maximumSignalsPerExecution': 100,
};

/** `--dynamic-config-value` flags of `temporal server start-dev` for SERVER_DYNAMIC_CONFIG. */
export function devServerConfigArgs(): string[] {
  return Object.entries(SERVER_DYNAMIC_CONFIG).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]);
}
