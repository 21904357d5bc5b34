/**
 * OIDC sign-in for the dashboard (openid-client v6): the authorization-code flow with PKCE (S256),
 * `state` and `nonce`. The provider's metadata is discovered on first use (so `serve` starts while
 * the provider is briefly down) and kept; a failed discovery is tried again at the next sign-in.
 */
import * as oidc from 'openid-client';
import { InputError } from '../../domain/errors';

/** What the dashboard keeps of a sign-in between `/auth/login` and `/auth/callback` (server side only). */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The redirect URI sent at login: the token request must send the same one. */
  redirectUri: string;
  /** Where to go after sign-in (a path on this server). */
  next: string;
  /** Epoch ms after which the sign-in is void. */
  expiresAt: number;
}

/** A person as the provider's ID token proved them. */
export interface OidcIdentity {
  email: string;
  name?: string;
  subject: string;
}

/** The provider refused, or its answer did not prove a person: the message is safe to show. */
export class OidcSignInError extends Error {
  override readonly name = 'OidcSignInError';
  constructor(
    message: string,
    /** 400: the browser's request is wrong (state); 403: no usable identity; 502: the provider failed. */
    readonly status: 400 | 403 | 502,
  ) {
    super(message);
  }
}

/** Whether a host name or address is loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The OIDC client of the dashboard. */
export interface OidcSignIn {
  issuer: string;
  /** Starts a sign-in: the provider's authorization URL and what to keep until the callback. */
  start(redirectUri: string, next: string, nowMs: number): Promise<{ url: URL; pending: PendingLogin }>;
  /** Finishes it: exchanges the code (PKCE verifier, client credentials) and checks state and nonce. */
  finish(callbackUrl: URL, pending: PendingLogin): Promise<OidcIdentity>;
}

/** How long a started sign-in stays valid. */
export const LOGIN_TTL_MS = 10 * 60_000;

/**
 * The OIDC client for `issuer`. Plain http is allowed only for a loopback issuer (a provider on
 * this machine, as in tests and local development); any other http issuer is an InputError naming
 * DRIFTPLANE_OIDC_ISSUER.
 */
export function createOidcSignIn(o: { issuer: string; clientId: string; clientSecret?: string }): OidcSignIn {
  const issuer = new URL(o.issuer);
  const insecure = issuer.protocol === 'http:';
  if (insecure && !isLoopbackHost(issuer.hostname)) {
    throw new InputError(
      `the OIDC issuer must be https (plain http is allowed only on loopback, for a provider on this machine): ${issuer.origin}`,
      { field: 'DRIFTPLANE_OIDC_ISSUER' },
    );
  }
  if (issuer.protocol !== 'https:' && !insecure)
    throw new InputError(`the OIDC issuer must be an https URL, not ${issuer.protocol}`, {
      field: 'DRIFTPLANE_OIDC_ISSUER',
    });

  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    discovered ??= oidc
      .discovery(
        issuer,
        o.clientId,
        undefined,
        o.clientSecret ? oidc.ClientSecretBasic(o.clientSecret) : oidc.None(),
        {
          timeout: 10,
          // Verify ID token signatures against the provider's JWKS too, not only TLS to the token endpoint.
          execute: insecure
            ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks]
            : [oidc.enableNonRepudiationChecks],
        },
      )
      .catch((err: unknown) => {
        discovered = undefined; // the next sign-in tries again
        throw new OidcSignInError(
          `the sign-in provider at ${issuer.origin} could not be discovered (${describe(err)})`,
          502,
        );
      });
    return discovered;
  };

  return {
    issuer: issuer.href,
    async start(redirectUri, next, nowMs) {
      const config = await configuration();
      const pending: PendingLogin = {
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        codeVerifier: oidc.randomPKCECodeVerifier(),
        redirectUri,
        next,
        expiresAt: nowMs + LOGIN_TTL_MS,
      };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: redirectUri,
        response_type: 'code',
        scope: 'openid email profile',
        state: pending.state,
        nonce: pending.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
      });
      return { url, pending };
    },
    async finish(callbackUrl, pending) {
      const config = await configuration();
      let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
      try {
        tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (err) {
        if (err instanceof oidc.AuthorizationResponseError)
          throw new OidcSignInError(
            `the sign-in provider refused: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`,
            403,
          );
        if (err instanceof oidc.WWWAuthenticateChallengeError && err.status === 401)
          throw new OidcSignInError(
            "sign-in could not be completed: the provider refused driftplane's client credentials (check DRIFTPLANE_OIDC_CLIENT_ID and DRIFTPLANE_OIDC_CLIENT_SECRET_FILE)",
            502,
          );
        if (err instanceof oidc.ResponseBodyError)
          throw new OidcSignInError(
            `sign-in could not be completed: the provider's token endpoint answered ${err.error}`,
            502,
          );
        throw new OidcSignInError(`sign-in could not be completed (${describe(err)})`, 502);
      }
      const claims = tokens.claims();
      if (!claims) throw new OidcSignInError('the provider returned no ID token', 502);
      const email = claims.email;
      if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320)
        throw new OidcSignInError(
          'the provider gave no e-mail address for this account (the dashboard asks for the `email` scope)',
          403,
        );
      // A provider that says whether it verified the address must say it did.
      if ('email_verified' in claims && claims.email_verified !== true)
        throw new OidcSignInError(`the provider has not verified the e-mail address ${email}`, 403);
      const name = typeof claims.name === 'string' ? claims.name.slice(0, 200) : undefined;
      return { email: email.toLowerCase(), subject: claims.sub, ...(name ? { name } : {}) };
    },
  };
}

/** An error's kind and message, for a page or log line (never a token: openid-client's messages name checks, not values). */
function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string };
  return [e.code ?? e.name, e.message].filter(Boolean).join(': ').slice(0, 300);
}
