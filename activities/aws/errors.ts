import { ApplicationFailure } from '@temporalio/common';

/** Fields of an AWS SDK v3 service exception that classification reads. */
interface SdkErrorLike {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  code?: string;
}

const RETRYABLE_CODES = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailable',
  'InternalError',
  'InternalFailure',
  'IDPCommunicationError',
  'ExpiredTokenException',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'TimeoutError',
]);

/** The AWS error code of an SDK error (`AccessDenied`, `NoSuchEntity`, ...), or the Node error code. */
export function awsErrorCode(err: unknown): string {
  const e = (err ?? {}) as SdkErrorLike;
  return e.name && e.name !== 'Error' ? e.name : (e.code ?? 'UnknownError');
}

/** True for errors a retry may cure: throttling, 5xx, network trouble. */
export function isTransientAwsError(err: unknown): boolean {
  const e = (err ?? {}) as SdkErrorLike;
  const code = awsErrorCode(err);
  if (RETRYABLE_CODES.has(code)) return true;
  if (e.$fault === 'server') return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // Anything else (a bad input, a missing file, a bug) will fail the same way again.
  return false;
}

/** A short, secret-free message for an AWS error: its code and the service's message. */
export function describeAwsError(err: unknown): string {
  const e = (err ?? {}) as SdkErrorLike;
  const msg = (e.message ?? '').replace(/(ASIA|AKIA)[A-Z0-9]{12,}/g, '[access-key]');
  return `${awsErrorCode(err)}${msg ? `: ${msg}` : ''}`;
}

/**
 * Turns an error into a Temporal ApplicationFailure with context: non-retryable (type `type`)
 * unless it is transient, so Temporal's retry policy only retries what a retry can cure.
 */
export function toActivityFailure(err: unknown, context: string, type: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const message = `${context}: ${describeAwsError(err)}`;
  return isTransientAwsError(err)
    ? ApplicationFailure.retryable(message, `${type}Transient`)
    : ApplicationFailure.nonRetryable(message, type);
}
