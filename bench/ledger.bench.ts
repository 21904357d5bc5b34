// Benchmark of the ledger's live write: the evidence of 10,000 lifecycles (7 records each: detected,
// classified, routed, approval, reconciled, verified-1, closed; a third approved by a person, the
// rest auto-healed, one in ten with a PR) projected record by record through `recordEvidence`, as
// the workers' EvidenceStore.onAppend does, against a bare INSERT of the very rows that projection
// produced (the same number of rows into the same tables), in the same run, on the same database.
//
// Figures, per engine (PGlite in memory; PostgreSQL when reachable, in a fresh database):
//   - projection: one recordEvidence per record, each its own statement (autocommit), as live;
//     the two sides run in alternating batches of 250 lifecycles, so the load of a shared machine
//     falls on both; the baseline writes into copies of the four tables (CREATE TABLE ... (LIKE ...
//     INCLUDING ALL): the same columns, keys and indexes) in a scratch schema of the same database;
//   - baseline A: the resulting rows, one parameterized INSERT per row (autocommit): the target, ≤ 2×;
//   - baseline B: the same rows as multi-row INSERTs of 500 in one transaction (a bulk load), for reference.
//
// Run: npx tsx bench/ledger.bench.ts [--lifecycles N] [--engine pglite|postgres]   (or `npm run bench ledger`)
import { openDb, type SqlDb } from '../ledger/db';
import { recordEvidence, type LedgerEvidence } from '../ledger/findings';
import { migrate } from '../ledger/migrate';
import { dropDatabase, freshPostgresUrl } from '../test/support/ledger-db';
import { LIFECYCLE_TABLES } from '../test/support/ledger-scenarios';

const TARGET = 2;
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('lifecycles') ?? 10_000);
const ONLY = arg('engine');
const JSONB = new Set(['rules', 'changed_fields', 'provider_versions', 'summary']);

/** The evidence of lifecycle `i`, in chain order. */
function lifecycleRecords(i: number): LedgerEvidence[] {
  const findingId = `finding:unit-${i % 200}:${i.toString(16).padStart(16, '0')}`;
  const runId = `run-${i}`;
  const t0 = Date.UTC(2027, 0, 1) + i * 60_000;
  const at = (s: number) => new Date(t0 + s * 1000).toISOString();
  const person = i % 3 === 0;
  const pr = i % 10 === 0;
  const risk = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'INFO'][i % 5]!;
  const decision = {
    driftClass: person ? 'CONFIG_DRIFT' : 'STATELESS_METADATA',
    risk,
    recommendedAction: pr ? 'BACKPORT_TO_CODE' : 'RUNTIME_REVERT',
    autoHealAllowed: !person,
    owner: `team-${i % 12}`,
    environment: ['prod', 'staging', 'dev'][i % 3]!,
    domain: ['compute', 'iam', 'network', 'data'][i % 4]!,
    reasons: [
      { ruleId: person ? 'manual-change' : 'stateless-metadata', why: person ? 'a person changed a managed field' : 'an annotation on a stateless object' },
      { ruleId: 'owner-routing', why: `routed to team-${i % 12}` },
    ],
    policyVersion: 'registry@3f2a1c9',
  };
  const observation = {
    unit: `unit-${i % 200}`,
    resourceRef: `Deployment/ns-${i % 50}/app-${i}`,
    resourceType: 'Deployment',
    relationship: 'desired!=actual',
    changeType: 'modified',
    changedFields: ['/spec/replicas', '/metadata/annotations/owner'],
    diff: [
      { path: '/spec/replicas', kind: 'changed', desired: 3, actual: 2 },
      { path: '/metadata/annotations/owner', kind: 'changed', desired: 'team', actual: 'someone' },
    ],
    detectedAt: at(0),
    detector: 'kubernetes',
    auditCorrelation: { actor: { id: `user-${i % 40}@acme.example`, type: 'human' }, source: 'kube-audit', eventTime: at(-120) },
  };
  const answer = { answer: 'approved', approver: `approver-${i % 7}@acme.example`, reason: 'expected change, revert it', via: 'slack', at: at(600) };
  const steps: [string, number, unknown][] = [
    ['detected', 2, { observation }],
    ['classified', 30, { decision }],
    ['routed', 31, { route: { approvers: [{ email: answer.approver }], notify: [`team:${decision.owner}`], createIncident: false, approvalTimeout: '4h', maxEscalations: 2, verifyInterval: '30s', verifyAttempts: 3 }, incident: false }],
    ['approval', person ? 601 : 32, person ? { kind: 'person', answer, decision } : { kind: 'auto-heal', decision }],
    [
      'reconciled',
      700,
      {
        action: decision.recommendedAction,
        executed: true,
        detail: pr ? `opened PR #${i}` : `reverted ${observation.resourceRef} to desired (2 fields)`,
        approvedBy: person ? answer.approver : 'policy',
        ...(pr ? { pr: { provider: 'github', repo: 'acme/live', number: i, url: `https://github.com/acme/live/pull/${i}`, branch: `driftplane/${i}`, commit: 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391', created: true } } : {}),
      },
    ],
    ['verified-1', 760, { clean: true, detail: `${observation.resourceRef} matches desired state` }],
    ['closed', 761, { outcome: 'RECONCILED', escalations: 0, detections: 1 }],
  ];
  return steps.map(([step, s, data], k) => ({ findingId, runId, step, seq: k + 1, at: at(s), data }));
}

/** Lifecycles per interleaved batch: projection and baseline alternate, so the load of a shared machine falls on both. */
const BATCH = 250;
/** The schema holding the baseline's copies of the four tables (same columns, defaults, keys and indexes). */
const BASE = 'bench_base';

/** The rows of the four tables that belong to `findings`, in key order. */
async function rowsOf(db: SqlDb, findings: string[]): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [table, keys] of Object.entries(LIFECYCLE_TABLES)) {
    const id = table === 'hotfix_windows' ? 'window_id' : 'finding_id';
    out[table] = await db.query(`SELECT * FROM ${table} WHERE ${id} = ANY($1::text[]) ORDER BY ${keys}`, [findings]);
  }
  return out;
}

const valueOf = (col: string, v: unknown): unknown => (JSONB.has(col) && v !== null ? JSON.stringify(v) : v);

/** Baseline A: one INSERT per row, each its own statement. */
async function insertRowByRow(db: SqlDb, schema: string, rows: Record<string, Record<string, unknown>[]>): Promise<number> {
  let n = 0;
  for (const [table, list] of Object.entries(rows)) {
    const cols = Object.keys(list[0] ?? {});
    const sql = `INSERT INTO ${schema}.${table} (${cols.join(', ')}) VALUES (${cols.map((c, i) => `$${i + 1}${JSONB.has(c) ? '::jsonb' : ''}`).join(', ')})`;
    for (const row of list) {
      await db.query(
        sql,
        cols.map((c) => valueOf(c, row[c])),
      );
      n++;
    }
  }
  return n;
}

/** Baseline B: multi-row INSERTs of 500 rows in one transaction. */
async function insertBulk(db: SqlDb, schema: string, rows: Record<string, Record<string, unknown>[]>): Promise<void> {
  await db.transaction(async (tx) => {
    for (const [table, list] of Object.entries(rows)) {
      const cols = Object.keys(list[0] ?? {});
      for (let start = 0; start < list.length; start += 500) {
        const chunk = list.slice(start, start + 500);
        const values = chunk.map((_, r) => `(${cols.map((c, i) => `$${r * cols.length + i + 1}${JSONB.has(c) ? '::jsonb' : ''}`).join(', ')})`);
        await tx.query(
          `INSERT INTO ${schema}.${table} (${cols.join(', ')}) VALUES ${values.join(', ')}`,
          chunk.flatMap((row) => cols.map((c) => valueOf(c, row[c]))),
        );
      }
    }
  });
}

async function countRows(db: SqlDb, schema: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of Object.keys(LIFECYCLE_TABLES)) out[t] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.${t}`))[0]!.n;
  return out;
}

/** Empties the four tables to the state of new ones (TRUNCATE gives tables and indexes new, empty files). */
async function clear(db: SqlDb, schema: string): Promise<void> {
  await db.exec(`TRUNCATE ${Object.keys(LIFECYCLE_TABLES).map((t) => `${schema}.${t}`).join(', ')}`);
}

async function benchEngine(engine: string, db: SqlDb): Promise<boolean> {
  await migrate(db);
  await db.exec(`DROP SCHEMA IF EXISTS ${BASE} CASCADE; CREATE SCHEMA ${BASE};`);
  for (const t of Object.keys(LIFECYCLE_TABLES)) await db.exec(`CREATE TABLE ${BASE}.${t} (LIKE public.${t} INCLUDING ALL)`);
  const lifecycles = Array.from({ length: N }, (_, i) => lifecycleRecords(i));
  const records = lifecycles.reduce((n, l) => n + l.length, 0);

  // An untimed first pass: warms plans and caches, and gives the rows the baseline inserts (the
  // projection is deterministic: the timed pass writes these very rows, checked below).
  // One transaction: on PostgreSQL this pass would otherwise wait for a commit per record.
  await db.transaction(async (tx) => {
    for (const l of lifecycles) for (const r of l) await recordEvidence(tx, r);
  });
  const expected = await rowsOf(db, lifecycles.map((l) => l[0]!.findingId));
  const byFinding = (rows: Record<string, Record<string, unknown>[]>, ids: Set<string>) =>
    Object.fromEntries(Object.entries(rows).map(([t, list]) => [t, list.filter((r) => ids.has(String(r.finding_id ?? r.window_id)))]));
  await insertRowByRow(db, BASE, byFinding(expected, new Set(lifecycles.slice(0, Math.ceil(N / 10)).map((l) => l[0]!.findingId))));
  await clear(db, 'public');
  await clear(db, BASE);

  // Timed, in batches, alternating which side goes first.
  let projectMs = 0;
  let rowMs = 0;
  let inserted = 0;
  for (let start = 0, b = 0; start < N; start += BATCH, b++) {
    const batch = lifecycles.slice(start, start + BATCH);
    const project = async () => {
      const t = performance.now();
      for (const l of batch) for (const r of l) await recordEvidence(db, r);
      projectMs += performance.now() - t;
    };
    const rows = byFinding(expected, new Set(batch.map((l) => l[0]!.findingId)));
    const bare = async () => {
      const t = performance.now();
      inserted += await insertRowByRow(db, BASE, rows);
      rowMs += performance.now() - t;
    };
    const p0 = projectMs;
    const r0 = rowMs;
    if (b % 2 === 0) {
      await project();
      await bare();
    } else {
      await bare();
      await project();
    }
    if (process.env.BENCH_VERBOSE) console.log(`    batch ${b}: projection ${(((projectMs - p0) * 1000) / (batch.length * 7)).toFixed(0)} µs/record, baseline ${(((rowMs - r0) * 1000) / Object.values(rows).reduce((n, l) => n + l.length, 0)).toFixed(0)} µs/row`);
  }
  const written = await rowsOf(db, lifecycles.map((l) => l[0]!.findingId));
  if (JSON.stringify(written) !== JSON.stringify(expected)) throw new Error('the timed projection wrote other rows than the first pass');
  const counts = await countRows(db, 'public');
  const again = await countRows(db, BASE);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (JSON.stringify(again) !== JSON.stringify(counts) || inserted !== total) throw new Error(`baseline wrote ${JSON.stringify(again)}, projection ${JSON.stringify(counts)}`);

  await clear(db, BASE);
  const t = performance.now();
  await insertBulk(db, BASE, expected);
  const bulkMs = performance.now() - t;
  await db.exec(`DROP SCHEMA ${BASE} CASCADE`);

  const ratio = projectMs / rowMs;
  console.log(`ledger write on ${engine}: ${N} lifecycles, ${records} evidence records -> ${total} rows (${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`  projection (recordEvidence per record, one statement each): ${(projectMs / 1000).toFixed(2)} s, ${((projectMs * 1000) / records).toFixed(0)} µs/record`);
  console.log(`  baseline A, one bare INSERT per resulting row (${total} statements): ${(rowMs / 1000).toFixed(2)} s, ${((rowMs * 1000) / total).toFixed(0)} µs/row`);
  console.log(`  baseline B, the same rows as multi-row INSERTs of 500 in one transaction: ${(bulkMs / 1000).toFixed(2)} s`);
  console.log(`  ratio projection / baseline A: ${ratio.toFixed(2)}× (target ≤ ${TARGET}×) ${ratio <= TARGET ? 'OK' : 'OVER TARGET'}`);
  console.log(`  ratio projection / baseline B: ${(projectMs / bulkMs).toFixed(2)}× (reference: a bulk load, not a live write)`);
  return ratio <= TARGET;
}

async function main(): Promise<void> {
  let ok = true;
  if (!ONLY || ONLY === 'pglite') {
    const db = await openDb('pglite:memory');
    try {
      ok = (await benchEngine('PGlite (in memory)', db)) && ok;
    } finally {
      await db.close();
    }
  }
  if (!ONLY || ONLY === 'postgres') {
    let url: string | undefined;
    try {
      url = await freshPostgresUrl();
    } catch (err) {
      console.log(`ledger write on PostgreSQL: skipped (${(err as Error).message.split(';')[0]})`);
    }
    if (url) {
      const db = await openDb(url);
      try {
        ok = (await benchEngine('PostgreSQL (local server, fresh database)', db)) && ok;
      } finally {
        await db.close();
        await dropDatabase(url);
      }
    }
  }
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
