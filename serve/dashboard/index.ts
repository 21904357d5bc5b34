/**
 * The dashboard (§21), served by `driftplane serve`: four read views and the finding page, all
 * server-rendered HTML that works without JavaScript. Every value is escaped (./html.ts). Sign-in
 * and answering are ./auth.ts; this module only renders the answer form for a signed-in person.
 *
 * Routes: `GET /` executive, `GET /platform`, `GET /owner?team=<team>`, `GET /security`,
 * `GET /findings/:id` (`<unit>:<fingerprint>` or the workflow id `finding:<unit>:<fingerprint>`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { findingIdFromAny } from '../../domain/finding';
import { openEvidenceStore } from '../../evidence/open';
import type { Ledger } from '../../ledger';
import { findingDetail } from '../../ledger/views';
import type { Config } from '../../workers/config';
import type { ServeModule } from '../server';
import { cachedBudgetSource, ledgerBudgetSource } from './budget-source';
import { cachedRegistry, windowMsOf, type BudgetSource, type RegistryState, type ViewContext } from './context';
import { executiveModel, renderExecutive } from './executive-view';
import { renderFinding, temporalWorkflowUrl, type AnswerAccess } from './finding-page';
import { html } from './html';
import { page, type NavKey } from './layout';
import { ownerModel, renderOwner, renderTeamPicker } from './owner-view';
import { platformModel, renderPlatform } from './platform-view';
import { renderSecurity, securityModel } from './security-view';
import type { DashboardAuth } from './session';

/** What the dashboard reads. */
export interface DashboardDeps {
  config: Config;
  ledger: Ledger;
  auth: Pick<DashboardAuth, 'mode' | 'userOf' | 'csrfTokenFor'>;
  now?: () => Date;
  /** The registry (default: DRIFTPLANE_REGISTRY, loaded and cached for 30 s). */
  registry?: () => Promise<RegistryState>;
  /** The budget evaluation (default: ledger/budgets.ts over the registry's budgets, re-evaluated at most once a minute). */
  budgets?: BudgetSource;
}

/** The default Temporal UI of a dev server (`temporal server start-dev`). */
export const DEFAULT_TEMPORAL_UI = 'http://localhost:8233';

function send(reply: FastifyReply, status: number, body: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    // No script runs on these pages: forbid it outright, and inline styles only.
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    .send(body);
}

/** The dashboard's read views: `/`, `/platform`, `/owner`, `/security`, `/findings/:id`. */
export function dashboardModule(deps: DashboardDeps): ServeModule {
  const now = deps.now ?? (() => new Date());
  const registry = deps.registry ?? cachedRegistry(deps.config.registryDir);
  const windowLabel = deps.config.ledger.budgetWindow;
  const windowMs = windowMsOf(windowLabel);
  const budgets = deps.budgets ?? cachedBudgetSource(ledgerBudgetSource(deps.ledger.db, registry, windowMs));
  const evidence = openEvidenceStore(deps.config.evidence);
  const temporalUi = deps.config.reconcile.temporalUiUrl ?? DEFAULT_TEMPORAL_UI;

  const context = async (): Promise<ViewContext> => ({ db: deps.ledger.db, now: now(), windowMs, windowLabel, registry: await registry(), budgets });
  const chrome = (req: FastifyRequest, title: string, active: NavKey, body: Parameters<typeof page>[0]['body'], generatedAt: Date) => {
    const user = deps.auth.userOf(req)?.email;
    return page({ title, active, body, generatedAt, ...(user ? { user } : {}) });
  };
  const notFound = (req: FastifyRequest, reply: FastifyReply, title: string, body: Parameters<typeof page>[0]['body']) =>
    send(reply, 404, chrome(req, title, 'none', body, now()));

  return {
    name: 'dashboard',
    register(app) {
      app.get('/', async (req, reply) => {
        const ctx = await context();
        return send(reply, 200, chrome(req, 'Executive view', 'executive', renderExecutive(await executiveModel(ctx)), ctx.now));
      });
      app.get('/platform', async (req, reply) => {
        const ctx = await context();
        return send(reply, 200, chrome(req, 'Platform view', 'platform', renderPlatform(await platformModel(ctx)), ctx.now));
      });
      app.get<{ Querystring: { team?: string } }>('/owner', async (req, reply) => {
        const ctx = await context();
        if (!ctx.registry.ok) return send(reply, 503, chrome(req, 'Service-owner view', 'owner', html`<p class="notice" role="alert">The team list needs the registry: ${ctx.registry.error}</p>`, ctx.now));
        const teams = [...ctx.registry.registry.teams.keys()].sort();
        const team = typeof req.query.team === 'string' ? req.query.team : '';
        if (!team) return send(reply, 200, chrome(req, 'Service-owner view', 'owner', html`<p>Pick a team to see its drift, required actions, PRs and expiring exceptions.</p>${renderTeamPicker(teams)}`, ctx.now));
        if (!ctx.registry.registry.teams.has(team))
          return send(reply, 404, chrome(req, 'Unknown team', 'owner', html`<p role="alert" data-testid="unknown-team">No team named <code>${team}</code> in the registry.</p>${renderTeamPicker(teams)}`, ctx.now));
        return send(reply, 200, chrome(req, `Service-owner view: ${team}`, 'owner', renderOwner(await ownerModel(ctx, team, teams)), ctx.now));
      });
      app.get('/security', async (req, reply) => {
        const ctx = await context();
        return send(reply, 200, chrome(req, 'Security view', 'security', renderSecurity(await securityModel(ctx)), ctx.now));
      });
      app.get<{ Params: { id: string } }>('/findings/:id', async (req, reply) => {
        const findingId = findingIdFromAny(req.params.id);
        const at = now();
        const detail = await findingDetail(deps.ledger.db, findingId);
        if (!detail) return notFound(req, reply, 'Finding not found', html`<p role="alert" data-testid="unknown-finding">The ledger has no finding <code>${findingId}</code>.</p>`);
        const verified = await evidence.verify(findingId).catch((err: unknown) => ({ error: (err as Error).message }));
        const user = deps.auth.userOf(req);
        const csrf = user ? deps.auth.csrfTokenFor(req) : undefined;
        const access: AnswerAccess = deps.auth.mode === 'off' ? { kind: 'off' } : user && csrf ? { kind: 'signed-in', email: user.email, csrf } : { kind: 'signed-out' };
        const body = renderFinding({ detail, evidence: verified, temporalUrl: temporalWorkflowUrl(temporalUi, deps.config.namespace, findingId), access, now: at });
        const title = detail.runs.at(-1)?.resourceRef ?? findingId;
        return send(reply, 200, chrome(req, `Finding: ${title}`, 'finding', body, at));
      });
    },
  };
}
