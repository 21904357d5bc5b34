import { ApplicationFailure } from '@temporalio/common';
import { kubeConfigFor, type KubeCredentials } from './kube-config';
import { restartConsumers, type RestartConsumersResult } from './restart-consumers';
import { revertToDesired, type RevertToDesiredResult } from './revert-to-desired';

export {
  KubernetesFailureTypes,
  describeKubeError,
  isTransientKubeError,
  kubeHttpStatus,
  redactSecrets,
  toKubernetesFailure,
} from './errors';
export { KubeCredentialsSchema, currentToken, kubeConfigFor } from './kube-config';
export type { KubeCredentials } from './kube-config';
export { consumesSecret, secretReferences } from './secret-consumers';
export type { PodSpecLike } from './secret-consumers';
export {
  RESTARTED_AT_ANNOTATION,
  restartConsumers,
  restartPatch,
  restartedAtValue,
} from './restart-consumers';
export type { RestartConsumersInput, RestartConsumersResult, RestartSkipReason } from './restart-consumers';
export { FIELD_MANAGER, applyBody, revertToDesired } from './revert-to-desired';
export {
  FLUX_APIS,
  KubeDetectionError,
  RECONCILE_READY,
  RECONCILE_REVISION,
  conditionOf,
  fluxDetector,
  kubeConfigForUnit,
  openDrift,
  readTokenRef,
} from './flux-detector';
export type { ClusterAccess, Condition, FluxApi, KubeDetectorDeps, KubeObject } from './flux-detector';
export {
  EXTERNAL_SECRET_VERSIONS,
  PARTIAL_OBJECT_METADATA_ACCEPT,
  externalSecretsDetector,
  parseGoDuration,
} from './external-secrets-detector';
export type { ExternalSecretsDetectorDeps } from './external-secrets-detector';
export type { RevertToDesiredInput, RevertToDesiredResult } from './revert-to-desired';

/** How the Kubernetes activities find a cluster's credentials; they never travel in activity input. */
export interface KubernetesActivitiesConfig {
  credentialsFor(cluster: string): KubeCredentials | Promise<KubeCredentials>;
}

/** Input of the `restartSecretConsumers` activity: JSON only (the instant as RFC 3339). */
export interface RestartSecretConsumersInput {
  cluster: string;
  namespace: string;
  secretName: string;
  at: string;
  findingId: string;
}

/** Input of the `revertKubernetesObject` activity. */
export interface RevertKubernetesObjectInput {
  cluster: string;
  desired: object;
  findingId: string;
  namespace?: string;
}

/**
 * Builds the Kubernetes executors as activities. Inputs name a cluster, never credentials:
 * `credentialsFor` resolves them on the worker, so no token reaches workflow history.
 */
export function createKubernetesActivities(config: KubernetesActivitiesConfig) {
  return {
    /** Restarts the workloads consuming a Secret, as `kubectl rollout restart` would; idempotent per `at`. */
    async restartSecretConsumers(input: RestartSecretConsumersInput): Promise<RestartConsumersResult> {
      const at = new Date(input.at);
      if (Number.isNaN(at.getTime()))
        throw ApplicationFailure.nonRetryable(`invalid restart instant ${input.at}`, 'InvalidActivityInput');
      const kubeConfig = kubeConfigFor(await config.credentialsFor(input.cluster));
      return restartConsumers({ ...input, kubeConfig, at });
    },

    /** Server-side applies the desired manifest as `driftplane` with force; idempotent. */
    async revertKubernetesObject(input: RevertKubernetesObjectInput): Promise<RevertToDesiredResult> {
      const kubeConfig = kubeConfigFor(await config.credentialsFor(input.cluster));
      return revertToDesired({
        kubeConfig,
        desired: input.desired,
        findingId: input.findingId,
        ...(input.namespace ? { namespace: input.namespace } : {}),
      });
    },
  };
}

/** The activities `createKubernetesActivities` builds, for `proxyActivities<KubernetesActivities>()`. */
export type KubernetesActivities = ReturnType<typeof createKubernetesActivities>;
