// `db rebuild` (ledger/rebuild.ts) on both engines: the rows rebuilt from evidence equal the rows
// the live writes made; detection records are kept; a tampered chain is replayed and named.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../evidence/evidence-store';
import { openDb, type SqlDb } from '../../ledger/db';
import { recordEvidence } from '../../ledger/findings';
import { migrate } from '../../ledger/migrate';
import { rebuildFromEvidence, type RebuildProgress } from '../../ledger/rebuild';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';
import { A, ALL_SCENARIOS, B, snapshotLifecycleTables, writeScenarios } from '../support/ledger-scenarios';

const RECORDS = ALL_SCENARIOS.reduce((n, c) => n + c.length, 0);

describe.each(LEDGER_ENGINES)('db rebuild on $engine', ({ engine, url }) => {
  let db: SqlDb;
  let dbUrl: string;
  let dir: string;
  let store: EvidenceStore;
  let live: Awaited<ReturnType<typeof snapshotLifecycleTables>>;

  beforeAll(async () => {
    dbUrl = await url();
    db = await openDb(dbUrl);
    await migrate(db);
    dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-rebuild-'));
    store = new EvidenceStore(dir, { onAppend: (r) => recordEvidence(db, r) });
    await writeScenarios(store);
    // An artifact folder and a stray file beside the findings are not findings.
    await store.putArtifact('plan.json', '{"resource_changes":[]}');
    await writeFile(path.join(dir, 'README'), 'evidence');
    // A detection record: not evidence, so a rebuild keeps it.
    await db.query("INSERT INTO unit_detection (unit, last_attempt_at, last_result, consecutive_failures) VALUES ('web-prod', '2027-03-01T10:00:00Z', 'ok', 0)");
    live = await snapshotLifecycleTables(db);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    if (engine === 'postgres' && dbUrl) await dropDatabase(dbUrl);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reproduces the rows the live writes made, row for row, and keeps detection records', async () => {
    expect(live.lifecycles).toHaveLength(3);
    expect(live.lifecycle_steps).toHaveLength(RECORDS);
    expect(live.hotfix_windows).toHaveLength(1);
    // Rows the evidence does not explain disappear.
    await db.query(
      "INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, stage, detected_at, updated_at) VALUES ('finding:ghost:1', 'r', 'ghost', 'x', 'detected', now(), now())",
    );
    await db.query("UPDATE lifecycles SET stage = 'detected', outcome = NULL WHERE finding_id = $1", [A.findingId]);
    const progress: RebuildProgress[] = [];
    const result = await rebuildFromEvidence(db, store, { onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ findings: 4, records: RECORDS, problems: [] });
    expect(progress.map((p) => p.findings)).toEqual([1, 2, 3, 4]);
    expect(progress.at(-1)).toEqual({ findings: 4, total: 4, records: RECORDS });
    expect(await snapshotLifecycleTables(db)).toEqual(live);
    expect(await db.query('SELECT unit, last_result FROM unit_detection')).toEqual([{ unit: 'web-prod', last_result: 'ok' }]);
  });

  it('a tampered chain is still replayed and named with its file and field', async () => {
    const folder = store.folderOf(B.findingId);
    const file = path.join(folder, (await readdir(folder)).filter((n) => /^\d{6}-classified\.json$/.test(n))[0]!);
    const original = await readFile(file, 'utf8');
    try {
      const record = JSON.parse(original) as { data: { decision: { risk: string } } };
      record.data.decision.risk = 'LOW';
      await writeFile(file, JSON.stringify(record, null, 2));
      const result = await rebuildFromEvidence(db, store);
      expect(result.findings).toBe(4);
      expect(result.records).toBe(RECORDS);
      expect(result.problems).toEqual([`${file}: field hash does not match the record's content (changed after it was written)`]);
      // Replayed as it now reads: the ledger shows what the evidence says, and the problem says not to trust it.
      const rows = await db.query<{ risk: string; risk_rank: number }>('SELECT risk, risk_rank FROM lifecycles WHERE finding_id = $1', [B.findingId]);
      expect(rows).toEqual([{ risk: 'LOW', risk_rank: 1 }]);
    } finally {
      await writeFile(file, original);
    }
    expect(await rebuildFromEvidence(db, store)).toEqual({ findings: 4, records: RECORDS, problems: [] });
    expect(await snapshotLifecycleTables(db)).toEqual(live);
  });

  it('a record that is not JSON names its file, and the rest is rebuilt', async () => {
    const folder = store.folderOf(A.findingId);
    const file = path.join(folder, (await readdir(folder)).filter((n) => /^\d{6}-routed\.json$/.test(n))[0]!);
    const original = await readFile(file, 'utf8');
    try {
      await writeFile(file, '{ not json');
      const result = await rebuildFromEvidence(db, store);
      expect(result.findings).toBe(3);
      expect(result.problems).toHaveLength(1);
      expect(result.problems[0]).toContain(`${file}: not valid JSON`);
      expect(result.problems[0]).toContain(`${A.findingId} not replayed`);
      expect(await db.query('SELECT 1 FROM lifecycles WHERE finding_id = $1', [A.findingId])).toEqual([]);
    } finally {
      await writeFile(file, original);
    }
  });

  it('a database error rolls the whole rebuild back: the ledger keeps its rows', async () => {
    await rebuildFromEvidence(db, store);
    const failing: SqlDb = {
      ...db,
      transaction: (fn) =>
        db.transaction(async (tx) => {
          let n = 0;
          const wrapped: SqlDb = {
            ...tx,
            query: async (sql, params) => {
              if (++n === 12) throw new Error('connection reset (injected)');
              return tx.query(sql, params);
            },
          };
          return fn(wrapped);
        }),
    };
    await expect(rebuildFromEvidence(failing, store)).rejects.toThrow('connection reset (injected)');
    expect(await snapshotLifecycleTables(db)).toEqual(live);
  });
});
