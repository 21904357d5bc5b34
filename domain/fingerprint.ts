/**
 * A stable, dependency-free 64-bit FNV-1a hash, hex encoded. Pure, so workflow ids can be derived
 * the same way in the CLI, in activities and in tests. Not a cryptographic hash: evidence chains
 * use SHA-256 in activities/evidence.
 */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  // Hash the UTF-16 code units; stable for any string, which is all the ids need.
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}
