import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackActivities } from '../../activities/slack';
import { createSlackWebClient } from '../../activities/slack/web-client';
import type { NotificationDetails } from '../../activities/notify/console-notifier';
import { startSlackApiRecorder } from '../support/slack-api-recorder';

// Slack's failures at the HTTP boundary, as Slack documents them: `ok: false` with an error code
// (HTTP 200), and a 429 with Retry-After. Each becomes a named activity failure Temporal retries.
const details: NotificationDetails = {
  unit: 'checkout-web-prod',
  resourceRef: 'Deployment/checkout/web',
  driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
  risk: 'HIGH',
  recommendedAction: 'INCIDENT_AND_REVERT',
  changedFields: ['/spec/template/spec/containers/0/image'],
  actor: 'dave.kim@acme.example',
  rules: [{ ruleId: 'prod-manual-change', why: 'a person changed prod outside Git' }],
  approvers: ['maria.lopez@acme.example'],
  needsPerson: true,
};
const message = { findingId: 'checkout-web-prod:abc', details, status: [], open: true };

let recorder: Awaited<ReturnType<typeof startSlackApiRecorder>>;
beforeAll(async () => {
  recorder = await startSlackApiRecorder();
});
afterAll(async () => recorder.close());

const activities = (apiUrl = recorder.url) =>
  createSlackActivities({
    web: createSlackWebClient({ botToken: 'xoxb-test-token', apiUrl, timeoutMs: 2000 }),
  });
const failureOf = async (p: Promise<unknown>): Promise<ApplicationFailure> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
};

describe('Slack failures fail the activity with a named error, retried', () => {
  it('channel_not_found: SlackApiError naming the method and code, retryable (someone may invite the bot)', async () => {
    recorder.failNext('chat.postMessage', { body: { ok: false, error: 'channel_not_found' } });
    const f = await failureOf(
      new MockActivityEnvironment().run(activities().postSlackMessage, { ...message, channel: '#nowhere' }),
    );
    expect(f.type).toBe('SlackApiError');
    expect(f.message).toBe('Slack chat.postMessage failed: channel_not_found');
    expect(f.nonRetryable).toBe(false);
  });

  it('ratelimited (HTTP 429, Retry-After: 7): SlackRateLimited, retried after exactly Retry-After', async () => {
    recorder.failNext('chat.update', {
      status: 429,
      headers: { 'retry-after': '7' },
      body: { ok: false, error: 'ratelimited' },
    });
    const f = await failureOf(
      new MockActivityEnvironment().run(activities().updateSlackMessage, {
        ...message,
        channel: 'C000001',
        ts: '1.2',
      }),
    );
    expect(f.type).toBe('SlackRateLimited');
    expect(f.message).toMatch(/chat\.update is rate limited \(ratelimited\): retry after 7s/);
    expect(f.nextRetryDelay).toBe('7s');
    expect(f.nonRetryable).toBe(false);
  });

  it('an unreachable Slack: SlackUnreachable, retryable; the token is never in the message', async () => {
    const f = await failureOf(
      new MockActivityEnvironment().run(activities('http://127.0.0.1:9/api/').postSlackMessage, {
        ...message,
        channel: '#team-checkout',
      }),
    );
    expect(f.type).toBe('SlackUnreachable');
    expect(f.nonRetryable).toBe(false);
    expect(f.message).not.toContain('xoxb-test-token');
  });

  it('invalid_auth: not retried (no retry fixes a revoked token)', async () => {
    recorder.failNext('chat.postMessage', { body: { ok: false, error: 'invalid_auth' } });
    const f = await failureOf(
      new MockActivityEnvironment().run(activities().postSlackMessage, {
        ...message,
        channel: '#team-checkout',
      }),
    );
    expect(f.type).toBe('SlackApiError');
    expect(f.nonRetryable).toBe(true);
  });

  it("posts with chat.postMessage's documented arguments (channel, text, blocks) and a bearer token, and returns channel id and ts", async () => {
    const before = recorder.calls.length;
    const ref = await new MockActivityEnvironment().run(activities().postSlackMessage, {
      ...message,
      channel: '#team-checkout',
    });
    const call = recorder.calls[before]!;
    expect(call.method).toBe('chat.postMessage');
    expect(call.bearer).toBe(true);
    expect(JSON.stringify(call.args)).not.toContain('xoxb-test-token');
    expect(call.args).toMatchObject({
      channel: '#team-checkout',
      text: expect.stringContaining('UNAUTHORIZED_RUNTIME_DRIFT'),
    });
    const blocks = call.args.blocks as { type: string; elements?: { action_id: string; value: string }[] }[];
    expect(blocks.find((b) => b.type === 'actions')?.elements?.map((e) => [e.action_id, e.value])).toEqual([
      ['driftplane_approve', 'approve:checkout-web-prod:abc'],
      ['driftplane_reject', 'reject:checkout-web-prod:abc'],
    ]);
    expect(ref).toEqual({
      channel: recorder.channelIds.get('#team-checkout'),
      ts: expect.stringMatching(/^\d+\.\d+$/),
    });
  });

  it('escapes text from outside so it cannot mention @channel or make links', async () => {
    const before = recorder.calls.length;
    await new MockActivityEnvironment().run(activities().postSlackMessage, {
      ...message,
      details: { ...details, actor: '<!channel> <https://evil.example|click>' },
      channel: '#team-checkout',
    });
    const text = JSON.stringify(recorder.calls[before]!.args.blocks);
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('&lt;!channel&gt;');
  });
});
