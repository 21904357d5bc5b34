/**
 * The production worker entrypoint: `node dist/workers/main.js` in the image (`npm run worker` runs
 * the sources). Set DRIFTPLANE_WORKFLOW_BUNDLE to the prebuilt bundle (`npm run build:bundle`);
 * without it the worker bundles the workflow sources at start (development only).
 *
 * `--check` loads the configuration and every module the worker runs, checks its files, folders,
 * ledger and Temporal (workers/check.ts), prints what it found and exits: 0 ready, 1 invalid
 * configuration, 3 not ready. `--json` prints the report as JSON.
 */
import { checkExitCode, renderCheckReport, runStartCheck } from './check';
import { loadConfig } from './config';
import type * as CreateWorker from './create-worker';
import { reportWorkerError, WorkerExitCode } from './report-error';
import type * as Telemetry from './telemetry';

// Loaded inside main, not at the top: a module the image lacks is then reported (exit 3, or a failed
// `--check` line) instead of crashing the process with a stack trace before it could say anything.
/* eslint-disable @typescript-eslint/no-require-imports */
const workerModules = () => ({
  ...(require('./create-worker') as typeof CreateWorker),
  ...(require('./telemetry') as typeof Telemetry),
});
/* eslint-enable @typescript-eslint/no-require-imports */

const USAGE = 'usage: node dist/workers/main.js [--check [--json]]\n';

async function main(args: string[]): Promise<WorkerExitCode> {
  const unknown = args.filter((a) => a !== '--check' && a !== '--json' && a !== '--help');
  if (args.includes('--help') || unknown.length > 0) {
    process.stderr.write(
      unknown.length > 0 ? `error: unknown argument ${JSON.stringify(unknown[0])}\n${USAGE}` : USAGE,
    );
    return unknown.length > 0 ? WorkerExitCode.invalidInput : WorkerExitCode.ok;
  }
  const config = loadConfig();
  if (args.includes('--check')) {
    const report = await runStartCheck('worker', config, {
      loadModules: () => {
        workerModules();
        return `the worker's modules load (${Object.keys(require.cache).length} files)`;
      },
    });
    if (args.includes('--json')) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stderr.write(renderCheckReport(report));
    return checkExitCode(report);
  }
  const { createDriftplaneWorker, installRuntime } = workerModules();
  // Before any connection: Temporal's logs as JSON on stderr, its metrics on DRIFTPLANE_WORKER_METRICS_ADDRESS.
  const { logger, metricsUrl } = installRuntime(config);
  const driftplane = await createDriftplaneWorker(config);
  const queues = driftplane.workers.map((w) =>
    w.role === 'control' ? `control queue ${w.taskQueue}` : `boundary ${w.boundary} on ${w.taskQueue}`,
  );
  logger.info(
    {
      taskQueues: driftplane.workers.map((w) => w.taskQueue),
      temporalAddress: config.temporalAddress,
      namespace: config.namespace,
      ...(metricsUrl ? { metricsUrl } : {}),
    },
    `driftplane worker: ${queues.join(', ')} on ${config.temporal.describe} (${config.workflowBundle ? 'prebuilt bundle' : 'workflow sources'}), evidence in ${config.evidenceDir}`,
  );
  // Every worker stops cleanly on SIGINT/SIGTERM (the shutdown grace time lets running activities finish).
  await driftplane.run();
  await driftplane.close();
  return WorkerExitCode.ok;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportWorkerError(err);
  },
);
