import { escapePointerToken } from '../json-pointer';

/**
 * The before/after halves of an OpenTofu/Terraform change representation (`change` of a
 * `resource_changes` or `resource_drift` entry), as far as path diffing needs them.
 */
export interface ChangeValues {
  before?: unknown;
  after?: unknown;
  /** Same shape as `after`; unknown leaves are `true`. */
  after_unknown?: unknown;
  /** Same shape as `before`; sensitive leaves (or whole subtrees) are `true`. */
  before_sensitive?: unknown;
  /** Same shape as `after`; sensitive leaves (or whole subtrees) are `true`. */
  after_sensitive?: unknown;
}

type Obj = Record<string, unknown>;
const EMPTY: Obj = Object.freeze({}) as Obj;
const EMPTY_ARR: readonly unknown[] = Object.freeze([]);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNil(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

function child(mask: unknown, key: string | number): unknown {
  if (typeof mask !== 'object' || mask === null) return undefined;
  return (mask as Record<string | number, unknown>)[key];
}

function allScalars(a: readonly unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/** Structural equality of JSON values; `null` and a missing key are equal. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isNil(a) || isNil(b)) return isNil(a) && isNil(b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObj(a)) {
    if (!isObj(b)) return false;
    for (const k in a) if (!jsonEqual(a[k], b[k])) return false;
    for (const k in b) if (!(k in a) && !isNil(b[k])) return false;
    return true;
  }
  return false;
}

function diffInto(out: string[], ptr: string, a: unknown, b: unknown, sa: unknown, sb: unknown): void {
  if (a === b) return;
  const aNil = isNil(a);
  const bNil = isNil(b);
  if (aNil && bNil) return;
  // A sensitive subtree is reported as one path: descending would print map keys, which are part of the value.
  if (sa === true || sb === true) {
    if (!jsonEqual(a, b)) out.push(ptr);
    return;
  }
  const aObj = isObj(a);
  const bObj = isObj(b);
  if (aObj || bObj) {
    if ((aObj || aNil) && (bObj || bNil)) {
      const ao = aObj ? a : EMPTY;
      const bo = bObj ? b : EMPTY;
      const mark = out.length;
      for (const k in ao) {
        diffInto(out, `${ptr}/${escapePointerToken(k)}`, ao[k], bo[k], child(sa, k), child(sb, k));
      }
      for (const k in bo) {
        if (!(k in ao))
          diffInto(out, `${ptr}/${escapePointerToken(k)}`, undefined, bo[k], child(sa, k), child(sb, k));
      }
      // null → {} (or an object of nulls) is still a change of this value.
      if (out.length === mark && (aNil || bNil)) out.push(ptr);
      return;
    }
    out.push(ptr);
    return;
  }
  const aArr = Array.isArray(a);
  const bArr = Array.isArray(b);
  if (aArr || bArr) {
    if ((aArr || aNil) && (bArr || bNil)) {
      const aa = aArr ? (a as unknown[]) : EMPTY_ARR;
      const ba = bArr ? (b as unknown[]) : EMPTY_ARR;
      // A list or set of scalars (cidr_blocks, security_groups) is one value: index-wise paths into it mean nothing.
      if (allScalars(aa) && allScalars(ba)) {
        if (aNil || bNil || !jsonEqual(aa, ba)) out.push(ptr);
        return;
      }
      const mark = out.length;
      const n = Math.max(aa.length, ba.length);
      for (let i = 0; i < n; i++) diffInto(out, `${ptr}/${i}`, aa[i], ba[i], child(sa, i), child(sb, i));
      if (out.length === mark && (aNil || bNil || aa.length !== ba.length)) out.push(ptr);
      return;
    }
    out.push(ptr);
    return;
  }
  out.push(ptr);
}

function unknownInto(out: string[], ptr: string, u: unknown, sa: unknown, sb: unknown): void {
  if (u === true) {
    out.push(ptr);
    return;
  }
  if (typeof u !== 'object' || u === null) return;
  if (sa === true || sb === true) {
    if (containsTrue(u)) out.push(ptr);
    return;
  }
  if (Array.isArray(u)) {
    for (let i = 0; i < u.length; i++) unknownInto(out, `${ptr}/${i}`, u[i], child(sa, i), child(sb, i));
    return;
  }
  const o = u as Obj;
  for (const k in o) unknownInto(out, `${ptr}/${escapePointerToken(k)}`, o[k], child(sa, k), child(sb, k));
}

function containsTrue(u: unknown): boolean {
  if (u === true) return true;
  if (typeof u !== 'object' || u === null) return false;
  if (Array.isArray(u)) return u.some(containsTrue);
  for (const k in u as Obj) if (containsTrue((u as Obj)[k])) return true;
  return false;
}

/**
 * JSON pointers (RFC 6901) of every place where `before` and `after` differ, plus every place
 * only known after apply (`after_unknown`), sorted and without duplicates.
 *
 * - `null` and a missing key are the same value.
 * - A list whose elements are all scalars is one value (`/ingress/0/cidr_blocks`, not `.../cidr_blocks/1`).
 * - A subtree marked sensitive in `before_sensitive` or `after_sensitive` is reported as its own
 *   path and never descended into, so no key or value inside it can reach the output.
 * - When a whole object appears or disappears (create, delete), every non-null leaf is a path;
 *   an object that only changes from null to empty is reported at its own pointer (`""` for the root).
 */
export function changedPaths(change: ChangeValues): string[] {
  const out: string[] = [];
  diffInto(out, '', change.before, change.after, change.before_sensitive, change.after_sensitive);
  unknownInto(out, '', change.after_unknown, change.before_sensitive, change.after_sensitive);
  if (out.length <= 1) return out;
  const sorted = Array.from(new Set(out)).sort();
  // The root pointer only says "the object appeared or vanished"; any other path says more.
  return sorted[0] === '' && sorted.length > 1 ? sorted.slice(1) : sorted;
}

/**
 * Cuts a path (a list of steps) at the first step a sensitivity mask marks `true`, so the result
 * names at most the sensitive attribute and nothing inside it.
 */
export function truncateAtSensitive(
  steps: readonly (string | number)[],
  ...masks: unknown[]
): (string | number)[] {
  const out: (string | number)[] = [];
  let current = masks;
  for (const step of steps) {
    if (current.some((m) => m === true)) return out;
    out.push(step);
    current = current.map((m) => child(m, step));
  }
  return out;
}
