/**
 * Approvers with SSH keys for tests: the example registry copied once per test process with an
 * Ed25519 key pair per person (real ssh-keygen), so answers on production units can be signed as
 * `driftplane approve --key` signs them. No test runner needed (the record-histories script uses it).
 */
import type { Client } from '@temporalio/client';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { answerFinding as answerFindingAs } from '../../cli/answer-finding';
import { provisionApproverKeys, type KeyedRegistry } from '../../cli/approver-keys';
import { signWithSshKey } from '../../cli/ssh-sign';
import type { SignedStatement } from '../../domain/signing/statement';
import { repoRoot } from './shared-fixtures';

let keyed: Promise<KeyedRegistry> | undefined;

/** registry/examples/acme with every member's SSH public key registered; private keys in a temporary folder. */
export function keyedAcmeRegistry(): Promise<KeyedRegistry> {
  return (keyed ??= mkdtemp(path.join(os.tmpdir(), 'driftplane-approvers-')).then((dir) =>
    provisionApproverKeys(path.join(repoRoot, 'registry', 'examples', 'acme'), dir),
  ));
}

/** The private key of a person of the keyed registry (by e-mail, Slack id or GitHub login); undefined for strangers. */
export async function sshKeyOf(identity: string): Promise<string | undefined> {
  return (await keyedAcmeRegistry()).keyFor(identity);
}

/**
 * `answerFinding` as the CLI calls it with `--key`: signed with the approver's own key when the
 * registry knows them; a stranger's answer goes unsigned (and is refused for what it is).
 */
export async function answerFinding(
  client: Client,
  idOrWorkflowId: string,
  answer: 'approve' | 'reject',
  input: { approver: string; reason: string },
  waitMs?: number,
): ReturnType<typeof answerFindingAs> {
  const sshKey = await sshKeyOf(input.approver);
  return answerFindingAs(client, idOrWorkflowId, answer, { ...input, ...(sshKey ? { sshKey } : {}) }, waitMs);
}

/** An answer payload signed with the person's key, as the CLI sends it (for raw Updates and signals in tests). */
export async function signedAnswer(
  findingId: string,
  answer: 'approved' | 'rejected',
  input: { approver: string; reason: string; issuedAt?: Date },
): Promise<{ approver: string; reason: string; via: 'cli'; statement: SignedStatement }> {
  const sshKey = await sshKeyOf(input.approver);
  if (!sshKey) throw new Error(`no SSH key for ${input.approver} in the keyed registry`);
  const statement = await signWithSshKey(sshKey, {
    v: 1,
    findingId,
    answer,
    approver: input.approver,
    reason: input.reason,
    issuedAt: (input.issuedAt ?? new Date()).toISOString(),
    channel: 'cli',
  });
  return { approver: input.approver, reason: input.reason, via: 'cli', statement };
}
