import { ApplicationFailure } from '@temporalio/common';

/** A Kubernetes API `Status` body, as the API server returns it on failure (fields this module reads). */
interface StatusLike {
  kind?: string;
  message?: string;
  reason?: string;
  code?: number;
}

/** Fields of a client-node `ApiException` (HTTP failure) or a node-fetch `FetchError` (network failure). */
interface KubeErrorLike {
  code?: number | string;
  body?: unknown;
  message?: string;
  name?: string;
  type?: string;
}

/** Failure types the Kubernetes executors raise (the `type` of the ApplicationFailure). */
export const KubernetesFailureTypes = {
  /** 403: the unit's credentials may not do this. Non-retryable: RBAC does not change by retrying. */
  forbidden: 'KubernetesForbidden',
  /** 401: the credentials were not accepted at all. Non-retryable. */
  unauthorized: 'KubernetesUnauthorized',
  /** 404 on the target (object, namespace or resource type). Non-retryable. */
  notFound: 'KubernetesObjectNotFound',
  /** 400/422 and other client errors: the request itself is wrong. Non-retryable. */
  rejected: 'KubernetesRequestRejected',
  /** 409: someone else changed the object meanwhile. Retryable. */
  conflict: 'KubernetesConflict',
  /** 5xx, 429, network trouble. Retryable. */
  unavailable: 'KubernetesUnavailable',
} as const;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** The HTTP status of a client-node ApiException, or undefined for anything else. */
export function kubeHttpStatus(err: unknown): number | undefined {
  const code = (err as KubeErrorLike | null)?.code;
  return typeof code === 'number' && code >= 100 && code < 600 ? code : undefined;
}

function statusOf(body: unknown): StatusLike | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() ? { message: body.trim().slice(0, 500) } : undefined;
    }
  }
  return value && typeof value === 'object' ? (value as StatusLike) : undefined;
}

/**
 * Removes bearer tokens from a message: the given secrets verbatim, then anything shaped like an
 * `Authorization: Bearer ...` value or a JWT, in case a proxy or webhook echoed a header back.
 */
export function redactSecrets(message: string, secrets: readonly (string | undefined)[] = []): string {
  let out = message;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out
    .replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]')
    .replace(/eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/g, '[redacted]');
}

/** A short message for a Kubernetes client error: HTTP status, Status reason and message; never headers. */
export function describeKubeError(err: unknown): string {
  const e = (err ?? {}) as KubeErrorLike;
  const status = kubeHttpStatus(err);
  if (status !== undefined) {
    const s = statusOf(e.body);
    const reason = s?.reason ? ` ${s.reason}` : '';
    return `HTTP ${status}${reason}${s?.message ? `: ${s.message}` : ''}`;
  }
  // ApiException's own message embeds the response headers and body; for anything else
  // (a network error, a client-side validation error) the message is all there is.
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return `${code}${e.message ?? String(err)}`;
}

/** True for failures a retry may cure: 409 conflicts, 429, 5xx, network trouble. */
export function isTransientKubeError(err: unknown): boolean {
  const status = kubeHttpStatus(err);
  if (status !== undefined) return status === 409 || status === 429 || status >= 500;
  const e = (err ?? {}) as KubeErrorLike;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  // node-fetch marks socket-level failures `type: 'system'`; aborts are timeouts.
  return e.name === 'FetchError' || e.name === 'AbortError' || e.type === 'system';
}

/**
 * Turns a Kubernetes client error into a Temporal ApplicationFailure named for what happened
 * (`KubernetesForbidden`, `KubernetesObjectNotFound`, ...): non-retryable unless a retry may
 * cure it (409, 429, 5xx, network). `context` names the call and its target; `secrets` are
 * removed from the message (pass the bearer token), so no credential reaches workflow history.
 */
export function toKubernetesFailure(
  err: unknown,
  context: string,
  secrets: readonly (string | undefined)[] = [],
): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const status = kubeHttpStatus(err);
  const message = redactSecrets(`${context}: ${describeKubeError(err)}`, secrets);
  const details = status !== undefined ? [{ httpStatus: status, target: context }] : [{ target: context }];
  const T = KubernetesFailureTypes;
  switch (true) {
    case status === 403:
      return ApplicationFailure.nonRetryable(message, T.forbidden, ...details);
    case status === 401:
      return ApplicationFailure.nonRetryable(message, T.unauthorized, ...details);
    case status === 404:
      return ApplicationFailure.nonRetryable(message, T.notFound, ...details);
    case status === 409:
      return ApplicationFailure.retryable(message, T.conflict, ...details);
    case isTransientKubeError(err):
      return ApplicationFailure.retryable(message, T.unavailable, ...details);
    default:
      return ApplicationFailure.nonRetryable(message, T.rejected, ...details);
  }
}
