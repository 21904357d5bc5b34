import { createHmac } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../domain/errors';
import { verifyStatementSignature, type SignedStatement } from '../../domain/signing/statement';
import { buildServer, type ServeModule } from '../../serve';
import type { AnswerSender, DashboardAnswerInput } from '../../serve/dashboard/answer';
import {
  createDashboardAuth,
  DashboardAuthConfigError,
  type DashboardAuthOptions,
} from '../../serve/dashboard/auth';
import { parseCookies } from '../../serve/dashboard/cookies';
import type { DashboardAuth } from '../../serve/dashboard/session';
import { loadConfig, type Config } from '../../workers/config';
import { createStatementSigner } from '../../workers/signing-keys';
import { startOidcIssuer, type TestOidcIssuer } from '../support/oidc-issuer';

// The dashboard's sign-in and answer route through Fastify's inject, with the answer sender
// replaced by a recorder (the real one talks to Temporal: test/workflows/dashboard-answer.test.ts),
// and a real OIDC provider on loopback (test/support/oidc-issuer.ts) driven by openid-client.
const FINDING = 'checkout-web-prod:0123456789abcdef';
const PRIYA = 'priya.nair@acme.example'; // in registry/examples/acme

let home: string;
const sessionSecretHex = 'ab'.repeat(32);

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-dashboard-auth-'));
  await writeFile(path.join(home, 'session.secret'), `${sessionSecretHex}\n`, { mode: 0o600 });
});

const configWith = (env: Record<string, string> = {}): Config =>
  loadConfig({
    DRIFTPLANE_HOME: home,
    DRIFTPLANE_SESSION_SECRET_FILE: path.join(home, 'session.secret'),
    ...env,
  });

/** The answers the route sent, and what the fake lifecycle says back. */
function recordingSender(
  outcome: (
    findingId: string,
    answer: 'approve' | 'reject',
    input: DashboardAnswerInput,
  ) => Promise<void> = async () => undefined,
) {
  const calls: { findingId: string; answer: 'approve' | 'reject'; input: DashboardAnswerInput }[] = [];
  const send: AnswerSender = async (findingId, answer, input) => {
    calls.push({ findingId, answer, input });
    await outcome(findingId, answer, input);
    return { findingId, answer: answer === 'approve' ? 'approved' : 'rejected', approver: input.approver };
  };
  return { calls, send };
}

const probe = (auth: DashboardAuth): ServeModule => ({
  name: 'probe',
  register(app) {
    app.get('/whoami', async (req) => ({
      user: auth.userOf(req) ?? null,
      csrf: auth.csrfTokenFor(req) ?? null,
    }));
  },
});

let open: { app: FastifyInstance; auth: DashboardAuth }[] = [];
afterEach(async () => {
  for (const o of open) {
    await o.app.close();
    await o.auth.close();
  }
  open = [];
});

async function serverWith(
  config: Config,
  opts: Partial<DashboardAuthOptions> & { listenHost?: string } = {},
) {
  const auth = await createDashboardAuth(config, { listenHost: '127.0.0.1', ...opts });
  const app = await buildServer([auth.module, probe(auth)]);
  open.push({ app, auth });
  return { app, auth };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const postAnswer = (
  app: FastifyInstance,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) =>
  app.inject({
    method: 'POST',
    url: `/findings/${encodeURIComponent(FINDING)}/answer`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: form(fields),
  });
const setCookies = (r: LightMyRequestResponse): string[] => {
  const v = r.headers['set-cookie'];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};
/** `name=value` of the cookie `name` a response set. */
const cookieFrom = (r: LightMyRequestResponse, name: string) => {
  const c = setCookies(r).find((s) => s.startsWith(`${name}=`));
  if (!c) throw new Error(`no ${name} cookie in ${JSON.stringify(setCookies(r))}`);
  return c.split(';')[0] as string;
};

describe('modes', () => {
  it('is off without OIDC or a dev user: read-only, answering refused with a page saying how to enable sign-in', async () => {
    const sender = recordingSender();
    const { app, auth } = await serverWith(configWith(), { answer: sender.send });
    expect(auth.mode).toBe('off');
    const r = await postAnswer(app, { answer: 'approve', reason: 'ok', csrf: 'x' });
    expect(r.statusCode).toBe(403);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toContain('DRIFTPLANE_OIDC_ISSUER');
    expect(r.body).toContain('DRIFTPLANE_DASHBOARD_DEV_USER');
    expect(sender.calls).toEqual([]);
    expect((await app.inject('/whoami')).json()).toEqual({ user: null, csrf: null });
  });

  it.each(['127.0.0.1', '::1', 'localhost'])(
    'dev mode on %s: every loopback request is the dev user, and answers as them with a server-signed statement',
    async (host) => {
      const sender = recordingSender();
      const signer = createStatementSigner(configWith().signing);
      const { app, auth } = await serverWith(
        configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: 'Priya.Nair@acme.example' }),
        {
          listenHost: host,
          answer: sender.send,
          sign: (s) => signer.sign(s),
          nowMs: () => Date.parse('2026-03-01T10:00:00Z'),
        },
      );
      expect(auth.mode).toBe('dev');
      const me = (await app.inject('/whoami')).json() as { user: unknown; csrf: string };
      expect(me.user).toEqual({ email: PRIYA, via: 'dev' });
      // The dev CSRF token is the HMAC of the dev session id under the session secret: not guessable without it.
      expect(me.csrf).toBe(
        createHmac('sha256', Buffer.from(sessionSecretHex, 'hex'))
          .update(`csrf\ndev:${PRIYA}`)
          .digest('base64url'),
      );

      const r = await postAnswer(app, {
        answer: 'approve',
        reason: 'Unapproved image tag:\nrevert it',
        csrf: me.csrf,
        approver: 'someone.else@acme.example',
      });
      expect(r.statusCode).toBe(303);
      expect(r.headers.location).toBe(`/findings/${encodeURIComponent(FINDING)}?answered=approve`);
      expect(sender.calls).toHaveLength(1);
      const { input, answer, findingId } = sender.calls[0]!;
      expect([findingId, answer]).toEqual([FINDING, 'approve']);
      // The approver is the session's registry person, never the form's `approver` field.
      expect(input).toMatchObject({
        approver: PRIYA,
        reason: 'Unapproved image tag: revert it',
        via: 'dashboard',
      });
      expect(input.statement?.statement).toEqual({
        v: 1,
        findingId: FINDING,
        answer: 'approved',
        approver: PRIYA,
        reason: 'Unapproved image tag: revert it',
        issuedAt: '2026-03-01T10:00:00.000Z',
        channel: 'dashboard',
      });
      expect(verifyStatementSignature(input.statement as SignedStatement)).toEqual({ ok: true });
      expect(input.statement?.signer.keyId).toBe(signer.trust().keys[0]!.id);
    },
  );

  it('GET /auth/session tells who is signed in and the CSRF token their forms carry', async () => {
    const { app } = await serverWith(configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: PRIYA }));
    const r = await app.inject('/auth/session');
    expect(r.headers['cache-control']).toBe('no-store');
    const s = r.json() as { mode: string; user: unknown; csrf: string };
    expect(s).toEqual({
      mode: 'dev',
      user: { email: PRIYA, via: 'dev' },
      csrf: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
  });

  it('dev mode ignores requests whose Host is not a loopback name (DNS rebinding)', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: PRIYA }), {
      answer: sender.send,
    });
    const me = (await app.inject({ url: '/whoami', headers: { host: 'attacker.example:8787' } })).json() as {
      user: unknown;
    };
    expect(me.user).toBeNull();
    const csrf = ((await app.inject('/whoami')).json() as { csrf: string }).csrf;
    const r = await postAnswer(
      app,
      { answer: 'approve', reason: 'ok', csrf },
      { host: 'attacker.example:8787' },
    );
    expect(r.statusCode).toBe(401);
    expect(sender.calls).toEqual([]);
  });

  it.each(['0.0.0.0', '::', '10.1.2.3'])(
    'refuses dev mode when serve binds %s, naming DRIFTPLANE_DASHBOARD_DEV_USER',
    async (host) => {
      const err = await createDashboardAuth(configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: PRIYA }), {
        listenHost: host,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DashboardAuthConfigError);
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toContain('field DRIFTPLANE_DASHBOARD_DEV_USER');
      expect((err as Error).message).toContain(`not ${host}`);
    },
  );

  it('refuses a session secret file that holds no 32-byte secret, without showing it', async () => {
    const file = path.join(home, 'short.secret');
    await writeFile(file, 'hunter2-not-a-secret\n');
    const err = (await createDashboardAuth(configWith({ DRIFTPLANE_SESSION_SECRET_FILE: file }), {
      listenHost: '127.0.0.1',
    }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(DashboardAuthConfigError);
    expect(err.message).toContain(file);
    expect(err.message).toContain('DRIFTPLANE_SESSION_SECRET_FILE');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('answering in dev mode', () => {
  const devConfig = () => configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: PRIYA });
  const csrfOf = async (app: FastifyInstance) =>
    ((await app.inject('/whoami')).json() as { csrf: string }).csrf;

  it("refuses a missing, wrong or other session's CSRF token with 403, sending nothing", async () => {
    const sender = recordingSender();
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const good = await csrfOf(app);
    for (const csrf of [
      undefined,
      '',
      'x',
      good.slice(0, -1),
      `${good}A`,
      createHmac('sha256', 'other-secret').update(`csrf\ndev:${PRIYA}`).digest('base64url'),
    ]) {
      const r = await postAnswer(app, {
        answer: 'approve',
        reason: 'ok',
        ...(csrf === undefined ? {} : { csrf }),
      });
      expect(r.statusCode).toBe(403);
      expect(r.body).toContain('CSRF');
    }
    expect(sender.calls).toEqual([]);
  });

  it('refuses a cross-site POST even with the token', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const r = await postAnswer(
      app,
      { answer: 'approve', reason: 'ok', csrf: await csrfOf(app) },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(r.statusCode).toBe(403);
    expect(sender.calls).toEqual([]);
  });

  it('refuses an empty reason and an unknown answer with 422', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const csrf = await csrfOf(app);
    expect((await postAnswer(app, { answer: 'approve', reason: ' \n\t ', csrf })).statusCode).toBe(422);
    expect((await postAnswer(app, { answer: 'maybe', reason: 'ok', csrf })).statusCode).toBe(422);
    expect(sender.calls).toEqual([]);
  });

  it('refuses a signed-in e-mail that is not a person in the registry (403), sending nothing', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(configWith({ DRIFTPLANE_DASHBOARD_DEV_USER: 'stranger@acme.example' }), {
      answer: sender.send,
    });
    const r = await postAnswer(app, { answer: 'approve', reason: 'ok', csrf: await csrfOf(app) });
    expect(r.statusCode).toBe(403);
    expect(r.body).toContain('not a person in the registry');
    expect(r.body).toContain('stranger@acme.example');
    expect(sender.calls).toEqual([]);
  });

  it("shows the validator's refusal, escaped, with 409", async () => {
    const sender = recordingSender(async (id) => {
      throw new InputError(
        `approve refused for ${id}: <b>priya.nair@acme.example</b> caused this drift and cannot approve its reconciliation`,
        { field: '--as/--reason' },
      );
    });
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const r = await postAnswer(app, { answer: 'reject', reason: 'no', csrf: await csrfOf(app) });
    expect(r.statusCode).toBe(409);
    expect(r.body).toContain(
      `Refused: approve refused for ${FINDING}: &lt;b&gt;priya.nair@acme.example&lt;/b&gt; caused this drift and cannot approve its reconciliation.`,
    );
    expect(r.body).not.toContain('<b>priya');
    expect(sender.calls[0]!.input.statement?.statement.answer).toBe('rejected');
  });

  it('says 404 when no lifecycle runs for the finding', async () => {
    const sender = recordingSender(async (id) => {
      throw new InputError(`no running lifecycle for finding ${id}`, { field: 'findingId' });
    });
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const r = await postAnswer(app, { answer: 'approve', reason: 'ok', csrf: await csrfOf(app) });
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain(`no running lifecycle for finding ${FINDING}`);
  });

  it('refuses a body over the limit (413)', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(devConfig(), { answer: sender.send });
    const r = await postAnswer(app, {
      answer: 'approve',
      reason: 'x'.repeat(20_000),
      csrf: await csrfOf(app),
    });
    expect(r.statusCode).toBe(413);
    expect(sender.calls).toEqual([]);
  });
});

describe('OIDC sign-in against a provider on loopback', () => {
  let issuer: TestOidcIssuer;
  let secretFile: string;
  const DASHBOARD = 'http://127.0.0.1:8787';

  beforeAll(async () => {
    issuer = await startOidcIssuer({
      user: { sub: 'u-priya', email: 'Priya.Nair@acme.example', email_verified: true, name: 'Priya Nair' },
      redirectUris: [`${DASHBOARD}/auth/callback`],
    });
    secretFile = path.join(home, 'oidc-client.secret');
    await writeFile(secretFile, `${issuer.clientSecret}\n`, { mode: 0o600 });
  });
  afterAll(async () => {
    await issuer?.close();
  });
  afterEach(() => {
    issuer.setUser({
      sub: 'u-priya',
      email: 'Priya.Nair@acme.example',
      email_verified: true,
      name: 'Priya Nair',
    });
  });

  const oidcConfig = (env: Record<string, string> = {}) =>
    configWith({
      DRIFTPLANE_OIDC_ISSUER: issuer.url,
      DRIFTPLANE_OIDC_CLIENT_ID: issuer.clientId,
      DRIFTPLANE_OIDC_CLIENT_SECRET_FILE: secretFile,
      DRIFTPLANE_DASHBOARD_URL: DASHBOARD,
      ...env,
    });

  /** Login → the provider's /authorize (a real HTTP request) → the callback with its code: returns every step. */
  async function signIn(app: FastifyInstance, next = '/findings/x', param = 'next') {
    const login = await app.inject(`/auth/login?${param}=${encodeURIComponent(next)}`);
    expect(login.statusCode).toBe(302);
    const loginCookie = cookieFrom(login, 'driftplane-login');
    const toProvider = new URL(login.headers.location as string);
    const atProvider = await fetch(toProvider, { redirect: 'manual' });
    expect(atProvider.status).toBe(302);
    const back = new URL(atProvider.headers.get('location') as string);
    const callback = await app.inject({
      url: `${back.pathname}${back.search}`,
      headers: { cookie: loginCookie },
    });
    return { login, loginCookie, toProvider, back, callback };
  }

  it('signs in with code + PKCE + state + nonce, sets an 8-hour HttpOnly SameSite=Lax session, and userOf gives the verified e-mail', async () => {
    const sender = recordingSender();
    const { app, auth } = await serverWith(oidcConfig(), { answer: sender.send });
    expect(auth.mode).toBe('oidc');
    const { login, toProvider, back, callback } = await signIn(app);

    expect(setCookies(login)[0]).toMatch(
      /^driftplane-login=[A-Za-z0-9_-]{43}; Path=\/auth\/callback; HttpOnly; SameSite=Lax; Max-Age=600$/,
    );
    expect(toProvider.origin + toProvider.pathname).toBe(`${issuer.url}/authorize`);
    const q = toProvider.searchParams;
    expect(Object.fromEntries([...q.keys()].sort().map((k) => [k, true]))).toEqual({
      client_id: true,
      code_challenge: true,
      code_challenge_method: true,
      nonce: true,
      redirect_uri: true,
      response_type: true,
      scope: true,
      state: true,
    });
    expect(q.get('client_id')).toBe(issuer.clientId);
    expect(q.get('redirect_uri')).toBe(`${DASHBOARD}/auth/callback`);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('scope')).toBe('openid email profile');
    expect(back.searchParams.get('state')).toBe(q.get('state'));

    expect(callback.statusCode).toBe(303);
    expect(callback.headers.location).toBe('/findings/x');
    const session = setCookies(callback).find((c) => c.startsWith('driftplane-session='))!;
    expect(session).toMatch(/; Path=\/; HttpOnly; SameSite=Lax; Max-Age=28800$/);
    expect(session).not.toContain('Secure'); // the dashboard URL is http
    expect(setCookies(callback).find((c) => c.startsWith('driftplane-login='))).toMatch(
      /^driftplane-login=; .*Max-Age=0/,
    );
    // The token endpoint saw one authorization_code grant with HTTP Basic client authentication; it checked the PKCE verifier.
    expect(issuer.tokenRequests.at(-1)).toEqual({
      grantType: 'authorization_code',
      clientAuth: 'basic',
      ok: true,
    });

    const cookie = cookieFrom(callback, 'driftplane-session');
    const me = (await app.inject({ url: '/whoami', headers: { cookie } })).json() as {
      user: unknown;
      csrf: string;
    };
    expect(me.user).toEqual({ email: PRIYA, name: 'Priya Nair', via: 'oidc' });
    expect(me.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Signed in: the answer goes out as the registry person, with the session's CSRF token.
    const r = await postAnswer(app, { answer: 'approve', reason: 'fine', csrf: me.csrf }, { cookie });
    expect(r.statusCode).toBe(303);
    expect(
      sender.calls.map((c) => [c.input.approver, c.input.via, c.input.statement?.statement.channel]),
    ).toEqual([[PRIYA, 'dashboard', 'dashboard']]);
    // The CSRF token of another session is refused.
    const other = cookieFrom((await signIn(app)).callback, 'driftplane-session');
    expect(
      (await postAnswer(app, { answer: 'approve', reason: 'fine', csrf: me.csrf }, { cookie: other }))
        .statusCode,
    ).toBe(403);
    expect(sender.calls).toHaveLength(1);
  });

  it('refuses an answer without a session (401, a sign-in link, nothing sent) and with a forged or altered cookie', async () => {
    const sender = recordingSender();
    const { app } = await serverWith(oidcConfig(), { answer: sender.send });
    const none = await postAnswer(app, { answer: 'approve', reason: 'ok', csrf: 'x' });
    expect(none.statusCode).toBe(401);
    expect(none.body).toContain(
      `href="/auth/login?next=${encodeURIComponent(`/findings/${encodeURIComponent(FINDING)}`)}"`,
    );

    const cookie = cookieFrom((await signIn(app)).callback, 'driftplane-session');
    const csrf = ((await app.inject({ url: '/whoami', headers: { cookie } })).json() as { csrf: string })
      .csrf;
    const [name, value] = cookie.split('=') as [string, string];
    const [body, mac] = value.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(payload).toMatchObject({ email: PRIYA });
    const altered = Buffer.from(JSON.stringify({ ...payload, email: 'dave.kim@acme.example' })).toString(
      'base64url',
    );
    const forgedMac = createHmac('sha256', 'not-the-secret')
      .update(`session\n${altered}`)
      .digest('base64url');
    for (const bad of [
      `${altered}.${mac}`,
      `${altered}.${forgedMac}`,
      `${body}.${mac.slice(0, -2)}`,
      body,
      `${body}.${mac}.x`,
    ]) {
      const r = await postAnswer(
        app,
        { answer: 'approve', reason: 'ok', csrf },
        { cookie: `${name}=${bad}` },
      );
      expect(r.statusCode).toBe(401);
      expect((await app.inject({ url: '/whoami', headers: { cookie: `${name}=${bad}` } })).json()).toEqual({
        user: null,
        csrf: null,
      });
    }
    expect(sender.calls).toEqual([]);
  });

  it('expires a session after 8 hours', async () => {
    let now = Date.parse('2026-03-01T08:00:00Z');
    const { app } = await serverWith(oidcConfig(), { nowMs: () => now });
    const cookie = cookieFrom((await signIn(app)).callback, 'driftplane-session');
    now += 8 * 3600_000 - 1000;
    expect(
      ((await app.inject({ url: '/whoami', headers: { cookie } })).json() as { user: unknown }).user,
    ).toMatchObject({ email: PRIYA });
    now += 1000;
    expect(
      ((await app.inject({ url: '/whoami', headers: { cookie } })).json() as { user: unknown }).user,
    ).toBeNull();
  });

  it('refuses a callback whose state is not the one this browser started (400), without calling the token endpoint', async () => {
    const { app } = await serverWith(oidcConfig());
    const login = await app.inject('/auth/login');
    const loginCookie = cookieFrom(login, 'driftplane-login');
    const atProvider = await fetch(login.headers.location as string, { redirect: 'manual' });
    const back = new URL(atProvider.headers.get('location') as string);
    back.searchParams.set('state', 'an-attacker-state');
    const n = issuer.tokenRequests.length;
    const r = await app.inject({ url: `${back.pathname}${back.search}`, headers: { cookie: loginCookie } });
    expect(r.statusCode).toBe(400);
    expect(r.body).toContain('does not belong to a sign-in started in this browser');
    expect(setCookies(r).some((c) => c.startsWith('driftplane-session='))).toBe(false);
    // The right state after that fails too: a started sign-in is used once.
    back.searchParams.set('state', new URL(login.headers.location as string).searchParams.get('state')!);
    expect(
      (await app.inject({ url: `${back.pathname}${back.search}`, headers: { cookie: loginCookie } }))
        .statusCode,
    ).toBe(400);
    // Without the login cookie (another browser), the provider's genuine answer is refused as well.
    const again = await signIn(app);
    const bare = await app.inject(`${again.back.pathname}${again.back.search}`);
    expect(bare.statusCode).toBe(400);
    expect(again.callback.statusCode).toBe(303);
    // The token endpoint was called once: for the genuine sign-in only, never for a refused callback.
    expect(issuer.tokenRequests.length).toBe(n + 1);
  });

  it('refuses an account whose e-mail the provider has not verified (403), and one with no e-mail', async () => {
    const { app } = await serverWith(oidcConfig());
    issuer.setUser({ sub: 'u-x', email: 'priya.nair@acme.example', email_verified: false });
    const unverified = (await signIn(app)).callback;
    expect(unverified.statusCode).toBe(403);
    expect(unverified.body).toContain('has not verified the e-mail address priya.nair@acme.example');
    expect(setCookies(unverified).some((c) => c.startsWith('driftplane-session='))).toBe(false);
    issuer.setUser({ sub: 'u-y' });
    const noEmail = (await signIn(app)).callback;
    expect(noEmail.statusCode).toBe(403);
    expect(noEmail.body).toContain('no e-mail address');
    // No email_verified claim at all: accepted (the provider does not say).
    issuer.setUser({ sub: 'u-z', email: 'dave.kim@acme.example' });
    const silent = (await signIn(app)).callback;
    expect(silent.statusCode).toBe(303);
  });

  it.each(['nonce', 'audience', 'key'] as const)(
    'refuses an ID token with the wrong %s (no session)',
    async (how) => {
      const { app } = await serverWith(oidcConfig());
      issuer.tamperNext(how);
      const r = (await signIn(app)).callback;
      expect(r.statusCode).toBe(502);
      expect(r.body).toContain('sign-in could not be completed');
      expect(setCookies(r).some((c) => c.startsWith('driftplane-session='))).toBe(false);
      expect(issuer.tokenRequests.at(-1)).toMatchObject({ ok: true }); // the provider answered; the dashboard refused what it said
      // The next, untampered sign-in works.
      expect((await signIn(app)).callback.statusCode).toBe(303);
    },
  );

  it('refuses a wrong client secret at the token endpoint (the provider says invalid_client)', async () => {
    const wrong = path.join(home, 'wrong.secret');
    await writeFile(wrong, 'not-the-client-secret\n');
    const logs: string[] = [];
    const { app } = await serverWith(oidcConfig({ DRIFTPLANE_OIDC_CLIENT_SECRET_FILE: wrong }), {
      log: (l) => logs.push(l),
    });
    const r = (await signIn(app)).callback;
    expect(r.statusCode).toBe(502);
    expect(issuer.tokenRequests.at(-1)).toMatchObject({ ok: false, error: 'invalid_client' });
    expect(r.body).toContain('the provider refused driftplane&#39;s client credentials');
    // Neither secret reaches the log or the page.
    for (const text of [...logs, r.body]) {
      expect(text).not.toContain(issuer.clientSecret);
      expect(text).not.toContain('not-the-client-secret');
    }
  });

  it('signs out: POST /auth/logout with the CSRF token clears the cookie and revokes the session', async () => {
    const { app } = await serverWith(oidcConfig());
    const cookie = cookieFrom((await signIn(app)).callback, 'driftplane-session');
    const page = await app.inject({ url: '/auth/logout', headers: { cookie } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const refused = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ csrf: 'x' }),
    });
    expect(refused.statusCode).toBe(403);
    const out = await app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ csrf: csrf! }),
    });
    expect(out.statusCode).toBe(303);
    expect(setCookies(out)[0]).toMatch(/^driftplane-session=; .*Max-Age=0/);
    // The old cookie, replayed, no longer signs anyone in.
    expect(
      ((await app.inject({ url: '/whoami', headers: { cookie } })).json() as { user: unknown }).user,
    ).toBeNull();
  });

  it('uses Secure __Host- cookies when the dashboard URL is https', async () => {
    const { app } = await serverWith(oidcConfig({ DRIFTPLANE_DASHBOARD_URL: 'https://drift.acme.example' }));
    const login = await app.inject('/auth/login');
    expect(setCookies(login)[0]).toMatch(
      /^__Host-driftplane-login=[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=600; Secure$/,
    );
    expect(new URL(login.headers.location as string).searchParams.get('redirect_uri')).toBe(
      'https://drift.acme.example/auth/callback',
    );
  });

  it('without a dashboard URL, redirects back to the loopback address the browser used; a non-loopback bind needs the URL', async () => {
    const cfg = oidcConfig();
    delete cfg.dashboard.publicUrl;
    const { app } = await serverWith(cfg);
    const login = await app.inject({ url: '/auth/login', headers: { host: '127.0.0.1:9999' } });
    expect(new URL(login.headers.location as string).searchParams.get('redirect_uri')).toBe(
      'http://127.0.0.1:9999/auth/callback',
    );
    expect((await app.inject({ url: '/auth/login', headers: { host: 'evil.example' } })).statusCode).toBe(
      400,
    );
    const err = (await createDashboardAuth(cfg, { listenHost: '0.0.0.0' }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('field DRIFTPLANE_DASHBOARD_URL');
  });

  it('only follows a `next` that is a path on this server', async () => {
    const { app } = await serverWith(oidcConfig());
    for (const [next, expected] of [
      ['/owner?team=checkout', '/owner?team=checkout'],
      ['//evil.example/x', '/'],
      ['https://evil.example', '/'],
      ['/\\evil.example', '/'],
    ] as const) {
      const r = (await signIn(app, next)).callback;
      expect(r.headers.location).toBe(expected);
    }
    // The finding page's link names it `return`.
    expect((await signIn(app, '/findings/a%3Ab', 'return')).callback.headers.location).toBe(
      '/findings/a%3Ab',
    );
  });

  it('refuses a plain-http issuer that is not on loopback', async () => {
    const err = (await createDashboardAuth(
      configWith({ DRIFTPLANE_OIDC_ISSUER: 'http://idp.acme.example', DRIFTPLANE_OIDC_CLIENT_ID: 'x' }),
      { listenHost: '127.0.0.1' },
    ).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('field DRIFTPLANE_OIDC_ISSUER');
  });
});

describe('cookies', () => {
  it('parses the first value of each name', () => {
    expect([...parseCookies('a=1; b="2"; a=3;c=; =x').entries()]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', ''],
    ]);
  });
});
