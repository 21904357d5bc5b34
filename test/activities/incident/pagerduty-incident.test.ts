import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncidentInput } from '../../../activities/incident';
import { PAGERDUTY_EVENTS_URL, pagerDutyIncident } from '../../../activities/incident';
import { checkEvent, startPagerDutyServer, type PagerDutyServer } from './pagerduty-server';

/** A routing key as PagerDuty issues them: 32 characters. */
const ROUTING_KEY = 'R0UT1NGK3Y5ECRET0123456789abcdef';

const INPUT: IncidentInput = {
  findingId: 'finding:payments/network:3f9c2a71',
  title: 'Manual change to aws_security_group.web in prod',
  summary: 'payments/network: ingress 0.0.0.0/0:22 added to sg-0abc by alice outside of OpenTofu',
  severity: 'critical',
  source: 'payments/network',
  component: 'aws_security_group.web',
  group: 'payments',
  customDetails: { driftClass: 'MANUAL_CHANGE', actor: 'alice', changedFields: ['ingress'] },
  links: [{ href: 'https://driftplane.example.com/findings/3f9c2a71', text: 'Finding in driftplane' }],
};

let pd: PagerDutyServer;
beforeAll(async () => {
  pd = await startPagerDutyServer();
});
afterAll(() => pd.close());

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ApplicationFailure);
  return e as ApplicationFailure;
}

const everything = (f: ApplicationFailure): string =>
  JSON.stringify({ m: f.message, d: f.details, s: f.stack });

describe('pagerDutyIncident against a local Events API v2', () => {
  it('sends the documented trigger event, dedup_key = finding id, and returns the dedup_key as the incident id', async () => {
    const before = pd.received.length;
    const ref = await pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: pd.url }).open(INPUT);
    expect(ref).toEqual({ adapter: 'pagerduty', incidentId: INPUT.findingId, created: true });
    expect(pd.received.slice(before)).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: 'trigger',
        dedup_key: INPUT.findingId,
        payload: {
          summary: INPUT.summary,
          source: 'payments/network',
          severity: 'critical',
          component: 'aws_security_group.web',
          group: 'payments',
          class: 'drift',
          custom_details: { driftClass: 'MANUAL_CHANGE', actor: 'alice', changedFields: ['ingress'] },
        },
        links: [{ href: 'https://driftplane.example.com/findings/3f9c2a71', text: 'Finding in driftplane' }],
      },
    ]);
    expect(checkEvent(pd.received.at(-1))).toEqual([]);
  });

  it('is idempotent: the same finding twice is one alert (same dedup_key) with two events', async () => {
    const adapter = pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: pd.url });
    const input = { ...INPUT, findingId: 'finding:payments/network:twice' };
    const a = await adapter.open(input);
    const b = await adapter.open(input);
    expect(b.incidentId).toBe(a.incidentId);
    expect(pd.alerts.get('finding:payments/network:twice')).toHaveLength(2);
  });

  it('a minimal input sends only the required fields, and a long summary is cut to 1024 characters', async () => {
    const before = pd.received.length;
    await pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: pd.url }).open({
      findingId: 'f-long',
      title: 't',
      summary: 'x'.repeat(5000),
      severity: 'warning',
      source: 'payments/network',
    });
    const sent = pd.received[before] as { payload: { summary: string }; links?: unknown };
    expect(Object.keys(sent).sort()).toEqual(['dedup_key', 'event_action', 'payload', 'routing_key']);
    expect(Object.keys(sent.payload).sort()).toEqual(['class', 'severity', 'source', 'summary']);
    expect(sent.payload.summary).toHaveLength(1024);
  });

  it('400: a non-retryable PagerDutyEventRejected with PagerDuty errors, never the routing key', async () => {
    const badKey = 'SH0RTR0UT1NGK3Y5ECRET0123456789'; // 31 characters: PagerDuty rejects it
    const f = await failureOf(pagerDutyIncident({ routingKey: () => badKey, url: pd.url }).open(INPUT));
    expect(f.type).toBe('PagerDutyEventRejected');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toContain('Event object is invalid');
    expect(f.details?.[0]).toMatchObject({
      status: 'invalid event',
      errors: ["Length of 'routing_key' is incorrect (should be 32 characters)"],
    });
    expect(everything(f)).not.toContain(badKey);
  });

  it('400 that echoes the key back: the key is scrubbed from what PagerDuty said', async () => {
    pd.failNext({
      status: 400,
      body: {
        status: 'invalid event',
        message: `bad key ${ROUTING_KEY}`,
        errors: [`unknown ${ROUTING_KEY}`],
      },
    });
    const f = await failureOf(pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: pd.url }).open(INPUT));
    expect(f.type).toBe('PagerDutyEventRejected');
    expect(everything(f)).not.toContain(ROUTING_KEY);
  });

  it.each([
    [429, undefined],
    [500, { status: 'error', message: 'Internal Server Error' }],
    [503, undefined],
  ])('%i: a retryable PagerDutyUnavailable', async (status, body) => {
    pd.failNext({ status, ...(body ? { body } : {}) });
    const f = await failureOf(pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: pd.url }).open(INPUT));
    expect(f.type).toBe('PagerDutyUnavailable');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).toContain(`HTTP ${status}`);
    expect(everything(f)).not.toContain(ROUTING_KEY);
  });

  it('unreachable: a retryable PagerDutyUnavailable without the key', async () => {
    const closed = await startPagerDutyServer();
    await closed.close();
    const f = await failureOf(
      pagerDutyIncident({ routingKey: () => ROUTING_KEY, url: closed.url }).open(INPUT),
    );
    expect(f).toMatchObject({ type: 'PagerDutyUnavailable', nonRetryable: false });
    expect(everything(f)).not.toContain(ROUTING_KEY);
  });

  it('an empty routing key: non-retryable IncidentAdapterNotConfigured, nothing sent', async () => {
    const before = pd.received.length;
    const f = await failureOf(pagerDutyIncident({ routingKey: () => '', url: pd.url }).open(INPUT));
    expect(f).toMatchObject({ type: 'IncidentAdapterNotConfigured', nonRetryable: true });
    expect(pd.received.length).toBe(before);
  });

  it('defaults to PagerDuty own endpoint', async () => {
    let called = '';
    const fetchStub = ((url: string) => {
      called = url;
      return Promise.resolve(
        new Response(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: 'k' }), {
          status: 202,
        }),
      );
    }) as unknown as typeof fetch;
    const ref = await pagerDutyIncident({ routingKey: () => ROUTING_KEY, fetch: fetchStub }).open(INPUT);
    expect(called).toBe(PAGERDUTY_EVENTS_URL);
    expect(called).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(ref.incidentId).toBe('k');
  });
});
