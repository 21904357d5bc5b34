import { canonicalJson } from './policy-document';
import {
  REDACTED,
  type AttributeChange,
  type ChangedFinding,
  type DeletedFinding,
  type DetectionFailure,
  type NotScanned,
  type UnitInventoryReport,
  type UnmanagedFinding,
  type UnmanagedReport,
} from './findings';
import { PolicyDocumentError } from './errors';
import { toComparable, type ComparableAttribute, type ComparableResource } from './normalize';
import { accountCoverage, type UncoveredResource } from './coverage';
import { ACCOUNT_LISTED_TYPES, type InventoryResourceType } from './resource-types';
import type { RecordedResource } from './tfstate';
import { escapePointerToken, unescapePointerToken } from '../json-pointer';

/** What the observer saw for one recorded resource. Attributes use tfstate names. */
export type Observation =
  | { status: 'present'; attributes: Record<string, unknown> }
  | { status: 'absent' }
  | { status: 'error'; code: string; message: string };

/** One resource of the actual plane found by listing the account. */
export interface ListedResource {
  type: InventoryResourceType;
  /** Identity key, as identityKeyOf builds it. */
  key: string;
  arn?: string;
}

/** What the account-wide listing saw; a failed listing of a type is a failure, not an empty list. */
export interface AccountListing {
  resources: ListedResource[];
  failures: { type: InventoryResourceType; code: string; message: string }[];
  /** Resources of types the pass can count but not match against state: they are not covered. */
  uncovered?: UncoveredResource[];
  /** Types the pass could not count (their listing failed): not covered, count unknown. */
  unlisted?: { type: string; code: string; message: string }[];
}


const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown): boolean =>
  JSON.stringify(canonicalJson(a)) === JSON.stringify(canonicalJson(b));

function diffNested(recorded: unknown, actual: unknown, path: string): AttributeChange[] {
  if (same(recorded, actual)) return [];
  if (Array.isArray(recorded) && Array.isArray(actual)) {
    const out: AttributeChange[] = [];
    for (let i = 0; i < Math.max(recorded.length, actual.length); i++) {
      const p = `${path}/${i}`;
      if (i >= actual.length) out.push({ path: p, op: 'removed', recorded: recorded[i] });
      else if (i >= recorded.length) out.push({ path: p, op: 'added', actual: actual[i] });
      else out.push(...diffNested(recorded[i], actual[i], p));
    }
    return out;
  }
  if (isRecord(recorded) && isRecord(actual)) {
    const out: AttributeChange[] = [];
    for (const k of [...new Set([...Object.keys(recorded), ...Object.keys(actual)])].sort()) {
      const p = `${path}/${escapePointerToken(k)}`;
      if (!(k in actual)) out.push({ path: p, op: 'removed', recorded: recorded[k] });
      else if (!(k in recorded)) out.push({ path: p, op: 'added', actual: actual[k] });
      else out.push(...diffNested(recorded[k], actual[k], p));
    }
    return out;
  }
  return [{ path, op: 'changed', recorded, actual }];
}

function diffAttribute(name: string, r: ComparableAttribute, a: ComparableAttribute): AttributeChange[] {
  const path = `/${escapePointerToken(name)}`;
  switch (r.kind) {
    case 'scalar':
    case 'policy':
      return same(r.value, a.value) ? [] : [{ path, op: 'changed', recorded: r.value, actual: a.value }];
    case 'nested':
      return diffNested(r.value, a.value, path);
    case 'set': {
      const actualSet = new Set(a.value as string[]);
      const recordedSet = new Set(r.value);
      const removed = r.value.filter((m) => !actualSet.has(m)).map((m) => JSON.parse(m) as unknown);
      const added = (a.value as string[])
        .filter((m) => !recordedSet.has(m))
        .map((m) => JSON.parse(m) as unknown);
      if (removed.length === 0 && added.length === 0) return [];
      // Set members have no stable index, so the change names the set and lists what left and arrived.
      return [{ path, op: 'changed', recorded: removed, actual: added }];
    }
    case 'map': {
      const rv = r.value;
      const av = a.value as Record<string, string>;
      const out: AttributeChange[] = [];
      for (const k of [...new Set([...Object.keys(rv), ...Object.keys(av)])].sort()) {
        const p = `${path}/${escapePointerToken(k)}`;
        if (!(k in av)) out.push({ path: p, op: 'removed', recorded: rv[k] });
        else if (!(k in rv)) out.push({ path: p, op: 'added', actual: av[k] });
        else if (rv[k] !== av[k]) out.push({ path: p, op: 'changed', recorded: rv[k], actual: av[k] });
      }
      return out;
    }
  }
}

/** Lists the differences between two comparable resources, sorted by path. */
export function diffComparable(recorded: ComparableResource, actual: ComparableResource): AttributeChange[] {
  const out: AttributeChange[] = [];
  for (const name of Object.keys(recorded).sort()) {
    const r = recorded[name];
    const a = actual[name];
    if (!r || !a) continue;
    out.push(...diffAttribute(name, r, a));
  }
  return out;
}

function redact(changes: AttributeChange[], sensitive: string[]): AttributeChange[] {
  if (sensitive.length === 0) return changes;
  return changes.map((c) => {
    const top = unescapePointerToken(c.path.split('/')[1] ?? '');
    if (!sensitive.includes(top)) return c;
    return {
      path: c.path,
      op: c.op,
      ...('recorded' in c ? { recorded: REDACTED } : {}),
      ...('actual' in c ? { actual: REDACTED } : {}),
    };
  });
}

/**
 * Compares one unit's recorded resources with what the observer saw. A recorded resource with no
 * observation, an unreadable observation, or a document that cannot be parsed becomes a
 * DetectionFailure for that resource; types the scan does not cover are listed in notScanned (the
 * scan activity adds their coverage, see stateCoverage).
 */
export function compareUnitInventory(input: {
  unit: string;
  stateSource: string;
  recorded: RecordedResource[];
  observations: ReadonlyMap<string, Observation>;
}): UnitInventoryReport {
  const findings: (ChangedFinding | DeletedFinding)[] = [];
  const failures: DetectionFailure[] = [];
  const notScanned: NotScanned[] = [];
  let compared = 0;
  for (const res of input.recorded) {
    if (!res.supported) {
      notScanned.push({
        unit: input.unit,
        address: res.address,
        type: res.type,
        reason: 'resource type not covered by the inventory scan',
      });
      continue;
    }
    const type = res.type as InventoryResourceType;
    const base = { unit: input.unit, address: res.address, type: res.type };
    if (res.key === undefined) {
      failures.push({
        status: 'DETECTION_FAILED',
        ...base,
        code: 'StateMissingIdentity',
        message: 'state has no identifying attribute for this resource',
      });
      continue;
    }
    const obs = input.observations.get(res.address);
    if (!obs) {
      failures.push({
        status: 'DETECTION_FAILED',
        ...base,
        resourceId: res.key,
        code: 'NotObserved',
        message: 'the observer returned nothing for this resource',
      });
      continue;
    }
    if (obs.status === 'error') {
      failures.push({
        status: 'DETECTION_FAILED',
        ...base,
        resourceId: res.key,
        code: obs.code,
        message: obs.message,
      });
      continue;
    }
    compared++;
    if (obs.status === 'absent') {
      findings.push({ kind: 'deleted', ...base, resourceId: res.key, relationship: 'recorded!=actual' });
      continue;
    }
    let changes: AttributeChange[];
    try {
      changes = diffComparable(toComparable(type, res.attributes), toComparable(type, obs.attributes));
    } catch (err) {
      compared--;
      const code = err instanceof PolicyDocumentError ? 'InvalidPolicyDocument' : 'CompareFailed';
      failures.push({
        status: 'DETECTION_FAILED',
        ...base,
        resourceId: res.key,
        code,
        message: (err as Error).message,
      });
      continue;
    }
    if (changes.length === 0) continue;
    const safe = redact(changes, res.sensitiveAttributes);
    findings.push({
      kind: 'changed',
      ...base,
      resourceId: res.key,
      relationship: 'recorded!=actual',
      changedPaths: safe.map((c) => c.path),
      changes: safe,
    });
  }
  return { unit: input.unit, stateSource: input.stateSource, compared, findings, failures, notScanned };
}

/**
 * Finds resources in the account that no registered state records (IMPORT candidates). `managed`
 * holds every recorded resource of every registered unit sharing the account, so a resource
 * recorded by any unit is managed. `coverage` says what share of the account the pass could tell
 * (see accountCoverage): types it cannot list or match are not covered.
 */
export function findUnmanaged(
  managed: readonly RecordedResource[],
  listing: AccountListing,
): UnmanagedReport {
  const known = new Set(
    managed.filter((r) => r.supported && r.key !== undefined).map((r) => `${r.type}\u0000${r.key}`),
  );
  const seen = new Set<string>();
  const findings: UnmanagedFinding[] = [];
  for (const res of listing.resources) {
    if (!ACCOUNT_LISTED_TYPES.includes(res.type)) continue;
    const id = `${res.type}\u0000${res.key}`;
    if (known.has(id) || seen.has(id)) continue;
    seen.add(id);
    findings.push({
      kind: 'unmanaged',
      type: res.type,
      resourceId: res.key,
      ...(res.arn ? { arn: res.arn } : {}),
      relationship: 'recorded!=actual',
      candidateAction: 'IMPORT',
    });
  }
  findings.sort((a, b) => (a.type + a.resourceId < b.type + b.resourceId ? -1 : 1));
  const failures: DetectionFailure[] = listing.failures.map((f) => ({
    status: 'DETECTION_FAILED',
    type: f.type,
    code: f.code,
    message: f.message,
  }));
  const coverage = accountCoverage({
    listed: listing.resources,
    uncovered: listing.uncovered ?? [],
    unlistedTypes: (listing.unlisted ?? []).map((u) => u.type),
    managed,
  });
  return { findings, failures, coverage };
}
