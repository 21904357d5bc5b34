import { escapePointerToken, unescapePointerToken } from './json-pointer';

/** One difference between two JSON documents, at a JSON pointer (RFC 6901). */
export interface JsonDifference {
  path: string;
  kind: 'changed' | 'added' | 'removed';
}


const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Lists the JSON pointers where `desired` and `actual` differ, deepest first-level difference per
 * branch, sorted. Arrays are compared by index: list order is meaningful in the manifests we compare.
 */
export function diffJson(desired: unknown, actual: unknown, base = ''): JsonDifference[] {
  if (desired === actual) return [];
  if (Array.isArray(desired) && Array.isArray(actual)) {
    const out: JsonDifference[] = [];
    const n = Math.max(desired.length, actual.length);
    for (let i = 0; i < n; i++) {
      const path = `${base}/${i}`;
      if (i >= actual.length) out.push({ path, kind: 'removed' });
      else if (i >= desired.length) out.push({ path, kind: 'added' });
      else out.push(...diffJson(desired[i], actual[i], path));
    }
    return out;
  }
  if (isObject(desired) && isObject(actual)) {
    const keys = [...new Set([...Object.keys(desired), ...Object.keys(actual)])].sort();
    const out: JsonDifference[] = [];
    for (const key of keys) {
      const path = `${base}/${escapePointerToken(key)}`;
      if (!(key in actual)) out.push({ path, kind: 'removed' });
      else if (!(key in desired)) out.push({ path, kind: 'added' });
      else out.push(...diffJson(desired[key], actual[key], path));
    }
    return out;
  }
  return [{ path: base || '/', kind: 'changed' }];
}

/** Reads the value at a JSON pointer, or undefined when the path does not exist. */
export function valueAtPointer(doc: unknown, pointer: string): unknown {
  if (pointer === '' || pointer === '/') return doc;
  let cur: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const token = unescapePointerToken(raw);
    if (Array.isArray(cur)) cur = cur[Number(token)];
    else if (isObject(cur)) cur = cur[token];
    else return undefined;
  }
  return cur;
}
