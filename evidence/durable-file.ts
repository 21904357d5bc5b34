import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/** The part of an open file the stores use: write it whole, flush it to disk, close it. */
export interface FileHandleLike {
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system calls the stores make, as one object so a test can make one of them fail (a
 * full disk, say) and check that the next write still succeeds. `node:fs/promises` is one.
 */
export interface FileOps {
  mkdir(dir: string, options: { recursive: true }): Promise<string | undefined>;
  open(file: string, flags: string): Promise<FileHandleLike>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(file: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  readFile(file: string, encoding: 'utf8'): Promise<string>;
  stat(file: string): Promise<{ mtimeMs: number; ino: number }>;
}

/** The real file system. */
export const nodeFileOps: FileOps = { mkdir, open, rename, link, unlink, readdir, readFile, stat };

/** The errno code of a Node file-system error, if it has one. */
export const errnoOf = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

let tempCounter = 0;

/**
 * A temp file name beside `file` that no other write uses: process id, a per-process counter and
 * random bytes, so neither a concurrent write nor a temp file left behind by a failed or crashed
 * one can ever collide with it. Starts with a dot and ends in `.tmp`, so readers never list it.
 */
export function tempNameFor(file: string): string {
  tempCounter += 1;
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${tempCounter}.${randomBytes(4).toString('hex')}.tmp`,
  );
}

/**
 * Flushes a folder's entries (names created, renamed or removed) to disk. Where the platform
 * cannot open a folder for fsync (EISDIR, EPERM, EINVAL), nothing more can be done and the call
 * succeeds; any other failure (EIO, ENOSPC) is thrown.
 */
export async function syncDir(dir: string, fs: FileOps = nodeFileOps): Promise<void> {
  let handle: FileHandleLike;
  try {
    handle = await fs.open(dir, 'r');
  } catch (err) {
    if (['EISDIR', 'EPERM', 'EINVAL'].includes(errnoOf(err) ?? '')) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!['EISDIR', 'EPERM', 'EINVAL', 'EBADF'].includes(errnoOf(err) ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` (and its parents) when missing and fsyncs the folder above every one created, so
 * a new folder is not lost with its first file in a power cut.
 */
export async function ensureDir(dir: string, fs: FileOps = nodeFileOps): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (first === undefined) return;
  const top = path.dirname(path.resolve(first));
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const parent = path.dirname(d);
    await syncDir(parent, fs);
    if (parent === top || parent === d) return;
  }
}

/** How `writeDurably` names the new content. */
export type DurableMode =
  /** Atomically replace whatever `file` held (rename). */
  | 'replace'
  /** Create `file` only if no file by that name exists (link, which fails with EEXIST). */
  | 'create';

/**
 * Writes `data` to `file` durably: into a temp file of its own (see `tempNameFor`), fsync it,
 * give it its name, then fsync the folder. A crash or a full disk leaves either the old content
 * or the new, whole; never half a file. In `create` mode the name is given with link(), which
 * fails with EEXIST when a file of that name exists: nothing is written and the result is false.
 * `alsoAs` are further names in the same folder linked to the same content once `file` is
 * named; one that already exists is left as it is. The temp file is removed whether the write
 * succeeds or fails, where the file system allows; one left behind is never reused.
 *
 * @returns true when `file` now holds `data`; false only in `create` mode when `file` existed.
 */
export async function writeDurably(
  file: string,
  data: string,
  options: { mode?: DurableMode; alsoAs?: string[]; fs?: FileOps } = {},
): Promise<boolean> {
  const fs = options.fs ?? nodeFileOps;
  const dir = path.dirname(file);
  await ensureDir(dir, fs);
  const tmp = tempNameFor(file);
  let renamed = false;
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.mode === 'create') {
      if (!(await linkIfAbsent(tmp, file, fs))) return false;
      for (const other of options.alsoAs ?? []) await linkIfAbsent(tmp, other, fs);
    } else {
      await fs.rename(tmp, file);
      renamed = true;
    }
    await syncDir(dir, fs);
    return true;
  } finally {
    // Best effort: a temp file that cannot be removed (the disk failing) is harmless, as no
    // write ever uses its name again and no reader lists it.
    if (!renamed) await fs.unlink(tmp).catch(() => undefined);
  }
}

/**
 * The first half of a `create`-mode `writeDurably`, for writers that name several files one after
 * another: `data` is written to a temp file of its own beside `dir`'s entries and fsynced.
 * `commit(file)` links it to `file` (false when that name exists; it may be tried again under
 * another name), `discard()` removes the temp file. The caller fsyncs the folder (`syncDir`) once
 * its names are given.
 */
export async function prepareDurably(
  dir: string,
  data: string,
  fs: FileOps = nodeFileOps,
): Promise<{ commit(file: string): Promise<boolean>; discard(): Promise<void> }> {
  await ensureDir(dir, fs);
  const tmp = tempNameFor(path.join(dir, 'prepared'));
  try {
    const handle = await fs.open(tmp, 'wx');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  }
  return {
    commit: (file) => linkIfAbsent(tmp, file, fs),
    discard: () => fs.unlink(tmp).catch(() => undefined),
  };
}

/** link() that reports "that name already exists" as false instead of throwing. */
export async function linkIfAbsent(
  existing: string,
  newPath: string,
  fs: FileOps = nodeFileOps,
): Promise<boolean> {
  try {
    await fs.link(existing, newPath);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  }
}

const queueTails = new Map<string, Promise<void>>();

/**
 * Runs `task` after every task queued earlier under the same key in this process has settled
 * (succeeded or failed), so writes to one record never interleave within a process. Keys are
 * file or folder paths; a key's queue is dropped once it is empty. Across processes the stores
 * add their own exclusive-create step: this queue only spares them contending with themselves.
 */
export function serialized<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queueTails.get(key) ?? Promise.resolve();
  const run = previous.then(() => task());
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queueTails.set(key, tail);
  void tail.then(() => {
    if (queueTails.get(key) === tail) queueTails.delete(key);
  });
  return run;
}

/** Waits `ms` plus up to as much again at random, so contending writers do not retry in step. */
export const backoff = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms + Math.random() * ms));
