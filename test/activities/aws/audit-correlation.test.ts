import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsActivities, decodeCloudTrailFile, readCloudTrail } from '../../../activities/aws';
import { motoCredentials, startMoto, type MotoServer } from '../../support/moto';
import { sharedFixture } from '../../support/shared-fixtures';

const sgFixture =
  'stratus-red-team__docs__detonation-logs__aws.exfiltration.ec2-security-group-open-port-22-ingress.json';
const roleFixture = 'stratus-red-team__docs__detonation-logs__aws.persistence.iam-create-backdoor-role.json';
const trustFixture = 'stratus-red-team__docs__detonation-logs__aws.persistence.iam-backdoor-role.json';
const singleFixture =
  'awsdocs__cloudtrail-event-reference-aws-console-sign-in-events__block01__ConsoleLogin.json';
const recordsFixture = 'awsdocs__cloudtrail-log-file-examples__block05__CreateUser.json';

let moto: MotoServer;
let dir: string;
const fixtureText = (name: string): Promise<string> => readFile(sharedFixture('cloudtrail', name), 'utf8');
/** A CloudTrail log file as CloudTrail delivers it: gzip of {"Records":[...]}, built from a fixture's records. */
const asGzipLogFile = async (name: string): Promise<Buffer> => {
  const doc = JSON.parse(await fixtureText(name)) as unknown;
  return gzipSync(JSON.stringify({ Records: Array.isArray(doc) ? doc : [doc] }));
};

const targets = [
  {
    type: 'aws_security_group',
    resourceId: 'sg-003dc7f1f1c686164',
    findingKind: 'changed' as const,
    changedPaths: ['/ingress'],
  },
  {
    type: 'aws_iam_role',
    resourceId: 'stratus-red-team-malicious-iam-role',
    findingKind: 'unmanaged' as const,
  },
  {
    type: 'aws_iam_role_policy_attachment',
    resourceId: 'stratus-red-team-malicious-iam-role/arn:aws:iam::aws:policy/AdministratorAccess',
    findingKind: 'unmanaged' as const,
  },
  {
    type: 'aws_iam_role',
    resourceId: 'stratus-red-team-backdoor-r-role',
    findingKind: 'changed' as const,
    changedPaths: ['/assume_role_policy'],
  },
];
const expected = [
  ['christophe', 'human', '2024-08-01T12:23:55Z', 'AuthorizeSecurityGroupIngress'],
  ['christophe', 'human', '2024-08-01T13:37:41Z', 'CreateRole'],
  ['christophe', 'human', '2024-08-01T13:37:41Z', 'AttachRolePolicy'],
  ['christophe', 'human', '2024-08-01T13:29:57Z', 'UpdateAssumeRolePolicy'],
];

beforeAll(async () => {
  moto = await startMoto();
  dir = await mkdtemp(path.join(tmpdir(), 'driftplane-trail-'));
});

afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('CloudTrail log files', () => {
  it('decodes gzip Records files, bare arrays and single records alike', async () => {
    const gz = await asGzipLogFile(roleFixture);
    expect(gz[0]).toBe(0x1f);
    expect(decodeCloudTrailFile(gz, 'x.json.gz').map((r) => r.eventName)).toEqual([
      'AttachRolePolicy',
      'CreateRole',
    ]);
    expect(decodeCloudTrailFile(Buffer.from(await fixtureText(roleFixture)), 'x.json')).toHaveLength(2);
    expect(
      decodeCloudTrailFile(Buffer.from(await fixtureText(singleFixture)), 'x.json').map((r) => r.eventName),
    ).toEqual(['ConsoleLogin']);
  });

  it('reads a folder (recursively, all three shapes plus gzip) and reports files it cannot parse', async () => {
    const folder = path.join(dir, 'trail');
    await mkdir(path.join(folder, 'AWSLogs/032092706103/CloudTrail/us-east-1/2024/08/01'), {
      recursive: true,
    });
    await writeFile(
      path.join(folder, 'AWSLogs/032092706103/CloudTrail/us-east-1/2024/08/01/sg.json.gz'),
      await asGzipLogFile(sgFixture),
    );
    await writeFile(path.join(folder, 'roles.json'), await fixtureText(roleFixture));
    await writeFile(path.join(folder, 'trust.json'), await fixtureText(trustFixture));
    await writeFile(path.join(folder, 'single.json'), await fixtureText(singleFixture));
    await writeFile(path.join(folder, 'records.json'), await fixtureText(recordsFixture));
    await writeFile(path.join(folder, 'broken.json'), '{"Records": [');
    await writeFile(path.join(folder, 'README.txt'), 'not a log file');

    const batch = await readCloudTrail({ kind: 'folder', path: folder });
    expect(batch.filesRead).toBe(5);
    expect(batch.records).toHaveLength(6);
    expect(batch.failures).toEqual([
      {
        file: path.join(folder, 'broken.json'),
        code: 'CloudTrailFormatError',
        message: expect.stringContaining('not JSON'),
      },
    ]);

    const out = await createAwsActivities({ region: 'us-east-1' }).correlateAuditEvents({
      logs: { kind: 'folder', path: folder },
      targets,
    });
    expect(
      out.results.map((r) => [
        r.auditCorrelation?.actor,
        r.auditCorrelation?.actorType,
        r.auditCorrelation?.eventTime,
        r.auditCorrelation?.eventName,
      ]),
    ).toEqual(expected);
    expect(out.failures).toHaveLength(1);
  });

  it('reads gzip log files from the trail bucket in moto S3 and correlates them', async () => {
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: moto.endpoint,
      credentials: motoCredentials,
      forcePathStyle: true,
    });
    await s3.send(new CreateBucketCommand({ Bucket: 'acme-cloudtrail' }));
    const prefix = 'AWSLogs/032092706103/CloudTrail/us-east-1/2024/08/01/';
    await s3.send(
      new PutObjectCommand({
        Bucket: 'acme-cloudtrail',
        Key: `${prefix}032092706103_CloudTrail_us-east-1_20240801T1225Z_a.json.gz`,
        Body: await asGzipLogFile(sgFixture),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: 'acme-cloudtrail',
        Key: `${prefix}032092706103_CloudTrail_us-east-1_20240801T1340Z_b.json.gz`,
        Body: await asGzipLogFile(roleFixture),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: 'acme-cloudtrail',
        Key: `${prefix}032092706103_CloudTrail_us-east-1_20240801T1330Z_c.json.gz`,
        Body: await asGzipLogFile(trustFixture),
      }),
    );
    await s3.send(
      new PutObjectCommand({
        Bucket: 'acme-cloudtrail',
        Key: 'AWSLogs/032092706103/CloudTrail-Digest/x.txt',
        Body: 'digest',
      }),
    );

    const activities = createAwsActivities({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      baseCredentials: motoCredentials,
    });
    const out = await activities.correlateAuditEvents({
      logs: { kind: 's3', bucket: 'acme-cloudtrail', prefix: 'AWSLogs/' },
      targets,
    });
    expect(out.filesRead).toBe(3);
    expect(out.recordsRead).toBe(4);
    expect(out.failures).toEqual([]);
    expect(
      out.results.map((r) => [
        r.auditCorrelation?.actor,
        r.auditCorrelation?.actorType,
        r.auditCorrelation?.eventTime,
        r.auditCorrelation?.eventName,
      ]),
    ).toEqual(expected);
  });

  it('applies configured break-glass roles', async () => {
    const folder = path.join(dir, 'break-glass');
    await mkdir(folder, { recursive: true });
    const [record] = JSON.parse(await fixtureText(sgFixture)) as Record<string, unknown>[];
    const roleArn = 'arn:aws:iam::032092706103:role/break-glass-admin';
    const asBreakGlass = {
      ...record,
      userIdentity: {
        type: 'AssumedRole',
        arn: 'arn:aws:sts::032092706103:assumed-role/break-glass-admin/oncall-bob',
        sessionContext: { sessionIssuer: { type: 'Role', arn: roleArn } },
      },
      userAgent: 'aws-cli/2.15.0 Python/3.11.6 Linux/6.1',
    };
    await writeFile(path.join(folder, 'event.json'), JSON.stringify(asBreakGlass));
    const out = await createAwsActivities({ region: 'us-east-1' }).correlateAuditEvents({
      logs: { kind: 'folder', path: folder },
      targets: [targets[0] ?? { type: '', resourceId: '' }],
      breakGlassRoleArns: [roleArn],
    });
    expect(out.results[0]?.auditCorrelation).toMatchObject({
      actor: 'oncall-bob',
      actorType: 'break-glass',
      eventName: 'AuthorizeSecurityGroupIngress',
    });
  });

  it('fails non-retryably when the trail bucket does not exist', async () => {
    const activities = createAwsActivities({
      endpoint: moto.endpoint,
      region: 'us-east-1',
      baseCredentials: motoCredentials,
    });
    const err = await activities
      .correlateAuditEvents({ logs: { kind: 's3', bucket: 'no-such-trail', prefix: '' }, targets })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).type).toBe('AuditLogsUnreadable');
    expect((err as ApplicationFailure).message).toContain('s3://no-such-trail/');
  });
});
