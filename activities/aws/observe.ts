import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import {
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  ListBucketsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AccountListing, ListedResource, Observation } from '../../domain/inventory/compare';
import type { InventoryResourceType } from '../../domain/inventory/resource-types';
import type { RecordedResource } from '../../domain/inventory/tfstate';
import { awsErrorCode, describeAwsError } from './errors';

/** The SDK clients an observation uses, all carrying the same (unit's or inventory role's) credentials. */
export interface InventoryClients {
  ec2: EC2Client;
  iam: IAMClient;
  s3: S3Client;
}

/** Error codes meaning "this resource does not exist", per call. Anything else is a read failure. */
const NOT_FOUND = new Set([
  'InvalidGroup.NotFound',
  'InvalidGroupId.Malformed',
  'InvalidInstanceID.NotFound',
  'InvalidInstanceID.Malformed',
  'NoSuchEntity',
  'NoSuchEntityException',
  'NoSuchBucket',
  'NoSuchPublicAccessBlockConfiguration',
]);

class Absent extends Error {
  override readonly name = 'Absent';
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function tagMap(tags: { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

/** EC2's IpPermissions rendered as the provider's ingress/egress blocks, one block per source. */
export function ipPermissionsToRules(
  perms: IpPermission[] | undefined,
  ownGroupId: string,
): Record<string, unknown>[] {
  const rules: Record<string, unknown>[] = [];
  for (const p of perms ?? []) {
    const common = { protocol: p.IpProtocol ?? '-1', from_port: p.FromPort ?? 0, to_port: p.ToPort ?? 0 };
    const empty = {
      cidr_blocks: [],
      ipv6_cidr_blocks: [],
      prefix_list_ids: [],
      security_groups: [],
      self: false,
    };
    for (const r of p.IpRanges ?? [])
      rules.push({ ...common, ...empty, cidr_blocks: [r.CidrIp], description: r.Description ?? '' });
    for (const r of p.Ipv6Ranges ?? [])
      rules.push({ ...common, ...empty, ipv6_cidr_blocks: [r.CidrIpv6], description: r.Description ?? '' });
    for (const r of p.PrefixListIds ?? [])
      rules.push({
        ...common,
        ...empty,
        prefix_list_ids: [r.PrefixListId],
        description: r.Description ?? '',
      });
    for (const r of p.UserIdGroupPairs ?? []) {
      if (r.GroupId === ownGroupId)
        rules.push({ ...common, ...empty, self: true, description: r.Description ?? '' });
      else
        rules.push({ ...common, ...empty, security_groups: [r.GroupId], description: r.Description ?? '' });
    }
  }
  return rules;
}

function securityGroupAttributes(sg: SecurityGroup): Record<string, unknown> {
  const id = sg.GroupId ?? '';
  return {
    id,
    arn: sg.SecurityGroupArn,
    name: sg.GroupName,
    description: sg.Description,
    vpc_id: sg.VpcId,
    ingress: ipPermissionsToRules(sg.IpPermissions, id),
    egress: ipPermissionsToRules(sg.IpPermissionsEgress, id),
    tags: tagMap(sg.Tags),
  };
}

/** Absent when `fn` fails with a not-found code; other errors propagate. */
async function orAbsent<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (NOT_FOUND.has(awsErrorCode(err))) throw new Absent();
    throw err;
  }
}

/** `fallback` when `fn` fails with one of `codes` (an optional sub-configuration that is not set). */
async function orDefault<T>(fn: () => Promise<T>, codes: string[], fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (codes.includes(awsErrorCode(err))) return fallback;
    throw err;
  }
}

async function observeAttributes(
  c: InventoryClients,
  type: InventoryResourceType,
  key: string,
  recorded: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  switch (type) {
    case 'aws_security_group': {
      const out = await orAbsent(() => c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [key] })));
      const sg = out.SecurityGroups?.[0];
      if (!sg) throw new Absent();
      return securityGroupAttributes(sg);
    }
    case 'aws_instance': {
      const out = await orAbsent(() => c.ec2.send(new DescribeInstancesCommand({ InstanceIds: [key] })));
      const inst = out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === key);
      if (!inst || inst.State?.Name === 'terminated' || inst.State?.Name === 'shutting-down')
        throw new Absent();
      return {
        id: inst.InstanceId,
        ami: inst.ImageId,
        instance_type: inst.InstanceType,
        vpc_security_group_ids: (inst.SecurityGroups ?? []).map((g) => g.GroupId),
        tags: tagMap(inst.Tags),
      };
    }
    case 'aws_iam_role': {
      const out = await orAbsent(() => c.iam.send(new GetRoleCommand({ RoleName: key })));
      const role = out.Role;
      if (!role) throw new Absent();
      return {
        id: role.RoleName,
        arn: role.Arn,
        name: role.RoleName,
        path: role.Path,
        description: role.Description ?? '',
        // URL-encoded, as IAM returns it; the domain decodes it and compares semantically.
        assume_role_policy: role.AssumeRolePolicyDocument,
        max_session_duration: role.MaxSessionDuration,
        permissions_boundary: role.PermissionsBoundary?.PermissionsBoundaryArn ?? '',
        tags: tagMap(role.Tags),
      };
    }
    case 'aws_iam_role_policy': {
      const role = str(recorded.role);
      const name = str(recorded.name);
      const out = await orAbsent(() =>
        c.iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: name })),
      );
      return { id: `${role}:${name}`, role: out.RoleName, name: out.PolicyName, policy: out.PolicyDocument };
    }
    case 'aws_iam_role_policy_attachment': {
      const role = str(recorded.role);
      const arn = str(recorded.policy_arn);
      const arns = await orAbsent(() => listAttachedPolicyArns(c.iam, role));
      if (!arns.includes(arn)) throw new Absent();
      return { role, policy_arn: arn };
    }
    case 'aws_s3_bucket': {
      const versioning = await orAbsent(() => c.s3.send(new GetBucketVersioningCommand({ Bucket: key })));
      const encryption = await orDefault(
        () => c.s3.send(new GetBucketEncryptionCommand({ Bucket: key })),
        ['ServerSideEncryptionConfigurationNotFoundError'],
        undefined,
      );
      const tagging = await orDefault(
        () => c.s3.send(new GetBucketTaggingCommand({ Bucket: key })),
        ['NoSuchTagSet'],
        undefined,
      );
      const rules = encryption?.ServerSideEncryptionConfiguration?.Rules ?? [];
      return {
        id: key,
        bucket: key,
        versioning: [
          { enabled: versioning.Status === 'Enabled', mfa_delete: versioning.MFADelete === 'Enabled' },
        ],
        server_side_encryption_configuration:
          rules.length === 0
            ? []
            : [
                {
                  rule: rules.map((r) => ({
                    apply_server_side_encryption_by_default: r.ApplyServerSideEncryptionByDefault
                      ? [
                          {
                            sse_algorithm: r.ApplyServerSideEncryptionByDefault.SSEAlgorithm ?? '',
                            kms_master_key_id: r.ApplyServerSideEncryptionByDefault.KMSMasterKeyID ?? '',
                          },
                        ]
                      : [],
                    bucket_key_enabled: r.BucketKeyEnabled ?? false,
                  })),
                },
              ],
        tags: tagMap(tagging?.TagSet),
      };
    }
    case 'aws_s3_bucket_public_access_block': {
      const out = await orAbsent(() => c.s3.send(new GetPublicAccessBlockCommand({ Bucket: key })));
      const cfg = out.PublicAccessBlockConfiguration ?? {};
      return {
        id: key,
        bucket: key,
        block_public_acls: cfg.BlockPublicAcls ?? false,
        block_public_policy: cfg.BlockPublicPolicy ?? false,
        ignore_public_acls: cfg.IgnorePublicAcls ?? false,
        restrict_public_buckets: cfg.RestrictPublicBuckets ?? false,
      };
    }
  }
}

async function listAttachedPolicyArns(iam: IAMClient, role: string): Promise<string[]> {
  const arns: string[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role, Marker: marker }));
    for (const p of out.AttachedPolicies ?? []) if (p.PolicyArn) arns.push(p.PolicyArn);
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return arns;
}

async function listRolePolicyNames(iam: IAMClient, role: string): Promise<string[]> {
  const names: string[] = [];
  let marker: string | undefined;
  do {
    const out = await iam.send(new ListRolePoliciesCommand({ RoleName: role, Marker: marker }));
    names.push(...(out.PolicyNames ?? []));
    marker = out.IsTruncated ? out.Marker : undefined;
  } while (marker);
  return names;
}

/**
 * Observes one recorded resource of a supported type in the actual plane. Not-found answers mean
 * `absent`; any other error (access denied, throttling, a network failure) is an `error`
 * observation, so the comparison reports a detection failure for it instead of "no drift".
 */
export async function observeResource(c: InventoryClients, resource: RecordedResource): Promise<Observation> {
  if (!resource.supported || resource.key === undefined)
    return { status: 'error', code: 'Unsupported', message: 'not observable' };
  try {
    return {
      status: 'present',
      attributes: await observeAttributes(
        c,
        resource.type as InventoryResourceType,
        resource.key,
        resource.attributes,
      ),
    };
  } catch (err) {
    if (err instanceof Absent) return { status: 'absent' };
    return { status: 'error', code: awsErrorCode(err), message: describeAwsError(err) };
  }
}

/** Observes every supported resource of a unit, a few at a time. Keyed by address. */
export async function observeAll(
  c: InventoryClients,
  resources: RecordedResource[],
  concurrency = 4,
): Promise<Map<string, Observation>> {
  const out = new Map<string, Observation>();
  const queue = resources.filter((r) => r.supported && r.key !== undefined);
  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let r = queue.shift(); r; r = queue.shift()) out.set(r.address, await observeResource(c, r));
  });
  await Promise.all(workers);
  return out;
}

const SERVICE_ROLE_PATHS = ['/aws-service-role/', '/aws-reserved/'];

/**
 * Lists the account's resources of the listed types (region-scoped for EC2), skipping what AWS
 * itself owns: each VPC's `default` security group, service-linked and reserved roles,
 * terminated instances. Inline policies and attachments are listed for `managedRoles` only.
 * A listing that fails is reported as a failure for that type, never as an empty account.
 */
export async function listAccountInventory(
  c: InventoryClients,
  managedRoles: readonly string[],
): Promise<AccountListing> {
  const resources: ListedResource[] = [];
  const failures: AccountListing['failures'] = [];
  const attempt = async (type: InventoryResourceType, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      failures.push({ type, code: awsErrorCode(err), message: describeAwsError(err) });
    }
  };
  await attempt('aws_security_group', async () => {
    let token: string | undefined;
    do {
      const out = await c.ec2.send(new DescribeSecurityGroupsCommand({ NextToken: token }));
      for (const sg of out.SecurityGroups ?? []) {
        if (!sg.GroupId || sg.GroupName === 'default') continue;
        resources.push({
          type: 'aws_security_group',
          key: sg.GroupId,
          ...(sg.SecurityGroupArn ? { arn: sg.SecurityGroupArn } : {}),
        });
      }
      token = out.NextToken;
    } while (token);
  });
  await attempt('aws_instance', async () => {
    let token: string | undefined;
    do {
      const out = await c.ec2.send(new DescribeInstancesCommand({ NextToken: token }));
      for (const inst of (out.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!inst.InstanceId || inst.State?.Name === 'terminated' || inst.State?.Name === 'shutting-down')
          continue;
        resources.push({ type: 'aws_instance', key: inst.InstanceId });
      }
      token = out.NextToken;
    } while (token);
  });
  await attempt('aws_iam_role', async () => {
    let marker: string | undefined;
    do {
      const out = await c.iam.send(new ListRolesCommand({ Marker: marker }));
      for (const role of out.Roles ?? []) {
        if (!role.RoleName || SERVICE_ROLE_PATHS.some((p) => (role.Path ?? '/').startsWith(p))) continue;
        resources.push({ type: 'aws_iam_role', key: role.RoleName, ...(role.Arn ? { arn: role.Arn } : {}) });
      }
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
  });
  for (const role of [...new Set(managedRoles)].sort()) {
    await attempt('aws_iam_role_policy', async () => {
      const names = await orDefault(() => listRolePolicyNames(c.iam, role), ['NoSuchEntity'], []);
      for (const name of names) resources.push({ type: 'aws_iam_role_policy', key: `${role}:${name}` });
    });
    await attempt('aws_iam_role_policy_attachment', async () => {
      const arns = await orDefault(() => listAttachedPolicyArns(c.iam, role), ['NoSuchEntity'], []);
      for (const arn of arns)
        resources.push({ type: 'aws_iam_role_policy_attachment', key: `${role}/${arn}` });
    });
  }
  await attempt('aws_s3_bucket', async () => {
    let token: string | undefined;
    do {
      const out = await c.s3.send(new ListBucketsCommand({ ContinuationToken: token }));
      for (const b of out.Buckets ?? [])
        if (b.Name) resources.push({ type: 'aws_s3_bucket', key: b.Name, arn: `arn:aws:s3:::${b.Name}` });
      token = out.ContinuationToken;
    } while (token);
  });
  return { resources, failures };
}
