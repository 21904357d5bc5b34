import { canonicalJson, normalizePolicyDocument } from './policy-document';
import type { InventoryResourceType } from './resource-types';

/**
 * One compared attribute, already canonical. `scalar` and `nested` compare structurally (nested
 * yields pointers into the value, e.g. `/versioning/0/enabled`); `set` compares as a set of
 * canonical members (order and grouping never matter); `map` compares per key (`/tags/Env`);
 * `policy` compares IAM documents semantically and reports the attribute itself.
 */
export type ComparableAttribute =
  | { kind: 'scalar'; value: unknown }
  | { kind: 'nested'; value: unknown }
  | { kind: 'set'; value: string[] }
  | { kind: 'map'; value: Record<string, string> }
  | { kind: 'policy'; value: unknown };

/** A resource of either plane reduced to the attributes the scan compares, keyed by tfstate attribute name. */
export type ComparableResource = Record<string, ComparableAttribute>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStrings = (v: unknown): string[] => asList(v).filter((x): x is string => typeof x === 'string');
/** Empty strings and null mean "not set" in both planes. */
const optionalString = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const bool = (v: unknown): boolean => v === true || v === 'true';
const int = (v: unknown): number | null => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
};

const scalar = (value: unknown): ComparableAttribute => ({
  kind: 'scalar',
  value: value === undefined ? null : value,
});
const nested = (value: unknown): ComparableAttribute => ({ kind: 'nested', value: canonicalJson(value) });
const set = (members: string[]): ComparableAttribute => ({
  kind: 'set',
  value: [...new Set(members)].sort(),
});
const policy = (doc: unknown, attribute: string): ComparableAttribute => ({
  kind: 'policy',
  value: normalizePolicyDocument(doc, attribute),
});

/** Tags as a flat map. AWS-reserved `aws:` keys are not the user's and are left out, as the provider does. */
export function normalizeTags(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const k of Object.keys(v).sort()) {
    const val = v[k];
    if (k.startsWith('aws:')) continue;
    out[k] = typeof val === 'string' ? val : JSON.stringify(val);
  }
  return out;
}

/** Prefer `tags_all` (includes provider default_tags, which the cloud also carries), then `tags`. */
const tagsOf = (attrs: Record<string, unknown>): ComparableAttribute => ({
  kind: 'map',
  value: normalizeTags(isRecord(attrs.tags_all) ? attrs.tags_all : attrs.tags),
});

const PROTOCOLS: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };

/**
 * Splits security group rules into atomic members, one per source (CIDR, IPv6 CIDR, prefix list,
 * security group, self), so that state's grouping and EC2's grouping of the same rules compare equal.
 */
export function atomicSecurityGroupRules(rules: unknown): string[] {
  const out: string[] = [];
  for (const rule of asList(rules)) {
    if (!isRecord(rule)) continue;
    const rawProtocol = String(rule.protocol ?? '-1').toLowerCase();
    const protocol = PROTOCOLS[rawProtocol] ?? rawProtocol;
    const allTraffic = protocol === '-1';
    const from = allTraffic ? 0 : (int(rule.from_port) ?? 0);
    const to = allTraffic ? 0 : (int(rule.to_port) ?? 0);
    const description = optionalString(rule.description);
    const sources = [
      ...asStrings(rule.cidr_blocks).map((c) => `cidr:${c}`),
      ...asStrings(rule.ipv6_cidr_blocks).map((c) => `ipv6:${c}`),
      ...asStrings(rule.prefix_list_ids).map((c) => `pl:${c}`),
      ...asStrings(rule.security_groups).map((c) => `sg:${c}`),
      ...(bool(rule.self) ? ['self'] : []),
    ];
    for (const source of sources) {
      out.push(
        JSON.stringify(canonicalJson({ protocol, from_port: from, to_port: to, source, description })),
      );
    }
  }
  return out;
}

function versioning(v: unknown): unknown {
  const first = asList(v)[0];
  const rec = isRecord(first) ? first : {};
  return [{ enabled: bool(rec.enabled), mfa_delete: bool(rec.mfa_delete) }];
}

function encryption(v: unknown): unknown {
  return asList(v)
    .filter(isRecord)
    .map((cfg) => ({
      rule: asList(cfg.rule)
        .filter(isRecord)
        .map((rule) => ({
          apply_server_side_encryption_by_default: asList(rule.apply_server_side_encryption_by_default)
            .filter(isRecord)
            .map((d) => ({
              kms_master_key_id: optionalString(d.kms_master_key_id) ?? '',
              sse_algorithm: optionalString(d.sse_algorithm) ?? '',
            })),
          bucket_key_enabled: bool(rule.bucket_key_enabled),
        })),
    }));
}

/**
 * Reduces a resource's tfstate-named attributes (from state, or as the observer renders the
 * cloud's answer) to the attributes the scan compares, canonicalized so that only real
 * differences remain. Computed-only attributes (arn, owner_id, unique_id, create_date) are left
 * out, and so are a role's exclusive `managed_policy_arns`/`inline_policy`: attachments and
 * inline policies are compared as their own resources.
 */
export function toComparable(
  type: InventoryResourceType,
  attrs: Record<string, unknown>,
): ComparableResource {
  switch (type) {
    case 'aws_security_group':
      return {
        name: scalar(attrs.name),
        description: scalar(optionalString(attrs.description)),
        vpc_id: scalar(optionalString(attrs.vpc_id)),
        ingress: set(atomicSecurityGroupRules(attrs.ingress)),
        egress: set(atomicSecurityGroupRules(attrs.egress)),
        tags: tagsOf(attrs),
      };
    case 'aws_iam_role':
      return {
        name: scalar(attrs.name),
        path: scalar(optionalString(attrs.path) ?? '/'),
        description: scalar(optionalString(attrs.description)),
        assume_role_policy: policy(attrs.assume_role_policy, 'assume_role_policy'),
        max_session_duration: scalar(int(attrs.max_session_duration) ?? 3600),
        permissions_boundary: scalar(optionalString(attrs.permissions_boundary)),
        tags: tagsOf(attrs),
      };
    case 'aws_iam_role_policy':
      return {
        role: scalar(attrs.role),
        name: scalar(attrs.name),
        policy: policy(attrs.policy, 'policy'),
      };
    case 'aws_iam_role_policy_attachment':
      return { role: scalar(attrs.role), policy_arn: scalar(attrs.policy_arn) };
    case 'aws_s3_bucket':
      return {
        bucket: scalar(attrs.bucket),
        versioning: nested(versioning(attrs.versioning)),
        server_side_encryption_configuration: nested(encryption(attrs.server_side_encryption_configuration)),
        tags: tagsOf(attrs),
      };
    case 'aws_s3_bucket_public_access_block':
      return {
        bucket: scalar(attrs.bucket),
        block_public_acls: scalar(bool(attrs.block_public_acls)),
        block_public_policy: scalar(bool(attrs.block_public_policy)),
        ignore_public_acls: scalar(bool(attrs.ignore_public_acls)),
        restrict_public_buckets: scalar(bool(attrs.restrict_public_buckets)),
      };
    case 'aws_instance':
      return {
        instance_type: scalar(attrs.instance_type),
        ami: scalar(attrs.ami),
        vpc_security_group_ids: set(asStrings(attrs.vpc_security_group_ids)),
        tags: tagsOf(attrs),
      };
  }
}
