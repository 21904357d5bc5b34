import { InputError } from '../errors';
import { changedPaths, jsonEqual, truncateAtSensitive } from './changed-paths';
import { missingChangesReason } from './hidden-changes';
import { isIdentityResourceType } from './identity';
import type { JsonObject as Obj } from './json-value';
import { isJsonObject as isObj, typeName } from './json-value';
import { toPointer } from '../json-pointer';
import type {
  NormalizedPlan,
  OutputChange,
  PlanResult,
  ResourceChange,
  ResourceDrift,
} from './normalized-plan-schema';

/** Options of {@link normalizePlan}. */
export interface NormalizePlanOptions {
  /** Name of the file the plan came from, used in error messages. */
  file?: string;
  /**
   * The plan was made with `-refresh-only`. Such a plan never has `resource_changes` and its
   * `planned_values` hold no resources, so a `prior_state` that differs from them is expected.
   * Otherwise (the default) that difference, with no `resource_changes`, is "could not tell".
   */
  refreshOnly?: boolean;
}

class Reader {
  constructor(private readonly file: string | undefined) {}

  fail(field: string, message: string): never {
    throw new InputError(message, { ...(this.file ? { file: this.file } : {}), field });
  }

  optString(o: Obj, key: string, field: string): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(`${field}/${key}`, `expected a string, got ${typeName(v)}`);
    return v;
  }

  reqString(o: Obj, key: string, field: string): string {
    const v = this.optString(o, key, field);
    if (v === undefined || v === '') this.fail(`${field}/${key}`, 'required string is missing');
    return v;
  }

  // The top-level lists, objects and flags below are left out when empty or false, never written
  // as null: null is a wrong type like any other.
  optBool(o: Obj, key: string, field: string): boolean | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(`${field}/${key}`, `expected a boolean, got ${typeName(v)}`);
    return v;
  }

  optArray(o: Obj, key: string, field: string): unknown[] {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(`${field}/${key}`, `expected an array, got ${typeName(v)}`);
    return v;
  }

  optObject(o: Obj, key: string, field: string): Obj | undefined {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!isObj(v)) this.fail(`${field}/${key}`, `expected an object, got ${typeName(v)}`);
    return v;
  }

  reqObject(o: Obj, key: string, field: string, why: string): Obj {
    const v = o[key];
    if (v === undefined) this.fail(`${field}/${key}`, `required object is missing (${why})`);
    return this.optObject(o, key, field)!;
  }

  actions(change: Obj, field: string): string[] {
    const v = change.actions;
    if (!Array.isArray(v) || v.length === 0) {
      this.fail(`${field}/actions`, `expected a non-empty array of actions, got ${typeName(v)}`);
    }
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== 'string' || v[i] === '')
        this.fail(`${field}/actions/${i}`, 'expected an action name');
    }
    return v as string[];
  }
}

function isExactly(actions: readonly string[], only: string): boolean {
  return actions.length === 1 && actions[0] === only;
}

interface EntryCommon {
  address: string;
  type: string;
  actions: string[];
  change: Obj;
  previousAddress?: string;
  deposed?: string;
  actionReason?: string;
}

function readEntry(r: Reader, raw: unknown, field: string): EntryCommon {
  if (!isObj(raw)) r.fail(field, `expected an object, got ${typeName(raw)}`);
  const address = r.reqString(raw, 'address', field);
  const type = r.reqString(raw, 'type', field);
  const change = raw.change;
  if (!isObj(change)) r.fail(`${field}/change`, `expected an object, got ${typeName(change)}`);
  const entry: EntryCommon = { address, type, actions: r.actions(change, `${field}/change`), change };
  const previousAddress = r.optString(raw, 'previous_address', field);
  if (previousAddress !== undefined) entry.previousAddress = previousAddress;
  const deposed = r.optString(raw, 'deposed', field);
  if (deposed !== undefined) entry.deposed = deposed;
  const actionReason = r.optString(raw, 'action_reason', field);
  if (actionReason !== undefined) entry.actionReason = actionReason;
  return entry;
}

function replacePaths(r: Reader, change: Obj, field: string): string[] | undefined {
  const raw = change.replace_paths;
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) r.fail(`${field}/replace_paths`, `expected an array, got ${typeName(raw)}`);
  const out: string[] = [];
  raw.forEach((p, i) => {
    if (!Array.isArray(p) || !p.every((s) => typeof s === 'string' || typeof s === 'number')) {
      r.fail(`${field}/replace_paths/${i}`, 'expected an array of attribute names and indexes');
    }
    out.push(
      toPointer(
        truncateAtSensitive(p as (string | number)[], change.before_sensitive, change.after_sensitive),
      ),
    );
  });
  return Array.from(new Set(out)).sort();
}

/** `relevant_attributes` grouped by resource address, as JSON pointers. */
function relevantAttributes(r: Reader, plan: Obj): Map<string, string[]> {
  const byResource = new Map<string, string[]>();
  r.optArray(plan, 'relevant_attributes', '').forEach((raw, i) => {
    const field = `/relevant_attributes/${i}`;
    if (!isObj(raw)) r.fail(field, `expected an object, got ${typeName(raw)}`);
    const resource = r.reqString(raw, 'resource', field);
    const attr = raw.attribute;
    if (!Array.isArray(attr) || !attr.every((s) => typeof s === 'string' || typeof s === 'number')) {
      r.fail(`${field}/attribute`, 'expected an array of attribute names and indexes');
    }
    const list = byResource.get(resource) ?? [];
    list.push(toPointer(attr as (string | number)[]));
    byResource.set(resource, list);
  });
  return byResource;
}

function outputChanges(r: Reader, plan: Obj): OutputChange[] {
  const raw = r.optObject(plan, 'output_changes', '');
  if (raw === undefined) return [];
  const out: OutputChange[] = [];
  for (const name of Object.keys(raw).sort()) {
    const field = `/output_changes/${name}`;
    const change = raw[name];
    if (!isObj(change)) r.fail(field, `expected an object, got ${typeName(change)}`);
    const actions = r.actions(change, field);
    if (isExactly(actions, 'no-op')) continue;
    const sensitive = change.before_sensitive === true || change.after_sensitive === true;
    out.push({ name, actions, sensitive });
  }
  return out;
}

function parseFormatVersion(r: Reader, plan: Obj): string {
  const v = plan.format_version;
  if (typeof v !== 'string' || v === '') {
    r.fail(
      '/format_version',
      `expected the plan's format version string, got ${typeName(v)} (is this \`tofu show -json\` output of a plan?)`,
    );
  }
  // The format promises: reject an unsupported major version, ignore unknown fields within a major.
  if (!/^1(\.\d+)*$/.test(v))
    r.fail('/format_version', `unsupported plan format version ${JSON.stringify(v)} (supported: 1.x)`);
  return v;
}

/**
 * Normalizes `tofu show -json <planfile>` / `terraform show -json <planfile>` output into the
 * `plan normalize` contract of PRODUCT.md. Pure: no I/O.
 *
 * - `resourceDrift` holds every `resource_drift` entry (recorded state vs. the actual object).
 * - `resourceChanges` holds every `resource_changes` entry that changes anything: actions other than
 *   exactly `["no-op"]` or `["read"]`, or an import (`importing`), or a move (`previous_address`).
 *   `["forget"]`, `["create","delete"]` and deposed objects are changes like any other.
 * - `destructive` is "the actions include `delete`"; `identity` is "the resource type is identity and access".
 * - `changedPaths` are JSON pointers (see {@link changedPaths}); no value ever reaches the output.
 * - `errored: true` makes the result `DETECTION_FAILED`, whatever the lists say; so does
 *   `complete: false` when the (partial) lists are empty. Output-only changes do not count as drift.
 * - No `resource_changes` entries while `prior_state` or `planned_values` hold managed resources
 *   is `DETECTION_FAILED` too (the changes were lost; see {@link missingChangesReason}), unless
 *   `options.refreshOnly`. `failureReason` says why and what may be hidden.
 * - A document that is not a plan is an {@link InputError}: no object, no `format_version` 1.x, no
 *   `planned_values.root_module` object, a top-level list, object or flag of the wrong type
 *   (`null` included), a malformed entry. The error names the field as a JSON pointer.
 * - Unknown fields and unknown `action_reason` values are tolerated.
 * - Duplicate keys are invisible here (the value is already parsed): parse with `parsePlanJson`.
 */
export function normalizePlan(plan: unknown, options: NormalizePlanOptions = {}): NormalizedPlan {
  const r: Reader = new Reader(options.file);
  if (!isObj(plan)) r.fail('/', `expected a JSON object (tofu show -json output), got ${typeName(plan)}`);
  const formatVersion = parseFormatVersion(r, plan);
  const toolVersion = r.optString(plan, 'terraform_version', '') ?? 'unknown';
  const errored = r.optBool(plan, 'errored', '') ?? false;
  const complete = r.optBool(plan, 'complete', '') ?? true;
  // `tofu show -json` and `terraform show -json` always write planned_values (with its root_module)
  // for a plan; without it, this is some other document (a state, a config, a fragment).
  const why = 'tofu show -json of a plan always has it: is this a plan?';
  const planned = r.reqObject(plan, 'planned_values', '', why);
  const plannedRoot = r.reqObject(planned, 'root_module', '/planned_values', why);
  r.optArray(plannedRoot, 'resources', '/planned_values/root_module');
  r.optArray(plannedRoot, 'child_modules', '/planned_values/root_module');
  const priorState = r.optObject(plan, 'prior_state', '');
  const priorValues = priorState && r.optObject(priorState, 'values', '/prior_state');
  if (priorValues) r.optObject(priorValues, 'root_module', '/prior_state/values');
  const changeEntries = r.optArray(plan, 'resource_changes', '');
  const relevant = relevantAttributes(r, plan);

  const resourceDrift: ResourceDrift[] = [];
  r.optArray(plan, 'resource_drift', '').forEach((raw, i) => {
    const e = readEntry(r, raw, `/resource_drift/${i}`);
    const d: ResourceDrift = {
      address: e.address,
      type: e.type,
      actions: e.actions,
      relationship: 'recorded!=actual',
      changedPaths: changedPaths(e.change),
      identity: isIdentityResourceType(e.type),
    };
    if (e.previousAddress !== undefined) d.previousAddress = e.previousAddress;
    if (e.deposed !== undefined) d.deposed = e.deposed;
    const rel = relevant.get(e.address);
    if (rel) d.relevantPaths = Array.from(new Set(rel)).sort();
    resourceDrift.push(d);
  });

  const resourceChanges: ResourceChange[] = [];
  changeEntries.forEach((raw, i) => {
    const field = `/resource_changes/${i}`;
    const e = readEntry(r, raw, field);
    const importing = e.change.importing;
    if (importing !== undefined && importing !== null && !isObj(importing)) {
      r.fail(`${field}/change/importing`, `expected an object, got ${typeName(importing)}`);
    }
    const isImport = isObj(importing);
    const noChange = isExactly(e.actions, 'no-op') || isExactly(e.actions, 'read');
    if (noChange && !isImport && e.previousAddress === undefined) return;
    const c: ResourceChange = {
      address: e.address,
      type: e.type,
      actions: e.actions,
      relationship: 'desired!=actual',
      changedPaths: changedPaths(e.change),
      destructive: e.actions.includes('delete'),
      identity: isIdentityResourceType(e.type),
    };
    if (e.actionReason !== undefined) c.actionReason = e.actionReason;
    if (isImport) c.importing = true;
    if (e.previousAddress !== undefined) c.previousAddress = e.previousAddress;
    if (e.deposed !== undefined) c.deposed = e.deposed;
    const rp = replacePaths(r, e.change, `${field}/change`);
    if (rp !== undefined) c.replacePaths = rp;
    const bi = e.change.before_identity;
    const ai = e.change.after_identity;
    if (!(bi === undefined || bi === null) && !(ai === undefined || ai === null) && !jsonEqual(bi, ai)) {
      c.objectIdentityChanged = true;
    }
    resourceChanges.push(c);
  });

  // No change entries at all while the states hold managed resources: the changes were lost, and
  // whatever drift the plan does list is not the whole story. Could not tell, like an errored plan.
  const hidden =
    changeEntries.length === 0 && !options.refreshOnly
      ? missingChangesReason(plannedRoot, priorState, (field, message) => r.fail(field, message))
      : undefined;
  const found = resourceDrift.length > 0 || resourceChanges.length > 0;
  let result: PlanResult;
  let failureReason: string | undefined;
  if (errored) {
    result = 'DETECTION_FAILED';
    failureReason = 'the plan errored (errored: true): its lists are partial, and no result is not no drift';
  } else if (hidden !== undefined) {
    result = 'DETECTION_FAILED';
    failureReason = hidden;
  } else if (found) {
    result = 'DRIFT_DETECTED';
  } else if (!complete) {
    result = 'DETECTION_FAILED';
    failureReason = 'the plan is incomplete (complete: false) and found nothing: cannot tell';
  } else {
    result = 'NO_CHANGES';
  }

  let destructiveChanges = 0;
  let identityChanges = 0;
  for (const c of resourceChanges) {
    if (c.destructive) destructiveChanges++;
    if (c.identity) identityChanges++;
  }
  let identityDrift = 0;
  for (const d of resourceDrift) if (d.identity) identityDrift++;

  return {
    formatVersion,
    toolVersion,
    result,
    ...(failureReason !== undefined ? { failureReason } : {}),
    ...(hidden !== undefined ? { changesMissing: true as const } : {}),
    errored,
    complete,
    resourceDrift,
    resourceChanges,
    outputChanges: outputChanges(r, plan),
    summary: {
      resourceChanges: resourceChanges.length,
      destructiveChanges,
      identityChanges,
      driftedResources: resourceDrift.length,
      identityDrift,
    },
  };
}
