/**
 * Normalization of Kubernetes objects before they are compared (issue 11 §3), the way Argo CD's
 * gitops-engine prepares desired, live and last-applied objects: server-generated metadata and
 * status are left out, Secret `stringData` becomes `data`, empty Role rules and aggregated
 * ClusterRole rules become null, Endpoints subsets are sorted. Pure: no I/O, inputs untouched.
 */

/** The annotation `kubectl apply` writes with the configuration it last applied. */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Metadata the API server generates or keeps for itself: never drift. */
const GENERATED_METADATA = [
  'managedFields',
  'resourceVersion',
  'uid',
  'generation',
  'creationTimestamp',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

/** A plain JSON object. */
export type JsonObject = Record<string, unknown>;

/** True for a plain object (not an array, not null). */
export function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `group/Kind` of an object (`/Secret` for the core group), from its apiVersion and kind. */
export function groupKindOf(obj: unknown): { group: string; kind: string } {
  if (!isRecord(obj)) return { group: '', kind: '' };
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const slash = apiVersion.indexOf('/');
  return { group: slash === -1 ? '' : apiVersion.slice(0, slash), kind };
}

/** True for a core-group Secret, whose `data`/`stringData` values are never shown. */
export function isSecret(obj: unknown): boolean {
  const gk = groupKindOf(obj);
  return gk.group === '' && gk.kind === 'Secret';
}

/** How the object is used in the comparison. */
export type NormalizeRole = 'desired' | 'live' | 'last-applied' | 'predicted-live';

export interface NormalizeOptions {
  /** Set the rules of a ClusterRole/Role with an `aggregationRule` to null. */
  ignoreAggregatedRoles?: boolean;
}

/**
 * Returns a normalized copy of a Kubernetes object. On every side: status, server-generated
 * metadata (managedFields, resourceVersion, uid, generation, creationTimestamp, selfLink,
 * deletion markers) and the last-applied-configuration annotation are removed; Secret
 * `stringData` is encoded into `data` and null data values become `""`; empty Role rules
 * become null (aggregated ones too with `ignoreAggregatedRoles`); Endpoints ports get their
 * default protocol and subsets are sorted. On the desired and last-applied sides the namespace
 * and an empty annotation map are removed too (the live object always has a namespace, a
 * manifest need not: gitops-engine's `removeNamespaceAnnotation`).
 */
export function normalizeObject(
  obj: JsonObject,
  role: NormalizeRole,
  opts: NormalizeOptions = {},
): JsonObject {
  // Copy on write: only the containers changed here are copied; the comparison never mutates.
  const out: JsonObject = { ...obj };
  delete out.status;
  if (isRecord(out.metadata)) {
    const metadata: JsonObject = { ...out.metadata };
    out.metadata = metadata;
    for (const key of GENERATED_METADATA) delete metadata[key];
    if (isRecord(metadata.annotations) && LAST_APPLIED_ANNOTATION in metadata.annotations) {
      const annotations: JsonObject = { ...metadata.annotations };
      delete annotations[LAST_APPLIED_ANNOTATION];
      metadata.annotations = annotations;
    }
    if (role === 'desired' || role === 'last-applied') {
      delete metadata.namespace;
      const annotations = metadata.annotations;
      if (annotations === null || (isRecord(annotations) && Object.keys(annotations).length === 0))
        delete metadata.annotations;
    }
  }
  const { group, kind } = groupKindOf(out);
  if (group === '' && kind === 'Secret') normalizeSecret(out);
  else if (group === 'rbac.authorization.k8s.io' && (kind === 'ClusterRole' || kind === 'Role'))
    normalizeRole(out, opts);
  else if (group === '' && kind === 'Endpoints') normalizeEndpoints(out);
  return out;
}

/** Base64 of a UTF-8 string, without Node built-ins (domain/ stays runtime-neutral). */
function base64Utf8(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Moves `stringData` into `data` (base64) and turns null data values into `""` (Argo CD #943). */
function normalizeSecret(secret: JsonObject): void {
  const stringData = secret.stringData;
  if (isRecord(secret.data)) secret.data = { ...secret.data };
  if (isRecord(stringData)) {
    const data: JsonObject = isRecord(secret.data) ? secret.data : {};
    for (const [k, v] of Object.entries(stringData)) data[k] = typeof v === 'string' ? base64Utf8(v) : v;
    secret.data = data;
    delete secret.stringData;
  }
  const data = secret.data;
  if (isRecord(data))
    for (const [k, v] of Object.entries(data)) if (v === null || v === undefined) data[k] = '';
}

/** Empty rules are null; an aggregated role's rules are filled in by the controller, so optionally null too. */
function normalizeRole(role: JsonObject, opts: NormalizeOptions): void {
  if (opts.ignoreAggregatedRoles && isRecord(role.aggregationRule)) role.rules = null;
  if (Array.isArray(role.rules) && role.rules.length === 0) role.rules = null;
}

const stableKey = (v: unknown): string => JSON.stringify(sortKeys(v));

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isRecord(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/** Endpoints subsets are a set: the API server reorders them. Default port protocol is TCP. */
function normalizeEndpoints(ep: JsonObject): void {
  if (!Array.isArray(ep.subsets)) return;
  const bySortKey = (a: unknown, b: unknown): number => compareStrings(stableKey(a), stableKey(b));
  const subsets = ep.subsets.map((original: unknown) => {
    if (!isRecord(original)) return original;
    const subset: JsonObject = { ...original };
    if (Array.isArray(subset.ports)) {
      subset.ports = subset.ports
        .map((p: unknown) =>
          isRecord(p) && (p.protocol === undefined || p.protocol === '') ? { ...p, protocol: 'TCP' } : p,
        )
        .sort(bySortKey);
    }
    for (const list of ['addresses', 'notReadyAddresses'] as const) {
      const addrs = subset[list];
      if (Array.isArray(addrs)) subset[list] = [...addrs].sort(bySortKey);
    }
    return subset;
  });
  ep.subsets = subsets.sort(bySortKey);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The last-applied configuration recorded on a live object, or undefined when it has none.
 * A malformed annotation is reported, not silently ignored.
 */
export function lastAppliedOf(live: JsonObject): { value?: JsonObject; error?: string } {
  const metadata = live.metadata;
  if (!isRecord(metadata) || !isRecord(metadata.annotations)) return {};
  const raw = metadata.annotations[LAST_APPLIED_ANNOTATION];
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw !== 'string') return { error: 'is not a string' };
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!isRecord(parsed)) return { error: 'is not a JSON object' };
    return { value: parsed };
  } catch (e) {
    return { error: `is not valid JSON (${(e as Error).message})` };
  }
}
