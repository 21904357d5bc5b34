import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkHotfixOpening, hotfixPartiesOf, hotfixWindowId, hotfixWindowsQuery, isDeclaredActor, ResolveFindingSchema, type HotfixParties } from '../../domain/hotfix';
import { loadRegistryOrThrow, type Registry } from '../../registry';
import { repoRoot } from '../support/shared-fixtures';

let registry: Registry;
let parties: HotfixParties;
beforeAll(async () => {
  registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
  parties = hotfixPartiesOf(registry, 'payments-prod-network');
});

describe('hotfix windows: who is the declared break-glass actor', () => {
  // elena.rossi acts as the IAM user elena.rossi and the role sessions erossi-breakglass / her e-mail.
  it.each([
    ['the same e-mail, other case and spaces', ' Elena.Rossi@acme.example ', ['elena.rossi@acme.example'], true],
    ['an assumed-role session of hers', 'arn:aws:sts::111122223333:assumed-role/acme-break-glass/erossi-breakglass', ['elena.rossi@acme.example'], true],
    ['her IAM user name', 'elena.rossi', ['elena.rossi@acme.example'], true],
    ['a session of the declared role', 'arn:aws:sts::111122223333:assumed-role/acme-break-glass/someone', ['arn:aws:iam::111122223333:role/acme-break-glass'], true],
    ['another person', 'noah.fischer@acme.example', ['elena.rossi@acme.example'], false],
    ['the same role name in another account', 'arn:aws:sts::999999999999:assumed-role/acme-break-glass/x', ['arn:aws:iam::111122223333:role/acme-break-glass'], false],
    ['a stranger', 'mallory@evil.example', ['elena.rossi@acme.example'], false],
  ])('%s', (_what, actor, declared, expected) => {
    expect(isDeclaredActor(actor, declared, parties.people)).toBe(expected);
  });
});

describe('hotfix windows: who may be declared and who may open one', () => {
  it('accepts a listed approver of the unit as actor, opened by another approver', () => {
    expect(checkHotfixOpening(registry, { unit: 'payments-prod-network', actors: ['elena.rossi@acme.example'], openedBy: 'noah.fischer@acme.example' })).toEqual([]);
  });

  it('refuses a person who is not an approver, an opener outside the team, and an unknown unit', () => {
    expect(checkHotfixOpening(registry, { unit: 'checkout-web-prod', actors: ['dave.kim@acme.example'], openedBy: 'maria.lopez@acme.example' })).toEqual([
      'dave.kim@acme.example is neither a listed approver of the unit nor a break-glass role of its owning team',
    ]);
    expect(checkHotfixOpening(registry, { unit: 'checkout-web-prod', actors: ['maria.lopez@acme.example'], openedBy: 'noah.fischer@acme.example' })[0]).toMatch(/may not open a window/);
    expect(checkHotfixOpening(registry, { unit: 'nope', actors: ['x'], openedBy: 'y' })).toEqual(['unit nope is not in the registry']);
  });

  it('accepts a break-glass role the checkout unit holds', () => {
    expect(checkHotfixOpening(registry, { unit: 'checkout-web-prod', actors: ['arn:aws:iam::111122223333:role/acme-break-glass'], openedBy: 'dave.kim@acme.example' })).toEqual([]);
  });
});

describe('hotfix windows: ids, queries and messages', () => {
  it('derives the window id and quotes visibility values', () => {
    expect(hotfixWindowId('checkout-web-prod', 'INC-9127')).toBe('hotfix:checkout-web-prod:INC-9127');
    expect(hotfixWindowsQuery({ unit: "a'b", running: true })).toBe("WorkflowType = 'hotfixWindow' AND Unit = 'a\\'b' AND ExecutionStatus = 'Running'");
  });

  it.each([
    [{ findingId: 'f', resolution: 'pr', reference: 'https://x/pull/1', by: 'a', reason: 'r' }, true],
    [{ findingId: 'f', resolution: 'pr', by: 'a', reason: 'r' }, false],
    [{ findingId: 'f', resolution: 'accepted', by: 'a', reason: 'r' }, true],
    [{ findingId: 'f', resolution: 'accepted', by: 'a', reason: ' ' }, false],
    [{ findingId: 'f', resolution: 'revert', by: 'a', reason: 'r' }, false],
  ])('resolveFinding %j valid: %s', (input, ok) => {
    expect(ResolveFindingSchema.safeParse(input).success).toBe(ok);
  });
});
