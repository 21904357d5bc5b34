import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../domain/errors';
import { formatIssue, loadRegistry } from '../../../registry';
import { parseLocated } from '../../../registry/decision-table';
import { repoRoot } from '../../support/shared-fixtures';
import { baseRegistry, testNow, writeRegistry } from './support';

/** Nine levels of nine aliases each: 9^9 (387 million) strings from ten lines. */
function aliasBomb(prefix = ''): string {
  const lines = [`${prefix}a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let i = 1; i < 10; i++) {
    const name = String.fromCharCode(97 + i);
    const prev = String.fromCharCode(96 + i);
    lines.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

// Each case: the text, the problem code, and the 1-based line of the alias responsible.
const cases: [string, string, string, number][] = [
  [
    'an alias bomb ("billion laughs")',
    `apiVersion: driftplane.io/v1alpha1\nkind: Team\n${aliasBomb()}`,
    'ALIAS_LIMIT',
    4,
  ],
  [
    'an alias inside its own anchor',
    'apiVersion: driftplane.io/v1alpha1\nkind: Team\nspec: &loop\n  again: *loop\n',
    'ALIAS_CYCLE',
    4,
  ],
  [
    'an alias with no anchor',
    'apiVersion: driftplane.io/v1alpha1\nkind: Team\nmetadata:\n  name: *nowhere\n',
    'UNRESOLVED_ALIAS',
    4,
  ],
];

const cli = path.join(repoRoot, 'bin', 'driftplane.cjs');
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: repoRoot, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('YAML parser limits in registry files are invalid input that names the file and line', () => {
  it.each(cases)('loadRegistry: %s', async (_name, yaml, code, line) => {
    const dir = writeRegistry({ 'base.yaml': baseRegistry, 'units/evil.yaml': yaml });
    const started = Date.now();
    const result = await loadRegistry(dir, { now: testNow });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        rule: 'yaml-syntax',
        file: path.join(dir, 'units', 'evil.yaml'),
        line,
        message: expect.stringContaining(code),
      }),
    );
  });

  it('reports nesting deeper than the parser can go as an error in that file, not a crash', async () => {
    const deep = `apiVersion: driftplane.io/v1alpha1\nkind: Team\nspec: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    const dir = writeRegistry({ 'base.yaml': baseRegistry, 'deep.yaml': deep });
    const result = await loadRegistry(dir, { now: testNow });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const hit = result.errors.find((e) => e.file === path.join(dir, 'deep.yaml'));
    expect(hit).toMatchObject({ rule: 'yaml-syntax', line: 3 });
    expect(formatIssue(hit!)).toMatch(/deep\.yaml:3:\d+: error \[yaml-syntax\] .*RESOURCE_EXHAUSTION/);
  });

  it('still reads ordinary anchors and aliases', async () => {
    const withAliases = `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: ops
spec:
  members:
    - &carol { email: carol@example.com }
  approverGroups:
    - name: ops-approvers
      members: [carol@example.com]
    - name: ops-approvers-2
      members: [carol@example.com]
`;
    const result = await loadRegistry(writeRegistry({ 'base.yaml': baseRegistry, 'ops.yaml': withAliases }), {
      now: testNow,
    });
    expect(result.ok ? [] : result.errors.map((e) => formatIssue(e))).toEqual([]);
  });

  it('`driftplane registry validate` exits 1 for an alias bomb and prints file:line', () => {
    const dir = writeRegistry({
      'base.yaml': baseRegistry,
      'bomb.yaml': `apiVersion: driftplane.io/v1alpha1\nkind: Team\n${aliasBomb()}`,
    });
    const r = run('registry', 'validate', dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`${dir}/bomb\\.yaml:4:\\d+: error \\[yaml-syntax\\] YAML error \\(ALIAS_LIMIT\\)`),
    );
    expect(r.stderr).not.toMatch(/ReferenceError|\n\s+at /);
  });
});

describe('YAML parser limits in decision tables, overrides, classify inputs and policy tests', () => {
  it.each(cases)('parseLocated: %s is an InputError naming file:line', (_name, yaml, code, line) => {
    const err = (() => {
      try {
        parseLocated('/policies/table.yaml', yaml);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).location).toMatchObject({ file: '/policies/table.yaml', line });
    expect((err as Error).message).toMatch(
      new RegExp(`^/policies/table\\.yaml:${line}:\\d+: YAML error \\(${code}\\)`),
    );
  });

  it('`classify --table`, `classify` and `policy test` exit 1 naming the file with the alias bomb', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-yaml-limits-'));
    const bomb = path.join(dir, 'bomb.yaml');
    writeFileSync(bomb, aliasBomb());
    const input = path.join(dir, 'input.json');
    writeFileSync(input, '{}');

    const table = run('classify', input, '--table', bomb);
    expect(table.code).toBe(1);
    expect(table.stderr).toMatch(new RegExp(`error: ${bomb}:2:\\d+: YAML error \\(ALIAS_LIMIT\\)`));

    const classify = run('classify', bomb);
    expect(classify.code).toBe(1);
    expect(classify.stderr).toContain(`${bomb}:2:`);

    const policyDir = mkdtempSync(path.join(tmpdir(), 'driftplane-yaml-limits-policy-'));
    writeFileSync(path.join(policyDir, 'cases.yaml'), aliasBomb());
    const policy = run('policy', 'test', policyDir);
    expect(policy.code).toBe(1);
    expect(`${policy.stdout}${policy.stderr}`).toMatch(
      new RegExp(`INVALID ${policyDir}/cases\\.yaml:2:\\d+: YAML error \\(ALIAS_LIMIT\\)`),
    );
    for (const r of [table, classify, policy]) expect(r.stderr).not.toMatch(/ReferenceError|\n\s+at /);
  });
});
