import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareUnitInventory, findUnmanaged, type Observation } from '../../../domain/inventory/compare';
import { REDACTED } from '../../../domain/inventory/findings';
import { atomicSecurityGroupRules, toComparable } from '../../../domain/inventory/normalize';
import { parseTfStateV4, type RecordedResource } from '../../../domain/inventory/tfstate';

const rule = (over: Record<string, unknown>): Record<string, unknown> => ({
  cidr_blocks: [],
  description: '',
  from_port: 443,
  ipv6_cidr_blocks: [],
  prefix_list_ids: [],
  protocol: 'tcp',
  security_groups: [],
  self: false,
  to_port: 443,
  ...over,
});

function recorded(
  type: string,
  attributes: Record<string, unknown>,
  name = 'x',
  sensitive: string[] = [],
): RecordedResource {
  const [r] = parseTfStateV4(
    {
      version: 4,
      resources: [
        {
          mode: 'managed',
          type,
          name,
          instances: [
            { attributes, sensitive_attributes: sensitive.map((s) => [{ type: 'get_attr', value: s }]) },
          ],
        },
      ],
    },
    'test.tfstate',
  );
  if (!r) throw new Error('no resource');
  return r;
}

const compare = (res: RecordedResource[], obs: Record<string, Observation>) =>
  compareUnitInventory({
    unit: 'u',
    stateSource: 'test.tfstate',
    recorded: res,
    observations: new Map(Object.entries(obs)),
  });

describe('security group rules', () => {
  it('compare equal however the rules are grouped, ordered or numbered', () => {
    const state = [
      rule({ cidr_blocks: ['10.0.0.0/8', '192.168.0.0/16'] }),
      rule({ protocol: '-1', from_port: 0, to_port: 0, self: true }),
    ];
    const ec2 = [
      rule({ protocol: 'all', from_port: -1, to_port: -1, self: true }),
      rule({ cidr_blocks: ['192.168.0.0/16'], protocol: '6' }),
      rule({ cidr_blocks: ['10.0.0.0/8'] }),
    ];
    expect(atomicSecurityGroupRules(state).sort()).toEqual(atomicSecurityGroupRules(ec2).sort());
  });

  it('never reports drift for a permutation of the same rules (property)', () => {
    const ruleArb = fc.record({
      protocol: fc.constantFrom('tcp', 'udp', '-1'),
      from_port: fc.integer({ min: 0, max: 65535 }),
      cidr_blocks: fc.uniqueArray(fc.constantFrom('10.0.0.0/8', '0.0.0.0/0', '172.16.0.0/12'), {
        maxLength: 3,
      }),
      description: fc.constantFrom('', 'a', 'b'),
    });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 6 }), (rules) => {
        const full = rules.map((r) => rule({ ...r, to_port: r.from_port }));
        const split = full.flatMap((r) =>
          (r.cidr_blocks as string[]).map((c) => ({ ...r, cidr_blocks: [c] })),
        );
        const res = recorded('aws_security_group', { id: 'sg-1', name: 'n', ingress: full, egress: [] });
        const report = compare([res], {
          'aws_security_group.x': {
            status: 'present',
            attributes: { id: 'sg-1', name: 'n', ingress: split.reverse(), egress: [] },
          },
        });
        return report.findings.length === 0;
      }),
    );
  });
});

describe('compareUnitInventory', () => {
  const role = recorded('aws_iam_role', {
    id: 'app',
    name: 'app',
    assume_role_policy:
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    description: '',
    max_session_duration: 3600,
    path: '/',
    permissions_boundary: null,
    tags: null,
    tags_all: { team: 'x' },
    managed_policy_arns: ['arn:aws:iam::aws:policy/Ignored'],
  });
  const roleActual = {
    name: 'app',
    path: '/',
    description: '',
    assume_role_policy: encodeURIComponent(
      '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}',
    ),
    max_session_duration: 3600,
    permissions_boundary: '',
    tags: { team: 'x', 'aws:cloudformation:stack-name': 'ignored' },
  };

  it('sees no drift when only representation differs (URL-encoding, null vs empty, aws: tags, exclusive attributes)', () => {
    const report = compare([role], { 'aws_iam_role.x': { status: 'present', attributes: roleActual } });
    expect(report).toEqual({
      unit: 'u',
      stateSource: 'test.tfstate',
      compared: 1,
      findings: [],
      failures: [],
      notScanned: [],
    });
  });

  it.each<[string, Observation, unknown]>([
    [
      'absent → deleted',
      { status: 'absent' },
      {
        kind: 'deleted',
        unit: 'u',
        address: 'aws_iam_role.x',
        type: 'aws_iam_role',
        resourceId: 'app',
        relationship: 'recorded!=actual',
      },
    ],
    [
      'max_session_duration changed',
      { status: 'present', attributes: { ...roleActual, max_session_duration: 43200 } },
      {
        kind: 'changed',
        unit: 'u',
        address: 'aws_iam_role.x',
        type: 'aws_iam_role',
        resourceId: 'app',
        relationship: 'recorded!=actual',
        changedPaths: ['/max_session_duration'],
        changes: [{ path: '/max_session_duration', op: 'changed', recorded: 3600, actual: 43200 }],
      },
    ],
  ])('%s', (_label, obs, finding) => {
    expect(compare([role], { 'aws_iam_role.x': obs }).findings).toEqual([finding]);
  });

  it('reports a read error as a detection failure, not as no drift', () => {
    const report = compare([role], {
      'aws_iam_role.x': { status: 'error', code: 'AccessDenied', message: 'AccessDenied: not authorized' },
    });
    expect(report.findings).toEqual([]);
    expect(report.compared).toBe(0);
    expect(report.failures).toEqual([
      {
        status: 'DETECTION_FAILED',
        unit: 'u',
        address: 'aws_iam_role.x',
        type: 'aws_iam_role',
        resourceId: 'app',
        code: 'AccessDenied',
        message: 'AccessDenied: not authorized',
      },
    ]);
  });

  it('reports a missing observation and an unparseable policy as detection failures', () => {
    const report = compare(
      [role, recorded('aws_iam_role_policy', { role: 'app', name: 'p', policy: 'not json' }, 'p')],
      {
        'aws_iam_role_policy.p': { status: 'present', attributes: { role: 'app', name: 'p', policy: '{}' } },
      },
    );
    expect(report.failures.map((f) => [f.address, f.code])).toEqual([
      ['aws_iam_role.x', 'NotObserved'],
      ['aws_iam_role_policy.p', 'InvalidPolicyDocument'],
    ]);
  });

  it('lists types it does not cover and resources without identity', () => {
    const report = compare(
      [recorded('aws_vpc', { id: 'vpc-1' }), recorded('aws_instance', { instance_type: 't3.micro' })],
      {},
    );
    expect(report.notScanned).toEqual([
      {
        unit: 'u',
        address: 'aws_vpc.x',
        type: 'aws_vpc',
        reason: 'resource type not covered by the inventory scan',
      },
    ]);
    expect(report.failures.map((f) => f.code)).toEqual(['StateMissingIdentity']);
  });

  it('redacts the values of attributes state marks sensitive', () => {
    const res = recorded('aws_iam_role_policy', { role: 'app', name: 'p', policy: '{"Statement":[]}' }, 'p', [
      'policy',
    ]);
    const report = compare([res], {
      'aws_iam_role_policy.p': {
        status: 'present',
        attributes: { role: 'app', name: 'p', policy: '{"Statement":[{"Effect":"Allow"}]}' },
      },
    });
    expect(report.findings).toEqual([
      expect.objectContaining({
        changedPaths: ['/policy'],
        changes: [{ path: '/policy', op: 'changed', recorded: REDACTED, actual: REDACTED }],
      }),
    ]);
  });

  it('points into nested blocks and escapes tag keys as JSON pointers', () => {
    const bucket = recorded('aws_s3_bucket', {
      bucket: 'b',
      versioning: [{ enabled: true, mfa_delete: false }],
      tags: { 'a/b': '1' },
    });
    const report = compare([bucket], {
      'aws_s3_bucket.x': {
        status: 'present',
        attributes: { bucket: 'b', versioning: [{ enabled: true, mfa_delete: true }], tags: { 'a/b': '2' } },
      },
    });
    expect(report.findings[0]?.kind === 'changed' && report.findings[0].changedPaths).toEqual([
      '/tags/a~1b',
      '/versioning/0/mfa_delete',
    ]);
  });

  it('compares the public access block flags, treating null as false', () => {
    const pab = recorded('aws_s3_bucket_public_access_block', {
      bucket: 'b',
      block_public_acls: true,
      block_public_policy: null,
    });
    expect(toComparable('aws_s3_bucket_public_access_block', pab.attributes).block_public_policy).toEqual({
      kind: 'scalar',
      value: false,
    });
  });
});

describe('findUnmanaged', () => {
  const managed = [
    recorded('aws_security_group', { id: 'sg-1' }),
    recorded('aws_iam_role', { name: 'app' }),
    recorded('aws_iam_role_policy_attachment', { role: 'app', policy_arn: 'arn:p' }),
  ];

  it('reports only what no registered state records, once, as IMPORT candidates', () => {
    const report = findUnmanaged(managed, {
      resources: [
        { type: 'aws_security_group', key: 'sg-1' },
        { type: 'aws_security_group', key: 'sg-2', arn: 'arn:sg-2' },
        { type: 'aws_security_group', key: 'sg-2', arn: 'arn:sg-2' },
        { type: 'aws_iam_role', key: 'app' },
        { type: 'aws_iam_role_policy_attachment', key: 'app/arn:p' },
        { type: 'aws_iam_role_policy_attachment', key: 'app/arn:admin' },
      ],
      failures: [{ type: 'aws_s3_bucket', code: 'AccessDenied', message: 'AccessDenied: no' }],
    });
    expect(report.findings).toEqual([
      {
        kind: 'unmanaged',
        type: 'aws_iam_role_policy_attachment',
        resourceId: 'app/arn:admin',
        relationship: 'recorded!=actual',
        candidateAction: 'IMPORT',
      },
      {
        kind: 'unmanaged',
        type: 'aws_security_group',
        resourceId: 'sg-2',
        arn: 'arn:sg-2',
        relationship: 'recorded!=actual',
        candidateAction: 'IMPORT',
      },
    ]);
    expect(report.failures).toEqual([
      {
        status: 'DETECTION_FAILED',
        type: 'aws_s3_bucket',
        code: 'AccessDenied',
        message: 'AccessDenied: no',
      },
    ]);
  });
});
