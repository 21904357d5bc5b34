/**
 * Signed answers: a channel that authenticated a person (the CLI with the person's SSH key, the
 * Slack endpoint with Slack's signature and the user mapping, later the dashboard) turns the
 * verified answer into a statement over (finding, answer, approver, reason, issued-at, channel)
 * and signs it. The lifecycle's Update validator verifies the signature inside the workflow
 * sandbox, and the evidence keeps the statement so an auditor can check it without trusting
 * driftplane. Pure: Ed25519 is @noble/curves, no Node built-ins.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';
import { fromBase64, toBase64, toHex, utf8 } from './bytes';
import { parseSshPublicKey, SSH_NAMESPACE, verifySshSignature } from './ssh';

/** What a person answered, as the channel that authenticated them states it. */
export const ApprovalStatementSchema = z.strictObject({
  v: z.literal(1),
  findingId: z.string().min(1).max(400),
  answer: z.enum(['approved', 'rejected']),
  /** The identity the person answered as (an e-mail, Slack user id or GitHub login of a listed approver). */
  approver: z.string().min(1).max(320),
  reason: z.string().max(16_384),
  /** ISO instant at which the channel issued the statement. */
  issuedAt: z.iso.datetime({ offset: true }),
  /** Where the person answered: `cli`, `slack`, `dashboard`, ... */
  channel: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a channel name such as cli or slack'),
});
/** An approval statement. */
export type ApprovalStatement = z.infer<typeof ApprovalStatementSchema>;

/**
 * The statement a server channel (Slack, the dashboard) signs for an answer it authenticated: the
 * one mapping of a verified answer to what the lifecycle checks.
 */
export function serverStatementOf(
  a: { findingId: string; answer: 'approve' | 'reject'; approver: string; reason: string; issuedAt: Date },
  channel: string,
): ApprovalStatement {
  return {
    v: 1,
    findingId: a.findingId,
    answer: a.answer === 'approve' ? 'approved' : 'rejected',
    approver: a.approver,
    reason: a.reason,
    issuedAt: a.issuedAt.toISOString(),
    channel,
  };
}

/** Who signed: the server's Ed25519 key (server channels) or a person's SSH key (the CLI). */
export const StatementSignerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('ed25519'),
    /** {@link ed25519KeyId} of the key. */
    keyId: z.string().min(1).max(100),
    /** The raw 32-byte public key, base64. */
    publicKey: z.string().min(1).max(100),
  }),
  z.strictObject({
    kind: z.literal('ssh'),
    /** `SHA256:…` fingerprint, as ssh-keygen prints it. */
    keyId: z.string().min(1).max(100),
    /** `ssh-ed25519 AAAA…`. */
    publicKey: z.string().min(1).max(200),
  }),
]);
/** A statement's signer. */
export type StatementSigner = z.infer<typeof StatementSignerSchema>;

/** A statement, its signer and the signature: base64 Ed25519 (server keys) or an armored SSHSIG (SSH keys). */
export const SignedStatementSchema = z.strictObject({
  statement: ApprovalStatementSchema,
  signer: StatementSignerSchema,
  signature: z.string().min(1).max(2_000),
});
/** A signed statement. */
export type SignedStatement = z.infer<typeof SignedStatementSchema>;

/** A server key a lifecycle trusts, and the channels it may vouch for (`*`: any). */
export interface TrustedKey {
  id: string;
  /** The raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
  channels: string[];
}

/** The keys a lifecycle trusts for statements of server channels (passed in its input). */
export interface StatementTrust {
  keys: TrustedKey[];
}

/**
 * The exact bytes that are signed: a header that names the format, then the fields as one JSON
 * array (JSON escapes every control character, so no field can forge another).
 */
export function canonicalStatement(s: ApprovalStatement): string {
  return `driftplane-approval/v${s.v}\n${JSON.stringify([s.findingId, s.answer, s.approver, s.reason, s.issuedAt, s.channel])}\n`;
}

/** The id of a server key: `ed25519:` and the first 16 hex digits of the SHA-256 of the raw public key. */
export function ed25519KeyId(publicKey: Uint8Array): string {
  return `ed25519:${toHex(sha256(publicKey)).slice(0, 16)}`;
}

/** The public key of a 32-byte Ed25519 secret key. */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

/** Signs a statement with a server's 32-byte Ed25519 secret key. */
export function signStatementEd25519(statement: ApprovalStatement, secretKey: Uint8Array): SignedStatement {
  const publicKey = ed25519.getPublicKey(secretKey);
  const signature = ed25519.sign(utf8(canonicalStatement(statement)), secretKey);
  return {
    statement,
    signer: { kind: 'ed25519', keyId: ed25519KeyId(publicKey), publicKey: toBase64(publicKey) },
    signature: toBase64(signature),
  };
}

/**
 * Checks that the signature is valid under the key the statement names (and that the key id is
 * that key's). Says nothing about whether the key is trusted: the validator checks that against
 * the lifecycle's trust list or the approver's registered SSH keys.
 */
export function verifyStatementSignature(signed: SignedStatement): { ok: true } | { ok: false; why: string } {
  const message = utf8(canonicalStatement(signed.statement));
  if (signed.signer.kind === 'ssh') {
    const named = parseSshPublicKey(signed.signer.publicKey);
    if (!named) return { ok: false, why: 'the signer is not an ssh-ed25519 public key' };
    if (named.fingerprint !== signed.signer.keyId)
      return { ok: false, why: 'the key id is not the fingerprint of the named SSH key' };
    const r = verifySshSignature(signed.signature, message, SSH_NAMESPACE);
    if (!r.ok) return r;
    if (r.publicKey.line !== named.line)
      return { ok: false, why: 'the SSH signature was made by another key than the one named' };
    return { ok: true };
  }
  const publicKey = fromBase64(signed.signer.publicKey);
  const signature = fromBase64(signed.signature);
  if (!publicKey || publicKey.length !== 32)
    return { ok: false, why: 'the signer is not a 32-byte Ed25519 public key' };
  if (ed25519KeyId(publicKey) !== signed.signer.keyId)
    return { ok: false, why: 'the key id is not that of the named key' };
  if (!signature || signature.length !== 64)
    return { ok: false, why: 'the signature is not 64 bytes of base64' };
  try {
    if (ed25519.verify(signature, message, publicKey, { zip215: false })) return { ok: true };
  } catch {
    // a malformed point is a bad signature
  }
  return { ok: false, why: 'the signature does not match the statement' };
}
