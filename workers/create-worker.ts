import { Client, Connection } from '@temporalio/client';
import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { EvidenceStore } from '../evidence/evidence-store';
import { createLifecycleActivities } from '../activities/lifecycle';
import { createRegistryPolicySource } from '../activities/lifecycle/registry-policy';
import { LocalPlanes } from '../activities/local-planes/local-planes';
import { ConsoleNotifier, type Notifier } from '../activities/notify/console-notifier';
import { createAwsActivities } from '../activities/aws';
import { createScanActivities } from '../activities/scan';
import { DetectionStatusStore } from '../activities/scan/detection-status';
import { awsInventoryDetector, localPlanesDetector, routeDetectors } from '../activities/scan/detectors';
import type { Config } from './config';

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
  const notifier = opts.notifier ?? new ConsoleNotifier();
  const planes = new LocalPlanes(config.planesDir);
  const aws = createAwsActivities({
    region: config.aws.region,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
    ...(config.aws.baseCredentials ? { baseCredentials: config.aws.baseCredentials } : {}),
  });
  // Manifest units (a folder in the planes dir) go to local planes; registered AWS stacks to the inventory scan.
  const detector = routeDetectors([
    localPlanesDetector(planes),
    awsInventoryDetector({
      aws,
      registryDir: config.registryDir,
      ...(config.aws.webIdentityTokenFile ? { webIdentityTokenFile: config.aws.webIdentityTokenFile } : {}),
      ...(config.aws.cloudTrail ? { cloudTrail: config.aws.cloudTrail } : {}),
    }),
  ]);
  const status = new DetectionStatusStore(config.detectionStatusDir);
  const activities = {
    ...createLifecycleActivities({
      evidence: new EvidenceStore(config.evidenceDir),
      planes,
      detector,
      status,
      policy: createRegistryPolicySource({ registryDir: config.registryDir, ...(config.decisionTableFile ? { decisionTableFile: config.decisionTableFile } : {}) }),
      notifier,
      approvalTimeout: config.approvalTimeout,
      maxEscalations: config.maxEscalations,
      verifyInterval: config.verifyInterval,
      verifyAttempts: config.verifyAttempts,
    }),
    ...createScanActivities({ planes, detector, status, registryDir: config.registryDir, client, taskQueue: config.taskQueue }),
    ...aws,
  };
  const worker = await Worker.create({
    connection: nativeConnection,
    namespace: config.namespace,
    taskQueue: config.taskQueue,
    ...(opts.source ?? workflowSourceFor(config)),
    activities,
    ...(opts.identity ? { identity: opts.identity } : {}),
  });
  return {
    worker,
    client,
    notifier,
    close: async () => {
      await clientConnection.close();
      if (!opts.connection) await nativeConnection.close();
    },
  };
}
