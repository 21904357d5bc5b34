import { Client } from '@temporalio/client';
import path from 'node:path';
import { Runtime, Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { checkpointSignerOf, openEvidenceStore, startCheckpointing } from '../evidence/open';
import { withUnitRetention } from './evidence-retention';
import { createLifecycleActivities } from '../activities/lifecycle';
import { autoHealTimes } from '../activities/lifecycle/heal-history';
import { createRegistryPolicySource } from '../activities/lifecycle/registry-policy';
import { LocalPlanes } from '../activities/local-planes/local-planes';
import { ConsoleNotifier, type Notifier } from '../activities/notify/console-notifier';
import { createAwsActivities } from '../activities/aws';
import { createBudgetActivities } from '../activities/budgets';
import { createHotfixActivities } from '../activities/hotfix';
import { createHotfixLookup } from '../activities/hotfix/window-lookup';
import { slackWorkerParts } from '../activities/slack/worker-parts';
import { createScanActivities } from '../activities/scan';
import { createBoundaryActivities } from '../activities/boundaries';
import { createStatementSigner } from './signing-keys';
import { sharedLedger, type Ledger } from '../ledger';
import { createRedactor, redactionPatternsOf, type Redactor } from '../domain/redaction';
import { InputError } from '../domain/errors';
import { breakGlassRolesFor, loadRegistry } from '../registry';
import { cachedRegistry, detectionParts } from './detection-parts';
import type { Config } from './config';
import { connectTemporalClient, connectTemporalWorker } from './connection';
import { BOUNDARY_ACTIVITIES, boundaryTaskQueue } from './task-queues';
import { heartbeatInterceptor } from './heartbeat-interceptor';
import { tracingFor } from './telemetry';
import { reconcileWorkerParts, tofuExecutors, unitProcessCredentials } from './reconcile-parts';

/** Where the worker gets its workflow code: a prebuilt bundle (production, tests) or the sources (development). */
export type WorkflowSource = Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'>;

/** The workflow sources, for development (a Webpack build at every start). */
export const workflowsPath = path.resolve(__dirname, '..', 'workflows', `index${path.extname(__filename)}`);

/** Picks the prebuilt bundle when configured, the sources otherwise. */
export function workflowSourceFor(config: Config): WorkflowSource {
  return config.workflowBundle ? { workflowBundle: { codePath: config.workflowBundle } } : { workflowsPath };
}

/** One of a process's workers: the control worker, or the worker of one credential boundary. */
export interface PolledQueue {
  role: 'control' | 'boundary';
  /** The boundary a boundary worker serves. */
  boundary?: string;
  taskQueue: string;
  worker: Worker;
}

/** A process's workers and what they hold. */
export interface DriftplaneWorker {
  /** The control worker; when this process runs none (DRIFTPLANE_CONTROL=false), its first boundary worker. */
  worker: Worker;
  /** Every worker of this process: the control worker (when configured) and one per declared boundary. */
  workers: PolledQueue[];
  /** Runs every worker until they shut down (SIGINT/SIGTERM, or {@link shutdown}); one failing shuts the others down and its error is thrown. */
  run(): Promise<void>;
  /** Starts a graceful shutdown of every running worker (running activities get the shutdown grace time). */
  shutdown(): void;
  client: Client;
  notifier: Notifier;
  /** The findings ledger this worker writes (closed by `close()`). */
  ledger: Ledger;
  /** Closes the connections (after the worker has stopped). */
  close(): Promise<void>;
}

/**
 * Builds this process's workers, their clients built from the config (docs/temporal.md): the
 * control worker on the control queue with every workflow and every activity (the activities of
 * units without a boundary run there, as they always did) when DRIFTPLANE_CONTROL is on, and one
 * worker per boundary of DRIFTPLANE_BOUNDARIES on `<control queue>.<boundary>` with only the
 * activities that touch a unit's systems ({@link BOUNDARY_ACTIVITIES} and the AWS activities).
 */
export async function createDriftplaneWorker(
  config: Config,
  opts: { source?: WorkflowSource; notifier?: Notifier; connection?: NativeConnection; identity?: string } = {},
): Promise<DriftplaneWorker> {
  if (!config.control && config.boundaries.length === 0) {
    throw new InputError('nothing to run: DRIFTPLANE_CONTROL=false and no DRIFTPLANE_BOUNDARIES; run the control worker, serve a boundary, or both', { file: 'environment', field: 'DRIFTPLANE_BOUNDARIES' });
  }
  const nativeConnection = opts.connection ?? (await connectTemporalWorker(config.temporal));
  const clientConnection = await connectTemporalClient(config.temporal);
  const client = new Client({ connection: clientConnection, namespace: config.namespace });
  const slack = slackWorkerParts(config, client);
  const notifier = opts.notifier ?? slack?.notifier ?? new ConsoleNotifier();
  const redactor = await installationRedactor(config);
  const registry = cachedRegistry(config.registryDir);
  // The demo's audit lines name break-glass roles as the registry declares them for the unit.
  const planes = new LocalPlanes(config.planesDir, redactor, {
    auditActors: async (unit) => {
      const r = await registry();
      return { breakGlassRoleArns: r ? breakGlassRolesFor(r, unit) : [] };
    },
  });
  const aws = createAwsActivities({
    region: config.aws.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    ...(config.aws.baseCredentials ? { baseCredentials: config.aws.baseCredentials } : {}),
  });
  // The findings ledger (PostgreSQL, or PGlite in-process): migrated at start, shared with `serve` in this process.
  const ledger = await sharedLedger(config.ledger.url);
  const status = ledger.detection;
  // Every evidence record is projected into the ledger as it is written (idempotent by finding, run and step).
  // The store is the folder or S3 with Object Lock (DRIFTPLANE_EVIDENCE_URL); every record also enters its transparency log.
  // Object Lock retention per record from the unit's `evidence.retention` (docs/evidence.md).
  const evidence = openEvidenceStore(await withUnitRetention(config.evidence, registry), { onAppend: (record) => ledger.recordEvidence(record) });
  // Signed checkpoints of the log, on a timer (DRIFTPLANE_EVIDENCE_CHECKPOINT_INTERVAL; 0s turns them off):
  // `driftplane evidence verify` checks inclusion and consistency against them (docs/evidence.md).
  const checkpoints =
    config.control && config.evidence.checkpointEveryMs > 0
      ? startCheckpointing(evidence, checkpointSignerOf(config.evidence)!, {
          everyMs: config.evidence.checkpointEveryMs,
          onError: (err) => Runtime.instance().logger.warn(`evidence checkpoint failed (retried at the next tick): ${(err as Error).message}`),
        })
      : undefined;
  const awsConfig = {
    region: config.aws.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    ...(config.aws.baseCredentials ? { baseCredentials: config.aws.baseCredentials } : {}),
  };
  // Every adapter, picked per unit by type in one place; context joined; every detection redacted (docs/detection.md).
  const { detector } = detectionParts(config, { aws, planes, redactor, status, registry, evidence, processCredentials: unitProcessCredentials(config, awsConfig) });
  // Classification asks Temporal about open hotfix windows; emergency drift is attached to its window.
  const hotfix = createHotfixLookup({ client, registryDir: config.registryDir });
  const policy = createRegistryPolicySource({
    registryDir: config.registryDir,
    ...(config.decisionTableFile ? { decisionTableFile: config.decisionTableFile } : {}),
    healHistory: (findingId) => autoHealTimes(evidence, findingId),
    hotfix,
  });
  // Every action's executor: PRs (local Git, GitHub), incidents, Kubernetes, OpenTofu (docs/reconciliation.md).
  const reconcile = reconcileWorkerParts(config, { policy, detector, planes, tofu: tofuExecutors(config, awsConfig) });
  const boundaries = createBoundaryActivities({ registry, registryDir: config.registryDir });
  const activities = {
    ...createLifecycleActivities({
      evidence,
      planes,
      detector,
      status,
      redactor,
      policy,
      hotfix,
      executors: reconcile.executors,
      prProviders: reconcile.prProviders,
      incidents: reconcile.incidents,
      prTimeout: config.reconcile.prTimeout,
      prPollInterval: config.reconcile.prPollInterval,
      notifier,
      approvalTimeout: config.approvalTimeout,
      maxEscalations: config.maxEscalations,
      verifyInterval: config.verifyInterval,
      verifyAttempts: config.verifyAttempts,
      maxReasonBytes: config.maxReasonBytes,
      boundaryOf: async (unit) => (await boundaries.unitBoundary({ unit })).boundary,
    }),
    ...createScanActivities({
      planes,
      detector,
      status,
      registryDir: config.registryDir,
      defaultReopenWindow: config.reconcile.reopenWindow,
      client,
      taskQueue: config.taskQueue,
      trust: createStatementSigner(config.signing).trust,
    }),
    ...aws,
    ...createHotfixActivities({ evidence, notifier, registryDir: config.registryDir }),
    ...slack?.activities,
    // Drift budgets evaluated from the ledger every 5 minutes; a state change is routed once (docs/budgets.md).
    ...createBudgetActivities({ db: ledger.db, notifier, registryDir: config.registryDir, budgetWindow: config.ledger.budgetWindow }),
    // The workflows' local activity that says which boundary queue a unit's activities go to.
    ...boundaries,
  };
  // A boundary worker holds only what reaches a unit's systems, with that unit's credentials.
  const boundaryNames = new Set<string>([...BOUNDARY_ACTIVITIES, ...Object.keys(aws)]);
  const boundaryActivities = Object.fromEntries(Object.entries(activities).filter(([name]) => boundaryNames.has(name)));
  // OpenTelemetry when an OTLP endpoint is configured (workers/telemetry.ts); undefined (off) otherwise.
  const tracing = tracingFor(config);
  let source = opts.source ?? workflowSourceFor(config);
  // A prebuilt bundle holds no tracing interceptors unless built with them: bundle the sources with them at start.
  if (tracing && !opts.source && source.workflowBundle) source = { workflowsPath };
  const common = {
    connection: nativeConnection,
    namespace: config.namespace,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...tuningOptions(config),
  };
  const activityInterceptors = [heartbeatInterceptor, ...(tracing?.interceptors.activity ?? [])];
  const workers: PolledQueue[] = [];
  if (config.control) {
    const worker = await Worker.create({
      ...common,
      taskQueue: config.taskQueue,
      ...source,
      activities,
      interceptors: {
        activity: activityInterceptors,
        // Bundled from the sources here; a prebuilt bundle must have been built with them (TRACING_WORKFLOW_MODULES).
        ...(tracing && source.workflowsPath ? { workflowModules: tracing.interceptors.workflowModules } : {}),
      },
      ...(tracing ? { sinks: tracing.sinks } : {}),
    });
    workers.push({ role: 'control', taskQueue: config.taskQueue, worker });
  }
  for (const boundary of config.boundaries) {
    const taskQueue = boundaryTaskQueue(config.taskQueue, boundary);
    // No workflows: a boundary queue carries activity tasks only.
    const worker = await Worker.create({ ...common, taskQueue, activities: boundaryActivities, interceptors: { activity: activityInterceptors } });
    workers.push({ role: 'boundary', boundary, taskQueue, worker });
  }
  const running = () => workers.filter((w) => w.worker.getState() === 'RUNNING');
  const shutdown = () => {
    for (const w of running()) w.worker.shutdown();
  };
  return {
    worker: (workers[0] as PolledQueue).worker,
    workers,
    async run() {
      const results = await Promise.allSettled(
        workers.map((w) =>
          w.worker.run().catch((err: unknown) => {
            // One worker down means part of the process's queues go unpolled: stop the rest too, loudly.
            shutdown();
            throw err;
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
    client,
    notifier,
    ledger,
    close: async () => {
      await checkpoints?.stop();
      await tracing?.shutdown();
      await clientConnection.close();
      await ledger.close();
      if (!opts.connection) await nativeConnection.close();
    },
  };
}

/**
 * The worker options of DRIFTPLANE_MAX_CONCURRENT_*, DRIFTPLANE_SHUTDOWN_* and Worker Versioning
 * (DRIFTPLANE_BUILD_ID, DRIFTPLANE_WORKER_VERSIONING), shared by every worker of the process.
 */
export function tuningOptions(config: Pick<Config, 'worker'>): Partial<WorkerOptions> {
  const t = config.worker;
  const d = t.deployment;
  return {
    ...(t.maxConcurrentActivityTaskExecutions ? { maxConcurrentActivityTaskExecutions: t.maxConcurrentActivityTaskExecutions } : {}),
    ...(t.maxConcurrentWorkflowTaskExecutions ? { maxConcurrentWorkflowTaskExecutions: t.maxConcurrentWorkflowTaskExecutions } : {}),
    ...(t.maxConcurrentLocalActivityExecutions ? { maxConcurrentLocalActivityExecutions: t.maxConcurrentLocalActivityExecutions } : {}),
    shutdownGraceTime: t.shutdownGraceTime,
    ...(t.shutdownForceTime ? { shutdownForceTime: t.shutdownForceTime } : {}),
    ...(d
      ? {
          workerDeploymentOptions:
            d.versioning === 'off'
              ? // The build id is recorded (the UI and `temporal worker deployment` show it); tasks are not routed by it.
                { version: { deploymentName: d.name, buildId: d.buildId }, useWorkerVersioning: false }
              : { version: { deploymentName: d.name, buildId: d.buildId }, useWorkerVersioning: true, defaultVersioningBehavior: d.versioning === 'pinned' ? 'PINNED' : 'AUTO_UPGRADE' },
        }
      : {}),
  };
}

/**
 * The installation's redactor: its key (config.redactionKey) and the registry's RedactionPolicy
 * patterns on top of the built-in rules. A registry that cannot be read stops the worker: its
 * extra patterns would otherwise be silently missing from every detection.
 */
export async function installationRedactor(config: Config): Promise<Redactor> {
  const loaded = await loadRegistry(config.registryDir);
  if (!loaded.ok) {
    const first = loaded.errors[0];
    throw new Error(
      `registry at ${config.registryDir} is invalid (${loaded.errors.length} problem(s)); its redaction patterns cannot be read; first: ${first?.file}:${first?.line ?? '?'} ${first?.message}`,
    );
  }
  return createRedactor({ key: config.redactionKey(), ...redactionPatternsOf(loaded.registry) });
}
