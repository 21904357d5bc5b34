/**
 * The evidence store's settings and the environment variables they come from. Light on purpose:
 * workers/config.ts imports it at every start of the CLI, so it loads no SDK (evidence/open.ts does).
 */
import { z } from 'zod';
import { parseRedactionKey } from '../domain/redaction';
import { DEFAULT_RETENTION } from './retention';

/** Where the evidence is and how it is kept. */
export interface EvidenceSettings {
  /** `file:///abs/folder`, a plain folder path, or `s3://bucket/prefix`. */
  url: string;
  /** S3 endpoint override (moto, MinIO); unset for AWS. Path-style addressing when set. */
  s3Endpoint?: string;
  /** S3 region (default us-east-1). */
  region?: string;
  /** Static S3 credentials: set only in code (tests, the demo's moto); otherwise the SDK's default chain. */
  s3Credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Object Lock retention of a record whose unit names none (default 400d). */
  retention?: string;
  /** The unit's `evidence.retention` for a finding (from the registry). */
  retentionFor?: (findingId: string) => string | undefined;
  /** Retention of log leaves, checkpoints and artifacts: at least the longest unit retention (default: `retention`). */
  logRetention?: string;
  /** The log's origin line and checkpoint key name (default: see `defaultOrigin`). */
  origin?: string;
  /** The 32-byte Ed25519 secret key (seed) that signs checkpoints, or a function reading it when needed. */
  checkpointKey?: Uint8Array | (() => Uint8Array);
}

/** Settings that are not a store. */
export class EvidenceSettingsError extends Error {
  override readonly name = 'EvidenceSettingsError';
}

const Period = z.string().regex(/^[1-9]\d*(d|w|m|y)$/, 'a period such as 400d, 6w, 18m or 7y');
const Interval = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as 30s, 10m or 1h');

/**
 * The environment variables of the evidence store, as workers/config.ts reads them (merge this
 * shape into its ConfigSchema). Every one is optional:
 * - DRIFTPLANE_EVIDENCE_URL: `s3://bucket/prefix` or `file:///folder` (default: the folder
 *   DRIFTPLANE_EVIDENCE_DIR, else `$DRIFTPLANE_HOME/evidence`);
 * - DRIFTPLANE_EVIDENCE_S3_ENDPOINT, DRIFTPLANE_EVIDENCE_REGION (default DRIFTPLANE_AWS_REGION);
 * - DRIFTPLANE_EVIDENCE_RETENTION (default 400d), DRIFTPLANE_EVIDENCE_LOG_RETENTION;
 * - DRIFTPLANE_EVIDENCE_LOG_ORIGIN; DRIFTPLANE_EVIDENCE_LOG_KEY (hex or base64 of 32 bytes; else
 *   `$DRIFTPLANE_HOME/evidence-log.key`, created on first use);
 * - DRIFTPLANE_EVIDENCE_CHECKPOINT_INTERVAL (default 10m; `0s` turns the worker's checkpoints off).
 */
export const EvidenceVariablesSchema = z.object({
  DRIFTPLANE_EVIDENCE_URL: z
    .string()
    .regex(
      /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|file:.+)$/,
      's3://<bucket>/<prefix> or file:///<folder>',
    )
    .optional(),
  DRIFTPLANE_EVIDENCE_S3_ENDPOINT: z.url().optional(),
  DRIFTPLANE_EVIDENCE_REGION: z.string().min(1).optional(),
  DRIFTPLANE_EVIDENCE_RETENTION: Period.default(DEFAULT_RETENTION),
  DRIFTPLANE_EVIDENCE_LOG_RETENTION: Period.optional(),
  DRIFTPLANE_EVIDENCE_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]+$/, 'a name without spaces or plus signs, such as evidence.example.com/prod')
    .optional(),
  DRIFTPLANE_EVIDENCE_LOG_KEY: z
    .string()
    .refine(
      (v) => parseRedactionKey(v)?.length === 32,
      'expected hex or base64 of a 32-byte Ed25519 secret key (the value is not shown)',
    )
    .optional(),
  DRIFTPLANE_EVIDENCE_CHECKPOINT_INTERVAL: Interval.default('10m'),
});
/** The parsed evidence variables. */
export type EvidenceVariables = z.infer<typeof EvidenceVariablesSchema>;

/**
 * Evidence settings from parsed variables. `evidenceDir` is the folder used when no URL is set;
 * `logKeyFile` reads (or creates) the checkpoint key when DRIFTPLANE_EVIDENCE_LOG_KEY is unset;
 * `awsRegion` is the region when DRIFTPLANE_EVIDENCE_REGION is unset.
 */
export function evidenceSettingsFrom(
  v: EvidenceVariables,
  defaults: { evidenceDir: string; logKeyFile: () => Uint8Array; awsRegion?: string },
): EvidenceSettings & { checkpointEveryMs: number } {
  const url = v.DRIFTPLANE_EVIDENCE_URL ?? defaults.evidenceDir;
  const envKey = v.DRIFTPLANE_EVIDENCE_LOG_KEY ? parseRedactionKey(v.DRIFTPLANE_EVIDENCE_LOG_KEY) : undefined;
  const region = v.DRIFTPLANE_EVIDENCE_REGION ?? defaults.awsRegion;
  return {
    url,
    ...(v.DRIFTPLANE_EVIDENCE_S3_ENDPOINT ? { s3Endpoint: v.DRIFTPLANE_EVIDENCE_S3_ENDPOINT } : {}),
    ...(region ? { region } : {}),
    retention: v.DRIFTPLANE_EVIDENCE_RETENTION,
    ...(v.DRIFTPLANE_EVIDENCE_LOG_RETENTION ? { logRetention: v.DRIFTPLANE_EVIDENCE_LOG_RETENTION } : {}),
    ...(v.DRIFTPLANE_EVIDENCE_LOG_ORIGIN ? { origin: v.DRIFTPLANE_EVIDENCE_LOG_ORIGIN } : {}),
    checkpointKey: envKey ?? defaults.logKeyFile,
    checkpointEveryMs: durationMs(v.DRIFTPLANE_EVIDENCE_CHECKPOINT_INTERVAL),
  };
}

function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new EvidenceSettingsError(`"${d}" is not a duration such as 30s, 10m or 1h`);
  return (
    Number(m[1]) *
    { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']
  );
}
