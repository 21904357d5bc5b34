import { REASON_MODAL, reasonModal } from '../serve/slack/reason-modal';
import { slackSignature } from '../serve/slack/verify-signature';

/**
 * Sends `driftplane serve` what Slack sends when a person submits the reason modal: a
 * `view_submission` payload (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload),
 * form-encoded and signed with the signing secret exactly as Slack signs it. The demo uses it to
 * show a Slack-shaped approval without a Slack workspace; the server cannot tell it from Slack's,
 * which is the point: whoever holds the signing secret speaks for Slack, so keep it secret.
 * Returns the HTTP status and body (200 and an empty body once accepted for processing).
 */
export async function postSignedSlackSubmission(input: {
  serveUrl: string;
  signingSecret: string;
  slackUserId: string;
  findingId: string;
  answer: 'approve' | 'reject';
  reason: string;
  now?: Date;
}): Promise<{ status: number; body: string }> {
  const view = reasonModal({ findingId: input.findingId, answer: input.answer });
  const payload = {
    type: 'view_submission',
    team: { id: 'T0DEMO', domain: 'demo' },
    user: { id: input.slackUserId, team_id: 'T0DEMO' },
    api_app_id: 'A0DEMO',
    view: {
      ...view,
      id: 'V0DEMO',
      state: {
        values: {
          [REASON_MODAL.block]: { [REASON_MODAL.action]: { type: 'plain_text_input', value: input.reason } },
        },
      },
    },
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor((input.now ?? new Date()).getTime() / 1000));
  const r = await fetch(`${input.serveUrl}/slack/interactivity`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': slackSignature(input.signingSecret, timestamp, body),
    },
    body,
  });
  return { status: r.status, body: await r.text() };
}
