/**
 * Builds tfstate v4 documents in the shape of the real OpenTofu fixtures
 * (../shared/fixtures/tofu/state), with AWS-provider attribute names, from what a test seeded.
 */

export interface StateResource {
  type: string;
  name: string;
  attributes: Record<string, unknown>;
  dependencies?: string[];
}

const PROVIDER = 'provider["registry.opentofu.org/hashicorp/aws"]';

/** A whole tfstate v4 document. */
export function tfstate(resources: StateResource[], serial = 7): Record<string, unknown> {
  return {
    version: 4,
    terraform_version: '1.8.5',
    serial,
    lineage: '3f1c2a7e-5b7d-4c1e-9a51-0d6f2b8e4c11',
    outputs: {},
    resources: resources.map((r) => ({
      mode: 'managed',
      type: r.type,
      name: r.name,
      provider: PROVIDER,
      instances: [
        {
          schema_version: r.type === 'aws_security_group' ? 1 : 0,
          attributes: r.attributes,
          sensitive_attributes: [],
          private: 'bnVsbA==',
          ...(r.dependencies ? { dependencies: r.dependencies } : {}),
        },
      ],
    })),
    check_results: null,
  };
}

/** One provider ingress/egress block. */
export function sgRule(r: {
  protocol: string;
  from: number;
  to: number;
  cidrs?: string[];
  groups?: string[];
  self?: boolean;
  description?: string;
}): Record<string, unknown> {
  return {
    cidr_blocks: r.cidrs ?? [],
    description: r.description ?? '',
    from_port: r.from,
    ipv6_cidr_blocks: [],
    prefix_list_ids: [],
    protocol: r.protocol,
    security_groups: r.groups ?? [],
    self: r.self ?? false,
    to_port: r.to,
  };
}

export function securityGroup(
  name: string,
  a: {
    id: string;
    groupName: string;
    description: string;
    vpcId: string;
    account: string;
    region: string;
    ingress: unknown[];
    egress: unknown[];
    tags?: Record<string, string>;
  },
): StateResource {
  return {
    type: 'aws_security_group',
    name,
    attributes: {
      arn: `arn:aws:ec2:${a.region}:${a.account}:security-group/${a.id}`,
      description: a.description,
      egress: a.egress,
      id: a.id,
      ingress: a.ingress,
      name: a.groupName,
      name_prefix: '',
      owner_id: a.account,
      revoke_rules_on_delete: false,
      tags: a.tags ?? null,
      tags_all: a.tags ?? {},
      timeouts: null,
      vpc_id: a.vpcId,
    },
  };
}

export function iamRole(
  name: string,
  a: {
    roleName: string;
    account: string;
    trust: string;
    description?: string;
    tags?: Record<string, string>;
  },
): StateResource {
  return {
    type: 'aws_iam_role',
    name,
    attributes: {
      arn: `arn:aws:iam::${a.account}:role/${a.roleName}`,
      assume_role_policy: a.trust,
      create_date: '2026-07-01T09:00:00Z',
      description: a.description ?? '',
      force_detach_policies: false,
      id: a.roleName,
      inline_policy: [],
      managed_policy_arns: [],
      max_session_duration: 3600,
      name: a.roleName,
      name_prefix: '',
      path: '/',
      permissions_boundary: '',
      tags: a.tags ?? null,
      tags_all: a.tags ?? {},
      unique_id: 'AROAEXAMPLEUNIQUEID01',
    },
  };
}

export function iamRolePolicy(
  name: string,
  a: { role: string; policyName: string; policy: string },
): StateResource {
  return {
    type: 'aws_iam_role_policy',
    name,
    attributes: {
      id: `${a.role}:${a.policyName}`,
      name: a.policyName,
      name_prefix: '',
      policy: a.policy,
      role: a.role,
    },
  };
}

export function iamRolePolicyAttachment(name: string, a: { role: string; policyArn: string }): StateResource {
  return {
    type: 'aws_iam_role_policy_attachment',
    name,
    // The provider's id is random (`<role>-<timestamp>`), which is why the scan matches on role + policy_arn.
    attributes: { id: `${a.role}-20260701090000000000000001`, policy_arn: a.policyArn, role: a.role },
  };
}

export function s3Bucket(
  name: string,
  a: { bucket: string; region: string; versioning: boolean; sse?: string; tags?: Record<string, string> },
): StateResource {
  return {
    type: 'aws_s3_bucket',
    name,
    attributes: {
      acceleration_status: '',
      acl: null,
      arn: `arn:aws:s3:::${a.bucket}`,
      bucket: a.bucket,
      bucket_domain_name: `${a.bucket}.s3.amazonaws.com`,
      bucket_prefix: '',
      cors_rule: [],
      force_destroy: false,
      grant: [],
      hosted_zone_id: 'Z3AQBSTGFYJSTF',
      id: a.bucket,
      lifecycle_rule: [],
      logging: [],
      object_lock_configuration: [],
      object_lock_enabled: false,
      policy: '',
      region: a.region,
      replication_configuration: [],
      request_payer: 'BucketOwner',
      server_side_encryption_configuration: a.sse
        ? [
            {
              rule: [
                {
                  apply_server_side_encryption_by_default: [{ kms_master_key_id: '', sse_algorithm: a.sse }],
                  bucket_key_enabled: false,
                },
              ],
            },
          ]
        : [],
      tags: a.tags ?? null,
      tags_all: a.tags ?? {},
      timeouts: null,
      versioning: [{ enabled: a.versioning, mfa_delete: false }],
      website: [],
    },
  };
}

export function publicAccessBlock(
  name: string,
  bucket: string,
  flags: { acls: boolean; policy: boolean; ignore: boolean; restrict: boolean },
): StateResource {
  return {
    type: 'aws_s3_bucket_public_access_block',
    name,
    attributes: {
      block_public_acls: flags.acls,
      block_public_policy: flags.policy,
      bucket,
      id: bucket,
      ignore_public_acls: flags.ignore,
      restrict_public_buckets: flags.restrict,
    },
  };
}

export function instance(
  name: string,
  a: {
    id: string;
    ami: string;
    type: string;
    sgIds: string[];
    account: string;
    region: string;
    tags?: Record<string, string>;
  },
): StateResource {
  return {
    type: 'aws_instance',
    name,
    attributes: {
      ami: a.ami,
      arn: `arn:aws:ec2:${a.region}:${a.account}:instance/${a.id}`,
      associate_public_ip_address: false,
      id: a.id,
      instance_state: 'running',
      instance_type: a.type,
      security_groups: [],
      subnet_id: '',
      tags: a.tags ?? null,
      tags_all: a.tags ?? {},
      vpc_security_group_ids: a.sgIds,
    },
  };
}
