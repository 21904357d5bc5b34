/**
 * The server's signing keys for answers that arrive through server channels (the Slack endpoint,
 * the dashboard): once such a channel has authenticated the person, it calls
 * `createStatementSigner(config.signing).sign(...)` and sends the statement with the Update. The
 * lifecycle trusts the public keys passed in its input (`trust()`, set where lifecycles start).
 *
 * Keys live in `$DRIFTPLANE_HOME`: `signing.key` (current), `signing.next.key` (the next one,
 * already trusted by lifecycles started now, so a rotation does not strand them) and
 * `signing-keys.json` (retired public keys, for auditors). Or DRIFTPLANE_SIGNING_KEY: then the
 * secret store that holds it rotates it. docs/identity.md.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../domain/errors';
import { toBase64 } from '../domain/signing/bytes';
import {
  ed25519KeyId,
  ed25519PublicKey,
  signStatementEd25519,
  type ApprovalStatement,
  type SignedStatement,
  type StatementTrust,
  type TrustedKey,
} from '../domain/signing/statement';
import { readOrCreateRedactionKey, type Config } from './config';

/** Channels whose statements the server's key may sign (the person is authenticated by the server). */
export const SERVER_CHANNELS = ['slack', 'dashboard'];

/** A server key: its id and public key; the secret only for the current one. */
export interface ServerKeyInfo {
  id: string;
  /** Raw 32-byte Ed25519 public key, base64. */
  publicKey: string;
  role: 'current' | 'next' | 'retired';
  retiredAt?: string;
}

interface RetiredKeys {
  retired: { id: string; publicKey: string; retiredAt: string }[];
}

const files = (home: string) => ({
  current: path.join(home, 'signing.key'),
  next: path.join(home, 'signing.next.key'),
  retired: path.join(home, 'signing-keys.json'),
});

const KEY = { name: 'signing key (Ed25519)', bytes: 32 };

function readKey(file: string): Uint8Array {
  const key = readOrCreateRedactionKey(file, KEY);
  if (key.length !== 32)
    throw new InputError('not an Ed25519 signing key (expected exactly 32 bytes; the content is not shown)', {
      file,
    });
  return key;
}

function info(secret: Uint8Array, role: ServerKeyInfo['role']): ServerKeyInfo {
  const pub = ed25519PublicKey(secret);
  return { id: ed25519KeyId(pub), publicKey: toBase64(pub), role };
}

function readRetired(file: string): RetiredKeys {
  if (!existsSync(file)) return { retired: [] };
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as RetiredKeys;
    if (!Array.isArray(parsed.retired)) throw new Error('no "retired" list');
    return parsed;
  } catch (err) {
    throw new InputError(`not a list of retired signing keys: ${(err as Error).message}`, { file });
  }
}

/**
 * The server's statement signer. Keys are read from disk on every call (cheap), so a worker and
 * `driftplane serve` sharing `$DRIFTPLANE_HOME` see a rotation at once.
 */
export function createStatementSigner(cfg: Config['signing']) {
  const f = files(cfg.home);
  const current = () => (cfg.key ? cfg.key() : readKey(f.current));
  const next = () => (cfg.key ? undefined : readKey(f.next));
  return {
    /** Signs an answer a server channel has authenticated. `issuedAt` defaults to now. */
    sign(
      fields: Omit<ApprovalStatement, 'v' | 'issuedAt'> & { issuedAt?: string },
      now: Date = new Date(),
    ): SignedStatement {
      if (!SERVER_CHANNELS.includes(fields.channel))
        throw new InputError(
          `the server key signs answers from ${SERVER_CHANNELS.join(', ')}, not ${fields.channel}`,
        );
      return signStatementEd25519(
        { v: 1, ...fields, issuedAt: fields.issuedAt ?? now.toISOString() },
        current(),
      );
    },
    /** The keys a lifecycle started now trusts: the current key and the next one (created on first use). */
    trust(): StatementTrust {
      const keys = [info(current(), 'current'), ...(cfg.key ? [] : [info(next()!, 'next')])];
      return {
        keys: keys.map((k): TrustedKey => ({ id: k.id, publicKey: k.publicKey, channels: SERVER_CHANNELS })),
      };
    },
    /** Every key: current, next and retired (public parts only). Creates the current and next keys if missing. */
    keys(): ServerKeyInfo[] {
      const retired = cfg.key
        ? []
        : readRetired(f.retired).retired.map((r): ServerKeyInfo => ({ ...r, role: 'retired' }));
      return [info(current(), 'current'), ...(cfg.key ? [] : [info(next()!, 'next')]), ...retired];
    },
    /**
     * Rotates: the current key is retired (its public key kept for auditors; its secret deleted),
     * the next key becomes current, and a new next key is made. Lifecycles started since the last
     * rotation already trust the new current key.
     */
    rotate(now: Date = new Date()): ServerKeyInfo[] {
      if (cfg.key)
        throw new InputError(
          'the signing key comes from DRIFTPLANE_SIGNING_KEY: rotate it in the secret store that holds it',
          { field: 'DRIFTPLANE_SIGNING_KEY' },
        );
      const old = info(readKey(f.current), 'current');
      readKey(f.next);
      const list = readRetired(f.retired);
      list.retired.push({ id: old.id, publicKey: old.publicKey, retiredAt: now.toISOString() });
      writeFileSync(`${f.retired}.tmp`, `${JSON.stringify(list, null, 2)}\n`, { mode: 0o644 });
      renameSync(`${f.retired}.tmp`, f.retired);
      // The rename replaces the old secret atomically: no moment without a current key.
      renameSync(f.next, f.current);
      return this.keys();
    },
  };
}

/** The server's statement signer. */
export type StatementSigner = ReturnType<typeof createStatementSigner>;
