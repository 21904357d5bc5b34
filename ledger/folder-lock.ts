/**
 * One process at a time on a PGlite ledger folder. PGlite takes no lock of its own: a second
 * process opening a folder another has open reads it, and its writes and its checkpoint at close
 * corrupt the first one's. So whoever opens a `pglite:<folder>` ledger first holds `<folder>.lock`
 * (created exclusively, holding the process id and host); anyone else is refused with
 * {@link LedgerInUseError}, which says who holds it and what to do instead.
 *
 * The lock is written whole under a temp name and linked into place, so it is never seen half
 * written. A lock whose process is gone (killed, crashed) is taken over: it is renamed away (only one of
 * several takers' renames succeeds) and, if what was renamed is not the lock judged dead, put back.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { errnoOf, linkIfAbsent, tempNameFor } from '../evidence/durable-file';

/** A PGlite ledger folder that another live process has open. */
export class LedgerInUseError extends Error {
  override readonly name = 'LedgerInUseError';
  constructor(
    readonly folder: string,
    readonly holder: { pid: number; host: string },
    readonly lockFile: string,
  ) {
    super(
      `the ledger ${folder} is in use by process ${holder.pid} on ${holder.host}: PGlite allows one process at a time. ` +
        `Stop that process (the worker or \`driftplane dev\`), or set DRIFTPLANE_LEDGER_URL to a postgres:// database that several processes can share. ` +
        `If no such process runs, remove ${lockFile}.`,
    );
  }
}

/** A held folder lock. */
export interface FolderLock {
  readonly file: string;
  /** Removes the lock if it is still this process's. */
  release(): Promise<void>;
}

interface Holder {
  pid: number;
  host: string;
}

/** The lock file of a ledger folder: beside it, since PGlite owns what is inside. */
export const lockFileOf = (folder: string): string => `${path.resolve(folder)}.lock`;

async function readHolder(file: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    if (Number.isInteger(h.pid) && typeof h.host === 'string') return { pid: h.pid as number, host: h.host };
  } catch {
    // Not a lock this code wrote (it links whole files into place): no one holds it.
  }
  return { pid: 0, host: hostname() };
}

/** True while the holder may still run. On another host we cannot tell: assume it does. */
function isAlive(h: Holder): boolean {
  if (h.host !== hostname()) return true;
  if (h.pid <= 0) return false;
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

/**
 * Who holds the folder's lock, when a live process other than this one does. For a reader that
 * must not open the folder while someone else has it (the CLI), without taking it itself.
 */
export async function folderLockHolder(folder: string): Promise<Holder | undefined> {
  const h = await readHolder(lockFileOf(folder));
  if (!h || (h.pid === process.pid && h.host === hostname()) || !isAlive(h)) return undefined;
  return h;
}

/**
 * Takes the folder's lock for this process, or throws {@link LedgerInUseError} when a live
 * process holds it (this one included: a process opens a PGlite folder once, see `sharedLedger`).
 */
export async function lockFolder(folder: string): Promise<FolderLock> {
  const file = lockFileOf(folder);
  const me: Holder = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written whole under a name of its own, then linked into place: no one ever reads a half-made lock.
    const made = tempNameFor(file);
    await writeFile(made, JSON.stringify(me), { flag: 'wx' });
    let taken: boolean;
    try {
      taken = await linkIfAbsent(made, file);
    } finally {
      await unlink(made).catch(() => undefined);
    }
    if (taken) {
      return {
        file,
        release: async () => {
          const now = await readHolder(file).catch(() => undefined);
          if (now?.pid === me.pid && now.host === me.host) await unlink(file).catch(() => undefined);
        },
      };
    }
    const held = await readHolder(file);
    if (!held) continue;
    if (isAlive(held)) throw new LedgerInUseError(path.resolve(folder), held, file);
    // Its holder is gone: move it away; put back whatever fresh lock another taker made meanwhile.
    const grave = tempNameFor(file);
    try {
      await rename(file, grave);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') continue;
      throw err;
    }
    const moved = await readHolder(grave);
    if (moved && (moved.pid !== held.pid || moved.host !== held.host)) await linkIfAbsent(grave, file);
    await unlink(grave).catch(() => undefined);
  }
  const last = await readHolder(file);
  throw new LedgerInUseError(path.resolve(folder), last ?? { pid: 0, host: hostname() }, file);
}
