import type { ApprovalInput } from '../../domain/lifecycle';
import { serverStatementOf, type ApprovalStatement, type SignedStatement } from '../../domain/signing/statement';

/** A person's answer as the Slack endpoint proved it: the registry person behind the signed `user.id`. */
export interface VerifiedSlackAnswer {
  findingId: string;
  answer: 'approve' | 'reject';
  /** The registry person's e-mail, found by the Slack user id of a request whose signature verified. */
  approver: string;
  slackUserId: string;
  reason: string;
  issuedAt: Date;
}

/** The Update input an answer from Slack becomes, with the signed statement when the server can sign. */
export type SlackAnswerInput = ApprovalInput & { statement?: SignedStatement };

/**
 * Builds the approve/reject Update input for an answer that came through Slack: the approver is
 * the registry person the signed Slack user id maps to (never a name from the payload's text),
 * `via: 'slack'`, and, when the server holds a signing key, a statement over (finding, answer,
 * approver, reason, issued-at, channel) signed with it. The one place an answer from Slack is
 * turned into what the lifecycle receives.
 */
export function buildSlackAnswer(
  a: VerifiedSlackAnswer,
  sign?: (s: ApprovalStatement) => SignedStatement,
): SlackAnswerInput {
  const input: SlackAnswerInput = { approver: a.approver, reason: a.reason, via: 'slack' };
  if (sign) {
    input.statement = sign(serverStatementOf(a, 'slack'));
  }
  return input;
}
