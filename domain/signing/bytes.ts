/**
 * Byte helpers for signed statements, written out so they run in the workflow sandbox (no
 * Buffer, no TextEncoder, no atob). Pure.
 */

/** UTF-8 bytes of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    let cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}

/** Decodes bytes as UTF-8 when they are plain ASCII (the only text the SSH formats carry here); undefined otherwise. */
export function ascii(b: Uint8Array): string | undefined {
  let s = '';
  for (const x of b) {
    if (x > 0x7e || x < 0x20) return undefined;
    s += String.fromCharCode(x);
  }
  return s;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX: Record<string, number> = Object.fromEntries([...ALPHABET].map((c, i) => [c, i]));

/** Standard base64 with padding. */
export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    s += i + 1 < b.length ? ALPHABET[(n >> 6) & 63]! : '=';
    s += i + 2 < b.length ? ALPHABET[n & 63]! : '=';
  }
  return s;
}

/** Strict standard base64 (padding optional, no other characters); undefined when it is not. */
export function fromBase64(s: string): Uint8Array | undefined {
  const body = s.replace(/={1,2}$/, '');
  if (body.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(body)) return undefined;
  const out: number[] = [];
  for (let i = 0; i < body.length; i += 4) {
    const c = [...body.slice(i, i + 4)].map((ch) => INDEX[ch]!);
    const n = (c[0]! << 18) | (c[1]! << 12) | ((c[2] ?? 0) << 6) | (c[3] ?? 0);
    out.push((n >> 16) & 255);
    if (c.length > 2) out.push((n >> 8) & 255);
    if (c.length > 3) out.push(n & 255);
  }
  return Uint8Array.from(out);
}

/** Lower-case hex. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Strict hex of an even length; undefined when it is not. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 || /[^0-9a-fA-F]/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** True when both hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
