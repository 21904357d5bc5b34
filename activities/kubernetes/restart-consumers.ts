import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1DaemonSet,
  type V1Deployment,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { kubeHttpStatus, toKubernetesFailure } from './errors';
import { currentToken } from './kube-config';
import { consumesSecret } from './secret-consumers';

/** The pod-template annotation `kubectl rollout restart` sets. */
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** Input of `restartConsumers`. */
export interface RestartConsumersInput {
  kubeConfig: KubeConfig;
  namespace: string;
  secretName: string;
  /** The restart instant; fixed per finding/run so a retried call is a no-op. */
  at: Date;
  findingId: string;
}

/** Why a consumer was not patched. */
export type RestartSkipReason = 'already-restarted' | 'paused' | 'gone';

/** What `restartConsumers` did. Ids are `Kind/namespace/name`. */
export interface RestartConsumersResult {
  restarted: string[];
  skipped: string[];
  skippedReasons: Record<string, RestartSkipReason>;
}

type Workload = V1Deployment | V1StatefulSet | V1DaemonSet;
type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet';

const PAGE = 500;

/** `at` as kubectl writes it: RFC 3339 to the second (UTC). */
export function restartedAtValue(at: Date): string {
  if (Number.isNaN(at.getTime()))
    throw ApplicationFailure.nonRetryable('restart instant is not a valid date', 'InvalidActivityInput');
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The patch `kubectl rollout restart` sends (a strategic-merge patch touching only the
 * pod-template annotation), so the controller rolls the pods and nothing else changes.
 */
export function restartPatch(at: Date): object {
  return {
    spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAtValue(at) } } } },
  };
}

/** True when the template already says it was restarted at or after `at` (to the second). */
function alreadyRestarted(w: Workload, at: Date): boolean {
  const current = w.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  if (!current) return false;
  const t = Date.parse(current);
  // A later restart (another run, a human) has already rolled the pods past the secret change.
  return !Number.isNaN(t) && Math.floor(t / 1000) >= Math.floor(at.getTime() / 1000);
}

async function listAll<T extends Workload>(
  page: (cont: string | undefined) => Promise<{ items: T[]; metadata?: { _continue?: string } }>,
): Promise<T[]> {
  const items: T[] = [];
  let cont: string | undefined;
  do {
    const res = await page(cont);
    items.push(...res.items);
    cont = res.metadata?._continue || undefined;
  } while (cont);
  return items;
}

/**
 * Restarts every Deployment, StatefulSet and DaemonSet in `namespace` whose pod template consumes
 * `secretName` (env `secretKeyRef`, `envFrom.secretRef`, a secret or projected volume; containers
 * and init containers), the way `kubectl rollout restart` does: a strategic-merge PATCH of the
 * template's `kubectl.kubernetes.io/restartedAt` annotation to `at`. Idempotent: a workload whose
 * annotation is already `at` (or later) is skipped, so a retried or replayed call patches nothing.
 * Paused Deployments are skipped (kubectl refuses them too); a workload deleted meanwhile is
 * skipped as `gone`. Errors become named ApplicationFailures (`KubernetesForbidden`, ...).
 */
export async function restartConsumers(input: RestartConsumersInput): Promise<RestartConsumersResult> {
  const { kubeConfig, namespace, secretName, at } = input;
  const token = currentToken(kubeConfig);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const patch = restartPatch(at);
  const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

  const kinds: {
    kind: WorkloadKind;
    list: (cont: string | undefined) => Promise<{ items: Workload[]; metadata?: { _continue?: string } }>;
    patch: (name: string) => Promise<unknown>;
  }[] = [
    {
      kind: 'Deployment',
      list: (c) => apps.listNamespacedDeployment({ namespace, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      patch: (name) => apps.patchNamespacedDeployment({ name, namespace, body: patch }, smp),
    },
    {
      kind: 'StatefulSet',
      list: (c) => apps.listNamespacedStatefulSet({ namespace, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      patch: (name) => apps.patchNamespacedStatefulSet({ name, namespace, body: patch }, smp),
    },
    {
      kind: 'DaemonSet',
      list: (c) => apps.listNamespacedDaemonSet({ namespace, limit: PAGE, ...(c ? { _continue: c } : {}) }),
      patch: (name) => apps.patchNamespacedDaemonSet({ name, namespace, body: patch }, smp),
    },
  ];

  const result: RestartConsumersResult = { restarted: [], skipped: [], skippedReasons: {} };
  const skip = (id: string, reason: RestartSkipReason) => {
    result.skipped.push(id);
    result.skippedReasons[id] = reason;
  };
  for (const k of kinds) {
    let workloads: Workload[];
    try {
      workloads = await listAll(k.list);
    } catch (err) {
      throw toKubernetesFailure(err, `list ${k.kind}s in namespace ${namespace}`, [token]);
    }
    // Sorted so the patch order (and the result) does not depend on the server's list order.
    const consumers = workloads
      .filter((w) => consumesSecret(w.spec?.template?.spec, secretName))
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    for (const w of consumers) {
      const name = w.metadata?.name ?? '';
      const id = `${k.kind}/${namespace}/${name}`;
      if (alreadyRestarted(w, at)) {
        skip(id, 'already-restarted');
        continue;
      }
      if (k.kind === 'Deployment' && (w as V1Deployment).spec?.paused) {
        skip(id, 'paused');
        continue;
      }
      try {
        await k.patch(name);
        result.restarted.push(id);
      } catch (err) {
        // Deleted between the list and the patch: nothing left to restart.
        if (kubeHttpStatus(err) === 404) {
          skip(id, 'gone');
          continue;
        }
        throw toKubernetesFailure(err, `restart ${id} (finding ${input.findingId})`, [token]);
      }
    }
  }
  return result;
}
