import { z } from 'zod';
import { ActorTypeSchema, actorName, classifyActor, type ActorConfig } from './actor';
import type { CloudTrailRecord } from './cloudtrail';

/** The audit correlation attached to a finding (domain text §11.2, plus eventName/userAgent/actorType). */
export const AuditCorrelationSchema = z.object({
  actor: z.string(),
  actorType: ActorTypeSchema,
  source: z.literal('cloudtrail'),
  eventTime: z.string(),
  eventName: z.string(),
  userAgent: z.string().optional(),
  principalArn: z.string().optional(),
  eventId: z.string().optional(),
});
/** The audit correlation attached to a finding. */
export type AuditCorrelation = z.infer<typeof AuditCorrelationSchema>;

/** What to correlate: the resource a finding is about, and what kind of change was seen. */
export const AuditTargetSchema = z.object({
  type: z.string(),
  /** The identity key of the inventory scan: sg/instance id, role or bucket name, `role:policy`, `role/policyArn`. */
  resourceId: z.string(),
  arn: z.string().optional(),
  findingKind: z.enum(['changed', 'deleted', 'unmanaged']).optional(),
  changedPaths: z.array(z.string()).optional(),
  /** Only events at or before this instant explain the finding. */
  detectedAt: z.string().optional(),
  /** Overrides the event names derived from the type, kind and paths. */
  eventNames: z.array(z.string()).optional(),
});
/** What to correlate. */
export type AuditTarget = z.infer<typeof AuditTargetSchema>;

interface TypeSpec {
  eventSource: string;
  mutating: string[];
  created: string[];
  deleted: string[];
  byPath: Record<string, string[]>;
  matches(record: CloudTrailRecord, target: AuditTarget): boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const params = (r: CloudTrailRecord): Record<string, unknown> =>
  isRecord(r.requestParameters) ? r.requestParameters : {};

function collectStrings(v: unknown, out: Set<string>, depth = 0): void {
  if (depth > 12) return;
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) for (const x of v) collectStrings(x, out, depth + 1);
  else if (isRecord(v)) for (const x of Object.values(v)) collectStrings(x, out, depth + 1);
}

/** True when the id (or ARN) appears anywhere in the request, the response or `resources[]`. */
function mentions(record: CloudTrailRecord, target: AuditTarget): boolean {
  const strings = new Set<string>();
  collectStrings(record.requestParameters, strings);
  collectStrings(record.responseElements, strings);
  for (const r of record.resources ?? []) if (r.ARN) strings.add(r.ARN);
  return strings.has(target.resourceId) || (target.arn !== undefined && strings.has(target.arn));
}

function resourceArns(record: CloudTrailRecord): string[] {
  const out = (record.resources ?? []).map((r) => r.ARN).filter((x): x is string => typeof x === 'string');
  const resp = isRecord(record.responseElements) ? record.responseElements : {};
  if (isRecord(resp.role) && typeof resp.role.arn === 'string') out.push(resp.role.arn);
  return out;
}

const roleNameMatches = (record: CloudTrailRecord, role: string, arn?: string): boolean =>
  params(record).roleName === role || (arn !== undefined && resourceArns(record).includes(arn));

const SPECS: Record<string, TypeSpec> = {
  aws_security_group: {
    eventSource: 'ec2.amazonaws.com',
    mutating: [
      'AuthorizeSecurityGroupIngress',
      'AuthorizeSecurityGroupEgress',
      'RevokeSecurityGroupIngress',
      'RevokeSecurityGroupEgress',
      'ModifySecurityGroupRules',
      'UpdateSecurityGroupRuleDescriptionsIngress',
      'UpdateSecurityGroupRuleDescriptionsEgress',
      'CreateSecurityGroup',
      'DeleteSecurityGroup',
      'CreateTags',
      'DeleteTags',
    ],
    created: ['CreateSecurityGroup'],
    deleted: ['DeleteSecurityGroup'],
    byPath: {
      '/ingress': [
        'AuthorizeSecurityGroupIngress',
        'RevokeSecurityGroupIngress',
        'ModifySecurityGroupRules',
        'UpdateSecurityGroupRuleDescriptionsIngress',
      ],
      '/egress': [
        'AuthorizeSecurityGroupEgress',
        'RevokeSecurityGroupEgress',
        'ModifySecurityGroupRules',
        'UpdateSecurityGroupRuleDescriptionsEgress',
      ],
      '/tags': ['CreateTags', 'DeleteTags'],
    },
    matches: mentions,
  },
  aws_instance: {
    eventSource: 'ec2.amazonaws.com',
    mutating: [
      'RunInstances',
      'TerminateInstances',
      'ModifyInstanceAttribute',
      'ModifyNetworkInterfaceAttribute',
      'CreateTags',
      'DeleteTags',
      'StartInstances',
      'StopInstances',
    ],
    created: ['RunInstances'],
    deleted: ['TerminateInstances'],
    byPath: {
      '/instance_type': ['ModifyInstanceAttribute'],
      '/vpc_security_group_ids': ['ModifyInstanceAttribute', 'ModifyNetworkInterfaceAttribute'],
      '/tags': ['CreateTags', 'DeleteTags'],
    },
    matches: mentions,
  },
  aws_iam_role: {
    eventSource: 'iam.amazonaws.com',
    mutating: [
      'CreateRole',
      'DeleteRole',
      'UpdateAssumeRolePolicy',
      'UpdateRole',
      'UpdateRoleDescription',
      'TagRole',
      'UntagRole',
      'PutRolePermissionsBoundary',
      'DeleteRolePermissionsBoundary',
    ],
    created: ['CreateRole'],
    deleted: ['DeleteRole'],
    byPath: {
      '/assume_role_policy': ['UpdateAssumeRolePolicy'],
      '/tags': ['TagRole', 'UntagRole'],
      '/description': ['UpdateRole', 'UpdateRoleDescription'],
      '/max_session_duration': ['UpdateRole'],
      '/permissions_boundary': ['PutRolePermissionsBoundary', 'DeleteRolePermissionsBoundary'],
    },
    matches: (r, t) => roleNameMatches(r, t.resourceId, t.arn),
  },
  aws_iam_role_policy: {
    eventSource: 'iam.amazonaws.com',
    mutating: ['PutRolePolicy', 'DeleteRolePolicy'],
    created: ['PutRolePolicy'],
    deleted: ['DeleteRolePolicy'],
    byPath: { '/policy': ['PutRolePolicy'] },
    matches: (r, t) => {
      const i = t.resourceId.indexOf(':');
      return (
        params(r).roleName === t.resourceId.slice(0, i) && params(r).policyName === t.resourceId.slice(i + 1)
      );
    },
  },
  aws_iam_role_policy_attachment: {
    eventSource: 'iam.amazonaws.com',
    mutating: ['AttachRolePolicy', 'DetachRolePolicy'],
    created: ['AttachRolePolicy'],
    deleted: ['DetachRolePolicy'],
    byPath: {},
    matches: (r, t) => {
      // Role names cannot contain '/', so the first '/' separates role and policy ARN.
      const i = t.resourceId.indexOf('/');
      return (
        params(r).roleName === t.resourceId.slice(0, i) && params(r).policyArn === t.resourceId.slice(i + 1)
      );
    },
  },
  aws_s3_bucket: {
    eventSource: 's3.amazonaws.com',
    mutating: [
      'CreateBucket',
      'DeleteBucket',
      'PutBucketVersioning',
      'PutBucketEncryption',
      'DeleteBucketEncryption',
      'PutBucketTagging',
      'DeleteBucketTagging',
      'PutBucketPolicy',
      'DeleteBucketPolicy',
      'PutBucketAcl',
    ],
    created: ['CreateBucket'],
    deleted: ['DeleteBucket'],
    byPath: {
      '/versioning': ['PutBucketVersioning'],
      '/server_side_encryption_configuration': ['PutBucketEncryption', 'DeleteBucketEncryption'],
      '/tags': ['PutBucketTagging', 'DeleteBucketTagging'],
    },
    matches: (r, t) =>
      params(r).bucketName === t.resourceId || (t.arn !== undefined && resourceArns(r).includes(t.arn)),
  },
  aws_s3_bucket_public_access_block: {
    eventSource: 's3.amazonaws.com',
    mutating: ['PutBucketPublicAccessBlock', 'DeleteBucketPublicAccessBlock'],
    created: ['PutBucketPublicAccessBlock'],
    deleted: ['DeleteBucketPublicAccessBlock', 'DeleteBucket'],
    byPath: {},
    matches: (r, t) => params(r).bucketName === t.resourceId,
  },
};

const READ_ONLY_NAME = /^(Get|List|Describe|Head|Lookup)/;

/**
 * The event names that can explain a finding: for `unmanaged`, the creating calls; for
 * `deleted`, the deleting calls; for `changed`, the calls that touch its changed paths (all
 * mutating calls of the type when a path has no specific entry). Undefined for unknown types.
 */
export function relevantEventNames(target: AuditTarget): string[] | undefined {
  if (target.eventNames) return target.eventNames;
  const spec = SPECS[target.type];
  if (!spec) return undefined;
  if (target.findingKind === 'unmanaged') return spec.created;
  if (target.findingKind === 'deleted') return spec.deleted;
  if (target.findingKind === 'changed' && target.changedPaths && target.changedPaths.length > 0) {
    const names = new Set<string>();
    for (const path of target.changedPaths) {
      const top = `/${path.split('/')[1] ?? ''}`;
      for (const n of spec.byPath[top] ?? spec.mutating) names.add(n);
    }
    return [...names];
  }
  return spec.mutating;
}

/**
 * The successful, mutating records that touched the target's resource (by id/ARN, in the type's
 * service) with a relevant eventName, oldest first. Failed calls (errorCode) changed nothing and
 * are left out.
 */
export function matchEvents(target: AuditTarget, records: readonly CloudTrailRecord[]): CloudTrailRecord[] {
  const spec = SPECS[target.type];
  const names = relevantEventNames(target);
  const limit = target.detectedAt ? Date.parse(target.detectedAt) : undefined;
  const out = records.filter((r) => {
    if (!r.eventName || r.errorCode || r.readOnly === true || READ_ONLY_NAME.test(r.eventName)) return false;
    if (names && !names.includes(r.eventName)) return false;
    if (limit !== undefined && Date.parse(r.eventTime) > limit) return false;
    if (spec) return r.eventSource === spec.eventSource && spec.matches(r, target);
    return mentions(r, target);
  });
  return out.sort((a, b) => Date.parse(a.eventTime) - Date.parse(b.eventTime));
}

/** Builds the correlation for one record. */
export function toAuditCorrelation(record: CloudTrailRecord, config: ActorConfig = {}): AuditCorrelation {
  return {
    actor: actorName(record),
    actorType: classifyActor(record, config),
    source: 'cloudtrail',
    eventTime: record.eventTime,
    eventName: record.eventName ?? 'unknown',
    ...(record.userAgent !== undefined ? { userAgent: record.userAgent } : {}),
    ...(record.userIdentity?.arn !== undefined ? { principalArn: record.userIdentity.arn } : {}),
    ...(record.eventID !== undefined ? { eventId: record.eventID } : {}),
  };
}

/**
 * Correlates a finding with the audit trail: the most recent matching event (the one that left
 * the resource as it is now), or null when no record explains it. `matched` counts every match.
 */
export function correlateFinding(
  target: AuditTarget,
  records: readonly CloudTrailRecord[],
  config: ActorConfig = {},
): { auditCorrelation: AuditCorrelation | null; matched: number } {
  const events = matchEvents(target, records);
  const last = events[events.length - 1];
  return { auditCorrelation: last ? toAuditCorrelation(last, config) : null, matched: events.length };
}
