import type { ViewsOpenArguments } from '@slack/web-api';
import { callSlack, createSlackWebClient } from '../../activities/slack/web-client';
import type { ApprovalStatement, SignedStatement } from '../../domain/signing/statement';
import type { Config } from '../../workers/config';
import { createStatementSigner } from '../../workers/signing-keys';
import { channelAnswers, registryPeople } from '../channel-answers';
import { slackInteractivity, type SlackInteractivity, type SlackInteractivityWeb } from './interactivity';

/**
 * The Slack endpoint built from the configuration: Slack's Web API at SLACK_API_URL with
 * SLACK_BOT_TOKEN, the registry at DRIFTPLANE_REGISTRY for the Slack user → person mapping, and a
 * Temporal client connected on first use (so the server starts, and refuses forged requests, while
 * Temporal is down).
 */
export function slackFromConfig(
  config: Config,
  opts: {
    log?: (line: string) => void;
    sign?: (s: ApprovalStatement) => SignedStatement;
    nowMs?: () => number;
  } = {},
): SlackInteractivity & { close(): Promise<void> } {
  const token = config.slack.botToken?.();
  const slackWeb = token
    ? createSlackWebClient({
        botToken: token,
        ...(config.slack.apiUrl ? { apiUrl: config.slack.apiUrl } : {}),
      })
    : undefined;
  // Failures surface as named Slack errors (SlackApiError, SlackRateLimited, SlackUnreachable) in the log.
  const web: SlackInteractivityWeb | undefined = slackWeb && {
    views: {
      open: (args) =>
        callSlack('views.open', () => slackWeb.views.open(args as unknown as ViewsOpenArguments)),
    },
    chat: {
      postEphemeral: (args) => callSlack('chat.postEphemeral', () => slackWeb.chat.postEphemeral(args)),
    },
  };

  const people = registryPeople(config.registryDir);
  const answers = channelAnswers(config, 'slack');

  const slack = slackInteractivity({
    signingSecret: config.slack.signingSecret,
    web,
    personBySlackId: (id) => people.bySlackId(id),
    answer: (findingId, answer, input) => answers.send(findingId, answer, input),
    // Answers carry a statement signed with the server's key ($DRIFTPLANE_HOME/signing.key or
    // DRIFTPLANE_SIGNING_KEY), which lifecycles trust for the `slack` channel.
    sign: opts.sign ?? ((st) => createStatementSigner(config.signing).sign(st)),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.nowMs ? { nowMs: opts.nowMs } : {}),
  });
  return {
    ...slack,
    close: async () => {
      await slack.idle();
      await answers.close();
    },
  };
}
