import { ApplicationFailure } from '@temporalio/common';
import type { IncidentAdapter, IncidentInput, IncidentRef } from './incident-adapter';
import { IncidentAdapterNotConfigured } from './incident-adapter';

/** PagerDuty Events API v2's endpoint for alert events. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
/** `payload.summary` is cut to this many characters (PagerDuty's documented maximum). */
export const PAGERDUTY_SUMMARY_MAX = 1024;
/** `dedup_key` may be at most this long (PagerDuty's documented maximum). */
export const PAGERDUTY_DEDUP_KEY_MAX = 255;
/** `payload.class` of every event driftplane sends. */
export const PAGERDUTY_EVENT_CLASS = 'drift';

/** The body of an Events API v2 `trigger` event (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). */
export interface PagerDutyTriggerEvent {
  routing_key: string;
  event_action: 'trigger';
  dedup_key: string;
  payload: {
    summary: string;
    source: string;
    severity: IncidentInput['severity'];
    component?: string;
    group?: string;
    class: string;
    custom_details?: Record<string, unknown>;
  };
  links?: { href: string; text: string }[];
}

/** PagerDuty answered 400 ("invalid event"): the event itself is wrong, and sending it again cannot help. */
export class PagerDutyEventRejected extends Error {
  override readonly name = 'PagerDutyEventRejected';
  constructor(
    readonly findingId: string,
    readonly pdStatus: string,
    readonly pdMessage: string,
    readonly errors: string[],
  ) {
    super(
      `PagerDuty rejected the event of ${findingId}: ${pdStatus}: ${pdMessage}${errors.length ? ` (${errors.join('; ')})` : ''}`,
    );
  }
}

/** PagerDuty answered 429 or 5xx, or could not be reached: the event is sent again later. */
export class PagerDutyUnavailable extends Error {
  override readonly name = 'PagerDutyUnavailable';
  constructor(
    readonly findingId: string,
    readonly httpStatus: number | undefined,
    detail: string,
  ) {
    super(`PagerDuty did not take the event of ${findingId}: ${detail}`);
  }
}

/** Builds the trigger event of a finding: dedup_key is the finding id, so PagerDuty keeps one alert per finding. */
export function pagerDutyTriggerEvent(routingKey: string, input: IncidentInput): PagerDutyTriggerEvent {
  if (input.findingId.length > PAGERDUTY_DEDUP_KEY_MAX)
    throw ApplicationFailure.nonRetryable(
      `finding id of ${input.findingId.length} characters is longer than PagerDuty's dedup_key (${PAGERDUTY_DEDUP_KEY_MAX})`,
      'PagerDutyEventRejected',
    );
  const summary =
    input.summary.length > PAGERDUTY_SUMMARY_MAX
      ? `${input.summary.slice(0, PAGERDUTY_SUMMARY_MAX - 1)}…`
      : input.summary;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: input.findingId,
    payload: {
      summary,
      source: input.source,
      severity: input.severity,
      ...(input.component !== undefined ? { component: input.component } : {}),
      ...(input.group !== undefined ? { group: input.group } : {}),
      class: PAGERDUTY_EVENT_CLASS,
      ...(input.customDetails !== undefined ? { custom_details: input.customDetails } : {}),
    },
    ...(input.links?.length ? { links: input.links.map((l) => ({ href: l.href, text: l.text })) } : {}),
  };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * The PagerDuty adapter: one `trigger` event per finding to the Events API v2, with the finding id as
 * its dedup_key. Idempotent on PagerDuty's side: a second trigger with the same dedup_key while the
 * alert is open is added to that alert and opens no second incident. PagerDuty does not say which
 * happened, so `created` is always true. The routing key is read when an event is sent (so a rotated
 * key is picked up) and never appears in an error or a log.
 *
 * Failures are ApplicationFailures: 400 → `PagerDutyEventRejected` (non-retryable, with PagerDuty's
 * `errors`); 429, 5xx and network errors → `PagerDutyUnavailable` (retried with the caller's backoff,
 * as PagerDuty asks).
 */
export function pagerDutyIncident(opts: {
  routingKey: () => string;
  url?: string;
  fetch?: typeof globalThis.fetch;
}): IncidentAdapter {
  const url = opts.url ?? PAGERDUTY_EVENTS_URL;
  const doFetch = opts.fetch ?? globalThis.fetch;
  return {
    name: 'pagerduty',
    async open(input: IncidentInput): Promise<IncidentRef> {
      let routingKey: string;
      try {
        routingKey = opts.routingKey();
        if (!routingKey) throw new IncidentAdapterNotConfigured('pagerduty', 'the routing key');
      } catch (err) {
        // A missing key is configuration, not a transient failure: retrying cannot page anyone.
        const e = err instanceof Error ? err : new Error(String(err));
        throw ApplicationFailure.create({ type: e.name, message: e.message, nonRetryable: true });
      }
      const event = pagerDutyTriggerEvent(routingKey, input);
      // Whatever PagerDuty says back is text from outside; the routing key is scrubbed from it in case it is echoed.
      const clean = (s: string): string =>
        routingKey.length >= 8 ? s.split(routingKey).join('[routing key]') : s;
      let res: Response;
      try {
        res = await doFetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(event),
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        // A fetch error names the URL at most, never the body.
        const e = new PagerDutyUnavailable(
          input.findingId,
          undefined,
          clean(err instanceof Error ? err.message : String(err)),
        );
        throw ApplicationFailure.create({
          type: e.name,
          message: e.message,
          details: [{ findingId: input.findingId }],
        });
      }
      const text = await res.text().catch(() => '');
      let body: Record<string, unknown> = {};
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
          body = parsed as Record<string, unknown>;
      } catch {
        // Not JSON (an HTML error page from a proxy): the status says enough.
      }
      if (res.status === 202) {
        const dedupKey =
          typeof body.dedup_key === 'string' && body.dedup_key ? body.dedup_key : input.findingId;
        return { adapter: 'pagerduty', incidentId: dedupKey, created: true };
      }
      if (res.status === 400) {
        const e = new PagerDutyEventRejected(
          input.findingId,
          clean(typeof body.status === 'string' ? body.status : 'invalid event'),
          clean(typeof body.message === 'string' ? body.message : `HTTP ${res.status}`),
          strings(body.errors).map(clean),
        );
        throw ApplicationFailure.create({
          type: e.name,
          message: e.message,
          nonRetryable: true,
          details: [{ findingId: e.findingId, status: e.pdStatus, message: e.pdMessage, errors: e.errors }],
        });
      }
      const detail =
        res.status === 429
          ? 'HTTP 429 (too many events; retrying later)'
          : `HTTP ${res.status}${typeof body.message === 'string' ? `: ${clean(body.message)}` : ''}`;
      const e = new PagerDutyUnavailable(input.findingId, res.status, detail);
      // 429 and 5xx are to be retried; any other status is unexpected and retried the same way rather than dropped.
      throw ApplicationFailure.create({
        type: e.name,
        message: e.message,
        details: [{ findingId: input.findingId, httpStatus: res.status }],
      });
    },
  };
}
