import { createHash } from 'node:crypto';
import path from 'node:path';
import { evidenceFolderName, type ArtifactRef } from '../domain/finding';
import { statementProblems } from './statement-check';
import { errnoOf, linkIfAbsent, nodeFileOps, serialized, syncDir, writeDurably, type FileOps } from './durable-file';

/** One evidence record: what happened at one step of one finding's lifecycle. */
export interface EvidenceRecord {
  findingId: string;
  /** Position in the finding's chain, from 1. */
  seq: number;
  /** Idempotency key: the same step of the same run is written once, however often it is retried. */
  key: string;
  step: string;
  at: string;
  runId: string;
  data: unknown;
  /** SHA-256 of the previous record (hex), or 64 zeros for the first. */
  prevHash: string;
  /** SHA-256 over this record without `hash`, canonical JSON. */
  hash: string;
}

/** Result of checking a finding's chain. */
export interface ChainCheck {
  ok: boolean;
  records: number;
  problems: string[];
}

const GENESIS = '0'.repeat(64);

/** JSON with sorted keys, so a record hashes the same however it was built. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function hashOf(record: Omit<EvidenceRecord, 'hash'>): string {
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

/** What an evidence store can be given besides its folder. */
export interface EvidenceStoreOptions {
  /** File-system calls (default: the real ones); tests inject failures here. */
  fs?: FileOps;
  /** How often one append may lose the race for the next seq before giving up (default 1000). */
  maxAttempts?: number;
  /**
   * Called with the stored record after every append, also when the key was already there (a
   * retried activity), so a projection of the evidence (the findings ledger) is written at least
   * once per record; it must be idempotent. A failure fails the append (retryable): the record
   * stays written and the retry projects it again.
   */
  onAppend?: (record: EvidenceRecord) => Promise<void>;
}

const RECORD_NAME = /^(\d{6})-.*\.json$/;
const CLAIM_NAME = /^\.(\d{6})\.claim$/;
const seqName = (seq: number): string => String(seq).padStart(6, '0');
const claimName = (seq: number): string => `.${seqName(seq)}.claim`;
const recordName = (r: Pick<EvidenceRecord, 'seq' | 'step'>): string => `${seqName(r.seq)}-${r.step.replace(/[^a-z0-9-]/gi, '-')}.json`;

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
 */
export class EvidenceStore {
  private readonly fs: FileOps;

  constructor(
    readonly root: string,
    private readonly options: EvidenceStoreOptions = {},
  ) {
    this.fs = options.fs ?? nodeFileOps;
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
    return Promise.all(names.map(async (n) => ({ file: path.join(dir, n), record: await this.readRecord(path.join(dir, n)) })));
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
    if (!sha256) throw new EvidenceFileError(uri, 'not an evidence artifact uri (evidence://artifacts/sha256/<hex>)');
    const file = this.artifactFile(sha256);
    const text = await this.fs.readFile(file, 'utf8');
    const actual = createHash('sha256').update(text, 'utf8').digest('hex');
    if (actual !== sha256) throw new EvidenceFileError(file, `content hash ${actual} does not match its name`);
    return text;
  }

  private artifactFile(sha256: string): string {
    return path.join(this.root, '.artifacts', 'sha256', sha256);
  }

  /** Appends a record unless one with the same key exists; returns the stored record either way. */
  async append(entry: { findingId: string; key: string; step: string; runId: string; at: string; data: unknown }): Promise<EvidenceRecord> {
    const stored = await this.appendOnce(entry);
    await this.options.onAppend?.(stored);
    return stored;
  }

  private appendOnce(entry: { findingId: string; key: string; step: string; runId: string; at: string; data: unknown }): Promise<EvidenceRecord> {
    const dir = this.folderOf(entry.findingId);
    return serialized(path.resolve(dir), async () => {
      for (let attempt = 1; ; attempt++) {
        await this.completeClaims(dir);
        const existing = await this.readFiles(entry.findingId);
        const same = existing.find((f) => f.record.key === entry.key);
        if (same) return same.record;
        const last = existing[existing.length - 1];
        const body: Omit<EvidenceRecord, 'hash'> = {
          findingId: entry.findingId,
          // From the last file name, not the count: a chain with a record removed is never given a seq twice.
          seq: last ? Number(RECORD_NAME.exec(path.basename(last.file))?.[1]) + 1 : 1,
          key: entry.key,
          step: entry.step,
          at: entry.at,
          runId: entry.runId,
          data: entry.data,
          prevHash: last?.record.hash ?? GENESIS,
        };
        const record: EvidenceRecord = { ...body, hash: hashOf(body) };
        const file = path.join(dir, recordName(record));
        const won = await writeDurably(path.join(dir, claimName(record.seq)), `${JSON.stringify(record, null, 2)}\n`, {
          mode: 'create',
          alsoAs: [file],
          fs: this.fs,
        }).catch((err: unknown) => {
          throw new EvidenceWriteFailed(file, err);
        });
        if (won) return record;
        if (attempt >= (this.options.maxAttempts ?? 1000)) {
          throw new EvidenceWriteFailed(file, new Error(`seq ${record.seq} was taken by another writer ${attempt} times in a row`));
        }
      }
    });
  }

  /** Recomputes every hash and link of a finding's chain, and checks signed answers; each problem names its file and field. */
  async verify(findingId: string): Promise<ChainCheck> {
    const files = await this.readFiles(findingId);
    const problems: string[] = [];
    let prevHash = GENESIS;
    files.forEach(({ file, record: r }, i) => {
      const { hash, ...body } = r;
      if (r.seq !== i + 1) problems.push(`${file}: field seq is ${r.seq}, expected ${i + 1} (a record is missing or was inserted)`);
      if (r.prevHash !== prevHash) problems.push(`${file}: field prevHash does not link to the record before it`);
      if (r.findingId !== findingId) problems.push(`${file}: field findingId is ${r.findingId}, expected ${findingId}`);
      if (hashOf(body) !== hash) problems.push(`${file}: field hash does not match the record's content (changed after it was written)`);
      // A signed answer is checked on its own: a rewritten chain does not make a forged statement verify.
      if (r.step === 'approval') problems.push(...statementProblems(file, findingId, r.data));
      prevHash = hash;
    });
    if (files.length === 0) problems.push(`no evidence for ${findingId} in ${this.folderOf(findingId)}`);
    return { ok: problems.length === 0, records: files.length, problems };
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

/** A record could not be written (full disk, I/O error, lost races without end). Retryable. */
export class EvidenceWriteFailed extends Error {
  override readonly name = 'EvidenceWriteFailed';
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(`could not write evidence ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** An evidence file that cannot be read as a record. */
export class EvidenceFileError extends Error {
  override readonly name = 'EvidenceFileError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}
