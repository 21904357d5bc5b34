/**
 * The dashboard's cookies: parsing the `Cookie` header, writing `Set-Cookie`, and the session
 * token itself (a payload and its HMAC-SHA256 under the session secret, checked in constant time),
 * with the CSRF token every form of a session carries. No cookie library: the few attributes the
 * dashboard sets are written here, and nothing else about a request is trusted.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/** How long a dashboard session lasts after sign-in. */
export const SESSION_TTL_MS = 8 * 60 * 60_000;

/** The values of a `Cookie` header by name (the first of a repeated name; values are not decoded). */
export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const text = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (name && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** The attributes of a cookie the dashboard sets. */
export interface CookieOptions {
  /** Seconds; 0 deletes the cookie. Absent: a browser-session cookie. */
  maxAge?: number;
  path?: string;
  secure: boolean;
  sameSite: 'Lax' | 'Strict';
}

/** A `Set-Cookie` value: always HttpOnly; the value must already be cookie-safe (base64url, `.`). */
export function serializeCookie(name: string, value: string, o: CookieOptions): string {
  if (!/^[A-Za-z0-9._-]*$/.test(value)) throw new Error(`cookie ${name}: value is not cookie-safe`);
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`, 'HttpOnly', `SameSite=${o.sameSite}`];
  if (o.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAge))}`);
    if (o.maxAge <= 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  }
  if (o.secure) parts.push('Secure');
  return parts.join('; ');
}

/** What a session cookie carries: who signed in, and until when. */
const SessionPayloadSchema = z.strictObject({
  /** Random session id: what the CSRF token and sign-out are bound to. */
  sid: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
  email: z.string().min(3).max(320),
  name: z.string().max(200).optional(),
  /** Epoch ms of sign-in and of expiry. */
  iat: z.number().int(),
  exp: z.number().int(),
});
/** A session cookie's payload. */
export type SessionPayload = z.infer<typeof SessionPayloadSchema>;

/** A random id, base64url (32 bytes unless told). */
export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Seals and opens session tokens with one secret: `<payload base64url>.<HMAC-SHA256 base64url>`.
 * A token whose MAC does not match (altered payload, another secret, a forged one), that does not
 * parse, or that has expired opens to undefined.
 */
export class SessionSealer {
  readonly #secret: Buffer;
  constructor(secret: Uint8Array) {
    if (secret.length < 32) throw new Error('the session secret must be at least 32 bytes');
    this.#secret = Buffer.from(secret);
  }

  #mac(purpose: string, data: string): Buffer {
    return createHmac('sha256', this.#secret).update(`${purpose}\n${data}`).digest();
  }

  /** The cookie value for a payload. */
  seal(payload: SessionPayload): string {
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    return `${body}.${this.#mac('session', body).toString('base64url')}`;
  }

  /** The payload of a cookie value this sealer made, if it is intact and not expired at `nowMs`. */
  open(token: string | undefined, nowMs: number): SessionPayload | undefined {
    if (!token || token.length > 4096) return undefined;
    const dot = token.indexOf('.');
    if (dot <= 0 || dot !== token.lastIndexOf('.')) return undefined;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    if (!equalBytes(given, this.#mac('session', body))) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    const p = SessionPayloadSchema.safeParse(parsed);
    if (!p.success || p.data.exp <= nowMs || p.data.iat > nowMs + 5 * 60_000) return undefined;
    return p.data;
  }

  /** The CSRF token of a session: HMAC of its id, so it cannot be made without the secret. */
  csrfToken(sid: string): string {
    return this.#mac('csrf', sid).toString('base64url');
  }

  /** Whether `given` is the CSRF token of session `sid` (constant time). */
  checkCsrf(sid: string, given: unknown): boolean {
    if (typeof given !== 'string' || given.length === 0 || given.length > 200) return false;
    return equalBytes(Buffer.from(given, 'utf8'), Buffer.from(this.csrfToken(sid), 'utf8'));
  }
}

/** Constant-time equality of two byte strings (false at once when the lengths differ: lengths are public). */
function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
