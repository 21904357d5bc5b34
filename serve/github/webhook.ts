import type { FastifyRequest } from 'fastify';
import { workflowIdOf } from '../../domain/finding';
import { findingIdOfBranch } from '../../domain/reconcile/branch';
import type { PullRequestClosed } from '../../workflows/messages';
import type { ServeModule } from '../server';
import { DeliveryGuard } from './delivery-guard';
import {
  ActionSchema,
  fieldOf,
  GitHubPayloadError,
  PullRequestClosedEventSchema,
  webhookPayload,
} from './payloads';
import { GITHUB_SIGNATURE_HEADER, GitHubSignatureError, verifyGitHubSignature } from './verify-signature';

/** The route GitHub delivers to. */
export const GITHUB_WEBHOOK_PATH = '/github/webhook';

/** Bodies above this are refused (413) before they are read in full. GitHub caps payloads at 25 MB; a PR event is a few tens of KB. */
export const GITHUB_WEBHOOK_BODY_LIMIT = 5 * 1024 * 1024;

/** What sending the signal came to: delivered, or no running lifecycle has that id (never started, or finished). */
export type SignalOutcome = 'signalled' | 'not-found';

/** What the endpoint needs; every part is injected, so tests drive it without Temporal. */
export interface GitHubWebhookDeps {
  /** GITHUB_WEBHOOK_SECRET; without it every delivery is refused (503): an unsigned one is never accepted. */
  webhookSecret: (() => string | undefined) | undefined;
  /**
   * Sends `pullRequestClosed` to the lifecycle with this workflow id. Resolves `not-found` when
   * there is no running one; throws when Temporal cannot be reached (the delivery gets 503).
   */
  signal(workflowId: string, payload: PullRequestClosed): Promise<SignalOutcome>;
  deliveries?: DeliveryGuard;
  nowMs?: () => number;
  /** One line per refused or handled delivery; never a header value, body, secret or signature. */
  log?: (line: string) => void;
  bodyLimit?: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const headerOf = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined; // a repeated header is not one we can trust
};

/** GitHub's delivery ids are GUIDs; anything else is refused rather than kept in memory or logged. */
const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT = /^[a-z_]{1,64}$/;

/**
 * `POST /github/webhook`. Every delivery is checked first, before its body is parsed or anything
 * else is done: `X-Hub-Signature-256` over the raw bytes, in constant time; a refused one gets 401
 * and nothing else happens. Then a delivery seen before is answered `{duplicate: true}`; `ping` is
 * answered 200; `pull_request` `closed` on a `driftplane/<unit>/<fingerprint>` branch signals
 * `pullRequestClosed` to `finding:<unit>:<fingerprint>`. Everything else is acknowledged (202) and
 * ignored, so GitHub does not mark it failed.
 */
export function githubWebhook(deps: GitHubWebhookDeps): ServeModule {
  const deliveries = deps.deliveries ?? new DeliveryGuard();
  const now = deps.nowMs ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const bodyLimit = deps.bodyLimit ?? GITHUB_WEBHOOK_BODY_LIMIT;

  const pullRequest = async (payload: Record<string, unknown>, delivery: string): Promise<Answer> => {
    const action = ActionSchema.safeParse(payload);
    const name = action.success ? action.data.action : undefined;
    if (name !== 'closed')
      return {
        status: 202,
        body: { ignored: `pull_request action ${JSON.stringify(name ?? null).slice(0, 64)}` },
      };
    const parsed = PullRequestClosedEventSchema.safeParse(payload);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = fieldOf(issue?.path ?? []);
      return {
        status: 400,
        body: { error: `invalid pull_request delivery: ${field}: ${issue?.message ?? 'invalid'}`, field },
      };
    }
    const e = parsed.data;
    const pr = e.pull_request;
    const findingId = findingIdOfBranch(pr.head.ref);
    if (findingId === undefined) return { status: 202, body: { ignored: 'not a driftplane branch' } };
    // driftplane pushes its branches to the repository itself. A PR from a fork can carry any branch
    // name, and anyone may open and close one: it says nothing about a finding.
    if (pr.head.repo?.full_name !== e.repository.full_name)
      return { status: 202, body: { ignored: 'head branch is not in this repository (a fork)' } };
    const merged = pr.merged === true;
    const signal: PullRequestClosed = {
      number: pr.number,
      merged,
      repo: e.repository.full_name,
      url: pr.html_url,
      by: pr.merged_by?.login ?? e.sender.login,
      at: pr.closed_at,
      // A closed, unmerged PR still has a merge_commit_sha (GitHub's test merge): not a merge commit.
      ...(merged && pr.merge_commit_sha ? { mergeCommit: pr.merge_commit_sha } : {}),
      via: 'github-webhook',
    };
    const workflowId = workflowIdOf(findingId);
    let outcome: SignalOutcome;
    try {
      outcome = await deps.signal(workflowId, signal);
    } catch (err) {
      log(
        `github: delivery ${delivery}: signalling ${workflowId} failed: ${(err as Error).name}: ${(err as Error).message}`,
      );
      return {
        status: 503,
        body: { error: 'Temporal is unreachable: the lifecycle was not told; redeliver this delivery later' },
      };
    }
    if (outcome === 'not-found') {
      log(`github: delivery ${delivery}: no running lifecycle ${workflowId}`);
      return { status: 202, body: { ignored: 'no running lifecycle for this finding', workflowId } };
    }
    log(
      `github: delivery ${delivery}: PR #${pr.number} ${merged ? 'merged' : 'closed'}, signalled ${workflowId}`,
    );
    return { status: 200, body: { signalled: workflowId, merged } };
  };

  const handle = async (
    req: FastifyRequest,
    raw: Buffer,
    event: string,
    delivery: string,
  ): Promise<Answer> => {
    let payload: Record<string, unknown>;
    try {
      payload = webhookPayload(raw, headerOf(req, 'content-type'));
    } catch (err) {
      if (!(err instanceof GitHubPayloadError)) throw err;
      return { status: err.status, body: { error: err.message } };
    }
    if (event === 'ping') return { status: 200, body: { ok: true } };
    if (event === 'pull_request') return pullRequest(payload, delivery);
    return { status: 202, body: { ignored: `event ${event}` } };
  };

  return {
    name: 'github',
    register(app) {
      // Keep every body as raw bytes in this scope: the signature is over the exact bytes sent.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
      app.post(GITHUB_WEBHOOK_PATH, { bodyLimit }, async (req, reply) => {
        const secret = deps.webhookSecret?.();
        if (!secret) return reply.code(503).send({ error: 'GitHub webhook secret not configured' });
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const signature = headerOf(req, GITHUB_SIGNATURE_HEADER);
        try {
          verifyGitHubSignature({ secret, signature, rawBody: raw });
        } catch (err) {
          if (!(err instanceof GitHubSignatureError)) throw err;
          log(`github: refused a delivery (${err.refusal})`);
          return reply.code(401).send({ error: 'invalid GitHub signature' });
        }
        const event = headerOf(req, 'x-github-event');
        const delivery = headerOf(req, 'x-github-delivery');
        if (!event || !EVENT.test(event))
          return reply.code(400).send({ error: 'missing or invalid X-GitHub-Event header' });
        if (!delivery || !DELIVERY_ID.test(delivery))
          return reply.code(400).send({ error: 'missing or invalid X-GitHub-Delivery header' });
        const keys = [`delivery:${delivery}`, `signature:${(signature as string).trim().toLowerCase()}`];
        const admission = deliveries.begin(keys, now());
        if (admission === 'duplicate') {
          log(`github: delivery ${delivery}: duplicate, ignored`);
          return reply.code(200).send({ duplicate: true });
        }
        if (admission === 'in-progress')
          return reply
            .code(409)
            .send({ error: 'this delivery is being handled; redeliver it later if it fails' });
        let answer: Answer;
        try {
          answer = await handle(req, raw, event, delivery);
        } catch (err) {
          deliveries.finish(keys, false);
          throw err;
        }
        // Only a handled delivery is remembered: a failed one (503) is handled again when redelivered.
        deliveries.finish(keys, answer.status < 300);
        return reply.code(answer.status).send(answer.body);
      });
    },
  };
}
