/**
 * The Slack message of one finding: posted when its lifecycle routes it, updated in place after
 * each escalation, answer and closure. Its own workflow (id `slack:<findingId>`), fed by signals
 * from the lifecycle's notifications, so a Slack outage or rate limit is retried here with backoff
 * and never holds up the lifecycle or its escalation clock. The posted messages' channel ids and
 * `ts` are its state: durable in Temporal and shared by every worker.
 */
import { ActivityFailure, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Notification, NotificationDetails } from '../activities/notify/console-notifier';
import type { SlackActivities, SlackMessageRef } from '../activities/slack';
import { slackNotification, slackThreadState, type SlackThreadState } from './messages';

/**
 * Each call is retried with exponential backoff (a rate limit after its Retry-After) for up to six
 * hours; after that the message is left as it is and the failure noted in the state.
 */
const slack = proxyActivities<SlackActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '6 hours',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5 minutes' },
});

/** Notifications of one finding kept at once; a lifecycle sends a handful (route, incident, escalations, answer, close). */
const MAX_QUEUE = 50;

/** Slack channels among a notification's targets (`slack:#team-checkout` → `#team-checkout`). */
const slackChannels = (targets: readonly string[]) =>
  [...new Set(targets.filter((t) => t.startsWith('slack:')).map((t) => t.slice('slack:'.length)))].filter(
    (c) => c.length > 0,
  );

/** The Slack message workflow of one finding (a noun; never renamed once released). */
export async function slackThread(input: { findingId: string }): Promise<SlackThreadState> {
  const queue: Notification[] = [];
  const s: SlackThreadState = {
    findingId: input.findingId,
    messages: [],
    status: [],
    open: false,
    failures: [],
  };
  let details: NotificationDetails | undefined;
  const posted = new Map<string, SlackMessageRef>();
  setHandler(slackNotification, (n) => {
    if (queue.length < MAX_QUEUE) queue.push(n);
  });
  setHandler(slackThreadState, () => s);

  const failed = (what: string, err: unknown) => {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause.message : (err as Error).message;
    s.failures = [...s.failures, `${what}: ${cause}`].slice(-10);
  };

  for (;;) {
    // A closed finding's thread ends; one that hears nothing for 30 days ends too.
    if (!(await condition(() => queue.length > 0, '30 days'))) break;
    const n = queue.shift() as Notification;
    if ((n.kind === 'routed' || n.kind === 'approval-requested') && n.details) {
      details = n.details;
      s.open = n.details.needsPerson;
      for (const channel of slackChannels(n.targets)) {
        if (posted.has(channel)) continue; // a retried route step: that channel has its message
        try {
          const ref = await slack.postSlackMessage({
            findingId: s.findingId,
            details,
            status: s.status,
            open: s.open,
            channel,
          });
          posted.set(channel, ref);
          s.messages.push(ref);
        } catch (err) {
          failed(`chat.postMessage ${channel}`, err);
        }
      }
    } else {
      s.status = [...s.status, n.text].slice(-20);
      if (n.kind === 'answered' || n.kind === 'closed') s.open = false;
      if (details) {
        for (const ref of s.messages) {
          try {
            await slack.updateSlackMessage({
              findingId: s.findingId,
              details,
              status: s.status,
              open: s.open,
              ...ref,
            });
          } catch (err) {
            failed(`chat.update ${ref.channel}`, err);
          }
        }
      }
    }
    if (n.kind === 'closed' && queue.length === 0) break;
  }
  return s;
}
