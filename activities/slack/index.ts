import { ApplicationFailure } from '@temporalio/common';
import type { Block, WebClient } from '@slack/web-api';
import type { NotificationDetails } from '../notify/console-notifier';
import { PERMANENT_SLACK_ERRORS, SlackApiError, SlackRateLimited, type SlackFailure } from './errors';
import { findingMessage, type FindingMessageState } from './finding-message';
import { callSlack } from './web-client';

export { SlackApiError, SlackRateLimited, SlackUnreachable } from './errors';

/** A message posted for a finding: Slack's channel id (chat.update needs the id, not `#name`) and its `ts`. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/** What a Slack activity sends: the finding's details and the lines and buttons to show. */
export interface SlackMessageInput extends FindingMessageState {
  findingId: string;
  details: NotificationDetails;
}

/**
 * A Slack failure as the activity's failure: its type is the error's name (SlackRateLimited,
 * SlackApiError, SlackUnreachable) and its message names the method and Slack's code. A rate limit
 * is retried after Slack's `Retry-After`; codes no retry can fix (a revoked token, invalid
 * blocks) are not retried; everything else (unreachable, `channel_not_found` until someone invites
 * the bot) is retried with the caller's backoff.
 */
export function slackActivityFailure(err: SlackFailure): ApplicationFailure {
  if (err instanceof SlackRateLimited) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.name,
      details: [{ method: err.method, retryAfterSeconds: err.retryAfterSeconds }],
      nextRetryDelay: `${Math.max(1, err.retryAfterSeconds)}s`,
    });
  }
  const permanent = err instanceof SlackApiError && PERMANENT_SLACK_ERRORS.includes(err.code);
  return ApplicationFailure.create({
    message: err.message,
    type: err.name,
    nonRetryable: permanent,
    details: [{ method: err.method, ...(err instanceof SlackApiError ? { code: err.code } : {}) }],
  });
}

async function slackCall<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await callSlack(method, call);
  } catch (err) {
    throw slackActivityFailure(err as SlackFailure);
  }
}

/**
 * The Slack activities: post a finding's message to a channel, and update it in place. Each does
 * one Web API call, so Temporal retries exactly the call that failed, and a channel that worked is
 * never posted to twice.
 */
export function createSlackActivities(deps: { web: WebClient }) {
  return {
    /** `chat.postMessage` of the finding's Block Kit message to one channel (`#name` or id). */
    async postSlackMessage(input: SlackMessageInput & { channel: string }): Promise<SlackMessageRef> {
      const { text, blocks } = findingMessage(input.findingId, input.details, input);
      const r = await slackCall('chat.postMessage', () =>
        deps.web.chat.postMessage({
          channel: input.channel,
          text,
          blocks: blocks as Block[],
          unfurl_links: false,
          unfurl_media: false,
        }),
      );
      if (!r.channel || !r.ts)
        throw ApplicationFailure.create({
          message: 'Slack chat.postMessage answered without channel and ts',
          type: 'SlackApiError',
        });
      return { channel: r.channel, ts: r.ts };
    },

    /** `chat.update` of a message posted before: the same blocks with the new status lines (buttons gone once answered or closed). */
    async updateSlackMessage(input: SlackMessageInput & SlackMessageRef): Promise<void> {
      const { text, blocks } = findingMessage(input.findingId, input.details, input);
      await slackCall('chat.update', () =>
        deps.web.chat.update({ channel: input.channel, ts: input.ts, text, blocks: blocks as Block[] }),
      );
    },
  };
}

/** The Slack activities, as the workflow sees them. */
export type SlackActivities = ReturnType<typeof createSlackActivities>;
