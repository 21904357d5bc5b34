/**
 * The findings ledger: a read model of every lifecycle and every unit's detections, on PostgreSQL
 * (production) or PGlite (embedded default). Activities write it (idempotent upserts keyed by
 * finding, run and step); the dashboard, `/metrics`, budgets and the staleness sweep read it.
 * Temporal stays the source of truth for running lifecycles and evidence the audit record:
 * `driftplane db rebuild` refills the ledger from evidence with the same projection the live writes use.
 */
import { openDb, type SqlDb } from './db';
import { migrate } from './migrate';
import { LedgerDetectionStatus, type DetectionStatusRepo } from './detection';
import { recordEvidence, type LedgerEvidence } from './findings';

export { openDb, redactUrl, LedgerUrlError, type SqlDb } from './db';
export { LedgerInUseError } from './folder-lock';
export { DetectionStatusError } from './detection';
export { migrate, loadMigrations, MigrationError, MIGRATIONS_DIR } from './migrate';
export type { LedgerEvidence } from './findings';
export type { DetectionStatusRepo } from './detection';

/** An open ledger. */
export interface Ledger {
  readonly url: string;
  readonly db: SqlDb;
  /** Projects one evidence record into the ledger (idempotent by finding, run and step). */
  recordEvidence(record: LedgerEvidence): Promise<void>;
  /** Each unit's detection record: staleness, the same whichever worker asks. */
  readonly detection: DetectionStatusRepo;
  close(): Promise<void>;
}

/** Opens the ledger at `url` and (unless told not to) applies pending migrations. */
export async function openLedger(url: string, opts: { migrate?: boolean } = {}): Promise<Ledger> {
  const db = await openDb(url);
  try {
    if (opts.migrate !== false) await migrate(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return ledgerOver(db, url);
}

/** A ledger over an already open database (tests, benches). */
export function ledgerOver(db: SqlDb, url = `${db.engine}:(open)`): Ledger {
  return {
    url,
    db,
    recordEvidence: (record) => recordEvidence(db, record),
    detection: new LedgerDetectionStatus(db),
    close: () => db.close(),
  };
}

const shared = new Map<string, { ledger: Promise<Ledger>; users: number }>();

/**
 * One ledger per URL per process: the demo and `driftplane dev` run the worker and `serve` in one
 * process, and PGlite's folder can be opened only once. Each caller gets a handle whose `close()`
 * releases its share; the database closes with the last one.
 */
export async function sharedLedger(url: string): Promise<Ledger> {
  let entry = shared.get(url);
  if (!entry) {
    entry = { ledger: openLedger(url), users: 0 };
    shared.set(url, entry);
    entry.ledger.catch(() => shared.delete(url));
  }
  entry.users++;
  const ledger = await entry.ledger;
  let closed = false;
  return {
    ...ledger,
    close: async () => {
      if (closed) return;
      closed = true;
      const e = shared.get(url);
      if (!e || --e.users > 0) return;
      shared.delete(url);
      await ledger.close();
    },
  };
}
