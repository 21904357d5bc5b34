import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  NoteFormatError,
  noteVerifierOf,
  openNote,
  parseCheckpoint,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCheckpoint,
  signNote,
} from '../../evidence/checkpoint';

// Signed-note vectors of golang.org/x/mod/sumdb/note (note_test.go: TestNewVerifier, TestSign,
// TestOpen), the reference implementation of c2sp.org/signed-note; the checkpoint example is the
// one in c2sp.org/tlog-checkpoint. Written here as data; https://github.com/golang/mod.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const ENOCH_VKEY = 'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop';
const TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const C2SP_CHECKPOINT =
  'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';

describe('signed notes (c2sp.org/signed-note), against golang.org/x/mod/sumdb/note', () => {
  it('signs the reference text with the reference key to the reference note, byte for byte', () => {
    const { name, secretKey } = parseSignerKey(PETER_SKEY);
    expect(name).toBe('PeterNeumann');
    expect(noteVerifierOf(name, secretKey).vkey).toBe(PETER_VKEY);
    expect(signNote(TEXT, name, secretKey)).toBe(`${TEXT}\n${PETER_SIG}`);
  });

  it('opens a note: the known key must verify, an unknown signature is ignored', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const enoch = parseVerifierKey(ENOCH_VKEY);
    expect(peter).toMatchObject({ name: 'PeterNeumann', keyId: 0xc74f20a3 });
    const opened = openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter]);
    expect(opened.text).toBe(TEXT);
    expect(opened.signedBy).toEqual([peter]);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, [peter, enoch]).signedBy).toEqual([peter, enoch]);
    expect(openNote(`${TEXT}\n${PETER_SIG}${ENOCH_SIG}`, []).signedBy).toEqual([]);
  });

  it('a known key whose signature fails, or a changed text, rejects the note', () => {
    const peter = parseVerifierKey(PETER_VKEY);
    expect(() => openNote(`${TEXT}\n${PETER_SIG.slice(0, 60)}ABCD${PETER_SIG.slice(60)}`, [peter])).toThrow(
      'the signature by PeterNeumann+c74f20a3 does not verify',
    );
    expect(() => openNote(`${TEXT.replace('answer', 'ANSWER')}\n${PETER_SIG}`, [peter])).toThrow(
      /does not verify/,
    );
  });

  it.each([
    ['text only', TEXT],
    ['text and a blank line', `${TEXT}\n`],
    ['signature without its newline', `${TEXT}\n${PETER_SIG.slice(0, -1)}`],
    ['a control character', `\u0001${TEXT}\n${PETER_SIG}`],
    [
      'a name with a space',
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
    ],
    ['a line after the signatures', `${TEXT}\n${PETER_SIG}Unexpected line.\n`],
    ['more than 100 signatures', `${TEXT}\n${PETER_SIG.repeat(101)}`],
  ])('a malformed note is refused: %s', (_what, note) => {
    expect(() => openNote(note, [parseVerifierKey(PETER_VKEY)])).toThrow(NoteFormatError);
  });

  it('a verifier key is refused when any part of it is changed', () => {
    for (let i = 0; i < PETER_VKEY.length; i++) {
      const changed =
        PETER_VKEY.slice(0, i) + String.fromCharCode(PETER_VKEY.charCodeAt(i) + 1) + PETER_VKEY.slice(i + 1);
      expect(() => parseVerifierKey(changed), changed).toThrow(NoteFormatError);
    }
    expect(() =>
      parseVerifierKey('PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'),
    ).toThrow(/Ed25519/);
  });
});

describe('checkpoints (c2sp.org/tlog-checkpoint)', () => {
  it('parses the spec example and writes it back the same', () => {
    const c = parseCheckpoint(C2SP_CHECKPOINT);
    expect(c).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(formatCheckpoint(c)).toBe(C2SP_CHECKPOINT);
  });

  it.each([
    ['two lines', 'example.com/log\n5\n'],
    ['a size with a leading zero', 'example.com/log\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n'],
    ['a root of 31 bytes', 'example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==\n'],
    ['an empty extension line', `${C2SP_CHECKPOINT}\n`],
    ['no final newline', C2SP_CHECKPOINT.slice(0, -1)],
  ])('refuses %s', (_what, text) => {
    expect(() => parseCheckpoint(text)).toThrow(NoteFormatError);
  });

  it('a signed checkpoint: origin, size, base64 root; one signature line by the origin key; it opens with its verifier key', () => {
    const secretKey = Uint8Array.from({ length: 32 }, (_, i) => i + 1);
    const rootHash = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
    const note = signCheckpoint(
      { origin: 'evidence.example.com/prod', size: 42, rootHash },
      'evidence.example.com/prod',
      secretKey,
    );
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      'evidence.example.com/prod',
      '42',
      Buffer.from(rootHash).toString('base64'),
      '',
    ]);
    expect(lines[4]).toMatch(/^— evidence\.example\.com\/prod [A-Za-z0-9+/]{91}=$/);
    const verifier = noteVerifierOf('evidence.example.com/prod', secretKey);
    expect(verifier.vkey).toMatch(/^evidence\.example\.com\/prod\+[0-9a-f]{8}\+A[A-Za-z0-9+/]{43}$/);
    const opened = openNote(note, [parseVerifierKey(verifier.vkey)]);
    expect(parseCheckpoint(opened.text)).toMatchObject({ size: 42, rootHash });
    expect(parseNote(note).signatures).toEqual([
      expect.objectContaining({ name: 'evidence.example.com/prod', keyId: verifier.keyId }),
    ]);
  });
});
