import type { Client } from '@temporalio/client';
import type { Config } from '../../workers/config';
import { ConsoleNotifier } from '../notify/console-notifier';
import { createSlackActivities } from '.';
import { SlackNotifier } from './slack-notifier';
import { createSlackWebClient } from './web-client';

/**
 * What a worker adds for Slack when SLACK_BOT_TOKEN is set: the Slack notifier (which also writes
 * to the console) and the Slack activities. Without a token: nothing, and the console notifier
 * stays the default.
 */
export function slackWorkerParts(config: Config, client: Client) {
  const token = config.slack.botToken?.();
  if (!token) return undefined;
  const web = createSlackWebClient({
    botToken: token,
    ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
  });
  return {
    notifier: new SlackNotifier(client, config.taskQueue, new ConsoleNotifier()),
    activities: createSlackActivities({ web }),
  };
}
