import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { CreateRoleCommand, CreateUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsActivities } from '../../../activities/aws';
import { awsUnmanagedDetector, unmanagedReporterFor } from '../../../activities/aws/unmanaged-detector';
import { createRegistryPolicySource } from '../../../activities/lifecycle/registry-policy';
import { desiredStateChange } from '../../../activities/reconcile/desired-state';
import type { PrProvider } from '../../../activities/reconcile/pr-provider';
import { awsInventoryDetector } from '../../../activities/scan/detectors';
import type { LocalDetection } from '../../../activities/local-planes/local-planes';
import { coveragePercent, DriftObservationSchema } from '../../../domain/finding';
import { describeCoverage, isFullCoverage } from '../../../domain/inventory/coverage';
import { loadRegistry } from '../../../registry';
import { motoAccountId as account, motoCredentials, startMoto, type MotoServer } from '../../support/moto';
import { iamRole, securityGroup, sgRule, tfstate, type StateResource } from './tfstate-builders';

const region = 'us-east-1';
const NOW = new Date('2026-12-03T12:00:00Z');

let moto: MotoServer;
let dir: string;
let ec2: EC2Client;
let iam: IAMClient;
const ids: Record<string, string> = {};

const roles = { account: 'drift-acme-prod-account', network: 'drift-network-prod', app: 'drift-app-prod' };
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const TEAMS = `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: platform
spec:
  displayName: Platform
  members:
    - email: ana.silva@acme.example
      name: Ana Silva
`;

/** One registry unit: an aws-account or a stack, with its own role and (optionally) a local tfstate. */
function unitYaml(
  name: string,
  type: string,
  opts: { role: string; state?: string; account?: boolean; unmanaged?: boolean },
): string {
  return `---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
  type: ${type}
  owner: platform
  environment: staging
  riskTier: standard
${opts.account === false ? '' : `  account: '${account}'\n`}  source:
    repo: github.com/acme/infra-live
    path: staging/${name}
    revision: main
${opts.state ? `  state:\n    backend: local\n    path: ${opts.state}\n` : ''}  credentials:
    roleArn: arn:aws:iam::${account}:role/${opts.role}
${opts.unmanaged === false ? '  detection:\n    unmanaged: false\n' : ''}`;
}

async function writeState(name: string, resources: StateResource[]): Promise<string> {
  const file = path.join(dir, `${name}.tfstate`);
  await writeFile(file, JSON.stringify(tfstate(resources), null, 2));
  return file;
}

/** A registry folder holding `units` (YAML documents) and the team. */
async function registryWith(name: string, units: string[]): Promise<string> {
  const reg = path.join(dir, name);
  await mkdir(reg, { recursive: true });
  await writeFile(path.join(reg, 'teams.yaml'), TEAMS);
  await writeFile(path.join(reg, 'units.yaml'), units.join(''));
  const loaded = await loadRegistry(reg);
  if (!loaded.ok) throw new Error(`test registry invalid: ${JSON.stringify(loaded.errors.slice(0, 3))}`);
  return reg;
}

const activities = () =>
  createAwsActivities({ endpoint: moto.endpoint, region, baseCredentials: motoCredentials });
const ok = (d: LocalDetection) => {
  if (d.status !== 'ok') throw new Error(`detection failed: ${d.error}`);
  return d;
};

let registryDir: string;
let appState: string;

beforeAll(async () => {
  moto = await startMoto();
  dir = await mkdtemp(path.join(tmpdir(), 'driftplane-unmanaged-'));
  const cfg = { region, endpoint: moto.endpoint, credentials: motoCredentials };
  ec2 = new EC2Client(cfg);
  iam = new IAMClient(cfg);

  // The units' own roles, recorded by the account baseline's state (every role is managed somewhere).
  for (const r of Object.values(roles))
    await iam.send(new CreateRoleCommand({ RoleName: r, AssumeRolePolicyDocument: trust }));
  const vpcs = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  const defaultVpc = vpcs.Vpcs?.[0]?.VpcId ?? '';
  const sg = async (name: string) =>
    (
      await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: defaultVpc }),
      )
    ).GroupId ?? '';
  ids.web = await sg('web'); // managed by app-prod
  ids.edge = await sg('edge'); // managed by network-prod
  ids.rogue = await sg('rogue'); // created by hand: in no state
  // Types the scan cannot match: a VPC with a subnet (network-prod records the VPC, not the subnet) and an IAM user.
  ids.vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc?.VpcId ?? '';
  ids.subnet =
    (await ec2.send(new CreateSubnetCommand({ VpcId: ids.vpc, CidrBlock: '10.20.1.0/24' }))).Subnet
      ?.SubnetId ?? '';
  await iam.send(new CreateUserCommand({ UserName: 'break-glass-bob' }));

  // EC2 gives every new group the allow-all egress rule; the states record it, as the provider does.
  const allOut = sgRule({ protocol: '-1', from: 0, to: 0, cidrs: ['0.0.0.0/0'] });
  const accountState = await writeState(
    'account',
    Object.values(roles).map((r, i) => iamRole(`unit_${i}`, { roleName: r, account, trust })),
  );
  const networkState = await writeState('network', [
    securityGroup('edge', {
      id: ids.edge,
      groupName: 'edge',
      description: 'edge',
      vpcId: defaultVpc,
      account,
      region,
      ingress: [],
      egress: [allOut],
    }),
    { type: 'aws_vpc', name: 'main', attributes: { id: ids.vpc, cidr_block: '10.20.0.0/16' } },
  ]);
  appState = await writeState('app', [
    securityGroup('web', {
      id: ids.web,
      groupName: 'web',
      description: 'web',
      vpcId: defaultVpc,
      account,
      region,
      ingress: [],
      egress: [allOut],
    }),
    {
      type: 'aws_cloudwatch_log_group',
      name: 'app',
      attributes: { id: '/acme/app', name: '/acme/app', retention_in_days: 30 },
    },
  ]);
  registryDir = await registryWith('registry', [
    unitYaml('acme-staging-account', 'aws-account', { role: roles.account, state: accountState }),
    unitYaml('network-prod', 'opentofu-stack', { role: roles.network, state: networkState }),
    unitYaml('app-prod', 'opentofu-stack', { role: roles.app, state: appState, account: false }),
  ]);
}, 60_000);

afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('aws-unmanaged detector against moto', () => {
  const detector = () => awsUnmanagedDetector({ aws: activities(), registryDir });

  it('opens an IMPORT candidate for the hand-made security group, and none for groups other units manage', async () => {
    const d = ok(await detector().detect('acme-staging-account', NOW));
    const refs = d.observations.map((o) => o.resourceRef).sort();
    // web (app-prod, account taken from its role) and edge (network-prod) are managed; the roles by the account baseline.
    expect(refs).toEqual([`aws_security_group/${ids.rogue}`]);
    const o = d.observations[0]!;
    expect(DriftObservationSchema.parse(o)).toEqual(o);
    expect(o).toMatchObject({
      unit: 'acme-staging-account',
      resourceType: 'aws_security_group',
      relationship: 'recorded!=actual',
      changeType: 'unmanaged',
      detector: 'aws-unmanaged',
      detectedAt: NOW.toISOString(),
      sourceOfTruth: 'github.com/acme/infra-live/staging/acme-staging-account@main',
    });
    // The IMPORT executor reads the cloud id at /id.
    expect(o.diff.find((c) => c.path === '/id')).toEqual({ path: '/id', kind: 'added', actual: ids.rogue });

    // Classified by the registry's policy source with the default decision table: STATE_DRIFT / IMPORT.
    const decision = await createRegistryPolicySource({ registryDir }).classify(o, NOW);
    expect(decision).toMatchObject({
      driftClass: 'STATE_DRIFT',
      recommendedAction: 'IMPORT',
      autoHealAllowed: false,
    });
    expect(decision.reasons.map((r) => r.ruleId)).toContain('unmanaged-import');

    // The IMPORT executor turns it into an import block for that id.
    const provider = { readFile: async () => undefined } as unknown as PrProvider;
    const change = await desiredStateChange(
      { hclParse: async () => ({}), desiredObject: async () => ({}) },
      { provider, repo: 'github.com/acme/infra-live', base: 'main', dir: 'staging/acme-staging-account' },
      {
        action: 'IMPORT',
        observation: o,
        unitType: 'aws-account',
        findingId: 'f',
        now: NOW,
        migrationsPath: 'migrations',
        driftClass: 'STATE_DRIFT',
        migrationSkeleton: () => ({ path: '', content: '' }),
      },
    );
    expect(change.files[0]?.path).toBe('staging/acme-staging-account/driftplane_imports.tf');
    expect(change.files[0]?.content).toContain(`id = "${ids.rogue}"`);
    expect(change.files[0]?.content).toContain(
      `to = aws_security_group.${(ids.rogue ?? '').replace(/-/g, '_')}`,
    );
  });

  it('reports coverage below 100 % when the account holds types it cannot match, and is never clean at 100 %', async () => {
    const d = ok(await detector().detect('acme-staging-account', NOW));
    const c = d.coverage!;
    // Covered: the three roles and three non-default security groups. Not covered: the VPC (listed and
    // recorded: one resource), the subnet, the IAM user, and the log group app-prod's state records.
    expect(c).toEqual({
      coveredTypes: 2,
      totalTypes: 6,
      coveredResources: 6,
      totalResources: 10,
      uncoveredTypes: ['aws_cloudwatch_log_group', 'aws_iam_user', 'aws_subnet', 'aws_vpc'],
    });
    expect(coveragePercent(c)).toBe(60);
    expect(isFullCoverage(c)).toBe(false);
    expect(d.resources).toBe(6);
    expect(describeCoverage(c)).toBe(
      '60% (2/6 types, 6/10 resources); not covered: aws_cloudwatch_log_group, aws_iam_user, aws_subnet, aws_vpc',
    );

    // With the rogue group gone nothing is unmanaged, and the detection still says what it could not see.
    await ec2.send(new DeleteSecurityGroupCommand({ GroupId: ids.rogue }));
    const clean = ok(await detector().detect('acme-staging-account', NOW));
    expect(clean.observations).toEqual([]);
    expect(clean.coverage).toMatchObject({ coveredResources: 5, totalResources: 9 });
    expect(isFullCoverage(clean.coverage!)).toBe(false);
  });

  it('the inventory scan counts state resources of unsupported types as uncovered, not as clean', async () => {
    const inventory = awsInventoryDetector({ aws: activities(), registryDir });
    const d = ok(await inventory.detect('app-prod', NOW));
    expect(d.observations).toEqual([]);
    expect(d.coverage).toEqual({
      coveredTypes: 1,
      totalTypes: 2,
      coveredResources: 1,
      totalResources: 2,
      uncoveredTypes: ['aws_cloudwatch_log_group'],
    });
    const covered = ok(await inventory.detect('network-prod', NOW));
    expect(covered.coverage?.uncoveredTypes).toEqual(['aws_vpc']);
  });

  it('one unit reports an account: the aws-account unit, else the first stack declaring it', async () => {
    const loaded = await loadRegistry(registryDir);
    if (!loaded.ok) throw new Error('registry');
    expect(unmanagedReporterFor(loaded.registry, account)).toBe('acme-staging-account');
    const det = detector();
    // network-prod declares the account, but the account unit reports it: one finding per resource, not one per unit.
    expect(await det.has('network-prod')).toBe(false);
    expect(await det.has('acme-staging-account')).toBe(true);
    // app-prod does not declare its account: it never runs the account scan.
    expect(await det.has('app-prod')).toBe(false);

    const stacksOnly = await registryWith('stacks-only', [
      unitYaml('network-prod', 'opentofu-stack', {
        role: roles.network,
        state: path.join(dir, 'network.tfstate'),
      }),
      unitYaml('app-prod', 'opentofu-stack', { role: roles.app, state: appState }),
      unitYaml('zz-opted-out', 'opentofu-stack', { role: roles.app, state: appState, unmanaged: false }),
    ]);
    const byStack = awsUnmanagedDetector({ aws: activities(), registryDir: stacksOnly });
    expect(await byStack.has('app-prod')).toBe(true);
    expect(await byStack.has('network-prod')).toBe(false);
    expect(await byStack.has('zz-opted-out')).toBe(false);
    // Without the account baseline's state its roles are unmanaged: each is an IMPORT candidate of app-prod.
    const d = ok(await byStack.detect('app-prod', NOW));
    expect(d.observations.map((o) => o.resourceRef).sort()).toEqual(
      Object.values(roles)
        .map((r) => `aws_iam_role/${r}`)
        .sort(),
    );
    expect(d.observations.every((o) => o.unit === 'app-prod' && o.changeType === 'unmanaged')).toBe(true);
    // An unmanaged role is identity first (the identity rules precede unmanaged-import), import still advised by the rule.
    const role = await createRegistryPolicySource({ registryDir: stacksOnly }).classify(
      d.observations[0]!,
      NOW,
    );
    expect(role.driftClass).toBe('IDENTITY_DRIFT');
    expect(role.reasons.map((r) => r.ruleId)).toEqual(
      expect.arrayContaining(['identity', 'unmanaged-import']),
    );
  });

  it('fails, never "nothing unmanaged", when a unit of the account has a state the scan cannot read', async () => {
    const broken = await registryWith('broken', [
      unitYaml('acme-staging-account', 'aws-account', { role: roles.account }),
      unitYaml('network-prod', 'opentofu-stack', {
        role: roles.network,
        state: path.join(dir, 'missing.tfstate'),
      }),
    ]);
    const d = await awsUnmanagedDetector({ aws: activities(), registryDir: broken }).detect(
      'acme-staging-account',
      NOW,
    );
    expect(d.status).toBe('failed');
    expect(d.status === 'failed' && d.error).toMatch(/unmanaged scan failed/);
    expect(d.status === 'failed' && d.error).toContain('missing.tfstate');
  });
});
