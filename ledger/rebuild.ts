/**
 * `driftplane db rebuild`: refills the ledger's lifecycle tables from evidence, the audit record,
 * with the projection the live writes use (`recordEvidence`), so the rows it writes are the rows
 * the workers wrote. Detection records (unit_detection, detection_attempts) and budget alerts are
 * not in evidence and are kept.
 */
import type { EvidenceRecord, EvidenceStore } from '../evidence/evidence-store';
import type { SqlDb } from './db';
import { LedgerProjectionError, recordEvidence } from './findings';

/** Where a rebuild stands (after each finding). */
export interface RebuildProgress {
  /** Findings (folders) replayed so far, of `total`. */
  findings: number;
  total: number;
  /** Evidence records projected so far. */
  records: number;
}

/** What a rebuild did. */
export interface RebuildResult {
  /** Findings (lifecycles and hotfix windows) replayed. */
  findings: number;
  /** Evidence records projected. */
  records: number;
  /**
   * Chains that failed verification (still replayed) and folders that could not be read (not
   * replayed), each naming the file or folder and the field: `driftplane db rebuild` exits 1.
   */
  problems: string[];
}

/** Options of {@link rebuildFromEvidence}. */
export interface RebuildOptions {
  /** Called after each finding. */
  onProgress?: (p: RebuildProgress) => void;
}

/** The tables a rebuild owns: every row in them comes from evidence. */
export const REBUILT_TABLES = ['approvals', 'lifecycle_steps', 'hotfix_windows', 'lifecycles'] as const;

/**
 * In one transaction: deletes every row of the lifecycle tables, then replays every record of every
 * finding under `evidence`'s root in chain order through `recordEvidence`. A chain that fails
 * `evidence.verify` is replayed all the same and named in `problems`; a folder whose records cannot
 * be read is named and skipped. A database error rolls the whole rebuild back (the ledger keeps its
 * rows).
 */
export async function rebuildFromEvidence(db: SqlDb, evidence: EvidenceStore, opts: RebuildOptions = {}): Promise<RebuildResult> {
  const folders = await evidence.listFindings();
  const problems: string[] = [];
  let findings = 0;
  let records = 0;
  await db.transaction(async (tx) => {
    for (const t of REBUILT_TABLES) await tx.query(`DELETE FROM ${t}`);
    for (const { folder, findingId } of folders) {
      if (findingId === undefined) {
        problems.push(`${folder}: no readable record names a finding stored in this folder (field findingId); not replayed`);
        continue;
      }
      let chain: EvidenceRecord[];
      try {
        chain = await evidence.read(findingId);
        const check = await evidence.verify(findingId);
        problems.push(...check.problems);
      } catch (err) {
        // A record that is not JSON: the file is named by the error; the finding is not replayed.
        problems.push(`${(err as Error).message}; ${findingId} not replayed`);
        continue;
      }
      for (const r of chain) {
        try {
          await recordEvidence(tx, r);
          records++;
        } catch (err) {
          // Checked before any SQL runs, so the transaction goes on; anything else rolls the rebuild back.
          if (!(err instanceof LedgerProjectionError)) throw err;
          problems.push(`${evidence.folderOf(findingId)}: seq ${String(r.seq)} ${r.step}: ${err.message}; not projected`);
        }
      }
      findings++;
      opts.onProgress?.({ findings, total: folders.length, records });
    }
  });
  return { findings, records, problems };
}
