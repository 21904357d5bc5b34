import { isSecretPointer } from './categories';
import type { ClassifyInput } from './input';

/**
 * Secrets never appear in any output (issue 4 hard rule; domain text §5.7, §17). Classification
 * never copies before/after values into a decision; as a second line of defence, every value
 * found under a secret-ish path of the input (or anywhere in a Secret's values) is scrubbed from
 * the free text of the decision, and `key=value` style secrets in error messages are masked.
 */

/** The replacement for a redacted value. */
export const REDACTED = '[REDACTED]';

const MIN_SECRET_LENGTH = 4;

function collect(value: unknown, underSecret: boolean, out: Set<string>, depth: number): void {
  if (depth > 64) return;
  if (typeof value === 'string') {
    if (underSecret && value.length >= MIN_SECRET_LENGTH) out.add(value);
    return;
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    if (underSecret && String(value).length >= MIN_SECRET_LENGTH) out.add(String(value));
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, underSecret, out, depth + 1);
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      collect(v, underSecret || isSecretPointer(`/${k}`), out, depth + 1);
    }
  }
}

/** Secret values carried by an input (under secret-ish keys of before/after/liveObject, or any value of a Secret). */
export function secretValuesOf(input: ClassifyInput): string[] {
  const out = new Set<string>();
  const whole =
    /(^|\/)(secret|externalsecret|sealedsecret)$|^aws_secretsmanager_secret_version$|^kubernetes_secret/i.test(
      input.change.resourceType,
    );
  collect(input.change.before, whole, out, 0);
  collect(input.change.after, whole, out, 0);
  collect(input.liveObject, false, out, 0);
  // Longest first, so a secret containing another is replaced whole.
  return [...out].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

const KEY_VALUE =
  /((?:password|passwd|secret|token|api[-_]?key|private[-_]?key|credential|client[-_]?secret)[\w-]*\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;

/** Masks `password=…`-style values and any of the given secret values in a text. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = /[=:]/.test(text) ? text.replace(KEY_VALUE, `$1${REDACTED}`) : text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}
