import type { Client, Connection } from '@temporalio/client';
import type { ViewsOpenArguments } from '@slack/web-api';
import { callSlack, createSlackWebClient } from '../../activities/slack/web-client';
import { answerFinding } from '../../cli/answer-finding';
import { connectClient } from '../../cli/temporal';
import type { ApprovalStatement, SignedStatement } from '../../domain/signing/statement';
import { loadRegistry, peopleOf } from '../../registry';
import type { Config } from '../../workers/config';
import { createStatementSigner } from '../../workers/signing-keys';
import { slackInteractivity, type SlackInteractivity, type SlackInteractivityWeb } from './interactivity';
import { noteApprovalProgress } from './approval-progress';

/** How long the endpoint waits for a worker to validate an answer before replying "queued". */
const ANSWER_WAIT_MS = 30_000;
/** The registry is read again at most this often (people join teams while the server runs). */
const REGISTRY_TTL_MS = 30_000;

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

  let people: { at: number; bySlackId: Map<string, string> } | undefined;
  const personBySlackId = async (slackUserId: string) => {
    if (!people || Date.now() - people.at > REGISTRY_TTL_MS) {
      const loaded = await loadRegistry(config.registryDir);
      if (!loaded.ok)
        throw new Error(`registry at ${config.registryDir} is invalid (${loaded.errors.length} problem(s))`);
      const bySlackId = new Map<string, string>();
      for (const p of peopleOf(loaded.registry)) if (p.slackUserId) bySlackId.set(p.slackUserId, p.email);
      people = { at: Date.now(), bySlackId };
    }
    return people.bySlackId.get(slackUserId);
  };

  let temporal: Promise<{ client: Client; connection: Connection }> | undefined;
  const client = async () => {
    temporal ??= connectClient(config.temporalAddress, config.namespace).catch((err: unknown) => {
      temporal = undefined; // try again at the next answer
      throw err;
    });
    return (await temporal).client;
  };

  const slack = slackInteractivity({
    signingSecret: config.slack.signingSecret,
    web,
    personBySlackId,
    answer: async (findingId, answer, input) => {
      const c = await client();
      const accepted = await answerFinding(c, findingId, answer, input, ANSWER_WAIT_MS);
      // A counted approval that does not complete the quorum: the message shows "1 of 2 approvals".
      await noteApprovalProgress(c, accepted, 'slack').catch(() => undefined);
      return accepted;
    },
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
      const t = await temporal?.catch(() => undefined);
      await t?.connection.close();
    },
  };
}
