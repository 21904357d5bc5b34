import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { signWithSshKey } from '../../cli/ssh-sign';
import { signStatementEd25519, type SignedStatement } from '../../domain/signing/statement';
import { canonicalJson, EvidenceStore, type EvidenceRecord } from '../../evidence/evidence-store';
import { approve, reject, type AnswerRecord, type LifecycleState } from '../../workflows/messages';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { createStatementSigner } from '../../workers/signing-keys';
import { signedAnswer, sshKeyOf } from '../support/approver-keys';
import { awaitingApproval, useDevServerWorker, waitForState } from '../support/lifecycle-harness';
import { repoRoot } from '../support/shared-fixtures';

const APPROVER = 'maria.lopez@acme.example';
const UNIT = 'checkout-web-prod';
const t = useDevServerWorker();
const run = promisify(execFile);

async function awaitingLifecycle() {
  await seedDemoSandbox(t.config.planesDir, new Date());
  const r = (await t.env.client.workflow.execute('unitScan', {
    workflowId: `scan:${UNIT}:${Date.now()}:${Math.random()}`,
    taskQueue: t.config.taskQueue,
    args: [{ unit: UNIT }],
  })) as UnitScanResult;
  if (r.status !== 'drift') throw new Error(`expected drift, got ${JSON.stringify(r)}`);
  const f = r.findings[0]!;
  await waitForState(t.env.client, f.workflowId, awaitingApproval);
  return { ...f, handle: t.env.client.workflow.getHandle(f.workflowId) };
}

/** Runs the real `driftplane evidence verify`; resolves with its exit code and stderr. */
async function evidenceVerify(findingId: string): Promise<{ code: number; stderr: string }> {
  try {
    await run(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'driftplane.cjs'),
        'evidence',
        'verify',
        findingId,
        '--dir',
        t.config.evidenceDir,
      ],
      { cwd: repoRoot, timeout: 60_000 },
    );
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

describe('answers prove who gave them (issue 9, identity)', () => {
  it('refuses a missing, forged, unregistered-key, other-finding or untrusted-server statement, leaving no trace in history', async () => {
    const f = await awaitingLifecycle();
    const before = (await f.handle.fetchHistory()).events?.length ?? 0;
    const reason = 'revert to the digest in Git';
    const valid = await signedAnswer(f.findingId, 'approved', { approver: APPROVER, reason });

    const strangerDir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-stranger-'));
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(strangerDir, 'id')]);
    const unregistered = await signWithSshKey(path.join(strangerDir, 'id'), valid.statement.statement);
    const forged: SignedStatement = {
      ...valid.statement,
      statement: { ...valid.statement.statement, reason: 'forged reason' },
    };
    const otherFinding = await signedAnswer('checkout-web-prod:0000000000000000', 'approved', {
      approver: APPROVER,
      reason,
    });
    const rogueServer = signStatementEd25519(
      { ...valid.statement.statement, channel: 'slack' },
      new Uint8Array(randomBytes(32)),
    );

    const attempts: [string, unknown, RegExp][] = [
      ['missing', { approver: APPROVER, reason, via: 'temporal-ui' }, /accepts only signed answers/],
      ['forged', { ...valid, reason: 'forged reason', statement: forged }, /does not verify/],
      [
        'signed by an unregistered key',
        { ...valid, statement: unregistered },
        /is not registered for maria\.lopez@acme\.example/,
      ],
      ['signed for another finding', otherFinding, /another finding/],
      [
        'signed by a server key the lifecycle does not trust',
        { ...valid, via: 'slack', statement: rogueServer },
        /not one this lifecycle trusts/,
      ],
      ['an approval statement sent as a rejection', null, /says approved, not rejected/],
    ];
    for (const [what, args, why] of attempts) {
      const err = await (
        args === null
          ? f.handle.executeUpdate(reject, { args: [valid] })
          : f.handle.executeUpdate(approve, { args: [args as typeof valid] })
      ).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(Error);
      expect(
        `${(err as Error).message} ${((err as Error).cause as Error | undefined)?.message ?? ''}`,
        what,
      ).toMatch(why);
    }

    const history = await f.handle.fetchHistory();
    expect(history.events?.length ?? 0).toBe(before);
    const json = JSON.stringify(history.events);
    expect(json).not.toMatch(/WorkflowExecutionUpdate/i);
    expect(json).not.toContain('forged reason');
    expect((await f.handle.query('state')) as LifecycleState).toMatchObject({ stage: 'approve' });
  });

  it("accepts a Slack answer signed with the server's key, which the lifecycle trusts from its input", async () => {
    const f = await awaitingLifecycle();
    const statement = createStatementSigner(t.config.signing).sign({
      findingId: f.findingId,
      answer: 'rejected',
      approver: 'U04PRIYA',
      reason: 'keep it',
      channel: 'slack',
    });
    await f.handle.executeUpdate(reject, {
      args: [{ approver: 'U04PRIYA', reason: 'keep it', via: 'slack', statement }],
    });
    const s = (await f.handle.result()) as LifecycleState;
    expect(s.outcome).toBe('REJECTED');
    expect(s.answer).toMatchObject({
      approver: 'priya.nair@acme.example',
      via: 'slack',
      authenticated: true,
      statement: { signer: { kind: 'ed25519' } },
    });
    expect(await evidenceVerify(f.findingId)).toEqual({ code: 0, stderr: '' });
  });

  it('accepts a valid SSH-signed answer, keeps the statement in evidence, and `evidence verify` catches an altered statement', async () => {
    const f = await awaitingLifecycle();
    const accepted = await f.handle.executeUpdate(approve, {
      args: [await signedAnswer(f.findingId, 'approved', { approver: 'U04MARIA', reason: 'revert it' })],
    });
    expect(accepted).toMatchObject({ answer: 'approved', approver: APPROVER });
    const s = (await f.handle.result()) as LifecycleState;
    expect(s.outcome).toBe('RECONCILED');
    expect(s.answer).toMatchObject({
      via: 'cli',
      authenticated: true,
      statement: { signer: { kind: 'ssh' } },
    });

    const store = new EvidenceStore(t.config.evidenceDir);
    const approval = (await store.read(f.findingId)).filter((r) => r.step === 'approval').at(-1)!;
    expect((approval.data as { answer: AnswerRecord }).answer.statement?.statement).toMatchObject({
      findingId: f.findingId,
      answer: 'approved',
      approver: 'U04MARIA',
      reason: 'revert it',
      channel: 'cli',
    });
    expect(await evidenceVerify(f.findingId)).toEqual({ code: 0, stderr: '' });

    // Alter the signed reason, then rewrite every hash and link after it: the chain is whole again, only the signature tells.
    const folder = store.folderOf(f.findingId);
    const names = (await readdir(folder)).filter((n) => /^\d{6}-.*\.json$/.test(n)).sort();
    let prevHash: string | undefined;
    for (const name of names) {
      const file = path.join(folder, name);
      const { hash: _old, ...body } = JSON.parse(await readFile(file, 'utf8')) as EvidenceRecord;
      if (body.step === 'approval') {
        const data = body.data as { answer: AnswerRecord; approvals?: AnswerRecord[] };
        for (const a of [data.answer, ...(data.approvals ?? [])]) {
          a.statement!.statement.reason = 'revert it, says someone else';
          a.reason = 'revert it, says someone else';
        }
      }
      if (prevHash !== undefined) body.prevHash = prevHash;
      prevHash = createHash('sha256').update(canonicalJson(body)).digest('hex');
      await writeFile(file, JSON.stringify({ ...body, hash: prevHash }, null, 2));
    }
    const altered = await evidenceVerify(f.findingId);
    expect(altered.code).toBe(1);
    expect(altered.stderr).toMatch(
      /-approval\.json: field data\.answer\.statement: signature by SHA256:\S+ does not verify/,
    );
    expect(altered.stderr).not.toMatch(/field hash does not match|prevHash/);
  });

  it('`driftplane approve` without a key exits 1 saying a production unit needs a signed answer; with --key it is accepted', async () => {
    const f = await awaitingLifecycle();
    const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-nokey-'));
    const env = {
      ...process.env,
      HOME: home,
      DRIFTPLANE_SSH_KEY: '',
      TEMPORAL_ADDRESS: t.config.temporalAddress,
      DRIFTPLANE_HOME: t.config.home,
    };
    const cli = async (...args: string[]) => {
      try {
        const r = await run(process.execPath, [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args], {
          env,
          cwd: repoRoot,
          timeout: 60_000,
        });
        return { code: 0, stdout: r.stdout, stderr: r.stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === 'number' ? e.code : -1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        };
      }
    };
    const unsigned = await cli('approve', f.findingId, '--as', APPROVER, '--reason', 'revert it');
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toMatch(/no SSH key to sign the answer with .*prod.*accepts only signed answers/);
    expect(
      ((await f.handle.fetchHistory()).events ?? []).some(
        (e) => e.workflowExecutionUpdateAcceptedEventAttributes,
      ),
    ).toBe(false);

    const signed = await cli(
      'approve',
      f.findingId,
      '--as',
      APPROVER,
      '--reason',
      'revert it',
      '--key',
      (await sshKeyOf(APPROVER))!,
    );
    expect(signed).toMatchObject({ code: 0, stdout: `approved ${f.findingId} as ${APPROVER}\n` });
    expect(((await f.handle.result()) as LifecycleState).answer).toMatchObject({
      via: 'cli',
      authenticated: true,
    });
    const shown = await cli('show', f.findingId);
    expect(shown.stdout).toMatch(/\n {2}proof {5}maria\.lopez@acme\.example: signed with SSH key SHA256:\S+, issued \S+ via cli\n/);
  });
});
