/**
 * Versioned SQL migrations (`ledger/migrations/NNNN_name.sql`), applied in order by `driftplane db
 * migrate` and at worker and server start. Each is applied once, in a transaction, and recorded in
 * `ledger_migrations` with its checksum; running again applies nothing. A migration file changed
 * after it was applied is an error, never silently re-run. On PostgreSQL an advisory lock keeps two
 * processes starting at once from applying the same migration twice.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SqlDb } from './db';

/** The folder of the SQL files (shipped beside this module). */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** One migration file. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

/** A migration that cannot be applied, or that changed after it was. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
  }
}

const FILE = /^(\d{4})_([a-z0-9_-]+)\.sql$/;
// Any fixed number: every driftplane process takes the same lock for migrations.
const LOCK_KEY = 482_913_771;

/** The migrations in `dir`, in version order. */
export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const out: Migration[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.sql')) continue;
    const m = FILE.exec(f);
    if (!m) throw new MigrationError(path.join(dir, f), 'a migration file is named NNNN_name.sql');
    const sql = readFileSync(path.join(dir, f), 'utf8');
    out.push({ version: Number(m[1]), name: m[2] as string, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  const seen = new Set<number>();
  for (const m of out) {
    if (seen.has(m.version)) throw new MigrationError(path.join(dir, `${String(m.version).padStart(4, '0')}_*.sql`), 'two migrations share a version');
    seen.add(m.version);
  }
  return out;
}

/** What `migrate` did. */
export interface MigrateResult {
  applied: { version: number; name: string }[];
  current: number;
}

/** Applies every migration not yet applied; idempotent. */
export async function migrate(db: SqlDb, migrations: Migration[] = loadMigrations()): Promise<MigrateResult> {
  const run = async (conn: SqlDb): Promise<MigrateResult> => {
    await conn.exec(
      'CREATE TABLE IF NOT EXISTS ledger_migrations (version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Map(
      (await conn.query<{ version: number; checksum: string }>('SELECT version, checksum FROM ledger_migrations')).map((r) => [Number(r.version), r.checksum]),
    );
    const applied: MigrateResult['applied'] = [];
    for (const m of migrations) {
      const had = done.get(m.version);
      if (had !== undefined) {
        if (had !== m.checksum) throw new MigrationError(`${String(m.version).padStart(4, '0')}_${m.name}.sql`, 'changed after it was applied; add a new migration instead');
        continue;
      }
      await conn.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query('INSERT INTO ledger_migrations (version, name, checksum) VALUES ($1, $2, $3)', [m.version, m.name, m.checksum]);
      });
      applied.push({ version: m.version, name: m.name });
    }
    return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
  };
  if (db.engine !== 'postgres') return run(db);
  // One session holds the advisory lock for the whole run: take it inside a transaction-scoped lock.
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    return run(tx);
  });
}
