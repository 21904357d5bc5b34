/**
 * JSON Pointer (RFC 6901) helpers: the one place that escapes and unescapes reference tokens.
 */

/** Escapes one reference token: `~` becomes `~0` and `/` becomes `~1`. */
export function escapePointerToken(token: string | number): string {
  const s = String(token);
  // Fast path: almost every attribute name has neither character.
  if (s.indexOf('~') === -1 && s.indexOf('/') === -1) return s;
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Unescapes one reference token: `~1` becomes `/` and `~0` becomes `~` (in that order). */
export function unescapePointerToken(token: string): string {
  if (token.indexOf('~') === -1) return token;
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Builds a pointer from path steps, e.g. `['ingress', 0, 'cidr_blocks']` → `/ingress/0/cidr_blocks`. */
export function toPointer(steps: readonly (string | number)[]): string {
  let out = '';
  for (const step of steps) out += `/${escapePointerToken(step)}`;
  return out;
}

/** Splits a pointer back into its (unescaped) string tokens. The root pointer `""` has none. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`not a JSON pointer: ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map(unescapePointerToken);
}
