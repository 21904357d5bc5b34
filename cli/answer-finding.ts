import { createHash } from 'node:crypto';
import {
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { InputError, ToolError } from '../domain/errors';
import { findingIdFromAny, workflowIdOf } from '../domain/finding';
import type { ApprovalInput } from '../domain/lifecycle';
import { approve, reject, state, type AnswerAccepted } from '../workflows/messages';
import { EnvironmentKey } from '../workflows/search-attributes';
import { AnswerQueued } from './answer-queued';
import { signWithSshKey } from './ssh-sign';

const Stage = temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage;

/** How long `answerFinding` waits for a worker to validate an answer, unless told otherwise. */
export const DEFAULT_ANSWER_WAIT_MS = 30_000;

/**
 * The Update id of an answer: the same finding, answer, approver, reason and channel give the same
 * id, so a retried `driftplane approve` joins the Update it sent before (Temporal deduplicates
 * Updates by id) instead of queueing a second one.
 */
export function answerUpdateId(
  findingId: string,
  answer: 'approve' | 'reject',
  input: ApprovalInput,
): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([findingId, answer, input.approver, input.reason, input.via ?? null]))
    .digest('hex');
  return `${answer}-${digest.slice(0, 32)}`;
}

/**
 * Sends an approve or reject Update and waits up to `waitMs` for a worker to validate and apply it.
 * - accepted: returns what the lifecycle recorded;
 * - refused by the validator: InputError carrying its reason (nothing was recorded);
 * - admitted by Temporal but no worker has taken it within the wait: AnswerQueued. The server keeps
 *   the Update for the workflow and a worker validates it when it runs; a retry with the same input
 *   joins it. Until accepted, an Update is not in the workflow's history (the SDK's own words: "not
 *   yet durably persisted"), so a server restart in between can drop it.
 */
export async function answerFinding(
  client: Client,
  idOrWorkflowId: string,
  answer: 'approve' | 'reject',
  input: { approver: string; reason: string; via?: ApprovalInput['via']; sshKey?: string },
  waitMs = DEFAULT_ANSWER_WAIT_MS,
): Promise<AnswerAccepted> {
  const findingId = findingIdFromAny(idOrWorkflowId);
  const workflowId = workflowIdOf(findingId);
  const handle = client.workflow.getHandle(workflowId);
  const { sshKey, ...given } = input;
  const args: ApprovalInput = { via: 'cli', ...given };
  // The Update id leaves the statement out: a retry signs anew (a new issuedAt) and still joins the first.
  const updateId = answerUpdateId(findingId, answer, args);
  if (sshKey) {
    args.statement = await signWithSshKey(sshKey, {
      v: 1,
      findingId,
      answer: answer === 'approve' ? 'approved' : 'rejected',
      approver: given.approver,
      reason: given.reason,
      issuedAt: new Date().toISOString(),
      channel: 'cli',
    });
  }
  const waited = new AbortController();
  const timer = setTimeout(() => waited.abort(), waitMs);
  try {
    // The server long-polls the Update until a worker accepts or refuses it, answering "admitted"
    // every 20 s or so, and the client asks again. Stopping the wait leaves the Update admitted.
    return await client.withAbortSignal(waited.signal, async () => {
      const update = await handle.startUpdate(answer === 'approve' ? approve : reject, {
        args: [args],
        updateId,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      return await update.result();
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refused(err, answer, findingId);
    if (err instanceof WorkflowNotFoundError)
      throw new InputError(`no running lifecycle for finding ${findingId}`, { field: 'findingId' });
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError && waited.signal.aborted) {
      return await afterWait(client, findingId, answer, updateId, waitMs);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether a lifecycle refuses answers without a signed statement: the route says so (state
 * query); when no worker answers the query, a production unit (its Environment search attribute)
 * is taken to refuse them.
 */
export async function needsSignedAnswer(client: Client, idOrWorkflowId: string): Promise<{ needed: boolean; environment?: string }> {
  const findingId = findingIdFromAny(idOrWorkflowId);
  const handle = client.workflow.getHandle(workflowIdOf(findingId));
  const described = await handle.describe().catch((err: unknown) => {
    throw err instanceof WorkflowNotFoundError ? new InputError(`no running lifecycle for finding ${findingId}`, { field: 'findingId' }) : err;
  });
  if (described.status.name !== 'RUNNING') throw new InputError(`no running lifecycle for finding ${findingId} (it is ${described.status.name.toLowerCase()})`, { field: 'findingId' });
  try {
    const s = await client.withDeadline(Date.now() + 5_000, () => handle.query(state));
    const environment = s.decision?.environment;
    const allowed = s.route?.allowUnauthenticated ?? (environment !== undefined && environment !== 'prod');
    return { needed: !allowed, ...(environment ? { environment } : {}) };
  } catch {
    // No worker answered: the Environment search attribute (set at classification) still tells.
    const environment = described.typedSearchAttributes.get(EnvironmentKey);
    return { needed: environment === undefined || environment === 'prod', ...(environment ? { environment } : {}) };
  }
}

/** The wait is over: asks Temporal where the Update stands, and says so. */
async function afterWait(
  client: Client,
  findingId: string,
  answer: 'approve' | 'reject',
  updateId: string,
  waitMs: number,
): Promise<AnswerAccepted> {
  const workflowId = workflowIdOf(findingId);
  const stage = await updateStage(client, workflowId, updateId);
  if (stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED)
    throw new AnswerQueued(findingId, updateId, waitMs);
  if (stage === undefined) {
    throw new ToolError(
      `Temporal did not take the answer for ${findingId} within ${waitMs / 1000}s; nothing was queued`,
      'check the server with `driftplane findings`, then answer again (a retry with the same answer is safe)',
    );
  }
  // A worker took it just as the wait ended: the validator has spoken, so fetch what it said.
  try {
    return await client.withDeadline(Date.now() + 10_000, () =>
      client.workflow.getHandle(workflowId).getUpdateHandle<AnswerAccepted>(updateId).result(),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw refused(err, answer, findingId);
    throw err;
  }
}

/** The validator's refusal as invalid input: nothing was recorded. */
function refused(
  err: WorkflowUpdateFailedError,
  answer: 'approve' | 'reject',
  findingId: string,
): InputError {
  const why = err.cause instanceof Error ? err.cause.message : err.message;
  return new InputError(`${answer} refused for ${findingId}: ${why}`, { field: '--as/--reason' });
}

/** The lifecycle stage of an Update (admitted, accepted, completed), or undefined when Temporal does not know it. */
async function updateStage(
  client: Client,
  workflowId: string,
  updateId: string,
): Promise<number | undefined> {
  try {
    const r = await client.withDeadline(Date.now() + 10_000, () =>
      client.workflowService.pollWorkflowExecutionUpdate({
        namespace: client.options.namespace,
        updateRef: { workflowExecution: { workflowId }, updateId },
        identity: client.options.identity,
        // "Admitted" is the lowest stage: the server answers at once with the stage the Update is in.
        waitPolicy: { lifecycleStage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED },
      }),
    );
    return r.stage ?? undefined;
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === 5 /* NOT_FOUND */) return undefined;
    throw new ToolError(
      `cannot tell whether Temporal holds the answer for ${workflowId}: ${(err as Error).message}`,
    );
  }
}
