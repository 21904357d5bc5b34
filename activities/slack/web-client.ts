import { LogLevel, WebClient } from '@slack/web-api';
import { slackFailure } from './errors';

/** How driftplane reaches Slack's Web API. */
export interface SlackWebConfig {
  /** The bot token (`xoxb-…`). Never logged. */
  botToken: string;
  /** The Web API base URL (default https://slack.com/api/); tests point it at a local recorder. */
  apiUrl?: string;
  /** Milliseconds before one call gives up (default 10 s). */
  timeoutMs?: number;
}

/**
 * A WebClient that retries nothing itself and rejects rate-limited calls at once: retries belong
 * to Temporal (activity retry policy, honouring Retry-After), so a rate limit or an outage never
 * hides inside a call that sleeps for half an hour.
 */
export function createSlackWebClient(config: SlackWebConfig): WebClient {
  return new WebClient(config.botToken, {
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: config.timeoutMs ?? 10_000,
    // The SDK logs request bodies at debug level: errors only.
    logLevel: LogLevel.ERROR,
  });
}

/** Runs one Web API call, turning any failure into a named Slack error (SlackRateLimited, SlackApiError, SlackUnreachable). */
export async function callSlack<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw slackFailure(method, err);
  }
}
