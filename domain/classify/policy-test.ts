import { z } from 'zod';
import { classify } from './classify';
import type { Decision } from './decision';
import { ClassifyInputSchema, type ClassifyInput } from './input';
import type { DecisionTable } from './table';
import { ActionSchema, DriftClassSchema, RiskSchema } from './vocabulary';

/**
 * `driftplane policy test`: YAML test cases for decision tables, in the spirit of `opa test`.
 * A file holds `cases`, each an input and the expected decision; `defaults` are deep-merged
 * under every case's input so cases stay short.
 */

/** What a case expects. Only the given fields are compared. */
export const PolicyExpectSchema = z.strictObject({
  driftClass: DriftClassSchema.optional(),
  recommendedAction: ActionSchema.optional(),
  autoHealAllowed: z.boolean().optional(),
  risk: RiskSchema.optional(),
  autoHealRefusedBy: z.string().optional(),
  relationship: z.string().optional(),
  /** Rule ids that must be among the fired rules. */
  rulesFired: z.array(z.string()).optional(),
  /** Rule ids that must not fire. */
  rulesNotFired: z.array(z.string()).optional(),
});
/** A case's expectations. */
export type PolicyExpect = z.infer<typeof PolicyExpectSchema>;

/** One test case. `input` is validated with ClassifyInputSchema after `defaults` are merged in. */
export const PolicyCaseSchema = z.strictObject({
  name: z.string().min(1),
  ref: z.string().optional(),
  now: z.iso.datetime({ offset: true }).optional(),
  input: z.record(z.string(), z.unknown()),
  expect: PolicyExpectSchema.refine((e) => Object.keys(e).length > 0, {
    message: 'expect at least one field',
  }),
});
/** A test case. */
export type PolicyCase = z.infer<typeof PolicyCaseSchema>;

/** A test file. */
export const PolicyTestFileSchema = z.strictObject({
  apiVersion: z.literal('driftplane.dev/v1').optional(),
  kind: z.literal('DecisionTableTest').optional(),
  metadata: z.strictObject({ name: z.string().min(1), description: z.string().optional() }).optional(),
  /** A table file relative to this test file; the default table (or `--table`) when absent. */
  table: z.string().optional(),
  defaults: z.record(z.string(), z.unknown()).optional(),
  cases: z.array(PolicyCaseSchema).min(1),
});
/** A policy test file. */
export type PolicyTestFile = z.infer<typeof PolicyTestFileSchema>;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges `over` onto `base` (objects merge, everything else replaces). Pure. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(base[k], v);
  return out;
}

/** One difference between expected and actual. */
export interface PolicyMismatch {
  field: string;
  expected: unknown;
  actual: unknown;
}

/** The result of one case. */
export type PolicyCaseResult =
  | { status: 'pass'; name: string; decision: Decision }
  | { status: 'fail'; name: string; decision: Decision; mismatches: PolicyMismatch[] }
  | { status: 'invalid'; name: string; problems: { path: PropertyKey[]; message: string }[] };

/** Builds the classify input of a case (defaults merged), or the validation problems. */
export function caseInput(
  c: PolicyCase,
  defaults: Record<string, unknown> | undefined,
): { ok: true; input: ClassifyInput } | { ok: false; problems: { path: PropertyKey[]; message: string }[] } {
  const merged = deepMerge(defaults ?? {}, c.input);
  const parsed = ClassifyInputSchema.safeParse(merged);
  if (parsed.success) return { ok: true, input: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => ({ path: i.path, message: i.message })) };
}

/** Compares a decision with a case's expectations. */
export function compareDecision(expect: PolicyExpect, d: Decision): PolicyMismatch[] {
  const out: PolicyMismatch[] = [];
  const scalar: (keyof PolicyExpect & keyof Decision)[] = [
    'driftClass',
    'recommendedAction',
    'autoHealAllowed',
    'risk',
    'autoHealRefusedBy',
    'relationship',
  ];
  for (const k of scalar) {
    if (expect[k] !== undefined && expect[k] !== d[k])
      out.push({ field: k, expected: expect[k], actual: d[k] ?? null });
  }
  const fired = d.reasons.map((r) => r.ruleId);
  const missing = (expect.rulesFired ?? []).filter((r) => !fired.includes(r));
  if (missing.length > 0) out.push({ field: 'rulesFired', expected: expect.rulesFired, actual: fired });
  const unwanted = (expect.rulesNotFired ?? []).filter((r) => fired.includes(r));
  if (unwanted.length > 0)
    out.push({ field: 'rulesNotFired', expected: `none of ${unwanted.join(', ')}`, actual: fired });
  return out;
}

/** Runs one case against a table. */
export function runPolicyCase(
  c: PolicyCase,
  defaults: Record<string, unknown> | undefined,
  table: DecisionTable,
): PolicyCaseResult {
  const built = caseInput(c, defaults);
  if (!built.ok) return { status: 'invalid', name: c.name, problems: built.problems };
  const decision = classify(built.input, table, c.now !== undefined ? { now: new Date(c.now) } : {});
  const mismatches = compareDecision(c.expect, decision);
  return mismatches.length === 0
    ? { status: 'pass', name: c.name, decision }
    : { status: 'fail', name: c.name, decision, mismatches };
}

/** A readable expected/actual diff of a failed case. */
export function formatMismatches(mismatches: readonly PolicyMismatch[]): string[] {
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return mismatches.flatMap((m) => [
    `${m.field}:`,
    `  - expected: ${show(m.expected)}`,
    `  + actual:   ${show(m.actual)}`,
  ]);
}
