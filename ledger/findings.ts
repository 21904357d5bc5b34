/**
 * The projection of evidence into the ledger's lifecycle tables (lifecycles, lifecycle_steps,
 * approvals, hotfix_windows). The live write (EvidenceStore's onAppend) and `db rebuild` use this
 * one function, so a rebuild reproduces exactly what the live writes wrote. Idempotent by
 * (finding, run, step): a record projected twice changes nothing.
 *
 * How a record becomes rows (one call of a SQL function per record, so each write is atomic; the
 * functions are in ledger/migrations/0002_findings_projection.sql, this module decides the step's
 * kind and its summary):
 * - its `lifecycle_steps` row (`ON CONFLICT DO NOTHING`) with a small summary of what the step
 *   decided, never the observation or the diff;
 * - its own columns of the `lifecycles` (or `hotfix_windows`) row, merged so that the order in
 *   which records arrive does not matter: `stage` only moves forward, counters and deadlines take
 *   the larger value, and a column several attempts write (verified-N, reconciled-N, approval-N,
 *   the PR) is taken from the attempt with the highest evidence `seq` (the row keeps that seq in
 *   `approval_seq`, `reconcile_seq`, `pr_seq`, `verify_seq`);
 * - each answer of an approval record as an `approvals` row.
 * The lifecycle row is created by its `detected` record (a hotfix window's by `opened`): its NOT
 * NULL columns come from there. A later step projected before it (a retry that overtook another)
 * writes its step row only; when the root record arrives, every step already recorded for the run
 * is applied again to the new row, in seq order, from its stored summary (in one transaction).
 * Every column is thus a function of the set of the run's records, whatever their order; a
 * non-root step's projection reads only the step summaries, never the evidence again.
 */
import { parseDuration } from '../domain/registry/durations';
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

/** A lifecycle's stages as the ledger records them, in order: `stage` never moves backwards (the order `ledger_stage_at_least` uses). */
export const LEDGER_STAGES = ['detected', 'classified', 'routed', 'approved', 'reconciled', 'verified', 'closed'] as const;
export type LedgerStage = (typeof LEDGER_STAGES)[number];

/** `risk_rank`: CRITICAL 4, HIGH 3, MEDIUM 2, LOW 1, INFO 0 (NULL for anything else), as `ledger_record_step` sets it. */
export const RISK_RANK: Readonly<Record<string, number>> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1, INFO: 0 };

/** A hotfix window's states, in order: `state` never moves backwards. */
export const HOTFIX_STATES = ['open', 'escalated', 'closed'] as const;

/** Findings whose evidence is a hotfix window (`hotfix:<unit>:<incident>`), not a lifecycle. */
export const isHotfixWindowId = (findingId: string): boolean => findingId.startsWith('hotfix:');

/** Longest free text kept in a summary or a column (a detail, a reason). */
const TEXT_MAX = 500;
/** Changed fields listed in the detected step's summary (all of them go to `lifecycles.changed_fields`). */
const SUMMARY_FIELDS_MAX = 20;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const short = (v: unknown): string | undefined => (typeof v === 'string' ? (v.length > TEXT_MAX ? `${v.slice(0, TEXT_MAX - 1)}…` : v) : undefined);
/** An ISO timestamp the database will accept, or undefined. */
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;
const instant = (v: unknown): string | undefined => (typeof v === 'string' && ISO_INSTANT.test(v) && !Number.isNaN(Date.parse(v)) ? v : undefined);
/** The object without its undefined members (so summaries stay small and canonical). */
const compact = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

// ---- step kinds -----------------------------------------------------------------------------

type LifecycleKind = 'detected' | 'classified' | 'routed' | 'incident' | 'approval' | 'escalated' | 'reconciled' | 'pr' | 'verified' | 'closed' | 'other';
type HotfixKind = 'opened' | 'attached' | 'escalated' | 'extended' | 'closed' | 'other';

/** Which projection a lifecycle step gets (steps written by activities/lifecycle). */
function lifecycleKind(step: string): LifecycleKind {
  switch (step) {
    case 'detected':
    case 'classified':
    case 'routed':
    case 'closed':
      return step;
    case 'incident-opened':
      return 'incident';
  }
  if (/^approval(-\d+)?$/.test(step)) return 'approval';
  if (/^escalated-\d+$/.test(step)) return 'escalated';
  if (/^reconciled(-\d+)?$/.test(step)) return 'reconciled';
  if (/^pr-\d+-(merged|closed)$/.test(step)) return 'pr';
  if (/^verified-\d+$/.test(step)) return 'verified';
  return 'other';
}

/** Which projection a hotfix window step gets (activities/hotfix, workflows/hotfix-window.ts). */
function hotfixKind(step: string): HotfixKind {
  if (step === 'opened' || step === 'escalated' || step === 'closed') return step;
  if (step.startsWith('attached-')) return 'attached';
  if (/^extended-\d+$/.test(step)) return 'extended';
  return 'other';
}

// ---- summaries: the small JSON a step row keeps, and all a non-root step's projection reads ----

/**
 * The `lifecycle_steps.summary` of a record: what the step decided, in a few small fields (never
 * the observation, the diff or a signed statement). Pure. The projection of every step except the
 * root (`detected`, `opened`) reads only this, so a step can be projected again from its row.
 */
export function stepSummary(record: Pick<LedgerEvidence, 'findingId' | 'step' | 'at' | 'data'>): Obj {
  const d = obj(record.data);
  if (isHotfixWindowId(record.findingId)) return hotfixSummary(record.step, d);
  switch (lifecycleKind(record.step)) {
    case 'detected': {
      const o = obj(d.observation);
      const fields = Array.isArray(o.changedFields) ? o.changedFields.filter((f): f is string => typeof f === 'string') : [];
      const actor = obj(obj(o.auditCorrelation).actor);
      return compact({
        resourceRef: str(o.resourceRef),
        resourceType: str(o.resourceType),
        relationship: str(o.relationship),
        changeType: str(o.changeType),
        detector: str(o.detector),
        detectedAt: str(o.detectedAt),
        fields: fields.length,
        changedFields: fields.slice(0, SUMMARY_FIELDS_MAX),
        actor: str(actor.id),
        detectorStatus: str(o.detectorStatus),
        regression: o.regression ? str(obj(o.regression).previousRunId) : undefined,
      });
    }
    case 'classified': {
      const c = obj(d.decision);
      return compact({
        driftClass: str(c.driftClass),
        risk: str(c.risk),
        action: str(c.recommendedAction),
        autoHealAllowed: bool(c.autoHealAllowed),
        owner: str(c.owner),
        environment: str(c.environment),
        domain: str(c.domain),
        rules: (Array.isArray(c.reasons) ? c.reasons : []).map((r) => compact({ ruleId: str(obj(r).ruleId), why: short(obj(r).why) })),
        policyVersion: str(c.policyVersion),
      });
    }
    case 'routed': {
      const r = obj(d.route);
      return compact({
        route: str(r.routeName),
        approvers: (Array.isArray(r.approvers) ? r.approvers : []).map((a) => str(obj(a).email)).filter((a) => a !== undefined),
        requiredApprovals: num(r.requiredApprovals),
        incident: bool(d.incident),
        actorPerson: str(obj(r.actor).person),
      });
    }
    case 'incident':
      return compact({ adapter: str(d.adapter), incidentId: str(d.incidentId), url: str(d.url), created: bool(d.created) });
    case 'approval':
      return approvalSummary(d, record.at);
    case 'escalated':
      return compact({ level: num(d.level), after: str(d.after), waitingFor: str(d.waitingFor) });
    case 'reconciled': {
      const pr = d.pr === undefined ? undefined : obj(d.pr);
      const refused = d.refused === undefined ? undefined : obj(d.refused);
      return compact({
        action: str(d.action),
        executed: bool(d.executed) ?? false,
        detail: short(d.detail) ?? (refused ? short(`refused (${str(refused.type) ?? 'error'}): ${str(refused.message) ?? ''}`) : undefined),
        approvedBy: str(d.approvedBy),
        pr: pr ? compact({ number: num(pr.number), url: str(pr.url) }) : undefined,
        refused: refused ? str(refused.type) : undefined,
      });
    }
    case 'pr': {
      const pr = obj(d.pr);
      const e = obj(d.event);
      const merged = record.step.endsWith('-merged');
      return compact({ number: num(pr.number) ?? num(e.number), url: str(pr.url) ?? str(e.url), state: merged ? 'merged' : 'closed', by: str(e.by), via: str(e.via) });
    }
    case 'verified':
      return compact({ clean: bool(d.clean) ?? false, detail: short(d.detail) });
    case 'closed':
      return compact({ outcome: str(d.outcome), escalations: num(d.escalations), detections: num(d.detections) });
    default:
      return {};
  }
}

/** One answer as an `approvals` row takes it. */
interface ApprovalRow {
  approver: string;
  answer: 'approve' | 'reject' | 'auto-heal';
  via?: string;
  at: string;
}

function approvalSummary(d: Obj, at: string): Obj {
  if (d.kind === 'auto-heal') return { kind: 'auto-heal', answer: 'auto-heal', answers: [{ approver: 'policy', answer: 'auto-heal', via: 'policy', at }] };
  // A person's answer: the decisive one, and (with a quorum) every approval counted with it.
  const rows = new Map<string, ApprovalRow>();
  const add = (raw: unknown) => {
    const a = obj(raw);
    const approver = str(a.approver);
    if (!approver || (a.answer !== 'approved' && a.answer !== 'rejected')) return;
    rows.set(approver.toLowerCase(), compact({ approver, answer: a.answer === 'approved' ? 'approve' : 'reject', via: str(a.via), at: instant(a.at) ?? at }) as unknown as ApprovalRow);
  };
  (Array.isArray(d.approvals) ? d.approvals : []).forEach(add);
  // The decisive answer last: a rejection by someone who had approved is what counts.
  add(d.answer);
  const answer = obj(d.answer);
  return compact({
    kind: 'person',
    answer: str(answer.answer),
    approver: str(answer.approver),
    via: str(answer.via),
    required: num(d.required),
    answers: [...rows.values()],
  });
}

function hotfixSummary(step: string, d: Obj): Obj {
  switch (hotfixKind(step)) {
    case 'opened':
      return compact({
        unit: str(d.unit),
        incident: str(d.incident),
        window: str(d.window),
        openedBy: str(d.openedBy),
        actors: Array.isArray(d.actors) ? d.actors.filter((a) => typeof a === 'string') : undefined,
        maxExtensions: num(d.maxExtensions),
      });
    case 'attached':
      return compact({ findingId: str(d.findingId), driftClass: str(d.driftClass), risk: str(d.risk), actor: str(d.actor), resourceRef: str(d.resourceRef) });
    case 'extended':
      return compact({ by: str(d.by), duration: str(d.duration), deadline: instant(d.deadline) });
    case 'escalated':
      return { unresolved: Array.isArray(d.unresolved) ? d.unresolved.length : 0 };
    case 'closed':
      return compact({ outcome: str(d.outcome), by: str(d.by), findings: Array.isArray(d.findings) ? d.findings.length : undefined });
    default:
      if (step.startsWith('resolved-')) return compact({ findingId: str(d.findingId), resolution: str(d.resolution), reference: str(d.reference), by: str(d.by) });
      if (step.startsWith('reminder-')) return compact({ percent: num(d.percent), deadline: str(d.deadline), unresolved: Array.isArray(d.unresolved) ? d.unresolved.length : undefined });
      return {};
  }
}

// ---- SQL ------------------------------------------------------------------------------------
// The merge itself is in SQL functions (ledger/migrations/0002_findings_projection.sql): a record
// costs one short call, whose statements are the function's, not a long text to parse each time
// (bench/ledger.bench.ts: about 1.2× a bare INSERT of the resulting rows on PGlite). Parameters of every call:
// $1 finding, $2 run, $3 step, $4 seq, $5 at, $6 summary, then the root's columns or the step's kind.

const STEP_SQL = 'SELECT ledger_record_step($1, $2, $3, $4, $5, $6, $7)';
const DETECTED_SQL = 'SELECT ledger_record_detected($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) AS others';
const WINDOW_STEP_SQL = 'SELECT ledger_record_window_step($1, $2, $3, $4, $5, $6, $7)';
const OPENED_SQL = 'SELECT ledger_record_window_opened($1, $2, $3, $4, $5, $6, $7, $8, $9) AS others';

// ---- the projection ---------------------------------------------------------------------------

/** A record that cannot be projected (a root record without the fields its NOT NULL columns need). */
export class LedgerProjectionError extends Error {
  override readonly name = 'LedgerProjectionError';
  constructor(
    readonly findingId: string,
    readonly step: string,
    readonly field: string,
    detail: string,
  ) {
    super(`evidence ${findingId} step ${step}: field ${field} ${detail}`);
  }
}

const stepParams = (r: Pick<LedgerEvidence, 'findingId' | 'runId' | 'step' | 'seq' | 'at'>, summary: Obj): unknown[] => [
  r.findingId,
  r.runId,
  r.step,
  r.seq,
  r.at,
  JSON.stringify(summary),
];

/** The call projecting a non-root record: its function and its kind. */
const stepCall = (hotfix: boolean, r: Pick<LedgerEvidence, 'findingId' | 'runId' | 'step' | 'seq' | 'at'>, summary: Obj): [string, unknown[]] =>
  hotfix ? [WINDOW_STEP_SQL, [...stepParams(r, summary), hotfixKind(r.step)]] : [STEP_SQL, [...stepParams(r, summary), lifecycleKind(r.step)]];

/**
 * Projects one evidence record into the ledger: its step row, its columns of the lifecycle (or
 * hotfix window) row, and its answers. Idempotent by (finding, run, step), and independent of the
 * order the run's records arrive in (see the module comment). Throws `LedgerProjectionError`
 * (before any SQL) for a record without the fields its rows need.
 */
export async function recordEvidence(db: SqlDb, record: LedgerEvidence): Promise<void> {
  if (instant(record.at) === undefined) throw new LedgerProjectionError(record.findingId, record.step, 'at', `is not a timestamp (${String(record.at)})`);
  if (!Number.isInteger(record.seq) || record.seq < 1) throw new LedgerProjectionError(record.findingId, record.step, 'seq', `is not a chain position (${String(record.seq)})`);
  const summary = stepSummary(record);
  const hotfix = isHotfixWindowId(record.findingId);
  const root = hotfix ? record.step === 'opened' : record.step === 'detected';
  if (!root) {
    await db.query(...stepCall(hotfix, record, summary));
    return;
  }
  const rootSql = hotfix ? OPENED_SQL : DETECTED_SQL;
  const params = [...stepParams(record, summary), ...(hotfix ? openedColumns(record) : detectedColumns(record))];
  const [row] = await db.query<{ others: boolean }>(rootSql, params);
  if (!row?.others) return;
  // Steps of this run recorded before its root: apply them again, in chain order, to the new row.
  await db.transaction(async (tx) => {
    await tx.query(rootSql, params);
    const earlier = await tx.query<{ step: string; seq: number; at: Date; summary: Obj }>(
      'SELECT step, seq, at, summary FROM lifecycle_steps WHERE finding_id = $1 AND run_id = $2 AND step <> $3 ORDER BY seq',
      [record.findingId, record.runId, record.step],
    );
    for (const s of earlier) await tx.query(...stepCall(hotfix, { ...record, step: s.step, seq: Number(s.seq), at: s.at.toISOString() }, s.summary));
  });
}

/** $7.. of DETECTED_SQL: unit, resource_ref, resource_type, detector, changed_fields, actor, provider_versions, regression, detected_at. */
function detectedColumns(r: LedgerEvidence): unknown[] {
  const o = obj(obj(r.data).observation);
  const need = (field: string): string => {
    const v = field === 'detectedAt' ? instant(o[field]) : str(o[field]);
    if (!v) throw new LedgerProjectionError(r.findingId, r.step, `data.observation.${field}`, 'is missing or invalid: the lifecycle row needs it');
    return v;
  };
  const fields = Array.isArray(o.changedFields) ? o.changedFields.filter((f): f is string => typeof f === 'string') : [];
  const upgrade = obj(o.context).providerUpgrade;
  return [
    need('unit'),
    need('resourceRef'),
    str(o.resourceType) ?? null,
    str(o.detector) ?? null,
    JSON.stringify(fields),
    str(obj(obj(o.auditCorrelation).actor).id) ?? null,
    upgrade === undefined ? null : JSON.stringify(upgrade),
    o.regression !== undefined && o.regression !== null,
    need('detectedAt'),
  ];
}

/** $7.. of OPENED_SQL: unit, incident, deadline (opened + window). */
function openedColumns(r: LedgerEvidence): unknown[] {
  const d = obj(r.data);
  const windowMs = str(d.window) === undefined ? undefined : parseDuration(str(d.window) as string);
  const opened = Date.parse(r.at);
  return [str(d.unit) ?? null, str(d.incident) ?? null, windowMs === undefined ? null : new Date(opened + windowMs).toISOString()];
}
