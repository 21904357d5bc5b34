import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
} from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/common';
import { atomicSecurityGroupRules } from '../../domain/inventory/normalize';
import type { UnitSession } from './credentials';
import { toActivityFailure } from './errors';
import { ipPermissionsToRules } from './observe';
import { readRecordedState } from './read-state';
import type { StateLocation } from './config';

/** What a security-group revert did. `applied` is false when the group already matched state. */
export interface SecurityGroupRevert {
  applied: boolean;
  groupId: string;
  revoked: { direction: 'ingress' | 'egress'; rule: string }[];
  authorized: { direction: 'ingress' | 'egress'; rule: string }[];
  detail: string;
}

interface AtomicRule {
  protocol: string;
  from_port: number;
  to_port: number;
  source: string;
  description?: string;
}

/** One atomic rule (from `atomicSecurityGroupRules`) as the EC2 API's IpPermission. */
export function atomToIpPermission(atom: string, ownGroupId: string): IpPermission {
  const r = JSON.parse(atom) as AtomicRule;
  const ports = r.protocol === '-1' ? {} : { FromPort: r.from_port, ToPort: r.to_port };
  const description = r.description ? { Description: r.description } : {};
  const [kind, ...rest] = r.source.split(':');
  const value = rest.join(':');
  const base = { IpProtocol: r.protocol, ...ports };
  switch (kind) {
    case 'cidr':
      return { ...base, IpRanges: [{ CidrIp: value, ...description }] };
    case 'ipv6':
      return { ...base, Ipv6Ranges: [{ CidrIpv6: value, ...description }] };
    case 'pl':
      return { ...base, PrefixListIds: [{ PrefixListId: value, ...description }] };
    case 'sg':
      return { ...base, UserIdGroupPairs: [{ GroupId: value, ...description }] };
    case 'self':
      return { ...base, UserIdGroupPairs: [{ GroupId: ownGroupId, ...description }] };
    default:
      throw ApplicationFailure.nonRetryable(`unknown security group rule source ${r.source}`, 'InvalidRule');
  }
}

/** A rule without its description: EC2 matches revokes on protocol, ports and source only. */
const withoutDescription = (atom: string): string => {
  const { description: _d, ...rest } = JSON.parse(atom) as AtomicRule;
  return JSON.stringify(rest);
};

/**
 * Reverts a security group's rules to what the unit's recorded state says, with the unit's own
 * session: revokes rules the cloud has and state does not, authorizes rules state has and the
 * cloud lost. Idempotent: it recomputes the difference every time, so a retry (or a second run)
 * after a partial revert does only what is left, and a group that already matches does nothing.
 */
export async function revertSecurityGroupRules(
  session: UnitSession,
  location: StateLocation,
  address: string,
): Promise<SecurityGroupRevert> {
  const state = await readRecordedState(session, location);
  const recorded = state.resources.find((r) => r.address === address && r.type === 'aws_security_group');
  if (!recorded?.key)
    throw ApplicationFailure.nonRetryable(`unit ${session.unit}: ${address} is not a security group in ${state.source}`, 'NothingToRevert');
  const groupId = recorded.key;
  const ec2 = session.ec2();
  let current;
  try {
    current = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))).SecurityGroups?.[0];
  } catch (err) {
    throw toActivityFailure(err, `unit ${session.unit}: DescribeSecurityGroups ${groupId}`, 'RevertFailed');
  }
  if (!current) throw ApplicationFailure.nonRetryable(`unit ${session.unit}: security group ${groupId} is gone; a revert cannot recreate it`, 'NothingToRevert');

  const result: SecurityGroupRevert = { applied: false, groupId, revoked: [], authorized: [], detail: '' };
  for (const direction of ['ingress', 'egress'] as const) {
    const want = atomicSecurityGroupRules(recorded.attributes[direction]);
    const have = atomicSecurityGroupRules(ipPermissionsToRules(direction === 'ingress' ? current.IpPermissions : current.IpPermissionsEgress, groupId));
    const wantKeys = new Set(want.map(withoutDescription));
    const haveKeys = new Set(have.map(withoutDescription));
    const revoke = have.filter((a) => !wantKeys.has(withoutDescription(a)));
    const authorize = want.filter((a) => !haveKeys.has(withoutDescription(a)));
    try {
      if (revoke.length) {
        const IpPermissions = revoke.map((a) => atomToIpPermission(a, groupId));
        if (direction === 'ingress') await ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions }));
        else await ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions }));
      }
      if (authorize.length) {
        const IpPermissions = authorize.map((a) => atomToIpPermission(a, groupId));
        if (direction === 'ingress') await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions }));
        else await ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions }));
      }
    } catch (err) {
      throw toActivityFailure(err, `unit ${session.unit}: reverting ${direction} of ${groupId}`, 'RevertFailed');
    }
    result.revoked.push(...revoke.map((rule) => ({ direction, rule })));
    result.authorized.push(...authorize.map((rule) => ({ direction, rule })));
  }
  result.applied = result.revoked.length + result.authorized.length > 0;
  result.detail = result.applied
    ? `reverted ${groupId} (${address}) to recorded state: revoked ${result.revoked.length} rule(s), re-authorized ${result.authorized.length}`
    : `${groupId} (${address}) already matches recorded state`;
  return result;
}
