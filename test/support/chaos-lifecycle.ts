/**
 * What chaos scenarios ask of a lifecycle besides its state: scans, signed answers, its evidence
 * and ledger rows, its pending activity, and every activity attempt that was retried.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { EvidenceStore, type EvidenceRecord } from '../../evidence/evidence-store';
import { openLedger } from '../../ledger';
import type { OpenedLifecycle } from '../../activities/scan';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { answerFinding } from './approver-keys';

/** Polls `probe` until it returns something other than undefined, or fails after `timeoutMs` naming `what`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Runs one `unitScan` of `unit` and returns the single lifecycle it opened. */
export async function scanOne(client: Client, taskQueue: string, unit: string): Promise<OpenedLifecycle> {
  const scan = (await client.workflow.execute('unitScan', {
    workflowId: `scan:${unit}:chaos:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`,
    taskQueue,
    args: [{ unit }],
  })) as UnitScanResult;
  const findings = 'findings' in scan ? (scan.findings ?? []) : [];
  if (scan.status !== 'drift' || findings.length !== 1)
    throw new Error(`expected one drifted resource in ${unit}: ${JSON.stringify(scan)}`);
  return findings[0]!;
}

/** Answers `approve` as each person in turn, signed with their key (as `driftplane approve --key` does). */
export async function approveAs(
  client: Client,
  findingId: string,
  approvers: string[],
  waitMs = 60_000,
): Promise<void> {
  for (const approver of approvers)
    await answerFinding(
      client,
      findingId,
      'approve',
      { approver, reason: `chaos: approved by ${approver}` },
      waitMs,
    );
}

/** A finding's evidence records, and the steps and keys among them written more than once. */
export async function evidenceOf(
  evidenceDir: string,
  findingId: string,
): Promise<{
  records: EvidenceRecord[];
  steps: string[];
  duplicateSteps: string[];
  duplicateKeys: string[];
  chainOk: boolean;
}> {
  const store = new EvidenceStore(evidenceDir);
  const records = await store.read(findingId);
  const dup = (xs: string[]) => [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
  return {
    records,
    steps: records.map((r) => r.step),
    duplicateSteps: dup(records.map((r) => `${r.runId}:${r.step}`)),
    duplicateKeys: dup(records.map((r) => r.key)),
    chainOk: (await store.verify(findingId)).ok,
  };
}

/** One row of the ledger's `lifecycle_steps` for a finding. */
export interface LedgerStep {
  step: string;
  seq: number;
  summary: Record<string, unknown>;
}

/** The ledger's lifecycle row (stage, outcome) and steps of a finding, read from the worker's PostgreSQL ledger. */
export async function ledgerOf(
  url: string,
  findingId: string,
): Promise<{ stage?: string; outcome?: string | null; steps: LedgerStep[] }> {
  const ledger = await openLedger(url, { migrate: false });
  try {
    const rows = await ledger.db.query<{ stage: string; outcome: string | null }>(
      'SELECT stage, outcome FROM lifecycles WHERE finding_id = $1',
      [findingId],
    );
    const steps = await ledger.db.query<LedgerStep>(
      'SELECT step, seq, summary FROM lifecycle_steps WHERE finding_id = $1 ORDER BY seq',
      [findingId],
    );
    return { ...(rows[0] ? { stage: rows[0].stage, outcome: rows[0].outcome } : {}), steps };
  } finally {
    await ledger.close();
  }
}

/** The pending activities of a running workflow (attempt, retry interval, last failure). */
export async function pendingActivities(
  client: Client,
  workflowId: string,
): Promise<temporal.api.workflow.v1.IPendingActivityInfo[]> {
  return (await client.workflow.getHandle(workflowId).describe()).raw.pendingActivities ?? [];
}

/** An activity attempt that failed and was retried (from history: an ActivityTaskStarted with attempt > 1), or the final failure. */
export interface FailedAttempt {
  workflowId: string;
  activityType: string;
  attempt: number;
  failureType?: string;
  message: string;
}

/** Every failed activity attempt in a workflow's history: the retried ones (their failure is the next attempt's lastFailure) and failed activities. */
export async function failedAttempts(
  client: Client,
  workflowId: string,
  runId?: string,
): Promise<FailedAttempt[]> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const typeOf = new Map<string, string>();
  const out: FailedAttempt[] = [];
  const describe = (f: temporal.api.failure.v1.IFailure | null | undefined) => ({
    ...(f?.applicationFailureInfo?.type
      ? { failureType: f.applicationFailureInfo.type }
      : f?.timeoutFailureInfo
        ? { failureType: 'Timeout' }
        : {}),
    message: [f?.message, f?.cause?.message].filter(Boolean).join(' <- '),
  });
  for (const e of history.events ?? []) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(String(e.eventId), scheduled.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started && (started.attempt ?? 1) > 1) {
      out.push({
        workflowId,
        activityType: typeOf.get(String(started.scheduledEventId)) ?? '?',
        attempt: started.attempt!,
        ...describe(started.lastFailure),
      });
    }
    const failed = e.activityTaskFailedEventAttributes;
    if (failed)
      out.push({
        workflowId,
        activityType: typeOf.get(String(failed.scheduledEventId)) ?? '?',
        attempt: 0,
        ...describe(failed.failure),
      });
    const timedOut = e.activityTaskTimedOutEventAttributes;
    if (timedOut)
      out.push({
        workflowId,
        activityType: typeOf.get(String(timedOut.scheduledEventId)) ?? '?',
        attempt: 0,
        ...describe(timedOut.failure),
      });
  }
  return out;
}

/** One failed activity attempt as a worker logged it. */
export interface LoggedActivityFailure {
  activityType: string;
  isLocal: boolean;
  attempt: number;
  /** The error's type and message as logged. */
  message: string;
}

/**
 * The failed attempt an "Activity failed" log record reports (the SDK's fields: activityType,
 * isLocal, attempt, error), from a worker process's JSON line or an in-process Runtime logger.
 */
export function activityFailureOf(fields: Record<string, unknown>): LoggedActivityFailure {
  const error = (fields.error ?? fields.err) as { type?: string; name?: string; message?: string } | undefined;
  return {
    activityType: String(fields.activityType ?? '?'),
    isLocal: fields.isLocal === true,
    attempt: Number(fields.attempt ?? 0),
    message: [error?.type ?? error?.name, error?.message ?? JSON.stringify(error)].filter(Boolean).join(': '),
  };
}
