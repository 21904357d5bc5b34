/**
 * The production worker entrypoint: `npm run worker` (or `node` on the built image).
 * Set DRIFTPLANE_WORKFLOW_BUNDLE to the prebuilt bundle (`npm run build:bundle`); without it the
 * worker bundles the workflow sources at start (development only).
 */
import { reportError } from '../cli/run-action';
import { loadConfig } from './config';
import { createDriftplaneWorker } from './create-worker';
import { installRuntime } from './telemetry';

async function main(): Promise<void> {
  const config = loadConfig();
  // Before any connection: Temporal's logs as JSON on stderr, its metrics on DRIFTPLANE_WORKER_METRICS_ADDRESS.
  const { logger, metricsUrl } = installRuntime(config);
  const { worker, close } = await createDriftplaneWorker(config);
  logger.info(
    { taskQueue: config.taskQueue, temporalAddress: config.temporalAddress, namespace: config.namespace, ...(metricsUrl ? { metricsUrl } : {}) },
    `driftplane worker: task queue ${config.taskQueue} on ${config.temporalAddress} (${config.workflowBundle ? 'prebuilt bundle' : 'workflow sources'}), evidence in ${config.evidenceDir}`,
  );
  // Worker.run() stops cleanly on SIGINT/SIGTERM.
  await worker.run();
  await close();
}

main().catch((err: unknown) => {
  process.exitCode = reportError(err);
});
