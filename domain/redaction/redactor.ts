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
  /**
   * The secrets a value holds, as strings (whole values and the credential parts of strings), for
   * scrubbing text. `text: false` collects only what the structure makes secret (keys, pairs, a
   * Secret's data), for a caller whose text scrubbing applies the string rules anyway.
   */
  collect(value: unknown, ctx?: RedactionContext, options?: { text?: boolean }): string[];
  /** The same redactor, calling `onSecret` with every secret it replaces (to collect what to scrub from logs). */
  tracking(onSecret: (secret: unknown) => void): Redactor;
  /** True when a key names a secret (built-in rules plus configured key patterns). */
  isSecretKey(key: string): boolean;
}

/** How deep in a structure a value is secret: not at all, by its key (metadata keys below are shown), or wholly. */
type Level = 'none' | 'key' | 'all';

/** Splits a text around the redaction tokens already in it (odd indexes are tokens). */
const TOKEN_SPLIT = new RegExp(`(${REDACTION_TOKEN_SOURCE})`);

/** Every key isSecretDataKey can accept contains one of these. */
const DATA_KEY_HINT = /data|Data|value|secret/;

/** Keys whose judgement a redactor remembers. */
const KEY_CACHE_SIZE = 10_000;

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
  // Judging a key splits it into words: remembered per key (manifests repeat the same few keys).
  const judged = new Map<string, { secret: boolean; metadata: boolean }>();
  const judge = (k: string): { secret: boolean; metadata: boolean } => {
    let j = judged.get(k);
    if (!j) {
      j = { secret: isBuiltInSecretKey(k, extraKeys), metadata: isMetadataKey(k) };
      if (judged.size < KEY_CACHE_SIZE) judged.set(k, j);
    }
    return j;
  };
  const isSecretKey = (k: string): boolean => judge(k).secret;

  const fingerprint = (value: unknown): string => {
    if (!key) return REDACTED;
    const mac = hmac(sha256, key, utf8ToBytes(DOMAIN_SEPARATOR + canonicalJson(value)));
    return `[REDACTED hmac:${bytesToHex(mac).slice(0, FINGERPRINT_HEX_LENGTH)}]`;
  };

  const levelAfter = (level: Level, k: string, depth: number, resourceType: string | undefined): Level => {
    if (level === 'all') return 'all';
    // Only a resource's own top-level keys can be its data (a cheap test first: most keys are not).
    if (depth === 0 && DATA_KEY_HINT.test(k) && isSecretDataKey(k, resourceType)) return 'all';
    const j = judge(k);
    if (j.secret) return 'key';
    if (level === 'key' && j.metadata) return 'none';
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

  /**
   * A redactor that calls `onSecret` with every secret it replaces (to collect them for scrubbing).
   * `build: false` walks without building the redacted copy (collecting only); `scanText: false`
   * leaves strings to the structure's rules only.
   */
  const make = (onSecret?: (secret: unknown) => void, mode: { build: boolean; scanText: boolean } = { build: true, scanText: true }): Redactor => {
    const replace = (secret: unknown): string => {
      onSecret?.(secret);
      return fingerprint(secret);
    };

    const scrubberOf = (literals?: Iterable<string>) => {
      const lit = literals ? literalReplacer(literals) : undefined;
      const scrub = (segment: string): string => {
        let out = lit ? lit(segment, replace) : segment;
        for (const rule of rules) if (!rule.mayApply || rule.mayApply(out)) out = rule.apply(out, { replace, isSecretKey });
        return out;
      };
      // Rules run on the text between tokens already in it, so a second pass changes nothing.
      return (text: string): string =>
        text.includes('[REDACTED')
          ? text
              .split(TOKEN_SPLIT)
              .map((segment, i) => (i % 2 === 1 || segment === '' ? segment : scrub(segment)))
              .join('')
          : scrub(text);
    };
    const plain = scrubberOf();
    const textOf = (text: string, literals?: Iterable<string>): string => (literals ? scrubberOf(literals)(text) : plain(text));

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
      return plain(s);
    };

    function walk(value: unknown, level: Level, depth: number, nesting: number, resourceType: string | undefined): unknown {
      if (value === null || value === undefined || typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        if (isRedactionToken(value)) return value;
        if (level !== 'none') return replace(value);
        return mode.scanText ? stringOf(value, nesting) : value;
      }
      if (typeof value === 'number' || typeof value === 'bigint') return level === 'none' ? value : replace(value);
      if (nesting > MAX_DEPTH) return replace(value);
      if (Array.isArray(value)) {
        // A loop, not a closure per array: this runs for every array of every manifest.
        const out: unknown[] | undefined = mode.build ? new Array<unknown>(value.length) : undefined;
        let flagged = false;
        for (let i = 0; i < value.length; i++) {
          const x: unknown = value[i];
          // `["--password", "x"]`: the argument after a secret flag is the secret.
          const lv: Level = flagged ? 'all' : level;
          flagged = level !== 'all' && typeof x === 'string' && secretFlagName(x, isSecretKey);
          const v = walk(x, lv, depth + 1, nesting + 1, resourceType);
          if (out) out[i] = v;
        }
        return out ?? value;
      }
      if (typeof value === 'object') {
        const obj = value as Record<string, unknown>;
        const namedSecret = level !== 'all' && pairNamesSecret(obj);
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(obj)) {
          let lv = levelAfter(level, k, depth, resourceType);
          if (namedSecret && (k === 'value' || k === 'Value')) lv = 'all';
          const v = walk(x, lv, depth + 1, nesting + 1, resourceType);
          if (mode.build) out[k] = v;
        }
        return mode.build ? out : value;
      }
      return replace(value);
    }

    const valueOf = (value: unknown, ctx?: RedactionContext): unknown => {
      const tokens = tokensOf(ctx?.path);
      let level: Level = 'none';
      for (let i = 0; i < tokens.length; i++) level = levelAfter(level, tokens[i] as string, i, ctx?.resourceType);
      return walk(value, level, tokens.length, 0, ctx?.resourceType);
    };

    const fieldChange = (change: FieldChange, resourceType?: string): FieldChange => {
      const ctx = { path: change.path, ...(resourceType !== undefined ? { resourceType } : {}) };
      const out: FieldChange = { path: change.path, kind: change.kind };
      if ('desired' in change) out.desired = valueOf(change.desired, ctx);
      if ('actual' in change) out.actual = valueOf(change.actual, ctx);
      return out;
    };

    /** The free-text fields of an observation's joined context (errors, refs, reasons) are scrubbed like error text. */
    const contextOf = (c: NonNullable<DriftObservation['context']>): NonNullable<DriftObservation['context']> => ({
      ...c,
      ...(c.reconcile ? { reconcile: { ...c.reconcile, ...(c.reconcile.lastError !== undefined ? { lastError: textOf(c.reconcile.lastError) } : {}) } } : {}),
      ...(c.unjoined ? { unjoined: c.unjoined.map((t) => textOf(t)) } : {}),
      ...(c.dependency ? { dependency: { ref: textOf(c.dependency.ref), why: textOf(c.dependency.why) } } : {}),
      ...(c.matchingChange ? { matchingChange: { ...c.matchingChange, ref: textOf(c.matchingChange.ref) } } : {}),
      ...(c.conditions ? { conditions: c.conditions.map((t) => textOf(t)) } : {}),
    });
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
        ...(o.context ? { context: contextOf(o.context) } : {}),
      }),
      collect: (value, ctx, options) => collect(value, ctx, options?.text ?? true),
      tracking: (onSecret) => make(onSecret),
      isSecretKey,
    };
  };

  // Collecting walks with one of two redactors made once (making one per call costs more than a
  // small walk); `sink` says where this call's secrets go. Synchronous, so never shared by two calls.
  let sink: Set<string> | undefined;
  const toSink = (secret: unknown): void => {
    if (sink) secretLeaves(secret, sink);
  };
  const collectors = { text: make(toSink, { build: false, scanText: true }), structure: make(toSink, { build: false, scanText: false }) };
  const collect = (value: unknown, ctx: RedactionContext | undefined, text: boolean): string[] => {
    const found = new Set<string>();
    const outer = sink;
    sink = found;
    try {
      (text ? collectors.text : collectors.structure).value(value, ctx);
    } finally {
      sink = outer;
    }
    return [...found];
  };

  return make();
}

/** A redactor without an installation key: secrets become `[REDACTED]`. For code paths that have no key (tools, tests). */
export const keylessRedactor: Redactor = createRedactor();
