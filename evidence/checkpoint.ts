/**
 * Checkpoints of the evidence transparency log in the C2SP formats: a tlog-checkpoint
 * (c2sp.org/tlog-checkpoint: origin line, tree size, base64 root hash) as the text of a signed
 * note (c2sp.org/signed-note: text, a blank line, `— <key name> base64(key ID || signature)`),
 * signed with Ed25519 (signature type 0x01). Verifier keys use the note verifier-key string
 * `<name>+<key ID hex>+base64(0x01 || public key)` that golang.org/x/mod/sumdb/note reads, so
 * any tool that speaks those formats can check a driftplane checkpoint.
 */
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { fromBase64, toBase64 } from '../domain/signing/bytes';

/** Signature type byte of Ed25519 in signed notes. */
const ED25519 = 0x01;
/** More signatures than this and a note is refused (the spec asks to accept at least 16). */
const MAX_SIGNATURES = 100;
const EM_DASH = '\u2014';

/** A checkpoint's note text, parsed. */
export interface Checkpoint {
  origin: string;
  size: number;
  /** The RFC 6962 root hash of the log's first `size` leaves. */
  rootHash: Uint8Array;
  /** Extension lines, if any (driftplane writes none). */
  extensions: string[];
}

/** A signed-note signature line, parsed. */
export interface NoteSignature {
  name: string;
  /** The key ID: first four bytes of SHA-256(name || 0x0A || type || public key), big-endian. */
  keyId: number;
  /** The signature without its key ID. */
  signature: Uint8Array;
}

/** An Ed25519 key that may verify notes, parsed from a verifier-key string. */
export interface NoteVerifier {
  name: string;
  keyId: number;
  publicKey: Uint8Array;
  /** The verifier-key string it was read from (or would be written as). */
  vkey: string;
}

/** A note, a checkpoint or a key that is not in its format. */
export class NoteFormatError extends Error {
  override readonly name = 'NoteFormatError';
}

const validName = (name: string): boolean => name.length > 0 && !/[\s+]/u.test(name);

/** The C2SP key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update(Uint8Array.of(0x0a, ED25519))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

/** The note verifier of an Ed25519 secret key (32-byte seed) under `name`. */
export function noteVerifierOf(name: string, secretKey: Uint8Array): NoteVerifier {
  if (!validName(name)) throw new NoteFormatError(`key name "${name}" is empty or holds a space or a plus`);
  const publicKey = ed25519.getPublicKey(secretKey);
  const keyId = noteKeyId(name, publicKey);
  return {
    name,
    keyId,
    publicKey,
    vkey: `${name}+${hex8(keyId)}+${toBase64(Uint8Array.of(ED25519, ...publicKey))}`,
  };
}

/** Parses a verifier-key string `<name>+<hex key ID>+<base64(0x01 || public key)>`, checking its key ID. */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  const key = m ? fromBase64(m[3]!) : undefined;
  if (!m || !key) throw new NoteFormatError('not a note verifier key (<name>+<8 hex digits>+<base64 key>)');
  if (key.length !== 33 || key[0] !== ED25519)
    throw new NoteFormatError('not an Ed25519 note verifier key (expected base64 of 0x01 and 32 key bytes)');
  const publicKey = key.slice(1);
  const keyId = noteKeyId(m[1]!, publicKey);
  if (hex8(keyId) !== m[2])
    throw new NoteFormatError(`the key ID ${m[2]} does not match the key (expected ${hex8(keyId)})`);
  return { name: m[1]!, keyId, publicKey, vkey: vkey.trim() };
}

/**
 * Parses a signer-key string `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`, the form
 * golang.org/x/mod/sumdb/note writes. Returns the key name and the 32-byte Ed25519 seed.
 */
export function parseSignerKey(skey: string): { name: string; secretKey: Uint8Array } {
  const m = /^PRIVATE\+KEY\+([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(skey.trim());
  const key = m ? fromBase64(m[3]!) : undefined;
  if (!m || !key || key.length !== 33 || key[0] !== ED25519)
    throw new NoteFormatError(
      'not an Ed25519 note signer key (PRIVATE+KEY+<name>+<hex>+<base64>; the value is not shown)',
    );
  const secretKey = key.slice(1);
  if (hex8(noteVerifierOf(m[1]!, secretKey).keyId) !== m[2])
    throw new NoteFormatError('the key ID of the signer key does not match the key (the value is not shown)');
  return { name: m[1]!, secretKey };
}

function checkText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteFormatError('a note text must end with a newline');
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x09\x0b-\x1f]/.test(text))
    throw new NoteFormatError('a note text must not hold control characters');
}

/** Signs a note text with an Ed25519 secret key (32-byte seed) under `name`: text, blank line, signature line. */
export function signNote(text: string, name: string, secretKey: Uint8Array): string {
  checkText(text);
  const { keyId } = noteVerifierOf(name, secretKey);
  const signature = ed25519.sign(Buffer.from(text, 'utf8'), secretKey);
  const id = Buffer.alloc(4);
  id.writeUInt32BE(keyId);
  return `${text}\n${EM_DASH} ${name} ${toBase64(Uint8Array.from([...id, ...signature]))}\n`;
}

/** Splits a signed note into its text and signature lines, without checking any signature. */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n'))
    throw new NoteFormatError('not a signed note (no blank line before signature lines)');
  const text = note.slice(0, split + 1);
  checkText(text);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteFormatError(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    const m = new RegExp(`^${EM_DASH} ([^\\s+]+) ([A-Za-z0-9+/]+={0,2})$`, 'u').exec(line);
    const bytes = m ? fromBase64(m[2]!) : undefined;
    if (!m || !bytes || bytes.length < 5)
      throw new NoteFormatError(`signature line ${i + 1} is not "${EM_DASH} <key name> <base64 signature>"`);
    return { name: m[1]!, keyId: Buffer.from(bytes.slice(0, 4)).readUInt32BE(0), signature: bytes.slice(4) };
  });
  return { text, signatures };
}

/**
 * Opens a signed note: the signatures by the given verifiers (matched by name and key ID) must
 * verify; other signatures are ignored, as the spec requires. Returns the text and which known
 * keys signed it (empty when none did: then the text must not be trusted).
 * @throws NoteFormatError when the note is malformed or a known key's signature fails.
 */
export function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): { text: string; signedBy: NoteVerifier[] } {
  const { text, signatures } = parseNote(note);
  const signedBy: NoteVerifier[] = [];
  for (const sig of signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v) continue;
    let valid = false;
    try {
      valid =
        sig.signature.length === 64 &&
        ed25519.verify(sig.signature, Buffer.from(text, 'utf8'), v.publicKey, { zip215: false });
    } catch {
      // A malformed signature or point: it does not verify.
    }
    if (!valid) throw new NoteFormatError(`the signature by ${v.name}+${hex8(v.keyId)} does not verify`);
    if (!signedBy.includes(v)) signedBy.push(v);
  }
  return { text, signedBy };
}

/** The note text of a checkpoint: origin, size and base64 root hash, one per line. */
export function formatCheckpoint(c: Pick<Checkpoint, 'origin' | 'size' | 'rootHash'>): string {
  if (!validName(c.origin))
    throw new NoteFormatError(`origin "${c.origin}" is empty or holds a space or a plus`);
  return `${c.origin}\n${c.size}\n${toBase64(c.rootHash)}\n`;
}

/** Parses a checkpoint's note text (c2sp.org/tlog-checkpoint). */
export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.length < 3)
    throw new NoteFormatError('a checkpoint has an origin, a size and a root hash line');
  const [origin, size, root, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw new NoteFormatError('the checkpoint origin line is empty');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size)))
    throw new NoteFormatError(
      `the checkpoint size line "${size}" is not a decimal number without leading zeros`,
    );
  const rootHash = fromBase64(root);
  if (!rootHash || rootHash.length !== 32 || toBase64(rootHash) !== root)
    throw new NoteFormatError('the checkpoint root hash line is not base64 of 32 bytes');
  if (extensions.some((e) => e === '')) throw new NoteFormatError('a checkpoint extension line is empty');
  return { origin, size: Number(size), rootHash, extensions };
}

/** Signs a checkpoint under `name` (the log's origin, by convention). */
export function signCheckpoint(
  c: Pick<Checkpoint, 'origin' | 'size' | 'rootHash'>,
  name: string,
  secretKey: Uint8Array,
): string {
  return signNote(formatCheckpoint(c), name, secretKey);
}
