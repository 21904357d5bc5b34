import { z } from 'zod';

/** Static credentials (only ever fake ones in tests; in production leave them out and the SDK's default chain is used). */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How the AWS activities reach AWS: an endpoint override (moto on loopback), the region, base credentials. */
export interface AwsActivitiesConfig {
  /** e.g. `http://127.0.0.1:5000` for moto. Unset for real AWS. */
  endpoint?: string;
  region: string;
  /** Credentials of the worker itself, used only to call STS. Unset: the SDK's default provider chain. */
  baseCredentials?: StaticCredentials;
}

/** Per-unit AWS credentials request: the unit's own role, by web identity (OIDC token file) or AssumeRole. */
export const UnitCredentialsSpecSchema = z.object({
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'an IAM role ARN'),
  /** An OIDC token file (e.g. a projected service-account token): use AssumeRoleWithWebIdentity. */
  webIdentityTokenFile: z.string().optional(),
  externalId: z.string().optional(),
  durationSeconds: z.number().int().min(900).max(43_200).optional(),
});
/** Per-unit AWS credentials request. */
export type UnitCredentialsSpec = z.infer<typeof UnitCredentialsSpecSchema>;

/** Where a unit's recorded state lives: a local file, or an S3 backend object. */
export const StateLocationSchema = z.discriminatedUnion('backend', [
  z.object({ backend: z.literal('local'), path: z.string().min(1) }),
  z.object({
    backend: z.literal('s3'),
    bucket: z.string().min(1),
    key: z.string().min(1),
    region: z.string().optional(),
  }),
]);
/** Where a unit's recorded state lives. */
export type StateLocation = z.infer<typeof StateLocationSchema>;

/** The part of a registry unit the AWS activities need. */
export const AwsUnitSchema = z.object({
  name: z.string().min(1),
  owner: z.string().min(1),
  environment: z.string().min(1),
  credentials: UnitCredentialsSpecSchema,
  state: StateLocationSchema,
});
/** The part of a registry unit the AWS activities need. */
export type AwsUnit = z.infer<typeof AwsUnitSchema>;

/** Renders a state location for reports and errors. */
export function describeStateLocation(loc: StateLocation): string {
  return loc.backend === 'local' ? loc.path : `s3://${loc.bucket}/${loc.key}`;
}
