import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { InputError } from '../errors';
import type { DriftObservation, FieldChange } from '../finding';
import { parsePointer } from '../json-pointer';
import { isMetadataKey, isSecretDataKey, isSecretKey as isBuiltInSecretKey } from './keys';
import { DEFAULT_TEXT_RULES, isRedactionToken, REDACTION_TOKEN_SOURCE, literalReplacer, patternRules, secretFlagName, type TextRule } from './text';

/** What a secret is replaced with when the redactor has no installation key. */
export const REDACTED = '[REDACTED]';

/** Hex digits of the HMAC kept in a fingerprint (64 bits: collisions are not a practical concern). */
export const FINGERPRINT_HEX_LENGTH = 16;

/** Shortest installation key accepted (128 bits). */
export const MIN_REDACTION_KEY_BYTES = 16;

/** Extra patterns (a RedactionPolicy's spec): they add to the built-in rules, never remove any. */
export interface RedactionPatterns {
  /** Regular expressions tested (case-insensitively) against keys, env names and flag names. */
  keyPatterns?: readonly string[];
  /** Regular expressions searched (case-sensitively) in every string; each match is replaced. */
  valuePatterns?: readonly string[];
}

/** How to build a redactor. */
export interface RedactorOptions extends RedactionPatterns {
  /**
   * The installation's redaction key. With it, a secret becomes `[REDACTED hmac:<16 hex>]`
   * (HMAC-SHA256 of the value under the key): equal values compare equal, changed values differ,
   * and nobody without the key can test guesses. Without it, `[REDACTED]`.
   */
  key?: Uint8Array;
}

/** Where a value sits: the resource's type and the JSON pointer of the value in the resource. */
export interface RedactionContext {
  resourceType?: string;
  /** JSON pointer of the value inside its resource (`/spec/template/...`); the root when absent. */
  path?: string;
}

/**
 * The one redaction of driftplane: every detector, the plan path, the evidence records and the
 * log scrubbers use it, so that a secret has one definition and one replacement format.
 */
export interface Redactor {
  /** True when secrets become keyed fingerprints (an installation key is set). */
  readonly keyed: boolean;
  /** The replacement of a secret value: `[REDACTED hmac:…]`, or `[REDACTED]` without a key. */
  fingerprint(value: unknown): string;
  /** A JSON value with every secret inside it replaced (recursively; see docs/redaction.md). Idempotent. */
  value(value: unknown, ctx?: RedactionContext): unknown;
  /** A value that is secret as a whole (Terraform marks it sensitive): one replacement, keys and all. */
  whole(value: unknown): unknown;
  /** Free text (an error message, a log line) with every credential shape and every given literal replaced. */
  text(text: string, literals?: Iterable<string>): string;
  /** {@link Redactor.text} with the literals compiled once: for scrubbing many lines of one process's output. */
  scrubber(literals?: Iterable<string>): (text: string) => string;
  /** One diff entry: its path decides as much as what is inside its values. The path stays. */
  fieldChange(change: FieldChange, resourceType?: string): FieldChange;
  /** A whole observation: every diff entry and the detector's error text. Paths and changedFields stay. */
  observation(o: DriftObservation): DriftObservation;
  /** The secrets a value holds, as strings (whole values and the credential parts of strings), for scrubbing text. */
  collect(value: unknown, ctx?: RedactionContext): string[];
  /** The same redactor, calling `onSecret` with every secret it replaces (to collect what to scrub from logs). */
  tracking(onSecret: (secret: unknown) => void): Redactor;
  /** True when a key names a secret (built-in rules plus configured key patterns). */
  isSecretKey(key: string): boolean;
}

/** How deep in a structure a value is secret: not at all, by its key (metadata keys below are shown), or wholly. */
type Level = 'none' | 'key' | 'all';

/** Splits a text around the redaction tokens already in it (odd indexes are tokens). */
const TOKEN_SPLIT = new RegExp(`(${REDACTION_TOKEN_SOURCE})`);

const DOMAIN_SEPARATOR = 'driftplane-redaction-v1\n';
const MAX_DEPTH = 100;
/** Strings longer than this are not parsed as embedded JSON (they are still scanned as text). */
const MAX_EMBEDDED_JSON = 1 << 20;

/** A stable JSON text of a value: object keys sorted, so equal values fingerprint equally. */
function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

function compile(patterns: readonly string[] | undefined, flags: string, field: string): RegExp[] {
  return (patterns ?? []).map((p, i) => {
    try {
      return new RegExp(p, flags);
    } catch (err) {
      throw new InputError(`not a valid regular expression: ${(err as Error).message}`, { field: `/${field}/${i}` });
    }
  });
}

/**
 * Every leaf of a secret value as a string, and the keys of its objects (a sensitive map's keys
 * are as secret as its values): what to scrub from text once the value was found secret.
 */
export function secretLeaves(value: unknown, into: { add(s: string): unknown } = new Set<string>()): { add(s: string): unknown } {
  if (value === null || value === undefined) return into;
  if (Array.isArray(value)) value.forEach((v) => secretLeaves(v, into));
  else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      into.add(k);
      secretLeaves(v, into);
    }
  } else into.add(String(value));
  return into;
}

/** A value's pointer tokens; `/` (how detectors name a whole resource) is the root. */
function tokensOf(path: string | undefined): string[] {
  if (path === undefined || path === '' || path === '/') return [];
  try {
    return parsePointer(path);
  } catch {
    return [path];
  }
}

/** Builds a redactor: the built-in rules, plus the configured patterns, with or without a key. */
export function createRedactor(options: RedactorOptions = {}): Redactor {
  if (options.key !== undefined && options.key.length < MIN_REDACTION_KEY_BYTES) {
    throw new InputError(`the redaction key must have at least ${MIN_REDACTION_KEY_BYTES} bytes, got ${options.key.length}`);
  }
  const key = options.key ? Uint8Array.from(options.key) : undefined;
  const extraKeys = compile(options.keyPatterns, 'i', 'keyPatterns');
  const extraValues = compile(options.valuePatterns, 'g', 'valuePatterns');
  const rules: readonly TextRule[] = [...DEFAULT_TEXT_RULES, ...patternRules(extraValues)];
  const isSecretKey = (k: string): boolean => isBuiltInSecretKey(k, extraKeys);

  const fingerprint = (value: unknown): string => {
    if (!key) return REDACTED;
    const mac = hmac(sha256, key, utf8ToBytes(DOMAIN_SEPARATOR + canonicalJson(value)));
    return `[REDACTED hmac:${bytesToHex(mac).slice(0, FINGERPRINT_HEX_LENGTH)}]`;
  };

  const levelAfter = (level: Level, k: string, depth: number, resourceType: string | undefined): Level => {
    if (level === 'all') return 'all';
    if (depth === 0 && isSecretDataKey(k, resourceType)) return 'all';
    if (isSecretKey(k)) return 'key';
    if (level === 'key' && isMetadataKey(k)) return 'none';
    return level;
  };

  /** The name of a `{name, value}` / `{key, value}` pair when it names a secret (Kubernetes env, tags). */
  const pairNamesSecret = (obj: Record<string, unknown>): boolean => {
    for (const holder of ['name', 'key', 'Name', 'Key']) {
      const n = obj[holder];
      if (typeof n === 'string' && isSecretKey(n)) return true;
    }
    return false;
  };

  /** A redactor that calls `onSecret` with every secret it replaces (to collect them for scrubbing). */
  const make = (onSecret?: (secret: unknown) => void): Redactor => {
    const replace = (secret: unknown): string => {
      onSecret?.(secret);
      return fingerprint(secret);
    };

    const scrubberOf = (literals?: Iterable<string>) => {
      const lit = literals ? literalReplacer(literals) : undefined;
      // Rules run on the text between tokens already in it, so a second pass changes nothing.
      return (text: string): string =>
        text
        .split(TOKEN_SPLIT)
        .map((segment, i) => {
          if (i % 2 === 1 || segment === '') return segment;
          let out = lit ? lit(segment, replace) : segment;
          for (const rule of rules) out = rule.apply(out, { replace, isSecretKey });
          return out;
        })
        .join('');
    };
    const textOf = (text: string, literals?: Iterable<string>): string => scrubberOf(literals)(text);

    const stringOf = (s: string, nesting: number): string => {
      const t = s.trimStart();
      // JSON inside a string (an IAM policy, an ECS container definition, a last-applied annotation):
      // judged by its structure, and re-serialized only when something in it was secret.
      if ((t.startsWith('{') || t.startsWith('[')) && s.length <= MAX_EMBEDDED_JSON && nesting < MAX_DEPTH) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(s);
        } catch {
          parsed = undefined;
        }
        if (parsed !== undefined) {
          const text = JSON.stringify(walk(parsed, 'none', 1, nesting + 1, undefined));
          return text === JSON.stringify(parsed) ? s : text;
        }
      }
      return textOf(s);
    };

    function walk(value: unknown, level: Level, depth: number, nesting: number, resourceType: string | undefined): unknown {
      if (value === null || value === undefined || typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        if (isRedactionToken(value)) return value;
        return level === 'none' ? stringOf(value, nesting) : replace(value);
      }
      if (typeof value === 'number' || typeof value === 'bigint') return level === 'none' ? value : replace(value);
      if (nesting > MAX_DEPTH) return replace(value);
      if (Array.isArray(value)) {
        let flagged = false;
        return value.map((x: unknown) => {
          // `["--password", "x"]`: the argument after a secret flag is the secret.
          const lv: Level = flagged ? 'all' : level;
          flagged = level !== 'all' && typeof x === 'string' && secretFlagName(x, isSecretKey);
          return walk(x, lv, depth + 1, nesting + 1, resourceType);
        });
      }
      if (typeof value === 'object') {
        const obj = value as Record<string, unknown>;
        const namedSecret = level !== 'all' && pairNamesSecret(obj);
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(obj)) {
          let lv = levelAfter(level, k, depth, resourceType);
          if (namedSecret && (k === 'value' || k === 'Value')) lv = 'all';
          out[k] = walk(x, lv, depth + 1, nesting + 1, resourceType);
        }
        return out;
      }
      return replace(value);
    }

    const valueOf = (value: unknown, ctx?: RedactionContext): unknown => {
      const tokens = tokensOf(ctx?.path);
      let level: Level = 'none';
      tokens.forEach((t, i) => (level = levelAfter(level, t, i, ctx?.resourceType)));
      return walk(value, level, tokens.length, 0, ctx?.resourceType);
    };

    const fieldChange = (change: FieldChange, resourceType?: string): FieldChange => {
      const ctx = { path: change.path, ...(resourceType !== undefined ? { resourceType } : {}) };
      const out: FieldChange = { path: change.path, kind: change.kind };
      if ('desired' in change) out.desired = valueOf(change.desired, ctx);
      if ('actual' in change) out.actual = valueOf(change.actual, ctx);
      return out;
    };

    return {
      keyed: key !== undefined,
      fingerprint,
      value: valueOf,
      whole: (value) => (value === null || value === undefined || isRedactionToken(value) ? value : replace(value)),
      text: textOf,
      scrubber: scrubberOf,
      fieldChange,
      observation: (o) => ({
        ...o,
        diff: o.diff.map((c) => fieldChange(c, o.resourceType)),
        ...(o.detectorError !== undefined ? { detectorError: textOf(o.detectorError) } : {}),
      }),
      collect(value, ctx) {
        const found = new Set<string>();
        make((secret) => secretLeaves(secret, found)).value(value, ctx);
        return [...found];
      },
      tracking: make,
      isSecretKey,
    };
  };

  return make();
}

/** A redactor without an installation key: secrets become `[REDACTED]`. For code paths that have no key (tools, tests). */
export const keylessRedactor: Redactor = createRedactor();
