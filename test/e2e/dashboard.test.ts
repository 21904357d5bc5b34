/**
 * The dashboard in real headless Chromium after the demo scenario: the real `driftplane demo` writes
 * the findings ledger (a fresh PostgreSQL database), `driftplane serve` reads it, and every figure
 * the four views and a finding page show is checked against the ledger's own numbers, computed here
 * with independent SQL. Screenshots land in test-artifacts/dashboard/ (gitignored).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openDb } from '../../ledger';
import { snapshotLifecycleTables } from '../support/ledger-scenarios';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { detectionIntervalMs } from '../../domain/registry/resolve';
import { loadRegistryOrThrow } from '../../registry';
import { startDriftplaneServer, type RunningServer } from '../../serve';
import { loadConfig } from '../../workers/config';
import { dropDatabase, freshPostgresUrl } from '../support/ledger-db';
import { parsePrometheusText } from '../support/prometheus-text';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const shots = path.join(repoRoot, 'test-artifacts', 'dashboard');

interface DemoFinding {
  findingId: string;
  driftClass: string;
  outcome: string;
  evidencePath: string;
  resourceRef: string;
}
interface DemoJson {
  findings: DemoFinding[];
  hotfix?: { windowId: string; finding: DemoFinding };
}

let env: NodeJS.ProcessEnv;
let ledgerUrl: string;
let demo: DemoJson;
let server: RunningServer;
let browser: Browser;
let page: Page;
let sql: pg.Pool;

const q = async <R extends Record<string, unknown>>(text: string, params: unknown[] = []): Promise<R[]> => (await sql.query<R>(text, params)).rows;
const num = async (text: string, params: unknown[] = []): Promise<number> => Number(Object.values((await q(text, params))[0] ?? {})[0]);
// The window the pages use (DRIFTPLANE_BUDGET_WINDOW, default 30d); every demo row is well inside it.
const IN_WINDOW = `(closed_at IS NULL OR detected_at >= now() - interval '30 days')`;

async function metric(name: string): Promise<string> {
  const text = await page.locator(`[data-metric="${name}"]`).first().textContent();
  return (text ?? '').trim();
}

/** The rows of a table (by data-testid) as arrays of cell texts. */
async function rowsOf(testid: string): Promise<string[][]> {
  return page.locator(`table[data-testid="${testid}"] tbody tr`).evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.textContent ?? '').trim())));
}

async function open(pathname: string, shot: string): Promise<void> {
  const r = await page.goto(`${server.url}${pathname}`);
  expect(r?.status()).toBe(200);
  await page.screenshot({ path: path.join(shots, `${shot}.png`), fullPage: true });
}

beforeAll(async () => {
  const home = await mkdtemp(path.join(os.tmpdir(), 'driftplane-dash-'));
  ledgerUrl = await freshPostgresUrl();
  const { DRIFTPLANE_SERVE_PORT: _port, DRIFTPLANE_DASHBOARD_DEV_USER: _dev, ...base } = process.env;
  env = {
    ...base,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DRIFTPLANE_HOME: home,
    DRIFTPLANE_TASK_QUEUE: `e2e-${path.basename(home)}`,
    DRIFTPLANE_VERIFY_INTERVAL: '1s',
    DRIFTPLANE_LEDGER_URL: ledgerUrl,
  };
  const r = await run(process.execPath, [bin, 'demo', '--json', '--no-keep-running'], { env, cwd: repoRoot, timeout: 180_000 }).catch((err: unknown) => {
    const e = err as { code?: number; stderr?: string };
    throw new Error(`driftplane demo failed (exit ${String(e.code)}): ${(e.stderr ?? '').slice(-2000)}`);
  });
  demo = JSON.parse(r.stdout) as DemoJson;
  server = await startDriftplaneServer(loadConfig(env), { port: 0 });
  sql = new pg.Pool({ connectionString: ledgerUrl, max: 2 });
  // An idle client closed by the database drop at the end is not an error of the test.
  sql.on('error', () => undefined);
  mkdirSync(shots, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  // Scripts off: the read views must work without JavaScript.
  page = await browser.newPage({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await sql?.end();
  if (ledgerUrl) await dropDatabase(ledgerUrl);
});

const allDemoFindings = (): DemoFinding[] => [...demo.findings, ...(demo.hotfix ? [demo.hotfix.finding] : [])];

describe('the dashboard after the demo, in Chromium, against the ledger', () => {
  it('executive view: open critical, MTTC, MTTR, drift by class and domain, budgets with state words', async () => {
    await open('/', 'executive');
    expect(await page.title()).toBe('Executive view · driftplane');
    // The demo's findings are in the ledger, by class.
    const byClass = await q<{ drift_class: string; n: number }>(`SELECT drift_class, count(*)::int AS n FROM lifecycles WHERE ${IN_WINDOW} GROUP BY drift_class`);
    for (const f of allDemoFindings()) expect(byClass.map((c) => c.drift_class)).toContain(f.driftClass);
    expect(Number(await metric('open-critical'))).toBe(await num(`SELECT count(*)::int FROM lifecycles WHERE closed_at IS NULL AND risk = 'CRITICAL'`));
    expect(Number(await metric('open-total'))).toBe(await num('SELECT count(*)::int FROM lifecycles WHERE closed_at IS NULL'));
    const closed = await num(`SELECT count(*)::int FROM lifecycles WHERE closed_at > now() - interval '30 days'`);
    expect(closed).toBeGreaterThanOrEqual(allDemoFindings().length);
    expect(Number(await metric('closed'))).toBe(closed);
    const mttr = await num(`SELECT (avg(extract(epoch FROM closed_at - detected_at)) * 1000)::float8 FROM lifecycles WHERE closed_at > now() - interval '30 days'`);
    expect(Math.abs(Number(await metric('mttr-ms')) - mttr)).toBeLessThanOrEqual(1);
    const mttc = await num(`SELECT (avg(extract(epoch FROM classified_at - detected_at)) * 1000)::float8 FROM lifecycles WHERE classified_at > now() - interval '30 days'`);
    expect(Math.abs(Number(await metric('mttc-ms')) - mttc)).toBeLessThanOrEqual(1);
    expect(Number(await metric('classified'))).toBe(await num(`SELECT count(*)::int FROM lifecycles WHERE classified_at > now() - interval '30 days'`));
    expect(await metric('mttr')).toMatch(/^\d+(\.\d)?[dhms]( \d+[hms])?$/);

    const shownClasses = Object.fromEntries((await rowsOf('by-class')).map(([k, , total]) => [k, Number(total)]));
    expect(shownClasses).toEqual(Object.fromEntries(byClass.map((c) => [c.drift_class ?? 'unclassified', c.n])));
    const byDomain = await q<{ domain: string | null; n: number; open: number }>(
      `SELECT domain, count(*)::int AS n, count(*) FILTER (WHERE closed_at IS NULL)::int AS open FROM lifecycles WHERE ${IN_WINDOW} GROUP BY domain`,
    );
    expect(Object.fromEntries((await rowsOf('by-domain')).map(([k, o, t]) => [k, [Number(o), Number(t)]]))).toEqual(Object.fromEntries(byDomain.map((d) => [d.domain ?? 'unclassified', [d.open, d.n]])));
    const byEnv = await q<{ environment: string | null; n: number }>(`SELECT environment, count(*)::int AS n FROM lifecycles WHERE ${IN_WINDOW} GROUP BY environment`);
    expect(Object.fromEntries((await rowsOf('by-environment')).map(([k, , t]) => [k, Number(t)]))).toEqual(Object.fromEntries(byEnv.map((d) => [d.environment ?? 'unclassified', d.n])));
    // The drift-by-domain chart is an SVG with its numbers in its label.
    const label = await page.locator('svg[data-testid="chart-domain"]').getAttribute('aria-label');
    for (const d of byDomain) expect(label).toContain(`${d.domain ?? 'unclassified'} ${d.n} (${d.open} open)`);
    // Every registry budget, each with a state word next to its colour and a remaining percentage.
    const registry = await loadRegistryOrThrow(loadConfig(env).registryDir);
    const budgets = page.locator('table[data-testid="budgets"] tbody tr');
    expect(await budgets.count()).toBe(registry.budgets.size);
    const states = await page.locator('table[data-testid="budgets"] [data-state]').allTextContents();
    expect(states).toHaveLength(registry.budgets.size);
    for (const s of states) expect(['OK', 'Burning', 'Exhausted']).toContain(s);
    for (const rem of await page.locator('[data-metric="budget-remaining"]').allTextContents()) expect(rem).toMatch(/^\d+(\.\d)?%$/);
  });

  it('platform view: failed detections, auto-heal, stale checks, coverage from the ledger', async () => {
    await open('/platform', 'platform');
    expect(Number(await metric('failed-detections'))).toBe(await num('SELECT count(*)::int FROM unit_detection WHERE consecutive_failures > 0'));
    const heal = (await q<{ ok: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE outcome = 'RECONCILED')::int AS ok, count(*) FILTER (WHERE closed_at IS NOT NULL AND coalesce(outcome, '') <> 'RECONCILED')::int AS failed
         FROM lifecycles WHERE approval_kind = 'auto-heal' AND detected_at >= now() - interval '30 days'`,
    ))[0]!;
    expect(Number(await metric('autoheal-succeeded'))).toBe(heal.ok);
    expect(Number(await metric('autoheal-failed'))).toBe(heal.failed);
    // Stale checks, judged here from the registry's intervals and the ledger's last successes.
    const registry = await loadRegistryOrThrow(loadConfig(env).registryDir);
    const detections = new Map((await q<{ unit: string; last_success_at: Date | null; first_seen_at: Date | null }>('SELECT unit, last_success_at, first_seen_at FROM unit_detection')).map((d) => [d.unit, d]));
    let stale = 0;
    for (const u of registry.units.values()) {
      const interval = detectionIntervalMs(u);
      if (interval === undefined) continue;
      const d = detections.get(u.metadata.name);
      const since = d?.last_success_at ?? d?.first_seen_at;
      if (!since || Date.now() - since.getTime() > interval) stale++;
    }
    expect(Number(await metric('stale-units'))).toBe(stale);
    const covered = await num('SELECT count(*)::int FROM unit_detection WHERE coverage IS NOT NULL');
    const coverageRows = await page.locator('[data-testid="coverage"]').getAttribute('data-rows');
    expect(Number(coverageRows)).toBe(covered);
  });

  it("service-owner view: only the demo team's findings, with its last successful reconciliation", async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    const team = (await q<{ owner: string }>('SELECT owner FROM lifecycles WHERE finding_id = $1', [prod.findingId]))[0]!.owner;
    expect(team).toBe('checkout');
    await open(`/owner?team=${encodeURIComponent(team)}`, 'owner');
    const links = await page.locator('[data-testid="team-findings"] a[data-finding]').evaluateAll((as) => as.map((a) => [a.getAttribute('data-finding'), a.getAttribute('data-owner')]));
    const expected = await q<{ finding_id: string }>(`SELECT finding_id FROM lifecycles WHERE owner = $1 AND ${IN_WINDOW} ORDER BY detected_at DESC`, [team]);
    expect(links.map(([id]) => id)).toEqual(expected.map((r) => r.finding_id));
    expect(links.every(([, owner]) => owner === team)).toBe(true);
    expect(Number(await metric('team-findings'))).toBe(expected.length);
    // Findings of other teams are not on the page (the demo's AWS finding belongs to platform-network).
    const others = await q<{ finding_id: string }>('SELECT finding_id FROM lifecycles WHERE owner <> $1', [team]);
    expect(others.length).toBeGreaterThan(0);
    const htmlText = await page.content();
    for (const o of others) expect(htmlText).not.toContain(o.finding_id);
    expect(Number(await metric('required-actions'))).toBe(
      await num(`SELECT count(*)::int FROM lifecycles WHERE owner = $1 AND closed_at IS NULL AND stage = 'routed' AND coalesce(action, 'NONE') <> 'NONE'`, [team]),
    );
    expect(Number(await metric('prs-waiting'))).toBe(await num(`SELECT count(*)::int FROM lifecycles WHERE owner = $1 AND pr_state = 'open'`, [team]));
    const last = (await q<{ finding_id: string; resource_ref: string }>(`SELECT finding_id, resource_ref FROM lifecycles WHERE owner = $1 AND outcome = 'RECONCILED' ORDER BY closed_at DESC LIMIT 1`, [team]))[0]!;
    expect(await metric('last-reconciled')).toMatch(/ago$/);
    expect(await page.locator('.kpi', { has: page.locator('[data-metric="last-reconciled"]') }).locator('a').getAttribute('href')).toBe(`/findings/${encodeURIComponent(last.finding_id)}`);
    // An unknown team is a 404 page naming it.
    const unknown = await page.goto(`${server.url}/owner?team=no-such-team`);
    expect(unknown?.status()).toBe(404);
    expect(await page.locator('[data-testid="unknown-team"]').textContent()).toContain('no-such-team');
  });

  it('security view: network exposure, break-glass changes and hotfix windows against the ledger', async () => {
    await open('/security', 'security');
    const windowCount = (pred: string) => num(`SELECT count(*)::int FROM lifecycles WHERE ${IN_WINDOW} AND ${pred}`);
    const openCount = (pred: string) => num(`SELECT count(*)::int FROM lifecycles WHERE closed_at IS NULL AND ${pred}`);
    const network = `(domain = 'network' OR changed_fields::text ~* '(ingress|egress|cidr|sourceRanges)')`;
    const breakGlass = `(drift_class = 'EMERGENCY_DRIFT' AND coalesce(outcome, '') <> 'RECONCILED')`;
    const identity = `(drift_class = 'IDENTITY_DRIFT' OR domain = 'iam')`;
    // The demo's security-group change is network exposure.
    const aws = demo.findings.find((f) => f.findingId.startsWith('payments-prod-network:'))!;
    expect(await page.locator(`[data-section="network"] a[data-finding="${aws.findingId}"]`).count()).toBe(1);
    expect(Number(await metric('window-network'))).toBe(await windowCount(network));
    expect(Number(await metric('open-network'))).toBe(await openCount(network));
    expect(Number(await metric('window-identity'))).toBe(await windowCount(identity));
    expect(Number(await metric('window-breakGlass'))).toBe(await windowCount(breakGlass));
    // The demo's break-glass change was reconciled: it is not listed.
    expect(await page.locator(`[data-section="breakGlass"] a[data-finding="${demo.hotfix!.finding.findingId}"]`).count()).toBe(0);
    expect(Number(await metric('open-hotfix-windows'))).toBe(await num(`SELECT count(*)::int FROM hotfix_windows WHERE state = 'open'`));
  });

  it('finding page: the timeline, the rules that fired, the verified evidence chain and the Temporal link', async () => {
    const prod = demo.findings.find((f) => f.findingId.startsWith('checkout-web-prod:'))!;
    await open(`/findings/${encodeURIComponent(`finding:${prod.findingId}`)}`, 'finding');
    const steps = await q<{ step: string }>('SELECT step FROM lifecycle_steps WHERE finding_id = $1 ORDER BY seq', [prod.findingId]);
    expect(steps.length).toBeGreaterThanOrEqual(7);
    expect(await page.locator('[data-testid="timeline"] [data-step]').allTextContents()).toEqual(steps.map((s) => s.step));
    const run = (await q<{ drift_class: string; risk: string; outcome: string; rules: { ruleId: string }[] }>('SELECT drift_class, risk, outcome, rules FROM lifecycles WHERE finding_id = $1 ORDER BY detected_at DESC LIMIT 1', [prod.findingId]))[0]!;
    expect(run.rules.length).toBeGreaterThan(0);
    expect((await rowsOf('rules')).map(([rule]) => rule)).toEqual(run.rules.map((r) => r.ruleId));
    expect(await metric('class')).toBe(run.drift_class);
    expect(await metric('risk')).toBe(run.risk);
    expect(await page.locator('[data-metric="outcome"]').last().getAttribute('data-value')).toBe(prod.outcome);
    expect(await page.locator('[data-metric="outcome"] [data-state]').last().textContent()).toBe('Reconciled');
    // The evidence chain verified, with as many records as the folder holds.
    expect(await page.locator('[data-testid="evidence-state"]').getAttribute('data-ok')).toBe('true');
    expect(Number(await metric('evidence-records'))).toBe(readdirSync(prod.evidencePath).filter((n) => n.endsWith('.json')).length);
    expect(await page.locator('[data-testid="temporal-link"]').getAttribute('href')).toBe(
      `http://localhost:8233/namespaces/default/workflows/${encodeURIComponent(`finding:${prod.findingId}`)}`,
    );
    // Closed: nothing to answer, and never a form.
    expect(await page.locator('form').count()).toBe(0);
  });

  it('/metrics: driftplane_findings per class equals the ledger', async () => {
    const r = await fetch(`${server.url}/metrics`);
    expect(r.status).toBe(200);
    const families = parsePrometheusText(await r.text());
    const findings = families.get('driftplane_findings');
    expect(findings, 'driftplane_findings is exported').toBeDefined();
    const perClass = new Map<string, number>();
    for (const m of findings!.metrics) perClass.set(m.labels?.drift_class ?? '', (perClass.get(m.labels?.drift_class ?? '') ?? 0) + Number(m.value));
    const ledger = await q<{ drift_class: string; n: number }>('SELECT drift_class, count(*)::int AS n FROM lifecycles WHERE drift_class IS NOT NULL GROUP BY drift_class');
    for (const c of ledger) expect(perClass.get(c.drift_class), c.drift_class).toBe(c.n);
  });

  it('db rebuild from evidence reproduces the ledger rows of the demo findings', async () => {
    const db = await openDb(ledgerUrl);
    try {
      const live = await snapshotLifecycleTables(db);
      const ids = new Set((live.lifecycles ?? []).map((r) => String(r.finding_id)));
      for (const f of allDemoFindings()) expect(ids.has(f.findingId) || ids.has(`finding:${f.findingId}`), f.findingId).toBe(true);
      expect(live.lifecycle_steps!.length).toBeGreaterThan(live.lifecycles!.length);
      // The real command, on the demo's evidence folder and ledger: everything emptied and replayed.
      const r = await run(process.execPath, [bin, 'db', 'rebuild', '--json'], { env, cwd: repoRoot, timeout: 120_000 });
      const out = JSON.parse(r.stdout) as { findings: number; records: number; problems: string[] };
      expect(out.problems).toEqual([]);
      expect(out.records).toBe(live.lifecycle_steps!.length);
      expect(await snapshotLifecycleTables(db)).toEqual(live);
    } finally {
      await db.close();
    }
  });
});
