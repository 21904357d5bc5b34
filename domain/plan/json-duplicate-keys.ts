import { toPointer } from '../json-pointer';

/**
 * Duplicate object keys in JSON text. `JSON.parse` silently keeps the last of two equal keys, so a
 * plan with `"resource_changes"` twice (or `"actions"` twice in one change) would be read as
 * whichever came last. This scanner finds them on the raw text. Pure, no Node built-ins.
 */

/** A key that occurs a second time in one JSON object. */
export interface DuplicateKey {
  /** The key after decoding its escapes: `"a\u0062"` and `"ab"` are the same key. */
  key: string;
  /** RFC 6901 pointer of the repeated member, e.g. `/resource_changes/0/change/actions`. */
  pointer: string;
  /** Offset of the second occurrence's opening quote, in UTF-16 code units from the start. */
  offset: number;
  /** 1-based line of the second occurrence. */
  line: number;
  /** 1-based column of the second occurrence, in UTF-16 code units. */
  column: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

// What each ASCII character means to the scan, outside strings: SKIP for all but six.
const SKIP = 0;
const STRING = 1;
const OPEN_OBJ = 2;
const OPEN_ARR = 3;
const CLOSE = 4;
const NEXT = 5;
const KIND = new Uint8Array(128);
for (const [ch, kind] of [
  ['"', STRING],
  ['{', OPEN_OBJ],
  ['[', OPEN_ARR],
  ['}', CLOSE],
  [']', CLOSE],
  [',', NEXT],
] as const) {
  KIND[ch.charCodeAt(0)] = kind;
}

/** Up to this many keys an object's keys are compared one by one; a Set is faster only beyond. */
const LINEAR_MAX = 16;

/** Index of the quote that closes the string opening at `start`, or `text.length` if none does. */
function stringEnd(text: string, start: number): number {
  let from = start + 1;
  for (;;) {
    const q = text.indexOf('"', from);
    if (q === -1) return text.length;
    // The quote is escaped when an odd number of backslashes stands right before it.
    let b = q - 1;
    while (b > start && text.charCodeAt(b) === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
    from = q + 1;
  }
}

function decodeKey(raw: string): string {
  if (raw.indexOf('\\') === -1) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw; // not valid JSON text: the scanner promises nothing then, but never throws
  }
}

/** 1-based line and column of an offset. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * The state of the scan, per nesting level (1 = the root container), in flat typed arrays that
 * grow with the depth: a plan has millions of small objects and this is the hot path.
 */
class Levels {
  /** 1 for an object, 0 for an array. */
  isObject = new Uint8Array(64);
  /** Keys seen so far in an object; the index of the current element in an array. */
  count = new Int32Array(64);
  /** Where the key whose value is being read starts, and its length (raw, in the text). */
  keyStart = new Int32Array(64);
  keyLength = new Int32Array(64);
  /** The first LINEAR_MAX keys of each open object: start, length and a cheap hash, by level. */
  starts = new Int32Array(64 * LINEAR_MAX);
  lengths = new Int32Array(64 * LINEAR_MAX);
  hashes = new Int32Array(64 * LINEAR_MAX);
  /** Decoded keys of an object that has more than LINEAR_MAX keys, or one with an escape. */
  sets: (Set<string> | undefined)[] = [];

  open(depth: number, isObject: boolean): void {
    if (depth >= this.isObject.length) this.grow();
    this.isObject[depth] = isObject ? 1 : 0;
    this.count[depth] = 0;
    this.sets[depth] = undefined;
  }

  private grow(): void {
    const twice = <T extends Uint8Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.isObject = twice(this.isObject);
    this.count = twice(this.count);
    this.keyStart = twice(this.keyStart);
    this.keyLength = twice(this.keyLength);
    this.starts = twice(this.starts);
    this.lengths = twice(this.lengths);
    this.hashes = twice(this.hashes);
  }
}

/**
 * Adds the key at [start, start + length) of `text` to the object open at `depth`; true when that
 * object already has it. `hash` and `escaped` come from the scan of the key.
 */
function addKey(
  text: string,
  lv: Levels,
  depth: number,
  start: number,
  length: number,
  hash: number,
  escaped: boolean,
): boolean {
  const seen = lv.count[depth]!;
  lv.count[depth] = seen + 1;
  let set = lv.sets[depth];
  if (set === undefined) {
    const base = depth * LINEAR_MAX;
    if (!escaped && seen < LINEAR_MAX) {
      // The common case: compare hashes and lengths, then characters, without making a string.
      for (let k = base; k < base + seen; k++) {
        if (
          lv.hashes[k] === hash &&
          lv.lengths[k] === length &&
          sameRange(text, lv.starts[k]!, start, length)
        ) {
          return true;
        }
      }
      lv.starts[base + seen] = start;
      lv.hashes[base + seen] = hash;
      lv.lengths[base + seen] = length;
      return false;
    }
    // Many keys, or an escape (two spellings of one key): compare decoded keys from now on.
    set = new Set();
    for (let k = base; k < base + Math.min(seen, LINEAR_MAX); k++) {
      set.add(decodeKey(text.slice(lv.starts[k]!, lv.starts[k]! + lv.lengths[k]!)));
    }
    lv.sets[depth] = set;
  }
  const key = decodeKey(text.slice(start, start + length));
  if (set.has(key)) return true;
  set.add(key);
  return false;
}

function sameRange(text: string, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (text.charCodeAt(a + k) !== text.charCodeAt(b + k)) return false;
  return true;
}

/**
 * The first key that occurs twice in the same object of `text`, or `undefined` when every
 * object's keys are distinct. Keys are compared after decoding escapes, as `JSON.parse` would.
 * Meant for text that `JSON.parse` accepts; on other text it still ends and never throws, but its
 * answer means nothing.
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const lv = new Levels();
  let depth = 0;
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    // Outside strings valid JSON is ASCII; whitespace, numbers, literals and ':' change nothing.
    const kind = c < 128 ? KIND[c]! : SKIP;
    if (kind === SKIP) {
      i++;
    } else if (kind === STRING) {
      if (!expectKey) {
        i = stringEnd(text, i) + 1; // a value: indexOf skips it fastest
        continue;
      }
      expectKey = false;
      // A key (short, as a rule): scan it here, hashing as we go.
      let j = i + 1;
      let hash = 0;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === QUOTE) break;
        if (d === BACKSLASH) {
          escaped = true;
          j += 2;
          continue;
        }
        hash = (Math.imul(hash, 31) + d) | 0;
        j++;
      }
      if (addKey(text, lv, depth, i + 1, j - i - 1, hash, escaped)) return duplicateAt(text, lv, depth, i, j);
      lv.keyStart[depth] = i + 1;
      lv.keyLength[depth] = j - i - 1;
      i = j + 1;
    } else if (kind === OPEN_OBJ || kind === OPEN_ARR) {
      depth++;
      lv.open(depth, kind === OPEN_OBJ);
      expectKey = kind === OPEN_OBJ;
      i++;
    } else if (kind === CLOSE) {
      if (depth > 0) depth--;
      expectKey = false;
      i++;
    } else {
      // A comma: the next key of an object, or the next element of an array.
      if (lv.isObject[depth] === 1) expectKey = true;
      else lv.count[depth]!++;
      i++;
    }
  }
  return undefined;
}

function duplicateAt(text: string, lv: Levels, depth: number, quote: number, end: number): DuplicateKey {
  const key = decodeKey(text.slice(quote + 1, end));
  const steps: (string | number)[] = [];
  for (let d = 1; d < depth; d++) {
    const s = lv.keyStart[d]!;
    steps.push(lv.isObject[d] === 1 ? decodeKey(text.slice(s, s + lv.keyLength[d]!)) : lv.count[d]!);
  }
  steps.push(key);
  return {
    key,
    pointer: toPointer(steps),
    offset: quote,
    ...lineAndColumn(text, quote),
  };
}
