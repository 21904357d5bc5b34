import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header GitHub signs deliveries with (HMAC-SHA256). `X-Hub-Signature` (SHA-1) is legacy and never accepted. */
export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256';

/** Why a delivery's signature was refused. Never carries the secret or the expected signature. */
export type GitHubSignatureRefusal = 'missing-header' | 'malformed-header' | 'bad-signature';

/** A delivery that did not prove it came from GitHub (answered 401, nothing else done). */
export class GitHubSignatureError extends Error {
  override readonly name = 'GitHubSignatureError';
  constructor(readonly refusal: GitHubSignatureRefusal) {
    super(`GitHub delivery refused: ${refusal}`);
  }
}

/** `sha256=` + lowercase hex HMAC-SHA256 of the raw body bytes with the webhook secret, as GitHub documents it. */
export function githubSignature(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

const HEADER = /^sha256=[0-9a-f]{64}$/;

/**
 * Checks `X-Hub-Signature-256` against the raw body bytes
 * (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries): it must be
 * `sha256=` and 64 hex digits, equal to ours, compared in constant time. The HMAC is over the bytes
 * as received, not a decoded string: two bodies that decode to the same text (invalid UTF-8 turned
 * into U+FFFD) must not share a signature. Throws GitHubSignatureError; returns nothing on success.
 */
export function verifyGitHubSignature(input: {
  secret: string;
  signature: string | undefined;
  rawBody: Buffer;
}): void {
  const { signature } = input;
  if (signature === undefined || signature === '') throw new GitHubSignatureError('missing-header');
  // GitHub sends lowercase hex; accept uppercase too, it is the same digest.
  const given = signature
    .trim()
    .replace(/^(sha256=)(.*)$/i, (_m, p: string, hex: string) => p.toLowerCase() + hex.toLowerCase());
  if (!HEADER.test(given)) throw new GitHubSignatureError('malformed-header');
  const expected = Buffer.from(githubSignature(input.secret, input.rawBody), 'utf8');
  const actual = Buffer.from(given, 'utf8');
  // Both are 71 ASCII bytes here (checked above); the length test keeps timingSafeEqual from throwing.
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    throw new GitHubSignatureError('bad-signature');
}
