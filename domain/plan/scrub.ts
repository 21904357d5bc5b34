/**
 * Scrubbing of secrets out of free text (tool stderr, log lines, error messages) before it is
 * logged, returned from an activity or stored as evidence.
 */

/** What a scrubbed secret is replaced with. */
export const SCRUBBED = '***';

/** Patterns of well-known credentials, scrubbed whatever the caller passes in. */
export const SECRET_PATTERNS: readonly RegExp[] = [
  /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b/g, // AWS access key ids
  /((?:aws_secret_access_key|aws_session_token|secretaccesskey|sessiontoken|secret_key|client_secret|password|token)["']?\s*[:=]\s*["']?)[^\s"',]{8,}/gi,
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, // GitHub tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, // Slack tokens
  /(\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}/g,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/**
 * Environment variables whose values are not secrets and are too common to scrub (scrubbing
 * "us-east-1" or "1" everywhere would make logs unreadable).
 */
export const NON_SECRET_ENV_KEYS: ReadonlySet<string> = new Set([
  'PATH',
  'HOME',
  'USER',
  'LANG',
  'LC_ALL',
  'TZ',
  'TMPDIR',
  'TERM',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ENDPOINT_URL',
  'TF_IN_AUTOMATION',
  'TF_INPUT',
  'TF_LOG',
  'TF_PLUGIN_CACHE_DIR',
  'TF_DATA_DIR',
]);

/** Shortest literal secret that is scrubbed; shorter values would destroy the text around them. */
export const MIN_SECRET_LENGTH = 4;

/** A function that returns its input with every known secret replaced by {@link SCRUBBED}. */
export type Scrubber = (text: string) => string;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Builds a scrubber for a set of literal secrets (e.g. the env values given to a process and the
 * plan's sensitive values) plus {@link SECRET_PATTERNS}. Literals shorter than
 * {@link MIN_SECRET_LENGTH} are ignored; longer ones are replaced first so that a secret
 * containing another is removed whole.
 */
export function createScrubber(secrets: Iterable<string> = []): Scrubber {
  const literals = Array.from(new Set(Array.from(secrets).filter((s) => s.length >= MIN_SECRET_LENGTH))).sort(
    (a, b) => b.length - a.length,
  );
  const literalRe = literals.length > 0 ? new RegExp(literals.map(escapeRegExp).join('|'), 'g') : undefined;
  return (text: string): string => {
    let out = literalRe ? text.replace(literalRe, SCRUBBED) : text;
    for (const re of SECRET_PATTERNS) {
      out = out.replace(re, (match: string, prefix: unknown) =>
        typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}${SCRUBBED}` : SCRUBBED,
      );
    }
    return out;
  };
}

/** The values of an environment that are worth scrubbing: all but {@link NON_SECRET_ENV_KEYS}. */
export function secretEnvValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !NON_SECRET_ENV_KEYS.has(k)) out.push(v);
  return out;
}
