import { ErrorCode, type WebAPICallError } from '@slack/web-api';

/** Slack answered 429: the call may be retried after `retryAfterSeconds` (its `Retry-After` header). */
export class SlackRateLimited extends Error {
  override readonly name = 'SlackRateLimited';
  constructor(
    readonly method: string,
    readonly retryAfterSeconds: number,
  ) {
    super(`Slack ${method} is rate limited (ratelimited): retry after ${retryAfterSeconds}s`);
  }
}

/** Slack answered `ok: false` with an error code (`channel_not_found`, `not_in_channel`, `invalid_auth`, ...). */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly method: string,
    readonly code: string,
  ) {
    super(`Slack ${method} failed: ${code}`);
  }
}

/** Slack could not be reached (DNS, connection refused, TLS, timeout) or answered with an HTTP error. */
export class SlackUnreachable extends Error {
  override readonly name = 'SlackUnreachable';
  constructor(
    readonly method: string,
    detail: string,
  ) {
    super(`Slack ${method} unreachable: ${detail}`);
  }
}

/** A Slack failure as one of the named errors above. */
export type SlackFailure = SlackRateLimited | SlackApiError | SlackUnreachable;

/** Slack error codes that retrying cannot fix: the token, the app's setup or our own request is wrong. */
export const PERMANENT_SLACK_ERRORS: readonly string[] = [
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'invalid_arguments',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'cant_update_message',
  'message_not_found',
  'edit_window_closed',
];

/**
 * Maps what `@slack/web-api` throws to a named error. The token never appears in the message:
 * only the method, Slack's error code, or the transport's own message (which names no header).
 */
export function slackFailure(method: string, err: unknown): SlackFailure {
  const e = err as Partial<WebAPICallError> & { code?: string };
  switch (e.code) {
    case ErrorCode.RateLimitedError:
      return new SlackRateLimited(method, (err as { retryAfter: number }).retryAfter);
    case ErrorCode.PlatformError: {
      const code = String((err as { data?: { error?: string } }).data?.error ?? 'unknown_error');
      return code === 'ratelimited' || code === 'rate_limited'
        ? new SlackRateLimited(method, 1)
        : new SlackApiError(method, code);
    }
    case ErrorCode.HTTPError:
      return new SlackUnreachable(method, `HTTP ${(err as { statusCode: number }).statusCode}`);
    case ErrorCode.RequestError:
      return new SlackUnreachable(
        method,
        (err as { original?: Error }).original?.message ?? 'request failed',
      );
    default:
      return new SlackUnreachable(method, err instanceof Error ? err.message : String(err));
  }
}
