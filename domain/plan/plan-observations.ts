/**
 * Plan → observations (issue 11 §1): each resource a plan shows changed becomes one
 * {@link DriftObservation}, with its three-plane relationship computed from the plan itself and
 * carried as per-plane digests (`context.planes`), so the classifier's three-plane analysis
 * (domain/classify/planes.ts) derives the same relationship. Pure: no I/O.
 *
 * What a plan says about the three planes of one resource instance:
 * - a `resource_drift` entry: `before` is the recorded state, `after` the actual object (the
 *   refresh saw it); no entry means the refresh found recorded == actual;
 * - a `resource_changes` entry: `before` is the (refreshed) actual object, `after` the desired
 *   one (configuration); no entry, or a no-op, means desired == actual. A refresh-only plan has no
 *   desired plane at all;
 * - an import has no recorded plane yet; a create has neither a recorded nor an actual object;
 *   a move changes the address between recorded and desired.
 * So `resource_drift` alone is recorded!=actual; a configuration change not applied is
 * desired!=recorded; drift the plan would revert (desired == recorded) is recorded!=actual; drift
 * plus a different configuration is desired!=actual.
 */
import type { ArtifactRef, DriftObservation, FieldChange, ObservationContext } from '../finding';
import { fnv1a64 } from '../fingerprint';
import { analyzePlanes, NoDriftInPlanesError } from '../classify/planes';
import { valueAtPointer } from '../json-diff';
import { keylessRedactor, type Redactor } from '../redaction';
import { containsRedactionToken } from '../redaction/text';
import { jsonEqual } from './changed-paths';
import { isJsonObject as isObj, type JsonObject as Obj } from './json-value';
import { describeProviderUpgrade, sameProvider, type ProviderVersionChange } from './lock-file';
import type { NormalizedPlan, ResourceChange, ResourceDrift } from './normalized-plan-schema';

/** What {@link planObservations} needs. */
export interface PlanObservationsInput {
  unit: string;
  /** `tofu show -json` of the plan, already redacted (redactPlan): values are read from it. */
  plan: unknown;
  /** The same plan normalized from the raw JSON (runPlan): changed paths and flags come from it. */
  normalized: NormalizedPlan;
  mode: 'normal' | 'refresh-only';
  detectedAt: string;
  /** The detector name observations carry. Default `plan`. */
  detector?: string;
  /** Redacts diff values (and the values digested into the planes). Default `[REDACTED]`, no fingerprints. */
  redactor?: Redactor;
  sourceOfTruth?: string;
  stateBackend?: string;
  /** The evidence-store references of this detection (the raw plan): every observation carries them. */
  artifacts?: readonly ArtifactRef[];
  /** Providers whose locked version changed since the unit's last successful plan detection. */
  providerChanges?: readonly ProviderVersionChange[];
  /** A diff value longer than this (as JSON) is replaced by a note pointing at the plan artifact. Default 1024. */
  maxValueChars?: number;
}

/** A plane with no object at all (not created yet, deleted, not imported yet). */
const ABSENT = Symbol('absent');
type PlaneValue = unknown | typeof ABSENT;

interface RawEntry {
  change: Obj;
  providerName?: string;
}

const keyOf = (address: string, deposed: string | undefined): string =>
  deposed ? `${address} (deposed ${deposed})` : address;

function rawEntries(plan: unknown, list: 'resource_drift' | 'resource_changes'): Map<string, RawEntry> {
  const out = new Map<string, RawEntry>();
  const raw = isObj(plan) ? plan[list] : undefined;
  if (!Array.isArray(raw)) return out;
  for (const e of raw) {
    if (!isObj(e) || typeof e.address !== 'string' || !isObj(e.change)) continue;
    out.set(keyOf(e.address, typeof e.deposed === 'string' ? e.deposed : undefined), {
      change: e.change,
      ...(typeof e.provider_name === 'string' ? { providerName: e.provider_name } : {}),
    });
  }
  return out;
}

const nil = (v: unknown): boolean => v === null || v === undefined;
const valueOr = (v: unknown): PlaneValue => (nil(v) ? ABSENT : v);

/** `module.a["x"].aws_s3_bucket.b[0]` → `module.a.aws_s3_bucket.b`: the configuration's address of an instance. */
export function configAddressOf(address: string): string {
  return address.replace(/\[(?:"(?:[^"\\]|\\.)*"|[^\]"]*)\]/g, '');
}

/** Top-level attribute names set in the configuration, per managed resource (configuration address). */
function configuredAttributes(plan: unknown): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const walk = (mod: unknown, prefix: string): void => {
    if (!isObj(mod)) return;
    if (Array.isArray(mod.resources)) {
      for (const r of mod.resources) {
        if (!isObj(r) || typeof r.address !== 'string' || r.mode === 'data') continue;
        out.set(`${prefix}${r.address}`, new Set(isObj(r.expressions) ? Object.keys(r.expressions) : []));
      }
    }
    if (isObj(mod.module_calls)) {
      for (const [name, call] of Object.entries(mod.module_calls))
        if (isObj(call)) walk(call.module, `${prefix}module.${name}.`);
    }
  };
  const conf = isObj(plan) ? plan.configuration : undefined;
  if (isObj(conf)) walk(conf.root_module, '');
  return out;
}

/** True when `set` holds `p`, an ancestor of it or a descendant of it (the paths overlap). */
function touches(paths: readonly string[], p: string): boolean {
  for (const q of paths) {
    if (
      q === p ||
      q === '' ||
      p === '' ||
      q === '/' ||
      p === '/' ||
      q.startsWith(`${p}/`) ||
      p.startsWith(`${q}/`)
    )
      return true;
  }
  return false;
}

/** A stable JSON text (object keys sorted). */
function canonical(v: unknown): string {
  if (v === ABSENT) return '"<absent>"';
  if (v === undefined || v === null) return 'null';
  if (typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  const o = v as Obj;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
    .join(',')}}`;
}

function at(plane: PlaneValue, path: string): unknown {
  return plane === ABSENT ? undefined : valueAtPointer(plane, path);
}

function containsTrue(u: unknown): boolean {
  if (u === true) return true;
  if (typeof u !== 'object' || u === null) return false;
  return Object.values(u as Obj).some(containsTrue);
}

/**
 * Two values are one value written two ways: JSON text re-encoded (key order, spacing), a number
 * or a boolean as a string, or equal outright. A redacted value is never called equivalent (what
 * it hides may differ).
 */
export function equivalentRepresentation(a: unknown, b: unknown): boolean {
  if (jsonEqual(a, b)) return true;
  const hidden = (v: unknown) => typeof v === 'string' && containsRedactionToken(v);
  if (hidden(a) || hidden(b)) return false;
  const parse = (v: unknown): { ok: true; v: unknown } | { ok: false } => {
    if (typeof v !== 'string') return { ok: true, v };
    try {
      return { ok: true, v: JSON.parse(v) as unknown };
    } catch {
      return { ok: false };
    }
  };
  if (typeof a !== 'string' && typeof b !== 'string') return false;
  const pa = parse(a);
  const pb = parse(b);
  return pa.ok && pb.ok && jsonEqual(pa.v, pb.v);
}

interface Resource {
  key: string;
  address: string;
  type: string;
  drift?: ResourceDrift;
  change?: ResourceChange;
  rawDrift?: RawEntry;
  rawChange?: RawEntry;
}

function resourcesOf(input: PlanObservationsInput): Resource[] {
  const drifts = rawEntries(input.plan, 'resource_drift');
  const changes = rawEntries(input.plan, 'resource_changes');
  const byKey = new Map<string, Resource>();
  const get = (address: string, deposed: string | undefined, type: string): Resource => {
    const key = keyOf(address, deposed);
    let r = byKey.get(key);
    if (!r) {
      r = { key, address, type };
      byKey.set(key, r);
    }
    return r;
  };
  for (const d of input.normalized.resourceDrift) {
    const r = get(d.address, d.deposed, d.type);
    r.drift = d;
    const raw = drifts.get(r.key);
    if (raw) r.rawDrift = raw;
  }
  for (const c of input.normalized.resourceChanges) {
    const r = get(c.address, c.deposed, c.type);
    r.change = c;
  }
  // The change entry of a drifted resource is read even when it is a no-op (desired == actual).
  for (const r of byKey.values()) {
    const raw = changes.get(r.key);
    if (raw) r.rawChange = raw;
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** One plane per letter: recorded, actual, desired (undefined: the plan does not show it). */
interface Planes {
  R: PlaneValue;
  A: PlaneValue;
  D: PlaneValue | undefined;
}

function planesOf(r: Resource, mode: PlanObservationsInput['mode']): Planes {
  const importing = r.change?.importing === true;
  const c = r.rawChange?.change;
  const d = r.rawDrift?.change;
  const R: PlaneValue = d ? valueOr(d.before) : importing ? ABSENT : c ? valueOr(c.before) : ABSENT;
  const A: PlaneValue = d ? valueOr(d.after) : c ? valueOr(c.before) : ABSENT;
  const D: PlaneValue | undefined = mode === 'refresh-only' ? undefined : c ? valueOr(c.after) : A;
  return { R, A, D };
}

/** Per path: which planes hold the same value. Labels 0.. name the classes (R is always 0). */
function labelsAt(
  r: Resource,
  p: Planes,
  path: string,
  redact: (v: unknown) => unknown,
): { R: number; A: number; D?: number } {
  const driftPaths = r.drift?.changedPaths ?? [];
  const changePaths = r.change?.changedPaths ?? [];
  const unknownAfter = r.rawChange?.change.after_unknown;
  const sameAbsence = (x: PlaneValue, y: PlaneValue) => (x === ABSENT) === (y === ABSENT);
  const bothAbsent = (x: PlaneValue, y: PlaneValue) => x === ABSENT && y === ABSENT;
  const ra = bothAbsent(p.R, p.A) || (sameAbsence(p.R, p.A) && !(r.drift && touches(driftPaths, path)));
  if (p.D === undefined) return { R: 0, A: ra ? 0 : 1 };
  const ad = bothAbsent(p.A, p.D) || (sameAbsence(p.A, p.D) && !(r.change && touches(changePaths, path)));
  let rd: boolean;
  if (ra && ad) rd = true;
  else if (ra !== ad) rd = false;
  else if (bothAbsent(p.R, p.D)) rd = true;
  else if (!sameAbsence(p.R, p.D)) rd = false;
  else {
    // Both differ from actual: compare recorded and desired themselves. Unknown after apply, or a
    // value the redaction hides, cannot be shown equal.
    const unknown = containsTrue(valueAtPointer(unknownAfter, path));
    const rv = redact(at(p.R, path));
    const dv = redact(at(p.D, path));
    const hidden = containsRedactionToken(canonical(rv)) || containsRedactionToken(canonical(dv));
    rd = !unknown && !hidden && jsonEqual(rv, dv);
  }
  const A = ra ? 0 : 1;
  const D = ad ? A : rd ? 0 : 2;
  return { R: 0, A, D };
}

function digest(entries: [string, string][]): string {
  return fnv1a64(JSON.stringify(entries));
}

function changeTypeOf(r: Resource): DriftObservation['changeType'] {
  if (r.change?.importing) return 'unmanaged';
  const driftActions = r.drift?.actions ?? [];
  if (driftActions.includes('delete') && !driftActions.includes('create')) return 'deleted';
  const actions = r.change?.actions ?? [];
  if (actions.includes('create') && !actions.includes('delete')) return 'created';
  if (actions.includes('delete') && !actions.includes('create')) return 'deleted';
  return 'modified';
}

/**
 * Representation-only: every changed path is computed (known only after apply), left to the
 * provider (its attribute is not set in the configuration), or the same value written another way
 * ({@link equivalentRepresentation}) in each entry that shows it. Moves, imports, creates and
 * deletes never are.
 */
function representationOnly(
  r: Resource,
  paths: readonly string[],
  configured: Map<string, Set<string>>,
): boolean {
  if (changeTypeOf(r) !== 'modified' || r.change?.previousAddress || r.drift?.previousAddress) return false;
  if (paths.length === 0) return false;
  const attrs = configured.get(configAddressOf(r.address));
  const entries = [
    r.rawDrift && r.drift ? r.rawDrift.change : undefined,
    r.rawChange && r.change ? r.rawChange.change : undefined,
  ];
  const pathsOf = [r.drift?.changedPaths ?? [], r.change?.changedPaths ?? []];
  return paths.every((path) => {
    if (path === '' || path === '/') return false;
    if (containsTrue(valueAtPointer(r.rawChange?.change.after_unknown, path))) return true;
    const top = path.split('/')[1]!.replace(/~1/g, '/').replace(/~0/g, '~');
    if (attrs && !attrs.has(top)) return true;
    return entries.every(
      (e, i) =>
        !e ||
        !touches(pathsOf[i]!, path) ||
        equivalentRepresentation(valueAtPointer(e.before, path), valueAtPointer(e.after, path)),
    );
  });
}

/**
 * The observations of a normalized plan: one per resource instance (deposed objects apart) that
 * drifted or would change. Each carries its relationship (from the planes; declared
 * `recorded!=actual` for a refresh-only plan, which has no desired plane), the changed paths as
 * `changedFields`, redacted values in `diff`, and in `context`: per-plane digests of the changed
 * paths, destructive, identity, previousAddress, importing, the plan artifact and, when the lock
 * file's versions of the resource's provider changed and the diff is representation-only, the
 * provider upgrade.
 */
export function planObservations(input: PlanObservationsInput): DriftObservation[] {
  const redactor = input.redactor ?? keylessRedactor;
  const maxValueChars = input.maxValueChars ?? 1024;
  const configured = configuredAttributes(input.plan);
  const out: DriftObservation[] = [];
  for (const r of resourcesOf(input)) {
    const paths = [...new Set([...(r.drift?.changedPaths ?? []), ...(r.change?.changedPaths ?? [])])].sort();
    const fields = paths.length > 0 ? paths : ['/'];
    const planes = planesOf(r, input.mode);
    const redact = (path: string) => (v: unknown) =>
      v === undefined ? undefined : redactor.value(v, { resourceType: r.type, path });

    // Per-plane digests of the changed fields (and the address, for a move).
    const entries: Record<'R' | 'A' | 'D', [string, string][]> = { R: [], A: [], D: [] };
    const tokenOf = (label: number, planeValue: PlaneValue, path: string) =>
      `${label}:${planeValue === ABSENT ? '<absent>' : canonical(redact(path)(at(planeValue, path)))}`;
    for (const path of fields) {
      const l = labelsAt(r, planes, path, redact(path));
      const rep = { 0: planes.R, 1: planes.A, 2: planes.D } as Record<number, PlaneValue>;
      entries.R.push([path, tokenOf(l.R, rep[l.R], path)]);
      entries.A.push([path, tokenOf(l.A, rep[l.A], path)]);
      if (l.D !== undefined) entries.D.push([path, tokenOf(l.D, rep[l.D], path)]);
    }
    const previousAddress = r.change?.previousAddress ?? r.drift?.previousAddress;
    if (previousAddress) {
      entries.R.push(['#address', `0:${previousAddress}`]);
      entries.A.push(['#address', `0:${previousAddress}`]);
      entries.D.push(['#address', `2:${r.address}`]);
    }
    let contextPlanes: ObservationContext['planes'];
    let relationship: DriftObservation['relationship'];
    if (planes.D === undefined) {
      // Refresh-only: no desired plane to digest; the refresh itself saw recorded != actual.
      relationship = 'recorded!=actual';
    } else {
      contextPlanes = {
        recorded: digest(entries.R),
        actual: digest(entries.A),
        desired: digest(entries.D),
        refreshObserved: true,
      };
      if (
        contextPlanes.desired === contextPlanes.recorded &&
        contextPlanes.recorded === contextPlanes.actual
      ) {
        // The plan acts on the resource (a replace by request, a forget) though no value differs.
        const actions = (r.change?.actions ?? r.drift?.actions ?? []).join(',');
        entries.D.push(['#actions', `2:${actions}`]);
        contextPlanes.desired = digest(entries.D);
      }
      try {
        relationship = analyzePlanes({ planes: contextPlanes, resourceRef: r.key }).relationship;
      } catch (err) {
        if (!(err instanceof NoDriftInPlanesError)) throw err;
        relationship = 'desired!=actual';
      }
    }

    const diff: FieldChange[] = paths.map((path) => {
      const ref = planes.D ?? planes.R;
      const unknown =
        containsTrue(valueAtPointer(r.rawChange?.change.after_unknown, path)) && planes.D !== undefined;
      const refV = unknown ? undefined : at(ref, path);
      const actV = at(planes.A, path);
      const kind: FieldChange['kind'] =
        nil(actV) && !nil(refV) ? 'removed' : nil(refV) && !nil(actV) && !unknown ? 'added' : 'changed';
      const fc = redactor.fieldChange(
        {
          path,
          kind,
          ...(refV !== undefined && !unknown ? { desired: refV } : {}),
          ...(actV !== undefined ? { actual: actV } : {}),
        },
        r.type,
      );
      const cap = (v: unknown): unknown => {
        const text = canonical(v);
        return text.length > maxValueChars
          ? `[${text.length} characters (digest ${fnv1a64(text)}): see the plan artifact]`
          : v;
      };
      return {
        ...fc,
        ...('desired' in fc ? { desired: cap(fc.desired) } : {}),
        ...('actual' in fc ? { actual: cap(fc.actual) } : {}),
      };
    });
    if (diff.length === 0) {
      // No value differs (a move, an import, a replace by request): the resource as a whole.
      const ct = changeTypeOf(r);
      diff.push({
        path: '/',
        kind:
          ct === 'created' || (ct === 'deleted' && r.drift)
            ? 'removed'
            : ct === 'deleted'
              ? 'added'
              : 'changed',
      });
    }

    const identity = r.change?.identity ?? r.drift?.identity ?? false;
    const destructive = r.change?.destructive ?? false;
    const providerName = r.rawChange?.providerName ?? r.rawDrift?.providerName;
    const ownChanges = (input.providerChanges ?? []).filter(
      (c) => providerName === undefined || sameProvider(c.provider, providerName),
    );
    const upgrade =
      ownChanges.length > 0 && representationOnly(r, paths, configured)
        ? describeProviderUpgrade(ownChanges)
        : undefined;
    const context: ObservationContext = {
      ...(contextPlanes ? { planes: contextPlanes } : {}),
      destructive,
      identity,
      ...(identity ? { categories: ['identity'] } : {}),
      ...(previousAddress ? { previousAddress } : {}),
      ...(r.change?.importing ? { importing: true } : {}),
      ...(upgrade ? { providerUpgrade: upgrade } : {}),
      ...(input.artifacts?.length ? { artifacts: [...input.artifacts] } : {}),
    };
    out.push({
      unit: input.unit,
      resourceRef: r.key,
      resourceType: r.type,
      relationship,
      changeType: changeTypeOf(r),
      changedFields: fields,
      diff,
      detectedAt: input.detectedAt,
      detector: input.detector ?? 'plan',
      ...(input.sourceOfTruth ? { sourceOfTruth: input.sourceOfTruth } : {}),
      ...(input.stateBackend ? { stateBackend: input.stateBackend } : {}),
      context,
    });
  }
  return out;
}

/** How many managed resource instances the plan covers (its change entries, or, refresh-only, its prior state). */
export function planResourceCount(plan: unknown): number {
  if (!isObj(plan)) return 0;
  if (Array.isArray(plan.resource_changes) && plan.resource_changes.length > 0) {
    return plan.resource_changes.filter((e) => isObj(e) && e.mode !== 'data').length;
  }
  let n = 0;
  const walk = (mod: unknown): void => {
    if (!isObj(mod)) return;
    if (Array.isArray(mod.resources)) n += mod.resources.filter((e) => isObj(e) && e.mode !== 'data').length;
    if (Array.isArray(mod.child_modules)) mod.child_modules.forEach(walk);
  };
  const prior = plan.prior_state;
  walk(isObj(prior) && isObj(prior.values) ? prior.values.root_module : undefined);
  return n;
}
