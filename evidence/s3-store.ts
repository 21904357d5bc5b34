import { createHash } from 'node:crypto';
import {
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { evidenceFolderName, type ArtifactRef } from '../domain/finding';
import { backoff, serialized } from './durable-file';
import { TransparencyLog, type LogStorage, type PreparedObject } from './log';
import { checkChain, nextRecord, type ChainCheck, type EvidenceEntry, type EvidenceRecord } from './record';
import { DEFAULT_RETENTION, retainUntil } from './retention';
import {
  EvidenceFileError,
  EvidenceWriteFailed,
  type EvidenceStore,
  type EvidenceStoreOptions,
} from './store';

/** Where an S3 store keeps its objects, and for how long. */
export interface S3StoreLocation {
  client: S3Client;
  bucket: string;
  /** Key prefix of the store: empty, or ending in `/`. */
  prefix: string;
  /** Object Lock retention of records whose entry and unit name none (default 400d). */
  retention?: string;
  /** The unit's `evidence.retention` for a finding, when the caller's registry knows it. */
  retentionFor?: (findingId: string) => string | undefined;
  /** Retention of log leaves, checkpoints and artifacts: at least the longest unit retention (default: `retention`). */
  logRetention?: string;
  /** The clock retention is counted from (tests). */
  now?: () => Date;
}

const errorName = (err: unknown): string | undefined => (err as { name?: string } | undefined)?.name;
const statusOf = (err: unknown): number | undefined =>
  (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;

/** The S3 calls the store makes, each on one key of one bucket. */
class S3Objects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  /**
   * Puts `body` unless an object with that key exists (a conditional put, `If-None-Match: *`),
   * under Object Lock COMPLIANCE until `until` when given. False when the key was taken. S3
   * answers 409 while another conditional put of the key is in flight: that one is waited out.
   */
  async putIfAbsent(key: string, body: string, until?: Date): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: key,
            Body: body,
            ContentType: 'application/json',
            IfNoneMatch: '*',
            ...(until ? { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until } : {}),
          }),
        );
        return true;
      } catch (err) {
        if (statusOf(err) === 412 || errorName(err) === 'PreconditionFailed') return false;
        if ((statusOf(err) === 409 || errorName(err) === 'ConditionalRequestConflict') && attempt < 8) {
          await backoff(25 * attempt);
          continue;
        }
        throw err;
      }
    }
  }

  /** Puts `body` under `key`, a new version over any before it. */
  async put(key: string, body: string, until?: Date): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...(until ? { ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until } : {}),
      }),
    );
  }

  /** The object's content, or undefined when there is none. */
  async get(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (errorName(err) === 'NoSuchKey' || statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (errorName(err) === 'NotFound' || statusOf(err) === 404) return false;
      throw err;
    }
  }

  /** Keys under `prefix`, and with `delimiter` the common prefixes one level down; sorted. */
  async list(prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> {
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(delimiter ? { Delimiter: delimiter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of out.Contents ?? []) if (o.Key) keys.push(o.Key);
      for (const p of out.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return { keys: keys.sort(), prefixes: prefixes.sort() };
  }

  /**
   * Every key under `prefix` that holds more than one version or a delete marker: an object was
   * overwritten or deleted. Under Object Lock the first version is still there; the message says so.
   */
  async history(prefix: string, ignore: (key: string) => boolean = () => false): Promise<string[]> {
    const seen = new Map<string, { versions: number; deleted: number }>();
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(keyMarker ? { KeyMarker: keyMarker } : {}),
          ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
        }),
      );
      for (const v of out.Versions ?? [])
        if (v.Key)
          seen.set(v.Key, {
            versions: (seen.get(v.Key)?.versions ?? 0) + 1,
            deleted: seen.get(v.Key)?.deleted ?? 0,
          });
      for (const d of out.DeleteMarkers ?? [])
        if (d.Key)
          seen.set(d.Key, {
            versions: seen.get(d.Key)?.versions ?? 0,
            deleted: (seen.get(d.Key)?.deleted ?? 0) + 1,
          });
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      versionMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
    } while (keyMarker);
    const problems: string[] = [];
    for (const [key, h] of [...seen].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (ignore(key)) continue;
      if (h.deleted > 0)
        problems.push(
          `${this.url(key)}: deleted (${h.deleted} delete marker(s)); its locked versions are still in the bucket's version history`,
        );
      if (h.versions > 1)
        problems.push(
          `${this.url(key)}: overwritten (${h.versions} versions); the first version is the one written by driftplane`,
        );
    }
    return problems;
  }
}

/** A transparency log's objects in S3, under `<prefix>.log/`, leaves and checkpoints under Object Lock. */
class S3LogStorage implements LogStorage {
  constructor(
    private readonly s3: S3Objects,
    private readonly base: string,
  ) {}

  get location(): string {
    return this.s3.url(this.base.replace(/\/$/, ''));
  }

  locate(name: string): string {
    return this.s3.url(this.base + name);
  }

  create(name: string, content: string, opts: { retainUntil?: Date } = {}): Promise<boolean> {
    return this.s3.putIfAbsent(this.base + name, content, opts.retainUntil);
  }

  replace(name: string, content: string, opts: { retainUntil?: Date } = {}): Promise<void> {
    return this.s3.put(this.base + name, content, opts.retainUntil);
  }

  read(name: string): Promise<string | undefined> {
    return this.s3.get(this.base + name);
  }

  exists(name: string): Promise<boolean> {
    return this.s3.exists(this.base + name);
  }

  async prepare(
    _folder: string,
    content: string,
    opts: { retainUntil?: Date } = {},
  ): Promise<PreparedObject> {
    // Nothing to ready: a put is durable once S3 answers.
    return { commit: (name) => this.create(name, content, opts), discard: async () => undefined };
  }

  async flush(): Promise<void> {}

  async list(prefix: string): Promise<string[]> {
    return (await this.s3.list(this.base + prefix)).keys.map((k) => k.slice(this.base.length));
  }

  /** Leaves, checkpoints and keys overwritten or deleted (the latest-checkpoint pointer is replaced by design). */
  historyProblems(prefix: string): Promise<string[]> {
    return this.s3.history(
      this.base + prefix,
      (key) => key === `${this.base}checkpoint` || key.startsWith(`${this.base}records/`),
    );
  }
}

const RECORD_KEY = /\/(\d{6})\.json$/;
const seqName = (seq: number): string => String(seq).padStart(6, '0');

/**
 * The production evidence store: one object per record in an S3 bucket with Object Lock,
 * `<prefix><finding folder>/<seq, 6 digits>.json`, each put under COMPLIANCE retention until the
 * unit's `evidence.retention` from now, so nobody (the root account included) can delete or
 * shorten it before then. The transparency log lives under `<prefix>.log/` in the same bucket.
 *
 * - Idempotent by key: an append first reads the finding's chain; a record with the key is
 *   returned as it is.
 * - A seq is taken with a conditional put (`If-None-Match: *`): exactly one writer creates
 *   `000007.json`; the others get 412, re-read the chain and take the next seq (or find their
 *   key). Within a process, appends to one finding run one after another.
 * - `verify` adds what only S3 can show: a record key with more than one version or a delete
 *   marker (the object was overwritten or deleted; its locked first version remains).
 * Every failure to write throws `EvidenceWriteFailed` (retryable).
 */
export class S3EvidenceStore implements EvidenceStore {
  readonly log: TransparencyLog;
  private readonly s3: S3Objects;
  private readonly prefix: string;
  /** Records already read by this process, by key: records are never rewritten by driftplane. */
  private readonly cache = new Map<string, EvidenceRecord>();

  constructor(
    private readonly where: S3StoreLocation,
    private readonly options: EvidenceStoreOptions = {},
  ) {
    if (where.prefix !== '' && !where.prefix.endsWith('/'))
      throw new Error(`S3 prefix "${where.prefix}" must be empty or end in /`);
    for (const r of [where.retention, where.logRetention]) if (r !== undefined) retainUntil(new Date(0), r);
    this.s3 = new S3Objects(where.client, where.bucket);
    this.prefix = where.prefix;
    this.log = new TransparencyLog(new S3LogStorage(this.s3, `${this.prefix}.log/`), {
      retainUntil: () => retainUntil(this.now(), this.logRetention),
    });
  }

  private now(): Date {
    return this.where.now?.() ?? new Date();
  }

  private get logRetention(): string {
    return this.where.logRetention ?? this.where.retention ?? DEFAULT_RETENTION;
  }

  /** `s3://bucket/prefix`. */
  get location(): string {
    return this.s3.url(this.prefix);
  }

  folderOf(findingId: string): string {
    return this.s3.url(this.folderKey(findingId));
  }

  locationOf(findingId: string): string {
    return this.folderOf(findingId);
  }

  private folderKey(findingId: string): string {
    return `${this.prefix}${evidenceFolderName(findingId)}/`;
  }

  /**
   * Fails with a clear message when the bucket cannot keep records: it does not exist, cannot be
   * read, or has no Object Lock (then no record could be put under retention).
   */
  async check(): Promise<void> {
    const out = await this.where.client
      .send(new GetObjectLockConfigurationCommand({ Bucket: this.where.bucket }))
      .catch((err: unknown) => {
        throw new Error(
          `s3://${this.where.bucket}: cannot read its Object Lock configuration (${(err as Error).message}); ` +
            'create the bucket with Object Lock enabled (docs/evidence.md)',
        );
      });
    if (out.ObjectLockConfiguration?.ObjectLockEnabled !== 'Enabled')
      throw new Error(
        `s3://${this.where.bucket}: Object Lock is not enabled; create the bucket with Object Lock (docs/evidence.md)`,
      );
  }

  async listFindings(): Promise<{ folder: string; findingId?: string }[]> {
    const { prefixes } = await this.s3.list(this.prefix, '/');
    const out: { folder: string; findingId?: string }[] = [];
    for (const p of prefixes) {
      const name = p.slice(this.prefix.length, -1);
      if (name.startsWith('.')) continue;
      let findingId: string | undefined;
      for (const key of (await this.s3.list(p)).keys.filter((k) => RECORD_KEY.test(k))) {
        const id = await this.readRecord(key, true).then(
          (r) => (typeof r?.findingId === 'string' ? r.findingId : undefined),
          () => undefined,
        );
        if (id !== undefined && evidenceFolderName(id) === name) {
          findingId = id;
          break;
        }
      }
      out.push({ folder: this.s3.url(p), ...(findingId !== undefined ? { findingId } : {}) });
    }
    return out;
  }

  async read(findingId: string): Promise<EvidenceRecord[]> {
    return (await this.readFiles(findingId)).map((f) => f.record);
  }

  readFiles(findingId: string): Promise<{ file: string; record: EvidenceRecord }[]> {
    return this.readChain(findingId, false);
  }

  private async readChain(
    findingId: string,
    cached: boolean,
  ): Promise<{ file: string; record: EvidenceRecord }[]> {
    const keys = (await this.s3.list(this.folderKey(findingId))).keys.filter((k) => RECORD_KEY.test(k));
    const records = await Promise.all(keys.map((k) => this.readRecord(k, cached)));
    return keys.flatMap((k, i) => (records[i] ? [{ file: this.s3.url(k), record: records[i] }] : []));
  }

  private async readRecord(key: string, cached: boolean): Promise<EvidenceRecord | undefined> {
    const hit = cached ? this.cache.get(key) : undefined;
    if (hit) return hit;
    const text = await this.s3.get(key);
    if (text === undefined) return undefined;
    let record: EvidenceRecord;
    try {
      record = JSON.parse(text) as EvidenceRecord;
    } catch (err) {
      throw new EvidenceFileError(this.s3.url(key), `not valid JSON (${(err as Error).message})`);
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, record);
    return record;
  }

  async append(entry: EvidenceEntry): Promise<EvidenceRecord> {
    const { record, fresh } = await this.appendOnce(entry);
    await this.log.add(record, { fresh }).catch((err: unknown) => {
      throw new EvidenceWriteFailed(this.log.location, err);
    });
    await this.options.onAppend?.(record);
    return record;
  }

  private appendOnce(entry: EvidenceEntry): Promise<{ record: EvidenceRecord; fresh: boolean }> {
    const folder = this.folderKey(entry.findingId);
    return serialized(this.s3.url(folder), async () => {
      const retention =
        entry.retention ??
        this.where.retentionFor?.(entry.findingId) ??
        this.where.retention ??
        DEFAULT_RETENTION;
      for (let attempt = 1; ; attempt++) {
        const key = (seq: number): string => `${folder}${seqName(seq)}.json`;
        let existing: { file: string; record: EvidenceRecord }[];
        try {
          existing = await this.readChain(entry.findingId, true);
        } catch (err) {
          if (err instanceof EvidenceFileError) throw err;
          throw new EvidenceWriteFailed(this.s3.url(folder), err);
        }
        const same = existing.find((f) => f.record.key === entry.key);
        if (same) return { record: same.record, fresh: false };
        const last = existing[existing.length - 1];
        const seq = last ? Number(RECORD_KEY.exec(last.file)?.[1]) + 1 : 1;
        const record = nextRecord(entry, seq, last?.record);
        const won = await this.s3
          .putIfAbsent(key(seq), `${JSON.stringify(record, null, 2)}\n`, retainUntil(this.now(), retention))
          .catch((err: unknown) => {
            throw new EvidenceWriteFailed(this.s3.url(key(seq)), err);
          });
        if (won) {
          this.cache.set(key(seq), record);
          return { record, fresh: true };
        }
        if (attempt >= (this.options.maxAttempts ?? 1000))
          throw new EvidenceWriteFailed(
            this.s3.url(key(seq)),
            new Error(`seq ${seq} was taken by another writer ${attempt} times in a row`),
          );
      }
    });
  }

  /** The chain check, plus every record key that was overwritten or deleted in the bucket. */
  async verify(findingId: string): Promise<ChainCheck> {
    const check = checkChain(findingId, await this.readFiles(findingId), this.folderOf(findingId));
    const history = await this.s3.history(this.folderKey(findingId));
    const problems = [
      ...check.problems.filter((p) => !(history.length > 0 && p.startsWith('no evidence for'))),
      ...history,
    ];
    return { ok: problems.length === 0, records: check.records, problems };
  }

  async putArtifact(name: string, content: string): Promise<ArtifactRef> {
    const bytes = Buffer.from(content, 'utf8');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = this.artifactKey(sha256);
    await this.s3
      .putIfAbsent(key, content, retainUntil(this.now(), this.logRetention))
      .catch((err: unknown) => {
        throw new EvidenceWriteFailed(this.s3.url(key), err);
      });
    return { name, uri: `evidence://artifacts/sha256/${sha256}`, sha256, bytes: bytes.length };
  }

  async readArtifact(ref: Pick<ArtifactRef, 'uri'> | string): Promise<string> {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    const sha256 = /^evidence:\/\/artifacts\/sha256\/([0-9a-f]{64})$/.exec(uri)?.[1];
    if (!sha256)
      throw new EvidenceFileError(uri, 'not an evidence artifact uri (evidence://artifacts/sha256/<hex>)');
    const key = this.artifactKey(sha256);
    const text = await this.s3.get(key);
    if (text === undefined) throw new EvidenceFileError(this.s3.url(key), 'no such artifact');
    const actual = createHash('sha256').update(text, 'utf8').digest('hex');
    if (actual !== sha256)
      throw new EvidenceFileError(this.s3.url(key), `content hash ${actual} does not match its name`);
    return text;
  }

  private artifactKey(sha256: string): string {
    return `${this.prefix}.artifacts/sha256/${sha256}`;
  }
}

/** Parses `s3://bucket/prefix` into its bucket and key prefix (empty, or ending in `/`). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`"${url}" is not s3://<bucket>/<prefix>`);
  const prefix = (m[2] ?? '').replace(/^\/+/, '');
  return { bucket: m[1]!, prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/` };
}
