/**
 * The dashboard's sign-in and answers (docs/dashboard.md, "Sign-in"). Three modes, from the
 * configuration:
 * - `oidc` (DRIFTPLANE_OIDC_ISSUER and DRIFTPLANE_OIDC_CLIENT_ID): `/auth/login` runs the
 *   authorization-code flow with PKCE, state and nonce; `/auth/callback` takes the verified e-mail
 *   from the ID token and sets an 8-hour session cookie (HMAC-SHA256 under the session secret);
 *   `/auth/logout` ends it.
 * - `dev` (DRIFTPLANE_DASHBOARD_DEV_USER, no OIDC, `serve` bound to loopback): every request from
 *   a loopback address name is that person. Refused on any other bind address.
 * - `off`: the read views only; answering is refused with a page saying how to enable sign-in.
 * Every POST carries the session's CSRF token. `POST /findings/:id/answer` answers as the registry
 * person behind the session, with a statement signed by the server's key (answer.ts).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InputError } from '../../domain/errors';
import { parseRedactionKey } from '../../domain/redaction';
import type { ApprovalStatement, SignedStatement } from '../../domain/signing/statement';
import type { Config } from '../../workers/config';
import { createStatementSigner } from '../../workers/signing-keys';
import { channelAnswers, registryPeople } from '../channel-answers';
import type { ServeModule } from '../server';
import { ANSWER_BODY_LIMIT, handleAnswer, type AnswerSender } from './answer';
import { authPage, link } from './auth-pages';
import { escapeHtml } from './html';
import { parseCookies, randomId, serializeCookie, SESSION_TTL_MS, SessionSealer } from './cookies';
import {
  createOidcSignIn,
  isLoopbackHost,
  LOGIN_TTL_MS,
  OidcSignInError,
  type OidcSignIn,
  type PendingLogin,
} from './oidc';
import type { DashboardAuth, DashboardUser } from './session';

/** Sign-ins started and not finished that the server keeps at most (oldest dropped first). */
const MAX_PENDING_LOGINS = 10_000;

/** What {@link createDashboardAuth} takes besides the configuration. */
export interface DashboardAuthOptions {
  /** The address `serve` binds: local-development mode is allowed only on loopback. */
  listenHost: string;
  /** One line per sign-in, refusal or answer; never a cookie, token, code or secret. */
  log?: (line: string) => void;
  /** Signs approval statements (default: the server's key, `createStatementSigner(config.signing)`). */
  sign?: (s: ApprovalStatement) => SignedStatement;
  /** Sends an answer to its lifecycle (default: `answerFinding` on a Temporal client connected on first use). Tests pass a fake. */
  answer?: AnswerSender;
  /** Epoch ms (tests move the clock to expire sessions). */
  nowMs?: () => number;
}

/** The sign-in configuration is unusable: the message names the setting. */
export class DashboardAuthConfigError extends InputError {}

/**
 * Builds the dashboard's sign-in and answer routes from the configuration. Reads the OIDC client
 * secret and the session secret at start (never logged); throws a {@link DashboardAuthConfigError}
 * naming the setting when local-development mode is asked for on a non-loopback bind address.
 */
export async function createDashboardAuth(
  config: Config,
  opts: DashboardAuthOptions,
): Promise<DashboardAuth> {
  const log = opts.log ?? (() => undefined);
  const nowMs = opts.nowMs ?? Date.now;
  const d = config.dashboard;
  const publicUrl = d.publicUrl?.replace(/\/+$/, '');
  const secure = publicUrl?.startsWith('https:') ?? false;
  const names = {
    // `__Host-`: the browser keeps it only when Secure, on this host, for every path.
    session: secure ? '__Host-driftplane-session' : 'driftplane-session',
    login: secure ? '__Host-driftplane-login' : 'driftplane-login',
  };
  const sealer = new SessionSealer(readSessionSecret(d.sessionSecretFile));

  let mode: DashboardAuth['mode'] = 'off';
  let oidc: OidcSignIn | undefined;
  if (d.oidc) {
    if (!publicUrl && !isLoopbackHost(opts.listenHost))
      throw new DashboardAuthConfigError(
        `OIDC sign-in on ${opts.listenHost} needs the dashboard's public URL, registered at the provider as <url>/auth/callback`,
        { field: 'DRIFTPLANE_DASHBOARD_URL' },
      );
    const clientSecret = d.oidc.clientSecretFile
      ? readSecretFile(d.oidc.clientSecretFile, 'DRIFTPLANE_OIDC_CLIENT_SECRET_FILE')
      : undefined;
    oidc = createOidcSignIn({
      issuer: d.oidc.issuer,
      clientId: d.oidc.clientId,
      ...(clientSecret ? { clientSecret } : {}),
    });
    mode = 'oidc';
    if (d.devUser) log('dashboard: DRIFTPLANE_DASHBOARD_DEV_USER is ignored: OIDC sign-in is configured');
    log(`dashboard: sign-in with OIDC (${oidc.issuer})`);
  } else if (d.devUser) {
    if (!isLoopbackHost(opts.listenHost))
      throw new DashboardAuthConfigError(
        `DRIFTPLANE_DASHBOARD_DEV_USER signs every request in as ${d.devUser}, so it is allowed only when serve binds a loopback address (127.0.0.1, ::1 or localhost), not ${opts.listenHost}: unset it, or configure OIDC sign-in (DRIFTPLANE_OIDC_ISSUER, DRIFTPLANE_OIDC_CLIENT_ID)`,
        { field: 'DRIFTPLANE_DASHBOARD_DEV_USER' },
      );
    mode = 'dev';
    log(`dashboard: local-development sign-in: every request is ${d.devUser}`);
  } else {
    log('dashboard: no sign-in configured: read views only, answering is refused');
  }

  const pending = new Map<string, PendingLogin>();
  const revoked = new Map<string, number>();
  const cookie = (name: string, value: string, maxAgeMs: number, path = '/') =>
    serializeCookie(name, value, {
      maxAge: maxAgeMs / 1000,
      secure,
      sameSite: 'Lax',
      path: secure ? '/' : path,
    });

  /** The signed-in person and their session id. */
  const sessionOf = (req: FastifyRequest): (DashboardUser & { sid: string }) | undefined => {
    if (mode === 'dev') {
      // A page on another site that rebinds its DNS name to 127.0.0.1 must not act as the dev user.
      if (!isLoopbackHost(req.hostname)) return undefined;
      return { email: d.devUser as string, via: 'dev', sid: `dev:${d.devUser as string}` };
    }
    if (mode !== 'oidc') return undefined;
    const p = sealer.open(parseCookies(req.headers.cookie).get(names.session), nowMs());
    if (!p || revoked.has(p.sid)) return undefined;
    return { email: p.email, via: 'oidc', sid: p.sid, ...(p.name ? { name: p.name } : {}) };
  };

  const people = registryPeople(config.registryDir);
  const personByEmail = (email: string) => people.byEmail(email);
  const answers = channelAnswers(config, 'dashboard');
  const answer: AnswerSender = opts.answer ?? ((findingId, a, input) => answers.send(findingId, a, input));
  const signer = opts.sign ? undefined : createStatementSigner(config.signing);
  const sign = opts.sign ?? ((st: ApprovalStatement) => (signer as NonNullable<typeof signer>).sign(st));

  /** The redirect URI of this server: the public URL, or the loopback address the browser used. */
  const redirectUriOf = (req: FastifyRequest): string | undefined => {
    if (publicUrl) return `${publicUrl}/auth/callback`;
    if (!isLoopbackHost(req.hostname) || !/^[A-Za-z0-9.[\]:-]+$/.test(req.host)) return undefined;
    return `http://${req.host}/auth/callback`;
  };

  const html = (reply: FastifyReply, status: number, body: string) =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(body);

  const howToEnable =
    'Configure OIDC sign-in (DRIFTPLANE_OIDC_ISSUER, DRIFTPLANE_OIDC_CLIENT_ID, DRIFTPLANE_OIDC_CLIENT_SECRET_FILE, DRIFTPLANE_DASHBOARD_URL), or, on your own machine with serve bound to loopback, set DRIFTPLANE_DASHBOARD_DEV_USER to your registry e-mail.';

  const module: ServeModule = {
    name: 'dashboard-auth',
    register(app) {
      // Forms in this scope only: URL-encoded, small, first value of each name.
      app.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: ANSWER_BODY_LIMIT },
        (_req, body, done) => {
          const out: Record<string, string> = Object.create(null) as Record<string, string>;
          for (const [k, v] of new URLSearchParams(body as string)) if (!(k in out)) out[k] = v;
          done(null, out);
        },
      );

      app.get('/auth/login', async (req, reply) => {
        // `next` (and `return`, as the finding page's sign-in link names it): where to go after sign-in.
        const q = req.query as { next?: unknown; return?: unknown };
        const next = safeNext(q.next ?? q.return);
        if (mode === 'dev') return reply.code(303).header('location', next).send();
        if (!oidc)
          return html(
            reply,
            403,
            authPage('Sign-in is not configured', [
              'This dashboard has no sign-in: it shows findings but cannot take answers.',
              howToEnable,
            ]),
          );
        const redirectUri = redirectUriOf(req);
        if (!redirectUri)
          return html(
            reply,
            400,
            authPage('Open the dashboard at its own address', [
              'Sign-in works at the address the server knows itself by: set DRIFTPLANE_DASHBOARD_URL, or open it at 127.0.0.1 or localhost.',
            ]),
          );
        try {
          const started = await oidc.start(redirectUri, next, nowMs());
          const id = randomId();
          prune(pending, nowMs());
          while (pending.size >= MAX_PENDING_LOGINS) pending.delete(pending.keys().next().value as string);
          pending.set(id, started.pending);
          return reply
            .code(302)
            .header('set-cookie', cookie(names.login, id, LOGIN_TTL_MS, '/auth/callback'))
            .header('cache-control', 'no-store')
            .header('location', started.url.href)
            .send();
        } catch (err) {
          if (!(err instanceof OidcSignInError)) throw err;
          log(`dashboard: sign-in failed: ${err.message}`);
          return html(reply, err.status, authPage('Sign-in failed', [err.message]));
        }
      });

      app.get('/auth/callback', async (req, reply) => {
        if (!oidc)
          return html(reply, 404, authPage('Not found', ['Sign-in is not configured on this dashboard.']));
        const id = parseCookies(req.headers.cookie).get(names.login);
        const login = id ? pending.get(id) : undefined;
        if (id) pending.delete(id); // one use, whatever happens next
        const clearLogin = cookie(names.login, '', 0, '/auth/callback');
        const state = (req.query as { state?: unknown }).state;
        if (!login || login.expiresAt <= nowMs() || typeof state !== 'string' || state !== login.state) {
          log('dashboard: refused a sign-in callback: no matching sign-in started in this browser (state)');
          return html(
            reply.header('set-cookie', clearLogin),
            400,
            authPage(
              'Sign-in did not match',
              [
                'This sign-in response does not belong to a sign-in started in this browser, or it took longer than 10 minutes.',
              ],
              `<p>${link(`/auth/login?next=${encodeURIComponent(login?.next ?? '/')}`, 'Sign in again')}</p>`,
            ),
          );
        }
        const callbackUrl = new URL(login.redirectUri);
        callbackUrl.search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
        try {
          const who = await oidc.finish(callbackUrl, login);
          const now = nowMs();
          const session = sealer.seal({
            sid: randomId(24),
            email: who.email,
            iat: now,
            exp: now + SESSION_TTL_MS,
            ...(who.name ? { name: who.name } : {}),
          });
          log(`dashboard: ${who.email} signed in`);
          return reply
            .code(303)
            .header('set-cookie', [cookie(names.session, session, SESSION_TTL_MS), clearLogin])
            .header('cache-control', 'no-store')
            .header('location', login.next)
            .send();
        } catch (err) {
          if (!(err instanceof OidcSignInError)) throw err;
          log(`dashboard: sign-in failed: ${err.message}`);
          return html(
            reply.header('set-cookie', clearLogin),
            err.status,
            authPage('Sign-in failed', [err.message]),
          );
        }
      });

      // Who is signed in, and the CSRF token their forms carry (same-origin reads only: no CORS headers).
      app.get('/auth/session', async (req, reply) => {
        const s = sessionOf(req);
        reply.header('cache-control', 'no-store');
        if (!s) return { mode, user: null, csrf: null };
        return {
          mode,
          user: { email: s.email, via: s.via, ...(s.name ? { name: s.name } : {}) },
          csrf: sealer.csrfToken(s.sid),
        };
      });

      app.get('/auth/logout', async (req, reply) => {
        const s = sessionOf(req);
        if (!s || mode !== 'oidc')
          return html(
            reply,
            200,
            authPage('Sign out', [
              mode === 'dev'
                ? `Local-development sign-in: every request is ${d.devUser as string}; there is nothing to sign out of.`
                : 'You are not signed in.',
            ]),
          );
        return html(
          reply,
          200,
          authPage(
            'Sign out',
            [`You are signed in as ${s.email}.`],
            `<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${escapeHtml(sealer.csrfToken(s.sid))}"><button type="submit">Sign out</button></form>`,
          ),
        );
      });

      app.post('/auth/logout', { bodyLimit: ANSWER_BODY_LIMIT }, async (req, reply) => {
        const s = mode === 'oidc' ? sessionOf(req) : undefined;
        if (s) {
          if (!sealer.checkCsrf(s.sid, (req.body as Record<string, string> | undefined)?.csrf))
            return html(
              reply,
              403,
              authPage('Refused', [
                'The form did not come from this dashboard (CSRF check). You are still signed in.',
              ]),
            );
          prune(revoked, nowMs());
          revoked.set(s.sid, nowMs() + SESSION_TTL_MS);
          log(`dashboard: ${s.email} signed out`);
        }
        return reply
          .code(303)
          .header('set-cookie', cookie(names.session, '', 0))
          .header('location', '/')
          .send();
      });

      app.post('/findings/:id/answer', { bodyLimit: ANSWER_BODY_LIMIT }, (req, reply) =>
        handleAnswer(
          {
            mode,
            userOf: sessionOf,
            checkCsrf: (sid, given) => sealer.checkCsrf(sid, given),
            personByEmail,
            sign,
            answer,
            now: () => new Date(nowMs()),
            log,
          },
          req,
          reply,
        ),
      );
    },
  };

  return {
    mode,
    module,
    userOf: (req) => {
      const s = sessionOf(req);
      if (!s) return undefined;
      const { sid: _sid, ...user } = s;
      return user;
    },
    csrfTokenFor: (req) => {
      const s = sessionOf(req);
      return s ? sealer.csrfToken(s.sid) : undefined;
    },
    close: () => answers.close(),
  };
}

/** A path on this server to return to after sign-in; anything else (another site, `//host`) is `/`. */
function safeNext(v: unknown): string {
  return typeof v === 'string' && v.length <= 2000 && /^\/(?![/\\])[^\s\\]*$/.test(v) ? v : '/';
}

/** Drops entries whose expiry (a number, or an object's `expiresAt`) has passed. */
function prune<V extends number | { expiresAt: number }>(m: Map<string, V>, now: number): void {
  for (const [k, v] of m) if ((typeof v === 'number' ? v : v.expiresAt) <= now) m.delete(k);
}

/** The session secret: DRIFTPLANE_SESSION_SECRET_FILE (hex or base64 of at least 32 bytes), else 32 random bytes for this process. */
function readSessionSecret(file: string | undefined): Uint8Array {
  if (!file) return randomBytes(32);
  const key = parseRedactionKey(readSecretFile(file, 'DRIFTPLANE_SESSION_SECRET_FILE'));
  if (!key || key.length < 32)
    throw new DashboardAuthConfigError(
      'not a session secret (expected hex or base64 of at least 32 random bytes, e.g. `openssl rand -hex 32`; the content is not shown)',
      {
        file,
        field: 'DRIFTPLANE_SESSION_SECRET_FILE',
      },
    );
  return key;
}

/** A secret file's trimmed content; the content is never put in an error. */
function readSecretFile(file: string, setting: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new DashboardAuthConfigError(
      `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { file, field: setting },
    );
  }
  if (!text) throw new DashboardAuthConfigError('the file is empty', { file, field: setting });
  return text;
}
