/**
 * What `driftplane evidence verify` checks, for one finding or the whole store: each finding's
 * hash chain, and the transparency log against signed checkpoints. The chain alone shows an edited,
 * inserted or reordered record; the log shows what a chain cannot: a record removed from the end,
 * a finding dropped, or a whole chain rewritten with recomputed hashes. Nothing in the store is
 * trusted but what a trusted key signed (docs/evidence.md).
 */
import { toBase64 } from '../domain/signing/bytes';
import {
  NoteFormatError,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  type Checkpoint,
  type NoteVerifier,
} from './checkpoint';
import { recordLeafHash, type LogLeaf, type StoredCheckpoint } from './log';
import { verifyConsistency, verifyInclusion } from './merkle';
import { recordHashOf, type ChainCheck, type EvidenceRecord } from './record';
import { EvidenceFileError, type EvidenceStore } from './store';

/** What to check, and what to trust. */
export interface AuditOptions {
  /** One finding; undefined: every finding in the store and every finding the log names. */
  findingId?: string;
  /**
   * The verifier keys (`<name>+<id>+<key>`) checkpoints must be signed by. Empty: the keys stored
   * with the log are used, which proves the log matches its checkpoints but not who signed them.
   */
  trustedKeys?: string[];
  /** Checkpoints kept outside the store (files an auditor saved), checked with the stored ones. */
  checkpoints?: StoredCheckpoint[];
  /** The origin every checkpoint must name (default: the origin of the checkpoints found). */
  origin?: string;
  /** A record no signed checkpoint covers yet is a problem, not a warning. */
  strict?: boolean;
}

/** One finding's result. */
export interface FindingAudit {
  findingId: string;
  folder: string;
  records: number;
  /** Records whose inclusion proof verifies against the latest checkpoint. */
  anchored: number;
  chain: ChainCheck;
}

/** The result of an audit. */
export interface AuditReport {
  ok: boolean;
  findings: FindingAudit[];
  /** The latest signed checkpoint the records were checked against. */
  checkpoint?: { origin: string; size: number; rootHash: string; signedBy: string[]; source: string };
  /** Signed checkpoints found (store and files), each consistent with the one before when `ok`. */
  checkpoints: number;
  /** Leaves in the log (also those no checkpoint covers yet). */
  logSize: number;
  /** Whether the checkpoint keys came from the store itself rather than from the caller. */
  keysFromStore: boolean;
  problems: string[];
  warnings: string[];
}

interface SignedCheckpoint extends Checkpoint {
  source: string;
  signedBy: NoteVerifier[];
}

const keyOf = (findingId: string, seq: number): string => `${findingId}\u0000${seq}`;
const b64 = (b: Uint8Array): string => toBase64(b);

/** Reads the keys to trust: the caller's, else the ones stored with the log. */
async function trustedKeys(
  store: EvidenceStore,
  opts: AuditOptions,
  problems: string[],
): Promise<{ keys: NoteVerifier[]; fromStore: boolean }> {
  if (opts.trustedKeys && opts.trustedKeys.length > 0) {
    const keys: NoteVerifier[] = [];
    for (const k of opts.trustedKeys) {
      try {
        keys.push(parseVerifierKey(k));
      } catch (err) {
        problems.push(`verifier key "${k}": ${(err as Error).message}`);
      }
    }
    return { keys, fromStore: false };
  }
  const keys: NoteVerifier[] = [];
  for (const { source, vkey } of await store.log.storedVerifierKeys()) {
    try {
      keys.push(parseVerifierKey(vkey));
    } catch (err) {
      problems.push(`${source}: ${(err as Error).message}`);
    }
  }
  return { keys, fromStore: true };
}

/** Opens every checkpoint with the trusted keys; those no trusted key signed are set aside. */
function openCheckpoints(
  stored: StoredCheckpoint[],
  keys: NoteVerifier[],
  opts: AuditOptions,
  problems: string[],
  warnings: string[],
): SignedCheckpoint[] {
  const out: SignedCheckpoint[] = [];
  for (const { source, note } of stored) {
    try {
      const { text, signedBy } = openNote(note, keys);
      if (signedBy.length === 0) {
        warnings.push(`${source}: signed by no trusted key; not used`);
        continue;
      }
      out.push({ ...parseCheckpoint(text), source, signedBy });
    } catch (err) {
      if (err instanceof NoteFormatError) problems.push(`${source}: ${err.message}`);
      else throw err;
    }
  }
  const origin = opts.origin ?? out[0]?.origin;
  const kept = out.filter((c) => {
    if (c.origin === origin) return true;
    problems.push(`${c.source}: origin is ${c.origin}, expected ${origin}`);
    return false;
  });
  // Several copies of one checkpoint (history, pointer, a saved file) count once.
  const unique = new Map<string, SignedCheckpoint>();
  for (const c of kept) {
    const same = unique.get(`${c.size}`);
    if (!same) unique.set(`${c.size}`, c);
    else if (b64(same.rootHash) !== b64(c.rootHash))
      problems.push(
        `${c.source} and ${same.source}: two signed checkpoints of size ${c.size} with different root hashes (the log was forked or rewritten)`,
      );
  }
  return [...unique.values()].sort((a, b) => a.size - b.size);
}

/**
 * Checks the evidence of one finding (`opts.findingId`) or of the whole store against the
 * latest signed checkpoint:
 * 1. every checkpoint is signed by a trusted key, and each is consistent with the one before
 *    (an RFC 6962 consistency proof built from the stored log);
 * 2. the stored log reproduces every checkpoint's root: no leaf changed, removed or reordered;
 * 3. each record's chain verifies, and its leaf's inclusion proof verifies against the latest
 *    checkpoint: a record changed after it was logged fails;
 * 4. every leaf the checkpoint covers has its record: a removed record, a truncated chain or a
 *    dropped finding fails.
 * Records appended after the latest checkpoint are counted as not yet anchored (a warning, or a
 * problem with `strict`).
 */
export async function auditEvidence(store: EvidenceStore, opts: AuditOptions = {}): Promise<AuditReport> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const { keys, fromStore } = await trustedKeys(store, opts, problems);
  const stored = [...(await store.log.storedCheckpoints()), ...(opts.checkpoints ?? [])];
  const checkpoints = openCheckpoints(stored, keys, opts, problems, warnings);
  const latest = checkpoints[checkpoints.length - 1];
  const covered = latest?.size ?? 0;
  const logSize = await store.log.findEnd(0);

  if (!latest) {
    const why =
      keys.length === 0
        ? 'no verifier key'
        : stored.length === 0
          ? 'no checkpoint'
          : 'no checkpoint signed by a trusted key';
    // A key the caller pinned that signed nothing is a finding, not a gap.
    (opts.strict || !fromStore ? problems : warnings).push(
      `${why}: records were checked for their hash chains only (run \`driftplane evidence checkpoint\`)`,
    );
  }

  const { tree, leaves, missing, malformed } = await store.log.treeOf(covered);
  if (missing.length > 0)
    problems.push(
      `the log lacks ${missing.length} leaf/leaves that checkpoint ${covered} covers (first: ${store.log.locateLeaf(missing[0]!)}): the log was truncated or a leaf removed`,
    );
  for (const i of malformed.slice(0, 5)) problems.push(`${store.log.locateLeaf(i)}: not a log leaf`);
  for (const c of checkpoints) {
    if (missing.length === 0 && b64(tree.root(c.size)) !== b64(c.rootHash))
      problems.push(
        `the stored log does not reproduce checkpoint ${c.size} (${c.source}): leaves before ${c.size} were changed, removed or reordered`,
      );
  }
  for (let k = 1; k < checkpoints.length; k++) {
    const [a, b] = [checkpoints[k - 1]!, checkpoints[k]!];
    if (!verifyConsistency(a.size, b.size, a.rootHash, b.rootHash, tree.consistencyProof(a.size, b.size)))
      problems.push(
        `checkpoints ${a.size} (${a.source}) and ${b.size} (${b.source}): no consistency proof from the stored log verifies; the later one does not extend the earlier`,
      );
  }

  // Which leaves name which record.
  const byRecord = new Map<string, number[]>();
  const leavesOf = new Map<string, { seq: number; index: number }[]>();
  leaves.forEach((leaf: LogLeaf | undefined, index) => {
    if (!leaf) return;
    const key = keyOf(leaf.findingId, leaf.seq);
    if (!byRecord.has(key)) byRecord.set(key, []);
    byRecord.get(key)!.push(index);
    if (!leavesOf.has(leaf.findingId)) leavesOf.set(leaf.findingId, []);
    leavesOf.get(leaf.findingId)!.push({ seq: leaf.seq, index });
  });

  let ids: string[];
  if (opts.findingId !== undefined) ids = [opts.findingId];
  else {
    const folders = await store.listFindings();
    for (const f of folders)
      if (f.findingId === undefined)
        problems.push(`${f.folder}: no readable record names its finding (records removed or rewritten)`);
    ids = [
      ...new Set([
        ...folders.flatMap((f) => (f.findingId !== undefined ? [f.findingId] : [])),
        ...leavesOf.keys(),
      ]),
    ].sort();
  }

  const findings: FindingAudit[] = [];
  let unanchored = 0;
  let duplicates = 0;
  for (const findingId of ids) {
    let files: { file: string; record: EvidenceRecord }[] = [];
    let chain: ChainCheck;
    try {
      files = await store.readFiles(findingId);
      chain = await store.verify(findingId);
    } catch (err) {
      if (!(err instanceof EvidenceFileError)) throw err;
      chain = { ok: false, records: files.length, problems: [err.message] };
    }
    const logged = leavesOf.get(findingId) ?? [];
    if (files.length === 0 && logged.length > 0)
      // Says more than the chain check's "no evidence for …".
      chain = {
        ok: false,
        records: 0,
        problems: [
          `${findingId}: the log holds ${logged.length} record(s) of it under checkpoint ${covered}, but the store has none at ${store.folderOf(findingId)}: the finding was dropped`,
          ...chain.problems.filter((p) => !p.startsWith('no evidence for')),
        ],
      };
    problems.push(...chain.problems);
    let anchored = 0;
    const seqs = new Set<number>();
    for (const { file, record } of files) {
      if (!record || typeof record !== 'object') continue;
      seqs.add(record.seq);
      const indexes = byRecord.get(keyOf(findingId, record.seq)) ?? [];
      if (indexes.length === 0) {
        if (logged.some((l) => l.seq > record.seq))
          problems.push(
            `${file}: seq ${record.seq} is not in the log, though later records of the finding are (inserted or rewritten)`,
          );
        else unanchored += 1;
        continue;
      }
      // The hash recomputed from the record's content, not its `hash` field: an edit shows here
      // on its own, whatever the chain check says.
      const { hash: _claimed, ...body } = record;
      const leaf = recordLeafHash({ findingId: record.findingId, seq: record.seq, hash: recordHashOf(body) });
      const proven = indexes.filter((i) =>
        verifyInclusion(i, covered, leaf, tree.inclusionProof(i, covered), latest!.rootHash),
      );
      if (proven.length > 0) anchored += 1;
      else
        problems.push(
          `${file}: not the record the log holds as seq ${record.seq} (leaf ${indexes[0]}); its inclusion proof fails against checkpoint ${covered}: changed after it was logged`,
        );
      if (indexes.length > 1) duplicates += 1;
    }
    if (files.length > 0)
      for (const { seq, index } of logged)
        if (!seqs.has(seq))
          problems.push(
            `${store.folderOf(findingId)}: seq ${seq} is missing; the log holds it (leaf ${index}, checkpoint ${covered}): the record was removed`,
          );
    findings.push({ findingId, folder: store.folderOf(findingId), records: files.length, anchored, chain });
  }
  if (unanchored > 0)
    (opts.strict ? problems : warnings).push(
      `${unanchored} record(s) are not covered by a signed checkpoint yet (appended after checkpoint ${covered}, or before the log existed)`,
    );
  if (duplicates > 0)
    warnings.push(
      `${duplicates} record(s) are in the log more than once (a retried append); each copy is the same record`,
    );
  if (fromStore && latest)
    warnings.push(
      `checkpoint signatures were checked with the key(s) stored with the log (${keys.map((k) => k.vkey).join(', ')}); pass --key to trust only a key you hold`,
    );
  if (opts.findingId === undefined) {
    for (const prefix of ['leaves/', 'checkpoints/', 'keys/'])
      problems.push(...((await store.log.storage.historyProblems?.(prefix)) ?? []));
  }
  return {
    ok: problems.length === 0,
    findings,
    ...(latest
      ? {
          checkpoint: {
            origin: latest.origin,
            size: latest.size,
            rootHash: b64(latest.rootHash),
            signedBy: latest.signedBy.map((k) => k.vkey),
            source: latest.source,
          },
        }
      : {}),
    checkpoints: checkpoints.length,
    logSize,
    keysFromStore: fromStore,
    problems,
    warnings,
  };
}
