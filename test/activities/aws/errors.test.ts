import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { describeAwsError, isTransientAwsError, toActivityFailure } from '../../../activities/aws/errors';

const sdkError = (name: string, fault: 'client' | 'server', status: number): Error =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: status },
  });

describe('AWS error classification', () => {
  it.each<[string, unknown, boolean]>([
    ['AccessDenied', sdkError('AccessDenied', 'client', 403), false],
    ['NoSuchKey', sdkError('NoSuchKey', 'client', 404), false],
    ['Throttling', sdkError('Throttling', 'client', 400), true],
    ['a 503', sdkError('ServiceUnavailable', 'server', 503), true],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['a missing file', Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }), false],
    ['a plain bug', new TypeError('x is undefined'), false],
  ])('%s is transient: %s', (_label, err, transient) => {
    expect(isTransientAwsError(err)).toBe(transient);
    const failure = toActivityFailure(err, 'ctx', 'Thing');
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.nonRetryable).toBe(!transient);
    expect(failure.message.startsWith('ctx: ')).toBe(true);
  });

  it('masks access key ids that an error message may quote', () => {
    expect(describeAwsError(sdkError('InvalidClientTokenId', 'client', 403))).toBe(
      'InvalidClientTokenId: InvalidClientTokenId happened',
    );
    const leaky = Object.assign(new Error('The key ASIAQWERTYUIOPASDFGH is invalid'), {
      name: 'InvalidClientTokenId',
    });
    expect(describeAwsError(leaky)).not.toContain('ASIAQWERTYUIOPASDFGH');
  });
});
