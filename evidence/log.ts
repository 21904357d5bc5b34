/**
 * The evidence transparency log: an append-only RFC 6962 Merkle tree over every record of every
 * finding, in the order they were appended, kept in the same store as the records (a folder
 * under the local store's root, or a prefix of the S3 store's bucket under Object Lock), with
 * signed checkpoints (C2SP tlog-checkpoint notes) over it. docs/evidence.md.
 *
 * Layout, relative to the log's place (`<root>/.log/` or `s3://bucket/prefix/.log/`):
 *   leaves/<index, 12 digits>.json   the leaf bytes: canonical JSON {"findingId","hash","seq"}
 *   records/<finding folder>/<seq, 6 digits>.json   which leaf holds a record (for idempotent
 *                                    appends only; never trusted by a verifier)
 *   checkpoints/<size, 12 digits>    every signed checkpoint, created once
 *   checkpoint                       the latest signed checkpoint (the C2SP convention)
 *   state/<size, 12 digits>.json     the tree's right edge at that size, so the next checkpoint
 *                                    reads only the leaves added since (never trusted either)
 *   keys/<key ID hex>                the verifier key of each key that signed a checkpoint
 */
import { evidenceFolderName } from '../domain/finding';
import { fromBase64, toBase64 } from '../domain/signing/bytes';
import { noteVerifierOf, openNote, parseCheckpoint, signCheckpoint, type Checkpoint } from './checkpoint';
import { serialized } from './durable-file';
import { CompactRange, leafHash, MerkleTree } from './merkle';
import { canonicalJson, type EvidenceRecord } from './record';

/**
 * Where a log keeps its objects: names are `/`-separated paths relative to the log's place. The
 * local store keeps them as files under `<root>/.log`, the S3 store as objects.
 */
export interface LogStorage {
  /** The log's place, for messages: a folder path or `s3://bucket/prefix/.log`. */
  readonly location: string;
  /** Where one name lives, for messages. */
  locate(name: string): string;
  /**
   * Writes `content` under `name` unless something is there already, durably, and under
   * `retainUntil` where the store supports retention (S3 Object Lock). False when it existed.
   * `durable: false` may skip the flush to disk: for hints a verifier never trusts.
   */
  create(name: string, content: string, opts?: { retainUntil?: Date; durable?: boolean }): Promise<boolean>;
  /** Writes `content` under `name`, replacing what was there (a new version on S3). */
  replace(name: string, content: string, opts?: { retainUntil?: Date }): Promise<void>;
  /** The content under `name`, or undefined when there is none. */
  read(name: string): Promise<string | undefined>;
  /** Whether something is stored under `name`. */
  exists(name: string): Promise<boolean>;
  /**
   * Readies `content` to be created under some name in `folder` (locally: a temp file written and
   * flushed), so that several leaves can be readied at once and then named one after another.
   * `commit(name)` creates it exclusively (false when the name exists; it may be tried again
   * under another name); `discard()` drops what is left; `flush(folder)` makes the new names
   * durable (locally: fsync of the folder).
   */
  prepare(folder: string, content: string, opts?: { retainUntil?: Date }): Promise<PreparedObject>;
  /** Makes the names committed in `folder` durable. */
  flush(folder: string): Promise<void>;
  /** Every name that starts with `prefix` (a folder ending in `/`), sorted. */
  list(prefix: string): Promise<string[]>;
  /**
   * Problems only the storage can see: on S3, a name with more than one version or a delete
   * marker (an object overwritten or deleted; the first version stays under Object Lock).
   */
  historyProblems?(prefix: string): Promise<string[]>;
}

/** Content readied for an exclusive create (see `LogStorage.prepare`). */
export interface PreparedObject {
  commit(name: string): Promise<boolean>;
  discard(): Promise<void>;
}

/** What a log leaf says: this record, with this hash, is seq `seq` of finding `findingId`. */
export interface LogLeaf {
  findingId: string;
  seq: number;
  hash: string;
}

/** The bytes of a record's leaf: canonical JSON of its finding id, seq and hash. */
export function leafText(r: LogLeaf): string {
  return canonicalJson({ findingId: r.findingId, hash: r.hash, seq: r.seq });
}

/** The RFC 6962 leaf hash of a record. */
export function recordLeafHash(r: LogLeaf): Uint8Array {
  return leafHash(Buffer.from(leafText(r), 'utf8'));
}

/** Parses a stored leaf; undefined when it is not a leaf. */
export function parseLeaf(text: string): LogLeaf | undefined {
  try {
    const v = JSON.parse(text) as Partial<LogLeaf>;
    if (typeof v.findingId !== 'string' || typeof v.hash !== 'string' || !Number.isSafeInteger(v.seq))
      return undefined;
    const leaf = { findingId: v.findingId, seq: v.seq!, hash: v.hash };
    return leafText(leaf) === text ? leaf : undefined;
  } catch {
    return undefined;
  }
}

/** The key a log's checkpoints are signed with: the note key name (by convention the origin) and the Ed25519 seed. */
export interface CheckpointSigner {
  /** The log's origin line, also the signature's key name. */
  origin: string;
  /** 32-byte Ed25519 secret key (seed). Never logged. */
  secretKey: Uint8Array;
}

/** What `checkpoint()` did. */
export interface CheckpointResult {
  /** The signed note of the latest checkpoint (new or the one before). */
  note: string;
  size: number;
  /** Base64 root hash. */
  rootHash: string;
  /** False when no leaf was added since the last checkpoint: nothing was signed. */
  created: boolean;
  /** The verifier key that checks it (`<name>+<id>+<key>`). */
  verifierKey: string;
}

/** A checkpoint as found in a store or a file, before its signature is checked. */
export interface StoredCheckpoint {
  /** Where it was read from (a file path or an s3:// URL). */
  source: string;
  note: string;
}

/** The stored log does not match a checkpoint its own key signed: refused, nothing is signed. */
export class LogInconsistentError extends Error {
  override readonly name = 'LogInconsistentError';
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const leafName = (i: number): string => `leaves/${pad(i, 12)}.json`;
const markerName = (r: Pick<LogLeaf, 'findingId' | 'seq'>): string =>
  `records/${evidenceFolderName(r.findingId)}/${pad(r.seq, 6)}.json`;
const checkpointName = (size: number): string => `checkpoints/${pad(size, 12)}`;
const stateName = (size: number): string => `state/${pad(size, 12)}.json`;
const LATEST = 'checkpoint';

/** How many leaves are read at once. */
const READ_CONCURRENCY = 16;

/** Runs `fn` over `items` with at most `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * An append-only log of every record of a store, with signed checkpoints. Appends are
 * idempotent per record and never leave a gap:
 * - a leaf index is taken by creating its leaf exclusively (link() locally, a conditional put
 *   with `If-None-Match: *` on S3); a writer that loses tries the next index, so index i is only
 *   ever tried once leaf i-1 exists;
 * - within a process, appends that arrive together form one batch and batches run one after
 *   another, so a process never contends with itself; across processes writers contend only for
 *   the tail;
 * - a record's leaf index is noted under `records/` once its leaf is written: an append retried
 *   after a crash finds it there and writes nothing twice. A crash between the leaf and that note
 *   leaves the record logged twice with the same content, which verification accepts and reports.
 */
export class TransparencyLog {
  /** The next index known to be free or past the end: every leaf below it exists. */
  private hint: number | undefined;

  constructor(
    readonly storage: LogStorage,
    private readonly options: {
      /** Retention of leaves and checkpoints (S3 Object Lock); undefined where none applies. */
      retainUntil?: () => Date | undefined;
      /** How often an append may lose the race for the tail before giving up (default 10000). */
      maxAttempts?: number;
    } = {},
  ) {}

  /** Where the log is, for messages. */
  get location(): string {
    return this.storage.location;
  }

  /** Appends waiting for the batch being written. */
  private pending: {
    leaf: LogLeaf;
    fresh: boolean;
    resolve: (i: number) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private draining: Promise<void> | undefined;

  /**
   * Adds a record's leaf unless the log holds it already; returns its leaf index. `fresh`: the
   * record was just written by this caller, so no earlier leaf can exist for it. Appends that
   * arrive while a batch is being written form the next batch: their leaves are readied (written
   * and flushed) together, then named one after another, then the folder flushed once.
   */
  add(record: Pick<EvidenceRecord, 'findingId' | 'seq' | 'hash'>, opts: { fresh: boolean }): Promise<number> {
    const leaf: LogLeaf = { findingId: record.findingId, seq: record.seq, hash: record.hash };
    const done = new Promise<number>((resolve, reject) =>
      this.pending.push({ leaf, fresh: opts.fresh, resolve, reject }),
    );
    this.draining ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, 256);
        // One batch at a time per log in this process, whichever store object it came through.
        await serialized(`log:${this.storage.location}`, () => this.writeBatch(batch));
      }
    } finally {
      this.draining = undefined;
    }
  }

  private async writeBatch(batch: typeof this.pending): Promise<void> {
    const known = await Promise.all(
      batch.map((b) => (b.fresh ? undefined : this.indexOf(b.leaf).catch(() => undefined))),
    );
    const todo = batch.filter((b, k) => {
      if (known[k] === undefined) return true;
      b.resolve(known[k]);
      return false;
    });
    if (todo.length === 0) return;
    const retainUntil = this.options.retainUntil?.();
    const prepared = await Promise.allSettled(
      todo.map((b) => this.storage.prepare('leaves', leafText(b.leaf), { retainUntil })),
    );
    const written: { item: (typeof todo)[number]; index: number }[] = [];
    try {
      let i = this.hint ?? (await this.findEnd(0));
      let failed: unknown;
      for (const [k, item] of todo.entries()) {
        const p = prepared[k]!;
        if (p.status === 'rejected' || failed !== undefined) {
          item.reject(p.status === 'rejected' ? p.reason : failed);
          continue;
        }
        try {
          for (let attempt = 1; !(await p.value.commit(leafName(i))); attempt++) {
            if (attempt >= (this.options.maxAttempts ?? 10_000))
              throw new Error(
                `leaf ${i} of ${this.storage.location} was taken by another writer ${attempt} times in a row`,
              );
            // Another process appended: skip past its leaves at once instead of one by one.
            i = attempt % 8 === 0 ? await this.findEnd(i + 1) : i + 1;
          }
          written.push({ item, index: i });
          i += 1;
          this.hint = i;
        } catch (err) {
          // Stop naming: a later leaf must never be named while this one is not.
          failed = err;
          item.reject(err);
        }
      }
      if (written.length > 0) await this.storage.flush('leaves');
    } catch (err) {
      // The tail could not be found or the names not flushed: every append of the batch failed
      // (settling one twice does nothing, so those already rejected keep their own error).
      written.length = 0;
      for (const b of todo) b.reject(err);
    } finally {
      await Promise.all(prepared.map((p) => (p.status === 'fulfilled' ? p.value.discard() : undefined)));
    }
    await Promise.all(
      written.map(async ({ item, index }) => {
        await this.storage
          .create(markerName(item.leaf), JSON.stringify({ ...item.leaf, index }), { durable: false })
          .catch(() => undefined);
        item.resolve(index);
      }),
    );
  }

  /**
   * The index of a record's leaf as the note written with it says, when the note and the leaf
   * agree; undefined when the record is not known to be logged.
   */
  async indexOf(leaf: LogLeaf): Promise<number | undefined> {
    const marker = await this.storage.read(markerName(leaf)).catch(() => undefined);
    if (marker === undefined) return undefined;
    try {
      const m = JSON.parse(marker) as LogLeaf & { index: number };
      if (m.findingId !== leaf.findingId || m.hash !== leaf.hash || !Number.isSafeInteger(m.index))
        return undefined;
      return (await this.storage.read(leafName(m.index))) === leafText(leaf) ? m.index : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The number of leaves: the first index without a leaf at or after `from` (every leaf below
   * `from` is known to exist). Gallops then bisects, so it reads O(log n) names.
   */
  async findEnd(from = 0): Promise<number> {
    let lo = from;
    let step = 1;
    while (await this.storage.exists(leafName(lo + step - 1))) {
      lo += step;
      step *= 2;
    }
    let hi = lo + step - 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.storage.exists(leafName(mid))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The texts of leaves [from, to); undefined where a leaf is missing. */
  readLeaves(from: number, to: number): Promise<(string | undefined)[]> {
    const indexes = Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
    return mapLimit(indexes, READ_CONCURRENCY, (i) => this.storage.read(leafName(i)));
  }

  /** Where leaf `i` is stored, for messages. */
  locateLeaf(i: number): string {
    return this.storage.locate(leafName(i));
  }

  /** Every stored checkpoint: the history, then the latest pointer when it differs from all of them. */
  async storedCheckpoints(): Promise<StoredCheckpoint[]> {
    const names = await this.storage.list('checkpoints/');
    const history = await mapLimit(names, READ_CONCURRENCY, async (name) => ({
      source: this.storage.locate(name),
      note: (await this.storage.read(name)) ?? '',
    }));
    const latest = await this.storage.read(LATEST);
    if (latest !== undefined && !history.some((h) => h.note === latest))
      history.push({ source: this.storage.locate(LATEST), note: latest });
    return history;
  }

  /** The verifier keys stored with the log (one per key that signed a checkpoint). */
  async storedVerifierKeys(): Promise<{ source: string; vkey: string }[]> {
    const names = await this.storage.list('keys/');
    return mapLimit(names, READ_CONCURRENCY, async (name) => ({
      source: this.storage.locate(name),
      vkey: ((await this.storage.read(name)) ?? '').trim(),
    }));
  }

  /** The newest checkpoint signed by `signer`'s own key: the pointer, else the largest in the history. */
  private async ownLatest(
    signer: CheckpointSigner,
  ): Promise<{ checkpoint: Checkpoint; note: string } | undefined> {
    const verifier = noteVerifierOf(signer.origin, signer.secretKey);
    const own = (note: string | undefined): { checkpoint: Checkpoint; note: string } | undefined => {
      if (note === undefined) return undefined;
      try {
        const opened = openNote(note, [verifier]);
        if (opened.signedBy.length === 0) return undefined;
        const checkpoint = parseCheckpoint(opened.text);
        return checkpoint.origin === signer.origin ? { checkpoint, note } : undefined;
      } catch {
        return undefined;
      }
    };
    const pointer = own(await this.storage.read(LATEST));
    if (pointer && (await this.storage.exists(checkpointName(pointer.checkpoint.size)))) return pointer;
    // The pointer is missing, foreign or ahead of the history: trust the history alone.
    const names = (await this.storage.list('checkpoints/')).reverse();
    for (const name of names) {
      const found = own(await this.storage.read(name));
      if (found) return found;
    }
    return undefined;
  }

  /**
   * Signs a checkpoint over every leaf written so far, unless none was added since the last one.
   * The new tree is built from the right edge stored with the last checkpoint this key signed
   * (recomputed from the leaves when missing) and must reproduce that checkpoint's root: a log
   * never signs a checkpoint inconsistent with one it signed before (c2sp.org/tlog-checkpoint).
   * @throws LogInconsistentError when the stored log does not match the last checkpoint.
   */
  checkpoint(signer: CheckpointSigner): Promise<CheckpointResult> {
    return serialized(`checkpoint:${this.storage.location}`, async () => {
      const verifierKey = noteVerifierOf(signer.origin, signer.secretKey).vkey;
      const last = await this.ownLatest(signer);
      let range = new CompactRange();
      if (last) {
        range =
          (await this.readState(last.checkpoint.size)) ??
          (await this.rangeOf(0, last.checkpoint.size, range));
        if (toBase64(range.root()) !== toBase64(last.checkpoint.rootHash)) {
          // The stored right edge may be what changed: recompute it from the leaves once.
          range = await this.rangeOf(0, last.checkpoint.size, new CompactRange());
          if (toBase64(range.root()) !== toBase64(last.checkpoint.rootHash))
            throw new LogInconsistentError(
              `the log at ${this.storage.location} does not match its checkpoint of size ${last.checkpoint.size}: ` +
                'leaves were changed, removed or reordered since; nothing was signed (run `driftplane evidence verify --all`)',
            );
        }
      }
      const end = await this.findEnd(range.size);
      range = await this.rangeOf(range.size, end, range);
      const rootHash = toBase64(range.root());
      if (last && range.size === last.checkpoint.size)
        return { note: last.note, size: range.size, rootHash, created: false, verifierKey };
      const note = signCheckpoint(
        { origin: signer.origin, size: range.size, rootHash: range.root() },
        signer.origin,
        signer.secretKey,
      );
      const retainUntil = this.options.retainUntil?.();
      await this.storage.create(
        stateName(range.size),
        JSON.stringify({ size: range.size, hashes: range.hashes.map(toBase64) }),
      );
      await this.storage.create(checkpointName(range.size), note, { retainUntil });
      await this.storage.create(`keys/${verifierKey.split('+')[1]}`, `${verifierKey}\n`, { retainUntil });
      // The pointer never moves back: two checkpointers racing leave the larger one.
      const current = await this.ownLatest(signer);
      if (!current || current.checkpoint.size <= range.size)
        await this.storage.replace(LATEST, note, { retainUntil });
      return { note, size: range.size, rootHash, created: true, verifierKey };
    });
  }

  private async readState(size: number): Promise<CompactRange | undefined> {
    const text = await this.storage.read(stateName(size));
    if (text === undefined) return undefined;
    try {
      const s = JSON.parse(text) as { size: number; hashes: string[] };
      const hashes = s.hashes.map((h) => fromBase64(h));
      if (s.size !== size || hashes.some((h) => h?.length !== 32)) return undefined;
      return new CompactRange(size, hashes as Uint8Array[]);
    } catch {
      return undefined;
    }
  }

  /** `range` extended by the leaves [from, to), read in batches. */
  private async rangeOf(from: number, to: number, range: CompactRange): Promise<CompactRange> {
    for (let at = from; at < to; at += 1024) {
      const texts = await this.readLeaves(at, Math.min(to, at + 1024));
      texts.forEach((t, k) => {
        if (t === undefined)
          throw new LogInconsistentError(
            `leaf ${at + k} of ${this.storage.location} is missing: the log was truncated`,
          );
        range.append(leafHash(Buffer.from(t, 'utf8')));
      });
    }
    return range;
  }

  /** A tree over the leaves [0, size) with their parsed content (undefined where missing or malformed). */
  async treeOf(
    size: number,
  ): Promise<{ tree: MerkleTree; leaves: (LogLeaf | undefined)[]; missing: number[]; malformed: number[] }> {
    const texts = await this.readLeaves(0, size);
    const missing: number[] = [];
    const malformed: number[] = [];
    const leaves = texts.map((t, i) => {
      if (t === undefined) {
        missing.push(i);
        return undefined;
      }
      const leaf = parseLeaf(t);
      if (!leaf) malformed.push(i);
      return leaf;
    });
    // A missing leaf hashes as nothing at all: every root over it then fails, as it must.
    const tree = new MerkleTree(texts.map((t) => leafHash(Buffer.from(t ?? '\u0000missing', 'utf8'))));
    return { tree, leaves, missing, malformed };
  }
}
