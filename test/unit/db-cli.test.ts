import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations } from '../../ledger';
import { dropDatabase, freshPostgresUrl } from '../support/ledger-db';
import { repoRoot } from '../support/shared-fixtures';

// The real `driftplane db` commands against an empty database on the local PostgreSQL.
const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
let url: string;
let env: NodeJS.ProcessEnv;

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
  env = { ...process.env, DRIFTPLANE_HOME: await mkdtemp(path.join(os.tmpdir(), 'driftplane-db-')), DRIFTPLANE_LEDGER_URL: url };
}, 60_000);

afterAll(async () => {
  if (url) await dropDatabase(url);
});

describe('driftplane db', () => {
  const versions = loadMigrations().map((m) => m.version);

  it('status on an empty database: every migration pending, exit 2', async () => {
    const r = await driftplane('db', 'status', '--json');
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ engine: 'postgres', applied: [], pending: versions, lifecycles: 0 });
  });

  it('migrate applies every migration once; again applies nothing; status is then 0', async () => {
    const first = await driftplane('db', 'migrate', '--json');
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as { applied: { version: number }[] }).applied.map((m) => m.version)).toEqual(versions);
    const again = await driftplane('db', 'migrate');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date \(version \d+\)/);
    const status = await driftplane('db', 'status', '--json');
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ applied: versions, pending: [] });
  });

  it('an unreachable server is exit 3 with a hint, and the password is never printed', async () => {
    const r = await driftplane('db', 'status', '--url', 'postgres://dp:s3cret-pw@127.0.0.1:1/nothing');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot open the ledger at postgres:\/\/dp:\*\*\*@127\.0\.0\.1:1\/nothing/);
    expect(r.stderr + r.stdout).not.toContain('s3cret-pw');
  });

  it('a URL of no known engine is refused', async () => {
    const r = await driftplane('db', 'migrate', '--url', 'mysql://x@y/z');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/DRIFTPLANE_LEDGER_URL: expected postgres:\/\/.*pglite:<folder>/);
  });
});
