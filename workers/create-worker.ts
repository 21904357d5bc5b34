import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { EvidenceStore } from '../evidence/evidence-store';
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
import { createStatementSigner } from './signing-keys';
import { sharedLedger, type Ledger } from '../ledger';
import { createRedactor, redactionPatternsOf, type Redactor } from '../domain/redaction';
import { breakGlassRolesFor, loadRegistry } from '../registry';
import { cachedRegistry, detectionParts } from './detection-parts';
import type { Config } from './config';
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

/** A running worker and what it holds. */
export interface DriftplaneWorker {
  worker: Worker;
  client: Client;
  notifier: Notifier;
  /** The findings ledger this worker writes (closed by `close()`). */
  ledger: Ledger;
  /** Closes the connections (after the worker has stopped). */
  close(): Promise<void>;
}

/** Builds a worker with every driftplane workflow and activity, its clients built from the config. */
export async function createDriftplaneWorker(
  config: Config,
  opts: { source?: WorkflowSource; notifier?: Notifier; connection?: NativeConnection; identity?: string } = {},
): Promise<DriftplaneWorker> {
  const nativeConnection = opts.connection ?? (await NativeConnection.connect({ address: config.temporalAddress }));
  const clientConnection = await Connection.connect({ address: config.temporalAddress });
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
  const evidence = new EvidenceStore(config.evidenceDir, { onAppend: (record) => ledger.recordEvidence(record) });
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
  };
  // OpenTelemetry when an OTLP endpoint is configured (workers/telemetry.ts); undefined (off) otherwise.
  const tracing = tracingFor(config);
  let source = opts.source ?? workflowSourceFor(config);
  // A prebuilt bundle holds no tracing interceptors unless built with them: bundle the sources with them at start.
  if (tracing && !opts.source && source.workflowBundle) source = { workflowsPath };
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...source,
    activities,
    interceptors: {
      activity: [heartbeatInterceptor, ...(tracing?.interceptors.activity ?? [])],
      // Bundled from the sources here; a prebuilt bundle must have been built with them (TRACING_WORKFLOW_MODULES).
      ...(tracing && source.workflowsPath ? { workflowModules: tracing.interceptors.workflowModules } : {}),
    },
    ...(tracing ? { sinks: tracing.sinks } : {}),
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  return {
    worker,
    client,
    notifier,
    ledger,
    close: async () => {
      await tracing?.shutdown();
      await clientConnection.close();
      await ledger.close();
      if (!opts.connection) await nativeConnection.close();
    },
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
