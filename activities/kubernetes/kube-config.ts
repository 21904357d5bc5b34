import { KubeConfig } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { redactSecrets } from './errors';

/**
 * How to reach one unit's cluster: a kubeconfig file (and context), or an API server URL with a
 * bearer token. `token` and `caData` are credentials; they never appear in errors or logs.
 */
export const KubeCredentialsSchema = z
  .object({
    /** The cluster's name in the registry; names the kubeconfig entries built from server+token. */
    cluster: z.string().min(1),
    server: z.string().url().optional(),
    token: z.string().min(1).optional(),
    /** Base64 PEM of the API server's CA. */
    caData: z.string().min(1).optional(),
    kubeconfigPath: z.string().min(1).optional(),
    /** A context in the kubeconfig file. Unset: a context named like the cluster, else the current one. */
    context: z.string().min(1).optional(),
    /** Accept any server certificate, or plain http. For loopback test servers only. */
    skipTLSVerify: z.boolean().optional(),
  })
  .refine((c) => c.kubeconfigPath !== undefined || (c.server !== undefined && c.token !== undefined), {
    message: 'either kubeconfigPath, or server and token, are required',
  });
export type KubeCredentials = z.infer<typeof KubeCredentialsSchema>;

function invalid(message: string, secrets: (string | undefined)[]): ApplicationFailure {
  return ApplicationFailure.nonRetryable(redactSecrets(message, secrets), 'InvalidKubernetesCredentials');
}

/**
 * Builds the KubeConfig a unit's Kubernetes calls use: from a kubeconfig file (its `context`, or
 * the context named after the cluster, or the file's current context) or from an API server URL
 * with a bearer token. Throws a non-retryable `InvalidKubernetesCredentials` failure whose message
 * never holds the token.
 */
export function kubeConfigFor(input: KubeCredentials): KubeConfig {
  const secrets = [input?.token, input?.caData];
  const parsed = KubeCredentialsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `/${issue.path.map(String).join('/')} ` : '';
    throw invalid(`invalid Kubernetes credentials: ${where}${issue?.message ?? 'invalid'}`, secrets);
  }
  const c = parsed.data;
  const kc = new KubeConfig();
  if (c.kubeconfigPath !== undefined) {
    try {
      kc.loadFromFile(c.kubeconfigPath);
    } catch (err) {
      // The loader's messages may quote the file, which holds tokens: say only which file failed.
      const code = (err as { code?: unknown }).code;
      throw invalid(
        `cluster ${c.cluster}: cannot load kubeconfig ${c.kubeconfigPath}${typeof code === 'string' ? ` (${code})` : ''}`,
        secrets,
      );
    }
    const context =
      c.context ?? (kc.getContextObject(c.cluster) ? c.cluster : kc.getCurrentContext() || undefined);
    if (!context || !kc.getContextObject(context))
      throw invalid(
        `cluster ${c.cluster}: kubeconfig ${c.kubeconfigPath} has no context ${context ?? '(none)'}`,
        secrets,
      );
    kc.setCurrentContext(context);
    if (c.skipTLSVerify) {
      const current = kc.getCurrentCluster();
      if (current) {
        kc.clusters = kc.clusters.map((cl) =>
          cl.name === current.name ? { ...cl, skipTLSVerify: true } : cl,
        );
      }
    }
  } else {
    const user = `${c.cluster}-driftplane`;
    kc.loadFromOptions({
      clusters: [
        {
          name: c.cluster,
          server: c.server,
          skipTLSVerify: c.skipTLSVerify ?? false,
          ...(c.caData ? { caData: c.caData } : {}),
        },
      ],
      users: [{ name: user, token: c.token }],
      contexts: [{ name: c.cluster, cluster: c.cluster, user }],
      currentContext: c.cluster,
    });
  }
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw invalid(`cluster ${c.cluster}: the selected context names no cluster server`, secrets);
  if (server.startsWith('http:') && !kc.getCurrentCluster()?.skipTLSVerify)
    throw invalid(`cluster ${c.cluster}: plain http server ${server} needs skipTLSVerify`, secrets);
  return kc;
}

/** The bearer token of a KubeConfig's current user, if any: what error messages must never contain. */
export function currentToken(kc: KubeConfig): string | undefined {
  return kc.getCurrentUser()?.token;
}
