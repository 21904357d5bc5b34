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

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

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
  it.each<[string, number, string[]]>([
    ['testing__equivalence-tests__outputs__drift_simple__plan.json', 2, []],
    ['testing__equivalence-tests__outputs__drift_refresh_only__plan.json', 2, ['--refresh-only']],
    ['testing__equivalence-tests__outputs__drift_refresh_only__plan.json', 3, []],
    ['testing__equivalence-tests__outputs__variables_and_outputs__plan.json', 0, []],
    ['internal__command__testdata__show-json__plan-error__output.json', 3, []],
    ['internal__command__testdata__show-json__sensitive-values__output.json', 2, []],
  ])('--json on %s prints the contract and exits %i (%j)', async (name, exitCode, flags) => {
    const file = fixture(name);
    const r = await cli('plan', 'normalize', file, '--json', ...flags);
    expect(r.code).toBe(exitCode);
    const printed = JSON.parse(r.stdout) as unknown;
    expect(NormalizedPlanSchema.safeParse(printed).success).toBe(true);
    const refreshOnly = flags.includes('--refresh-only');
    expect(printed).toEqual(normalizePlan(JSON.parse(readFileSync(file, 'utf8')), { refreshOnly }));
    expect(r.stdout).not.toContain('boop');
    if (exitCode === 3) expect(r.stderr).toMatch(new RegExp(`^error: ${escape(file)}: could not tell: `));
    else expect(r.stderr).toBe('');
  });

  it('a refresh-only plan read as a normal one says how to read it', async () => {
    const file = fixture('testing__equivalence-tests__outputs__drift_refresh_only__plan.json');
    const r = await cli('plan', 'normalize', file);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('DETECTION_FAILED');
    expect(r.stdout).toContain('could not tell: resource_changes is missing');
    expect(r.stderr).toMatch(/only in prior_state \(tfcoremock_simple_resource\.drift\)/);
    expect(r.stderr).toMatch(/hint: .*pass --refresh-only/);
  });

  it('{"format_version":"1.2"} alone is not a plan: exit 1 naming the file and /planned_values', async () => {
    const file = path.join(tmp, 'format-version-only.json');
    writeFileSync(file, '{"format_version":"1.2"}');
    const r = await cli('plan', 'normalize', file, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: ${file} field /planned_values: required object is missing (tofu show -json of a plan always has it: is this a plan?)\n`,
    );
  });

  it('a plan whose resource_changes is gone while prior_state and planned_values differ: exit 3, never NO_CHANGES', async () => {
    // A real replace (delete, then create) with its resource_changes removed.
    const plan = JSON.parse(
      readFileSync(fixture('testing__equivalence-tests__outputs__simple_object_replace__plan.json'), 'utf8'),
    ) as Record<string, unknown>;
    delete plan.resource_changes;
    const file = path.join(tmp, 'no-resource-changes.json');
    writeFileSync(file, JSON.stringify(plan, null, 2));
    const r = await cli('plan', 'normalize', file, '--json');
    expect(r.code).toBe(3);
    const printed = NormalizedPlanSchema.parse(JSON.parse(r.stdout));
    expect(printed).toMatchObject({ result: 'DETECTION_FAILED', changesMissing: true, resourceChanges: [] });
    expect(printed.failureReason).toContain('1 with other values (tfcoremock_object.object)');
    expect(r.stderr).toContain(`error: ${file}: could not tell: resource_changes is missing`);
  });

  it('a repeated key is invalid input naming the key, the line and the field', async () => {
    const text = readFileSync(
      fixture('testing__equivalence-tests__outputs__drift_simple__plan.json'),
      'utf8',
    );
    const plan = JSON.parse(text) as { resource_changes: { change: Record<string, unknown> }[] };
    const lines = JSON.stringify(plan, null, 2).split('\n');
    // Repeat the first "actions" line of resource_changes with another action: JSON.parse would keep it.
    const start = lines.findIndex((l) => l.includes('"resource_changes"'));
    const at = lines.findIndex((l, i) => i > start && l.trim() === '"actions": [');
    lines.splice(at, 0, `${lines[at]!.replace('[', '["no-op"],')}`);
    const file = path.join(tmp, 'repeated-key.json');
    writeFileSync(file, lines.join('\n'));
    expect(JSON.parse(lines.join('\n'))).toBeDefined(); // valid JSON: only a duplicate-aware reader sees it
    const r = await cli('plan', 'normalize', file, '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `error: ${file}:${at + 2}:${lines[at + 1]!.indexOf('"') + 1} field /resource_changes/0/change/actions: ` +
        'duplicate key "actions" in one object (JSON.parse would keep only the last)\n',
    );
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
      JSON.stringify({
        format_version: '1.2',
        planned_values: { root_module: {} },
        resource_changes: [{ address: 'a.b', change: {} }],
      }),
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
