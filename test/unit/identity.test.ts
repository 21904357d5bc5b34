import { describe, expect, it } from 'vitest';
import { actorCandidates, normalizeIdentity, resolveActor, type PersonIdentities } from '../../domain/identity';
import { APPROVAL_LIMITS, ApprovalRefused, checkApproval, type ApproverIdentity } from '../../domain/lifecycle';
import { hasInvisible } from '../../domain/terminal-text';
import { resolveDriftActor } from '../../activities/lifecycle/registry-policy';
import { peopleOf } from '../../domain/registry/resolve';
import { loadRegistry } from '../../registry';
import { repoRoot } from '../support/shared-fixtures';
import path from 'node:path';

const maria: PersonIdentities = {
  email: 'maria.lopez@acme.example',
  name: 'Maria Lopez',
  slackUserId: 'U04MARIA',
  githubLogin: 'mlopez',
  identities: {
    iamUserNames: ['maria.lopez'],
    ssoPrincipals: ['9067a0e8d3-1b2c3d4e-maria'],
    roleSessionNames: ['maria.lopez@acme.example', 'mlopez-breakglass'],
    kubernetesUsers: ['maria@acme.example'],
    displayNames: ['M. López'],
  },
};
const dave: PersonIdentities = { email: 'dave.kim@acme.example', name: 'Dave Kim', slackUserId: 'U04DAVE', githubLogin: 'dkim' };
const people = [maria, dave];
const approvers: ApproverIdentity[] = [
  { email: 'maria.lopez@acme.example', slackUserId: 'U04MARIA', githubLogin: 'mlopez', team: 'checkout' },
  { email: 'dave.kim@acme.example', slackUserId: 'U04DAVE', githubLogin: 'dkim', team: 'checkout' },
];

// Every spelling an audit log may use for Maria; each must be refused when Maria approves.
const spellings: [string, string][] = [
  ['IAM user name', 'maria.lopez'],
  ['IAM user ARN with a path', 'arn:aws:iam::111122223333:user/engineering/maria.lopez'],
  ['SSO assumed-role session ARN', 'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/maria.lopez@acme.example'],
  ['break-glass session name', 'arn:aws:sts::111122223333:assumed-role/break-glass/mlopez-breakglass'],
  ['SSO principal id', '9067a0e8d3-1b2c3d4e-maria'],
  ['display name', 'Maria Lopez'],
  ['second display name (NFKC, accents kept)', 'M. López'],
  ['trailing white space', 'maria.lopez@acme.example  '],
  ['upper case', 'MARIA.LOPEZ@ACME.EXAMPLE'],
  ['inner white space and case', '  Maria   LOPEZ '],
  ['zero-width space inside', 'maria.lo\u200bpez'],
  ['fullwidth letters (NFKC)', 'ｍａｒｉａ.ｌｏｐｅｚ'],
  ['Kubernetes OIDC user with prefix', 'oidc:maria@acme.example'],
  ['Slack id', 'u04maria'],
  ['GitHub login', 'MLopez'],
];

describe('actors resolved to people before self-approval is judged', () => {
  it.each(spellings)('%s resolves to Maria', (_what, actor) => {
    expect(resolveActor(actor, people)).toMatchObject({ resolved: true, person: 'maria.lopez@acme.example' });
  });

  it.each(spellings)('%s: Maria may not approve her own drift, under any name she answers as', (_what, actor) => {
    const r = resolveActor(actor, people);
    const actorPerson = r.resolved ? r.person : undefined;
    for (const as of ['maria.lopez@acme.example', 'U04MARIA', 'mlopez', ' Maria.Lopez@Acme.Example ']) {
      expect(() => checkApproval({ approver: as, reason: 'revert' }, { awaiting: true, approvers, driftActor: actor, ...(actorPerson ? { actorPerson } : {}) })).toThrow(
        /caused this drift/,
      );
    }
    // Another approver may.
    expect(checkApproval({ approver: 'dave.kim@acme.example', reason: 'revert' }, { awaiting: true, approvers, driftActor: actor, ...(actorPerson ? { actorPerson } : {}) }).approver).toBe(
      'dave.kim@acme.example',
    );
  });

  it('a name two people share resolves to neither', () => {
    const twin: PersonIdentities = { email: 'maria.lopez2@acme.example', identities: { iamUserNames: ['maria.lopez'] } };
    expect(resolveActor('maria.lopez', [maria, twin])).toMatchObject({ resolved: false, why: expect.stringContaining('shared by 2 people') });
  });

  it('an unknown name is unresolved, and a human actor then needs one more distinct approver', () => {
    const observation = { auditCorrelation: { actor: { id: 'arn:aws:sts::111122223333:assumed-role/ops/jdoe', type: 'human' as const }, source: 'cloudtrail', eventTime: '2026-07-01T10:00:00Z' } };
    const r = resolveDriftActor(observation as never, people, 1);
    expect(r.requiredApprovals).toBe(2);
    expect(r.actor).toMatchObject({ id: observation.auditCorrelation.actor.id, unresolved: 'no person in the registry acts under that name' });
    expect(r.approvalNotes[0]).toMatch(/one more distinct approver/);
    // A controller is not a person: no extra approver.
    const ctrl = resolveDriftActor({ auditCorrelation: { ...observation.auditCorrelation, actor: { id: 'system:serviceaccount:kube-system:hpa', type: 'controller' } } } as never, people, 1);
    expect(ctrl.requiredApprovals).toBe(1);
    // A resolved human: no extra approver, and the person is named.
    const known = resolveDriftActor({ auditCorrelation: { ...observation.auditCorrelation, actor: { id: 'maria.lopez', type: 'human' } } } as never, people, 1);
    expect(known).toMatchObject({ requiredApprovals: 1, actor: { person: 'maria.lopez@acme.example', matched: 'maria.lopez' } });
  });

  it('ARN candidates name the person part', () => {
    expect(actorCandidates('arn:aws:sts::111122223333:assumed-role/Admin/Maria.Lopez')).toEqual(['arn:aws:sts::111122223333:assumed-role/admin/maria.lopez', 'maria.lopez']);
    expect(actorCandidates('arn:aws:iam::111122223333:user/a/b/bob')).toContain('bob');
    expect(normalizeIdentity('\u202eMaria\u202c  Lopez\t')).toBe('maria lopez');
  });

  it('the acme registry gives its people their audit names', async () => {
    const loaded = await loadRegistry(path.join(repoRoot, 'registry', 'examples', 'acme'));
    if (!loaded.ok) throw new Error('acme is invalid');
    const all = peopleOf(loaded.registry);
    expect(resolveActor('elena.rossi', all)).toMatchObject({ resolved: true, person: 'elena.rossi@acme.example' });
    expect(new Set(all.map((p) => p.email)).size).toBe(all.length);
  });
});

describe('answers are bounded and printable', () => {
  const ctx = { awaiting: true, approvers };
  it('refuses a reason over the limit, and an oversized message, without repeating it', () => {
    const big = 'x'.repeat(1_200_000);
    for (const raw of [{ approver: 'dave.kim@acme.example', reason: big }, { approver: big, reason: 'ok' }, { approver: 'dave.kim@acme.example', reason: 'ok', junk: big }]) {
      let err: unknown;
      try {
        checkApproval(raw, ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ApprovalRefused);
      expect((err as Error).message.length).toBeLessThan(200);
    }
    expect(() => checkApproval({ approver: 'dave.kim@acme.example', reason: 'é'.repeat(APPROVAL_LIMITS.reasonBytes / 2 + 1) }, ctx)).toThrow(/longer than 2048 bytes/);
    expect(checkApproval({ approver: 'dave.kim@acme.example', reason: 'é'.repeat(APPROVAL_LIMITS.reasonBytes / 2) }, ctx).reason).toHaveLength(1024);
    expect(() => checkApproval({ approver: 'dave.kim@acme.example', reason: 'x'.repeat(300) }, { ...ctx, maxReasonBytes: 256 })).toThrow(/longer than 256 bytes/);
  });

  it('stores a reason with control and bidi characters in a visible form', () => {
    const r = checkApproval({ approver: 'dave.kim@acme.example', reason: 'ok\x1b[2J\x1b]0;pwned\x07 \u202eLASIC' }, ctx).reason;
    expect(hasInvisible(r)).toBe(false);
    expect(r).toContain('[2J');
  });

  it('counts a person once', () => {
    expect(() => checkApproval({ approver: 'U04DAVE', reason: 'again' }, { ...ctx, alreadyApproved: ['dave.kim@acme.example'] })).toThrow(/already approved/);
  });

  it('escapes the identity it repeats in a refusal', () => {
    expect(() => checkApproval({ approver: '\x1b[2Jevil', reason: 'x' }, ctx)).toThrow(/is not an approver/);
    try {
      checkApproval({ approver: '\x1b[2Jevil', reason: 'x' }, ctx);
    } catch (e) {
      expect((e as Error).message).not.toContain('\x1b');
    }
  });
});
