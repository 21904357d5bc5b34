import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CompactRange,
  EMPTY_ROOT,
  leafHash,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from '../../evidence/merkle';

// RFC 6962 test vectors of Certificate Transparency, as transparency-dev/merkle keeps them:
// leaf inputs, node hashes and roots from testonly/constants.go; inclusion and consistency
// proofs from proof/verify_test.go (the same vectors as google/certificate-transparency's
// merkle_tree_test.cc). Written here as data; https://github.com/transparency-dev/merkle.
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const LEAF_INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
/** Roots of the trees of the first 1..8 leaves. */
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** Leaf hashes (level 0 of NodeHashes()). */
const LEAF_HASHES = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
  '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
  'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
  '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
];
const EMPTY_TREE = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Inclusion proofs: leaf is 1-based, as in the source. */
const INCLUSION: { leaf: number; size: number; proof: string[] }[] = [
  { leaf: 1, size: 1, proof: [] },
  {
    leaf: 1,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    leaf: 6,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    leaf: 2,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];
const CONSISTENCY: { size1: number; size2: number; proof: string[] }[] = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const tree = new MerkleTree(LEAF_INPUTS.map((l) => leafHash(hex(l))));
const rootOf = (size: number): Uint8Array => hex(ROOTS[size - 1]!);

describe('Merkle tree: the RFC 6962 test vectors', () => {
  it('leaf hashes, the empty root and the root of every size 1..8', () => {
    expect(LEAF_INPUTS.map((l) => toHex(leafHash(hex(l))))).toEqual(LEAF_HASHES);
    expect(toHex(EMPTY_ROOT)).toBe(EMPTY_TREE);
    expect(toHex(tree.root(0))).toBe(EMPTY_TREE);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => toHex(tree.root(n)))).toEqual(ROOTS);
  });

  it.each(INCLUSION)(
    'inclusion proof of leaf $leaf in a tree of $size: built as listed, and it verifies',
    (v) => {
      expect(tree.inclusionProof(v.leaf - 1, v.size).map(toHex)).toEqual(v.proof);
      expect(
        verifyInclusion(v.leaf - 1, v.size, tree.leaf(v.leaf - 1), v.proof.map(hex), rootOf(v.size)),
      ).toBe(true);
    },
  );

  it.each(CONSISTENCY)('consistency proof from $size1 to $size2: built as listed, and it verifies', (v) => {
    expect(tree.consistencyProof(v.size1, v.size2).map(toHex)).toEqual(v.proof);
    expect(verifyConsistency(v.size1, v.size2, rootOf(v.size1), rootOf(v.size2), v.proof.map(hex))).toBe(
      true,
    );
  });

  // The corruptions transparency-dev/merkle's verifier tests apply to each known-good proof.
  it.each(INCLUSION.filter((v) => v.proof.length > 0))(
    'a corrupted inclusion proof ($leaf of $size) never verifies',
    (v) => {
      const i = v.leaf - 1;
      const proof = v.proof.map(hex);
      const root = rootOf(v.size);
      const leaf = tree.leaf(i);
      const some = hex('abacaba000000000000000000000000000000000000000000060061e00123456');
      const probes: [number, number, Uint8Array, Uint8Array[], Uint8Array][] = [
        [i - 1, v.size, leaf, proof, root],
        [i + 1, v.size, leaf, proof, root],
        [i ^ 2, v.size, leaf, proof, root],
        [i, v.size * 2, leaf, proof, root],
        [i, Math.floor(v.size / 2), leaf, proof, root],
        [i, v.size, Buffer.from('WrongLeaf'), proof, root],
        [i, v.size, leaf, proof, hex(EMPTY_TREE)],
        [i, v.size, leaf, proof, some],
        [i, v.size, leaf, [...proof, new Uint8Array()], root],
        [i, v.size, leaf, [...proof, root], root],
        [i, v.size, leaf, [new Uint8Array(), ...proof], root],
        [i, v.size, leaf, [root, ...proof], root],
        [i, v.size, leaf, proof.slice(0, -1), root],
        ...proof.map((_, k): [number, number, Uint8Array, Uint8Array[], Uint8Array] => {
          const bad = proof.map((p) => Uint8Array.from(p));
          bad[k]![0]! ^= 8;
          return [i, v.size, leaf, bad, root];
        }),
      ];
      if (proof.length > 1) probes.push([i, v.size, leaf, [proof[0]!, some, ...proof.slice(1)], root]);
      for (const [index, size, l, p, r] of probes) expect(verifyInclusion(index, size, l, p, r)).toBe(false);
    },
  );

  it.each(CONSISTENCY.filter((v) => v.proof.length > 0))(
    'a corrupted consistency proof ($size1 to $size2) never verifies',
    (v) => {
      const proof = v.proof.map(hex);
      const [r1, r2] = [rootOf(v.size1), rootOf(v.size2)];
      const probes: [number, number, Uint8Array, Uint8Array, Uint8Array[]][] = [
        [v.size1 - 1, v.size2, r1, r2, proof],
        [v.size1 + 1, v.size2, r1, r2, proof],
        [v.size1 ^ 2, v.size2, r1, r2, proof],
        [v.size1, v.size2 * 2, r1, r2, proof],
        [v.size1, Math.floor(v.size2 / 2), r1, r2, proof],
        [v.size1, v.size2, Buffer.from('WrongRoot'), r2, proof],
        [v.size1, v.size2, r1, Buffer.from('WrongRoot'), proof],
        [v.size1, v.size2, r2, r1, proof],
        [v.size1, v.size2, r1, r2, []],
        [v.size1, v.size2, r1, r2, [...proof, new Uint8Array()]],
        [v.size1, v.size2, r1, r2, [...proof, r1]],
        [v.size1, v.size2, r1, r2, [...proof, r2]],
        [v.size1, v.size2, r1, r2, [new Uint8Array(), ...proof]],
        [v.size1, v.size2, r1, r2, [r1, ...proof]],
        [v.size1, v.size2, r1, r2, [r2, ...proof]],
        [v.size1, v.size2, r1, r2, [proof[0]!, ...proof]],
        [v.size1, v.size2, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, k): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => {
          const bad = proof.map((p) => Uint8Array.from(p));
          bad[k]![0]! ^= 16;
          return [v.size1, v.size2, r1, r2, bad];
        }),
      ];
      for (const [s1, s2, a, b, p] of probes) expect(verifyConsistency(s1, s2, a, b, p)).toBe(false);
    },
  );

  it('edge cases of consistency, as transparency-dev/merkle lists them', () => {
    const [a, b] = [Buffer.from("don't care 1"), Buffer.from("don't care 2")];
    const empty = hex(EMPTY_TREE);
    expect(verifyConsistency(0, 0, a, b, [])).toBe(false);
    expect(verifyConsistency(1, 1, a, b, [])).toBe(false);
    expect(verifyConsistency(0, 0, a, a, [])).toBe(true);
    expect(verifyConsistency(0, 1, a, b, [])).toBe(true);
    expect(verifyConsistency(1, 1, b, b, [])).toBe(true);
    expect(verifyConsistency(1, 0, a, b, [])).toBe(false);
    expect(verifyConsistency(2, 1, a, b, [])).toBe(false);
    expect(verifyConsistency(1, 2, a, b, [])).toBe(false);
    expect(verifyConsistency(0, 0, empty, empty, [empty])).toBe(false);
    expect(verifyConsistency(0, 1, empty, empty, [empty])).toBe(false);
    expect(verifyConsistency(1, 1, empty, empty, [empty])).toBe(false);
  });
});

describe('Merkle tree: every size, every leaf', () => {
  const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
  const big = new MerkleTree(leaves);

  it('every inclusion proof of every tree up to 70 leaves verifies, and not for another leaf', () => {
    for (let size = 1; size <= 70; size++) {
      const root = big.root(size);
      for (let i = 0; i < size; i++) {
        const proof = big.inclusionProof(i, size);
        expect(verifyInclusion(i, size, leaves[i]!, proof, root)).toBe(true);
        expect(verifyInclusion(i, size, leaves[(i + 1) % 70]!, proof, root)).toBe(false);
      }
    }
  });

  it('every consistency proof between sizes up to 70 verifies; a different older tree does not', () => {
    const other = new MerkleTree(leaves.map((l, i) => (i === 3 ? leafHash(Buffer.from('rewritten')) : l)));
    for (let s2 = 1; s2 <= 70; s2++)
      for (let s1 = 0; s1 <= s2; s1++) {
        const proof = big.consistencyProof(s1, s2);
        expect(verifyConsistency(s1, s2, big.root(s1), big.root(s2), proof)).toBe(true);
        if (s1 > 3) expect(verifyConsistency(s1, s2, other.root(s1), big.root(s2), proof)).toBe(false);
      }
  });

  it('a compact range appended leaf by leaf has the root of the whole tree at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 70 }), (a, b) => {
        const [from, to] = [Math.min(a, b), Math.max(a, b)];
        const range = new CompactRange();
        for (const l of leaves.slice(0, from)) range.append(l);
        const resumed = new CompactRange(range.size, [...range.hashes]);
        for (const l of leaves.slice(from, to)) resumed.append(l);
        expect(toHex(range.root())).toBe(toHex(big.root(from)));
        expect(toHex(resumed.root())).toBe(toHex(big.root(to)));
      }),
    );
  });
});
