// Benchmark of the dashboard's executive view over 100,000 findings (issue 12 §3).
//
// Fills `lifecycles` with 100,000 lifecycle runs (a realistic spread of classes, risks,
// environments, domains and teams over 180 days; 8 % open, some findings recurring) with one
// INSERT … SELECT over generate_series, then times, in the same run on the same table:
//   - the executive view's server-side work as `GET /` does it: its queries (ledger/views.ts
//     executiveFigures, recurring sources), the budgets of the example registry (ledger/budgets.ts,
//     re-evaluated with the recurring sources and the weekly MTTR trend at most once a minute in the
//     background, see cachedBudgetSource) and the HTML;
//   - the same without a budget section, and the same evaluating every budget on the request;
//   - the baseline: SELECT count(*) FROM lifecycles.
// Prints the median of each and its ratio to count(*). Target: as served ≤ 10× count(*).
// Runs on PGlite (in memory) and, when reachable, on PostgreSQL (a scratch database it drops).
//
// Run: npx tsx bench/dashboard.bench.ts [rows]   (or via `npm run bench dashboard`)
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openLedger, type Ledger } from '../ledger';
import { loadRegistryOrThrow } from '../registry';
import type { BudgetSource, ViewContext } from '../serve/dashboard/context';
import { cachedBudgetSource, ledgerBudgetSource } from '../serve/dashboard/budget-source';
import { executiveModel, renderExecutive } from '../serve/dashboard/executive-view';
import { page } from '../serve/dashboard/layout';

const ROWS = Number(process.argv[2] ?? 100_000);
const RUNS = 9;
const WARMUP = 2;
const WINDOW_MS = 30 * 86_400_000;
const NOW = new Date('2026-12-03T12:00:00Z');
const ADMIN_URL = process.env.DRIFTPLANE_BENCH_POSTGRES_URL ?? process.env.DRIFTPLANE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

// One statement: every column from g with multiplicative hashes, so the spread is fixed and even.
const FILL = `
INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, resource_type, detector, environment, domain, owner, drift_class,
  risk, risk_rank, action, auto_heal_allowed, rules, changed_fields, stage, outcome, approval_kind, approvals, pr_state, verify_clean,
  detected_at, classified_at, closed_at, updated_at)
SELECT 'unit-' || (g % 2000) || ':' || md5((g % 85000)::text), 'run-' || g, 'unit-' || (g % 2000), 'res/' || (g % 85000), 'aws_security_group', 'plan',
  CASE WHEN unclassified THEN NULL ELSE (ARRAY['prod','prod','prod','prod','staging','staging','staging','dev','dev','sandbox'])[1 + (g * 7) % 10] END,
  CASE WHEN unclassified THEN NULL ELSE (ARRAY['iam','network','database','secrets','compute','storage','app','app','app','cost'])[1 + (g * 13) % 10] END,
  CASE WHEN unclassified THEN NULL ELSE 'team-' || (g % 40) END,
  CASE WHEN unclassified THEN NULL ELSE (ARRAY['UNAUTHORIZED_RUNTIME_DRIFT','UNAUTHORIZED_RUNTIME_DRIFT','UNAUTHORIZED_RUNTIME_DRIFT','EMERGENCY_DRIFT',
    'CONTROLLER_OWNED_DRIFT','CONTROLLER_OWNED_DRIFT','PROVIDER_READ_NOISE','PROVIDER_READ_NOISE','DEPENDENCY_DRIFT','STALE_DESIRED_STATE',
    'FAILED_RECONCILIATION','POLICY_DRIFT','STATE_DRIFT','IDENTITY_DRIFT','SECRET_DELIVERY_DRIFT','COST_DRIFT'])[1 + (g * 17) % 16] END,
  CASE WHEN unclassified THEN NULL ELSE (ARRAY['CRITICAL','HIGH','HIGH','HIGH','MEDIUM','MEDIUM','MEDIUM','MEDIUM','LOW','LOW','LOW','LOW','LOW','INFO','INFO','INFO','INFO','INFO','INFO','INFO'])[1 + (g * 19) % 20] END,
  CASE WHEN unclassified THEN NULL ELSE (ARRAY[4,3,3,3,2,2,2,2,1,1,1,1,1,0,0,0,0,0,0,0])[1 + (g * 19) % 20] END,
  CASE WHEN unclassified THEN NULL ELSE (ARRAY['RUNTIME_REVERT','OPEN_RECONCILIATION_PR','IGNORE','STATE_REFRESH','INCIDENT','NONE'])[1 + (g * 23) % 6] END,
  (g % 3 = 0), '[{"ruleId":"r","why":"w"}]'::jsonb,
  jsonb_build_array((ARRAY['/spec/replicas','/ingress/0/cidr_blocks','/tags/updated_at','/spec/template/spec/containers/0/image'])[1 + (g * 29) % 4]),
  CASE WHEN is_open THEN (CASE WHEN unclassified THEN 'detected' ELSE 'routed' END) ELSE 'closed' END,
  CASE WHEN is_open THEN NULL ELSE (ARRAY['RECONCILED','RECONCILED','RECONCILED','RECONCILED','RECONCILED','RECONCILED','RECONCILED','NO_ACTION','REJECTED','FAILED'])[1 + (g * 31) % 10] END,
  CASE WHEN g % 3 = 0 THEN 'auto-heal' ELSE 'person' END, 1,
  CASE WHEN g % 11 = 0 THEN (CASE WHEN is_open THEN 'open' ELSE 'merged' END) END, CASE WHEN is_open THEN NULL ELSE true END,
  detected, CASE WHEN unclassified THEN NULL ELSE detected + ((g * 37) % 900) * interval '1 second' END,
  CASE WHEN is_open THEN NULL ELSE detected + (600 + (g * 41) % 86400) * interval '1 second' END, detected
FROM (SELECT g, (g * 53) % 100 < 8 AS is_open, (g * 53) % 100 = 0 AS unclassified,
             $2::timestamptz - ((g::bigint * 7919) % (180 * 86400)) * interval '1 second' AS detected
        FROM generate_series(1, $1::int) AS g) AS s`;

async function median(fn: () => Promise<unknown>, runs = RUNS, warmup = WARMUP): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

async function benchOn(name: string, ledger: Ledger): Promise<boolean> {
  const db = ledger.db;
  const t0 = performance.now();
  await db.query(FILL, [ROWS, NOW]);
  await db.exec('ANALYZE lifecycles');
  const fillMs = performance.now() - t0;
  const counted = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM lifecycles'))[0]?.n;
  const open = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM lifecycles WHERE closed_at IS NULL'))[0]?.n;
  const registry = await loadRegistryOrThrow();
  const regState = { ok: true as const, registry };
  const withBudgets = ledgerBudgetSource(db, async () => regState, WINDOW_MS);
  // What `GET /` uses: the same evaluation, re-run at most once a minute in the background.
  const served = cachedBudgetSource(withBudgets);
  const noBudgets: BudgetSource = { evaluate: async () => ({ reports: [], recurring: [] }) };
  const ctx = (budgets: BudgetSource): ViewContext => ({ db, now: NOW, windowMs: WINDOW_MS, windowLabel: '30d', registry: regState, budgets });
  let bytes = 0;
  const view = async (budgets: BudgetSource) => {
    const model = await executiveModel(ctx(budgets));
    if (model.budgetError) throw new Error(model.budgetError);
    bytes = page({ title: 'Executive view', active: 'executive', body: renderExecutive(model), generatedAt: NOW }).length;
  };
  const count = await median(() => db.query('SELECT count(*) FROM lifecycles'));
  const asServed = await median(() => view(served));
  const htmlBytes = bytes;
  const figures = await median(() => view(noBudgets));
  // Evaluating every budget on every request (no cache): slow, so 3 runs.
  const cold = await median(() => view(withBudgets), 3, 0);
  const count2 = await median(() => db.query('SELECT count(*) FROM lifecycles'));
  const base = Math.min(count, count2);
  const ratio = asServed / base;
  const line = (label: string, ms: number, extra = '') => console.log(`  ${label.padEnd(62)} ${ms.toFixed(1).padStart(9)} ms  ${(ms / base).toFixed(1).padStart(6)}x${extra}`);
  console.log(`${name}: ${counted} lifecycle runs (${open} open), filled in ${(fillMs / 1000).toFixed(1)} s; medians:`);
  line('SELECT count(*) FROM lifecycles (baseline)', base);
  line(`GET / server work as served (queries + HTML ${(htmlBytes / 1024).toFixed(0)} KiB; budgets, recurring, trend cached 60 s)`, asServed, '  (target <= 10x)');
  line('the same without any budget section', figures);
  line(`the same evaluating ${registry.budgets.size} budgets on the request (no cache)`, cold);
  return ratio <= 10;
}

async function main(): Promise<void> {
  let ok = true;
  const lite = await openLedger('pglite:memory');
  try {
    ok = (await benchOn('PGlite', lite)) && ok;
  } finally {
    await lite.close();
  }
  const name = `dp_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (err) {
    console.log(`PostgreSQL: not reachable at ${ADMIN_URL.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}); skipped`);
    process.exitCode = ok ? 0 : 1;
    return;
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(ADMIN_URL);
    u.pathname = `/${name}`;
    const ledger = await openLedger(u.toString());
    try {
      ok = (await benchOn('PostgreSQL', ledger)) && ok;
    } finally {
      await ledger.close();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
  }
  process.exitCode = ok ? 0 : 1;
}

void main();
