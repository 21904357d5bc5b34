/**
 * The ownership-aware Kubernetes diff (issue 11 §3, `driftplane k8s diff`), comparing the way
 * Argo CD's gitops-engine does (pkg/diff):
 *
 * - `three-way` (default): desired against live, with the `kubectl.kubernetes.io/last-applied-configuration`
 *   annotation telling a field removed from desired (in last-applied, not in desired, still in
 *   live: drift) from a field someone else added or the server defaulted (only in live: not drift).
 *   Without the annotation it is a two-way diff: only fields in desired are compared.
 * - `structured-merge`: like server-side apply by one field manager: fields in desired must equal
 *   live, and a field that manager owns in live `metadata.managedFields` (and no other manager
 *   shares) but desired no longer has is drift.
 * - `server-side`: the server-side-apply dry-run result (predicted live) against live. Fields the
 *   dry run adds or changes count only when the manager owns them in the predicted object (the
 *   rest are mutation webhooks and server defaults, gitops-engine's `removeWebhookMutation`);
 *   fields the dry run removes always count.
 *
 * In every mode status, managedFields and other server-generated metadata are left out, empty and
 * null are the same, Secret data values are never returned, and a changed field some other manager
 * writes in live is labelled with that manager (`owner`), not hidden.
 */
import { InputError } from '../errors';
import { toPointer } from '../json-pointer';
import type { ManagedFieldsEntry } from '../classify/input';
import { fieldsV1Covers, managerKind, writersOf } from '../classify/ownership';
import { keyOf, listKeyFor, type ListKey } from './list-keys';
import {
  groupKindOf,
  isRecord,
  isSecret,
  LAST_APPLIED_ANNOTATION,
  lastAppliedOf,
  normalizeObject,
  type JsonObject,
} from './normalize';

/** How desired and live are compared. */
export type K8sDiffMode = 'three-way' | 'structured-merge' | 'server-side';

/** Every mode, in the order `--help` lists them. */
export const K8S_DIFF_MODES: readonly K8sDiffMode[] = ['three-way', 'structured-merge', 'server-side'];

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

/** Which input an error is about (the CLI replaces it with the file name). */
export type K8sDiffInput = 'desired' | 'live' | 'predicted-live';

/**
 * Compares a desired manifest with the live object. Status, managedFields, server defaults and
 * generated fields are left out; Secret data values are never returned. A missing live object
 * (null/undefined) is one change at the root (the object would be created); a missing desired
 * object is not a modification (pruning is decided elsewhere, as in gitops-engine).
 * Throws `InputError` (location.file = `desired` | `live` | `predicted-live`, location.field =
 * the JSON pointer) for input it cannot compare, never a silent "no drift".
 */
export function diffManifests(desired: unknown, live: unknown, opts: K8sDiffOptions = {}): K8sDiffResult {
  const mode = opts.mode ?? 'three-way';
  if (!K8S_DIFF_MODES.includes(mode))
    throw new InputError(
      `unknown diff mode ${JSON.stringify(mode)} (expected one of ${K8S_DIFF_MODES.join(', ')})`,
    );
  const desiredObj = objectOrAbsent(desired, 'desired');
  const liveObj = objectOrAbsent(live, 'live');
  if (desiredObj === undefined && liveObj === undefined)
    throw new InputError('both desired and live are missing: nothing to compare');
  if (desiredObj === undefined) return { modified: false, changes: [] };
  if (liveObj === undefined) {
    const change: K8sChange = { path: '' };
    if (!isSecret(desiredObj)) change.desired = normalizeObject(desiredObj, 'desired', opts);
    return { modified: true, changes: [change] };
  }
  checkSameObject(desiredObj, liveObj);
  const norm = { ignoreAggregatedRoles: opts.ignoreAggregatedRoles === true };
  const liveEntries = managedFieldsOf(liveObj, 'live');
  const secret = isSecret(desiredObj) || isSecret(liveObj);
  const kind = groupKindOf(liveObj).kind;

  let left: JsonObject;
  let prior: Prior;
  let keepDesired: ((segments: readonly string[]) => boolean) | undefined;
  const appliers = new Set<string>();
  const explicitManager = opts.manager !== undefined && opts.manager !== '';
  if (explicitManager) appliers.add(opts.manager as string);

  if (mode === 'three-way') {
    left = normalizeObject(desiredObj, 'desired', norm);
    const lastApplied = lastAppliedOf(liveObj);
    if (lastApplied.error !== undefined)
      throw new InputError(`the last-applied-configuration annotation ${lastApplied.error}`, {
        file: 'live',
        field: toPointer(['metadata', 'annotations', LAST_APPLIED_ANNOTATION]),
      });
    prior = lastApplied.value ? jsonPrior(normalizeObject(lastApplied.value, 'last-applied', norm)) : NOTHING;
    if (!explicitManager) {
      // Whoever wrote the annotation applied the configuration; GitOps controllers apply it too.
      const annotationPath = toPointer(['metadata', 'annotations', LAST_APPLIED_ANNOTATION]);
      for (const w of writersOf(liveEntries, annotationPath, liveObj)) appliers.add(w.manager);
    }
  } else if (mode === 'structured-merge') {
    const manager = requireManager(opts, mode);
    left = normalizeObject(desiredObj, 'desired', norm);
    const mine = fieldsOf(liveEntries, (m) => m === manager);
    const others = fieldsOf(liveEntries, (m) => m !== manager);
    prior = new FieldsPrior({ mine, others, live: liveObj }, undefined);
  } else {
    const manager = requireManager(opts, mode);
    const predicted = objectOrAbsent(opts.predictedLive, 'predicted-live');
    if (predicted === undefined)
      throw new InputError(
        'server-side mode needs the predicted live object (the server-side apply dry-run result)',
        {
          file: 'predicted-live',
        },
      );
    checkSameObject(predicted, liveObj, 'predicted-live');
    const owned = fieldsOf(managedFieldsOf(predicted, 'predicted-live'), (m) => m === manager);
    if (owned.length === 0)
      throw new InputError(
        `the predicted live object has no managedFields for manager ${JSON.stringify(manager)}: cannot tell its fields from webhook mutations`,
        { file: 'predicted-live', field: '/metadata/managedFields' },
      );
    const predictedLive = normalizeObject(predicted, 'predicted-live', norm);
    left = predictedLive;
    prior = EVERYTHING;
    // List indexes in the walk are those of the normalized object: map them to FieldsV1 keys through it.
    keepDesired = (segments) => owned.some((f) => fieldsV1Covers(f, segments, predictedLive));
  }
  const right = normalizeObject(liveObj, 'live', norm);

  const raw: RawChange[] = [];
  walk(left, right, prior, undefined, undefined, { kind, keepDesired, out: raw });

  // Without --manager, GitOps controllers count as appliers too.
  const applying = (m: string): boolean => appliers.has(m) || (!explicitManager && managerKind(m) === 'git');
  const changes = raw.map((c) => {
    const segments = segmentsOf(c.path);
    const path = toPointer(segments);
    const change: K8sChange = { path };
    const owner = ownerOf(liveEntries, path, liveObj, applying);
    if (owner !== undefined) change.owner = owner;
    const hidden =
      secret && (segments.length === 0 || segments[0] === 'data' || segments[0] === 'stringData');
    if (!hidden) {
      if (c.desired !== undefined) change.desired = c.desired;
      if (c.live !== undefined) change.live = c.live;
    }
    return change;
  });
  return { modified: changes.length > 0, changes };
}

function objectOrAbsent(v: unknown, input: K8sDiffInput): JsonObject | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v))
    throw new InputError(`expected one Kubernetes object, got ${Array.isArray(v) ? 'a list' : typeof v}`, {
      file: input,
    });
  for (const field of ['apiVersion', 'kind'] as const)
    if (typeof v[field] !== 'string' || v[field] === '')
      throw new InputError(`missing or non-string ${field}`, { file: input, field: `/${field}` });
  if (v.metadata !== undefined && !isRecord(v.metadata))
    throw new InputError('metadata is not an object', { file: input, field: '/metadata' });
  return v;
}

/** Desired and live must be the same object: same kind and group, same name when both have one. */
function checkSameObject(desired: JsonObject, live: JsonObject, input: K8sDiffInput = 'live'): void {
  const a = groupKindOf(desired);
  const b = groupKindOf(live);
  if (a.kind !== b.kind || a.group !== b.group)
    throw new InputError(
      `kind ${b.kind} (${String(live.apiVersion)}) does not match the desired kind ${a.kind} (${String(desired.apiVersion)})`,
      { file: input, field: a.kind !== b.kind ? '/kind' : '/apiVersion' },
    );
  const nameA = isRecord(desired.metadata) ? desired.metadata.name : undefined;
  const nameB = isRecord(live.metadata) ? live.metadata.name : undefined;
  if (typeof nameA === 'string' && typeof nameB === 'string' && nameA !== nameB)
    throw new InputError(
      `name ${JSON.stringify(nameB)} does not match the desired name ${JSON.stringify(nameA)}`,
      {
        file: input,
        field: '/metadata/name',
      },
    );
}

function requireManager(opts: K8sDiffOptions, mode: K8sDiffMode): string {
  if (opts.manager === undefined || opts.manager === '')
    throw new InputError(`${mode} mode needs the field manager (--manager)`);
  return opts.manager;
}

function managedFieldsOf(obj: JsonObject, input: K8sDiffInput): ManagedFieldsEntry[] {
  const metadata = obj.metadata;
  if (!isRecord(metadata) || metadata.managedFields === undefined || metadata.managedFields === null)
    return [];
  const entries = metadata.managedFields;
  if (!Array.isArray(entries))
    throw new InputError('managedFields is not a list', { file: input, field: '/metadata/managedFields' });
  return entries.map((e, i) => {
    if (!isRecord(e) || (e.fieldsV1 !== undefined && !isRecord(e.fieldsV1)))
      throw new InputError('a managedFields entry is not an object with a FieldsV1 map', {
        file: input,
        field: `/metadata/managedFields/${i}`,
      });
    return e as ManagedFieldsEntry;
  });
}

function fieldsOf(
  entries: readonly ManagedFieldsEntry[],
  pick: (manager: string) => boolean,
): Record<string, unknown>[] {
  return entries
    .filter((e) => e.fieldsV1 !== undefined && pick(e.manager ?? ''))
    .map((e) => e.fieldsV1 as Record<string, unknown>);
}

/** The newest writer of the path in live that is not the manager applying desired. */
function ownerOf(
  entries: readonly ManagedFieldsEntry[],
  path: string,
  live: JsonObject,
  applying: (manager: string) => boolean,
): string | undefined {
  if (entries.length === 0) return undefined;
  for (const w of writersOf(entries, path, live)) if (!applying(w.manager)) return w.manager;
  return undefined;
}

/**
 * What was applied before, walked alongside live: a field that was applied and is no longer in
 * desired is drift; a field only in live that was never applied is not.
 */
interface Prior {
  readonly applied: boolean;
  /** Removal reports the owned leaves beneath, not the whole live subtree (structured merge). */
  readonly granular: boolean;
  child(key: string): Prior;
  element(liveElement: unknown, liveIndex: number, key: ListKey | undefined): Prior;
}

// Priors are classes, not closures: one is made per compared node, and methods are shared.
class FixedPrior implements Prior {
  constructor(readonly applied: boolean) {}
  readonly granular = false;
  child(): Prior {
    return this;
  }
  element(): Prior {
    return this;
  }
}

const NOTHING: Prior = new FixedPrior(false);
const EVERYTHING: Prior = new FixedPrior(true);

/** The last-applied configuration as the prior (three-way). */
function jsonPrior(v: unknown): Prior {
  return isEmpty(v) ? NOTHING : new JsonPrior(v);
}

class JsonPrior implements Prior {
  readonly applied = true;
  /** Report the applied keys that were dropped, not the whole live map (which may hold others' keys). */
  readonly granular: boolean;
  constructor(private readonly v: unknown) {
    this.granular = isRecord(v);
  }
  child(key: string): Prior {
    return isRecord(this.v) ? jsonPrior(this.v[key]) : NOTHING;
  }
  element(liveElement: unknown, liveIndex: number, key: ListKey | undefined): Prior {
    const v = this.v;
    if (!Array.isArray(v)) return NOTHING;
    if (key === undefined) return jsonPrior(v[liveIndex]);
    const id = keyOf(key, liveElement);
    for (const e of v) if (keyOf(key, e) === id) return jsonPrior(e);
    return NOTHING;
  }
}

/** The FieldsV1 sets of the applying manager and of the others, for one live object. */
interface OwnedFields {
  mine: readonly Record<string, unknown>[];
  others: readonly Record<string, unknown>[];
  live: JsonObject;
}

/** One manager's FieldsV1 sets as the prior (structured merge); fields another manager shares stay. */
class FieldsPrior implements Prior {
  readonly granular = true;
  private known: boolean | undefined;
  constructor(
    private readonly owned: OwnedFields,
    private readonly path: Path,
  ) {}
  get applied(): boolean {
    if (this.known === undefined) {
      const segments = segmentsOf(this.path);
      const { mine, others, live } = this.owned;
      this.known =
        segments.length > 0 &&
        mine.some((f) => fieldsV1Covers(f, segments, live)) &&
        !others.some((f) => fieldsV1Covers(f, segments, live));
    }
    return this.known;
  }
  child(key: string): Prior {
    return new FieldsPrior(this.owned, push(this.path, key));
  }
  element(_liveElement: unknown, liveIndex: number): Prior {
    return new FieldsPrior(this.owned, push(this.path, String(liveIndex)));
  }
}

interface RawChange {
  path: Path;
  desired?: unknown;
  live?: unknown;
}

/** A path as a linked list, turned into segments only where one is needed (changes, ownership). */
interface PathNode {
  readonly up: Path;
  readonly key: string;
}
type Path = PathNode | undefined;

const push = (up: Path, key: string): Path => ({ up, key });

/** The segments of a path, root first. */
function segmentsOf(p: Path): string[] {
  const out: string[] = [];
  for (let n = p; n !== undefined; n = n.up) out.push(n.key);
  return out.reverse();
}

interface WalkContext {
  kind: string;
  /** Whether a value present on the desired side counts, by its path in desired. */
  keepDesired: ((desiredSegments: readonly string[]) => boolean) | undefined;
  out: RawChange[];
}

const keeps = (ctx: WalkContext, dPath: Path): boolean =>
  ctx.keepDesired === undefined || ctx.keepDesired(segmentsOf(dPath));

/** Empty and null are the same: null, undefined, `[]`, `{}`. */
function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

function sameScalar(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Compares desired `d` with live `l` at `path` (live indexes) / `dPath` (desired indexes).
 * Fields in desired must equal live; fields only in live count when the prior says they were applied.
 */
function walk(d: unknown, l: unknown, prior: Prior, path: Path, dPath: Path, ctx: WalkContext): void {
  if (isEmpty(d) && isEmpty(l)) return;
  if (d === undefined) {
    removal(l, prior, path, ctx);
    return;
  }
  if (d === null) {
    // An explicit null in a manifest deletes the field on apply (`rules: null`, a role's emptied rules).
    if (keeps(ctx, dPath)) ctx.out.push({ path, desired: null, live: l });
    return;
  }
  if (l === null || l === undefined) {
    added(d, path, dPath, ctx);
    return;
  }
  if (isRecord(d) && isRecord(l)) {
    for (const k of Object.keys(d)) walk(d[k], l[k], prior.child(k), push(path, k), push(dPath, k), ctx);
    for (const k of Object.keys(l)) if (!(k in d)) removal(l[k], prior.child(k), push(path, k), ctx);
    return;
  }
  if (Array.isArray(d) && Array.isArray(l)) {
    walkList(d, l, prior, path, dPath, ctx);
    return;
  }
  if (typeof d === 'object' || typeof l === 'object' || !sameScalar(d, l)) {
    if (keeps(ctx, dPath)) ctx.out.push({ path, desired: d, live: l });
  }
}

function walkList(
  d: readonly unknown[],
  l: readonly unknown[],
  prior: Prior,
  path: Path,
  dPath: Path,
  ctx: WalkContext,
): void {
  const key = listKeyFor(segmentsOf(path), ctx.kind, d, l);
  if (key === undefined) {
    // An atomic list is replaced as a whole by apply: extra live elements are drift too.
    const n = Math.max(d.length, l.length);
    for (let i = 0; i < n; i++) {
      const p = push(path, String(i));
      if (i >= l.length) added(d[i], p, push(dPath, String(i)), ctx);
      else if (i >= d.length) ctx.out.push({ path: p, live: l[i] });
      else walk(d[i], l[i], prior.element(l[i], i, undefined), p, push(dPath, String(i)), ctx);
    }
    return;
  }
  const liveIndex = new Map<string, number>();
  for (let i = 0; i < l.length; i++) liveIndex.set(keyOf(key, l[i]), i);
  const matched = new Set<number>();
  let appended = l.length;
  for (let di = 0; di < d.length; di++) {
    const de = d[di];
    const li = liveIndex.get(keyOf(key, de));
    const dp = push(dPath, String(di));
    if (li === undefined) {
      // Not in live: apply would add it at the end of the list.
      added(de, push(path, String(appended++)), dp, ctx);
      continue;
    }
    matched.add(li);
    walk(de, l[li], prior.element(l[li], li, key), push(path, String(li)), dp, ctx);
  }
  for (let li = 0; li < l.length; li++) {
    // A list element that was applied and is no longer desired goes as a whole.
    if (!matched.has(li)) removal(l[li], prior.element(l[li], li, key), push(path, String(li)), ctx, true);
  }
}

function added(d: unknown, path: Path, dPath: Path, ctx: WalkContext): void {
  if (isEmpty(d)) return;
  if (keeps(ctx, dPath)) ctx.out.push({ path, desired: d });
}

/** A live value desired does not have: drift only when it was applied before (and not shared). */
function removal(l: unknown, prior: Prior, path: Path, ctx: WalkContext, whole = false): void {
  if (isEmpty(l) || !prior.applied) return;
  if (prior.granular && !whole) {
    // Apply removes only the applied fields beneath (others' keys stay): report those.
    const before = ctx.out.length;
    if (isRecord(l)) for (const k of Object.keys(l)) removal(l[k], prior.child(k), push(path, k), ctx);
    else if (Array.isArray(l))
      for (let i = 0; i < l.length; i++)
        removal(l[i], prior.element(l[i], i, undefined), push(path, String(i)), ctx);
    if (ctx.out.length > before) return;
  }
  ctx.out.push({ path, live: l });
}
