import type { Registry } from '../registry/model';
import { MIN_REDACTION_KEY_BYTES, type RedactionPatterns } from './redactor';

/**
 * The extra patterns of every RedactionPolicy in a registry, merged (sorted by document name, so
 * the result does not depend on file order). They only add to the built-in rules.
 */
export function redactionPatternsOf(registry: Pick<Registry, 'redactionPolicies'>): Required<RedactionPatterns> {
  const keyPatterns = new Set<string>();
  const valuePatterns = new Set<string>();
  for (const name of [...registry.redactionPolicies.keys()].sort()) {
    const spec = registry.redactionPolicies.get(name)!.spec;
    spec.keyPatterns.forEach((p) => keyPatterns.add(p));
    spec.valuePatterns.forEach((p) => valuePatterns.add(p));
  }
  return { keyPatterns: [...keyPatterns], valuePatterns: [...valuePatterns] };
}

function hexBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64Bytes(s: string): Uint8Array {
  const clean = s.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of clean) {
    acc = (acc << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/**
 * Reads an installation redaction key written as hex (an even number of hex digits) or base64
 * (standard or URL-safe). Undefined when the text is neither or shorter than 128 bits; never
 * echoes the text.
 */
export function parseRedactionKey(text: string): Uint8Array | undefined {
  const s = text.trim();
  let bytes: Uint8Array | undefined;
  if (/^(?:[0-9a-fA-F]{2})+$/.test(s)) bytes = hexBytes(s);
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) bytes = base64Bytes(s);
  return bytes && bytes.length >= MIN_REDACTION_KEY_BYTES ? bytes : undefined;
}
