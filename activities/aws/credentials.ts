import { readFile } from 'node:fs/promises';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type AssumeRoleCommandInput,
  type AssumeRoleCommandOutput,
  type AssumeRoleWithWebIdentityCommandInput,
  type Credentials,
} from '@aws-sdk/client-sts';
import { ApplicationFailure } from '@temporalio/common';
import type { AwsActivitiesConfig, AwsUnit, StaticCredentials } from './config';
import { toActivityFailure } from './errors';
import { sessionNameFor, sessionTagsFor } from './session-name';

/** Environment variables that would let a child process pick other credentials than the unit's. */
const FOREIGN_CREDENTIAL_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_PROFILE',
  'AWS_DEFAULT_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_ROLE_SESSION_NAME',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
];

/** What assuming a unit's role needs: its name, owner, environment (session name and tags) and role. */
export type UnitIdentitySpec = Pick<AwsUnit, 'name' | 'owner' | 'environment' | 'credentials'>;

/**
 * One unit's STS session. The credentials live in a private field: they reach only this unit's
 * SDK clients and the env object `processEnv` builds, and never appear in JSON, logs or
 * `util.inspect` output. Sessions are not shared between units and are not cached.
 */
export class UnitSession {
  readonly #credentials: StaticCredentials;

  constructor(
    readonly unit: string,
    readonly roleArn: string,
    readonly sessionName: string,
    readonly assumedRoleArn: string,
    readonly expiration: string | undefined,
    credentials: StaticCredentials,
    private readonly config: Pick<AwsActivitiesConfig, 'endpoint' | 'region'>,
  ) {
    this.#credentials = credentials;
  }

  /** SDK client settings carrying this unit's credentials (region override for e.g. a state bucket elsewhere). */
  clientConfig(region = this.config.region): {
    region: string;
    endpoint?: string;
    credentials: StaticCredentials;
  } {
    return {
      region,
      credentials: { ...this.#credentials },
      ...(this.config.endpoint ? { endpoint: this.config.endpoint } : {}),
    };
  }

  /** An STS client acting as this unit. */
  sts(): STSClient {
    return new STSClient(this.clientConfig());
  }

  /** An EC2 client acting as this unit. */
  ec2(): EC2Client {
    return new EC2Client(this.clientConfig());
  }

  /** An IAM client acting as this unit. */
  iam(): IAMClient {
    return new IAMClient(this.clientConfig());
  }

  /** An S3 client acting as this unit (path-style when an endpoint override is set, as moto needs). */
  s3(region?: string): S3Client {
    return new S3Client({ ...this.clientConfig(region), forcePathStyle: this.config.endpoint !== undefined });
  }

  /**
   * A new environment for this unit's child process (e.g. `tofu plan`): `base` without any other
   * credential source, plus this unit's credentials. `process.env` is never touched.
   */
  processEnv(base: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base))
      if (v !== undefined && !FOREIGN_CREDENTIAL_VARS.includes(k)) env[k] = v;
    env.AWS_ACCESS_KEY_ID = this.#credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = this.#credentials.secretAccessKey;
    if (this.#credentials.sessionToken) env.AWS_SESSION_TOKEN = this.#credentials.sessionToken;
    env.AWS_REGION = this.config.region;
    env.AWS_DEFAULT_REGION = this.config.region;
    if (this.config.endpoint) env.AWS_ENDPOINT_URL = this.config.endpoint;
    return env;
  }

  /** Only the non-secret facts. */
  toJSON(): {
    unit: string;
    roleArn: string;
    sessionName: string;
    assumedRoleArn: string;
    expiration?: string;
  } {
    return {
      unit: this.unit,
      roleArn: this.roleArn,
      sessionName: this.sessionName,
      assumedRoleArn: this.assumedRoleArn,
      ...(this.expiration ? { expiration: this.expiration } : {}),
    };
  }
}

/** The AssumeRole request for a unit: session name = unit name, session tags unit/owner/environment. */
export function buildAssumeRoleInput(unit: UnitIdentitySpec): AssumeRoleCommandInput {
  return {
    RoleArn: unit.credentials.roleArn,
    RoleSessionName: sessionNameFor(unit.name),
    Tags: sessionTagsFor(unit),
    ...(unit.credentials.externalId ? { ExternalId: unit.credentials.externalId } : {}),
    ...(unit.credentials.durationSeconds ? { DurationSeconds: unit.credentials.durationSeconds } : {}),
  };
}

/**
 * The AssumeRoleWithWebIdentity request for a unit. STS takes no `Tags` on this call: session
 * tags come from the OIDC token's `https://aws.amazon.com/tags` claim, set by the token issuer.
 */
export function buildWebIdentityInput(
  unit: UnitIdentitySpec,
  token: string,
): AssumeRoleWithWebIdentityCommandInput {
  return {
    RoleArn: unit.credentials.roleArn,
    RoleSessionName: sessionNameFor(unit.name),
    WebIdentityToken: token,
    ...(unit.credentials.durationSeconds ? { DurationSeconds: unit.credentials.durationSeconds } : {}),
  };
}

function toStatic(creds: Credentials | undefined, unit: string): StaticCredentials {
  if (!creds?.AccessKeyId || !creds.SecretAccessKey) {
    throw ApplicationFailure.nonRetryable(
      `STS returned no credentials for unit ${unit}`,
      'UnitCredentialsMissing',
    );
  }
  return {
    accessKeyId: creds.AccessKeyId,
    secretAccessKey: creds.SecretAccessKey,
    ...(creds.SessionToken ? { sessionToken: creds.SessionToken } : {}),
  };
}

/**
 * Assumes a unit's own role (domain text §22; never one global drift role, §25.3): by
 * AssumeRoleWithWebIdentity when the unit has an OIDC token file, else by AssumeRole with the
 * worker's base credentials. Failures become ApplicationFailures naming the unit and role.
 */
export async function assumeUnitRole(
  config: AwsActivitiesConfig,
  unit: UnitIdentitySpec,
): Promise<UnitSession> {
  const clientConfig = { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  const context = `assuming ${unit.credentials.roleArn} for unit ${unit.name}`;
  try {
    // Both calls answer with the same AssumedRoleUser and Credentials.
    let out: Pick<AssumeRoleCommandOutput, 'AssumedRoleUser' | 'Credentials'>;
    if (unit.credentials.webIdentityTokenFile) {
      let token: string;
      try {
        token = (await readFile(unit.credentials.webIdentityTokenFile, 'utf8')).trim();
      } catch (err) {
        throw ApplicationFailure.nonRetryable(
          `${context}: cannot read web identity token file ${unit.credentials.webIdentityTokenFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
          'WebIdentityTokenUnreadable',
        );
      }
      // Web identity needs no signing credentials: the token is the proof.
      out = await new STSClient(clientConfig).send(new AssumeRoleWithWebIdentityCommand(buildWebIdentityInput(unit, token)));
    } else {
      const sts = new STSClient({
        ...clientConfig,
        ...(config.baseCredentials ? { credentials: config.baseCredentials } : {}),
      });
      out = await sts.send(new AssumeRoleCommand(buildAssumeRoleInput(unit)));
    }
    return new UnitSession(
      unit.name,
      unit.credentials.roleArn,
      sessionNameFor(unit.name),
      out.AssumedRoleUser?.Arn ?? '',
      out.Credentials?.Expiration?.toISOString(),
      toStatic(out.Credentials, unit.name),
      config,
    );
  } catch (err) {
    throw toActivityFailure(err, context, 'UnitCredentialsFailed');
  }
}
