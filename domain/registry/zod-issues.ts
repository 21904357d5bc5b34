import type { z } from 'zod';
import { joinPointer } from './paths';

/** A schema problem at a path of the document, with the rule id and a message that says what was expected. */
export interface SchemaProblem {
  rule: string;
  path: (string | number)[];
  message: string;
  /** Point at the key (unknown fields) rather than the value. */
  atKey?: boolean;
}

type Issue = z.core.$ZodIssue;
type Def = {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  in?: z.ZodType;
};

function defOf(s: z.ZodType): Def {
  return (s as unknown as { _zod: { def: Def } })._zod.def;
}

/** The keys an object schema accepts at `path` (best effort through optional/default/array/union), for "did you mean". */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let current: z.ZodType[] = [schema];
  const unwrap = (s: z.ZodType): z.ZodType[] => {
    const d = defOf(s);
    if (d.innerType) return unwrap(d.innerType);
    if (d.type === 'pipe' && d.in) return unwrap(d.in);
    if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
    return [s];
  };
  for (const seg of path) {
    const next: z.ZodType[] = [];
    for (const s of current.flatMap(unwrap)) {
      const d = defOf(s);
      if (d.type === 'object' && d.shape && typeof seg === 'string' && d.shape[seg]) next.push(d.shape[seg]);
      if (d.type === 'array' && d.element && typeof seg === 'number') next.push(d.element);
    }
    current = next;
  }
  const keys = new Set<string>();
  for (const s of current.flatMap(unwrap)) {
    const d = defOf(s);
    if (d.type === 'object' && d.shape) for (const k of Object.keys(d.shape)) keys.add(k);
  }
  return [...keys];
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = tmp;
    }
  }
  return row[b.length] as number;
}

/** The closest candidate to `word` when it is plausibly a typo of it. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `"${v.length > 60 ? `${v.slice(0, 57)}...` : v}"`;
  return `${typeof v} ${String(v)}`;
}

const typeNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

function toPath(p: readonly PropertyKey[]): (string | number)[] {
  return p.map((s) => (typeof s === 'symbol' ? String(s) : s));
}

/**
 * Turns zod issues into problems a person can act on: the JSON path, the rule id and what was
 * expected (with "did you mean" for a misspelt field). Refinements carry their rule in `params.rule`.
 */
export function schemaProblems(
  issues: readonly Issue[],
  value: unknown,
  schema: z.ZodType,
  base: readonly PropertyKey[] = [],
): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  for (const issue of issues) {
    const path = toPath([...base, ...issue.path]);
    const actual = valueAt(value, path);
    switch (issue.code) {
      case 'invalid_type': {
        const expected = typeNames[issue.expected] ?? issue.expected;
        if (actual === undefined)
          out.push({ rule: 'required', path, message: `required field is missing (expected ${expected})` });
        else
          out.push({
            rule: path[0] === 'apiVersion' ? 'api-version' : 'invalid-type',
            path,
            message: `expected ${expected}, got ${describe(actual)}`,
          });
        break;
      }
      case 'invalid_value': {
        const rule = path[0] === 'apiVersion' ? 'api-version' : 'invalid-value';
        const values = issue.values.map((v) => String(v));
        const hint = typeof actual === 'string' ? suggest(actual, values) : undefined;
        out.push({
          rule,
          path,
          message: `expected ${values.length === 1 ? values[0] : `one of: ${values.join(', ')}`}, got ${describe(actual)}${hint ? ` (did you mean ${hint}?)` : ''}`,
        });
        break;
      }
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, path);
        for (const key of issue.keys) {
          const hint = suggest(key, known);
          out.push({
            rule: 'unknown-field',
            path: [...path, key],
            atKey: true,
            message: `unknown field "${key}"${hint ? ` (did you mean ${hint}?)` : known.length ? ` (expected one of: ${known.join(', ')})` : ''}`,
          });
        }
        break;
      }
      case 'invalid_union': {
        if ('discriminator' in issue && issue.discriminator !== undefined) {
          const options = (issue as unknown as { options?: unknown[] }).options ?? [];
          out.push({
            rule: 'invalid-value',
            path,
            message: `expected one of: ${options.map(String).join(', ')}, got ${describe(actual)}`,
          });
          break;
        }
        const branches = issue.errors;
        // The branch that got past the type check explains the problem best (e.g. a string that fails its pattern).
        const typed = branches.find(
          (b) => b.length > 0 && !b.some((i) => i.code === 'invalid_type' && i.path.length === 0),
        );
        if (actual === undefined)
          out.push({ rule: 'required', path, message: `required field is missing (${issue.message === 'Invalid input' ? 'expected a value' : issue.message})` });
        else if (issue.message !== 'Invalid input')
          out.push({ rule: 'invalid-format', path, message: `${issue.message}, got ${describe(actual)}` });
        else if (typed) out.push(...schemaProblems(typed, value, schema, path));
        else out.push({ rule: 'invalid-type', path, message: `unexpected value ${describe(actual)}` });
        break;
      }
      case 'invalid_format':
        out.push({ rule: 'invalid-format', path, message: `${issue.message}, got ${describe(actual)}` });
        break;
      case 'too_small':
      case 'too_big':
        out.push({
          rule: 'out-of-range',
          path,
          message: issue.message.startsWith('Too')
            ? `${issue.message.replace(/^Too (small|big): /, '')}, got ${describe(actual)}`
            : issue.message,
        });
        break;
      case 'custom': {
        const rule = (issue.params as { rule?: string } | undefined)?.rule ?? 'invalid';
        out.push({ rule, path, message: issue.message });
        break;
      }
      default:
        out.push({ rule: 'invalid', path, message: issue.message });
    }
  }
  return out;
}

/** The JSON pointer of a schema problem's path. */
export function problemPointer(p: SchemaProblem): string {
  return joinPointer(p.path);
}
