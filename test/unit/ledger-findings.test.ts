// The findings projection (ledger/findings.ts) on both engines: evidence appended through a real
// EvidenceStore lands in lifecycles, lifecycle_steps, approvals and hotfix_windows with hand-checked
// values; projecting again, or in another order, leaves the same rows.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceStore, type EvidenceRecord } from '../../evidence/evidence-store';
import { openDb, type SqlDb } from '../../ledger/db';
import { LedgerProjectionError, recordEvidence, stepSummary } from '../../ledger/findings';
import { migrate } from '../../ledger/migrate';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';
import { A, ALL_SCENARIOS, B, C, clearLifecycleTables, D, SCENARIO_A, snapshotLifecycleTables, writeScenarios } from '../support/ledger-scenarios';

/** A deterministic shuffle (mulberry32), so a failing order can be replayed. */
function shuffled<T>(xs: T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe.each(LEDGER_ENGINES)('the findings projection on $engine', ({ engine, url }) => {
  let db: SqlDb;
  let dbUrl: string;
  let dir: string;
  let store: EvidenceStore;
  let records: EvidenceRecord[];
  let snapshot: Awaited<ReturnType<typeof snapshotLifecycleTables>>;

  beforeAll(async () => {
    dbUrl = await url();
    db = await openDb(dbUrl);
    await migrate(db);
    dir = await mkdtemp(path.join(os.tmpdir(), 'ledger-findings-'));
    store = new EvidenceStore(dir, { onAppend: (r) => recordEvidence(db, r) });
    await writeScenarios(store);
    records = (await Promise.all(ALL_SCENARIOS.map((chain) => store.read(chain[0]!.findingId)))).flat();
    snapshot = await snapshotLifecycleTables(db);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    if (engine === 'postgres' && dbUrl) await dropDatabase(dbUrl);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const lifecycle = async (id: { findingId: string; runId: string }) => {
    const rows = await db.query<Record<string, unknown>>(
      `SELECT *, extract(epoch FROM classified_at - detected_at)::float8 AS mttc_s, extract(epoch FROM closed_at - detected_at)::float8 AS mttr_s
       FROM lifecycles WHERE finding_id = $1 AND run_id = $2`,
      [id.findingId, id.runId],
    );
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };
  const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v);

  it('(a) an auto-healed lifecycle: every stage, its time, MTTC 45 s and MTTR 81 s', async () => {
    const r = await lifecycle(A);
    // Every column of the v1 schema and of 0002 (later migrations may add columns of their own).
    expect({ ...r, ...Object.fromEntries(Object.entries(r).filter(([, v]) => v instanceof Date).map(([k, v]) => [k, iso(v)])) }).toMatchObject({
      finding_id: A.findingId,
      run_id: A.runId,
      unit: 'web-prod',
      resource_ref: 'Deployment/web/api',
      resource_type: 'Deployment',
      detector: 'kubernetes',
      environment: 'prod',
      domain: 'compute',
      owner: 'web',
      drift_class: 'STATELESS_METADATA',
      risk: 'LOW',
      risk_rank: 1,
      action: 'RUNTIME_REVERT',
      auto_heal_allowed: true,
      rules: [
        { ruleId: 'stateless-metadata', why: 'an annotation on a stateless object' },
        { ruleId: 'auto-heal-bounds', why: 'within maxObjectsPerReconcile 5' },
      ],
      changed_fields: ['/metadata/annotations/team', '/spec/replicas'],
      actor: 'alice@acme.example',
      provider_versions: null,
      regression: false,
      stage: 'closed',
      outcome: 'RECONCILED',
      approval_kind: 'auto-heal',
      approvals: 0,
      escalations: 0,
      reconcile_executed: true,
      reconcile_detail: 'reverted Deployment/web/api to desired (2 fields)',
      pr_url: null,
      pr_state: null,
      verify_clean: true,
      incident_id: null,
      detected_at: '2027-03-01T10:00:00.000Z',
      classified_at: '2027-03-01T10:00:45.000Z',
      routed_at: '2027-03-01T10:00:46.000Z',
      approved_at: '2027-03-01T10:00:47.000Z',
      reconciled_at: '2027-03-01T10:00:50.000Z',
      verified_at: '2027-03-01T10:01:20.000Z',
      closed_at: '2027-03-01T10:01:21.000Z',
      updated_at: '2027-03-01T10:01:21.000Z',
      // The seq of the record that set each column several attempts write (approval 4th, reconciled 5th, verified-1 6th).
      approval_seq: 4,
      reconcile_seq: 5,
      pr_seq: null,
      verify_seq: 6,
      mttc_s: 45,
      mttr_s: 81,
    });
    const approvals = await db.query('SELECT approver, answer, via, at FROM approvals WHERE finding_id = $1 ORDER BY approver', [A.findingId]);
    expect(approvals).toEqual([{ approver: 'policy', answer: 'auto-heal', via: 'policy', at: new Date('2027-03-01T10:00:47.000Z') }]);
    const steps = await db.query<{ step: string; seq: number; at: Date }>('SELECT step, seq, at FROM lifecycle_steps WHERE finding_id = $1 ORDER BY seq', [A.findingId]);
    expect(steps.map((s) => [s.seq, s.step, s.at.toISOString()])).toEqual(SCENARIO_A.map((a, i) => [i + 1, a.step, a.at]));
  });

  it('(a) step summaries are small and never hold the observation, the diff or values', async () => {
    const rows = await db.query<{ step: string; summary: Record<string, unknown> }>('SELECT step, summary FROM lifecycle_steps WHERE finding_id = $1 ORDER BY seq', [A.findingId]);
    const detected = rows.find((r) => r.step === 'detected')!.summary;
    expect(detected).toEqual({
      resourceRef: 'Deployment/web/api',
      resourceType: 'Deployment',
      relationship: 'desired!=actual',
      changeType: 'modified',
      detector: 'kubernetes',
      detectedAt: '2027-03-01T10:00:00.000Z',
      fields: 2,
      changedFields: ['/metadata/annotations/team', '/spec/replicas'],
      actor: 'alice@acme.example',
    });
    for (const r of rows) {
      const text = JSON.stringify(r.summary);
      expect(text.length, r.step).toBeLessThan(600);
      expect(text).not.toMatch(/"(diff|observation|decision)"|"ops"/);
    }
    expect(rows.find((r) => r.step === 'closed')!.summary).toEqual({ outcome: 'RECONCILED', escalations: 0, detections: 1 });
  });

  it('(b) two person approvals, an escalation, PR #42 merged, clean on the 2nd verification; a regression after a provider upgrade', async () => {
    const r = await lifecycle(B);
    expect({
      risk: r.risk,
      risk_rank: r.risk_rank,
      drift_class: r.drift_class,
      owner: r.owner,
      domain: r.domain,
      actor: r.actor,
      provider_versions: r.provider_versions,
      regression: r.regression,
      stage: r.stage,
      outcome: r.outcome,
      approval_kind: r.approval_kind,
      approvals: r.approvals,
      escalations: r.escalations,
      reconcile_executed: r.reconcile_executed,
      pr_url: r.pr_url,
      pr_state: r.pr_state,
      verify_clean: r.verify_clean,
      approved_at: iso(r.approved_at),
      reconciled_at: iso(r.reconciled_at),
      verified_at: iso(r.verified_at),
      closed_at: iso(r.closed_at),
      mttc_s: r.mttc_s,
      mttr_s: r.mttr_s,
    }).toEqual({
      risk: 'HIGH',
      risk_rank: 3,
      drift_class: 'IDENTITY_DRIFT',
      owner: 'platform-security',
      domain: 'iam',
      actor: 'arn:aws:sts::123456789012:assumed-role/BreakGlass/dave',
      provider_versions: { from: 'hashicorp/aws 5.40.0', to: 'hashicorp/aws 5.41.0' },
      regression: true,
      stage: 'closed',
      outcome: 'RECONCILED',
      approval_kind: 'person',
      approvals: 2,
      escalations: 1,
      reconcile_executed: true,
      pr_url: 'https://github.com/acme/iam-live/pull/42',
      pr_state: 'merged',
      verify_clean: true,
      approved_at: '2027-03-02T09:31:01.000Z',
      reconciled_at: '2027-03-02T09:31:30.000Z',
      verified_at: '2027-03-02T11:01:00.000Z',
      closed_at: '2027-03-02T11:01:01.000Z',
      // 08:00:00 → 08:02:00; 08:00:00 → 11:01:01
      mttc_s: 120,
      mttr_s: 3 * 3600 + 60 + 1,
    });
    const approvals = await db.query('SELECT step, approver, answer, via, at FROM approvals WHERE finding_id = $1 ORDER BY approver', [B.findingId]);
    expect(approvals).toEqual([
      { step: 'approval', approver: 'bob@acme.example', answer: 'approve', via: 'slack', at: new Date('2027-03-02T09:31:00.000Z') },
      { step: 'approval', approver: 'carol@acme.example', answer: 'approve', via: 'cli', at: new Date('2027-03-02T09:20:00.000Z') },
    ]);
  });

  it('(c) an open lifecycle waiting for approval: routed, incident opened, escalated, nothing closed', async () => {
    const r = await lifecycle(C);
    expect({
      stage: r.stage,
      risk_rank: r.risk_rank,
      action: r.action,
      incident_id: r.incident_id,
      escalations: r.escalations,
      approvals: r.approvals,
      approval_kind: r.approval_kind,
      approved_at: r.approved_at,
      outcome: r.outcome,
      closed_at: r.closed_at,
      actor: r.actor,
      mttc_s: r.mttc_s,
      mttr_s: r.mttr_s,
      updated_at: iso(r.updated_at),
    }).toEqual({
      stage: 'routed',
      risk_rank: 4,
      action: 'INCIDENT_AND_REVERT',
      incident_id: 'PD-Q1W2E3',
      escalations: 1,
      approvals: 0,
      approval_kind: null,
      approved_at: null,
      outcome: null,
      closed_at: null,
      actor: null,
      mttc_s: 9.5,
      mttr_s: null,
      updated_at: '2027-03-03T11:15:10.000Z',
    });
    const open = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM lifecycles WHERE closed_at IS NULL AND risk_rank >= 3`);
    expect(open[0]!.n).toBe(1);
  });

  it('(d) a hotfix window: opened for 4h, extended to 18:00, one finding attached, closed', async () => {
    const rows = await db.query<Record<string, unknown>>('SELECT * FROM hotfix_windows');
    expect(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, iso(v)])))).toEqual([
      {
        window_id: D.findingId,
        run_id: D.runId,
        unit: 'payments-prod',
        incident: 'INC-7',
        state: 'closed',
        opened_at: '2027-03-04T12:00:00.000Z',
        deadline: '2027-03-04T18:00:00.000Z',
        closed_at: '2027-03-04T15:30:00.000Z',
        attached: 1,
        updated_at: '2027-03-04T15:30:00.000Z',
      },
    ]);
    const steps = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM lifecycle_steps WHERE finding_id = $1', [D.findingId]);
    expect(steps[0]!.n).toBe(6);
    // A window is not a lifecycle.
    expect(await db.query('SELECT 1 FROM lifecycles WHERE finding_id = $1', [D.findingId])).toEqual([]);
  });

  it('appending the same keys again (a retried activity) leaves identical rows', async () => {
    for (const chain of ALL_SCENARIOS) for (const a of chain) await store.append({ ...a, at: '2030-01-01T00:00:00.000Z', data: { changed: true } });
    expect(await store.read(A.findingId)).toHaveLength(SCENARIO_A.length);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });

  it('projecting every record twice leaves identical rows', async () => {
    for (const r of records) await recordEvidence(db, r);
    for (const r of records) await recordEvidence(db, r);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });

  it('classified projected again after routed (a retry that overtook) changes nothing', async () => {
    const classified = records.find((r) => r.findingId === B.findingId && r.step === 'classified')!;
    await recordEvidence(db, classified);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });

  const isRoot = (r: EvidenceRecord) => r.step === 'detected' || r.step === 'opened';
  const orders: [string, () => EvidenceRecord[]][] = [
    ['reversed (every root last)', () => [...records].reverse()],
    ['roots first, the rest reversed', () => [...records.filter(isRoot), ...[...records].reverse().filter((r) => !isRoot(r))]],
    ...[2, 3, 4].map((seed): [string, () => EvidenceRecord[]] => [`shuffled (seed ${seed})`, () => shuffled(records, seed)]),
    ...[5, 6, 7].map((seed): [string, () => EvidenceRecord[]] => [`roots first, the rest shuffled (seed ${seed})`, () => [...records.filter(isRoot), ...shuffled(records.filter((r) => !isRoot(r)), seed)]]),
  ];
  it.each(orders)('records in any order give the same rows: %s', async (_name, order) => {
    await clearLifecycleTables(db);
    for (const r of order()) await recordEvidence(db, r);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });

  it('later steps before detected: only step rows until detected arrives, then the whole row', async () => {
    await clearLifecycleTables(db);
    const chain = records.filter((r) => r.findingId === B.findingId);
    for (const r of chain.filter((x) => x.step !== 'detected')) await recordEvidence(db, r);
    expect(await db.query('SELECT 1 FROM lifecycles')).toEqual([]);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM lifecycle_steps'))[0]!.n).toBe(chain.length - 1);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM approvals'))[0]!.n).toBe(2);
    await recordEvidence(db, chain.find((x) => x.step === 'detected')!);
    const r = await lifecycle(B);
    expect([r.stage, r.pr_state, r.verify_clean, r.approvals, r.escalations, r.risk_rank]).toEqual(['closed', 'merged', true, 2, 1, 3]);
    // Put the other scenarios back for the tests after this one.
    for (const x of records) await recordEvidence(db, x);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });

  it('the latest attempt wins whatever arrives last: verified-1 (not clean) after verified-2 (clean)', async () => {
    const v1 = records.find((r) => r.findingId === B.findingId && r.step === 'verified-1')!;
    await recordEvidence(db, v1);
    const r = await lifecycle(B);
    expect([r.verify_clean, iso(r.verified_at)]).toEqual([true, '2027-03-02T11:01:00.000Z']);
  });

  it('a rejection: the reject row, no approval counted, the stage stays routed, then closed REJECTED', async () => {
    const ids = { findingId: 'finding:web-prod:ffff000011112222', runId: 'run-r-1' };
    const at = (s: string) => `2027-03-05T${s}.000Z`;
    const base = { ...ids, data: {} };
    const chain = [
      { ...base, seq: 1, step: 'detected', at: at('09:00:01'), data: { observation: { unit: 'web-prod', resourceRef: 'ConfigMap/web/flags', changedFields: ['/data/x'], detectedAt: at('09:00:00'), detector: 'kubernetes' } } },
      { ...base, seq: 2, step: 'classified', at: at('09:00:02'), data: { decision: { driftClass: 'CONFIG_DRIFT', risk: 'MEDIUM', recommendedAction: 'RUNTIME_REVERT', autoHealAllowed: false, owner: 'web', environment: 'prod', reasons: [] } } },
      { ...base, seq: 3, step: 'routed', at: at('09:00:03'), data: { route: {}, incident: false } },
      { ...base, seq: 4, step: 'approval', at: at('09:30:00'), data: { kind: 'person', answer: { answer: 'rejected', approver: 'Bob@Acme.example', reason: 'intended', via: 'dashboard', at: at('09:29:59') }, decision: {} } },
      { ...base, seq: 5, step: 'closed', at: at('09:30:01'), data: { outcome: 'REJECTED', escalations: 0, detections: 1 } },
    ];
    for (const r of chain) await recordEvidence(db, r);
    const r = await lifecycle(ids);
    expect([r.stage, r.outcome, r.approval_kind, r.approvals, r.approved_at, r.risk_rank, r.rules]).toEqual(['closed', 'REJECTED', 'person', 0, null, 2, []]);
    expect(await db.query('SELECT approver, answer, via FROM approvals WHERE finding_id = $1', [ids.findingId])).toEqual([{ approver: 'Bob@Acme.example', answer: 'reject', via: 'dashboard' }]);
    await db.query('DELETE FROM lifecycle_steps WHERE finding_id = $1', [ids.findingId]);
    await db.query('DELETE FROM approvals WHERE finding_id = $1', [ids.findingId]);
    await db.query('DELETE FROM lifecycles WHERE finding_id = $1', [ids.findingId]);
  });

  it('a detected record without the fields the row needs is refused by name, before any SQL', async () => {
    const bad = { findingId: 'finding:x:1', runId: 'r', step: 'detected', seq: 1, at: '2027-03-01T00:00:00.000Z', data: { observation: { resourceRef: 'a', detectedAt: 'yesterday' } } };
    await expect(recordEvidence(db, bad)).rejects.toThrow(LedgerProjectionError);
    await expect(recordEvidence(db, bad)).rejects.toThrow(/field data\.observation\.unit is missing/);
    await expect(recordEvidence(db, { ...bad, step: 'routed', at: 'soon' })).rejects.toThrow(/field at is not a timestamp/);
    expect(await snapshotLifecycleTables(db)).toEqual(snapshot);
  });
});

describe('step summaries (pure)', () => {
  it('cut long details and keep a quorum as one row per person, the decisive answer last', () => {
    const s = stepSummary({
      findingId: 'finding:u:1',
      step: 'approval-2',
      at: '2027-01-01T00:00:00.000Z',
      data: {
        kind: 'person',
        answer: { answer: 'rejected', approver: 'carol@acme.example', via: 'cli', at: 'not a time', reason: 'x'.repeat(3000), statement: { big: 'y'.repeat(5000) } },
        approvals: [{ answer: 'approved', approver: 'carol@acme.example', via: 'slack', at: '2026-12-31T23:00:00.000Z' }],
      },
    });
    expect(s).toEqual({
      kind: 'person',
      answer: 'rejected',
      approver: 'carol@acme.example',
      via: 'cli',
      answers: [{ approver: 'carol@acme.example', answer: 'reject', via: 'cli', at: '2027-01-01T00:00:00.000Z' }],
    });
    const r = stepSummary({ findingId: 'finding:u:1', step: 'reconciled-2', at: '2027-01-01T00:00:00.000Z', data: { action: 'X', executed: false, detail: 'd'.repeat(2000) } });
    expect((r.detail as string).length).toBe(500);
  });
});
