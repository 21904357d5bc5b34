import { z } from 'zod';

/** CloudTrail `userIdentity`; only the fields correlation reads are named, the rest are kept. */
export const UserIdentitySchema = z.looseObject({
  type: z.string().optional(),
  principalId: z.string().optional(),
  arn: z.string().optional(),
  accountId: z.string().optional(),
  userName: z.string().optional(),
  invokedBy: z.string().optional(),
  sessionContext: z
    .looseObject({
      sessionIssuer: z
        .looseObject({
          type: z.string().optional(),
          arn: z.string().optional(),
          userName: z.string().optional(),
        })
        .optional(),
      attributes: z.looseObject({}).optional(),
    })
    .optional(),
});

/** One CloudTrail record. Every field is optional except eventTime; unknown fields are kept. */
export const CloudTrailRecordSchema = z.looseObject({
  eventVersion: z.string().optional(),
  eventTime: z.string(),
  eventSource: z.string().optional(),
  eventName: z.string().optional(),
  eventType: z.string().optional(),
  eventID: z.string().optional(),
  awsRegion: z.string().optional(),
  sourceIPAddress: z.string().optional(),
  userAgent: z.string().optional(),
  userIdentity: UserIdentitySchema.optional(),
  requestParameters: z.unknown().optional(),
  responseElements: z.unknown().optional(),
  errorCode: z.string().optional(),
  readOnly: z.boolean().optional(),
  sessionCredentialFromConsole: z.string().optional(),
  resources: z.array(z.looseObject({ ARN: z.string().optional(), type: z.string().optional() })).optional(),
});
/** One CloudTrail record. */
export type CloudTrailRecord = z.infer<typeof CloudTrailRecordSchema>;

/** A CloudTrail document could not be read as records. */
export class CloudTrailFormatError extends Error {
  override readonly name = 'CloudTrailFormatError';
  constructor(
    message: string,
    readonly source: string,
    readonly field?: string,
  ) {
    super(`${source}${field ? ` field ${field}` : ''}: ${message}`);
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads CloudTrail records from a parsed document in any of the three shapes CloudTrail and its
 * tooling produce: a log file `{"Records":[...]}`, a bare JSON array, or a single record.
 * Throws CloudTrailFormatError (naming `source` and the record's index) for anything else.
 */
export function parseCloudTrailDocument(doc: unknown, source: string): CloudTrailRecord[] {
  let items: unknown[];
  let base: string;
  if (isRecord(doc) && Array.isArray(doc.Records)) {
    items = doc.Records;
    base = '/Records';
  } else if (Array.isArray(doc)) {
    items = doc;
    base = '';
  } else if (isRecord(doc) && typeof doc.eventTime === 'string') {
    return [parseOne(doc, source, '')];
  } else {
    throw new CloudTrailFormatError(
      'expected {"Records":[...]}, an array of records or a single record',
      source,
    );
  }
  return items.map((item, i) => parseOne(item, source, `${base}/${i}`));
}

function parseOne(item: unknown, source: string, field: string): CloudTrailRecord {
  const parsed = CloudTrailRecordSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CloudTrailFormatError(
      `not a CloudTrail record: ${issue?.message ?? 'invalid'}`,
      source,
      `${field}${issue && issue.path.length ? `/${issue.path.map(String).join('/')}` : ''}` || undefined,
    );
  }
  return parsed.data;
}

/** Parses CloudTrail JSON text (already gunzipped) in any of the three shapes. */
export function parseCloudTrailText(text: string, source: string): CloudTrailRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CloudTrailFormatError(`not JSON: ${(err as Error).message}`, source);
  }
  return parseCloudTrailDocument(doc, source);
}
