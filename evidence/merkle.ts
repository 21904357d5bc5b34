/**
 * The Merkle tree of RFC 6962 §2.1 (as RFC 9162 §2.1 restates it), written out because it is
 * small: leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right), the tree
 * split at the largest power of two below its size. Inclusion and consistency proofs are built
 * and verified exactly as the RFCs describe, and test/unit/evidence-merkle.test.ts checks them
 * against the Certificate Transparency test vectors.
 */
import { createHash } from 'node:crypto';

/** Bytes of one hash. */
export const HASH_BYTES = 32;

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

/** The hash of a leaf: SHA-256(0x00 || leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0), leaf);
}

/** The hash of an inner node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), left, right);
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = sha256();

/** The largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * A tree over leaf hashes held in memory, with every complete subtree hashed once, so a root,
 * an inclusion proof or a consistency proof of any size up to the number of leaves costs
 * O(log² n) hashing.
 */
export class MerkleTree {
  /** levels[l][k]: the root of the complete subtree over leaves [k·2^l, (k+1)·2^l). */
  private readonly levels: Uint8Array[][];

  constructor(leafHashes: readonly Uint8Array[]) {
    this.levels = [[...leafHashes]];
    for (let l = 0; this.levels[l]!.length > 1; l++) {
      const below = this.levels[l]!;
      const up: Uint8Array[] = [];
      for (let k = 0; k + 1 < below.length; k += 2) up.push(nodeHash(below[k]!, below[k + 1]!));
      this.levels.push(up);
    }
  }

  /** How many leaves the tree holds. */
  get size(): number {
    return this.levels[0]!.length;
  }

  /** The hash of leaf `index`. */
  leaf(index: number): Uint8Array {
    const h = this.levels[0]![index];
    if (!h) throw new RangeError(`no leaf ${index} in a tree of ${this.size}`);
    return h;
  }

  /** MTH(D[lo:hi]) of RFC 6962. */
  private hash(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (n === 0) return EMPTY_ROOT;
    const level = Math.log2(n);
    if (Number.isInteger(level) && lo % n === 0) {
      const stored = this.levels[level]?.[lo / n];
      if (stored) return stored;
    }
    const k = splitPoint(n);
    return nodeHash(this.hash(lo, lo + k), this.hash(lo + k, hi));
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size)
      throw new RangeError(`tree size ${size} is not between 0 and ${this.size}`);
  }

  /** The root of the tree of the first `size` leaves (default: all). */
  root(size = this.size): Uint8Array {
    this.checkSize(size);
    return this.hash(0, size);
  }

  /** PATH(index, D[size]) of RFC 6962 §2.1.1: the audit path of leaf `index` in the tree of `size` leaves. */
  inclusionProof(index: number, size = this.size): Uint8Array[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size)
      throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
    const path = (m: number, lo: number, hi: number): Uint8Array[] => {
      if (hi - lo === 1) return [];
      const k = splitPoint(hi - lo);
      return m < k
        ? [...path(m, lo, lo + k), this.hash(lo + k, hi)]
        : [...path(m - k, lo + k, hi), this.hash(lo, lo + k)];
    };
    return path(index, 0, size);
  }

  /** PROOF(from, D[to]) of RFC 6962 §2.1.2: proves the tree of `to` leaves extends the tree of `from`. */
  consistencyProof(from: number, to = this.size): Uint8Array[] {
    this.checkSize(to);
    if (!Number.isSafeInteger(from) || from < 0 || from > to)
      throw new RangeError(`tree size ${from} is not between 0 and ${to}`);
    if (from === 0 || from === to) return [];
    const sub = (m: number, lo: number, hi: number, complete: boolean): Uint8Array[] => {
      if (m === hi - lo) return complete ? [] : [this.hash(lo, hi)];
      const k = splitPoint(hi - lo);
      return m <= k
        ? [...sub(m, lo, lo + k, complete), this.hash(lo + k, hi)]
        : [...sub(m - k, lo + k, hi, false), this.hash(lo, lo + k)];
    };
    return sub(from, 0, to, true);
  }
}

const lsb = (n: number): boolean => n % 2 === 1;

/**
 * Verifies an inclusion proof as RFC 9162 §2.1.3.2 describes: true when `leaf` (a leaf hash) is
 * leaf `index` of the tree of `size` leaves whose root is `root`.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== HASH_BYTES || proof.some((p) => p.length !== HASH_BYTES)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, root);
}

/**
 * Verifies a consistency proof as RFC 9162 §2.1.4.2 describes: true when the tree of `size2`
 * leaves with root `root2` extends the tree of `size1` leaves with root `root1`.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1)
    return false;
  if (size1 === size2) return proof.length === 0 && equal(root1, root2);
  // Every tree extends the empty tree.
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0 || proof.some((p) => p.length !== HASH_BYTES)) return false;
  const path = Number.isInteger(Math.log2(size1)) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (lsb(fn)) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (lsb(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!lsb(fn))
        while (!lsb(fn) && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, root1) && equal(sr, root2);
}

/**
 * The right edge of a tree: the roots of its complete subtrees, largest first (a "compact
 * range" from 0). Enough to append leaves and compute the root without the leaves before, so a
 * new checkpoint reads only the leaves added since the last one.
 */
export class CompactRange {
  constructor(
    public size = 0,
    public readonly hashes: Uint8Array[] = [],
  ) {
    const expected = [...size.toString(2)].filter((b) => b === '1').length;
    if (hashes.length !== expected)
      throw new RangeError(`a compact range of size ${size} has ${expected} hashes, not ${hashes.length}`);
  }

  /** Adds the next leaf (its leaf hash). */
  append(leaf: Uint8Array): void {
    this.hashes.push(leaf);
    // Merge equal-sized subtrees: one per trailing 1 bit of the old size.
    for (let s = this.size; lsb(s); s = Math.floor(s / 2)) {
      const right = this.hashes.pop()!;
      const left = this.hashes.pop()!;
      this.hashes.push(nodeHash(left, right));
    }
    this.size += 1;
  }

  /** The root of the tree so far. */
  root(): Uint8Array {
    if (this.hashes.length === 0) return EMPTY_ROOT;
    let r = this.hashes[this.hashes.length - 1]!;
    for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeHash(this.hashes[i]!, r);
    return r;
  }
}
