import type { FastifyRequest } from 'fastify';
import { parseAnswerButtonValue, SLACK_ACTIONS, slackText } from '../../activities/slack/finding-message';
import { ToolError } from '../../domain/errors';
import type { ApprovalStatement, SignedStatement } from '../../domain/signing/statement';
import type { AnswerAccepted } from '../../workflows/messages';
import type { ServeModule } from '../server';
import {
  AnswerMetadataSchema,
  BlockActionsSchema,
  interactionPayload,
  ViewSubmissionSchema,
  type AnswerMetadata,
} from './payloads';
import { REASON_MODAL, reasonModal } from './reason-modal';
import { buildSlackAnswer, type SlackAnswerInput } from './slack-answer';
import { ReplayGuard, SlackSignatureError, verifySlackSignature } from './verify-signature';
import { approvalProgressText } from './approval-progress';

/** The Slack Web API calls the endpoint makes (a `@slack/web-api` WebClient is one). */
export interface SlackInteractivityWeb {
  views: { open(args: { trigger_id: string; view: Record<string, unknown> }): Promise<unknown> };
  chat: { postEphemeral(args: { channel: string; user: string; text: string }): Promise<unknown> };
}

/** What the endpoint needs; every part is injected, so tests can drive it with their own. */
export interface SlackInteractivityDeps {
  /** SLACK_SIGNING_SECRET; without it every request is refused (503). */
  signingSecret: (() => string) | undefined;
  /**
   * Slack Web API (views.open, chat.postEphemeral). Without it (no SLACK_BOT_TOKEN: the demo, a
   * laptop) a button cannot open the modal, but a signed modal submission is still answered, and
   * the reply that would have been ephemeral goes to the log.
   */
  web: SlackInteractivityWeb | undefined;
  /** The registry person (e-mail) whose `slackUserId` is this signed Slack user id. */
  personBySlackId(slackUserId: string): Promise<string | undefined>;
  /** Sends the approve/reject Update to the finding's lifecycle (see cli/answer-finding.ts). */
  answer(findingId: string, answer: 'approve' | 'reject', input: SlackAnswerInput): Promise<AnswerAccepted>;
  /** Signs approval statements with the server's key, when it has one. */
  sign?: (s: ApprovalStatement) => SignedStatement;
  replay?: ReplayGuard;
  /** Milliseconds since the epoch (tests fix it to check the replay window). */
  nowMs?: () => number;
  /** One line per refused request or failed reply; never a header, body, secret or token. */
  log?: (line: string) => void;
}

/** The Slack endpoint family, with a way to wait for the work it does after answering Slack. */
export interface SlackInteractivity {
  module: ServeModule;
  /** Resolves once every background task started so far is done (tests, graceful shutdown). */
  idle(): Promise<void>;
}

const headerOf = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined; // a repeated header is not a signature we can check
};

/**
 * `POST /slack/interactivity`. Every request is checked first, before its body is parsed or
 * anything else is done: `X-Slack-Signature` over the raw bytes and `X-Slack-Request-Timestamp`
 * within five minutes, then not seen before. A refused one gets 401 and nothing else happens, so
 * this works the same when Temporal is down. A verified one is answered at once (Slack waits 3 s),
 * and the work (views.open, the Update to Temporal, the ephemeral reply) continues after.
 */
export function slackInteractivity(deps: SlackInteractivityDeps): SlackInteractivity {
  const replay = deps.replay ?? new ReplayGuard();
  const now = deps.nowMs ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const pending = new Set<Promise<void>>();
  const later = (what: string, task: () => Promise<void>) => {
    const p = task()
      .catch((err: unknown) =>
        log(`slack: ${what} failed: ${(err as Error).name}: ${(err as Error).message}`),
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const ephemeral = async (channel: string | undefined, user: string, text: string) => {
    if (!channel || !deps.web) return log(`slack: to ${user}: ${text}`);
    await deps.web.chat.postEphemeral({ channel, user, text });
  };

  const onButton = (p: ReturnType<typeof BlockActionsSchema.parse>) => {
    const action = p.actions.find(
      (a) => a.action_id === SLACK_ACTIONS.approve || a.action_id === SLACK_ACTIONS.reject,
    );
    const button = action?.value ? parseAnswerButtonValue(action.value) : undefined;
    if (!button) return; // another app's or an old button: nothing to do
    const channel = p.channel?.id ?? p.container?.channel_id;
    later('opening the reason modal', async () => {
      const person = await deps.personBySlackId(p.user.id);
      if (!person) return ephemeral(channel, p.user.id, unknownUserText(p.user.id));
      const meta: AnswerMetadata = {
        findingId: button.findingId,
        answer: button.answer,
        ...(channel ? { channel } : {}),
      };
      if (!deps.web) return log('slack: cannot open the reason modal without SLACK_BOT_TOKEN');
      await deps.web.views.open({ trigger_id: p.trigger_id, view: reasonModal(meta) });
    });
  };

  const onSubmission = (
    p: ReturnType<typeof ViewSubmissionSchema.parse>,
  ): Record<string, unknown> | undefined => {
    if (p.view.callback_id !== REASON_MODAL.callbackId) return undefined;
    let meta: AnswerMetadata | undefined;
    try {
      const parsed = AnswerMetadataSchema.safeParse(JSON.parse(p.view.private_metadata));
      meta = parsed.success ? parsed.data : undefined;
    } catch {
      meta = undefined;
    }
    if (!meta) return undefined;
    // One line: the lifecycle stores line breaks escaped, and the signed statement must carry the reason as stored.
    const reason = (p.view.state.values[REASON_MODAL.block]?.[REASON_MODAL.action]?.value ?? '')
      .replace(/[\r\n\t]+/g, ' ')
      .trim();
    // A reason is required: Slack shows this under the input and keeps the modal open.
    if (!reason)
      return { response_action: 'errors', errors: { [REASON_MODAL.block]: 'A reason is required.' } };
    const m = meta;
    later('answering', async () => {
      const person = await deps.personBySlackId(p.user.id);
      if (!person) return ephemeral(m.channel, p.user.id, unknownUserText(p.user.id));
      const input = buildSlackAnswer(
        {
          findingId: m.findingId,
          answer: m.answer,
          approver: person,
          slackUserId: p.user.id,
          reason,
          issuedAt: new Date(now()),
        },
        deps.sign,
      );
      let text: string;
      try {
        const r = await deps.answer(m.findingId, m.answer, input);
        const progress = approvalProgressText(r, 'slack');
        text = `Your ${r.answer === 'approved' ? 'approval' : 'rejection'} of \`${slackText(r.findingId, 400)}\` was recorded as ${slackText(r.approver, 200)}.${progress ? ` ${slackText(progress, 400)}.` : ''}`;
      } catch (err) {
        text = answerFailureText(err);
      }
      await ephemeral(m.channel, p.user.id, text);
    });
    return undefined;
  };

  const module: ServeModule = {
    name: 'slack',
    register(app) {
      // Keep every body as raw bytes in this scope: the signature is over the exact bytes sent.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
      app.post('/slack/interactivity', async (req, reply) => {
        const secret = deps.signingSecret?.();
        if (!secret) return reply.code(503).send({ error: 'Slack is not configured (SLACK_SIGNING_SECRET)' });
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const timestamp = headerOf(req, 'x-slack-request-timestamp');
        const signature = headerOf(req, 'x-slack-signature');
        const nowSeconds = Math.floor(now() / 1000);
        try {
          verifySlackSignature({ signingSecret: secret, timestamp, signature, rawBody: raw, nowSeconds });
          replay.admit(timestamp as string, signature as string, nowSeconds);
        } catch (err) {
          if (!(err instanceof SlackSignatureError)) throw err;
          log(`slack: refused a request (${err.refusal})`);
          return reply.code(401).send({ error: 'invalid Slack signature' });
        }
        const payload = interactionPayload(raw);
        const button = BlockActionsSchema.safeParse(payload);
        if (button.success) {
          onButton(button.data);
          return reply.code(200).send();
        }
        const submission = ViewSubmissionSchema.safeParse(payload);
        if (submission.success) {
          const body = onSubmission(submission.data);
          return body ? reply.code(200).send(body) : reply.code(200).send();
        }
        // Signed but not an interaction we handle (a shortcut, a view closed): acknowledged, ignored.
        return reply.code(200).send();
      });
    },
  };
  return { module, idle: async () => void (await Promise.allSettled([...pending])) };
}

function unknownUserText(slackUserId: string): string {
  return `driftplane does not know Slack user ${slackText(slackUserId, 64)}: ask the platform team to add your \`slackUserId\` to the registry. Nothing was recorded.`;
}

/** The ephemeral reply when the lifecycle did not take the answer: the validator's reason, terminal- and Slack-safe. */
function answerFailureText(err: unknown): string {
  const e = err as Error;
  if (e.name === 'AnswerQueued')
    return `Your answer is queued: no driftplane worker has validated it yet. \`driftplane show\` tells once one runs.`;
  if (err instanceof ToolError)
    return `driftplane could not record your answer (${slackText(e.message, 300)}). Nothing was recorded; try again.`;
  // The validator's own words, without the CLI's "field --as/--reason:" prefix.
  if (e.name === 'InputError')
    return `Refused: ${slackText(e.message.replace(/^field [^:]*: /, ''), 600)}. Nothing was recorded.`;
  return `driftplane could not record your answer (${slackText(e.name, 60)}). Nothing was recorded; try again.`;
}
