import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetReport } from '../../domain/budgets/report';
import { buildServer } from '../../serve/server';
import { dashboardModule } from '../../serve/dashboard';
import { cachedBudgetSource } from '../../serve/dashboard/budget-source';
import { html } from '../../serve/dashboard/html';
import { CHART, PALETTE } from '../../serve/dashboard/layout';
import { loadConfig } from '../../workers/config';
import type { SqlDb } from '../../ledger';
import { executiveFigures, findingDetail, mttrTrend, ownerFigures, platformFigures, securityFigures } from '../../ledger/views';
import { loadRegistryOrThrow } from '../../registry';
import { detectionIntervalMs } from '../../domain/registry/resolve';
import { staleUnits } from '../../serve/dashboard/platform-view';
import { LEDGER_ENGINES } from '../support/ledger-db';
import { useLedgerOn } from '../support/ledger-hooks';

// Hand-made ledger rows; every expected figure below is computed by hand from this table.
const N = new Date('2026-12-03T12:00:00Z');
const H = 3_600_000;
const D = 24 * H;
const WINDOW = 30 * D;
const at = (ms: number): Date => new Date(N.getTime() + ms);

interface Row {
  id: string;
  run?: string;
  unit: string;
  ref?: string;
  env?: string;
  domain?: string;
  owner?: string;
  cls?: string;
  risk?: string;
  action?: string;
  stage: string;
  outcome?: string;
  autoHeal?: boolean;
  prState?: string;
  verifyClean?: boolean;
  changed?: string[];
  provider?: { from: string; to: string };
  detected: number; // ms relative to N
  classifiedAfterS?: number;
  closedAfterS?: number;
  rules?: { ruleId: string; why: string }[];
}

const RANKS: Record<string, number> = { INFO: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };

const ROWS: Row[] = [
  { id: 'pay-net:aaa', unit: 'pay-net', ref: 'aws_security_group.app', env: 'prod', domain: 'network', owner: 'platform-network', cls: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'CRITICAL', action: 'RUNTIME_REVERT', stage: 'routed', changed: ['/ingress/0/cidr_blocks'], detected: -2 * H, classifiedAfterS: 60 },
  { id: 'checkout:bbb', unit: 'checkout', env: 'prod', domain: 'app', owner: 'checkout', cls: 'EMERGENCY_DRIFT', risk: 'HIGH', action: 'OPEN_RECONCILIATION_PR', stage: 'closed', outcome: 'RECONCILED', prState: 'merged', changed: ['/spec/replicas'], detected: -5 * D, classifiedAfterS: 120, closedAfterS: 3600 },
  { id: 'checkout:ccc', run: 'r1', unit: 'checkout', env: 'staging', domain: 'app', owner: 'checkout', cls: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'MEDIUM', action: 'RUNTIME_REVERT', stage: 'closed', outcome: 'RECONCILED', autoHeal: true, verifyClean: true, changed: ['/spec/template/spec/containers/0/image'], detected: -3 * D, classifiedAfterS: 30, closedAfterS: 600, rules: [{ ruleId: 'r-old', why: 'first run' }] },
  { id: 'checkout:ccc', run: 'r2', unit: 'checkout', env: 'staging', domain: 'app', owner: 'checkout', cls: 'UNAUTHORIZED_RUNTIME_DRIFT', risk: 'MEDIUM', action: 'RUNTIME_REVERT', stage: 'routed', prState: 'open', changed: ['/spec/template/spec/containers/0/image'], detected: -1 * D, classifiedAfterS: 90, rules: [{ ruleId: 'image-change', why: 'an image changed outside Git' }] },
  { id: 'iam:eee', unit: 'iam', env: 'prod', domain: 'iam', owner: 'platform-identity', cls: 'IDENTITY_DRIFT', risk: 'CRITICAL', action: 'INCIDENT', stage: 'classified', changed: ['/policy'], detected: -40 * D, classifiedAfterS: 100 },
  { id: 'old:fff', unit: 'old', env: 'dev', domain: 'compute', owner: 'catalog', cls: 'PROVIDER_READ_NOISE', risk: 'LOW', action: 'IGNORE', stage: 'closed', outcome: 'NO_ACTION', provider: { from: '5.0.0', to: '5.1.0' }, changed: ['/tags/old'], detected: -61 * D, classifiedAfterS: 10, closedAfterS: 20 },
  { id: 'cat:ggg', unit: 'cat', env: 'dev', domain: 'compute', owner: 'catalog', cls: 'PROVIDER_READ_NOISE', risk: 'LOW', action: 'IGNORE', stage: 'closed', outcome: 'NO_ACTION', provider: { from: '5.0.0', to: '5.1.0' }, changed: ['/tags/updated_at'], detected: -10 * D, classifiedAfterS: 10, closedAfterS: 20 },
  { id: 'sec:hhh', unit: 'sec', env: 'prod', domain: 'secrets', owner: 'security', cls: 'SECRET_DELIVERY_DRIFT', risk: 'HIGH', action: 'RESTART_CONSUMERS_AFTER_SECRET_SYNC', stage: 'routed', changed: ['/status/refreshTime'], detected: -6 * H, classifiedAfterS: 40 },
  { id: 'x:iii', unit: 'x', ref: '<script>alert(1)</script>', stage: 'detected', detected: -10 * 60_000 },
  { id: 'checkout:jjj', unit: 'checkout', env: 'prod', domain: 'app', owner: 'checkout', cls: 'EMERGENCY_DRIFT', risk: 'HIGH', action: 'OPEN_RECONCILIATION_PR', stage: 'closed', outcome: 'REJECTED', changed: ['/spec/replicas'], detected: -2 * D, classifiedAfterS: 50, closedAfterS: 7200 },
  { id: 'cat:kkk', unit: 'cat', env: 'staging', domain: 'compute', owner: 'catalog', cls: 'CONTROLLER_OWNED_DRIFT', risk: 'LOW', action: 'RUNTIME_REVERT', stage: 'closed', outcome: 'FAILED', autoHeal: true, changed: ['/metadata/labels/x'], detected: -4 * D, classifiedAfterS: 20, closedAfterS: 300 },
];

async function insertRows(db: SqlDb): Promise<void> {
  for (const r of ROWS) {
    const detected = at(r.detected);
    const classified = r.classifiedAfterS === undefined ? null : new Date(detected.getTime() + r.classifiedAfterS * 1000);
    const closed = r.closedAfterS === undefined ? null : new Date(detected.getTime() + r.closedAfterS * 1000);
    await db.query(
      `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, environment, domain, owner, drift_class, risk, risk_rank, action,
         rules, changed_fields, provider_versions, stage, outcome, approval_kind, pr_url, pr_state, verify_clean, detected_at, classified_at, closed_at, updated_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13::jsonb,$14::jsonb,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24)`,
      [
        r.id, r.run ?? 'r1', r.unit, r.ref ?? `res/${r.id}`, r.env ?? null, r.domain ?? null, r.owner ?? null, r.cls ?? null, r.risk ?? null,
        r.risk ? RANKS[r.risk] : null, r.action ?? null, JSON.stringify(r.rules ?? []), JSON.stringify(r.changed ?? []),
        r.provider ? JSON.stringify(r.provider) : null, r.stage, r.outcome ?? null, r.autoHeal ? 'auto-heal' : r.outcome ? 'person' : null,
        r.prState ? `https://github.example/acme/x/pull/${r.id.length}` : null, r.prState ?? null, r.verifyClean ?? null, detected, classified, closed, closed ?? classified ?? detected,
      ],
    );
  }
  // The timeline of checkout:ccc: two runs, seq across both.
  const steps: [string, string, number, number][] = [
    ['r1', 'detected', 1, -3 * D],
    ['r1', 'classified', 2, -3 * D + 30_000],
    ['r1', 'approval', 3, -3 * D + 60_000],
    ['r1', 'closed', 4, -3 * D + 600_000],
    ['r2', 'detected', 5, -1 * D],
    ['r2', 'classified', 6, -1 * D + 90_000],
  ];
  for (const [run, step, seq, ms] of steps)
    await db.query('INSERT INTO lifecycle_steps (finding_id, run_id, step, seq, at, summary) VALUES ($1,$2,$3,$4,$5,$6::jsonb)', ['checkout:ccc', run, step, seq, at(ms), JSON.stringify({ step })]);
  await db.query('INSERT INTO approvals (finding_id, run_id, step, approver, answer, via, at) VALUES ($1,$2,$3,$4,$5,$6,$7)', ['checkout:ccc', 'r1', 'approval', 'policy', 'auto-heal', 'policy', at(-3 * D + 60_000)]);
  // Detection records: pay-net fine with 90 % coverage; cat failing on a state lock.
  await db.query(
    `INSERT INTO unit_detection (unit, first_seen_at, last_attempt_at, last_result, last_success_at, consecutive_failures, coverage, coverage_at)
     VALUES ('pay-net', $1, $2, 'ok', $2, 0, $3::jsonb, $2)`,
    [at(-30 * D), at(-10 * 60_000), JSON.stringify({ coveredTypes: 3, totalTypes: 4, coveredResources: 9, totalResources: 10, uncoveredTypes: ['aws_lambda_function'] })],
  );
  await db.query(
    `INSERT INTO unit_detection (unit, first_seen_at, last_attempt_at, last_result, last_success_at, last_error_at, last_error, consecutive_failures)
     VALUES ('cat', $1, $2, 'failed', $3, $2, 'Error acquiring the state lock: ConditionalCheckFailedException', 3)`,
    [at(-30 * D), at(-1 * H), at(-2 * D)],
  );
  const attempts: [string, number, string, string | null][] = [
    ['cat', -1 * H, 'failed', 'Error acquiring the state lock: ConditionalCheckFailedException'],
    ['cat', -2 * H, 'failed', 'Error acquiring the state lock'],
    ['cat', -3 * H, 'failed', 'timeout talking to the clock service'],
    ['cat', -40 * D, 'failed', 'Error acquiring the state lock'],
    ['pay-net', -10 * 60_000, 'ok', null],
  ];
  for (const [unit, ms, result, error] of attempts)
    await db.query('INSERT INTO detection_attempts (unit, at, result, error) VALUES ($1,$2,$3,$4)', [unit, at(ms), result, error]);
  await db.query(`INSERT INTO hotfix_windows (window_id, run_id, unit, incident, state, opened_at, deadline, attached, updated_at) VALUES
    ('hotfix:checkout:INC-1', 'w1', 'checkout', 'INC-1', 'open', $1, $2, 1, $1),
    ('hotfix:checkout:INC-0', 'w0', 'checkout', 'INC-0', 'closed', $3, $3, 0, $3)`, [at(-1 * H), at(3 * H), at(-5 * D)]);
}

describe.each(LEDGER_ENGINES)('dashboard view queries over hand-made ledger rows ($engine)', (engine) => {
  const h = useLedgerOn(engine, { seed: (ledger) => insertRows(ledger.db) });

  it('executive: open critical, MTTC and MTTR over the window, drift by environment, domain and class, weekly MTTR', async () => {
    const f = await executiveFigures(h.ledger.db, { now: N, windowMs: WINDOW });
    expect(f.openCritical).toBe(2); // pay-net:aaa and iam:eee (open although detected before the window)
    expect(f.openTotal).toBe(5);
    // Classified in the window: 60+120+30+90+10+40+50+20 s over 8 runs (iam:eee and old:fff classified before it).
    expect(f.classifiedInWindow).toBe(8);
    expect(f.mttcMs).toBeCloseTo(52_500, 3);
    // Closed in the window: 3600+600+20+7200+300 s over 5 runs.
    expect(f.closedInWindow).toBe(5);
    expect(f.mttrMs).toBeCloseTo(2_344_000, 3);
    const asMap = (g: typeof f.byDomain) => Object.fromEntries(g.map((x) => [x.key, [x.open, x.total]]));
    expect(asMap(f.byEnvironment)).toEqual({ prod: [3, 5], staging: [1, 3], dev: [0, 1], unclassified: [1, 1] });
    expect(asMap(f.byDomain)).toEqual({ app: [1, 4], network: [1, 1], iam: [1, 1], compute: [0, 2], secrets: [1, 1], unclassified: [1, 1] });
    expect(asMap(f.byClass)).toEqual({
      UNAUTHORIZED_RUNTIME_DRIFT: [2, 3],
      EMERGENCY_DRIFT: [0, 2],
      IDENTITY_DRIFT: [1, 1],
      PROVIDER_READ_NOISE: [0, 1],
      SECRET_DELIVERY_DRIFT: [1, 1],
      CONTROLLER_OWNED_DRIFT: [0, 1],
      unclassified: [1, 1],
    });
    // Open first, then total: the biggest problem on top.
    expect(f.byEnvironment[0]?.key).toBe('prod');
    expect(await mttrTrend(h.ledger.db, N)).toEqual([
      { week: '2026-09-28', mttrMs: 20_000, closed: 1 },
      { week: '2026-11-23', mttrMs: expect.closeTo(3_920_000 / 3, 3), closed: 3 },
      { week: '2026-11-30', mttrMs: 3_900_000, closed: 2 },
    ]);
  });

  it('platform: lock contention, noisy providers, longest open, ignored fields, auto-heal, detection records', async () => {
    const f = await platformFigures(h.ledger.db, { now: N, windowMs: WINDOW });
    // Two failed attempts mention the state lock in the window; "clock" is not a lock, the third is before the window.
    expect(f.lockContention).toEqual([{ unit: 'cat', attempts: 2, lastAt: at(-1 * H), lastError: 'Error acquiring the state lock: ConditionalCheckFailedException' }]);
    expect(f.noisyProviders).toEqual([{ from: '5.0.0', to: '5.1.0', findings: 1, units: 1 }]);
    expect(f.longestOpen.map((r) => r.findingId)).toEqual(['iam:eee', 'checkout:ccc', 'sec:hhh', 'pay-net:aaa', 'x:iii']);
    expect(f.ignoredFields).toEqual([{ field: '/tags/updated_at', count: 1 }]);
    expect(f.autoHeal).toEqual({ succeeded: 1, failed: 1, inProgress: 0 });
    expect(f.detections.map((d) => [d.unit, d.consecutiveFailures, d.lastError ?? null])).toEqual([
      ['cat', 3, 'Error acquiring the state lock: ConditionalCheckFailedException'],
      ['pay-net', 0, null],
    ]);
    expect(f.detections[1]?.coverage?.coveredResources).toBe(9);
  });

  it("owner: only the team's runs; required actions, PRs waiting, the last reconciliation", async () => {
    const f = await ownerFigures(h.ledger.db, 'checkout', { now: N, windowMs: WINDOW });
    expect(f.findings.map((r) => `${r.findingId}/${r.runId}`)).toEqual(['checkout:ccc/r2', 'checkout:jjj/r1', 'checkout:ccc/r1', 'checkout:bbb/r1']);
    expect(f.findings.every((r) => r.owner === 'checkout')).toBe(true);
    expect(f.requiredActions.map((r) => `${r.findingId}/${r.runId}`)).toEqual(['checkout:ccc/r2']);
    expect(f.prsWaiting.map((r) => `${r.findingId}/${r.runId}`)).toEqual(['checkout:ccc/r2']);
    expect(f.lastReconciled).toMatchObject({ findingId: 'checkout:ccc', runId: 'r1', closedAt: at(-3 * D + 600_000) });
    const other = await ownerFigures(h.ledger.db, 'security', { now: N, windowMs: WINDOW });
    expect(other.findings.map((r) => r.findingId)).toEqual(['sec:hhh']);
    expect(other.requiredActions.map((r) => r.findingId)).toEqual(['sec:hhh']);
    expect(other.lastReconciled).toBeUndefined();
  });

  it('security: identity, network exposure, secrets, unverified artifacts, break-glass not reconciled, open hotfix windows', async () => {
    const f = await securityFigures(h.ledger.db, { now: N, windowMs: WINDOW });
    const ids = (k: keyof typeof f.sections) => f.sections[k].findings.map((r) => r.findingId);
    expect(ids('identity')).toEqual(['iam:eee']);
    expect(ids('network')).toEqual(['pay-net:aaa']);
    expect(ids('secrets')).toEqual(['sec:hhh']);
    // checkout:ccc r1 verified clean after its image change; r2 has not.
    expect(f.sections.artifacts.findings.map((r) => `${r.findingId}/${r.runId}`)).toEqual(['checkout:ccc/r2']);
    // checkout:bbb was reconciled; checkout:jjj was rejected.
    expect(ids('breakGlass')).toEqual(['checkout:jjj']);
    expect(Object.fromEntries(Object.entries(f.sections).map(([k, v]) => [k, v.open]))).toEqual({ identity: 1, network: 1, secrets: 1, artifacts: 1, breakGlass: 0 });
    expect(f.openHotfixWindows).toEqual([{ windowId: 'hotfix:checkout:INC-1', unit: 'checkout', incident: 'INC-1', openedAt: at(-1 * H), deadline: at(3 * H), attached: 1 }]);
  });

  it('finding page: both runs, the timeline by seq, the rules of each run, the answers', async () => {
    const d = await findingDetail(h.ledger.db, 'checkout:ccc');
    expect(d?.runs.map((r) => [r.runId, r.outcome ?? null, r.rules.map((x) => x.ruleId)])).toEqual([
      ['r1', 'RECONCILED', ['r-old']],
      ['r2', null, ['image-change']],
    ]);
    expect(d?.steps.map((s) => `${s.seq}:${s.runId}:${s.step}`)).toEqual(['1:r1:detected', '2:r1:classified', '3:r1:approval', '4:r1:closed', '5:r2:detected', '6:r2:classified']);
    expect(d?.approvals).toEqual([{ runId: 'r1', step: 'approval', approver: 'policy', answer: 'auto-heal', via: 'policy', at: at(-3 * D + 60_000) }]);
    expect(await findingDetail(h.ledger.db, 'nope:000')).toBeUndefined();
  });

  it('staleness: the registry units judged by isOverdue with the tier intervals', async () => {
    const registry = await loadRegistryOrThrow();
    const [fresh, old] = [...registry.units.values()].filter((u) => detectionIntervalMs(u) !== undefined);
    const f = await platformFigures(h.ledger.db, { now: N, windowMs: WINDOW });
    const rows = [
      ...f.detections,
      { unit: fresh!.metadata.name, consecutiveFailures: 0, lastSuccessAt: at(-60_000) },
      { unit: old!.metadata.name, consecutiveFailures: 0, lastSuccessAt: at(-(detectionIntervalMs(old!)! + 60_000)) },
    ];
    const { stale, scheduled } = staleUnits(registry, rows, N);
    const staleNames = stale.map((s) => s.unit);
    expect(staleNames).not.toContain(fresh!.metadata.name);
    expect(stale.find((s) => s.unit === old!.metadata.name)).toMatchObject({ neverSucceeded: false, intervalMs: detectionIntervalMs(old!) });
    // Every other scheduled unit has no record at all: overdue, "never checked".
    expect(stale).toHaveLength(scheduled - 1);
    expect(stale.filter((s) => s.neverSucceeded)).toHaveLength(scheduled - 2);
  });

  describe('the pages, rendered by the dashboard module', () => {
    let app: FastifyInstance;
    let signedIn = false;
    const budgets: BudgetReport[] = [
      { budget: 'prod-iam', domain: 'iam', environment: 'prod', owner: 'platform-identity', state: 'exhausted', remaining: 0, reasons: ['1 unclassified high-risk finding (limit 0)'], history: [{ at: at(-2 * D).toISOString(), remaining: 1 }, { at: at(-1 * D).toISOString(), remaining: 0.5 }, { at: N.toISOString(), remaining: 0 }] },
      { budget: 'prod-gitops-apps', domain: 'app', environment: 'prod', state: 'burning', remaining: 0.42, reasons: ['burn rate 14.4 over 1h and 5m'], history: [] },
      { budget: 'staging-apps', domain: 'app', environment: 'staging', state: 'ok', remaining: 1, reasons: [], history: [] },
    ];
    beforeAll(async () => {
      const home = await mkdtemp(path.join(os.tmpdir(), 'dp-dash-'));
      const config = loadConfig({ DRIFTPLANE_HOME: home });
      const module = dashboardModule({
        config,
        ledger: h.ledger,
        now: () => N,
        budgets: { evaluate: async () => ({ reports: budgets, recurring: [{ kind: 'finding', unit: 'checkout', findingId: 'checkout:ccc', resourceRef: 'Deployment/checkout/web', count: 2, lastAt: at(-1 * D).toISOString() }] }) },
        auth: {
          mode: 'dev',
          userOf: () => (signedIn ? { email: 'maria.lopez@acme.example', via: 'dev' as const } : undefined),
          csrfTokenFor: () => (signedIn ? 'csrf-<token>' : undefined),
        },
      });
      app = await buildServer([module]);
    }, 60_000);
    afterAll(async () => {
      await app?.close();
    });
    const get = async (u: string) => {
      const r = await app.inject({ method: 'GET', url: u });
      return { status: r.statusCode, body: r.body, type: r.headers['content-type'], csp: r.headers['content-security-policy'] };
    };

    it('escapes every value: a resource named <script> is shown as text', async () => {
      const r = await get('/platform');
      expect(r.status).toBe(200);
      expect(r.type).toBe('text/html; charset=utf-8');
      expect(r.csp).toContain("default-src 'none'");
      expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(r.body).not.toContain('<script>');
      const finding = await get(`/findings/${encodeURIComponent('x:iii')}`);
      expect(finding.body).toContain('Finding: &lt;script&gt;alert(1)&lt;/script&gt;');
      expect(finding.body).not.toContain('<script>');
    });

    it('executive: the figures, budgets with state words and their burn chart, recurring sources', async () => {
      const r = await get('/');
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/data-metric="open-critical">2</);
      expect(r.body).toMatch(/data-metric="mttc">53s</); // 52.5 s, rounded to whole seconds
      expect(r.body).toMatch(/data-metric="mttr">39m 4s</); // 2344 s
      for (const word of ['Exhausted', 'Burning', 'OK']) expect(r.body).toContain(`data-state="${word}">${word}</span>`);
      expect(r.body).toMatch(/data-metric="budget-remaining">42%</);
      expect(r.body).toMatch(/<svg role="img" aria-label="Budget prod-iam: remaining error budget over the window, now 0%"/);
      expect(r.body).toMatch(/<svg role="img" aria-label="Drift by domain in the last 30d: app 4 \(1 open\)/);
      expect(r.body).toContain('href="/findings/checkout%3Accc"');
    });

    it('owner: the team picker, only the team\'s findings, an unknown team is a 404 naming it', async () => {
      const picker = await get('/owner');
      expect(picker.status).toBe(200);
      expect(picker.body).toContain('href="/owner?team=checkout"');
      const r = await get('/owner?team=checkout');
      expect(r.status).toBe(200);
      const owners = [...r.body.matchAll(/data-owner="([^"]*)"/g)].map((m) => m[1]);
      expect(owners.length).toBeGreaterThan(0);
      expect(new Set(owners)).toEqual(new Set(['checkout']));
      expect(r.body).toMatch(/data-metric="required-actions">1</);
      expect(r.body).toMatch(/data-metric="team-findings">4</);
      const unknown = await get('/owner?team=%3Cb%3Enobody');
      expect(unknown.status).toBe(404);
      expect(unknown.body).toContain('No team named <code>&lt;b&gt;nobody</code> in the registry.');
    });

    it('finding page: the answer form only for a signed-in person while it waits, never a name field', async () => {
      signedIn = false;
      const out = await get(`/findings/${encodeURIComponent('finding:checkout:ccc')}`);
      expect(out.status).toBe(200);
      expect(out.body).toContain('Sign in to answer');
      expect(out.body).not.toContain('<form');
      expect(out.body).toContain('http://localhost:8233/namespaces/default/workflows/finding%3Acheckout%3Accc');
      // No evidence folder in this test: the page says the chain is not verified, with the reason.
      expect(out.body).toMatch(/data-testid="evidence-state" data-ok="false"/);
      signedIn = true;
      const form = await get(`/findings/${encodeURIComponent('checkout:ccc')}`);
      expect(form.body).toContain('action="/findings/checkout%3Accc/answer"');
      expect(form.body).toContain('name="csrf" value="csrf-&lt;token&gt;"');
      expect(form.body).not.toMatch(/name="(name|approver|email|user)"/);
      const closed = await get(`/findings/${encodeURIComponent('checkout:bbb')}`);
      expect(closed.body).not.toContain('<form');
      expect((await get('/findings/nope%3A000')).status).toBe(404);
    });

    it('security: every section and the open hotfix window', async () => {
      const r = await get('/security');
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/data-metric="open-identity">1</);
      expect(r.body).toMatch(/data-metric="window-breakGlass">1</);
      expect(r.body).toMatch(/data-metric="open-hotfix-windows">1</);
      expect(r.body).toContain('hotfix:checkout:INC-1');
    });
  });
});

describe('budgets on the executive view: evaluated at most once a minute', () => {
  it('serves a fresh result from memory, a stale one while one refresh runs, and waits only the first time', async () => {
    let clock = 0;
    let calls = 0;
    let release: (() => void) | undefined;
    const inner = {
      evaluate: async () => {
        const n = ++calls;
        if (n > 1) await new Promise<void>((r) => (release = r));
        return { reports: [], recurring: [{ kind: 'field' as const, unit: 'u', field: `/call-${n}`, count: 2, lastAt: '2026-12-01T00:00:00Z' }] };
      },
    };
    const source = cachedBudgetSource(inner, 60_000, () => clock);
    const field = async () => (await source.evaluate(N)).recurring[0]?.field;
    expect(await field()).toBe('/call-1');
    clock = 59_999;
    expect(await field()).toBe('/call-1');
    expect(calls).toBe(1);
    clock = 60_000; // stale: served at once, one refresh starts
    expect(await field()).toBe('/call-1');
    expect(await field()).toBe('/call-1');
    expect(calls).toBe(2);
    release!();
    await new Promise((r) => setTimeout(r, 0));
    expect(await field()).toBe('/call-2');
    expect(source.evaluatedAt()).toEqual(new Date(60_000));
  });
});

describe('the dashboard palette', () => {
  // WCAG 2.x relative luminance and contrast ratio.
  const lum = (hex: string) => {
    const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
  };
  const contrast = (a: string, b: string) => (Math.max(lum(a), lum(b)) + 0.05) / (Math.min(lum(a), lum(b)) + 0.05);
  it.each(Object.entries(PALETTE))('%s text has a contrast of at least 4.5:1', (_k, { fg, bg }) => {
    expect(contrast(fg, bg)).toBeGreaterThanOrEqual(4.5);
  });
  it.each(Object.entries(CHART).filter(([k]) => k !== 'grid'))('chart mark %s has at least 3:1 against white', (_k, c) => {
    expect(contrast(c, '#ffffff')).toBeGreaterThanOrEqual(3);
  });
  it('html escapes values and keeps nested fragments', () => {
    expect(html`<p title="${'"x" & <y>'}">${html`<b>${"it's"}</b>`}${[1, 2]}${undefined}</p>`.value).toBe('<p title="&quot;x&quot; &amp; &lt;y&gt;"><b>it&#39;s</b>12</p>');
  });
});
