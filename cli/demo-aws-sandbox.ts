import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { DemoChange } from './demo-sandbox';

/**
 * The demo's AWS sandbox: the `payments-prod-network` stack of registry/examples/acme, seeded in a
 * moto server on loopback (account 111122223333, eu-west-1): a security group and an IAM role,
 * the tfstate v4 that records them in the unit's S3 backend, then one out-of-band change through
 * the AWS SDK (port 22 opened to the world) with the CloudTrail record it would leave.
 */

/** The sandbox unit, as named in registry/examples/acme. */
export const DEMO_AWS_UNIT = 'payments-prod-network';
/** The account, region, state location and role of that unit in the registry. */
export const DEMO_AWS = {
  account: '111122223333',
  region: 'eu-west-1',
  stateBucket: 'acme-tfstate-111122223333',
  stateKey: 'prod/eu-west-1/payments/network/terraform.tfstate',
  unitRole: 'drift-payments-prod-network',
} as const;
/** Fake keys for moto: it accepts anything, and nothing real is ever used. */
export const DEMO_AWS_CREDENTIALS = { accessKeyId: 'AKIADEMOSANDBOX00001', secretAccessKey: 'demo-sandbox-not-a-secret' };
/** A network approver who made the change herself: the validator must refuse her approval. */
export const DEMO_AWS_ACTOR = 'elena.rossi@acme.example';
/** A network approver who did not. */
export const DEMO_AWS_APPROVER = 'noah.fischer@acme.example';
/** The second network approver: the security-group finding is CRITICAL, so two distinct people approve it. */
export const DEMO_AWS_SECOND_APPROVER = 'marco.bianchi@acme.example';

const PROVIDER = 'provider["registry.opentofu.org/hashicorp/aws"]';
const TRUST_EC2 = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });

const rule = (r: { protocol: string; from: number; to: number; cidrs: string[]; description?: string }) => ({
  cidr_blocks: r.cidrs,
  description: r.description ?? '',
  from_port: r.from,
  ipv6_cidr_blocks: [],
  prefix_list_ids: [],
  protocol: r.protocol,
  security_groups: [],
  self: false,
  to_port: r.to,
});

/** Where the demo's sandbox files go: the OIDC token the worker presents, and the CloudTrail folder. */
export function awsSandboxPaths(home: string): { tokenFile: string; cloudTrailDir: string } {
  return { tokenFile: path.join(home, 'aws-sandbox', 'oidc-token'), cloudTrailDir: path.join(home, 'aws-sandbox', 'cloudtrail') };
}

/** Seeds the sandbox account in moto at `endpoint` and makes the out-of-band change. */
export async function seedAwsSandbox(endpoint: string, home: string, now: Date): Promise<DemoChange[]> {
  const base = { region: DEMO_AWS.region, endpoint, credentials: DEMO_AWS_CREDENTIALS };
  const ec2 = new EC2Client(base);
  const iam = new IAMClient(base);
  const s3 = new S3Client({ ...base, forcePathStyle: true });
  const { tokenFile, cloudTrailDir } = awsSandboxPaths(home);
  await rm(path.dirname(tokenFile), { recursive: true, force: true });
  await mkdir(cloudTrailDir, { recursive: true });
  // A stand-in OIDC token (moto does not verify signatures); production mounts a projected token.
  await writeFile(tokenFile, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJkcml2cGxhbmUtZGVtbyJ9.');

  const oidcTrust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Federated: `arn:aws:iam::${DEMO_AWS.account}:oidc-provider/token.actions.githubusercontent.com` }, Action: 'sts:AssumeRoleWithWebIdentity' }],
  });
  await iam.send(new CreateRoleCommand({ RoleName: DEMO_AWS.unitRole, AssumeRolePolicyDocument: oidcTrust }));
  await iam.send(new CreateRoleCommand({ RoleName: 'payments-app', AssumeRolePolicyDocument: TRUST_EC2, Description: 'payments app instances' }));
  await s3.send(new CreateBucketCommand({ Bucket: DEMO_AWS.stateBucket, CreateBucketConfiguration: { LocationConstraint: DEMO_AWS.region } }));

  const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
  const vpcId = vpcs.Vpcs?.[0]?.VpcId ?? '';
  const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'payments-app', Description: 'payments app tier', VpcId: vpcId }));
  const groupId = sg.GroupId ?? '';
  const https = rule({ protocol: 'tcp', from: 443, to: 443, cidrs: ['10.0.0.0/8'], description: 'https from the VPC' });
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'https from the VPC' }] }] }),
  );

  // What `tofu apply` would have recorded for both resources.
  const state = {
    version: 4,
    terraform_version: '1.8.5',
    serial: 12,
    lineage: '7d2f3c1a-4b6e-4f0a-9c1d-2e3f4a5b6c7d',
    outputs: {},
    resources: [
      {
        mode: 'managed',
        type: 'aws_security_group',
        name: 'payments_app',
        provider: PROVIDER,
        instances: [
          {
            schema_version: 1,
            attributes: {
              arn: `arn:aws:ec2:${DEMO_AWS.region}:${DEMO_AWS.account}:security-group/${groupId}`,
              description: 'payments app tier',
              egress: [rule({ protocol: '-1', from: 0, to: 0, cidrs: ['0.0.0.0/0'] })],
              id: groupId,
              ingress: [https],
              name: 'payments-app',
              name_prefix: '',
              owner_id: DEMO_AWS.account,
              revoke_rules_on_delete: false,
              tags: null,
              tags_all: {},
              timeouts: null,
              vpc_id: vpcId,
            },
            sensitive_attributes: [],
          },
        ],
      },
      {
        mode: 'managed',
        type: 'aws_iam_role',
        name: 'payments_app',
        provider: PROVIDER,
        instances: [
          {
            schema_version: 0,
            attributes: {
              arn: `arn:aws:iam::${DEMO_AWS.account}:role/payments-app`,
              assume_role_policy: TRUST_EC2,
              description: 'payments app instances',
              force_detach_policies: false,
              id: 'payments-app',
              inline_policy: [],
              managed_policy_arns: [],
              max_session_duration: 3600,
              name: 'payments-app',
              name_prefix: '',
              path: '/',
              permissions_boundary: '',
              tags: null,
              tags_all: {},
            },
            sensitive_attributes: [],
          },
        ],
      },
    ],
    check_results: null,
  };
  await s3.send(new PutObjectCommand({ Bucket: DEMO_AWS.stateBucket, Key: DEMO_AWS.stateKey, Body: JSON.stringify(state, null, 2) }));

  // The out-of-band change: an engineer opens SSH to the world from the CLI, outside any PR.
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }),
  );
  const eventTime = new Date(now.getTime() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  await writeFile(
    path.join(cloudTrailDir, `${DEMO_AWS.account}_CloudTrail_${DEMO_AWS.region}_demo.json`),
    `${JSON.stringify(
      {
        Records: [
          {
            eventVersion: '1.09',
            eventTime,
            eventSource: 'ec2.amazonaws.com',
            eventName: 'AuthorizeSecurityGroupIngress',
            awsRegion: DEMO_AWS.region,
            sourceIPAddress: '198.51.100.23',
            userAgent: 'aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9',
            userIdentity: {
              type: 'AssumedRole',
              principalId: `AROAEXAMPLEDEMO00001:${DEMO_AWS_ACTOR}`,
              arn: `arn:aws:sts::${DEMO_AWS.account}:assumed-role/AWSReservedSSO_NetworkAdmin_0123456789abcdef/${DEMO_AWS_ACTOR}`,
              accountId: DEMO_AWS.account,
              sessionContext: {
                sessionIssuer: {
                  type: 'Role',
                  principalId: 'AROAEXAMPLEDEMO00001',
                  arn: `arn:aws:iam::${DEMO_AWS.account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_NetworkAdmin_0123456789abcdef`,
                  accountId: DEMO_AWS.account,
                  userName: 'AWSReservedSSO_NetworkAdmin_0123456789abcdef',
                },
                attributes: { creationDate: eventTime, mfaAuthenticated: 'false' },
              },
            },
            requestParameters: { groupId, ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] } },
            responseElements: { _return: true },
            requestID: '5b1f2d3c-0e4a-4b7c-9d8e-1f2a3b4c5d6e',
            eventID: '8c7d6e5f-4a3b-4c2d-8e1f-0a9b8c7d6e5f',
            readOnly: false,
            eventType: 'AwsApiCall',
            managementEvent: true,
            recipientAccountId: DEMO_AWS.account,
          },
        ],
      },
      null,
      2,
    )}\n`,
  );
  return [{ unit: DEMO_AWS_UNIT, resourceRef: 'aws_security_group.payments_app', actor: { id: DEMO_AWS_ACTOR, type: 'human' }, what: 'opened tcp/22 to 0.0.0.0/0 with the AWS CLI' }];
}
