import {
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  createConfiguration,
  type KubeConfig,
  type KubernetesObject,
  type RequestContext,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { toKubernetesFailure } from './errors';
import { currentToken } from './kube-config';

/** The field manager driftplane applies as; its ownership shows who reverted a field. */
export const FIELD_MANAGER = 'driftplane';

/** metadata fields the API server owns; sending them in an apply is an error or a lie. */
const SERVER_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/** Input of `revertToDesired`. */
export interface RevertToDesiredInput {
  kubeConfig: KubeConfig;
  /** The desired manifest from Git (one object). */
  desired: object;
  findingId: string;
  /** Namespace for a namespaced object whose manifest leaves it to the tooling (kustomize, Argo CD). */
  namespace?: string;
}

/** What `revertToDesired` did. */
export interface RevertToDesiredResult {
  /** `Kind/namespace/name` (`Kind/name` for cluster-scoped objects). */
  applied: string;
  /** The object's resourceVersion after the apply. */
  resourceVersion: string;
}

type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The desired object as an apply body: a deep copy without `status` and without the metadata the
 * server populates (managedFields, resourceVersion, uid, creationTimestamp, generation, ...).
 * Throws a non-retryable `InvalidActivityInput` failure when apiVersion, kind or metadata.name is missing.
 */
export function applyBody(desired: unknown, namespace?: string): Manifest {
  if (!isRecord(desired) || !isRecord(desired.metadata))
    throw ApplicationFailure.nonRetryable('desired object has no metadata', 'InvalidActivityInput');
  const copy = structuredClone(desired) as Record<string, unknown> & { metadata: Record<string, unknown> };
  for (const field of ['apiVersion', 'kind'] as const)
    if (typeof copy[field] !== 'string' || copy[field] === '')
      throw ApplicationFailure.nonRetryable(`desired object has no ${field}`, 'InvalidActivityInput');
  if (typeof copy.metadata.name !== 'string' || copy.metadata.name === '')
    throw ApplicationFailure.nonRetryable('desired object has no metadata.name', 'InvalidActivityInput');
  delete copy.status;
  for (const f of SERVER_METADATA) delete copy.metadata[f];
  if (copy.metadata.namespace === undefined && namespace) copy.metadata.namespace = namespace;
  return copy as Manifest;
}

/**
 * A KubernetesObjectApi whose PATCH body is exactly `body`. client-node 1.4 serializes the spec
 * through its typed models (V1Deployment, ...), which silently drops any field its models do not
 * know; an apply that drops a field Git sets would leave that drift in place. The middleware sends
 * the manifest as given instead (after the library has filled in the namespace it routes to).
 */
function objectApiSending(kc: KubeConfig, body: Manifest): KubernetesObjectApi {
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw ApplicationFailure.nonRetryable(
      'kubeconfig has no current cluster',
      'InvalidKubernetesCredentials',
    );
  const configuration = createConfiguration({
    baseServer: new ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
    promiseMiddleware: [
      {
        pre: async (ctx: RequestContext) => {
          if (ctx.getHttpMethod() === 'PATCH') ctx.setBody(JSON.stringify(body));
          return ctx;
        },
        post: async (res) => res,
      },
    ],
  });
  const api = new KubernetesObjectApi(configuration);
  // What makeApiClient would set: the context's namespace for objects whose manifest has none.
  const ns = kc.getContextObject(kc.getCurrentContext())?.namespace;
  (api as unknown as { defaultNamespace: string }).defaultNamespace = ns ?? 'default';
  return api;
}

/**
 * Reverts one object to its desired (Git) state by server-side apply as field manager
 * `driftplane` with `force: true`: a PATCH `application/apply-patch+yaml` with
 * `?fieldManager=driftplane&force=true`, taking over the fields someone changed by hand.
 * `status` and server-populated metadata are not sent. Idempotent: applying the same manifest
 * again changes nothing. Errors become named ApplicationFailures (`KubernetesForbidden`,
 * `KubernetesObjectNotFound`; 409 and 5xx retryable).
 */
export async function revertToDesired(input: RevertToDesiredInput): Promise<RevertToDesiredResult> {
  const body = applyBody(input.desired, input.namespace);
  const token = currentToken(input.kubeConfig);
  const api = objectApiSending(input.kubeConfig, body);
  const describe = () =>
    [body.kind, body.metadata.namespace, body.metadata.name]
      .filter((p) => typeof p === 'string' && p)
      .join('/');
  let applied: KubernetesObject;
  try {
    applied = await api.patch(
      body as KubernetesObject,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
  } catch (err) {
    throw toKubernetesFailure(err, `server-side apply of ${describe()} (finding ${input.findingId})`, [
      token,
    ]);
  }
  return { applied: describe(), resourceVersion: applied.metadata?.resourceVersion ?? '' };
}
