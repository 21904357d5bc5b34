import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetsJson } from '../../cli/commands/budgets';
import { openLedger, type Ledger } from '../../ledger';
import { loadRegistryOrThrow } from '../../registry';
import { dropDatabase, freshPostgresUrl } from '../support/ledger-db';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const T = Date.parse('2026-07-01T12:00:00Z');
const MIN = 60_000;
let url: string;
let ledger: Ledger;
let env: NodeJS.ProcessEnv;

/** Runs the real `driftplane` binary; resolves with its exit code instead of throwing. */
async function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd: repoRoot, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  url = await freshPostgresUrl();
  ledger = await openLedger(url);
  const registry = await loadRegistryOrThrow(path.join(repoRoot, 'registry', 'examples', 'acme'));
  for (const name of registry.units.keys()) {
    await ledger.db.query("INSERT INTO unit_detection (unit, first_seen_at, last_success_at, last_result) VALUES ($1, $2, $2, 'ok')", [name, new Date(T - MIN)]);
  }
  // Two runs of the same staging app drift, on time (classified in 1 min, reconciled in 5 min).
  for (const [run, ago] of [['r1', 60], ['r2', 20]] as const) {
    const d = T - ago * MIN;
    await ledger.db.query(
      `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, environment, domain, owner, drift_class, risk_rank, changed_fields, stage, outcome, detected_at, classified_at, closed_at, updated_at)
       VALUES ('catalog-web-staging:f1', $1, 'catalog-web-staging', 'apps/Deployment/catalog/web', 'staging', 'app', 'team-catalog', 'UNAUTHORIZED_RUNTIME_DRIFT', 2, '["/spec/replicas"]', 'closed', 'RECONCILED', $2, $3, $4, $4)`,
      [run, new Date(d), new Date(d + MIN), new Date(d + 5 * MIN)],
    );
  }
  env = { ...process.env, DRIFTPLANE_HOME: await mkdtemp(path.join(os.tmpdir(), 'dp-budgets-')), DRIFTPLANE_LEDGER_URL: url };
  delete env.DRIFTPLANE_REGISTRY;
}, 60_000);

afterAll(async () => {
  await ledger?.close();
  if (url) await dropDatabase(url);
});

describe('driftplane budgets, the real binary against PostgreSQL', () => {
  it('exits 0 when no budget is exhausted, with the report, mean times and recurring sources', async () => {
    const r = await driftplane('budgets', '--json', '--at', new Date(T).toISOString());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as BudgetsJson;
    expect(out.window).toBe('30d');
    expect(out.budgets.map((b) => b.state)).toEqual(out.budgets.map(() => 'ok'));
    const staging = out.budgets.find((b) => b.budget === 'staging-stateless-apps')!;
    // timeToReconcile 95 % within 10m: 2 events, both good (5 min).
    expect(staging.objectives[0]).toMatchObject({ objective: 'timeToReconcile', total: 2, good: 2, bad: 0, compliance: 100, remaining: 1 });
    expect(staging.history).toHaveLength(30);
    // MTTC (60 + 60) / 2 = 60 s; MTTR (300 + 300) / 2 = 300 s.
    expect(out.meanTimes).toEqual({ mttcSeconds: 60, mttrSeconds: 300, classified: 2, closed: 2 });
    expect(out.recurring).toEqual([
      { kind: 'finding', unit: 'catalog-web-staging', findingId: 'catalog-web-staging:f1', resourceRef: 'apps/Deployment/catalog/web', count: 2, lastAt: new Date(T - 20 * MIN).toISOString() },
    ]);
  });

  it('exits 2 when a budget is exhausted, and says which and why in the table', async () => {
    // An unclassified prod IAM drift: prod-iam allows none.
    await ledger.db.query(
      `INSERT INTO lifecycles (finding_id, run_id, unit, resource_ref, stage, detected_at, updated_at)
       VALUES ('prod-iam-baseline:abc', 'r1', 'prod-iam-baseline', 'aws_iam_role.deploy', 'detected', $1, $1)`,
      [new Date(T - 10 * MIN)],
    );
    const r = await driftplane('budgets', '--at', new Date(T).toISOString());
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^prod-iam\s+prod iam, risk ≥ high\s+EXHAUSTED\s+100\.0 %/m);
    expect(r.stdout).toMatch(/^staging-stateless-apps\s+staging app\s+OK\s+100\.0 %/m);
    expect(r.stdout).toContain('prod-iam: maxUnclassified broken: 1 open finding(s) not yet classified (at most 0)');
    expect(r.stdout).toMatch(/Recurring drift sources:\n.*\n2\s+finding\s+catalog-web-staging:f1/);
    const json = JSON.parse((await driftplane('budgets', '--json', '--at', new Date(T).toISOString())).stdout) as BudgetsJson;
    expect(json.budgets.filter((b) => b.state === 'exhausted').map((b) => b.budget)).toEqual(['prod-iam']);
  });

  it('refuses a malformed --at with exit 1 and shows examples in --help', async () => {
    const bad = await driftplane('budgets', '--at', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--at: expected an ISO instant/);
    const help = await driftplane('budgets', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('driftplane budgets --at 2026-07-01T12:00:00Z --window 7d');
  });
});
