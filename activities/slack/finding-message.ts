import { visible } from '../../domain/terminal-text';
import type { NotificationDetails } from '../notify/console-notifier';

/** `action_id`s of the message's buttons; the interactivity endpoint answers only these. */
export const SLACK_ACTIONS = { approve: 'driftplane_approve', reject: 'driftplane_reject' } as const;
/** The buttons' `block_id`. */
export const SLACK_ANSWER_BLOCK = 'driftplane_answer';

/** A button's `value`: the answer and the finding (`approve:<findingId>`), at most Slack's 2000 characters. */
export function answerButtonValue(answer: 'approve' | 'reject', findingId: string): string {
  return `${answer}:${findingId}`;
}

/** Reads a button's value back; undefined when it is not one of ours. */
export function parseAnswerButtonValue(
  value: string,
): { answer: 'approve' | 'reject'; findingId: string } | undefined {
  const m = /^(approve|reject):(.{1,1900})$/s.exec(value);
  return m ? { answer: m[1] as 'approve' | 'reject', findingId: m[2] as string } : undefined;
}

/**
 * Text from outside (resource names, actors, reasons) for Slack mrkdwn: `&`, `<`, `>` escaped as
 * Slack documents (so no text can become a link or an @channel mention), control and bidi
 * characters made visible, and cut to `max` characters.
 */
export function slackText(text: string, max = 300): string {
  const v = visible(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return v.length > max ? `${v.slice(0, max)}…` : v;
}

/** What the message shows below the finding: one line per event (escalated, answered, closed). */
export interface FindingMessageState {
  status: string[];
  /** Buttons are shown while the finding waits for a person. */
  open: boolean;
}

/** A Slack Block Kit block (the subset we build; shapes from https://docs.slack.dev/reference/block-kit/blocks). */
export type SlackBlock = { type: string } & Record<string, unknown>;

/** The Block Kit message for a finding: finding, class, risk, resource, changed fields, actor, rules that fired, buttons. */
export function findingMessage(
  findingId: string,
  d: NotificationDetails,
  st: FindingMessageState,
): { text: string; blocks: SlackBlock[] } {
  const field = (label: string, value: string) => ({ type: 'mrkdwn', text: `*${label}*\n${value}` });
  const rules =
    d.rules.map((r) => `• \`${slackText(r.ruleId, 80)}\` ${slackText(r.why, 200)}`).join('\n') || '(none)';
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: `Drift: ${visible(d.driftClass)} (${visible(d.risk)})`.slice(0, 150),
      },
    },
    {
      type: 'section',
      fields: [
        field('Finding', `\`${slackText(findingId, 200)}\``),
        field('Class / risk', `${slackText(d.driftClass, 60)} / ${slackText(d.risk, 20)}`),
        field('Resource', `${slackText(d.resourceRef, 200)} (${slackText(d.unit, 100)})`),
        field('Changed fields', slackText(d.changedFields.join(', '), 500)),
        field('Actor', d.actor ? slackText(d.actor, 200) : 'unknown'),
        field('Proposed action', slackText(d.recommendedAction, 60)),
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Rules that fired*\n${rules}`.slice(0, 2900) } },
  ];
  if (d.approvers.length && d.needsPerson) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Approvers: ${slackText(d.approvers.join(', '), 1000)}` }],
    });
    if (d.requiredApprovals !== undefined && d.requiredApprovals > 1) {
      const why = d.approvalNotes?.length ? ` (${d.approvalNotes.join('; ')})` : '';
      blocks.push({
        type: 'context',
        elements: [{ type: 'mrkdwn', text: slackText(`Needs ${d.requiredApprovals} distinct approvers${why}`, 1000) }],
      });
    }
  }
  for (const line of st.status.slice(-8))
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: slackText(line, 1000) }] });
  if (d.needsPerson && st.open) {
    blocks.push({
      type: 'actions',
      block_id: SLACK_ANSWER_BLOCK,
      elements: [
        {
          type: 'button',
          action_id: SLACK_ACTIONS.approve,
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          value: answerButtonValue('approve', findingId),
        },
        {
          type: 'button',
          action_id: SLACK_ACTIONS.reject,
          style: 'danger',
          text: { type: 'plain_text', text: 'Reject' },
          value: answerButtonValue('reject', findingId),
        },
      ],
    });
  }
  const last = st.status.at(-1);
  const text = `${slackText(d.driftClass, 60)} (${slackText(d.risk, 20)}) on ${slackText(d.resourceRef, 300)}: ${slackText(d.recommendedAction, 60)}${last ? ` — ${slackText(last, 1000)}` : ''}`;
  return { text, blocks };
}
