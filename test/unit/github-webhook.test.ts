import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../serve/server';
import { loadConfig } from '../../workers/config';
import {
  DeliveryGuard,
  GITHUB_WEBHOOK_BODY_LIMIT,
  githubSignature,
  githubFromConfig,
  GitHubSignatureError,
  githubWebhook,
  verifyGitHubSignature,
  type SignalOutcome,
} from '../../serve/github/index';
import type { PullRequestClosed } from '../../workflows/messages';
import { sharedFixture } from '../support/shared-fixtures';

// GitHub's documented test vector ("Validating webhook deliveries"), read from ../shared/fixtures.
const vector = JSON.parse(
  readFileSync(
    sharedFixture(
      'github',
      'github-docs__content__webhooks__using-webhooks__validating-webhook-deliveries.md__signature-test-vector.json',
    ),
    'utf8',
  ),
) as { secret: string; payload: string; signature: string; x_hub_signature_256: string };

// A real `pull_request` `closed` delivery (octokit/webhooks payload examples): PR #2 of Codertocat/Hello-World, not merged.
const closedRaw = readFileSync(
  sharedFixture(
    'github',
    'octokit-webhooks__payload-examples__api.github.com__pull_request__closed.payload.json',
  ),
  'utf8',
);
const openedRaw = readFileSync(
  sharedFixture(
    'github',
    'octokit-webhooks__payload-examples__api.github.com__pull_request__opened.payload.json',
  ),
  'utf8',
);
const pushRaw = readFileSync(
  sharedFixture('github', 'octokit-webhooks__payload-examples__api.github.com__push__payload.json'),
  'utf8',
);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const closed = (): Json => JSON.parse(closedRaw) as Json;
/** The fixture with its head branch renamed to a driftplane branch (the fixture's own is `changes`). */
const onDriftplaneBranch = (edit: (p: Json) => void = () => undefined): string => {
  const p = closed();
  // Set by this test: the branch driftplane would push for finding `checkout-web-prod:abc123`.
  p.pull_request.head.ref = 'driftplane/checkout-web-prod/abc123';
  edit(p);
  return JSON.stringify(p);
};

const SECRET = 'whsec-test-7f3a9c1e5b2d4a6f8e0c';
const secrets = [SECRET, vector.secret];
/** Every response body and log line of this file, checked at the end for the secrets. */
const seen: string[] = [];

/** Flips one byte (the lowest bit of the character at `i`). */
const flip = (s: string, i: number) =>
  s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ 1) + s.slice(i + 1);

interface Sink {
  calls: { workflowId: string; payload: PullRequestClosed }[];
  outcome: () => Promise<SignalOutcome>;
}

async function setup(over: { secret?: string | undefined; outcome?: () => Promise<SignalOutcome> } = {}) {
  const sink: Sink = { calls: [], outcome: over.outcome ?? (async () => 'signalled') };
  const logs: string[] = [];
  const deliveries = new DeliveryGuard();
  const secret = 'secret' in over ? over.secret : SECRET;
  const module = githubWebhook({
    webhookSecret: () => secret,
    signal: async (workflowId, payload) => {
      sink.calls.push({ workflowId, payload });
      return sink.outcome();
    },
    deliveries,
    log: (line) => {
      logs.push(line);
      seen.push(line);
    },
  });
  const app = await buildServer([module]);
  let n = 0;
  const post = async (
    body: string | Buffer,
    opts: {
      event?: string;
      delivery?: string;
      signature?: string | null;
      contentType?: string;
      secret?: string;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers: Record<string, string> = {
      'content-type': opts.contentType ?? 'application/json',
      'x-github-event': opts.event ?? 'pull_request',
      'x-github-delivery': opts.delivery ?? `72d3162e-cc78-11e3-81ab-4c9367dc${String(++n).padStart(4, '0')}`,
      ...opts.headers,
    };
    if (opts.signature !== null)
      headers['x-hub-signature-256'] = opts.signature ?? githubSignature(opts.secret ?? SECRET, body);
    const res = await app.inject({ method: 'POST', url: '/github/webhook', payload: body, headers });
    seen.push(res.body, JSON.stringify(res.headers));
    return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as Json) : {} };
  };
  return { app, post, sink, logs, deliveries };
}

const apps: FastifyInstance[] = [];
const open = async (...args: Parameters<typeof setup>) => {
  const s = await setup(...args);
  apps.push(s.app);
  return s;
};
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
});

describe("GitHub delivery signatures (GitHub's documented test vector)", () => {
  it('computes the documented X-Hub-Signature-256 and verifies it', async () => {
    expect(githubSignature(vector.secret, Buffer.from(vector.payload, 'utf8'))).toBe(
      vector.x_hub_signature_256,
    );
    expect(vector.x_hub_signature_256).toBe(`sha256=${vector.signature}`);
    expect(() =>
      verifyGitHubSignature({
        secret: vector.secret,
        signature: vector.x_hub_signature_256,
        rawBody: Buffer.from(vector.payload),
      }),
    ).not.toThrow();
    // The same answer as octokit's implementation.
    const octokit = await import('@octokit/webhooks-methods');
    expect(await octokit.sign(vector.secret, vector.payload)).toBe(
      githubSignature(vector.secret, vector.payload),
    );
    expect(
      await octokit.verify(vector.secret, vector.payload, githubSignature(vector.secret, vector.payload)),
    ).toBe(true);
  });

  it('signs raw bytes: two invalid UTF-8 bodies that decode to the same text do not share a signature', () => {
    const a = Buffer.from([0x7b, 0xff, 0x7d]);
    const b = Buffer.from([0x7b, 0xfe, 0x7d]);
    expect(a.toString('utf8')).toBe(b.toString('utf8'));
    expect(() =>
      verifyGitHubSignature({ secret: SECRET, signature: githubSignature(SECRET, a), rawBody: b }),
    ).toThrow(GitHubSignatureError);
  });

  it('accepts the documented delivery at the endpoint (then refuses its body, which is not JSON: 400, not 401)', async () => {
    const { post, sink } = await open({ secret: vector.secret });
    const res = await post(vector.payload, { event: 'ping', signature: vector.x_hub_signature_256 });
    expect(res).toEqual({ status: 400, body: { error: 'body is not JSON' } });
    expect(sink.calls).toEqual([]);
  });

  const sha1 = (secret: string, body: string) =>
    `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`;

  it.each([
    ['one byte of the body flipped', { body: flip(vector.payload, 0) }, 'bad-signature'],
    [
      'the last byte of the body flipped',
      { body: flip(vector.payload, vector.payload.length - 1) },
      'bad-signature',
    ],
    [
      'the last hex digit of the signature flipped',
      { signature: flip(vector.x_hub_signature_256, vector.x_hub_signature_256.length - 1) },
      'bad-signature',
    ],
    [
      'a hex digit in the middle flipped',
      { signature: flip(vector.x_hub_signature_256, 30) },
      'bad-signature',
    ],
    ['no X-Hub-Signature-256 header', { signature: null }, 'missing-header'],
    [
      'only a sha1= header',
      { signature: null, headers: { 'x-hub-signature': sha1(vector.secret, vector.payload) } },
      'missing-header',
    ],
    [
      'a sha1= value in X-Hub-Signature-256',
      { signature: sha1(vector.secret, vector.payload) },
      'malformed-header',
    ],
    ['the bare hex, without sha256=', { signature: vector.signature }, 'malformed-header'],
    ['a truncated signature', { signature: vector.x_hub_signature_256.slice(0, -2) }, 'malformed-header'],
  ] as const)('refuses a delivery with %s: 401, nothing else happens', async (_what, over, refusal) => {
    const { post, sink, logs, deliveries } = await open({ secret: vector.secret });
    const body = 'body' in over ? over.body : vector.payload;
    const signature = 'signature' in over ? over.signature : vector.x_hub_signature_256;
    const res = await post(body, {
      event: 'ping',
      delivery: 'd-refused',
      signature,
      ...('headers' in over ? { headers: over.headers } : {}),
    });
    expect(res).toEqual({ status: 401, body: { error: 'invalid GitHub signature' } });
    expect(logs).toEqual([`github: refused a delivery (${refusal})`]);
    expect(sink.calls).toEqual([]);
    expect(deliveries.size).toBe(0); // a forged delivery is not remembered: the real one with its id still counts
  });

  it('checks the signature before the content type or the body is looked at', async () => {
    const { post } = await open();
    expect((await post('not json', { signature: `sha256=${'0'.repeat(64)}` })).status).toBe(401);
    expect((await post('a=b', { contentType: 'text/plain', signature: null })).status).toBe(401);
  });

  it('answers 503 without a configured secret, even to a delivery signed with some secret', async () => {
    for (const secret of [undefined, '']) {
      const { post, sink } = await open({ secret });
      const res = await post(onDriftplaneBranch(), { secret: 'anything' });
      expect(res).toEqual({ status: 503, body: { error: 'GitHub webhook secret not configured' } });
      expect(sink.calls).toEqual([]);
    }
  });
});

describe('POST /github/webhook: pull_request closed', () => {
  it('answers ping with 200', async () => {
    const { post } = await open();
    expect(
      await post(JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 }), { event: 'ping' }),
    ).toEqual({ status: 200, body: { ok: true } });
  });

  it('ignores the fixture as it is: its branch `changes` is not a driftplane branch', async () => {
    const { post, sink } = await open();
    expect(await post(closedRaw)).toEqual({ status: 202, body: { ignored: 'not a driftplane branch' } });
    expect(sink.calls).toEqual([]);
  });

  it('signals pullRequestClosed (merged false) to the finding of a driftplane branch', async () => {
    const { post, sink } = await open();
    const res = await post(onDriftplaneBranch());
    expect(res).toEqual({
      status: 200,
      body: { signalled: 'finding:checkout-web-prod:abc123', merged: false },
    });
    expect(sink.calls).toEqual([
      {
        workflowId: 'finding:checkout-web-prod:abc123',
        payload: {
          number: 2,
          merged: false,
          repo: 'Codertocat/Hello-World',
          url: 'https://github.com/Codertocat/Hello-World/pull/2',
          by: 'Codertocat',
          at: '2019-05-15T15:21:18Z',
          // no mergeCommit: the fixture's merge_commit_sha is GitHub's test merge of an unmerged PR
          via: 'github-webhook',
        },
      },
    ]);
  });

  it('signals merged true, by the merger, with the merge commit, when the test sets merged: true', async () => {
    const { post, sink } = await open();
    const body = onDriftplaneBranch((p) => {
      p.pull_request.merged = true; // set by this test
      p.pull_request.merged_by = { login: 'octo-merger' };
    });
    expect((await post(body)).status).toBe(200);
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0]?.payload).toMatchObject({
      merged: true,
      by: 'octo-merger',
      mergeCommit: 'c4295bd74fb0f4fda03689c3df3f2803b658fd85',
    });
  });

  it('accepts the form-encoded content type (payload=<json>)', async () => {
    const { post, sink } = await open();
    const form = new URLSearchParams({ payload: onDriftplaneBranch() }).toString();
    expect((await post(form, { contentType: 'application/x-www-form-urlencoded' })).status).toBe(200);
    expect(sink.calls.map((c) => c.workflowId)).toEqual(['finding:checkout-web-prod:abc123']);
  });

  it('does not signal twice for a repeated delivery id, nor for the same signed body under a new id', async () => {
    const { post, sink } = await open();
    const body = onDriftplaneBranch();
    expect((await post(body, { delivery: 'dup-1' })).status).toBe(200);
    expect(await post(body, { delivery: 'dup-1' })).toEqual({ status: 200, body: { duplicate: true } });
    expect(await post(body, { delivery: 'dup-2-replayed-under-a-new-id' })).toEqual({
      status: 200,
      body: { duplicate: true },
    });
    expect(sink.calls).toHaveLength(1);
  });

  it('answers 409 to the same delivery arriving while the first is still being handled', async () => {
    let release: (v: SignalOutcome) => void = () => undefined;
    const { post, sink } = await open({ outcome: () => new Promise<SignalOutcome>((r) => (release = r)) });
    const body = onDriftplaneBranch();
    const first = post(body, { delivery: 'slow-1' });
    await new Promise((r) => setTimeout(r, 20));
    expect((await post(body, { delivery: 'slow-1' })).status).toBe(409);
    release('signalled');
    expect((await first).status).toBe(200);
    expect(sink.calls).toHaveLength(1);
  });

  it('answers 503 when Temporal cannot be reached, and handles the redelivery (same id) once it can', async () => {
    let down = true;
    const { post, sink, logs } = await open({
      outcome: async () => {
        if (down)
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7233'), { name: 'ToolError' });
        return 'signalled';
      },
    });
    const body = onDriftplaneBranch();
    const res = await post(body, { delivery: 'retry-1' });
    expect(res.status).toBe(503);
    expect(res.body.error).toMatch(/Temporal is unreachable/);
    expect(logs.at(-1)).toMatch(/signalling finding:checkout-web-prod:abc123 failed: ToolError/);
    down = false;
    expect(await post(body, { delivery: 'retry-1' })).toEqual({
      status: 200,
      body: { signalled: 'finding:checkout-web-prod:abc123', merged: false },
    });
    expect(sink.calls).toHaveLength(2);
  });

  it('answers 202 with a note when no lifecycle runs for the finding (GitHub must not retry)', async () => {
    const { post } = await open({ outcome: async () => 'not-found' });
    expect(await post(onDriftplaneBranch())).toEqual({
      status: 202,
      body: {
        ignored: 'no running lifecycle for this finding',
        workflowId: 'finding:checkout-web-prod:abc123',
      },
    });
  });

  it('ignores a PR whose head branch is in a fork, whatever its name', async () => {
    const { post, sink } = await open();
    const res = await post(
      onDriftplaneBranch((p) => (p.pull_request.head.repo.full_name = 'mallory/Hello-World')),
    );
    expect(res).toEqual({ status: 202, body: { ignored: 'head branch is not in this repository (a fork)' } });
    expect(sink.calls).toEqual([]);
  });

  it.each([
    ['pull_request opened', openedRaw, 'pull_request', 'pull_request action "opened"'],
    ['push', pushRaw, 'push', 'event push'],
  ])('acknowledges and ignores %s (202)', async (_what, body, event, ignored) => {
    const { post, sink } = await open();
    expect(await post(body, { event })).toEqual({ status: 202, body: { ignored } });
    expect(sink.calls).toEqual([]);
  });

  it.each([
    ['pull_request.head.ref', (p: Json) => delete p.pull_request.head.ref],
    ['pull_request.closed_at', (p: Json) => (p.pull_request.closed_at = null)],
    ['pull_request.number', (p: Json) => (p.pull_request.number = '2')],
    ['repository', (p: Json) => delete p.repository],
    ['sender.login', (p: Json) => delete p.sender.login],
  ])('answers 400 naming %s when the delivery lacks it', async (field, edit) => {
    const { post, sink } = await open();
    const res = await post(onDriftplaneBranch(edit));
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error).toContain(field);
    expect(sink.calls).toEqual([]);
  });

  it('answers 415 to a content type GitHub does not send', async () => {
    const { post } = await open();
    const res = await post(onDriftplaneBranch(), { contentType: 'text/plain' });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatch(/application\/json/);
  });

  it('takes bodies above the server default of 1 MB, and refuses ones above 5 MB (413)', async () => {
    const { post, sink } = await open();
    const big = onDriftplaneBranch((p) => (p.pull_request.body = 'x'.repeat(2 * 1024 * 1024)));
    expect((await post(big)).status).toBe(200);
    const tooBig = JSON.stringify({ zen: 'x'.repeat(GITHUB_WEBHOOK_BODY_LIMIT) });
    expect((await post(tooBig, { event: 'ping' })).status).toBe(413);
    expect(sink.calls).toHaveLength(1);
  });

  it('from the configuration: reads GITHUB_WEBHOOK_SECRET lazily, never prints it, and answers 503 while Temporal is down', async () => {
    const config = loadConfig({ GITHUB_WEBHOOK_SECRET: SECRET, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(config.github.webhookSecret?.()).toBe(SECRET);
    expect(JSON.stringify(config)).not.toContain(SECRET);
    expect(loadConfig({}).github).toEqual({});
    const logs: string[] = [];
    const github = githubFromConfig(config, { log: (l) => logs.push(l) });
    const app = await buildServer([github.module]);
    try {
      const body = onDriftplaneBranch();
      const res = await app.inject({
        method: 'POST',
        url: '/github/webhook',
        payload: body,
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'pull_request',
          'x-github-delivery': 'from-config-1',
          'x-hub-signature-256': githubSignature(SECRET, body),
        },
      });
      seen.push(res.body, ...logs);
      expect(res.statusCode).toBe(503);
      expect(logs.join('\n')).toMatch(/cannot reach Temporal at 127\.0\.0\.1:1/);
    } finally {
      await app.close();
      await github.close();
    }
  });

  it('never shows the secret in a response or a log line', () => {
    expect(seen.length).toBeGreaterThan(50);
    for (const s of secrets) expect(seen.filter((line) => line.includes(s))).toEqual([]);
  });
});
