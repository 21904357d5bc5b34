import { jsonEqual } from './changed-paths';
import type { JsonObject as Obj } from './json-value';
import { isJsonObject as isObj, typeName } from './json-value';

/** Throws an InputError naming `field` (a JSON pointer); see normalize-plan.ts. */
export type FailAt = (field: string, message: string) => never;

/**
 * Adds the managed resource instances of a module tree (`planned_values.root_module` or
 * `prior_state.values.root_module`) to `into`, by address (a deposed object by address and key).
 * Data sources are left out: they are read, not changed, and need no `resource_changes` entry.
 */
function managedResources(module: unknown, field: string, fail: FailAt, into: Map<string, unknown>): void {
  if (!isObj(module)) fail(field, `expected an object, got ${typeName(module)}`);
  const resources = module.resources;
  if (resources !== undefined) {
    if (!Array.isArray(resources))
      fail(`${field}/resources`, `expected an array, got ${typeName(resources)}`);
    resources.forEach((r: unknown, i) => {
      const at = `${field}/resources/${i}`;
      if (!isObj(r)) fail(at, `expected an object, got ${typeName(r)}`);
      if (typeof r.address !== 'string' || r.address === '')
        fail(`${at}/address`, 'required string is missing');
      if (r.mode === 'data') return;
      const deposed = typeof r.deposed_key === 'string' ? ` (deposed ${r.deposed_key})` : '';
      into.set(`${r.address}${deposed}`, r.values);
    });
  }
  const children = module.child_modules;
  if (children !== undefined) {
    if (!Array.isArray(children))
      fail(`${field}/child_modules`, `expected an array, got ${typeName(children)}`);
    children.forEach((c: unknown, i) => managedResources(c, `${field}/child_modules/${i}`, fail, into));
  }
}

function some(addresses: string[]): string {
  const shown = addresses.slice(0, 3).join(', ');
  return addresses.length > 3 ? `${shown}, … ${addresses.length - 3} more` : shown;
}

/**
 * For a plan without `resource_changes` entries: why that cannot be the whole plan, or `undefined`
 * when it can (no managed resource in `prior_state` nor in `planned_values`).
 *
 * OpenTofu and Terraform leave `resource_changes` out only when there is no change entry at all,
 * and a normal plan has one (if only `["no-op"]`) for every managed resource instance it knows;
 * `planned_values` is even built from those entries. So managed resources here mean the changes
 * were lost (a filter, a truncation, a hand edit). The reason compares the two states by address
 * and values to say what may be hidden (a delete, a create, an update); when they agree, a move or
 * an import may still be. A refresh-only plan never has change entries and its `planned_values`
 * hold no resources: the caller must not ask then.
 */
export function missingChangesReason(
  plannedRoot: unknown,
  priorState: Obj | undefined,
  fail: FailAt,
): string | undefined {
  const planned = new Map<string, unknown>();
  managedResources(plannedRoot, '/planned_values/root_module', fail, planned);
  const prior = new Map<string, unknown>();
  const values = priorState?.values;
  if (values !== undefined) {
    if (!isObj(values)) fail('/prior_state/values', `expected an object, got ${typeName(values)}`);
    if (values.root_module !== undefined) {
      managedResources(values.root_module, '/prior_state/values/root_module', fail, prior);
    }
  }
  const onlyPrior = [...prior.keys()].filter((a) => !planned.has(a));
  const onlyPlanned = [...planned.keys()].filter((a) => !prior.has(a));
  const changed = [...planned.keys()].filter((a) => prior.has(a) && !jsonEqual(prior.get(a), planned.get(a)));
  if (onlyPrior.length + onlyPlanned.length + changed.length === 0) {
    if (planned.size === 0) return undefined;
    return (
      `resource_changes is missing, yet ${planned.size} managed resources (${some([...planned.keys()])}) are in ` +
      `prior_state and planned_values, and a plan lists each one, if only as no-op. The states agree, ` +
      `but a move or an import may be hidden; cannot tell`
    );
  }
  const parts: string[] = [];
  if (onlyPrior.length) parts.push(`${onlyPrior.length} only in prior_state (${some(onlyPrior)})`);
  if (onlyPlanned.length) parts.push(`${onlyPlanned.length} only in planned_values (${some(onlyPlanned)})`);
  if (changed.length) parts.push(`${changed.length} with other values (${some(changed)})`);
  return (
    `resource_changes is missing, yet prior_state and planned_values differ in managed resources: ` +
    `${parts.join('; ')}. A delete, create or update may be hidden; cannot tell`
  );
}
