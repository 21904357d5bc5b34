/**
 * JSON pointer helpers with `*` wildcards (one segment) and `**` (any number of segments), as
 * used by ownership rules, AutoHealPolicy paths and decision-table path conditions.
 */
import { unescapePointerToken } from '../json-pointer';

/** Splits a JSON pointer into unescaped segments (`""` is the whole document: no segments). */
export function pointerSegments(pointer: string): readonly string[] {
  let segs = segmentCache.get(pointer);
  if (segs === undefined) {
    segs =
      pointer === ''
        ? []
        : pointer
            .slice(1)
            .split('/')
            .map(unescapePointerToken);
    // Pointers repeat across rules and changes; a bounded cache keeps splitting off the hot path.
    if (segmentCache.size > 10_000) segmentCache.clear();
    segmentCache.set(pointer, segs);
  }
  return segs;
}

const segmentCache = new Map<string, readonly string[]>();

function matchSegments(
  pattern: readonly string[],
  pi: number,
  path: readonly string[],
  si: number,
  prefix: boolean,
): boolean {
  for (;;) {
    if (pi === pattern.length) return prefix ? true : si === path.length;
    const p = pattern[pi];
    if (p === '**') {
      for (let k = si; k <= path.length; k++)
        if (matchSegments(pattern, pi + 1, path, k, prefix)) return true;
      return false;
    }
    if (si === path.length) return false;
    if (p !== '*' && p !== path[si]) return false;
    pi++;
    si++;
  }
}

/**
 * True when `path` is `pattern` or lies beneath it (a rule for `/metadata/labels` covers
 * `/metadata/labels/team`). `*` matches one segment, `**` any number.
 */
export function pointerCovers(pattern: string, path: string): boolean {
  return matchSegments(pointerSegments(pattern), 0, pointerSegments(path), 0, true);
}

/** True when `path` matches `pattern` exactly (wildcards allowed, no prefix semantics). */
export function pointerEquals(pattern: string, path: string): boolean {
  return matchSegments(pointerSegments(pattern), 0, pointerSegments(path), 0, false);
}

/** How specific a pattern is: more literal segments win when two ownership rules cover a path. */
export function patternSpecificity(pattern: string): number {
  return pointerSegments(pattern).reduce((n, s) => n + (s === '**' ? 0 : s === '*' ? 1 : 2), 0);
}

/** Simple glob for names (resource types, kinds): `*` matches any run of characters; case-insensitive. */
export function globMatches(pattern: string, value: string): boolean {
  if (!pattern.includes('*')) return pattern.toLowerCase() === value.toLowerCase();
  let re = globCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
    globCache.set(pattern, re);
  }
  return re.test(value);
}

// Patterns come from a handful of tables; caching keeps classification cheaper than parsing.
const globCache = new Map<string, RegExp>();

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
