import { SignedStatementSchema, verifyStatementSignature } from '../domain/signing/statement';
import { visible } from '../domain/terminal-text';

/** An answer as an approval record holds it (workflows/messages.ts AnswerRecord), read from a file anyone could have edited. */
interface StoredAnswer {
  answer?: unknown;
  reason?: unknown;
  authenticated?: unknown;
  statement?: unknown;
}

/**
 * Checks the signed statements of an `approval` evidence record: each must verify under the key
 * it names (the public key is in the record, so no driftplane database is trusted), be for this
 * finding, and say what the record says was answered and why. An answer recorded as authenticated
 * must carry its statement. Returns one problem per failure, naming the file and the field.
 */
export function statementProblems(file: string, findingId: string, data: unknown): string[] {
  const d = (data ?? {}) as { kind?: unknown; answer?: StoredAnswer; approvals?: StoredAnswer[] };
  if (d.kind !== 'person') return [];
  const answers: [string, StoredAnswer][] = [];
  if (d.answer) answers.push(['data.answer', d.answer]);
  (Array.isArray(d.approvals) ? d.approvals : []).forEach((a, i) =>
    answers.push([`data.approvals[${i}]`, a]),
  );
  const problems: string[] = [];
  for (const [field, a] of answers) {
    if (a.statement === undefined) {
      if (a.authenticated === true)
        problems.push(`${file}: field ${field} is recorded as authenticated but carries no signed statement`);
      continue;
    }
    const parsed = SignedStatementSchema.safeParse(a.statement);
    if (!parsed.success) {
      problems.push(
        `${file}: field ${field}.statement is not a signed statement (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`,
      );
      continue;
    }
    const s = parsed.data;
    const verified = verifyStatementSignature(s);
    if (!verified.ok)
      problems.push(
        `${file}: field ${field}.statement: signature by ${s.signer.keyId} does not verify (${verified.why})`,
      );
    if (s.statement.findingId !== findingId)
      problems.push(
        `${file}: field ${field}.statement is for finding ${s.statement.findingId}, not ${findingId}`,
      );
    if (s.statement.answer !== a.answer)
      problems.push(
        `${file}: field ${field}.answer is ${String(a.answer)}, but the signed statement says ${s.statement.answer}`,
      );
    if (visible(s.statement.reason.trim()) !== a.reason)
      problems.push(`${file}: field ${field}.reason is not the reason that was signed`);
  }
  return problems;
}
