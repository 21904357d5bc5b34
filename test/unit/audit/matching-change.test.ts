import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { changeKindOf, matchChangeToDrift, type ChangedFile } from '../../../domain/audit/matching-change';
import type { DriftObservation } from '../../../domain/finding';

const web = (image: string, replicas = 3, namespace: string | undefined = 'checkout') =>
  stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', ...(namespace ? { namespace } : {}) }, spec: { replicas, template: { spec: { containers: [{ name: 'web', image }] } } } });
const IMAGE = '/spec/template/spec/containers/0/image';
const o = (diff: DriftObservation['diff'], over: Partial<Pick<DriftObservation, 'resourceRef' | 'relationship'>> = {}) => ({
  resourceRef: 'Deployment/checkout/web',
  relationship: 'desired!=actual' as const,
  diff,
  ...over,
});
const file = (before: string | undefined, after: string | undefined, path = 'apps/checkout/web.yaml'): ChangedFile => ({ path, ...(before !== undefined ? { before } : {}), ...(after !== undefined ? { after } : {}) });

describe('matchChangeToDrift: the matching rule', () => {
  it.each([
    ['new value equals the actual one', o([{ path: IMAGE, kind: 'changed', desired: 'a:1', actual: 'a:2' }]), [file(web('a:1'), web('a:2'))], 'actual'],
    ['new value is neither', o([{ path: IMAGE, kind: 'changed', desired: 'a:1', actual: 'a:debug' }]), [file(web('a:1'), web('a:2'))], undefined],
    ['sync lag: new value is the desired one, the runtime differs', o([{ path: IMAGE, kind: 'changed', desired: 'a:2', actual: 'a:1' }]), [file(web('a:1'), web('a:2'))], undefined],
    ['not applied (desired!=recorded): new value equals desired', o([{ path: IMAGE, kind: 'changed', desired: 'a:2', actual: 'a:1' }], { relationship: 'desired!=recorded' }), [file(web('a:1'), web('a:2'))], 'desired'],
    ['redacted values: the definition decides', o([{ path: '/data/password', kind: 'changed', desired: '[REDACTED]', actual: '[REDACTED hmac:0123456789abcdef]' }]), [file(web('a:1'), web('a:2'))], 'defined'],
    ['whole-object change (deleted from live): the definition decides', o([{ path: '/', kind: 'removed' }]), [file(undefined, web('a:1'))], 'defined'],
    ['the object was removed from Git', o([{ path: '/', kind: 'added' }]), [file(web('a:1'), undefined)], 'defined'],
    ['the commit did not change this object', o([{ path: IMAGE, kind: 'changed', desired: 'a:1', actual: 'a:1' }]), [file(web('a:1'), web('a:1'))], undefined],
    ['a manifest without namespace (set by the GitOps tool)', o([{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 5 }]), [file(web('a:1', 3, undefined), web('a:1', 5, undefined))], 'actual'],
    ['another namespace', o([{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 5 }]), [file(web('a:1', 3, 'other'), web('a:1', 5, 'other'))], undefined],
    ['a file that is not YAML', o([{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 5 }]), [file('x', 'kind: [', 'apps/checkout/web.yaml')], undefined],
    ['a README mentioning it', o([{ path: '/spec/replicas', kind: 'changed', desired: 3, actual: 5 }]), [file('', web('a:1', 5), 'apps/checkout/README.md')], undefined],
    ['a Terraform block', o([{ path: '/ingress', kind: 'changed' }], { resourceRef: 'module.net.aws_security_group.web[0]' }), [file('', 'resource "aws_security_group" "web" {}\n', 'net/main.tf')], 'defined'],
    ['a Terraform JSON block', o([{ path: '/ingress', kind: 'changed' }], { resourceRef: 'aws_security_group.web' }), [file(undefined, JSON.stringify({ resource: { aws_security_group: { web: {} } } }), 'net/main.tf.json')], 'defined'],
    ['another Terraform resource', o([{ path: '/ingress', kind: 'changed' }], { resourceRef: 'aws_security_group.db' }), [file('', 'resource "aws_security_group" "web" {}\n', 'net/main.tf')], undefined],
  ] as const)('%s', (_what, obs, files, expected) => {
    expect(matchChangeToDrift(obs as Parameters<typeof matchChangeToDrift>[0], files)).toBe(expected);
  });
});

describe('changeKindOf', () => {
  it.each([
    ['Merge driftplane PR #3: accept 5 replicas', 2, { kind: 'pr', pr: 3 }],
    ['Merge pull request #12 from acme/fix-image', 2, { kind: 'pr', pr: 12 }],
    ['Roll checkout to 1.2 (#41)', 1, { kind: 'pr', pr: 41 }],
    ["Merge branch 'driftplane/checkout-web-prod/0123'", 2, { kind: 'pr' }],
    ['checkout: roll 1.1', 1, { kind: 'apply' }],
  ] as const)('%s', (subject, parents, expected) => {
    expect(changeKindOf({ subject, parents })).toEqual(expected);
  });
});
