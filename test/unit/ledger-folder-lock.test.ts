import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { folderLockHolder, LedgerInUseError, lockFileOf, lockFolder } from '../../ledger/folder-lock';
import { repoRoot } from '../support/shared-fixtures';

const folderIn = async () => path.join(await mkdtemp(path.join(os.tmpdir(), 'dp-folder-lock-')), 'ledger');

/** A real process that holds the folder's lock until killed; resolves once it holds it. */
async function holderProcess(folder: string): Promise<{ pid: number; stop: () => Promise<void> }> {
  const script = `const { lockFolder } = require(${JSON.stringify(path.join(repoRoot, 'ledger', 'folder-lock.ts'))}); lockFolder(${JSON.stringify(folder)}).then(() => { process.stdout.write('held\\n'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => c.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return {
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('one process at a time on a PGlite ledger folder', () => {
  it('takes the lock, refuses a second taker in the same process, and frees it on release', async () => {
    const folder = await folderIn();
    const lock = await lockFolder(folder);
    expect(lock.file).toBe(`${folder}.lock`);
    expect(JSON.parse(await readFile(lock.file, 'utf8'))).toEqual({ pid: process.pid, host: os.hostname() });
    const err: unknown = await lockFolder(folder).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerInUseError);
    expect(err).toMatchObject({ folder, holder: { pid: process.pid, host: os.hostname() }, lockFile: `${folder}.lock` });
    // This process's own lock is no reason for it to refuse reading.
    expect(await folderLockHolder(folder)).toBeUndefined();
    await lock.release();
    expect(existsSync(lock.file)).toBe(false);
    await (await lockFolder(folder)).release();
    // No temp files left beside it.
    expect(await readdir(path.dirname(folder))).toEqual([]);
  });

  it('of 20 concurrent takers exactly one wins', async () => {
    const folder = await folderIn();
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => lockFolder(folder)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof LedgerInUseError)).toBe(true);
  });

  it('a live process holding the folder is named; once it is gone (killed), its lock is taken over', async () => {
    const folder = await folderIn();
    const other = await holderProcess(folder);
    try {
      expect(await folderLockHolder(folder)).toEqual({ pid: other.pid, host: os.hostname() });
      const err: unknown = await lockFolder(folder).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerInUseError);
      expect((err as Error).message).toContain(`in use by process ${other.pid} on ${os.hostname()}: PGlite allows one process at a time`);
    } finally {
      await other.stop();
    }
    expect(await folderLockHolder(folder)).toBeUndefined();
    const lock = await lockFolder(folder);
    expect(JSON.parse(await readFile(lockFileOf(folder), 'utf8'))).toEqual({ pid: process.pid, host: os.hostname() });
    await lock.release();
  });

  it('a lock that is not one this code wrote (empty, garbage) holds nothing', async () => {
    const folder = await folderIn();
    await writeFile(lockFileOf(folder), '');
    expect(await folderLockHolder(folder)).toBeUndefined();
    await (await lockFolder(folder)).release();
  });
});
