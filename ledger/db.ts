/**
 * One SQL connection interface over both ledger engines: PostgreSQL (`pg`) in production and PGlite
 * (embedded Postgres, WASM) on a laptop, in the demo and in unit tests. The same SQL and the same
 * migrations run on both. Rules that keep results identical on the two:
 * - cast aggregates in SQL (`count(*)::int`, `avg(x)::float8`): drivers differ on int8/numeric;
 * - `timestamptz` comes back as a `Date`, `jsonb` as parsed JSON, on both;
 * - parameters are `$1, $2, ...`; never interpolate values into SQL text.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { lockFolder } from './folder-lock';

/** A connection (or a transaction) to the ledger's database. */
export interface SqlDb {
  readonly engine: 'postgres' | 'pglite';
  /** One statement with `$n` parameters; its rows. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A ledger URL that names no engine driftplane knows. */
export class LedgerUrlError extends Error {
  override readonly name = 'LedgerUrlError';
  constructor(readonly url: string) {
    super(
      `DRIFTPLANE_LEDGER_URL: expected postgres://user@host:port/db, pglite:<folder> or pglite:memory, got ${redactUrl(url)}`,
    );
  }
}

/** The URL with any password replaced, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/**
 * Opens the ledger database named by `url`:
 * - `postgres://…` / `postgresql://…`: a `pg` pool (production; several workers share it);
 * - `pglite:<folder>`: PGlite with its data in that folder (one process at a time);
 * - `pglite:memory`: PGlite in memory (tests).
 */
export async function openDb(url: string, opts: { maxConnections?: number } = {}): Promise<SqlDb> {
  if (/^postgres(ql)?:\/\//i.test(url)) return openPostgres(url, opts.maxConnections ?? 10);
  if (url.startsWith('pglite:')) {
    const where = url.slice('pglite:'.length);
    if (!where) throw new LedgerUrlError(url);
    return openPglite(where === 'memory' ? undefined : path.resolve(where));
  }
  throw new LedgerUrlError(url);
}

async function openPostgres(url: string, max: number): Promise<SqlDb> {
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client's error (the server restarted) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Connect once now: an unreachable server or a refused login is an error of opening, named as such.
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  const over = (q: { query: (text: string, values?: unknown[]) => Promise<{ rows: unknown[] }> }, engine: 'postgres'): Omit<SqlDb, 'transaction' | 'close'> => ({
    engine,
    query: async <R>(sql: string, params: readonly unknown[] = []) => (await q.query(sql, [...params])).rows as R[],
    exec: async (sql: string) => {
      await q.query(sql);
    },
  });
  const db: SqlDb = {
    ...over(pool, 'postgres'),
    async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const tx: SqlDb = {
          ...over(client, 'postgres'),
          transaction: (inner) => inner(tx),
          close: async () => undefined,
        };
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  return db;
}

async function openPglite(dataDir: string | undefined): Promise<SqlDb> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir) mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // PGlite takes no lock of its own: a second process on the same folder would corrupt it.
  const lock = dataDir ? await lockFolder(dataDir) : undefined;
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(dataDir ? { dataDir } : {});
  } catch (err) {
    await lock?.release();
    throw err;
  }
  type Q = { query: <R>(sql: string, params?: unknown[]) => Promise<{ rows: R[] }>; exec: (sql: string) => Promise<unknown> };
  const over = (q: Q): Omit<SqlDb, 'transaction' | 'close'> => ({
    engine: 'pglite',
    query: async <R>(sql: string, params: readonly unknown[] = []) => (await q.query<R>(sql, [...params])).rows,
    exec: async (sql: string) => {
      await q.exec(sql);
    },
  });
  const db: SqlDb = {
    ...over(pg as unknown as Q),
    transaction: <T>(fn: (tx: SqlDb) => Promise<T>) =>
      pg.transaction(async (t: unknown) => {
        const tx: SqlDb = { ...over(t as unknown as Q), transaction: (inner) => inner(tx), close: async () => undefined };
        return fn(tx);
      }),
    close: async () => {
      try {
        await pg.close();
      } finally {
        await lock?.release();
      }
    },
  };
  return db;
}
