/**
 * Redaction of sensitive values in `tofu show -json` plan output, for anything that keeps or
 * prints the raw plan (evidence, logs, error messages).
 */

/** What a sensitive value is replaced with. */
export const REDACTED = '(sensitive value)';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(mask: unknown, key: string | number): unknown {
  if (typeof mask !== 'object' || mask === null) return undefined;
  return (mask as Record<string | number, unknown>)[key];
}

/** Replaces every part of `value` that `mask` (a `*_sensitive` / `sensitive_values` structure) marks `true`. */
export function maskSensitive(value: unknown, mask: unknown): unknown {
  if (mask === true) return value === null || value === undefined ? value : REDACTED;
  if (typeof mask !== 'object' || mask === null) return value;
  if (Array.isArray(value)) return value.map((v, i) => maskSensitive(v, child(mask, i)));
  if (isObj(value)) {
    const out: Obj = {};
    for (const k of Object.keys(value)) out[k] = maskSensitive(value[k], child(mask, k));
    return out;
  }
  return value;
}

function hasSensitivity(mask: unknown): boolean {
  if (mask === true) return true;
  if (typeof mask !== 'object' || mask === null) return false;
  return Object.values(mask as Obj).some(hasSensitivity);
}

function redactChange(change: unknown): unknown {
  if (!isObj(change)) return change;
  const out: Obj = { ...change };
  if ('before' in change) out.before = maskSensitive(change.before, change.before_sensitive);
  if ('after' in change) out.after = maskSensitive(change.after, change.after_sensitive);
  // Generated import configuration is HCL text with the values inlined.
  if (
    typeof change.generated_config === 'string' &&
    (hasSensitivity(change.after_sensitive) || hasSensitivity(change.before_sensitive))
  ) {
    out.generated_config = REDACTED;
  }
  return out;
}

function redactResourceChanges(list: unknown): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((rc) => (isObj(rc) ? { ...rc, change: redactChange(rc.change) } : rc));
}

function redactModule(mod: unknown): unknown {
  if (!isObj(mod)) return mod;
  const out: Obj = { ...mod };
  if (Array.isArray(mod.resources)) {
    out.resources = mod.resources.map((res) =>
      isObj(res) ? { ...res, values: maskSensitive(res.values, res.sensitive_values) } : res,
    );
  }
  if (Array.isArray(mod.child_modules)) out.child_modules = mod.child_modules.map(redactModule);
  return out;
}

function redactOutputs(outputs: unknown): unknown {
  if (!isObj(outputs)) return outputs;
  const out: Obj = {};
  for (const [name, o] of Object.entries(outputs)) {
    out[name] = isObj(o) && o.sensitive === true ? { ...o, value: maskSensitive(o.value, true) } : o;
  }
  return out;
}

function redactValues(values: unknown): unknown {
  if (!isObj(values)) return values;
  const out: Obj = { ...values };
  if ('outputs' in values) out.outputs = redactOutputs(values.outputs);
  if ('root_module' in values) out.root_module = redactModule(values.root_module);
  return out;
}

function redactExpression(expr: unknown): unknown {
  if (!isObj(expr) || !('constant_value' in expr)) return expr;
  return { ...expr, constant_value: maskSensitive(expr.constant_value, true) };
}

/** Sensitive variable names of a configuration module, and the module redacted. */
function redactConfigModule(mod: unknown, sensitiveVars: Set<string>, prefix: string): unknown {
  if (!isObj(mod)) return mod;
  const out: Obj = { ...mod };
  if (isObj(mod.variables)) {
    const vars: Obj = {};
    for (const [name, v] of Object.entries(mod.variables)) {
      if (isObj(v) && v.sensitive === true) {
        if (prefix === '') sensitiveVars.add(name);
        vars[name] = 'default' in v ? { ...v, default: maskSensitive(v.default, true) } : v;
      } else {
        vars[name] = v;
      }
    }
    out.variables = vars;
  }
  if (isObj(mod.outputs)) {
    const outs: Obj = {};
    for (const [name, o] of Object.entries(mod.outputs)) {
      outs[name] =
        isObj(o) && o.sensitive === true ? { ...o, expression: redactExpression(o.expression) } : o;
    }
    out.outputs = outs;
  }
  if (isObj(mod.module_calls)) {
    const calls: Obj = {};
    for (const [name, call] of Object.entries(mod.module_calls)) {
      if (!isObj(call)) {
        calls[name] = call;
        continue;
      }
      const childVars = new Set<string>();
      const child = redactConfigModule(call.module, childVars, `${prefix}module.${name}.`);
      // A value passed into a module's sensitive variable is as sensitive as the variable.
      const sensitiveInputs = isObj(call.module) && isObj(call.module.variables) ? call.module.variables : {};
      let expressions = call.expressions;
      if (isObj(expressions)) {
        const ex: Obj = {};
        for (const [k, e] of Object.entries(expressions)) {
          const v = sensitiveInputs[k];
          ex[k] = isObj(v) && v.sensitive === true ? redactExpression(e) : e;
        }
        expressions = ex;
      }
      calls[name] = { ...call, module: child, expressions };
    }
    out.module_calls = calls;
  }
  return out;
}

/**
 * Returns a copy of a plan with every sensitive value replaced by {@link REDACTED}:
 * `before`/`after` under `before_sensitive`/`after_sensitive` (resource changes, drift, outputs),
 * `values` under `sensitive_values` (planned values, prior state, all modules), outputs marked
 * `sensitive`, variables declared `sensitive` (their value and default), values passed to a
 * module's sensitive variable, and generated import config that contains a sensitive value.
 * Unknown fields are copied unchanged. The input is not modified.
 */
export function redactPlan(plan: unknown): unknown {
  if (!isObj(plan)) return plan;
  const out: Obj = { ...plan };
  const sensitiveVars = new Set<string>();
  if ('configuration' in plan && isObj(plan.configuration)) {
    out.configuration = {
      ...plan.configuration,
      root_module: redactConfigModule(plan.configuration.root_module, sensitiveVars, ''),
    };
  }
  if (isObj(plan.variables)) {
    const vars: Obj = {};
    for (const [name, v] of Object.entries(plan.variables)) {
      vars[name] = sensitiveVars.has(name) && isObj(v) ? { ...v, value: maskSensitive(v.value, true) } : v;
    }
    out.variables = vars;
  }
  if ('resource_changes' in plan) out.resource_changes = redactResourceChanges(plan.resource_changes);
  if ('resource_drift' in plan) out.resource_drift = redactResourceChanges(plan.resource_drift);
  if (isObj(plan.output_changes)) {
    const oc: Obj = {};
    for (const [name, c] of Object.entries(plan.output_changes)) oc[name] = redactChange(c);
    out.output_changes = oc;
  }
  if ('planned_values' in plan) out.planned_values = redactValues(plan.planned_values);
  if (isObj(plan.prior_state))
    out.prior_state = { ...plan.prior_state, values: redactValues(plan.prior_state.values) };
  return out;
}

function leaves(value: unknown, into: Set<string>): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') {
    into.add(value);
    return;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    into.add(String(value));
    return;
  }
  if (Array.isArray(value)) value.forEach((v) => leaves(v, into));
  else if (isObj(value)) {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      leaves(v, into);
    }
  }
}

function collectMasked(value: unknown, mask: unknown, into: Set<string>): void {
  if (mask === true) {
    leaves(value, into);
    return;
  }
  if (typeof mask !== 'object' || mask === null || typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) value.forEach((v, i) => collectMasked(v, child(mask, i), into));
  else for (const [k, v] of Object.entries(value as Obj)) collectMasked(v, child(mask, k), into);
}

/**
 * Every sensitive leaf value of a plan as a string (and the keys of sensitive maps), so that
 * logs and error text can be scrubbed of them: the difference between a plan and
 * {@link redactPlan} of it. Booleans and numbers are included as their string form; callers
 * decide which are long enough to scrub.
 */
export function collectSensitiveValues(plan: unknown): string[] {
  const found = new Set<string>();
  if (!isObj(plan)) return [];
  const fromChanges = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const rc of list) {
      if (!isObj(rc) || !isObj(rc.change)) continue;
      collectMasked(rc.change.before, rc.change.before_sensitive, found);
      collectMasked(rc.change.after, rc.change.after_sensitive, found);
    }
  };
  fromChanges(plan.resource_changes);
  fromChanges(plan.resource_drift);
  if (isObj(plan.output_changes)) {
    for (const c of Object.values(plan.output_changes)) {
      if (!isObj(c)) continue;
      collectMasked(c.before, c.before_sensitive, found);
      collectMasked(c.after, c.after_sensitive, found);
    }
  }
  // Whatever redactPlan removes elsewhere (values, outputs, variables, defaults) is sensitive too.
  const redacted = redactPlan(plan);
  diffLeaves(plan, redacted, found);
  return Array.from(found);
}

function diffLeaves(original: unknown, redacted: unknown, into: Set<string>): void {
  if (redacted === REDACTED && original !== REDACTED) {
    leaves(original, into);
    return;
  }
  if (original === redacted) return; // unchanged subtree (shared reference)
  if (Array.isArray(original) && Array.isArray(redacted)) {
    original.forEach((v, i) => diffLeaves(v, redacted[i], into));
  } else if (isObj(original) && isObj(redacted)) {
    for (const k of Object.keys(original)) diffLeaves(original[k], redacted[k], into);
  }
}
