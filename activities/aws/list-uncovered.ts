import {
  DescribeAddressesCommand,
  DescribeInternetGatewaysCommand,
  DescribeKeyPairsCommand,
  DescribeLaunchTemplatesCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  DescribeVpcsCommand,
} from '@aws-sdk/client-ec2';
import {
  ListGroupsCommand,
  ListInstanceProfilesCommand,
  ListPoliciesCommand,
  ListUsersCommand,
} from '@aws-sdk/client-iam';
import type { UncoveredResource } from '../../domain/inventory/coverage';
import { awsErrorCode, describeAwsError } from './errors';
import type { InventoryClients } from './observe';

/** What {@link listUncoveredInventory} counted, and the types it could not count. */
export interface UncoveredListing {
  resources: UncoveredResource[];
  failures: { type: string; code: string; message: string }[];
}

/**
 * The resource types the unmanaged pass counts for its coverage figure but cannot match against
 * state (no identity or comparison for them yet). Listing them is what keeps an account full of
 * VPCs, IAM users or customer-managed policies from looking 100 % covered.
 */
export const COUNTED_UNCOVERED_TYPES = [
  'aws_vpc',
  'aws_subnet',
  'aws_internet_gateway',
  'aws_route_table',
  'aws_eip',
  'aws_nat_gateway',
  'aws_key_pair',
  'aws_launch_template',
  'aws_ebs_volume',
  'aws_iam_user',
  'aws_iam_group',
  'aws_iam_policy',
  'aws_iam_instance_profile',
] as const;

const IAM_SERVICE_PATHS = ['/aws-service-role/', '/aws-reserved/'];

/**
 * Counts the account's resources of {@link COUNTED_UNCOVERED_TYPES} (region-scoped for EC2),
 * skipping what AWS creates itself: the default VPC with its default subnets, internet gateway and
 * main route tables, NAT gateways already deleted, volumes that live and die with an instance
 * (every attachment deletes on termination: the instance's root device, part of `aws_instance`),
 * service roles' instance profiles. Each resource carries the provider's `id` for it, so a state
 * that records the same resource counts it once. A listing that fails is reported for its type:
 * that type is then uncovered with an unknown count, never an empty account.
 */
export async function listUncoveredInventory(c: InventoryClients): Promise<UncoveredListing> {
  const resources: UncoveredResource[] = [];
  const failures: UncoveredListing['failures'] = [];
  const attempt = async (type: string, fn: () => Promise<string[]>): Promise<void> => {
    try {
      for (const id of await fn()) resources.push({ type, id });
    } catch (err) {
      failures.push({ type, code: awsErrorCode(err), message: describeAwsError(err) });
    }
  };
  /** Follows `NextToken` pages. */
  const pages = async <T extends { NextToken?: string | undefined }>(
    call: (token: string | undefined) => Promise<T>,
    pick: (page: T) => string[],
  ): Promise<string[]> => {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const out = await call(token);
      ids.push(...pick(out));
      token = out.NextToken;
    } while (token);
    return ids;
  };
  /** Follows IAM `Marker` pages. */
  const iamPages = async <T extends { Marker?: string | undefined; IsTruncated?: boolean | undefined }>(
    call: (marker: string | undefined) => Promise<T>,
    pick: (page: T) => string[],
  ): Promise<string[]> => {
    const ids: string[] = [];
    let marker: string | undefined;
    do {
      const out = await call(marker);
      ids.push(...pick(out));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return ids;
  };
  const defined = (xs: (string | undefined)[]): string[] =>
    xs.filter((x): x is string => typeof x === 'string' && x !== '');

  const defaultVpcs = new Set<string>();
  // The default VPC comes with the account (`aws_default_vpc` adopts it): neither it nor its default parts count.
  await attempt('aws_vpc', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeVpcsCommand({ NextToken })),
      (p) => {
        for (const v of p.Vpcs ?? []) if (v.IsDefault && v.VpcId) defaultVpcs.add(v.VpcId);
        return defined((p.Vpcs ?? []).filter((v) => !v.IsDefault).map((v) => v.VpcId));
      },
    ),
  );
  await attempt('aws_subnet', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeSubnetsCommand({ NextToken })),
      (p) => defined((p.Subnets ?? []).filter((s) => !s.DefaultForAz).map((s) => s.SubnetId)),
    ),
  );
  await attempt('aws_internet_gateway', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeInternetGatewaysCommand({ NextToken })),
      (p) =>
        defined(
          (p.InternetGateways ?? [])
            .filter((g) => !(g.Attachments ?? []).some((a) => a.VpcId && defaultVpcs.has(a.VpcId)))
            .map((g) => g.InternetGatewayId),
        ),
    ),
  );
  await attempt('aws_route_table', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeRouteTablesCommand({ NextToken })),
      // A VPC's main route table comes with the VPC (`aws_default_route_table` adopts it, not aws_route_table).
      (p) =>
        defined(
          (p.RouteTables ?? [])
            .filter((t) => !(t.Associations ?? []).some((a) => a.Main))
            .map((t) => t.RouteTableId),
        ),
    ),
  );
  await attempt('aws_eip', async () =>
    defined(
      ((await c.ec2.send(new DescribeAddressesCommand({}))).Addresses ?? []).map((a) => a.AllocationId),
    ),
  );
  await attempt('aws_nat_gateway', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeNatGatewaysCommand({ NextToken })),
      (p) =>
        defined(
          (p.NatGateways ?? [])
            .filter((n) => n.State !== 'deleted' && n.State !== 'deleting')
            .map((n) => n.NatGatewayId),
        ),
    ),
  );
  // The provider's id of an aws_key_pair is the key name.
  await attempt('aws_key_pair', async () =>
    defined(((await c.ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map((k) => k.KeyName)),
  );
  await attempt('aws_launch_template', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeLaunchTemplatesCommand({ NextToken })),
      (p) => defined((p.LaunchTemplates ?? []).map((t) => t.LaunchTemplateId)),
    ),
  );
  await attempt('aws_ebs_volume', () =>
    pages(
      (NextToken) => c.ec2.send(new DescribeVolumesCommand({ NextToken })),
      (p) =>
        defined(
          (p.Volumes ?? [])
            .filter((v) => {
              const att = v.Attachments ?? [];
              return att.length === 0 || !att.every((a) => a.DeleteOnTermination === true);
            })
            .map((v) => v.VolumeId),
        ),
    ),
  );
  // IAM ids as the provider has them: user, group and instance profile names; a policy's ARN.
  await attempt('aws_iam_user', () =>
    iamPages(
      (Marker) => c.iam.send(new ListUsersCommand({ Marker })),
      (p) => defined((p.Users ?? []).map((u) => u.UserName)),
    ),
  );
  await attempt('aws_iam_group', () =>
    iamPages(
      (Marker) => c.iam.send(new ListGroupsCommand({ Marker })),
      (p) => defined((p.Groups ?? []).map((g) => g.GroupName)),
    ),
  );
  await attempt('aws_iam_policy', () =>
    iamPages(
      (Marker) => c.iam.send(new ListPoliciesCommand({ Scope: 'Local', Marker })),
      (p) => defined((p.Policies ?? []).map((x) => x.Arn)),
    ),
  );
  await attempt('aws_iam_instance_profile', () =>
    iamPages(
      (Marker) => c.iam.send(new ListInstanceProfilesCommand({ Marker })),
      (p) =>
        defined(
          (p.InstanceProfiles ?? [])
            .filter((ip) => !IAM_SERVICE_PATHS.some((s) => (ip.Path ?? '/').startsWith(s)))
            .map((ip) => ip.InstanceProfileName),
        ),
    ),
  );
  return { resources, failures };
}
