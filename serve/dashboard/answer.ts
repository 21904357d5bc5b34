import { findingIdFromAny } from '../../domain/finding';
/**
 * `POST /findings/:id/answer`: approve or reject a finding from the dashboard. The approver is the
 * registry person behind the signed-in session (OIDC, or the local-development user), never a name
 * from the form; the answer carries a statement signed with the server's key for the `dashboard`
 * channel, and the lifecycle's validator has the last word (approver rights, quorum, not the
 * person who caused the drift).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AnswerQueued } from '../../cli/answer-queued';
import { InputError, ToolError } from '../../domain/errors';
import type { ApprovalInput } from '../../domain/lifecycle';
import { serverStatementOf, type ApprovalStatement, type SignedStatement } from '../../domain/signing/statement';
import type { AnswerAccepted } from '../../workflows/messages';
import { authPage, link } from './auth-pages';
import type { DashboardUser } from './session';

/** The Update input an answer from the dashboard becomes. */
export type DashboardAnswerInput = ApprovalInput & { statement?: SignedStatement };

/** Sends the approve/reject Update to the finding's lifecycle and waits for the validator (cli/answer-finding.ts). */
export type AnswerSender = (
  findingId: string,
  answer: 'approve' | 'reject',
  input: DashboardAnswerInput,
) => Promise<AnswerAccepted>;

/** An answer as the dashboard proved it: the registry person behind the session. */
export interface VerifiedDashboardAnswer {
  findingId: string;
  answer: 'approve' | 'reject';
  /** The registry person's e-mail (as the registry spells it). */
  approver: string;
  reason: string;
  issuedAt: Date;
}

/**
 * The approve/reject Update input of a dashboard answer: `via: 'dashboard'` and a statement over
 * (finding, answer, approver, reason, issued-at, channel `dashboard`) signed with the server's key.
 */
export function buildDashboardAnswer(
  a: VerifiedDashboardAnswer,
  sign: (s: ApprovalStatement) => SignedStatement,
): DashboardAnswerInput {
  return {
    approver: a.approver,
    reason: a.reason,
    via: 'dashboard',
    statement: sign(serverStatementOf(a, 'dashboard')),
  };
}

/** What the answer route needs from sign-in and the rest of the server. */
export interface AnswerRouteDeps {
  mode: 'oidc' | 'dev' | 'off';
  userOf(req: FastifyRequest): (DashboardUser & { sid: string }) | undefined;
  checkCsrf(sid: string, given: unknown): boolean;
  /** The registry person with this e-mail (compared lower-cased), or undefined. */
  personByEmail(email: string): Promise<string | undefined>;
  sign: (s: ApprovalStatement) => SignedStatement;
  answer: AnswerSender;
  now: () => Date;
  log: (line: string) => void;
}

/** The largest form the route reads. */
export const ANSWER_BODY_LIMIT = 16 * 1024;

const html = (reply: FastifyReply, status: number, body: string) =>
  reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(body);

/** The finding page of an id, as a path. */
export function findingPath(id: string): string {
  return `/findings/${encodeURIComponent(id)}`;
}

/** Handles `POST /findings/:id/answer` (the form body is already parsed to a record of first values). */
export async function handleAnswer(
  deps: AnswerRouteDeps,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  // The dashboard links findings by their id; a workflow id (`finding:…`) names the same finding.
  const id = findingIdFromAny((req.params as { id?: string }).id ?? '');
  if (!id || id.length > 400 || /\p{Cc}/u.test(id))
    return html(reply, 404, authPage('No such finding', ['The finding id in the address is not valid.']));
  if (deps.mode === 'off') {
    return html(
      reply,
      403,
      authPage('Answering needs sign-in', [
        'This dashboard has no sign-in configured, so it shows findings but cannot take answers.',
        'To answer here, configure OIDC sign-in (DRIFTPLANE_OIDC_ISSUER, DRIFTPLANE_OIDC_CLIENT_ID, DRIFTPLANE_OIDC_CLIENT_SECRET_FILE and DRIFTPLANE_DASHBOARD_URL), or, on your own machine with `driftplane serve` bound to loopback, set DRIFTPLANE_DASHBOARD_DEV_USER to your registry e-mail. Meanwhile `driftplane approve` and Slack take answers.',
      ]),
    );
  }
  const user = deps.userOf(req);
  if (!user) {
    deps.log(`dashboard: refused an answer for ${id}: not signed in`);
    return html(
      reply,
      401,
      authPage(
        'Sign in to answer',
        ['Only a signed-in person can approve or reject. Nothing was recorded.'],
        deps.mode === 'oidc'
          ? `<p>${link(`/auth/login?next=${encodeURIComponent(findingPath(id))}`, 'Sign in')}</p>`
          : '',
      ),
    );
  }
  if (req.headers['sec-fetch-site'] === 'cross-site')
    return html(
      reply,
      403,
      authPage('Refused', ['The answer came from another site. Nothing was recorded.']),
    );
  const form = (req.body ?? {}) as Record<string, string>;
  if (!deps.checkCsrf(user.sid, form.csrf)) {
    deps.log(`dashboard: refused an answer for ${id} from ${user.email}: bad CSRF token`);
    return html(
      reply,
      403,
      authPage(
        'Refused',
        [
          'The form is stale or did not come from this dashboard (CSRF check). Reload the finding page and answer again. Nothing was recorded.',
        ],
        `<p>${link(findingPath(id), 'Back to the finding')}</p>`,
      ),
    );
  }
  const answer = form.answer;
  if (answer !== 'approve' && answer !== 'reject')
    return html(
      reply,
      422,
      authPage('Invalid answer', ['The answer must be approve or reject. Nothing was recorded.']),
    );
  // One line, like Slack: the lifecycle stores line breaks escaped and the signed statement carries the reason as stored.
  const reason = (form.reason ?? '').replace(/[\r\n\t]+/g, ' ').trim();
  if (!reason)
    return html(
      reply,
      422,
      authPage(
        'A reason is required',
        ['Say why you approve or reject: the reason is recorded with your answer. Nothing was recorded.'],
        `<p>${link(findingPath(id), 'Back to the finding')}</p>`,
      ),
    );

  const person = await deps.personByEmail(user.email);
  if (!person) {
    deps.log(`dashboard: refused an answer for ${id}: ${user.email} is not a person in the registry`);
    return html(
      reply,
      403,
      authPage('Not a person in the registry', [
        `You are signed in as ${user.email}, which is not a person in the registry: ask the platform team to add you to your team's members. Nothing was recorded.`,
      ]),
    );
  }
  const input = buildDashboardAnswer(
    { findingId: id, answer, approver: person, reason, issuedAt: deps.now() },
    deps.sign,
  );
  try {
    const accepted = await deps.answer(id, answer, input);
    deps.log(`dashboard: ${accepted.answer} ${accepted.findingId} as ${accepted.approver}`);
    return reply
      .code(303)
      .header('location', `${findingPath(id)}?answered=${answer}`)
      .header('cache-control', 'no-store')
      .send();
  } catch (err) {
    return answerFailure(reply, id, err, deps.log);
  }
}

/** The page when the lifecycle did not take the answer: the validator's reason, escaped. */
function answerFailure(
  reply: FastifyReply,
  id: string,
  err: unknown,
  log: (line: string) => void,
): FastifyReply {
  const back = `<p>${link(findingPath(id), 'Back to the finding')}</p>`;
  if (err instanceof AnswerQueued)
    return html(
      reply,
      202,
      authPage(
        'Answer queued',
        [
          'Temporal holds your answer, but no driftplane worker has validated it yet. The finding page shows it once a worker runs.',
        ],
        back,
      ),
    );
  if (err instanceof InputError) {
    if (err.location.field === 'findingId')
      return html(
        reply,
        404,
        authPage(
          'No running lifecycle',
          [`${err.message.replace(/^field [^:]*: /, '')}. Nothing was recorded.`],
          back,
        ),
      );
    // The validator's own words, without the CLI's "field --as/--reason:" prefix.
    const why = err.message.replace(/^field [^:]*: /, '');
    log(`dashboard: the lifecycle refused an answer for ${id}`);
    return html(reply, 409, `${authPage('Refused', [`Refused: ${why}.`, 'Nothing was recorded.'], back)}`);
  }
  const e = err as Error;
  log(`dashboard: answering ${id} failed: ${e.name}: ${e.message}`);
  const msg = err instanceof ToolError ? e.message : `${e.name}`;
  return html(
    reply,
    503,
    authPage(
      'Could not record your answer',
      [`driftplane could not reach the lifecycle (${msg}). Nothing was recorded; try again.`],
      back,
    ),
  );
}
