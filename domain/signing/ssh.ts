/**
 * OpenSSH public keys and SSH signatures (SSHSIG, the format of `ssh-keygen -Y sign`, which Git
 * uses to sign commits), Ed25519 only. Parsed and verified in pure JS so the workflow's Update
 * validator can check a person's signature deterministically. Formats: OpenSSH PROTOCOL.sshsig
 * and RFC 8709 (ssh-ed25519 keys and signatures).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { ascii, concat, equalBytes, fromBase64, toBase64, utf8 } from './bytes';

/** The SSHSIG namespace driftplane signs approvals under (`ssh-keygen -Y sign -n driftplane-approval`). */
export const SSH_NAMESPACE = 'driftplane-approval';

const MAGIC = utf8('SSHSIG');
const KEY_TYPE = 'ssh-ed25519';

/** An SSH wire-format reader (RFC 4251 `string` and `uint32`); each read fails softly. */
class Wire {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}
  uint32(): number | undefined {
    if (this.at + 4 > this.b.length) return undefined;
    const v =
      ((this.b[this.at]! << 24) >>> 0) +
      (this.b[this.at + 1]! << 16) +
      (this.b[this.at + 2]! << 8) +
      this.b[this.at + 3]!;
    this.at += 4;
    return v;
  }
  bytes(n: number): Uint8Array | undefined {
    if (this.at + n > this.b.length) return undefined;
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  string(): Uint8Array | undefined {
    const n = this.uint32();
    return n === undefined ? undefined : this.bytes(n);
  }
  get done(): boolean {
    return this.at === this.b.length;
  }
}

const sshString = (b: Uint8Array): Uint8Array => {
  const n = b.length;
  return concat(Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255), b);
};

/** The raw 32-byte Ed25519 key inside an `ssh-ed25519` public key blob; undefined for anything else. */
function ed25519FromBlob(blob: Uint8Array): Uint8Array | undefined {
  const w = new Wire(blob);
  const type = w.string();
  const key = w.string();
  if (!type || ascii(type) !== KEY_TYPE || !key || key.length !== 32 || !w.done) return undefined;
  return key;
}

/** An Ed25519 SSH public key. */
export interface SshPublicKey {
  /** `ssh-ed25519 AAAA…` without a comment: the form compared and stored. */
  line: string;
  /** The raw 32-byte key. */
  key: Uint8Array;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

/** Parses one `authorized_keys`-style line (`ssh-ed25519 AAAA… [comment]`); undefined when it is not an Ed25519 key. */
export function parseSshPublicKey(text: string): SshPublicKey | undefined {
  const [type, b64] = text.trim().split(/\s+/);
  if (type !== KEY_TYPE || !b64) return undefined;
  const blob = fromBase64(b64);
  const key = blob && ed25519FromBlob(blob);
  if (!blob || !key) return undefined;
  return { line: `${KEY_TYPE} ${toBase64(blob)}`, key, fingerprint: sshFingerprint(blob) };
}

/** `SHA256:` and the unpadded base64 of the SHA-256 of a public key blob (ssh-keygen's fingerprint). */
export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${toBase64(sha256(blob)).replace(/=+$/, '')}`;
}

/** What an SSHSIG says about itself. */
export interface SshSignature {
  publicKey: SshPublicKey;
  namespace: string;
  hashAlgorithm: 'sha256' | 'sha512';
  signature: Uint8Array;
}

/** Parses an armored SSH signature (`-----BEGIN SSH SIGNATURE-----`); undefined when it is malformed or not Ed25519. */
export function parseSshSignature(armored: string): SshSignature | undefined {
  const m = /^\s*-----BEGIN SSH SIGNATURE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END SSH SIGNATURE-----\s*$/.exec(
    armored,
  );
  const blob = m && fromBase64(m[1]!.replace(/\s+/g, ''));
  if (!blob) return undefined;
  const w = new Wire(blob);
  const magic = w.bytes(6);
  if (!magic || !equalBytes(magic, MAGIC) || w.uint32() !== 1) return undefined;
  const keyBlob = w.string();
  const namespace = w.string();
  const reserved = w.string();
  const hash = w.string();
  const sigBlob = w.string();
  if (!keyBlob || !namespace || !reserved || !hash || !sigBlob || !w.done) return undefined;
  const key = ed25519FromBlob(keyBlob);
  const hashAlgorithm = ascii(hash);
  const ns = ascii(namespace);
  if (
    !key ||
    (hashAlgorithm !== 'sha256' && hashAlgorithm !== 'sha512') ||
    ns === undefined ||
    reserved.length !== 0
  )
    return undefined;
  const sw = new Wire(sigBlob);
  const sigType = sw.string();
  const signature = sw.string();
  if (!sigType || ascii(sigType) !== KEY_TYPE || !signature || signature.length !== 64 || !sw.done)
    return undefined;
  return {
    publicKey: { line: `${KEY_TYPE} ${toBase64(keyBlob)}`, key, fingerprint: sshFingerprint(keyBlob) },
    namespace: ns,
    hashAlgorithm,
    signature,
  };
}

/**
 * Verifies an armored SSH signature over `message` in `namespace`, as `ssh-keygen -Y verify`
 * does (the signer's key is then checked against the allowed keys by the caller). Returns the
 * signer's key, or why it failed.
 */
export function verifySshSignature(
  armored: string,
  message: Uint8Array,
  namespace: string = SSH_NAMESPACE,
): { ok: true; publicKey: SshPublicKey } | { ok: false; why: string } {
  const sig = parseSshSignature(armored);
  if (!sig)
    return {
      ok: false,
      why: 'not an Ed25519 SSH signature (expected the armored output of ssh-keygen -Y sign)',
    };
  if (sig.namespace !== namespace)
    return {
      ok: false,
      why: `the SSH signature is for namespace "${sig.namespace.slice(0, 40)}", not "${namespace}"`,
    };
  const digest = sig.hashAlgorithm === 'sha512' ? sha512(message) : sha256(message);
  const signed = concat(
    MAGIC,
    sshString(utf8(namespace)),
    sshString(new Uint8Array(0)),
    sshString(utf8(sig.hashAlgorithm)),
    sshString(digest),
  );
  let valid = false;
  try {
    valid = ed25519.verify(sig.signature, signed, sig.publicKey.key, { zip215: false });
  } catch {
    valid = false;
  }
  return valid
    ? { ok: true, publicKey: sig.publicKey }
    : { ok: false, why: 'the SSH signature does not match the statement' };
}
