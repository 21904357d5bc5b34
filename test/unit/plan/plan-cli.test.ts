import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizePlan } from '../../../domain/plan/normalize-plan';
import { NormalizedPlanSchema } from '../../../domain/plan/normalized-plan-schema';
import { sharedFixture } from '../../support/shared-fixtures';
import { repoRoot } from '../../support/shared-fixtures';

const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const fixture = (name: string): string => sharedFixture('tofu', 'plan', name);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'plan-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('driftplane plan normalize', () => {
  it.each([
    ['testing__equivalence-tests__outputs__drift_simple__plan.json', 2],
    ['testing__equivalence-tests__outputs__drift_refresh_only__plan.json', 2],
    ['testing__equivalence-tests__outputs__variables_and_outputs__plan.json', 0],
    ['internal__command__testdata__show-json__plan-error__output.json', 3],
    ['internal__command__testdata__show-json__sensitive-values__output.json', 2],
  ])('--json on %s prints the contract and exits %i', async (name, exitCode) => {
    const file = fixture(name);
    const r = await cli('plan', 'normalize', file, '--json');
    expect(r.code).toBe(exitCode);
    const printed = JSON.parse(r.stdout) as unknown;
    expect(NormalizedPlanSchema.safeParse(printed).success).toBe(true);
    expect(printed).toEqual(normalizePlan(JSON.parse(readFileSync(file, 'utf8'))));
    expect(r.stdout).not.toContain('boop');
  });

  it('prints a readable summary without --json', async () => {
    const r = await cli(
      'plan',
      'normalize',
      fixture('internal__command__testdata__show-json__sensitive-values__output.json'),
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('DRIFT_DETECTED');
    expect(r.stdout).toContain('test_instance.test');
    expect(r.stdout).toContain('/ami');
    expect(r.stdout).toContain('test (sensitive)');
    expect(r.stdout).not.toContain('boop');
  });

  it.each<[string, string, RegExp]>([
    [
      'a malformed entry',
      JSON.stringify({ format_version: '1.2', resource_changes: [{ address: 'a.b', change: {} }] }),
      /field \/resource_changes\/0\/type/,
    ],
    [
      'bad JSON',
      '{\n  "format_version": "1.2",\n  "resource_changes": [,]\n}',
      /bad-json\.json:3:\d+: not valid JSON/,
    ],
    [
      'an unsupported format',
      JSON.stringify({ format_version: '2.0' }),
      /field \/format_version: unsupported/,
    ],
  ])('exits 1 naming the file and field for %s', async (name, content, message) => {
    const file = path.join(tmp, name === 'bad JSON' ? 'bad-json.json' : `${name.replace(/\W+/g, '-')}.json`);
    writeFileSync(file, content);
    const r = await cli('plan', 'normalize', file, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(file);
    expect(r.stderr).toMatch(message);
  });

  it('exits 1 for a missing file', async () => {
    const r = await cli('plan', 'normalize', path.join(tmp, 'nope.json'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.json: file not found/);
  });
});
