/**
 * How list elements are matched between desired and live (issue 11 §3): Kubernetes merges many
 * lists by a key (`x-kubernetes-list-map-keys` / `patchMergeKey`: containers by name, container
 * ports by containerPort+protocol, Service ports by port+protocol...). Other lists are atomic and
 * compared by position. Without an OpenAPI schema, the well-known keys are listed here, and a
 * list whose every element has a unique string `name` is matched by name.
 */
import { isRecord } from './normalize';

/** The key fields of a keyed list and the defaults the API server fills into missing key fields. */
export interface ListKey {
  fields: readonly string[];
  defaults?: Readonly<Record<string, unknown>>;
}

const BY_NAME: ListKey = { fields: ['name'] };
const PROTOCOL_TCP = { protocol: 'TCP' } as const;

/** Keyed lists by field name, from the core/v1 and apps/v1 schemas. */
const KNOWN: Readonly<Record<string, ListKey>> = {
  containers: BY_NAME,
  initContainers: BY_NAME,
  ephemeralContainers: BY_NAME,
  env: BY_NAME,
  volumes: BY_NAME,
  imagePullSecrets: BY_NAME,
  resourceClaims: BY_NAME,
  schedulingGates: BY_NAME,
  webhooks: BY_NAME,
  volumeMounts: { fields: ['mountPath'] },
  volumeDevices: { fields: ['devicePath'] },
  hostAliases: { fields: ['ip'] },
  conditions: { fields: ['type'] },
  ownerReferences: { fields: ['uid'] },
  topologySpreadConstraints: { fields: ['topologyKey', 'whenUnsatisfiable'] },
};

/**
 * The key of the list at `segments` (the path of the list itself), or undefined for an atomic
 * list compared by position. `ports` depends on where it sits: container ports are keyed by
 * containerPort+protocol, Service ports by port+protocol; Endpoints ports are sorted instead.
 */
export function listKeyFor(
  segments: readonly string[],
  kind: string,
  desired: readonly unknown[],
  live: readonly unknown[],
): ListKey | undefined {
  const field = segments[segments.length - 1] ?? '';
  let key: ListKey | undefined;
  if (field === 'ports') {
    const parent = segments[segments.length - 3];
    if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers')
      key = { fields: ['containerPort', 'protocol'], defaults: PROTOCOL_TCP };
    else if (kind === 'Service' && segments.length === 2 && segments[0] === 'spec')
      key = { fields: ['port', 'protocol'], defaults: PROTOCOL_TCP };
  } else if (field === 'finalizers') {
    return undefined;
  } else {
    key = KNOWN[field];
  }
  if (key === undefined && desired.length + live.length > 0 && allNamed(desired) && allNamed(live))
    key = BY_NAME;
  if (key !== undefined && usable(key, desired) && usable(key, live)) return key;
  return undefined;
}

function allNamed(list: readonly unknown[]): boolean {
  return list.every((e) => isRecord(e) && typeof e.name === 'string' && e.name !== '');
}

/** A key is usable when every element is an object with the (non-defaulted) key fields and keys are unique. */
function usable(key: ListKey, list: readonly unknown[]): boolean {
  const seen = new Set<string>();
  for (const e of list) {
    if (!isRecord(e)) return false;
    for (const f of key.fields) if (e[f] === undefined && key.defaults?.[f] === undefined) return false;
    const id = keyOf(key, e);
    if (seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

/** The identity of one element under a key, with defaults filled in (`{"containerPort":80,"protocol":"TCP"}`). */
export function keyOf(key: ListKey, element: unknown): string {
  if (!isRecord(element)) return '';
  const parts = key.fields.map((f) => {
    const v = element[f] ?? key.defaults?.[f];
    return JSON.stringify(v ?? null);
  });
  return parts.join('\u0000');
}
