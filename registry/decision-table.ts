import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import {
  DecisionTableMergeError,
  DecisionTableOverridesSchema,
  DecisionTableSchema,
  mergeDecisionTable,
  type DecisionRule,
  type DecisionTable,
  type DecisionTableOverrides,
} from '../domain/classify';
import { InputError, ToolError, type InputLocation } from '../domain/errors';
import { yamlValue } from './yaml-value';

/**
 * Reads decision tables from disk: the default table shipped in the repository, or a user's
 * table, validated with DecisionTableSchema; registry overrides are merged by rule id.
 * Errors name file:line:column and the field.
 */

/** Where the default decision table lives. */
export const defaultDecisionTablePath = path.resolve(
  __dirname,
  '../domain/classify/default-decision-table.yaml',
);

/** A parsed YAML/JSON document with what is needed to name lines of fields. */
export interface LocatedDocument {
  file: string;
  value: unknown;
  /** The 1-based line and column of a field path (nearest enclosing node when the field is missing). */
  locate(fieldPath: readonly PropertyKey[]): { line?: number; column?: number };
}

/** Parses YAML (or JSON, which is YAML) keeping positions. Throws InputError on syntax errors. */
export function parseLocated(file: string, text: string): LocatedDocument {
  const lineCounter = new LineCounter();
  const at = (offset: number | undefined): InputLocation => {
    const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
    return { file, line: pos?.line, column: pos?.col };
  };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    // The parser reports its own limits as errors; anything it throws is still this file's fault.
    throw new InputError(`YAML cannot be parsed: ${(err as Error).message.split('\n')[0] ?? ''}`, { file });
  }
  const first = doc.errors[0];
  if (first) {
    const message = (first.message.split('\n')[0] ?? 'syntax error').replace(
      / at line \d+, column \d+:?$/,
      '',
    );
    throw new InputError(message, at(first.pos[0]));
  }
  const value = yamlValue(doc);
  if (!value.ok)
    throw new InputError(
      `YAML error (${value.code}): ${value.message}`,
      at(value.offset ?? doc.contents?.range?.[0]),
    );
  return {
    file,
    value: value.value,
    locate(fieldPath) {
      for (let n = fieldPath.length; n >= 0; n--) {
        const keys = fieldPath.slice(0, n).map((k) => (typeof k === 'symbol' ? String(k) : k));
        const node = n === 0 ? doc.contents : doc.getIn(keys, true);
        if (isNode(node) && node.range) {
          const p = lineCounter.linePos(node.range[0]);
          return { line: p.line, column: p.col };
        }
      }
      return {};
    },
  };
}

/** Turns zod issues into an InputError naming file:line and the field (a JSON pointer). */
export function zodInputError(doc: LocatedDocument, error: z.ZodError, what: string): InputError {
  const problems = error.issues.map((issue) => {
    const field = `/${issue.path.map(String).join('/')}`;
    const location: InputLocation = { file: doc.file, field, ...doc.locate(issue.path) };
    return { location, message: `${formatWhere(location)}: ${issue.message}` };
  });
  const first = problems[0];
  const rest = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new InputError(
    `invalid ${what}: ${first ? first.message.replace(/^.*?: /, '') : 'unknown problem'}${rest}`,
    first?.location ?? { file: doc.file },
    problems,
  );
}

function formatWhere(loc: InputLocation): string {
  return `${[loc.file, loc.line, loc.column].filter((x) => x !== undefined).join(':')} field ${loc.field ?? '/'}`;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR')
      throw new InputError(code === 'ENOENT' ? 'no such file' : 'is a directory', { file });
    throw new ToolError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Parses and validates a decision table from text. */
export function parseDecisionTable(file: string, text: string): DecisionTable {
  const doc = parseLocated(file, text);
  const parsed = DecisionTableSchema.safeParse(doc.value);
  if (!parsed.success) throw zodInputError(doc, parsed.error, 'decision table');
  return parsed.data;
}

let defaultTable: DecisionTable | undefined;

/**
 * Loads a decision table: the given file, or the default table when none is given (parsed once
 * per process). Throws InputError (file:line, field) when it is invalid.
 */
export function loadDecisionTable(file?: string): DecisionTable {
  if (file === undefined) {
    defaultTable ??= parseDecisionTable(defaultDecisionTablePath, readText(defaultDecisionTablePath));
    return defaultTable;
  }
  return parseDecisionTable(file, readText(file));
}

/** Parses and validates registry overrides of a decision table (a `DecisionTableOverrides` YAML file). */
export function loadDecisionTableOverrides(file: string): DecisionTableOverrides {
  const doc = parseLocated(file, readText(file));
  const parsed = DecisionTableOverridesSchema.safeParse(doc.value);
  if (!parsed.success) throw zodInputError(doc, parsed.error, 'decision table overrides');
  return parsed.data;
}

/**
 * Merges registry-provided rules into a table by rule id (replace in place, or add before the
 * catch-all / next to `before`/`after`), then re-validates the result.
 */
export function applyDecisionTableOverrides(
  table: DecisionTable,
  overrides: DecisionTableOverrides | readonly DecisionRule[],
  source = 'registry',
): DecisionTable {
  const o: DecisionTableOverrides = Array.isArray(overrides)
    ? { rules: [...(overrides as readonly DecisionRule[])], remove: [] }
    : (overrides as DecisionTableOverrides);
  let merged: DecisionTable;
  try {
    merged = mergeDecisionTable(table, o);
  } catch (err) {
    if (err instanceof DecisionTableMergeError)
      throw new InputError(err.message, { file: source, field: `/rules/${err.index}` });
    throw err;
  }
  const check = DecisionTableSchema.safeParse(merged);
  if (!check.success) {
    const issue = check.error.issues[0];
    throw new InputError(`merged decision table is invalid: ${issue?.message ?? 'unknown'}`, {
      file: source,
      field: `/${issue?.path.map(String).join('/') ?? ''}`,
    });
  }
  return check.data;
}

/** Loads a table (default when no file) and merges an overrides file when given. */
export function loadDecisionTableWith(file?: string, overridesFile?: string): DecisionTable {
  const table = loadDecisionTable(file);
  return overridesFile === undefined
    ? table
    : applyDecisionTableOverrides(table, loadDecisionTableOverrides(overridesFile), overridesFile);
}
