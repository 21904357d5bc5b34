import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildServer } from '../../serve/server';
import { slackInteractivity } from '../../serve/slack/interactivity';
import {
  ReplayGuard,
  slackSignature,
  SlackSignatureError,
  verifySlackSignature,
} from '../../serve/slack/verify-signature';
import { sharedFixture } from '../support/shared-fixtures';

// Slack's documented worked example (docs.slack.dev, "Verifying requests from Slack"), read from ../shared/fixtures.
const doc = JSON.parse(
  readFileSync(
    sharedFixture(
      'slack',
      'slack-docs__authentication__verifying-requests-from-slack__signing-worked-example.json',
    ),
    'utf8',
  ),
) as {
  signing_secret: string;
  timestamp: string;
  body: string;
  expected_signature: string;
};
const at = Number(doc.timestamp);

/** Flips one byte (the lowest bit of the character at `i`). */
const flip = (s: string, i: number) =>
  s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ 1) + s.slice(i + 1);

const check = (
  over: Partial<{ timestamp: string; signature: string; body: string; nowSeconds: number }> = {},
) =>
  verifySlackSignature({
    signingSecret: doc.signing_secret,
    timestamp: over.timestamp ?? doc.timestamp,
    signature: over.signature ?? doc.expected_signature,
    rawBody: Buffer.from(over.body ?? doc.body, 'utf8'),
    nowSeconds: over.nowSeconds ?? at,
  });

const refusal = (f: () => void) => {
  try {
    f();
  } catch (err) {
    if (err instanceof SlackSignatureError) return err.refusal;
    throw err;
  }
  return 'accepted';
};

describe("Slack request signatures (Slack's documented example)", () => {
  it('computes the documented signature and verifies the documented request', () => {
    expect(slackSignature(doc.signing_secret, doc.timestamp, doc.body)).toBe(doc.expected_signature);
    expect(refusal(() => check())).toBe('accepted');
  });

  it.each([
    ['the first byte of the body', { body: flip(doc.body, 0) }],
    ['the last byte of the body', { body: flip(doc.body, doc.body.length - 1) }],
    ['a byte in the middle of the body', { body: flip(doc.body, 100) }],
    ['the last digit of the timestamp', { timestamp: flip(doc.timestamp, doc.timestamp.length - 1) }],
    [
      'the last hex digit of the signature',
      { signature: flip(doc.expected_signature, doc.expected_signature.length - 1) },
    ],
    ['a hex digit in the middle of the signature', { signature: flip(doc.expected_signature, 20) }],
    ['the version prefix of the signature', { signature: flip(doc.expected_signature, 1) }],
  ])('refuses the request with one byte flipped in %s', (_what, over) => {
    expect(refusal(() => check(over))).toBe('bad-signature');
  });

  it.each([
    ['301 s old', at + 301, 'stale-timestamp'],
    ['301 s in the future', at - 301, 'stale-timestamp'],
    ['300 s old', at + 300, 'accepted'],
    ['300 s in the future', at - 300, 'accepted'],
  ])('a timestamp %s is %s', (_what, nowSeconds, expected) => {
    expect(refusal(() => check({ nowSeconds }))).toBe(expected);
  });

  it.each([
    ['no signature', { signature: '' }, 'missing-headers'],
    ['no timestamp', { timestamp: '' }, 'missing-headers'],
    ['a timestamp that is not a number', { timestamp: '1531420618.5' }, 'bad-timestamp'],
    ['a shorter signature', { signature: doc.expected_signature.slice(0, -1) }, 'bad-signature'],
    ['the signature in upper case', { signature: doc.expected_signature.toUpperCase() }, 'bad-signature'],
  ])('refuses %s', (_what, over, expected) => {
    expect(refusal(() => check(over))).toBe(expected);
  });

  it('remembers requests for the replay window only, and refuses when full rather than forgetting', () => {
    const guard = new ReplayGuard(2);
    guard.admit('1000', 'v0=a', 1000);
    expect(refusal(() => guard.admit('1000', 'v0=a', 1001))).toBe('replayed');
    guard.admit('1000', 'v0=b', 1001);
    expect(refusal(() => guard.admit('1001', 'v0=c', 1001))).toBe('replay-store-full');
    // Once outside the window, an entry leaves (its request would be refused as stale anyway).
    guard.admit('1400', 'v0=d', 1400);
    expect(guard.size).toBe(1);
  });
});

describe('POST /slack/interactivity refuses before doing anything', () => {
  /** The endpoint with a clock fixed at the documented timestamp; every dependency records whether it was called. */
  async function endpoint() {
    const calls: string[] = [];
    const slack = slackInteractivity({
      signingSecret: () => doc.signing_secret,
      nowMs: () => at * 1000,
      web: {
        views: { open: async () => void calls.push('views.open') },
        chat: { postEphemeral: async () => void calls.push('chat.postEphemeral') },
      },
      personBySlackId: async () => {
        calls.push('registry');
        return undefined;
      },
      answer: async () => {
        calls.push('temporal');
        throw new Error('not reached');
      },
    });
    const app = await buildServer([slack.module]);
    const post = (headers: Record<string, string>, body = doc.body) =>
      app.inject({
        method: 'POST',
        url: '/slack/interactivity',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: body,
      });
    return { app, calls, post, slack };
  }
  const signed = { 'x-slack-request-timestamp': doc.timestamp, 'x-slack-signature': doc.expected_signature };

  it('accepts the documented request once and refuses its replay with 401', async () => {
    const { app, post, slack } = await endpoint();
    expect((await post(signed)).statusCode).toBe(200);
    const again = await post(signed);
    expect(again.statusCode).toBe(401);
    await slack.idle();
    await app.close();
  });

  it.each([
    ['a flipped body byte', signed, flip(doc.body, 5)],
    ['a flipped timestamp', { ...signed, 'x-slack-request-timestamp': flip(doc.timestamp, 9) }, doc.body],
    ['a flipped signature', { ...signed, 'x-slack-signature': flip(doc.expected_signature, 30) }, doc.body],
    ['no signature headers', {}, doc.body],
  ])('answers 401 to %s and calls nothing', async (_what, headers, body) => {
    const { app, calls, post, slack } = await endpoint();
    const r = await post(headers, body);
    expect(r.statusCode).toBe(401);
    await slack.idle();
    expect(calls).toEqual([]);
    await app.close();
  });

  it('checks the signature before the content type: a JSON body with a bad signature is 401, not 415', async () => {
    const { app, calls, slack } = await endpoint();
    const r = await app.inject({
      method: 'POST',
      url: '/slack/interactivity',
      headers: { 'content-type': 'application/json', ...signed },
      payload: '{"payload":1}',
    });
    expect(r.statusCode).toBe(401);
    await slack.idle();
    expect(calls).toEqual([]);
    await app.close();
  });
});
