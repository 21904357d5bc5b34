import { keylessRedactor, REDACTED, secretLeaves, type Redactor } from '../redaction';

/**
 * Redaction of `tofu show -json` plan output, for anything that keeps or prints the raw plan
 * (evidence, logs, error messages): what Terraform/OpenTofu marks sensitive, and, by the rules of
 * domain/redaction, every other secret in it (secret-named attributes, `{name, value}` pairs,
 * credentials inside strings, a Secret's data). One replacement format for both: `[REDACTED]`,
 * or `[REDACTED hmac:…]` with the installation's redactor.
 */

/** What a sensitive value is replaced with by the keyless redactor (domain/redaction's format). */
export { REDACTED };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function child(mask: unknown, key: string | number): unknown {
  if (typeof mask !== 'object' || mask === null) return undefined;
  return (mask as Record<string | number, unknown>)[key];
}

/**
 * Replaces every part of `value` that `mask` (a `*_sensitive` / `sensitive_values` structure) marks
 * `true`, as a whole (a sensitive map's keys go too).
 */
export function maskSensitive(value: unknown, mask: unknown, redactor: Redactor = keylessRedactor): unknown {
  if (mask === true) return redactor.whole(value);
  if (typeof mask !== 'object' || mask === null) return value;
  if (Array.isArray(value)) return value.map((v, i) => maskSensitive(v, child(mask, i), redactor));
  if (isObj(value)) {
    const out: Obj = {};
    for (const k of Object.keys(value)) out[k] = maskSensitive(value[k], child(mask, k), redactor);
    return out;
  }
  return value;
}

function hasSensitivity(mask: unknown): boolean {
  if (mask === true) return true;
  if (typeof mask !== 'object' || mask === null) return false;
  return Object.values(mask as Obj).some(hasSensitivity);
}

function redactChange(change: unknown, r: Redactor): unknown {
  if (!isObj(change)) return change;
  const out: Obj = { ...change };
  if ('before' in change) out.before = maskSensitive(change.before, change.before_sensitive, r);
  if ('after' in change) out.after = maskSensitive(change.after, change.after_sensitive, r);
  // Generated import configuration is HCL text with the values inlined.
  if (
    typeof change.generated_config === 'string' &&
    (hasSensitivity(change.after_sensitive) || hasSensitivity(change.before_sensitive))
  ) {
    out.generated_config = r.whole(change.generated_config);
  }
  return out;
}

function redactResourceChanges(list: unknown, r: Redactor): unknown {
  if (!Array.isArray(list)) return list;
  return list.map((rc) => (isObj(rc) ? { ...rc, change: redactChange(rc.change, r) } : rc));
}

function redactModule(mod: unknown, r: Redactor): unknown {
  if (!isObj(mod)) return mod;
  const out: Obj = { ...mod };
  if (Array.isArray(mod.resources)) {
    out.resources = mod.resources.map((res) =>
      isObj(res) ? { ...res, values: maskSensitive(res.values, res.sensitive_values, r) } : res,
    );
  }
  if (Array.isArray(mod.child_modules)) out.child_modules = mod.child_modules.map((m) => redactModule(m, r));
  return out;
}

function redactOutputs(outputs: unknown, r: Redactor): unknown {
  if (!isObj(outputs)) return outputs;
  const out: Obj = {};
  for (const [name, o] of Object.entries(outputs)) {
    out[name] = isObj(o) && o.sensitive === true ? { ...o, value: r.whole(o.value) } : o;
  }
  return out;
}

function redactValues(values: unknown, r: Redactor): unknown {
  if (!isObj(values)) return values;
  const out: Obj = { ...values };
  if ('outputs' in values) out.outputs = redactOutputs(values.outputs, r);
  if ('root_module' in values) out.root_module = redactModule(values.root_module, r);
  return out;
}

function redactExpression(expr: unknown, r: Redactor): unknown {
  if (!isObj(expr) || !('constant_value' in expr)) return expr;
  return { ...expr, constant_value: r.whole(expr.constant_value) };
}

/** Sensitive variable names of a configuration module, and the module redacted. */
function redactConfigModule(mod: unknown, sensitiveVars: Set<string>, prefix: string, r: Redactor): unknown {
  if (!isObj(mod)) return mod;
  const out: Obj = { ...mod };
  if (isObj(mod.variables)) {
    const vars: Obj = {};
    for (const [name, v] of Object.entries(mod.variables)) {
      if (isObj(v) && v.sensitive === true) {
        if (prefix === '') sensitiveVars.add(name);
        vars[name] = 'default' in v ? { ...v, default: r.whole(v.default) } : v;
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
        isObj(o) && o.sensitive === true ? { ...o, expression: redactExpression(o.expression, r) } : o;
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
      const child = redactConfigModule(call.module, childVars, `${prefix}module.${name}.`, r);
      // A value passed into a module's sensitive variable is as sensitive as the variable.
      const sensitiveInputs = isObj(call.module) && isObj(call.module.variables) ? call.module.variables : {};
      let expressions = call.expressions;
      if (isObj(expressions)) {
        const ex: Obj = {};
        for (const [k, e] of Object.entries(expressions)) {
          const v = sensitiveInputs[k];
          ex[k] = isObj(v) && v.sensitive === true ? redactExpression(e, r) : e;
        }
        expressions = ex;
      }
      calls[name] = { ...call, module: child, expressions };
    }
    out.module_calls = calls;
  }
  return out;
}

/** Resource entries (a `type` with `values` or a `change`): their values are judged with their type (a Secret's data). */
function redactResources(node: unknown, r: Redactor, depth = 0): unknown {
  if (depth > 64) return node;
  if (Array.isArray(node)) return node.map((n) => redactResources(n, r, depth + 1));
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) out[k] = redactResources(v, r, depth + 1);
  if (typeof node.type === 'string' && ('values' in node || isObj(node.change))) {
    const resourceType = node.type;
    if ('values' in node) out.values = r.value(out.values, { resourceType });
    if (isObj(out.change)) {
      const change: Obj = { ...out.change };
      if ('before' in change) change.before = r.value(change.before, { resourceType });
      if ('after' in change) change.after = r.value(change.after, { resourceType });
      out.change = change;
    }
  }
  return out;
}

/**
 * Returns a copy of a plan with every secret replaced by the redactor's token (`[REDACTED]`
 * without an installation key, `[REDACTED hmac:…]` with one). First what the plan marks
 * sensitive, each as a whole: `before`/`after` under `before_sensitive`/`after_sensitive`
 * (resource changes, drift, outputs), `values` under `sensitive_values` (planned values, prior
 * state, all modules), outputs marked `sensitive`, variables declared `sensitive` (their value and
 * default), values passed to a module's sensitive variable, and generated import config that
 * contains a sensitive value. Then, by domain/redaction's rules, every other secret anywhere in the
 * plan (secret-named attributes and variables, `{name, value}` pairs, credentials inside strings, a
 * Secret's data). Unknown fields are kept; the input is not modified.
 */
export function redactPlan(plan: unknown, redactor: Redactor = keylessRedactor): unknown {
  if (!isObj(plan)) return redactor.value(plan);
  const r = redactor;
  const out: Obj = { ...plan };
  const sensitiveVars = new Set<string>();
  if ('configuration' in plan && isObj(plan.configuration)) {
    out.configuration = {
      ...plan.configuration,
      root_module: redactConfigModule(plan.configuration.root_module, sensitiveVars, '', r),
    };
  }
  if (isObj(plan.variables)) {
    const vars: Obj = {};
    for (const [name, v] of Object.entries(plan.variables)) {
      vars[name] = sensitiveVars.has(name) && isObj(v) ? { ...v, value: r.whole(v.value) } : v;
    }
    out.variables = vars;
  }
  if ('resource_changes' in plan) out.resource_changes = redactResourceChanges(plan.resource_changes, r);
  if ('resource_drift' in plan) out.resource_drift = redactResourceChanges(plan.resource_drift, r);
  if (isObj(plan.output_changes)) {
    const oc: Obj = {};
    for (const [name, c] of Object.entries(plan.output_changes)) oc[name] = redactChange(c, r);
    out.output_changes = oc;
  }
  if ('planned_values' in plan) out.planned_values = redactValues(plan.planned_values, r);
  if (isObj(plan.prior_state))
    out.prior_state = { ...plan.prior_state, values: redactValues(plan.prior_state.values, r) };
  // What the plan does not mark: each resource's values with its type, then everything else.
  return r.value(redactResources(out, r));
}

/**
 * Every secret of a plan as a string (whole sensitive values, their leaves and the keys of
 * sensitive maps, and the secrets domain/redaction finds), so that logs and error text can be
 * scrubbed of them: exactly what {@link redactPlan} replaces. Booleans and numbers are included as
 * their string form; callers decide which are long enough to scrub.
 */
export function collectSensitiveValues(plan: unknown, redactor: Redactor = keylessRedactor): string[] {
  const found = new Set<string>();
  redactPlan(plan, redactor.tracking((secret) => secretLeaves(secret, found)));
  return Array.from(found);
}
