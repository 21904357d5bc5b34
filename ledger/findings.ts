/**
 * The projection of evidence into the ledger's lifecycle tables (lifecycles, lifecycle_steps,
 * approvals, hotfix_windows). The live write (EvidenceStore's onAppend) and `db rebuild` use this
 * one function, so a rebuild reproduces exactly what the live writes wrote. Idempotent by
 * (finding, run, step): a record projected twice changes nothing.
 */
import type { SqlDb } from './db';

/** The fields of an evidence record the projection reads. */
export interface LedgerEvidence {
  findingId: string;
  runId: string;
  step: string;
  seq: number;
  at: string;
  data: unknown;
}

/** Projects one evidence record into the ledger. */
export async function recordEvidence(db: SqlDb, record: LedgerEvidence): Promise<void> {
  void db;
  void record;
  throw new Error('recordEvidence: not implemented yet');
}
