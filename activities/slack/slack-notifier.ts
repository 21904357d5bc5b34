import type { Client } from '@temporalio/client';
import { slackNotification, slackThreadIdOf } from '../../workflows/messages';
import type { Notification, Notifier } from '../notify/console-notifier';

/** Notifications about a finding's lifecycle: they post and update its Slack message. */
const FINDING_KINDS: readonly Notification['kind'][] = [
  'routed',
  'approval-requested',
  'approval-progress',
  'incident',
  'escalated',
  'answered',
  'closed',
];

/** The workflow id of a finding's Slack messages. */

/**
 * Sends a finding's notifications to Slack through the finding's `slackThread` workflow
 * (signal-with-start): the lifecycle's activity only waits for Temporal to take the signal, never
 * for Slack. Posting, updating and retrying (backoff, Retry-After) happen in that workflow, so an
 * unreachable or rate-limiting Slack cannot stop a lifecycle from escalating on its clock.
 * Everything also goes to `also` (the console notifier), so logs and the demo still show it.
 */
export class SlackNotifier implements Notifier {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly also?: Notifier,
  ) {}

  async send(n: Notification): Promise<void> {
    await this.also?.send(n);
    // A finding's message only; other notifications (hotfix windows) stay on the console for now.
    if (!FINDING_KINDS.includes(n.kind)) return;
    await this.client.workflow.signalWithStart('slackThread', {
      workflowId: slackThreadIdOf(n.findingId),
      taskQueue: this.taskQueue,
      args: [{ findingId: n.findingId }],
      signal: slackNotification,
      signalArgs: [n],
    });
  }
}
