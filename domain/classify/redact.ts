import { isSecretResourceType, keylessRedactor, REDACTED } from '../redaction';
import type { ClassifyInput } from './input';

/**
 * Secrets never appear in any output (issue 4 hard rule; domain text §5.7, §17). Classification
 * never copies before/after values into a decision; as a second line of defence, every value the
 * redaction rules (domain/redaction) call secret in the input's before/after/liveObject (or any
 * value of a Secret-like resource) is scrubbed from the free text of the decision, and so is every
 * credential shape (`password=…`, bearer tokens, URL userinfo, ...) in it.
 */

/** The replacement for a redacted value (the keyless form of domain/redaction's). */
export { REDACTED };

const WHOLE_SECRET_TYPE = /(^|\/)(secret|externalsecret|sealedsecret)$|^aws_secretsmanager_secret_version$|^kubernetes_secret/i;

function all(value: unknown, out: string[], depth = 0): void {
  if (depth > 64 || value === null || value === undefined) return;
  if (Array.isArray(value)) value.forEach((v) => all(v, out, depth + 1));
  else if (typeof value === 'object') Object.values(value as Record<string, unknown>).forEach((v) => all(v, out, depth + 1));
  else if (typeof value !== 'boolean') out.push(String(value));
}

/** Secret values carried by an input (by the redaction rules in before/after/liveObject, or any value of a Secret). */
export function secretValuesOf(input: ClassifyInput): string[] {
  const type = input.change.resourceType;
  const found: string[] = [];
  if (WHOLE_SECRET_TYPE.test(type) || isSecretResourceType(type)) {
    all(input.change.before, found);
    all(input.change.after, found);
  } else {
    // Credential shapes inside strings need no collecting: redactText applies those rules to the text itself.
    found.push(...keylessRedactor.collect(input.change.before, { resourceType: type }, { text: false }));
    found.push(...keylessRedactor.collect(input.change.after, { resourceType: type }, { text: false }));
  }
  found.push(...keylessRedactor.collect(input.liveObject, { resourceType: type }, { text: false }));
  // Longest first, so a secret containing another is replaced whole.
  return [...new Set(found)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** Masks credential shapes (`password=…`, tokens, URL userinfo) and any of the given secret values in a text. */
export function redactText(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return keylessRedactor.text(text);
  let scrub = scrubbers.get(secrets);
  if (!scrub) scrubbers.set(secrets, (scrub = keylessRedactor.scrubber(secrets)));
  return scrub(text);
}

/** One compiled scrubber per list of secrets (classification fills many values from one input). */
const scrubbers = new WeakMap<readonly string[], (text: string) => string>();
