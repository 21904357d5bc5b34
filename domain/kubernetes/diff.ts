/**
 * The ownership-aware Kubernetes diff (issue 11 §3, `driftplane k8s diff`), comparing the way
 * Argo CD's gitops-engine does. CONTRACT STUB: the signature is fixed; the implementation lands
 * with the k8s diff work.
 */

/** How desired and live are compared. */
export type K8sDiffMode = 'three-way' | 'structured-merge' | 'server-side';

export interface K8sDiffOptions {
  /** Default `three-way` (desired against live, with the last-applied-configuration annotation). */
  mode?: K8sDiffMode;
  /** The field manager whose fields are compared (`structured-merge`, `server-side`). */
  manager?: string;
  /** The server-side-apply dry-run result (`server-side`). */
  predictedLive?: unknown;
  /** Ignore the rules of aggregated ClusterRoles. */
  ignoreAggregatedRoles?: boolean;
}

/** One changed field: its JSON pointer, the manager that owns it in live (when another one does), and the values unless secret. */
export interface K8sChange {
  path: string;
  owner?: string;
  desired?: unknown;
  live?: unknown;
}

export interface K8sDiffResult {
  modified: boolean;
  changes: K8sChange[];
}

/** Compares a desired manifest with the live object. Status, managedFields, server defaults and generated fields are left out; Secret data values are never returned. */
export function diffManifests(_desired: unknown, _live: unknown, _opts: K8sDiffOptions = {}): K8sDiffResult {
  throw new Error('diffManifests: not implemented yet');
}
