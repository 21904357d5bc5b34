import { slackText } from '../../activities/slack/finding-message';
import type { AnswerMetadata } from './payloads';

/** The modal's `callback_id`, and the reason input's `block_id` / `action_id`. */
export const REASON_MODAL = { callbackId: 'driftplane_reason', block: 'reason', action: 'reason' } as const;

/**
 * The modal that asks for the reason (`views.open`): a required multi-line input, and the finding
 * and answer in `private_metadata`, which Slack hands back with the submission.
 */
export function reasonModal(meta: AnswerMetadata, maxReasonChars = 2000): Record<string, unknown> {
  const verb = meta.answer === 'approve' ? 'Approve' : 'Reject';
  return {
    type: 'modal',
    callback_id: REASON_MODAL.callbackId,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: `${verb} reconciliation` },
    submit: { type: 'plain_text', text: verb },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${verb} the reconciliation of finding \`${slackText(meta.findingId, 400)}\`.`,
        },
      },
      {
        type: 'input',
        block_id: REASON_MODAL.block,
        optional: false,
        label: { type: 'plain_text', text: 'Reason (required, kept in the evidence)' },
        element: {
          type: 'plain_text_input',
          action_id: REASON_MODAL.action,
          multiline: false,
          min_length: 1,
          max_length: maxReasonChars,
        },
      },
    ],
  };
}
