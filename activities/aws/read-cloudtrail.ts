import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import {
  CloudTrailFormatError,
  parseCloudTrailText,
  type CloudTrailRecord,
} from '../../domain/audit/cloudtrail';
import { awsErrorCode, describeAwsError } from './errors';

/** Where CloudTrail log files are: a local folder (recursively) or an S3 bucket/prefix (the trail's delivery bucket). */
export const CloudTrailSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('folder'), path: z.string().min(1) }),
  z.object({ kind: z.literal('s3'), bucket: z.string().min(1), prefix: z.string().default('') }),
]);
/** Where CloudTrail log files are. */
export type CloudTrailSource = z.input<typeof CloudTrailSourceSchema>;

/** A log file that could not be read or parsed: reported, never skipped silently. */
export interface CloudTrailReadFailure {
  file: string;
  code: string;
  message: string;
}

/** Everything read from a source. */
export interface CloudTrailBatch {
  records: CloudTrailRecord[];
  filesRead: number;
  failures: CloudTrailReadFailure[];
}

const isGzip = (b: Buffer): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Decodes one log file: gunzips it when it starts with the gzip magic (whatever its name), then parses any of the three shapes. */
export function decodeCloudTrailFile(bytes: Buffer, source: string): CloudTrailRecord[] {
  const text = (isGzip(bytes) ? gunzipSync(bytes) : bytes).toString('utf8');
  return parseCloudTrailText(text, source);
}

const LOG_FILE = /\.json(\.gz)?$/i;

async function listFolder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && LOG_FILE.test(e.name))
    .map((e) => path.join(e.parentPath ?? dir, e.name))
    .sort();
}

function collect(batch: CloudTrailBatch, file: string, read: () => CloudTrailRecord[]): void {
  try {
    batch.records.push(...read());
    batch.filesRead++;
  } catch (err) {
    const code =
      err instanceof CloudTrailFormatError
        ? 'CloudTrailFormatError'
        : ((err as NodeJS.ErrnoException).code ?? 'ReadFailed');
    batch.failures.push({ file, code, message: (err as Error).message });
  }
}

/**
 * Reads every `*.json` / `*.json.gz` CloudTrail log file of a source. Files that cannot be read
 * or parsed are listed in `failures`; an unreachable source (folder missing, bucket access
 * denied) throws, because correlation over nothing would look like "no actor".
 */
export async function readCloudTrail(source: CloudTrailSource, s3?: S3Client): Promise<CloudTrailBatch> {
  const parsed = CloudTrailSourceSchema.parse(source);
  const batch: CloudTrailBatch = { records: [], filesRead: 0, failures: [] };
  if (parsed.kind === 'folder') {
    for (const file of await listFolder(parsed.path)) {
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        batch.failures.push({
          file,
          code: (err as NodeJS.ErrnoException).code ?? 'ReadFailed',
          message: (err as Error).message,
        });
        continue;
      }
      collect(batch, file, () => decodeCloudTrailFile(bytes, file));
    }
    return batch;
  }
  if (!s3) throw new Error('readCloudTrail: an S3 client is needed for an s3 source');
  let token: string | undefined;
  const keys: string[] = [];
  do {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: parsed.bucket, Prefix: parsed.prefix, ContinuationToken: token }),
    );
    for (const o of out.Contents ?? []) if (o.Key && LOG_FILE.test(o.Key)) keys.push(o.Key);
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  for (const key of keys.sort()) {
    const file = `s3://${parsed.bucket}/${key}`;
    let bytes: Buffer;
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: parsed.bucket, Key: key }));
      bytes = Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    } catch (err) {
      batch.failures.push({ file, code: awsErrorCode(err), message: describeAwsError(err) });
      continue;
    }
    collect(batch, file, () => decodeCloudTrailFile(bytes, file));
  }
  return batch;
}
