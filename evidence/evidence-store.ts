import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { evidenceFolderName } from '../domain/finding';

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

/**
 * A local, append-only evidence store: one folder per finding, one JSON file per record, each
 * record hash-chained to the one before. Appends are idempotent by key, so an activity retried
 * after a worker crash never writes the same step twice. (Production: S3 with Object Lock.)
 */
export class EvidenceStore {
  constructor(readonly root: string) {}

  /** The folder holding one finding's records. */
  folderOf(findingId: string): string {
    return path.join(this.root, evidenceFolderName(findingId));
  }

  /** All records of a finding, in chain order. */
  async read(findingId: string): Promise<EvidenceRecord[]> {
    return (await this.readFiles(findingId)).map((f) => f.record);
  }

  /** Records with the file each came from, in chain (file name) order. */
  async readFiles(findingId: string): Promise<{ file: string; record: EvidenceRecord }[]> {
    const dir = this.folderOf(findingId);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => /^\d{6}-.*\.json$/.test(n)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return Promise.all(
      names.map(async (n) => {
        const file = path.join(dir, n);
        const text = await readFile(file, 'utf8');
        try {
          return { file, record: JSON.parse(text) as EvidenceRecord };
        } catch (err) {
          throw new EvidenceFileError(file, `not valid JSON (${(err as Error).message})`);
        }
      }),
    );
  }

  /** Appends a record unless one with the same key exists; returns the stored record either way. */
  async append(entry: { findingId: string; key: string; step: string; runId: string; at: string; data: unknown }): Promise<EvidenceRecord> {
    const existing = await this.read(entry.findingId);
    const same = existing.find((r) => r.key === entry.key);
    if (same) return same;
    const prev = existing[existing.length - 1];
    const body: Omit<EvidenceRecord, 'hash'> = {
      findingId: entry.findingId,
      seq: existing.length + 1,
      key: entry.key,
      step: entry.step,
      at: entry.at,
      runId: entry.runId,
      data: entry.data,
      prevHash: prev?.hash ?? GENESIS,
    };
    const record: EvidenceRecord = { ...body, hash: hashOf(body) };
    const dir = this.folderOf(entry.findingId);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${String(record.seq).padStart(6, '0')}-${entry.step.replace(/[^a-z0-9-]/gi, '-')}.json`);
    // Write then rename: a crash leaves either no record or a whole one, never half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
    await rename(tmp, file);
    return record;
  }

  /** Recomputes every hash and link of a finding's chain; each problem names its file and field. */
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
      prevHash = hash;
    });
    if (files.length === 0) problems.push(`no evidence for ${findingId} in ${this.folderOf(findingId)}`);
    return { ok: problems.length === 0, records: files.length, problems };
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
