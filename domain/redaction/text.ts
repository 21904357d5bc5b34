/**
 * Credentials inside strings: the shapes a secret has whatever key it sits under, so that an arg
 * `--db-url=postgres://app:SECRET@db/app`, a header `Authorization: Bearer …` or a token pasted into
 * an annotation is caught. Only the credential part of a string is replaced; the rest stays readable
 * (`postgres://[REDACTED hmac:…]@db/app`).
 */

/** Replaces one secret found in a text and returns what stands in its place. */
export type ReplaceSecret = (secret: string) => string;

/** A redaction token: `[REDACTED]` (no installation key) or `[REDACTED hmac:<16 hex>]`. */
export const REDACTION_TOKEN_SOURCE = String.raw`\[REDACTED(?: hmac:[0-9a-f]{16})?\]`;
const TOKEN_ONLY = new RegExp(`^${REDACTION_TOKEN_SOURCE}$`);
const TOKEN_ANYWHERE = new RegExp(REDACTION_TOKEN_SOURCE);

/** True when a string is exactly a redaction token (already redacted: left as it is). */
export function isRedactionToken(value: unknown): boolean {
  return typeof value === 'string' && value.charCodeAt(0) === 91 /* [ */ && TOKEN_ONLY.test(value);
}

/** True when a string contains a redaction token anywhere. */
export function containsRedactionToken(value: string): boolean {
  return TOKEN_ANYWHERE.test(value);
}

/** What a rule needs besides the text: how to replace, and which keys are secret. */
export interface TextRuleContext {
  replace: ReplaceSecret;
  isSecretKey: (key: string) => boolean;
}

/** One shape of credential in a text. */
export interface TextRule {
  name: string;
  /** A cheap test that must hold for the rule to find anything (most strings fail it and skip the regex). */
  mayApply?: (text: string) => boolean;
  apply(text: string, ctx: TextRuleContext): string;
}

const once = (secret: string, ctx: TextRuleContext): string => (containsRedactionToken(secret) ? secret : ctx.replace(secret));

const always = (): boolean => true;

/** A rule that replaces each whole match. */
function whole(name: string, re: RegExp, mayApply: (text: string) => boolean = always, accept: (match: string) => boolean = always): TextRule {
  return { name, mayApply, apply: (text, ctx) => text.replace(re, (m: string) => (accept(m) ? once(m, ctx) : m)) };
}

/** A rule whose regex is `(prefix)(secret)`: the prefix stays, the secret is replaced. */
function afterPrefix(name: string, re: RegExp, mayApply: (text: string) => boolean = always, accept: (secret: string) => boolean = always): TextRule {
  return {
    name,
    mayApply,
    apply: (text, ctx) =>
      text.replace(re, (m: string, prefix: string, secret: string) => (accept(secret) ? `${prefix}${once(secret, ctx)}` : m)),
  };
}

const AUTH_SCHEMES = /^(bearer|basic|digest|negotiate|token)$/i;

/** A base64-ish credential after `Basic`, not an English word ("Basic authentication"). */
const looksEncoded = (c: string): boolean => /[0-9+/=]/.test(c) || (/[a-z]/.test(c.slice(1)) && /[A-Z]/.test(c.slice(1)));

/** The built-in credential shapes, applied in this order (a PEM block first: it contains base64 that other rules would split). */
export const DEFAULT_TEXT_RULES: readonly TextRule[] = [
  whole('pem-private-key', /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g, (t) => t.includes('PRIVATE KEY')),
  {
    // scheme://user:password@host: the whole userinfo goes (a user name can be a token too).
    name: 'url-userinfo',
    mayApply: (t) => t.includes('://') && t.includes('@'),
    apply: (text, ctx) =>
      text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#[\]"'<>]+:[^\s@/?#"'<>]*)@/gi, (_m: string, scheme: string, userinfo: string) => `${scheme}${once(userinfo, ctx)}@`),
  },
  afterPrefix(
    'authorization-header',
    /\b((?:proxy-)?authorization["']?[ \t]*[:=][ \t]*["']?)((?:(?:bearer|basic|digest|negotiate|token|aws4-hmac-sha256)[ \t]+)?[^\s"',;]+)/gi,
    (t) => /authorization/i.test(t),
  ),
  afterPrefix('bearer-token', /\b(bearer[ \t]+)([A-Za-z0-9._~+/=-]{8,})/gi, (t) => /bearer/i.test(t)),
  afterPrefix('basic-credentials', /\b(Basic[ \t]+)([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g, (t) => t.includes('Basic'), looksEncoded),
  whole('aws-access-key-id', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, (t) => t.includes('AKIA') || t.includes('ASIA')),
  whole('github-token', /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/g, (t) => t.includes('_') && t.includes('gh') || t.includes('github_pat_')),
  whole('slack-token', /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, (t) => t.includes('xox')),
  afterPrefix('slack-webhook', /(hooks\.slack\.com\/services\/)([A-Za-z0-9_/-]{8,})/g, (t) => t.includes('hooks.slack.com')),
  whole('jwt', /\beyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g, (t) => t.includes('eyJ')),
  {
    // key=value and key: value where the key is secret (`--db-password=…`, `token: …`, `?access_token=…`).
    name: 'secret-key-value',
    mayApply: (t) => t.includes('=') || t.includes(':'),
    apply: (text, ctx) =>
      /[=:]/.test(text)
        ? text.replace(
            /([A-Za-z_][A-Za-z0-9_.-]*)(["']?[ \t]*[:=][ \t]*)("[^"\n]*"|'[^'\n]*'|[^\s,;&"'<>(){}[\]]+)/g,
            (m: string, key: string, sep: string, value: string) => {
              if (!ctx.isSecretKey(key) || /authorization/i.test(key) || AUTH_SCHEMES.test(value)) return m;
              const quoted = value.length >= 2 && (value[0] === '"' || value[0] === "'");
              const inner = quoted ? value.slice(1, -1) : value;
              if (inner === '' || containsRedactionToken(inner)) return m;
              return quoted ? `${key}${sep}${value[0]}${ctx.replace(inner)}${value[0]}` : `${key}${sep}${ctx.replace(inner)}`;
            },
          )
        : text,
  },
];

/** Rules from configured value patterns (RedactionPolicy `valuePatterns`): every match is replaced whole. */
export function patternRules(patterns: readonly RegExp[]): TextRule[] {
  return patterns.map((re, i) => whole(`pattern-${i}`, new RegExp(re.source, re.flags.includes('g') ? re.flags : `${re.flags}g`)));
}

/** A flag that takes the next argument as its value: `--password`, `-token`, `--api-key`. */
export function secretFlagName(arg: string, isSecretKey: (key: string) => boolean): boolean {
  if (arg.charCodeAt(0) !== 45 /* - */) return false;
  const m = /^-{1,2}([A-Za-z][A-Za-z0-9_.-]*)$/.exec(arg);
  return m !== null && isSecretKey(m[1] as string);
}

/** Shortest literal secret that is replaced in free text; shorter ones would destroy the text around them. */
export const MIN_LITERAL_LENGTH = 4;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A function replacing known literal secrets (longest first, so a secret containing another goes whole). */
export function literalReplacer(literals: Iterable<string>): ((text: string, replace: ReplaceSecret) => string) | undefined {
  const list = [...new Set([...literals].filter((s) => s.length >= MIN_LITERAL_LENGTH && !isRedactionToken(s)))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return undefined;
  const re = new RegExp(list.map(escapeRegExp).join('|'), 'g');
  return (text, replace) => text.replace(re, (m: string) => replace(m));
}

/**
 * Environment variables whose values are not secrets and too common to scrub from logs
 * (scrubbing "us-east-1" or "1" everywhere would make them unreadable).
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

/** The values of an environment worth scrubbing from a child process's output: all but {@link NON_SECRET_ENV_KEYS}. */
export function secretEnvValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !NON_SECRET_ENV_KEYS.has(k)) out.push(v);
  return out;
}
