import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { signWithSshKey } from '../../cli/ssh-sign';
import {
  ApprovalRefused,
  checkApproval,
  type ApprovalContext,
  type ApproverIdentity,
  type IdentityContext,
} from '../../domain/lifecycle';
import { utf8 } from '../../domain/signing/bytes';
import {
  parseSshPublicKey,
  parseSshSignature,
  SSH_NAMESPACE,
  verifySshSignature,
} from '../../domain/signing/ssh';
import {
  canonicalStatement,
  ed25519KeyId,
  ed25519PublicKey,
  signStatementEd25519,
  verifyStatementSignature,
  type ApprovalStatement,
  type SignedStatement,
} from '../../domain/signing/statement';
import { toBase64 } from '../../domain/signing/bytes';
import { createRegistryPolicySource } from '../../activities/lifecycle/registry-policy';
import { provisionApproverKeys } from '../../cli/approver-keys';
import type { DriftObservation } from '../../domain/finding';
import type { LifecycleDecision } from '../../domain/lifecycle';
import { loadConfig } from '../../workers/config';
import { createStatementSigner } from '../../workers/signing-keys';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const FINDING = 'checkout-web-prod:760c28255832dc80';
const NOW = Date.parse('2026-12-03T12:00:00Z');

let dir: string;
const key = async (name: string, type = 'ed25519') => {
  const file = path.join(dir, name);
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-C',
    `${name}@acme.example`,
    '-f',
    file,
  ]);
  return { file, pub: (await readFile(`${file}.pub`, 'utf8')).trim() };
};
let maria: { file: string; pub: string };
let mallory: { file: string; pub: string };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-sign-'));
  maria = await key('maria');
  mallory = await key('mallory');
});

const statement = (over: Partial<ApprovalStatement> = {}): ApprovalStatement => ({
  v: 1,
  findingId: FINDING,
  answer: 'approved',
  approver: 'maria.lopez@acme.example',
  reason: 'revert to the digest in Git',
  issuedAt: new Date(NOW - 60_000).toISOString(),
  channel: 'cli',
  ...over,
});

describe('SSH signatures (ssh-keygen -Y sign)', () => {
  it('parses a public key and gives the fingerprint ssh-keygen -l prints', async () => {
    const parsed = parseSshPublicKey(maria.pub);
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${maria.file}.pub`]);
    expect(parsed?.fingerprint).toBe(stdout.split(' ')[1]);
    expect(parseSshPublicKey('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ')).toBeUndefined();
  });

  it('verifies what ssh-keygen signed, and agrees with ssh-keygen -Y verify on valid and altered messages', async () => {
    const signed = await signWithSshKey(maria.file, statement());
    expect(signed.signer).toEqual({
      kind: 'ssh',
      keyId: parseSshPublicKey(maria.pub)!.fingerprint,
      publicKey: parseSshPublicKey(maria.pub)!.line,
    });
    const allowed = path.join(dir, 'allowed_signers');
    await writeFile(allowed, `maria.lopez@acme.example namespaces="${SSH_NAMESPACE}" ${maria.pub}\n`);
    const sigFile = path.join(dir, 'statement.sig');
    await writeFile(sigFile, `${signed.signature}\n`);
    const sshVerify = (message: string) =>
      new Promise<boolean>((resolve) => {
        const child = execFile(
          'ssh-keygen',
          [
            '-Y',
            'verify',
            '-f',
            allowed,
            '-I',
            'maria.lopez@acme.example',
            '-n',
            SSH_NAMESPACE,
            '-s',
            sigFile,
          ],
          (err) => resolve(!err),
        );
        child.stdin?.end(message);
      });
    const good = canonicalStatement(signed.statement);
    const altered = canonicalStatement({ ...signed.statement, reason: 'keep it' });
    expect(await sshVerify(good)).toBe(true);
    expect(verifySshSignature(signed.signature, utf8(good)).ok).toBe(true);
    expect(await sshVerify(altered)).toBe(false);
    expect(verifySshSignature(signed.signature, utf8(altered)).ok).toBe(false);
    expect(verifySshSignature(signed.signature, utf8(good), 'git').ok).toBe(false);
    expect(verifyStatementSignature(signed)).toEqual({ ok: true });
    expect(
      verifyStatementSignature({ ...signed, statement: { ...signed.statement, findingId: 'other:1' } }).ok,
    ).toBe(false);
    // Naming another key than the one that signed fails even though the signature itself is sound.
    const other = parseSshPublicKey(mallory.pub)!;
    expect(
      verifyStatementSignature({
        ...signed,
        signer: { kind: 'ssh', keyId: other.fingerprint, publicKey: other.line },
      }).ok,
    ).toBe(false);
  });

  it('refuses a key that is not Ed25519 with a message that says so', async () => {
    const rsa = await key('rsa', 'rsa');
    await expect(signWithSshKey(rsa.file, statement())).rejects.toThrow(/Ed25519/);
  });

  it('rejects malformed armor', () => {
    expect(
      parseSshSignature('-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----'),
    ).toBeUndefined();
    expect(parseSshSignature('not a signature')).toBeUndefined();
  });
});

describe('server statements (Ed25519)', () => {
  const secret = new Uint8Array(randomBytes(32));
  const pub = ed25519PublicKey(secret);
  it('sign and verify; any changed field or a foreign key id fails', () => {
    const signed = signStatementEd25519(statement({ channel: 'slack', approver: 'U04MARIA' }), secret);
    expect(signed.signer).toEqual({ kind: 'ed25519', keyId: ed25519KeyId(pub), publicKey: toBase64(pub) });
    expect(verifyStatementSignature(signed).ok).toBe(true);
    for (const field of ['findingId', 'approver', 'reason', 'issuedAt', 'channel'] as const) {
      const changed = {
        ...signed,
        statement: {
          ...signed.statement,
          [field]: field === 'issuedAt' ? new Date(NOW).toISOString() : `${signed.statement[field]}x`,
        },
      };
      expect(verifyStatementSignature(changed).ok, field).toBe(false);
    }
    expect(
      verifyStatementSignature({ ...signed, statement: { ...signed.statement, answer: 'rejected' } }).ok,
    ).toBe(false);
    expect(
      verifyStatementSignature({ ...signed, signer: { ...signed.signer, keyId: 'ed25519:0000000000000000' } })
        .ok,
    ).toBe(false);
  });
});

describe('checkApproval with signed answers', () => {
  const serverSecret = new Uint8Array(randomBytes(32));
  const serverPub = ed25519PublicKey(serverSecret);
  const trust = [{ id: ed25519KeyId(serverPub), publicKey: toBase64(serverPub), channels: ['slack'] }];
  let approvers: ApproverIdentity[];
  let valid: SignedStatement;
  beforeAll(async () => {
    approvers = [
      { email: 'maria.lopez@acme.example', slackUserId: 'U04MARIA', sshPublicKeys: [maria.pub] },
      { email: 'priya.nair@acme.example' },
    ];
    valid = await signWithSshKey(maria.file, statement());
  });
  const ctx = (identity: Partial<IdentityContext> = {}): ApprovalContext => ({
    awaiting: true,
    approvers,
    identity: {
      findingId: FINDING,
      answer: 'approved',
      now: NOW,
      trust,
      allowUnauthenticated: false,
      ...identity,
    },
  });
  const input = (s?: SignedStatement) => ({
    approver: 'maria.lopez@acme.example',
    reason: 'revert to the digest in Git',
    via: 'cli',
    ...(s ? { statement: s } : {}),
  });
  const refusal = (raw: unknown, c: ApprovalContext) => {
    try {
      checkApproval(raw, c);
    } catch (err) {
      return err instanceof ApprovalRefused ? err.code : String(err);
    }
    return 'accepted';
  };

  it('accepts a valid SSH-signed answer and returns its statement and channel', () => {
    expect(checkApproval(input(valid), ctx())).toMatchObject({
      approver: 'maria.lopez@acme.example',
      via: 'cli',
      authenticated: true,
      statement: valid,
    });
  });

  it('accepts a Slack answer signed by a trusted server key, only for the channels the key may vouch for', () => {
    const slack = signStatementEd25519(statement({ channel: 'slack', approver: 'U04MARIA' }), serverSecret);
    expect(refusal({ ...input(slack), approver: 'U04MARIA' }, ctx())).toBe('accepted');
    const dashboard = signStatementEd25519(statement({ channel: 'dashboard' }), serverSecret);
    expect(refusal(input(dashboard), ctx())).toBe('untrusted-key');
    const rogue = signStatementEd25519(statement({ channel: 'slack' }), new Uint8Array(randomBytes(32)));
    expect(refusal(input(rogue), ctx())).toBe('untrusted-key');
  });

  it.each([
    ['no statement on a unit that requires one', () => input(), 'unsigned'],
    [
      'a statement for another finding',
      () => input({ ...valid, statement: { ...valid.statement, findingId: 'other-unit:0000' } }),
      'statement-mismatch',
    ],
    [
      'a reason other than the one signed',
      () => ({ ...input(valid), reason: 'something else' }),
      'statement-mismatch',
    ],
    [
      'a forged statement (reason changed after signing)',
      () => ({
        ...input({ ...valid, statement: { ...valid.statement, reason: 'forged' } }),
        reason: 'forged',
      }),
      'bad-signature',
    ],
    [
      'another approver named than the one signed',
      () => ({ ...input(valid), approver: 'priya.nair@acme.example' }),
      'statement-mismatch',
    ],
  ])('refuses %s', (_what, raw, code) => {
    expect(refusal(raw(), ctx())).toBe(code);
  });

  it('refuses a key not registered for the approver, a stale or future statement, and the wrong answer', async () => {
    const byMallory = await signWithSshKey(mallory.file, statement());
    expect(refusal(input(byMallory), ctx())).toBe('untrusted-key');
    expect(refusal(input(valid), ctx({ now: NOW + 15 * 60_000 }))).toBe('statement-expired');
    expect(refusal(input(valid), ctx({ now: NOW - 5 * 60_000 }))).toBe('statement-expired');
    expect(refusal(input(valid), ctx({ answer: 'rejected' }))).toBe('statement-mismatch');
  });

  it('lets an unsigned answer count only where policy allows it, and without identity context behaves as before', () => {
    expect(checkApproval(input(), ctx({ allowUnauthenticated: true }))).toMatchObject({
      authenticated: false,
      via: 'cli',
    });
    const { identity: _none, ...old } = ctx();
    expect(checkApproval(input(), old)).toEqual({
      approver: 'maria.lopez@acme.example',
      reason: 'revert to the digest in Git',
      via: 'cli',
    });
  });
});

describe('server keys (driftplane keys)', () => {
  it('creates the current and next keys 0600 on first use, signs with the current one, and rotates without stranding lifecycles', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-keys-'));
    const signer = createStatementSigner({ home });
    const trustedAtStart = signer.trust().keys.map((k) => k.id);
    expect(trustedAtStart).toHaveLength(2);
    expect((await stat(path.join(home, 'signing.key'))).mode & 0o777).toBe(0o600);
    const before = signer.sign({
      findingId: FINDING,
      answer: 'approved',
      approver: 'U04MARIA',
      reason: 'ok',
      channel: 'slack',
    });
    expect(before.signer.keyId).toBe(trustedAtStart[0]);
    expect(() =>
      signer.sign({
        findingId: FINDING,
        answer: 'approved',
        approver: 'U04MARIA',
        reason: 'ok',
        channel: 'cli',
      }),
    ).toThrow(/not cli/);

    const after = signer.rotate(new Date(NOW));
    expect(after.map((k) => [k.role, k.id])).toEqual([
      ['current', trustedAtStart[1]],
      ['next', expect.not.stringMatching(new RegExp(`${trustedAtStart[0]}|${trustedAtStart[1]}`))],
      ['retired', trustedAtStart[0]],
    ]);
    // A lifecycle started before the rotation trusts the new current key: it was the next one.
    expect(trustedAtStart).toContain(
      signer.sign({
        findingId: FINDING,
        answer: 'approved',
        approver: 'U04MARIA',
        reason: 'ok',
        channel: 'slack',
      }).signer.keyId,
    );
    // What was signed before still verifies on its own (the public key is in the statement).
    expect(verifyStatementSignature(before).ok).toBe(true);
  });

  it('uses DRIFTPLANE_SIGNING_KEY when set, and refuses to rotate it', () => {
    const key = randomBytes(32);
    const signing = loadConfig({
      DRIFTPLANE_HOME: os.tmpdir(),
      DRIFTPLANE_SIGNING_KEY: key.toString('hex'),
    }).signing;
    const signer = createStatementSigner(signing);
    expect(signer.trust().keys).toEqual([
      {
        id: ed25519KeyId(ed25519PublicKey(key)),
        publicKey: toBase64(ed25519PublicKey(key)),
        channels: ['slack', 'dashboard'],
      },
    ]);
    expect(() => signer.rotate()).toThrow(/DRIFTPLANE_SIGNING_KEY/);
  });
});

describe('routing: who may answer unauthenticated', () => {
  it('production units require signed answers unless their policy allows otherwise; approvers carry their SSH keys', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-route-'));
    const keyed = await provisionApproverKeys(path.join(repoRoot, 'registry', 'examples', 'acme'), dir);
    const decision = {
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'HIGH',
      recommendedAction: 'INCIDENT_AND_REVERT',
    } as LifecycleDecision;
    const route = (unit: string, registryDir = keyed.registryDir) =>
      createRegistryPolicySource({ registryDir }).route(
        { unit, resourceRef: 'Deployment/x/y' } as DriftObservation,
        decision,
      );
    const prod = await route('checkout-web-prod');
    expect(prod.allowUnauthenticated).toBe(false);
    expect(prod.approvers.find((a) => a.email === 'maria.lopez@acme.example')?.sshPublicKeys?.[0]).toMatch(
      /^ssh-ed25519 /,
    );
    expect((await route('catalog-web-staging')).allowUnauthenticated).toBe(true);

    const units = path.join(keyed.registryDir, 'units');
    for (const f of await readdir(units)) {
      const text = await readFile(path.join(units, f), 'utf8');
      if (text.includes('name: checkout-web-prod'))
        await writeFile(
          path.join(units, f),
          text.replace(/(\n {2}policies:\n)/, '$1    allowUnauthenticatedApprovals: true\n'),
        );
    }
    expect((await route('checkout-web-prod')).allowUnauthenticated).toBe(true);
  });
});
