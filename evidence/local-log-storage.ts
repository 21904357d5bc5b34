import path from 'node:path';
import { errnoOf, nodeFileOps, prepareDurably, syncDir, writeDurably, type FileOps } from './durable-file';
import type { LogStorage, PreparedObject } from './log';

/**
 * A transparency log's objects as files under a folder (the local store's `<root>/.log`).
 * Creation is exclusive (link(), which fails when the name exists) and durable (fsync of the
 * file and its folder, see `writeDurably`); retention does not apply to a local folder.
 */
export class LocalLogStorage implements LogStorage {
  constructor(
    readonly location: string,
    private readonly fs: FileOps = nodeFileOps,
  ) {}

  locate(name: string): string {
    return path.join(this.location, ...name.split('/'));
  }

  async create(name: string, content: string, opts: { durable?: boolean } = {}): Promise<boolean> {
    const file = this.locate(name);
    if (opts.durable !== false) return writeDurably(file, content, { mode: 'create', fs: this.fs });
    // A hint only (never trusted; a lost or torn one costs a retried append a duplicate leaf,
    // which verification accepts): written in place, not flushed.
    await this.fs.mkdir(path.dirname(file), { recursive: true });
    let handle;
    try {
      handle = await this.fs.open(file, 'wx');
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return false;
      throw err;
    }
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return true;
  }

  prepare(folder: string, content: string): Promise<PreparedObject> {
    return prepareDurably(this.locate(folder), content, this.fs).then((p) => ({
      commit: (name: string) => p.commit(this.locate(name)),
      discard: () => p.discard(),
    }));
  }

  flush(folder: string): Promise<void> {
    return syncDir(this.locate(folder), this.fs);
  }

  async replace(name: string, content: string): Promise<void> {
    await writeDurably(this.locate(name), content, { mode: 'replace', fs: this.fs });
  }

  async read(name: string): Promise<string | undefined> {
    try {
      return await this.fs.readFile(this.locate(name), 'utf8');
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.fs.stat(this.locate(name));
      return true;
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const dir = prefix.endsWith('/') ? prefix.slice(0, -1) : path.posix.dirname(prefix);
    const start = prefix.endsWith('/') ? '' : path.posix.basename(prefix);
    let names: string[];
    try {
      names = await this.fs.readdir(this.locate(dir));
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
      throw err;
    }
    return names
      .filter((n) => n.startsWith(start) && !n.startsWith('.'))
      .sort()
      .map((n) => `${dir}/${n}`);
  }
}
