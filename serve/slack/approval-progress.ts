import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { slackNotification, slackThreadIdOf, type AnswerAccepted } from '../../workflows/messages';

/** The line a finding's message shows after an approval that does not yet complete the quorum. */
export function approvalProgressText(a: AnswerAccepted, via: string): string | undefined {
  if (a.answer !== 'approved' || a.approvals === undefined || a.required === undefined || a.approvals >= a.required) return undefined;
  return `${a.approvals} of ${a.required} approvals: ${a.approver} (${via}); waiting for another approver`;
}

/**
 * Tells the finding's Slack message (its `slackThread` workflow, `slack:<findingId>`) that an
 * approval was counted but the quorum is not complete: the message shows "1 of 2 approvals".
 * Whatever channel took the answer (Slack, the CLI) calls it. No thread (Slack not configured,
 * or the finding was never posted): nothing to update.
 */
export async function noteApprovalProgress(client: Client, a: AnswerAccepted, via: string): Promise<string | undefined> {
  const text = approvalProgressText(a, via);
  if (!text) return undefined;
  try {
    await client.workflow.getHandle(slackThreadIdOf(a.findingId)).signal(slackNotification, { kind: 'approval-progress', findingId: a.findingId, targets: [], text });
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  return text;
}
