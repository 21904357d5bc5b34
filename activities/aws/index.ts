import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { ActorConfig } from '../../domain/audit/actor';
import {
  AuditTargetSchema,
  correlateFinding,
  type AuditCorrelation,
  type AuditTarget,
} from '../../domain/audit/correlate';
import { compareUnitInventory, findUnmanaged } from '../../domain/inventory/compare';
import { stateCoverage } from '../../domain/inventory/coverage';
import type { UnitInventoryReport, UnmanagedReport } from '../../domain/inventory/findings';
import type { RecordedResource } from '../../domain/inventory/tfstate';
import {
  AwsUnitSchema,
  UnitCredentialsSpecSchema,
  type AwsActivitiesConfig,
  type AwsUnit,
  type UnitCredentialsSpec,
} from './config';
import { assumeUnitRole, type UnitSession } from './credentials';
import { toActivityFailure } from './errors';
import { listUncoveredInventory } from './list-uncovered';
import { listAccountInventory, observeAll, type InventoryClients } from './observe';
import {
  CloudTrailSourceSchema,
  readCloudTrail,
  type CloudTrailReadFailure,
  type CloudTrailSource,
} from './read-cloudtrail';
import { readRecordedState } from './read-state';
import { revertSecurityGroupRules, type SecurityGroupRevert } from './revert-security-group';

export {
  AwsUnitSchema,
  StateLocationSchema,
  UnitCredentialsSpecSchema,
  describeStateLocation,
} from './config';
export type {
  AwsActivitiesConfig,
  AwsUnit,
  StateLocation,
  StaticCredentials,
  UnitCredentialsSpec,
} from './config';
export { UnitSession, assumeUnitRole, buildAssumeRoleInput, buildWebIdentityInput } from './credentials';
export type { UnitIdentitySpec } from './credentials';
export { sessionNameFor, sessionTagsFor } from './session-name';
export { CloudTrailSourceSchema, decodeCloudTrailFile, readCloudTrail } from './read-cloudtrail';
export type { CloudTrailBatch, CloudTrailReadFailure, CloudTrailSource } from './read-cloudtrail';
export { readRecordedState } from './read-state';
export { atomToIpPermission, revertSecurityGroupRules } from './revert-security-group';
export type { SecurityGroupRevert } from './revert-security-group';
export { listAccountInventory, observeAll, observeResource, ipPermissionsToRules } from './observe';
export type { InventoryClients } from './observe';
export { COUNTED_UNCOVERED_TYPES, listUncoveredInventory } from './list-uncovered';
export type { UncoveredListing } from './list-uncovered';

/** Who a unit's credentials say it is (no secrets): the result of `checkUnitIdentity`. */
export interface UnitIdentity {
  unit: string;
  roleArn: string;
  sessionName: string;
  /** STS GetCallerIdentity with the unit's own credentials: `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  callerArn: string;
  accountId: string;
}

/** Input of `scanUnmanagedResources`: every registered unit sharing the account, and the account-wide reader. */
export interface UnmanagedScanInput {
  units: AwsUnit[];
  /** A read-only inventory role for listing the account. Unset: the worker's base credentials. */
  inventoryRole?: UnitCredentialsSpec;
}

/** Input of `correlateAuditEvents`. */
export interface AuditCorrelationInput {
  logs: CloudTrailSource;
  targets: AuditTarget[];
  breakGlassRoleArns?: string[];
  /** A role allowed to read the trail's bucket. Unset: the worker's base credentials. */
  auditRole?: UnitCredentialsSpec;
}

/** One target's correlation. `auditCorrelation` is null when no record explains the finding. */
export interface AuditCorrelationResult {
  target: AuditTarget;
  auditCorrelation: AuditCorrelation | null;
  matched: number;
}

/** What `correlateAuditEvents` returns. Unreadable files are listed, so a miss can be told from a gap. */
export interface AuditCorrelationOutput {
  results: AuditCorrelationResult[];
  filesRead: number;
  recordsRead: number;
  failures: CloudTrailReadFailure[];
}

function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `invalid ${what}: ${issue ? `/${issue.path.map(String).join('/')} ${issue.message}` : 'invalid'}`,
      'InvalidActivityInput',
    );
  }
  return parsed.data;
}

const clientsOf = (s: UnitSession): InventoryClients => ({ ec2: s.ec2(), iam: s.iam(), s3: s.s3() });

/**
 * Builds the AWS activities. Each is a plain async function (register them on a worker); none
 * returns credentials, so no secret ever reaches workflow history. Every unit's AWS calls are
 * made with that unit's own STS session.
 */
export function createAwsActivities(config: AwsActivitiesConfig) {
  /** Clients for a non-unit reader: its own role (session named after it), or the worker's base credentials. */
  async function readerClients(
    name: string,
    role: UnitCredentialsSpec | undefined,
  ): Promise<InventoryClients> {
    if (role)
      return clientsOf(
        await assumeUnitRole(config, {
          name,
          owner: 'driftplane',
          environment: 'platform',
          credentials: role,
        }),
      );
    const base = {
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.baseCredentials ? { credentials: config.baseCredentials } : {}),
    };
    return {
      ec2: new EC2Client(base),
      iam: new IAMClient(base),
      s3: new S3Client({ ...base, forcePathStyle: config.endpoint !== undefined }),
    };
  }

  return {
    /** Assumes the unit's role and asks STS who that is: proves the unit's credentials are its own. */
    async checkUnitIdentity(input: AwsUnit): Promise<UnitIdentity> {
      const unit = parseInput(AwsUnitSchema, input, 'unit');
      const session = await assumeUnitRole(config, unit);
      try {
        const who = await session.sts().send(new GetCallerIdentityCommand({}));
        return {
          unit: unit.name,
          roleArn: session.roleArn,
          sessionName: session.sessionName,
          callerArn: who.Arn ?? '',
          accountId: who.Account ?? '',
        };
      } catch (err) {
        throw toActivityFailure(err, `unit ${unit.name}: GetCallerIdentity`, 'UnitIdentityFailed');
      }
    },

    /**
     * Reads the unit's recorded state and compares it with the cloud, with the unit's own
     * credentials: changed (JSON pointers in tfstate names) and deleted findings, plus a
     * detection failure for every resource that could not be read, and the coverage: resources of
     * types the scan does not support (`notScanned`) are uncovered, never clean.
     */
    async scanUnitInventory(input: AwsUnit): Promise<UnitInventoryReport> {
      const unit = parseInput(AwsUnitSchema, input, 'unit');
      const session = await assumeUnitRole(config, unit);
      const state = await readRecordedState(session, unit.state);
      const observations = await observeAll(clientsOf(session), state.resources);
      const report = compareUnitInventory({
        unit: unit.name,
        stateSource: state.source,
        recorded: state.resources,
        observations,
      });
      return { ...report, coverage: stateCoverage(state.resources) };
    },

    /**
     * Reverts one security group of a unit to its recorded state (revokes rules added out of band,
     * re-authorizes removed ones), with the unit's own credentials. Idempotent: the difference is
     * recomputed on every call. Returns what it did; never credentials.
     */
    async revertSecurityGroup(input: { unit: AwsUnit; address: string }): Promise<SecurityGroupRevert> {
      const unit = parseInput(AwsUnitSchema, input.unit, 'unit');
      const session = await assumeUnitRole(config, unit);
      return revertSecurityGroupRules(session, unit.state, input.address);
    },

    /**
     * Lists the account and reports what no registered unit's state records (IMPORT candidates).
     * Each state is read with its own unit's credentials; if any cannot be read the pass fails,
     * since its resources would otherwise all look unmanaged. Resources of types the pass cannot
     * match (VPCs, IAM users, customer-managed policies, ... and whatever unsupported types the
     * states record) are counted in `coverage` as not covered.
     */
    async scanUnmanagedResources(input: UnmanagedScanInput): Promise<UnmanagedReport> {
      const parsed = parseInput(
        z.object({ units: z.array(AwsUnitSchema), inventoryRole: UnitCredentialsSpecSchema.optional() }),
        input,
        'unmanaged scan input',
      );
      const managed: RecordedResource[] = [];
      for (const unit of parsed.units) {
        const session = await assumeUnitRole(config, unit);
        managed.push(...(await readRecordedState(session, unit.state)).resources);
      }
      const reader = await readerClients('driftplane-inventory', parsed.inventoryRole);
      const managedRoles = managed.flatMap((r) => {
        if (r.type === 'aws_iam_role' && r.key) return [r.key];
        if (
          (r.type === 'aws_iam_role_policy' || r.type === 'aws_iam_role_policy_attachment') &&
          typeof r.attributes.role === 'string'
        )
          return [r.attributes.role];
        return [];
      });
      const listing = await listAccountInventory(reader, managedRoles);
      const uncovered = await listUncoveredInventory(reader);
      return findUnmanaged(managed, { ...listing, uncovered: uncovered.resources, unlisted: uncovered.failures });
    },

    /**
     * Reads CloudTrail logs (S3 or a folder; gzip Records files, bare arrays, single records) and
     * names, for each target, the actor of the latest event that touched it.
     */
    async correlateAuditEvents(input: AuditCorrelationInput): Promise<AuditCorrelationOutput> {
      const parsed = parseInput(
        z.object({
          logs: CloudTrailSourceSchema,
          targets: z.array(AuditTargetSchema),
          breakGlassRoleArns: z.array(z.string()).default([]),
          auditRole: UnitCredentialsSpecSchema.optional(),
        }),
        input,
        'audit correlation input',
      );
      const { targets, logs } = parsed;
      const actorConfig: ActorConfig = { breakGlassRoleArns: parsed.breakGlassRoleArns };
      let batch;
      try {
        const s3 =
          logs.kind === 's3' ? (await readerClients('driftplane-audit', parsed.auditRole)).s3 : undefined;
        batch = await readCloudTrail(logs, s3);
      } catch (err) {
        const where = logs.kind === 's3' ? `s3://${logs.bucket}/${logs.prefix}` : logs.path;
        throw toActivityFailure(err, `reading CloudTrail logs from ${where}`, 'AuditLogsUnreadable');
      }
      return {
        results: targets.map((target) => ({
          target,
          ...correlateFinding(target, batch.records, actorConfig),
        })),
        filesRead: batch.filesRead,
        recordsRead: batch.records.length,
        failures: batch.failures,
      };
    },
  };
}

/** The activities `createAwsActivities` builds, for `proxyActivities<AwsActivities>()`. */
export type AwsActivities = ReturnType<typeof createAwsActivities>;
