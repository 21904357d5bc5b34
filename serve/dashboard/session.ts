import type { FastifyRequest } from 'fastify';
import type { ServeModule } from '../server';

/** A person signed in to the dashboard: proven by OIDC, or the operator's local-development identity. */
export interface DashboardUser {
  /** Lower-cased email: what the registry's teams list and approvals name. */
  email: string;
  name?: string;
  via: 'oidc' | 'dev';
}

/**
 * The dashboard's sign-in (serve/dashboard/auth.ts): its routes (`/auth/login`, `/auth/callback`,
 * `/auth/logout`, `POST /findings/:id/answer`) and how other routes learn who is asking. A name
 * typed into a form is never an identity: only the session cookie the server set after OIDC (or
 * the operator's configured dev user on loopback) is.
 */
export interface DashboardAuth {
  /** `oidc` (an issuer is configured), `dev` (DRIFTPLANE_DASHBOARD_DEV_USER on loopback), `off` (read-only). */
  mode: 'oidc' | 'dev' | 'off';
  module: ServeModule;
  /** The signed-in person, or undefined. */
  userOf(req: FastifyRequest): DashboardUser | undefined;
  /** The CSRF token a form posted by this session must carry, or undefined when not signed in. */
  csrfTokenFor(req: FastifyRequest): string | undefined;
  close(): Promise<void>;
}
