import { readFile } from 'node:fs/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { StateFormatError } from '../../domain/inventory/errors';
import { parseTfStateV4, type RecordedResource } from '../../domain/inventory/tfstate';
import { describeStateLocation, type StateLocation } from './config';
import type { UnitSession } from './credentials';
import { toActivityFailure } from './errors';

/**
 * Reads a unit's recorded state (tfstate v4) from a local file or its S3 backend object, with the
 * unit's own credentials, and parses it. A missing or unreadable state is a detection failure
 * (non-retryable `StateUnreadable`; transient errors retry); invalid content is `StateFormatError`.
 */
export async function readRecordedState(
  session: UnitSession,
  location: StateLocation,
): Promise<{ source: string; resources: RecordedResource[] }> {
  const source = describeStateLocation(location);
  let text: string;
  if (location.backend === 'local') {
    try {
      text = await readFile(location.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw ApplicationFailure.nonRetryable(
        `unit ${session.unit}: cannot read state ${source} (${code})`,
        'StateUnreadable',
      );
    }
  } else {
    try {
      const out = await session
        .s3(location.region)
        .send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      if (!out.Body)
        throw ApplicationFailure.nonRetryable(
          `unit ${session.unit}: state ${source} has no body`,
          'StateUnreadable',
        );
      text = await out.Body.transformToString('utf8');
    } catch (err) {
      throw toActivityFailure(err, `unit ${session.unit}: cannot read state ${source}`, 'StateUnreadable');
    }
  }
  try {
    return { source, resources: parseTfStateV4(text, source) };
  } catch (err) {
    if (err instanceof StateFormatError)
      throw ApplicationFailure.nonRetryable(`unit ${session.unit}: ${err.message}`, 'StateFormatError');
    throw err;
  }
}
