import { InputError } from '../errors';
import type { InputLocation } from '../errors';
import { findDuplicateKey, lineAndColumn } from './json-duplicate-keys';
import { collectSensitiveValues } from './redact-plan';
import { createScrubber } from './scrub';

/**
 * Parses the text of `tofu show -json` output. Pure: the caller reads the file.
 *
 * - Text that is not JSON is an {@link InputError} naming `file`, the line and column where V8
 *   says the error is, and the reason (never V8's quote of the input, which could hold a secret).
 * - A key that occurs twice in one object is an {@link InputError} naming the key, its line and
 *   column, and the object as a JSON pointer: `JSON.parse` would silently keep the last one, so
 *   the plan could say two things and be read as one. Keys are compared after decoding escapes.
 *   The message is scrubbed of the plan's sensitive values (a sensitive map's keys are values).
 */
export function parsePlanJson(text: string, file?: string): unknown {
  const at = (loc: Omit<InputLocation, 'file'>): InputLocation => (file ? { file, ...loc } : loc);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const pos = jsonErrorPosition(text, message);
    throw new InputError(
      `not valid JSON (${jsonErrorReason(message)})`,
      at(pos === undefined ? {} : lineAndColumn(text, pos)),
    );
  }
  assertNoDuplicateKeys(text, value, file);
  return value;
}

/**
 * Throws an {@link InputError} when a key occurs twice in one object of `text` (see
 * {@link parsePlanJson}); `value` is `JSON.parse(text)`, whose sensitive values are scrubbed out
 * of the message.
 */
export function assertNoDuplicateKeys(text: string, value: unknown, file?: string): void {
  const dup = findDuplicateKey(text);
  if (!dup) return;
  const scrub = createScrubber(
    collectSensitiveValues(value).filter((v) => v !== 'true' && v !== 'false' && v !== 'null'),
  );
  const key = dup.key.length > 80 ? `${dup.key.slice(0, 80)}…` : dup.key;
  const field = scrub(dup.pointer);
  throw new InputError(
    scrub(`duplicate key ${JSON.stringify(key)} in one object (JSON.parse would keep only the last)`),
    file
      ? { file, line: dup.line, column: dup.column, field }
      : { line: dup.line, column: dup.column, field },
  );
}

// V8 either says "... in JSON at position N" or quotes ~10 characters either side of the error.
const QUOTED = /^Unexpected token '([\s\S])', (\.\.\.)?"([\s\S]*?)"(?:\.\.\.)? is not valid JSON$/;

function jsonErrorPosition(text: string, message: string): number | undefined {
  const at = /at position (\d+)/.exec(message);
  if (at?.[1] !== undefined) return Number(at[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  const q = QUOTED.exec(message);
  if (!q || q[1] === undefined || q[3] === undefined) return undefined;
  if (q[2] === undefined) return Math.max(0, q[3].indexOf(q[1]));
  const start = text.indexOf(q[3]);
  return start === -1 ? undefined : start + 10;
}

/** The reason without V8's quote of the input, which could carry a secret. */
function jsonErrorReason(message: string): string {
  const q = QUOTED.exec(message);
  if (q) return `unexpected token '${q[1]}'`;
  return message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/,?\s*".*$/s, '');
}
