import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  DetachRolePolicyCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsActivities, observeAll, type AwsUnit } from '../../../activities/aws';
import { compareUnitInventory } from '../../../domain/inventory/compare';
import type {
  InventoryFinding,
  UnitInventoryReport,
  UnmanagedReport,
} from '../../../domain/inventory/findings';
import { parseTfStateV4 } from '../../../domain/inventory/tfstate';
import { motoAccountId as account, motoCredentials, startMoto, type MotoServer } from '../../support/moto';
import {
  iamRole,
  iamRolePolicy,
  iamRolePolicyAttachment,
  instance,
  publicAccessBlock,
  s3Bucket,
  securityGroup,
  sgRule,
  tfstate,
  type StateResource,
} from './tfstate-builders';

const region = 'us-east-1';
const stateBucket = 'acme-tfstate-prod';

let moto: MotoServer;
let dir: string;
let ec2: EC2Client;
let iam: IAMClient;
let s3: S3Client;
let units: AwsUnit[];
const ids: Record<string, string> = {};

const trustFor = (principal: Record<string, string>, action = 'sts:AssumeRole'): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: principal, Action: action }],
  });

const unitRoles = [
  'iac-drift-network',
  'iac-drift-identity',
  'iac-drift-storage',
  'iac-drift-compute',
  'iac-drift-bootstrap',
];
const unit = (name: string, role: string, state: AwsUnit['state']): AwsUnit => ({
  name,
  owner: 'platform',
  environment: 'prod',
  credentials: { roleArn: `arn:aws:iam::${account}:role/${role}` },
  state,
});

async function writeLocalState(name: string, resources: StateResource[]): Promise<AwsUnit['state']> {
  const file = path.join(dir, `${name}.tfstate`);
  await writeFile(file, JSON.stringify(tfstate(resources), null, 2));
  return { backend: 'local', path: file };
}

async function createSg(groupName: string, description: string): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: groupName, Description: description, VpcId: ids.vpc }),
  );
  return out.GroupId ?? '';
}

async function seed(): Promise<void> {
  const vpcs = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  ids.vpc = vpcs.Vpcs?.[0]?.VpcId ?? '';
  const images = await ec2.send(new DescribeImagesCommand({}));
  ids.ami = images.Images?.[0]?.ImageId ?? '';

  // Unit roles, recorded by the bootstrap unit (the roles must be managed somewhere, never one global role).
  const oidcTrust = trustFor(
    { Federated: `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com` },
    'sts:AssumeRoleWithWebIdentity',
  );
  for (const role of unitRoles)
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: oidcTrust }));
  await s3.send(new CreateBucketCommand({ Bucket: stateBucket }));
  await s3.send(
    new PutBucketVersioningCommand({ Bucket: stateBucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );

  // network: three security groups, one referencing another and itself.
  ids.sgApp = await createSg('app-public', 'app load balancer');
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: ids.sgApp,
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: '10.0.0.0/16', Description: 'https' }, { CidrIp: '10.1.0.0/16' }],
        },
      ],
    }),
  );
  ids.sgDb = await createSg('db', 'database');
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: ids.sgDb,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: ids.sgApp }] },
        { IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: ids.sgDb }] },
      ],
    }),
  );
  ids.sgLegacy = await createSg('legacy', 'to be removed');
  await ec2.send(
    new CreateTagsCommand({ Resources: [ids.sgApp], Tags: [{ Key: 'team', Value: 'network' }] }),
  );

  // identity: two roles, an inline policy and attachments of customer-managed policies.
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'app-runtime',
      AssumeRolePolicyDocument: trustFor({ Service: 'ec2.amazonaws.com' }),
      Description: 'app runtime',
      Tags: [{ Key: 'team', Value: 'identity' }],
    }),
  );
  await iam.send(new CreateRoleCommand({ RoleName: 'ci-deployer', AssumeRolePolicyDocument: oidcTrust }));
  const readConfig = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['ssm:GetParameter'], Resource: '*' }],
  });
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'app-runtime',
      PolicyName: 'read-config',
      PolicyDocument: readConfig,
    }),
  );
  const policyDoc = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
  });
  for (const p of ['app-readonly', 'ci-ecr', 'admin-all'])
    await iam.send(new CreatePolicyCommand({ PolicyName: p, PolicyDocument: policyDoc }));
  await iam.send(
    new AttachRolePolicyCommand({
      RoleName: 'app-runtime',
      PolicyArn: `arn:aws:iam::${account}:policy/app-readonly`,
    }),
  );
  await iam.send(
    new AttachRolePolicyCommand({
      RoleName: 'ci-deployer',
      PolicyArn: `arn:aws:iam::${account}:policy/ci-ecr`,
    }),
  );

  // storage: a versioned, encrypted, tagged, locked-down bucket and a logs bucket.
  await s3.send(new CreateBucketCommand({ Bucket: 'acme-data-prod' }));
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: 'acme-data-prod',
      VersioningConfiguration: { Status: 'Enabled' },
    }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: 'acme-data-prod',
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    }),
  );
  await s3.send(
    new PutBucketTaggingCommand({
      Bucket: 'acme-data-prod',
      Tagging: { TagSet: [{ Key: 'classification', Value: 'confidential' }] },
    }),
  );
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: 'acme-data-prod',
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
  await s3.send(new CreateBucketCommand({ Bucket: 'acme-logs-prod' }));

  // compute: two instances.
  const run = async (name: string, type: 't3.micro' | 't3.small'): Promise<string> => {
    const out = await ec2.send(
      new RunInstancesCommand({
        ImageId: ids.ami,
        InstanceType: type,
        MinCount: 1,
        MaxCount: 1,
        SecurityGroupIds: [ids.sgApp ?? ''],
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'Name', Value: name },
              { Key: 'env', Value: 'prod' },
            ],
          },
        ],
      }),
    );
    return out.Instances?.[0]?.InstanceId ?? '';
  };
  ids.web = await run('web', 't3.micro');
  ids.api = await run('api', 't3.small');
}

/** The recorded states, built from what was seeded (as `tofu apply` would have written them). */
async function writeStates(): Promise<void> {
  const sg = (
    name: string,
    id: string,
    groupName: string,
    description: string,
    ingress: unknown[],
    tags?: Record<string, string>,
  ): StateResource =>
    securityGroup(name, {
      id,
      groupName,
      description,
      vpcId: ids.vpc ?? '',
      account,
      region,
      ingress,
      egress: [sgRule({ protocol: '-1', from: 0, to: 0, cidrs: ['0.0.0.0/0'] })],
      ...(tags ? { tags } : {}),
    });
  const network = tfstate([
    // The provider groups both CIDRs of a rule into one block when their descriptions match; here they differ.
    sg(
      'app',
      ids.sgApp ?? '',
      'app-public',
      'app load balancer',
      [
        sgRule({ protocol: 'tcp', from: 443, to: 443, cidrs: ['10.0.0.0/16'], description: 'https' }),
        sgRule({ protocol: 'tcp', from: 443, to: 443, cidrs: ['10.1.0.0/16'] }),
      ],
      { team: 'network' },
    ),
    sg('db', ids.sgDb ?? '', 'db', 'database', [
      sgRule({ protocol: 'tcp', from: 5432, to: 5432, groups: [ids.sgApp ?? ''] }),
      sgRule({ protocol: '-1', from: 0, to: 0, self: true }),
    ]),
    sg('legacy', ids.sgLegacy ?? '', 'legacy', 'to be removed', []),
  ]);
  await s3.send(
    new PutObjectCommand({ Bucket: stateBucket, Key: 'prod/network.tfstate', Body: JSON.stringify(network) }),
  );

  // State keeps the trust policy as the configuration rendered it: pretty-printed, keys in another order, Action as a list.
  const ciTrust = JSON.stringify(
    {
      Statement: [
        {
          Action: ['sts:AssumeRoleWithWebIdentity'],
          Principal: {
            Federated: `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`,
          },
          Effect: 'Allow',
        },
      ],
      Version: '2012-10-17',
    },
    null,
    2,
  );
  const identity = await writeLocalState('identity', [
    iamRole('app', {
      roleName: 'app-runtime',
      account,
      trust: trustFor({ Service: 'ec2.amazonaws.com' }),
      description: 'app runtime',
      tags: { team: 'identity' },
    }),
    iamRole('ci', { roleName: 'ci-deployer', account, trust: ciTrust }),
    iamRolePolicy('app_read_config', {
      role: 'app-runtime',
      policyName: 'read-config',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'ssm:GetParameter', Resource: '*' }],
      }),
    }),
    iamRolePolicyAttachment('app_readonly', {
      role: 'app-runtime',
      policyArn: `arn:aws:iam::${account}:policy/app-readonly`,
    }),
    iamRolePolicyAttachment('ci_ecr', {
      role: 'ci-deployer',
      policyArn: `arn:aws:iam::${account}:policy/ci-ecr`,
    }),
  ]);
  const storage = await writeLocalState('storage', [
    s3Bucket('data', {
      bucket: 'acme-data-prod',
      region,
      versioning: true,
      sse: 'AES256',
      tags: { classification: 'confidential' },
    }),
    publicAccessBlock('data', 'acme-data-prod', { acls: true, policy: true, ignore: true, restrict: true }),
    s3Bucket('logs', { bucket: 'acme-logs-prod', region, versioning: false }),
  ]);
  const compute = await writeLocalState('compute', [
    instance('web', {
      id: ids.web ?? '',
      ami: ids.ami ?? '',
      type: 't3.micro',
      sgIds: [ids.sgApp ?? ''],
      account,
      region,
      tags: { Name: 'web', env: 'prod' },
    }),
    instance('api', {
      id: ids.api ?? '',
      ami: ids.ami ?? '',
      type: 't3.small',
      sgIds: [ids.sgApp ?? ''],
      account,
      region,
      tags: { Name: 'api', env: 'prod' },
    }),
    // A type the scan does not cover is listed as not scanned, never dropped silently.
    { type: 'aws_cloudwatch_log_group', name: 'app', attributes: { id: '/acme/app', name: '/acme/app' } },
  ]);
  const oidcTrust = trustFor(
    { Federated: `arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com` },
    'sts:AssumeRoleWithWebIdentity',
  );
  const bootstrap = await writeLocalState('bootstrap', [
    ...unitRoles.map((r) => iamRole(r.replace(/-/g, '_'), { roleName: r, account, trust: oidcTrust })),
    s3Bucket('tfstate', { bucket: stateBucket, region, versioning: true }),
  ]);
  units = [
    unit('payments-prod-network', 'iac-drift-network', {
      backend: 's3',
      bucket: stateBucket,
      key: 'prod/network.tfstate',
    }),
    unit('identity-prod', 'iac-drift-identity', identity),
    unit('storage-prod', 'iac-drift-storage', storage),
    unit('compute-prod', 'iac-drift-compute', compute),
    unit('platform-bootstrap', 'iac-drift-bootstrap', bootstrap),
  ];
}

async function mutateOutOfBand(): Promise<void> {
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: ids.sgApp,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  await ec2.send(new DeleteSecurityGroupCommand({ GroupId: ids.sgLegacy }));
  await iam.send(
    new UpdateAssumeRolePolicyCommand({
      RoleName: 'app-runtime',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::193672423079:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  await iam.send(
    new DetachRolePolicyCommand({
      RoleName: 'app-runtime',
      PolicyArn: `arn:aws:iam::${account}:policy/app-readonly`,
    }),
  );
  await iam.send(
    new AttachRolePolicyCommand({
      RoleName: 'ci-deployer',
      PolicyArn: `arn:aws:iam::${account}:policy/admin-all`,
    }),
  );
  await iam.send(
    new PutRolePolicyCommand({
      RoleName: 'app-runtime',
      PolicyName: 'exfil',
      PolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }],
      }),
    }),
  );
  await s3.send(
    new PutBucketVersioningCommand({
      Bucket: 'acme-data-prod',
      VersioningConfiguration: { Status: 'Suspended' },
    }),
  );
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: 'acme-data-prod',
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: false,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    }),
  );
  await s3.send(new DeleteBucketCommand({ Bucket: 'acme-logs-prod' }));
  await ec2.send(
    new CreateTagsCommand({
      Resources: [ids.web ?? ''],
      Tags: [
        { Key: 'Name', Value: 'web-hotfixed' },
        { Key: 'hotfix', Value: 'INC-9127' },
      ],
    }),
  );
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [ids.api ?? ''] }));
  // Unmanaged: created by hand, in no registered state.
  ids.sgRogue = await createSg('rogue-ssh', 'temporary debugging');
  await s3.send(new CreateBucketCommand({ Bucket: 'shadow-exports' }));
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'backdoor-admin',
      AssumeRolePolicyDocument: trustFor({ AWS: 'arn:aws:iam::193672423079:root' }),
    }),
  );
}

/** A compact, order-independent view of findings: exactly what the scan claims. */
function summarize(reports: UnitInventoryReport[], unmanaged: UnmanagedReport): string[] {
  const lines = (f: InventoryFinding): string =>
    f.kind === 'changed'
      ? `changed ${f.unit} ${f.address} ${f.changedPaths.join(',')}`
      : f.kind === 'deleted'
        ? `deleted ${f.unit} ${f.address} ${f.resourceId}`
        : `unmanaged ${f.type} ${f.resourceId}`;
  return [...reports.flatMap((r) => r.findings.map(lines)), ...unmanaged.findings.map(lines)].sort();
}

beforeAll(async () => {
  moto = await startMoto();
  dir = await mkdtemp(path.join(tmpdir(), 'driftplane-scan-'));
  const cfg = { region, endpoint: moto.endpoint, credentials: motoCredentials };
  ec2 = new EC2Client(cfg);
  iam = new IAMClient(cfg);
  s3 = new S3Client({ ...cfg, forcePathStyle: true });
  await seed();
  await writeStates();
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('inventory scan against moto', () => {
  const activities = () =>
    createAwsActivities({ endpoint: moto.endpoint, region, baseCredentials: motoCredentials });

  it('finds no drift while the cloud matches the recorded states', async () => {
    const reports = [];
    for (const u of units) reports.push(await activities().scanUnitInventory(u));
    const unmanaged = await activities().scanUnmanagedResources({ units });
    expect(summarize(reports, unmanaged)).toEqual([]);
    expect(reports.flatMap((r) => r.failures)).toEqual([]);
    expect(unmanaged.failures).toEqual([]);
    expect(reports.map((r) => [r.unit, r.compared])).toEqual([
      ['payments-prod-network', 3],
      ['identity-prod', 5],
      ['storage-prod', 3],
      ['compute-prod', 2],
      ['platform-bootstrap', 6],
    ]);
    expect(reports[0]?.stateSource).toBe(`s3://${stateBucket}/prod/network.tfstate`);
    expect(reports[3]?.notScanned).toEqual([
      {
        unit: 'compute-prod',
        address: 'aws_cloudwatch_log_group.app',
        type: 'aws_cloudwatch_log_group',
        reason: 'resource type not covered by the inventory scan',
      },
    ]);
  });

  it('finds exactly the out-of-band changes, deletions and unmanaged resources', async () => {
    await mutateOutOfBand();
    const reports = [];
    for (const u of units) reports.push(await activities().scanUnitInventory(u));
    const unmanaged = await activities().scanUnmanagedResources({ units });

    expect(summarize(reports, unmanaged)).toEqual(
      [
        'changed payments-prod-network aws_security_group.app /ingress',
        `deleted payments-prod-network aws_security_group.legacy ${ids.sgLegacy}`,
        'changed identity-prod aws_iam_role.app /assume_role_policy',
        'deleted identity-prod aws_iam_role_policy_attachment.app_readonly app-runtime/arn:aws:iam::123456789012:policy/app-readonly',
        'changed storage-prod aws_s3_bucket.data /versioning/0/enabled',
        'changed storage-prod aws_s3_bucket_public_access_block.data /block_public_policy',
        'deleted storage-prod aws_s3_bucket.logs acme-logs-prod',
        'changed compute-prod aws_instance.web /tags/Name,/tags/hotfix',
        `deleted compute-prod aws_instance.api ${ids.api}`,
        `unmanaged aws_security_group ${ids.sgRogue}`,
        'unmanaged aws_s3_bucket shadow-exports',
        'unmanaged aws_iam_role backdoor-admin',
        'unmanaged aws_iam_role_policy app-runtime:exfil',
        'unmanaged aws_iam_role_policy_attachment ci-deployer/arn:aws:iam::123456789012:policy/admin-all',
      ].sort(),
    );
    expect(reports.flatMap((r) => r.failures)).toEqual([]);

    const all = reports.flatMap((r) => r.findings);
    const sg = all.find((f) => f.address === 'aws_security_group.app');
    expect(sg?.kind === 'changed' && sg.changes).toEqual([
      {
        path: '/ingress',
        op: 'changed',
        recorded: [],
        actual: [
          { description: null, from_port: 22, protocol: 'tcp', source: 'cidr:0.0.0.0/0', to_port: 22 },
        ],
      },
    ]);
    const web = all.find((f) => f.address === 'aws_instance.web');
    expect(web?.kind === 'changed' && web.changes).toEqual([
      { path: '/tags/Name', op: 'changed', recorded: 'web', actual: 'web-hotfixed' },
      { path: '/tags/hotfix', op: 'added', actual: 'INC-9127' },
    ]);
    const versioning = all.find((f) => f.address === 'aws_s3_bucket.data');
    expect(versioning?.kind === 'changed' && versioning.changes).toEqual([
      { path: '/versioning/0/enabled', op: 'changed', recorded: true, actual: false },
    ]);
    expect(all.every((f) => f.relationship === 'recorded!=actual')).toBe(true);
    expect(unmanaged.findings.every((f) => f.candidateAction === 'IMPORT')).toBe(true);
    expect(unmanaged.findings.find((f) => f.resourceId === 'backdoor-admin')?.arn).toBe(
      `arn:aws:iam::${account}:role/backdoor-admin`,
    );
  });

  it('reports an unreadable S3 state as a non-retryable detection failure naming unit and object', async () => {
    const missing = unit('payments-prod-network', 'iac-drift-network', {
      backend: 's3',
      bucket: stateBucket,
      key: 'prod/nope.tfstate',
    });
    const err = await activities()
      .scanUnitInventory(missing)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as ApplicationFailure).type).toBe('StateUnreadable');
    expect((err as ApplicationFailure).message).toContain(`s3://${stateBucket}/prod/nope.tfstate`);
    expect((err as ApplicationFailure).message).toContain('NoSuchKey');
  });

  it('fails the unmanaged pass when one unit’s state cannot be read (its resources would all look unmanaged)', async () => {
    const broken = [
      ...units.slice(1),
      unit('x-prod', 'iac-drift-network', { backend: 'local', path: path.join(dir, 'missing.tfstate') }),
    ];
    const err = await activities()
      .scanUnmanagedResources({ units: broken })
      .catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('StateUnreadable');
  });

  it('reports every resource it could not read as DETECTION_FAILED, never as no drift', async () => {
    // A closed port: every call fails before reaching AWS.
    const dead = { region, endpoint: 'http://127.0.0.1:9', credentials: motoCredentials, maxAttempts: 1 };
    const clients = {
      ec2: new EC2Client(dead),
      iam: new IAMClient(dead),
      s3: new S3Client({ ...dead, forcePathStyle: true }),
    };
    const state = parseTfStateV4(
      await (await import('node:fs/promises')).readFile((units[2]?.state as { path: string }).path, 'utf8'),
      'storage.tfstate',
    );
    const report = compareUnitInventory({
      unit: 'storage-prod',
      stateSource: 'storage.tfstate',
      recorded: state,
      observations: await observeAll(clients, state),
    });
    expect(report.findings).toEqual([]);
    expect(report.compared).toBe(0);
    expect(report.failures.map((f) => [f.status, f.address])).toEqual([
      ['DETECTION_FAILED', 'aws_s3_bucket.data'],
      ['DETECTION_FAILED', 'aws_s3_bucket_public_access_block.data'],
      ['DETECTION_FAILED', 'aws_s3_bucket.logs'],
    ]);
  });
});
