import { PolicyDocumentError } from './errors';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sorts object keys recursively so that equal documents serialize equally. */
export function canonicalJson(value: unknown): Json {
  if (Array.isArray(value)) return value.map(canonicalJson);
  if (isRecord(value)) {
    const out: Record<string, Json> = {};
    for (const k of Object.keys(value).sort()) out[k] = canonicalJson(value[k]);
    return out;
  }
  if (value === undefined) return null;
  return value as Json;
}

const stable = (v: unknown): string => JSON.stringify(canonicalJson(v));

/** A string or list of strings as a sorted, de-duplicated list (IAM treats `"a"` and `["a"]` alike). */
function stringSet(v: unknown): unknown {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return [...new Set(v as string[])].sort();
  return v;
}

function normalizePrincipal(v: unknown): unknown {
  if (!isRecord(v)) return v; // "*" stays "*"
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = stringSet(v[k]);
  return out;
}

function normalizeCondition(v: unknown): unknown {
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const op of Object.keys(v).sort()) {
    const byKey = v[op];
    if (!isRecord(byKey)) {
      out[op] = byKey;
      continue;
    }
    const keys: Record<string, unknown> = {};
    for (const k of Object.keys(byKey).sort()) {
      const val = byKey[k];
      // Condition values are compared as strings by IAM: true and "true" are the same value.
      const asStrings = (Array.isArray(val) ? val : [val]).map((x) =>
        typeof x === 'string' ? x : JSON.stringify(x),
      );
      keys[k] = [...new Set(asStrings)].sort();
    }
    out[op] = keys;
  }
  return out;
}

function normalizeStatement(s: unknown): unknown {
  if (!isRecord(s)) return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (['Action', 'NotAction', 'Resource', 'NotResource'].includes(k)) out[k] = stringSet(v);
    else if (k === 'Principal' || k === 'NotPrincipal') out[k] = normalizePrincipal(v);
    else if (k === 'Condition') out[k] = normalizeCondition(v);
    else out[k] = v;
  }
  return canonicalJson(out);
}

/** Parses a policy document as state or IAM gives it: JSON text, or URL-encoded JSON text (IAM's GetRole). */
export function parsePolicyText(text: string, attribute: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try {
    return JSON.parse(trimmed);
  } catch {
    // IAM returns documents URL-encoded (RFC 3986); decode once and try again.
  }
  try {
    return JSON.parse(decodeURIComponent(trimmed));
  } catch (err) {
    throw new PolicyDocumentError(`not a JSON policy document (${(err as Error).message})`, attribute);
  }
}

/**
 * Normalizes an IAM policy document for semantic comparison: URL-decodes it when needed, turns a
 * single Statement into a list, single strings into sorted sets (Action, Resource, Principal
 * values, Condition values), sorts statements and keys. Two documents IAM treats as equal compare
 * equal; whitespace, key order and `"a"` vs `["a"]` never show up as drift.
 */
export function normalizePolicyDocument(doc: unknown, attribute = 'policy'): Json {
  const value = typeof doc === 'string' ? parsePolicyText(doc, attribute) : doc;
  if (value === null || value === undefined) return null;
  if (!isRecord(value)) throw new PolicyDocumentError('a policy document must be a JSON object', attribute);
  const out: Record<string, unknown> = { ...value };
  if ('Statement' in value) {
    const list = Array.isArray(value.Statement) ? value.Statement : [value.Statement];
    out.Statement = list
      .map(normalizeStatement)
      .sort((a, b) => (stable(a) < stable(b) ? -1 : stable(a) > stable(b) ? 1 : 0));
  }
  return canonicalJson(out);
}

/** True when two policy documents (text, URL-encoded text or objects) are semantically equal. */
export function policyDocumentsEqual(a: unknown, b: unknown): boolean {
  return stable(normalizePolicyDocument(a)) === stable(normalizePolicyDocument(b));
}
