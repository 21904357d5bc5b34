import { createHash } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { evidenceFolderName, type ArtifactRef } from '../domain/finding';
import {
  errnoOf,
  linkIfAbsent,
  nodeFileOps,
  serialized,
  syncDir,
  writeDurably,
  type FileOps,
} from './durable-file';
import { LocalLogStorage } from './local-log-storage';
import { TransparencyLog } from './log';
import { checkChain, nextRecord, type ChainCheck, type EvidenceEntry, type EvidenceRecord } from './record';
import {
  EvidenceFileError,
  EvidenceWriteFailed,
  type EvidenceStore as EvidenceStoreInterface,
  type EvidenceStoreOptions,
} from './store';

export { canonicalJson, type ChainCheck, type EvidenceEntry, type EvidenceRecord } from './record';
export { EvidenceFileError, EvidenceWriteFailed, type EvidenceStoreOptions } from './store';

const RECORD_NAME = /^(\d{6})-.*\.json$/;
const CLAIM_NAME = /^\.(\d{6})\.claim$/;
const seqName = (seq: number): string => String(seq).padStart(6, '0');
const claimName = (seq: number): string => `.${seqName(seq)}.claim`;
const recordName = (r: Pick<EvidenceRecord, 'seq' | 'step'>): string =>
  `${seqName(r.seq)}-${r.step.replace(/[^a-z0-9-]/gi, '-')}.json`;

/**
 * A local, append-only evidence store: one folder per finding, one JSON file per record
 * (`000007-approval.json`), each record hash-chained to the one before. Appends are idempotent by
 * key, so an activity retried after a worker crash never writes the same step twice.
 * (Production: S3 with Object Lock.)
 *
 * Every write is durable and every append is kept, however many run at once:
 * - Within a process, appends to one finding run one after another (a queue per folder).
 * - Across processes, a seq is taken by creating its claim, `.000007.claim`, with link(): the
 *   claim holds the whole record, already fsynced, and link() fails with EEXIST when a claim of
 *   that seq exists, whatever the step. Only the writer whose link succeeds owns seq 7; it then
 *   links the same content to `000007-<step>.json`. A writer that loses re-reads the chain and
 *   tries again: the same key now found is returned (one record per key), or it takes the next seq.
 * - A claim without its record file (its writer crashed or hit a full disk between the two links)
 *   is completed by the next append from its content, so a chain never stops at a dead claim.
 * - Files are written to a temp name of their own, fsynced, named, and the folder fsynced (see
 *   `writeDurably`); a temp file left by a failure never blocks a later write.
 * A write that fails throws `EvidenceWriteFailed`: retryable, the next attempt starts afresh.
 *
 * Every record is also a leaf of the store's transparency log, kept under `<root>/.log`
 * (evidence/log.ts): written after the record, before `onAppend`, and again (once) by a retry.
 */
export class LocalEvidenceStore implements EvidenceStoreInterface {
  private readonly fs: FileOps;
  readonly log: TransparencyLog;

  constructor(
    readonly root: string,
    private readonly options: EvidenceStoreOptions = {},
  ) {
    this.fs = options.fs ?? nodeFileOps;
    this.log = new TransparencyLog(new LocalLogStorage(path.join(root, '.log'), this.fs));
  }

  /** The store's folder. */
  get location(): string {
    return this.root;
  }

  /** `file:///…` of the finding's folder. */
  locationOf(findingId: string): string {
    return pathToFileURL(this.folderOf(findingId)).href;
  }

  /** The folder holding one finding's records. */
  folderOf(findingId: string): string {
    return path.join(this.root, evidenceFolderName(findingId));
  }

  /**
   * Every finding folder under the root, sorted, with the finding id its records name: the first
   * record (in chain order) whose `findingId` is stored in this folder. `findingId` is undefined
   * when no readable record of the folder names it (every record was removed, or rewritten). Hidden
   * entries (`.artifacts`) and plain files are skipped. For `driftplane db rebuild`.
   */
  async listFindings(): Promise<{ folder: string; findingId?: string }[]> {
    const out: { folder: string; findingId?: string }[] = [];
    for (const name of (await this.namesIn(this.root)).filter((n) => !n.startsWith('.')).sort()) {
      const dir = path.join(this.root, name);
      let names: string[];
      try {
        names = await this.fs.readdir(dir);
      } catch (err) {
        if (errnoOf(err) === 'ENOTDIR' || errnoOf(err) === 'ENOENT') continue;
        throw err;
      }
      let findingId: string | undefined;
      for (const n of names.filter((x) => RECORD_NAME.test(x)).sort()) {
        const id = await this.readRecord(path.join(dir, n)).then(
          (r) => (typeof r.findingId === 'string' ? r.findingId : undefined),
          () => undefined,
        );
        if (id !== undefined && evidenceFolderName(id) === name) {
          findingId = id;
          break;
        }
      }
      out.push({ folder: dir, ...(findingId !== undefined ? { findingId } : {}) });
    }
    return out;
  }

  /** All records of a finding, in chain order. */
  async read(findingId: string): Promise<EvidenceRecord[]> {
    return (await this.readFiles(findingId)).map((f) => f.record);
  }

  /** Records with the file each came from, in chain (file name) order. */
  async readFiles(findingId: string): Promise<{ file: string; record: EvidenceRecord }[]> {
    const dir = this.folderOf(findingId);
    const names = (await this.namesIn(dir)).filter((n) => RECORD_NAME.test(n)).sort();
    return Promise.all(
      names.map(async (n) => ({ file: path.join(dir, n), record: await this.readRecord(path.join(dir, n)) })),
    );
  }

  /**
   * Keeps a large artifact (a raw plan JSON, an API response) content-addressed under
   * `<root>/.artifacts/sha256/<hex>`, written durably once, and returns the reference that travels
   * in workflow history and evidence records instead of the bytes. Idempotent: the same content
   * gives the same reference and is written once.
   */
  async putArtifact(name: string, content: string): Promise<ArtifactRef> {
    const bytes = Buffer.from(content, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = this.artifactFile(sha256);
    try {
      await writeDurably(file, content, { mode: 'create', fs: this.fs });
    } catch (err) {
      throw new EvidenceWriteFailed(file, err);
    }
    return { name, uri: `evidence://artifacts/sha256/${sha256}`, sha256, bytes: bytes.length };
  }

  /** The content of an artifact by its reference (or uri); its hash is checked on the way out. */
  async readArtifact(ref: Pick<ArtifactRef, 'uri'> | string): Promise<string> {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const sha256 = /^evidence:\/\/artifacts\/sha256\/([0-9a-f]{64})$/.exec(uri)?.[1];
    if (!sha256)
      throw new EvidenceFileError(uri, 'not an evidence artifact uri (evidence://artifacts/sha256/<hex>)');
    const file = this.artifactFile(sha256);
    const text = await this.fs.readFile(file, 'utf8');
    const actual = createHash('sha256').update(text, 'utf8').digest('hex');
    if (actual !== sha256)
      throw new EvidenceFileError(file, `content hash ${actual} does not match its name`);
    return text;
  }

  private artifactFile(sha256: string): string {
    return path.join(this.root, '.artifacts', 'sha256', sha256);
  }

  /** Appends a record unless one with the same key exists; returns the stored record either way. */
  async append(entry: EvidenceEntry): Promise<EvidenceRecord> {
    const { record, fresh } = await this.appendOnce(entry);
    await this.log.add(record, { fresh }).catch((err: unknown) => {
      throw new EvidenceWriteFailed(this.log.location, err);
    });
    await this.options.onAppend?.(record);
    return record;
  }

  private appendOnce(entry: EvidenceEntry): Promise<{ record: EvidenceRecord; fresh: boolean }> {
    const dir = this.folderOf(entry.findingId);
    return serialized(path.resolve(dir), async () => {
      for (let attempt = 1; ; attempt++) {
        let existing: { file: string; record: EvidenceRecord }[];
        try {
          await this.completeClaims(dir);
          existing = await this.readFiles(entry.findingId);
        } catch (err) {
          // A folder that cannot be read (a file where it should be, EIO) fails the append as a
          // write failure, retryable and named, like a write that fails.
          if (err instanceof EvidenceFileError || err instanceof EvidenceWriteFailed) throw err;
          throw new EvidenceWriteFailed(dir, err);
        }
        const same = existing.find((f) => f.record.key === entry.key);
        if (same) return { record: same.record, fresh: false };
        const last = existing[existing.length - 1];
        // From the last file name, not the count: a chain with a record removed is never given a seq twice.
        const seq = last ? Number(RECORD_NAME.exec(path.basename(last.file))?.[1]) + 1 : 1;
        const record = nextRecord(entry, seq, last?.record);
        const file = path.join(dir, recordName(record));
        const won = await writeDurably(
          path.join(dir, claimName(record.seq)),
          `${JSON.stringify(record, null, 2)}\n`,
          {
            mode: 'create',
            alsoAs: [file],
            fs: this.fs,
          },
        ).catch((err: unknown) => {
          throw new EvidenceWriteFailed(file, err);
        });
        if (won) return { record, fresh: true };
        if (attempt >= (this.options.maxAttempts ?? 1000)) {
          throw new EvidenceWriteFailed(
            file,
            new Error(`seq ${record.seq} was taken by another writer ${attempt} times in a row`),
          );
        }
      }
    });
  }

  /** Recomputes every hash and link of a finding's chain, and checks signed answers; each problem names its file and field. */
  async verify(findingId: string): Promise<ChainCheck> {
    return checkChain(findingId, await this.readFiles(findingId), this.folderOf(findingId));
  }

  private async namesIn(dir: string): Promise<string[]> {
    try {
      return await this.fs.readdir(dir);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') return [];
      throw err;
    }
  }

  private async readRecord(file: string): Promise<EvidenceRecord> {
    const text = await this.fs.readFile(file, 'utf8');
    try {
      return JSON.parse(text) as EvidenceRecord;
    } catch (err) {
      throw new EvidenceFileError(file, `not valid JSON (${(err as Error).message})`);
    }
  }

  /**
   * Gives a record file to every claim above the last record file: the claim's writer stopped
   * between its two links. Claims below it are left alone, so a record file removed from the
   * middle of a chain stays missing and `verify` reports it.
   */
  private async completeClaims(dir: string): Promise<void> {
    const names = await this.namesIn(dir);
    const top = Math.max(0, ...names.map((n) => Number(RECORD_NAME.exec(n)?.[1] ?? 0)));
    const pending = names.filter((n) => Number(CLAIM_NAME.exec(n)?.[1] ?? 0) > top).sort();
    for (const claim of pending) {
      const record = await this.readRecord(path.join(dir, claim));
      const file = path.join(dir, recordName(record));
      await linkIfAbsent(path.join(dir, claim), file, this.fs).catch((err: unknown) => {
        throw new EvidenceWriteFailed(file, err);
      });
    }
    if (pending.length > 0) {
      await syncDir(dir, this.fs).catch((err: unknown) => {
        throw new EvidenceWriteFailed(dir, err);
      });
    }
  }
}

/**
 * The local store under its former name: `new EvidenceStore(folder)` still builds a local store,
 * and the type `EvidenceStore` is the interface every store implements (evidence/store.ts), so
 * code typed with it takes an S3 store as well.
 */
export const EvidenceStore = LocalEvidenceStore;
/** Any evidence store (evidence/store.ts). */
export type EvidenceStore = EvidenceStoreInterface;
