// Ledger migrations (ledger/migrate.ts) on both engines: from empty, idempotent, a changed applied
// file refused, and (PostgreSQL) two processes migrating at once apply each migration once.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type SqlDb } from '../../ledger/db';
import { loadMigrations, migrate, MigrationError } from '../../ledger/migrate';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';

const TABLES = ['approvals', 'budget_alerts', 'detection_attempts', 'hotfix_windows', 'ledger_migrations', 'lifecycle_steps', 'lifecycles', 'unit_detection'];

describe.each(LEDGER_ENGINES)('ledger migrations on $engine', ({ engine, url }) => {
  let db: SqlDb;
  let dbUrl: string;
  const migrations = loadMigrations();

  beforeAll(async () => {
    dbUrl = await url();
    db = await openDb(dbUrl);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    if (engine === 'postgres' && dbUrl) await dropDatabase(dbUrl);
  });

  const tables = async () =>
    (await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).map((r) => r.t);

  it('apply from empty, in version order, and create the schema', async () => {
    expect(await tables()).toEqual([]);
    const result = await migrate(db);
    expect(migrations[0]).toMatchObject({ version: 1, name: 'ledger' });
    expect(result.applied).toEqual(migrations.map((m) => ({ version: m.version, name: m.name })));
    expect(result.current).toBe(migrations[migrations.length - 1]!.version);
    expect(await tables()).toEqual(expect.arrayContaining(TABLES));
    const recorded = await db.query<{ version: number; checksum: string }>('SELECT version, checksum FROM ledger_migrations ORDER BY version');
    expect(recorded).toEqual(migrations.map((m) => ({ version: m.version, checksum: m.checksum })));
  });

  it('apply nothing when run again', async () => {
    const before = await db.query('SELECT version, applied_at FROM ledger_migrations ORDER BY version');
    expect(await migrate(db)).toEqual({ applied: [], current: migrations[migrations.length - 1]!.version });
    expect(await db.query('SELECT version, applied_at FROM ledger_migrations ORDER BY version')).toEqual(before);
  });

  it('refuse a migration changed after it was applied, naming its file', async () => {
    const changed = migrations.map((m, i) => (i === 0 ? { ...m, sql: `${m.sql}\n-- edited`, checksum: 'f'.repeat(64) } : m));
    await expect(migrate(db, changed)).rejects.toThrow(MigrationError);
    await expect(migrate(db, changed)).rejects.toThrow('0001_ledger.sql: changed after it was applied; add a new migration instead');
  });

  it('apply a new migration once, and roll back one that fails (nothing recorded)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-migrations-'));
    try {
      const next = migrations[migrations.length - 1]!.version + 1;
      const name = (v: number, n: string) => `${String(v).padStart(4, '0')}_${n}.sql`;
      await writeFile(path.join(dir, name(next, 'probe')), 'CREATE TABLE migrate_probe (id integer PRIMARY KEY);');
      await writeFile(path.join(dir, name(next + 1, 'broken')), 'CREATE TABLE migrate_probe_2 (id integer); SELECT no_such_function();');
      const extra = loadMigrations(dir);
      await expect(migrate(db, [...migrations, ...extra])).rejects.toThrow(/no_such_function/);
      // The broken one left neither its table nor its record. (PGlite commits each file on its own, so the
      // good one before it stays; PostgreSQL runs the whole migrate under one advisory-locked transaction, so it went too.)
      const versions = async () => (await db.query<{ version: number }>('SELECT version FROM ledger_migrations ORDER BY version')).map((r) => r.version);
      const base = migrations.map((m) => m.version);
      expect(await versions()).toEqual(engine === 'pglite' ? [...base, next] : base);
      expect(await tables()).not.toContain('migrate_probe_2');
      const again = await migrate(db, [...migrations, extra[0]!]);
      expect(again).toEqual({ applied: engine === 'pglite' ? [] : [{ version: next, name: 'probe' }], current: next });
      expect(await versions()).toEqual([...base, next]);
      expect(await tables()).toContain('migrate_probe');
      expect(await migrate(db, [...migrations, extra[0]!])).toEqual({ applied: [], current: next });
      await writeFile(path.join(dir, 'probe.sql'), 'SELECT 1;');
      expect(() => loadMigrations(dir)).toThrow(/probe\.sql: a migration file is named NNNN_name\.sql/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.runIf(engine === 'postgres')('two processes migrating an empty database at once both succeed, with each migration applied once', async () => {
    const fresh = await url();
    const [a, b] = await Promise.all([openDb(fresh), openDb(fresh)]);
    try {
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const versions = migrations.map((m) => m.version);
      // One of them applied everything, the other found it done.
      expect([ra.applied.length, rb.applied.length].sort()).toEqual([0, versions.length]);
      expect([...ra.applied, ...rb.applied].map((m) => m.version)).toEqual(versions);
      const rows = await a.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger_migrations');
      expect(rows[0]!.n).toBe(versions.length);
    } finally {
      await a.close();
      await b.close();
      await dropDatabase(fresh);
    }
  });
});
