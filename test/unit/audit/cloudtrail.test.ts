import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyActor, roleIdentity } from '../../../domain/audit/actor';
import {
  CloudTrailFormatError,
  parseCloudTrailDocument,
  parseCloudTrailText,
  type CloudTrailRecord,
} from '../../../domain/audit/cloudtrail';
import { correlateFinding, matchEvents, relevantEventNames } from '../../../domain/audit/correlate';
import { sharedFixture } from '../../support/shared-fixtures';

const dir = sharedFixture('cloudtrail');
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
const load = (name: string): CloudTrailRecord[] =>
  parseCloudTrailText(readFileSync(`${dir}/${name}`, 'utf8'), name);
const fixture = (suffix: string): CloudTrailRecord[] => {
  const name = files.find((f) => f.endsWith(suffix));
  if (!name) throw new Error(`no fixture ${suffix}`);
  return load(name);
};

describe('parsing every shared CloudTrail fixture', () => {
  it('has all three shapes among the fixtures', () => {
    const shapes = new Set(
      files.map((f) => {
        const doc = JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')) as unknown;
        return Array.isArray(doc)
          ? 'array'
          : typeof doc === 'object' && doc !== null && 'Records' in doc
            ? 'records'
            : 'single';
      }),
    );
    expect([...shapes].sort()).toEqual(['array', 'records', 'single']);
    expect(files.length).toBeGreaterThanOrEqual(29);
  });

  it.each(files)('reads %s', (name) => {
    const doc = JSON.parse(readFileSync(`${dir}/${name}`, 'utf8')) as unknown;
    const expected = Array.isArray(doc)
      ? doc.length
      : typeof doc === 'object' && doc !== null && 'Records' in doc
        ? (doc as { Records: unknown[] }).Records.length
        : 1;
    const records = load(name);
    expect(records).toHaveLength(expected);
    for (const r of records) {
      expect(Number.isNaN(Date.parse(r.eventTime))).toBe(false);
      // Insight events carry their eventName inside insightDetails.
      if (r.eventType !== 'AwsCloudTrailInsight') expect(r.eventName).toMatch(/^[A-Z]\w+$/);
    }
  });

  it.each([
    ['not JSON', '{"Records": [', /x\.json: not JSON/],
    ['neither shape', '{"foo": 1}', /x\.json: expected/],
    [
      'a record without eventTime',
      '{"Records": [{"eventTime": "2024-01-01T00:00:00Z"}, {"eventName": "X"}]}',
      /x\.json field \/Records\/1\/eventTime/,
    ],
  ])('rejects %s with the file and field', (_label, text, message) => {
    expect(() => parseCloudTrailText(text, 'x.json')).toThrow(CloudTrailFormatError);
    expect(() => parseCloudTrailText(text, 'x.json')).toThrow(message);
  });

  it('reads a single record object', () => {
    expect(parseCloudTrailDocument({ eventTime: '2024-01-01T00:00:00Z', eventName: 'X' }, 's')).toHaveLength(
      1,
    );
  });
});

describe('correlating findings with the shared fixtures', () => {
  it('names the actor of the security group ingress change', () => {
    const records = fixture('ec2-security-group-open-port-22-ingress.json');
    const { auditCorrelation, matched } = correlateFinding(
      {
        type: 'aws_security_group',
        resourceId: 'sg-003dc7f1f1c686164',
        findingKind: 'changed',
        changedPaths: ['/ingress'],
      },
      records,
    );
    expect(matched).toBe(1);
    expect(auditCorrelation).toEqual({
      actor: 'christophe',
      actorType: 'human',
      source: 'cloudtrail',
      eventTime: '2024-08-01T12:23:55Z',
      eventName: 'AuthorizeSecurityGroupIngress',
      userAgent: 'stratus-red-team_1004a4ff-b486-4981-a84b-6322905f37cc',
      principalArn: 'arn:aws:iam::032092706103:user/christophe',
      eventId: '9fd68588-ecbf-4528-a345-199fa6bb0821',
    });
  });

  it('does not match the security group event to a tag change or another group', () => {
    const records = fixture('ec2-security-group-open-port-22-ingress.json');
    expect(
      correlateFinding(
        {
          type: 'aws_security_group',
          resourceId: 'sg-003dc7f1f1c686164',
          findingKind: 'changed',
          changedPaths: ['/tags/Name'],
        },
        records,
      ).auditCorrelation,
    ).toBeNull();
    expect(
      correlateFinding(
        {
          type: 'aws_security_group',
          resourceId: 'sg-0000000000000000',
          findingKind: 'changed',
          changedPaths: ['/ingress'],
        },
        records,
      ).auditCorrelation,
    ).toBeNull();
  });

  it('names the actor of a trust policy change (UpdateAssumeRolePolicy)', () => {
    const { auditCorrelation } = correlateFinding(
      {
        type: 'aws_iam_role',
        resourceId: 'stratus-red-team-backdoor-r-role',
        findingKind: 'changed',
        changedPaths: ['/assume_role_policy'],
      },
      fixture('iam-backdoor-role.json'),
    );
    expect(auditCorrelation).toMatchObject({
      actor: 'christophe',
      actorType: 'human',
      eventTime: '2024-08-01T13:29:57Z',
      eventName: 'UpdateAssumeRolePolicy',
    });
  });

  it('tells the role creation (CreateRole) from the policy attachment (AttachRolePolicy) in one file', () => {
    const records = fixture('iam-create-backdoor-role.json');
    const role = correlateFinding(
      { type: 'aws_iam_role', resourceId: 'stratus-red-team-malicious-iam-role', findingKind: 'unmanaged' },
      records,
    );
    expect(role.auditCorrelation).toMatchObject({
      actor: 'christophe',
      actorType: 'human',
      eventTime: '2024-08-01T13:37:41Z',
      eventName: 'CreateRole',
    });
    const byArn = correlateFinding(
      {
        type: 'aws_iam_role',
        resourceId: 'other-name',
        arn: 'arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role',
        findingKind: 'unmanaged',
      },
      records,
    );
    expect(byArn.auditCorrelation?.eventName).toBe('CreateRole');
    const attachment = correlateFinding(
      {
        type: 'aws_iam_role_policy_attachment',
        resourceId: 'stratus-red-team-malicious-iam-role/arn:aws:iam::aws:policy/AdministratorAccess',
        findingKind: 'unmanaged',
      },
      records,
    );
    expect(attachment.auditCorrelation).toMatchObject({
      actor: 'christophe',
      eventTime: '2024-08-01T13:37:41Z',
      eventName: 'AttachRolePolicy',
    });
    // Any mutating role event, without a kind: still only CreateRole (attachments are their own resource).
    expect(
      matchEvents({ type: 'aws_iam_role', resourceId: 'stratus-red-team-malicious-iam-role' }, records).map(
        (r) => r.eventName,
      ),
    ).toEqual(['CreateRole']);
  });

  it('matches instances by id in request or response (StartInstances log file)', () => {
    const { auditCorrelation } = correlateFinding(
      { type: 'aws_instance', resourceId: 'i-ebeaf9e2' },
      fixture('block02__StartInstances.json'),
    );
    expect(auditCorrelation).toMatchObject({
      actor: 'Alice',
      actorType: 'human',
      eventName: 'StartInstances',
      userAgent: 'ec2-api-tools 1.6.12.2',
    });
  });
});

const event = (over: Partial<CloudTrailRecord>): CloudTrailRecord => ({
  eventTime: '2026-07-03T10:11:02Z',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'AuthorizeSecurityGroupIngress',
  requestParameters: { groupId: 'sg-1' },
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', userName: 'alice' },
  ...over,
});

const assumed = (roleArn: string, session: string): CloudTrailRecord['userIdentity'] => {
  const id = roleIdentity(roleArn);
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${id?.account}:assumed-role/${id?.role}/${session}`,
    sessionContext: { sessionIssuer: { type: 'Role', arn: roleArn, userName: id?.role } },
  };
};

describe('actor types', () => {
  const breakGlass = 'arn:aws:iam::111122223333:role/emergency/break-glass-admin';
  const terraformUa =
    'APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.54.1 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.27.1 os/linux lang/go#1.22.3';
  const tofuUa =
    'APN/1.0 HashiCorp/1.0 OpenTofu/1.8.0 (+https://opentofu.org) terraform-provider-aws/5.60.0 aws-sdk-go-v2/1.30.3';

  it.each<[string, CloudTrailRecord, string]>([
    [
      'the console (ConsoleLogin fixture)',
      fixture('block00__ConsoleLogin.json')[0] as CloudTrailRecord,
      'human',
    ],
    ['the aws-cli (CreateUser fixture)', fixture('block05__CreateUser.json')[0] as CloudTrailRecord, 'human'],
    [
      'an SSO session in the console',
      event({
        userIdentity: assumed('arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_abc', 'alice@example.com'),
        userAgent: 'AWS Internal',
        sessionCredentialFromConsole: 'true',
      }),
      'human',
    ],
    [
      'a configured break-glass role, whatever its agent',
      event({ userIdentity: assumed(breakGlass, 'oncall-bob'), userAgent: 'aws-cli/2.15.0 Python/3.11' }),
      'break-glass',
    ],
    [
      'a break-glass role matched by its assumed-role ARN alone',
      event({
        userIdentity: {
          type: 'AssumedRole',
          arn: 'arn:aws:sts::111122223333:assumed-role/break-glass-admin/bob',
        },
        userAgent: 'console.amazonaws.com',
      }),
      'break-glass',
    ],
    [
      'the Terraform user agent',
      event({
        userIdentity: assumed('arn:aws:iam::111122223333:role/iac-drift-network', 'payments-prod-network'),
        userAgent: terraformUa,
      }),
      'ci-iac',
    ],
    [
      'the OpenTofu user agent',
      event({ userIdentity: assumed('arn:aws:iam::111122223333:role/ci', 'gha'), userAgent: tofuUa }),
      'ci-iac',
    ],
    [
      'an AWS service identity',
      event({
        userIdentity: { type: 'AWSService', invokedBy: 'autoscaling.amazonaws.com' },
        userAgent: 'autoscaling.amazonaws.com',
      }),
      'aws-service',
    ],
    [
      'a service-linked role calling through a service',
      event({
        userIdentity: assumed(
          'arn:aws:iam::111122223333:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS',
          'ecs',
        ),
        userAgent: 'ecs.amazonaws.com',
      }),
      'aws-service',
    ],
    [
      'an assumed role with an unknown agent',
      event({
        userIdentity: assumed('arn:aws:iam::111122223333:role/app', 'i-123'),
        userAgent: 'Boto3/1.34 md/Botocore#1.34',
      }),
      'unknown',
    ],
  ])('classifies %s', (_label, record, expected) => {
    expect(classifyActor(record, { breakGlassRoleArns: [breakGlass] })).toBe(expected);
  });

  it('does not call a role break-glass unless it is configured', () => {
    expect(
      classifyActor(event({ userIdentity: assumed(breakGlass, 'bob'), userAgent: 'aws-cli/2.15.0' })),
    ).toBe('human');
    expect(
      classifyActor(event({ userIdentity: assumed(breakGlass, 'bob'), userAgent: 'aws-cli/2.15.0' }), {
        breakGlassRoleArns: ['arn:aws:iam::999999999999:role/break-glass-admin'],
      }),
    ).toBe('human');
  });

  it('names an assumed role by its session (an e-mail under SSO)', () => {
    const { auditCorrelation } = correlateFinding({ type: 'aws_security_group', resourceId: 'sg-1' }, [
      event({
        userIdentity: assumed('arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_abc', 'alice@example.com'),
        userAgent: 'console.ec2.amazonaws.com',
      }),
    ]);
    expect(auditCorrelation).toMatchObject({ actor: 'alice@example.com', actorType: 'human' });
  });
});

describe('matching', () => {
  it('picks the latest successful mutating event at or before detection', () => {
    const records = [
      event({ eventTime: '2026-07-03T09:00:00Z', userIdentity: { type: 'IAMUser', userName: 'first' } }),
      event({ eventTime: '2026-07-03T10:00:00Z', userIdentity: { type: 'IAMUser', userName: 'second' } }),
      event({
        eventTime: '2026-07-03T10:30:00Z',
        userIdentity: { type: 'IAMUser', userName: 'failed' },
        errorCode: 'UnauthorizedOperation',
      }),
      event({
        eventTime: '2026-07-03T10:40:00Z',
        eventName: 'DescribeSecurityGroups',
        readOnly: true,
        userIdentity: { type: 'IAMUser', userName: 'reader' },
      }),
      event({
        eventTime: '2026-07-03T12:00:00Z',
        userIdentity: { type: 'IAMUser', userName: 'after-detection' },
      }),
      event({
        eventTime: '2026-07-03T10:50:00Z',
        eventSource: 'iam.amazonaws.com',
        userIdentity: { type: 'IAMUser', userName: 'other-service' },
      }),
    ];
    const result = correlateFinding(
      { type: 'aws_security_group', resourceId: 'sg-1', detectedAt: '2026-07-03T11:00:00Z' },
      records,
    );
    expect(result.matched).toBe(2);
    expect(result.auditCorrelation?.actor).toBe('second');
  });

  it.each([
    [
      {
        type: 'aws_s3_bucket',
        resourceId: 'b',
        findingKind: 'changed' as const,
        changedPaths: ['/versioning/0/enabled'],
      },
      ['PutBucketVersioning'],
    ],
    [{ type: 'aws_instance', resourceId: 'i-1', findingKind: 'deleted' as const }, ['TerminateInstances']],
    [
      { type: 'aws_iam_role_policy', resourceId: 'r:p', findingKind: 'unmanaged' as const },
      ['PutRolePolicy'],
    ],
  ])('derives relevant event names for %j', (target, names) => {
    expect(relevantEventNames(target)).toEqual(names);
  });

  it('returns null when nothing explains the finding', () => {
    expect(
      correlateFinding(
        { type: 'aws_s3_bucket', resourceId: 'nope' },
        fixture('block02__StartInstances.json'),
      ),
    ).toEqual({ auditCorrelation: null, matched: 0 });
  });
});
