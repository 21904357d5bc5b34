/**
 * A small real OpenID Connect provider on loopback, for tests of the dashboard's sign-in: the
 * discovery document (OpenID Connect Discovery 1.0), a JWKS, an authorization endpoint that signs
 * in the configured test user at once (no login form) and redirects back with a code, and a token
 * endpoint that checks the code (one use, 60 s), the redirect URI, the PKCE verifier (S256) and the
 * client's credentials (client_secret_basic or client_secret_post), and returns an ID token signed
 * with `jose` (RS256 or ES256). Errors follow RFC 6749 §4.1.2.1 and §5.2.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** The person the provider signs in. */
export interface TestOidcUser {
  sub: string;
  email?: string;
  /** Present in the ID token only when set. */
  email_verified?: boolean;
  name?: string;
}

/** What the provider saw at its token endpoint. */
export interface TokenRequestRecord {
  grantType: string | null;
  clientAuth: 'basic' | 'post' | 'none';
  ok: boolean;
  error?: string;
}

/** A running test provider. */
export interface TestOidcIssuer {
  /** The issuer identifier (`http://127.0.0.1:<port>`). */
  url: string;
  clientId: string;
  clientSecret: string;
  /** Who the next sign-in is. */
  setUser(user: TestOidcUser): void;
  /** Authorization requests received (their query parameters). */
  authorizeRequests: URLSearchParams[];
  tokenRequests: TokenRequestRecord[];
  /** The `kid` of the signing key (in the JWKS and the ID tokens' headers). */
  kid: string;
  /**
   * Makes the next ID token wrong in one way, as a broken or hostile provider would: another
   * `nonce`, another audience, or signed by a key that is not in the JWKS (same `kid`).
   */
  tamperNext(how: 'nonce' | 'audience' | 'key'): void;
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce?: string;
  user: TestOidcUser;
  expiresAt: number;
}

/** Starts a provider on 127.0.0.1 (any free port) for one client. */
export async function startOidcIssuer(opts: {
  clientId?: string;
  clientSecret?: string;
  user: TestOidcUser;
  alg?: 'RS256' | 'ES256';
  /** Redirect URIs the client registered; absent: any `http://127.0.0.1|localhost…/auth/callback`. */
  redirectUris?: string[];
}): Promise<TestOidcIssuer> {
  const clientId = opts.clientId ?? 'driftplane-dashboard';
  const clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
  const alg = opts.alg ?? 'RS256';
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomBytes(8).toString('hex');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  let user = opts.user;
  let tamper: 'nonce' | 'audience' | 'key' | undefined;
  const otherKey = (await generateKeyPair(alg)).privateKey;
  const codes = new Map<string, IssuedCode>();
  const authorizeRequests: URLSearchParams[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  let issuer = '';

  const json = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
    res.end(JSON.stringify(body));
  };
  const redirectAllowed = (uri: string) =>
    opts.redirectUris
      ? opts.redirectUris.includes(uri)
      : /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/auth\/callback$/.test(uri);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [alg],
        scopes_supported: ['openid', 'email', 'profile'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        code_challenge_methods_supported: ['S256'],
        grant_types_supported: ['authorization_code'],
        claims_supported: ['sub', 'email', 'email_verified', 'name'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (req.method === 'GET' && url.pathname === '/authorize') return authorize(url.searchParams, res);
    if (req.method === 'POST' && url.pathname === '/token') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        token(req, new URLSearchParams(Buffer.concat(chunks).toString('utf8')), res).catch((err: unknown) =>
          json(res, 500, { error: 'server_error', error_description: String(err) }),
        );
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });

  /** RFC 6749 §4.1.1: checks the request, then signs the user in at once and redirects back with a code. */
  function authorize(q: URLSearchParams, res: http.ServerResponse) {
    authorizeRequests.push(q);
    const redirectUri = q.get('redirect_uri') ?? '';
    // An unknown client or redirect URI is never redirected to (§4.1.2.1).
    if (q.get('client_id') !== clientId || !redirectAllowed(redirectUri))
      return json(res, 400, {
        error: 'invalid_request',
        error_description: 'unknown client_id or redirect_uri',
      });
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    back.searchParams.set('iss', issuer);
    const fail = (error: string, description: string) => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', description);
      res.writeHead(302, { location: back.href }).end();
    };
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 'only code');
    if (!(q.get('scope') ?? '').split(' ').includes('openid'))
      return fail('invalid_scope', 'openid is required');
    const challenge = q.get('code_challenge');
    if (!challenge || q.get('code_challenge_method') !== 'S256')
      return fail('invalid_request', 'PKCE with S256 is required');
    const code = randomBytes(24).toString('base64url');
    const nonce = q.get('nonce');
    codes.set(code, {
      clientId,
      redirectUri,
      codeChallenge: challenge,
      ...(nonce ? { nonce } : {}),
      user,
      expiresAt: Date.now() + 60_000,
    });
    back.searchParams.set('code', code);
    res.writeHead(302, { location: back.href }).end();
  }

  /** RFC 6749 §4.1.3 and RFC 7636 §4.6. */
  async function token(req: http.IncomingMessage, body: URLSearchParams, res: http.ServerResponse) {
    const record: TokenRequestRecord = { grantType: body.get('grant_type'), clientAuth: 'none', ok: false };
    tokenRequests.push(record);
    const refuse = (status: number, error: string, description: string) => {
      record.error = error;
      json(
        res,
        status,
        { error, error_description: description },
        status === 401 ? { 'www-authenticate': 'Basic realm="test-oidc"' } : {},
      );
    };
    let id: string | null = null;
    let secret: string | null = null;
    const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      id = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
      record.clientAuth = 'basic';
    } else if (body.has('client_secret')) {
      id = body.get('client_id');
      secret = body.get('client_secret');
      record.clientAuth = 'post';
    }
    if (id !== clientId || secret === null || !same(secret, clientSecret))
      return refuse(401, 'invalid_client', 'client authentication failed');
    if (body.get('grant_type') !== 'authorization_code')
      return refuse(400, 'unsupported_grant_type', 'only authorization_code');
    const code = body.get('code') ?? '';
    const issued = codes.get(code);
    codes.delete(code); // one use
    if (!issued || issued.expiresAt < Date.now() || issued.clientId !== id)
      return refuse(400, 'invalid_grant', 'unknown, used or expired code');
    if (body.get('redirect_uri') !== issued.redirectUri)
      return refuse(400, 'invalid_grant', 'redirect_uri differs from the authorization request');
    const verifier = body.get('code_verifier') ?? '';
    if (
      !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) ||
      createHash('sha256').update(verifier).digest('base64url') !== issued.codeChallenge
    )
      return refuse(400, 'invalid_grant', 'PKCE verification failed');
    const u = issued.user;
    const how = tamper;
    tamper = undefined;
    const nonce = how === 'nonce' ? 'not-the-nonce-that-was-sent' : issued.nonce;
    const idToken = await new SignJWT({
      ...(u.email !== undefined ? { email: u.email } : {}),
      ...(u.email_verified !== undefined ? { email_verified: u.email_verified } : {}),
      ...(u.name !== undefined ? { name: u.name } : {}),
      ...(nonce ? { nonce } : {}),
    })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(u.sub)
      .setAudience(how === 'audience' ? 'another-client' : clientId)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign((how === 'key' ? otherKey : privateKey) as CryptoKey);
    record.ok = true;
    json(
      res,
      200,
      {
        access_token: randomBytes(24).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: idToken,
        scope: 'openid email profile',
      },
      { pragma: 'no-cache' },
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: issuer,
    clientId,
    clientSecret,
    kid,
    tamperNext: (how) => {
      tamper = how;
    },
    setUser: (u) => {
      user = u;
    },
    authorizeRequests,
    tokenRequests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
