/**
 * Scrubbing of secrets out of free text (tool stderr, log lines, error messages) before it is
 * logged, returned from an activity or stored as evidence. A thin face of domain/redaction: the
 * credential shapes and the replacement format are that module's.
 */
import { keylessRedactor, MIN_LITERAL_LENGTH, REDACTED, type Redactor } from '../redaction';

export { NON_SECRET_ENV_KEYS, secretEnvValues } from '../redaction';

/** What a scrubbed secret is replaced with when the redactor has no installation key. */
export const SCRUBBED = REDACTED;

/** Shortest literal secret that is scrubbed; shorter values would destroy the text around them. */
export const MIN_SECRET_LENGTH = MIN_LITERAL_LENGTH;

/** A function that returns its input with every known secret replaced. */
export type Scrubber = (text: string) => string;

/**
 * Builds a scrubber for a set of literal secrets (e.g. the env values given to a process and the
 * plan's sensitive values) plus every credential shape of domain/redaction. Literals shorter than
 * {@link MIN_SECRET_LENGTH} are ignored; longer ones are replaced first so that a secret
 * containing another is removed whole.
 */
export function createScrubber(secrets: Iterable<string> = [], redactor: Redactor = keylessRedactor): Scrubber {
  return redactor.scrubber(secrets);
}
