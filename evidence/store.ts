import type { ArtifactRef } from '../domain/finding';
import type { FileOps } from './durable-file';
import type { TransparencyLog } from './log';
import type { ChainCheck, EvidenceEntry, EvidenceRecord } from './record';

/**
 * What every evidence store does, whether it keeps records in a local folder
 * (`LocalEvidenceStore`) or as objects in an S3 bucket under Object Lock (`S3EvidenceStore`):
 * append-only, hash-chained records per finding, idempotent by key, every record also a leaf of
 * the store's transparency log. `openEvidenceStore(settings)` picks one.
 */
export interface EvidenceStore {
  /** Where the store is: a folder path, or `s3://bucket/prefix`. */
  readonly location: string;
  /** The transparency log over every record of the store. */
  readonly log: TransparencyLog;
  /** Where one finding's records are: its folder, or its `s3://bucket/prefix/<folder>/` prefix. */
  folderOf(findingId: string): string;
  /** A URI of one finding's records (`file:///…` or `s3://…`), for links in alerts and pages. */
  locationOf(findingId: string): string;
  /**
   * Every finding folder, sorted, with the finding id its records name (undefined when no
   * readable record of the folder names it). For `driftplane db rebuild` and `evidence verify --all`.
   */
  listFindings(): Promise<{ folder: string; findingId?: string }[]>;
  /** All records of a finding, in chain order. */
  read(findingId: string): Promise<EvidenceRecord[]>;
  /** Records with the file (or object URL) each came from, in chain order. */
  readFiles(findingId: string): Promise<{ file: string; record: EvidenceRecord }[]>;
  /** Appends a record unless one with the same key exists; returns the stored record either way. */
  append(entry: EvidenceEntry): Promise<EvidenceRecord>;
  /** Recomputes a finding's chain: every hash, link and signed answer; each problem names its file and field. */
  verify(findingId: string): Promise<ChainCheck>;
  /** Keeps a large artifact content-addressed; returns the reference records carry instead of the bytes. */
  putArtifact(name: string, content: string): Promise<ArtifactRef>;
  /** An artifact's content by its reference (or uri); its hash is checked on the way out. */
  readArtifact(ref: Pick<ArtifactRef, 'uri'> | string): Promise<string>;
}

/** What an evidence store can be given besides where it is. */
export interface EvidenceStoreOptions {
  /** File-system calls of the local store (default: the real ones); tests inject failures here. */
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

/** A record could not be written (full disk, I/O error, S3 refusing, lost races without end). Retryable. */
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

/** An evidence file (or object) that cannot be read as a record. */
export class EvidenceFileError extends Error {
  override readonly name = 'EvidenceFileError';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}
