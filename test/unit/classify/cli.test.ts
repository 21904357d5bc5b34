import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../support/shared-fixtures';
import { networkStack, statelessApp } from './support';

const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-classify-'));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return p;
}

describe('driftplane classify', () => {
  it('prints the contract JSON for the §11.2 change and exits 2 (a person is needed)', () => {
    const r = run(
      'classify',
      file('sg.json', { ...networkStack, context: { ...networkStack.context, now: '2026-07-03T10:30:00Z' } }),
      '--json',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const d = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(d).toMatchObject({
      driftClass: 'UNAUTHORIZED_RUNTIME_DRIFT',
      risk: 'CRITICAL',
      recommendedAction: 'INCIDENT_AND_REVERT',
      autoHealAllowed: false,
    });
    expect(d.reasons).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ruleId: 'network-exposure-prod-unauthorized', why: expect.any(String) }),
      ]),
    );
  });

  it('exits 0 when auto-heal handles it, with a readable summary without --json', () => {
    const r = run('classify', file('label.json', statelessApp));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^UNAUTHORIZED_RUNTIME_DRIFT {2}risk LOW {2}action RUNTIME_REVERT/);
    expect(r.stdout).toContain('auto-heal:    allowed');
    expect(r.stdout).toContain('- metadata-only:');
  });

  it('exits 1 for malformed input, naming the file, line and field', () => {
    const text = JSON.stringify(
      { ...statelessApp, change: { ...statelessApp.change, changeType: 'mutated' } },
      null,
      2,
    );
    const r = run('classify', file('bad.json', text), '--json');
    expect(r.code).toBe(1);
    const line = text.split('\n').findIndex((l) => l.includes('"mutated"')) + 1;
    expect(r.stderr).toContain(`bad.json:${line}:`);
    expect(r.stderr).toContain('field /change/changeType');
    expect(r.stdout).toBe('');
  });

  it('exits 1 for a JSON syntax error and for a missing detector', () => {
    expect(run('classify', file('syntax.json', '{ "unit": ')).code).toBe(1);
    const { detector: _d, ...context } = statelessApp.context;
    const r = run('classify', file('nodetector.json', { ...statelessApp, context }));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('field /context/detector');
  });

  it('DETECTION_STALE never exits 0', () => {
    const r = run(
      'classify',
      file('stale.json', {
        ...statelessApp,
        context: { ...statelessApp.context, detector: { status: 'failed' } },
      }),
      '--json',
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ driftClass: 'DETECTION_STALE', autoHealAllowed: false });
  });

  it('exits 1 naming table file and line for an invalid --table', () => {
    const t = file(
      'table.yaml',
      'apiVersion: driftplane.dev/v1\nkind: DecisionTable\nmetadata: { name: t, version: "1" }\nclassDefaults: {}\nrules:\n  - id: r1\n    why: test\n    when: { colour: [red] }\n    then: {}\n',
    );
    const r = run('classify', file('ok.json', statelessApp), '--table', t);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('table.yaml:8:');
    expect(r.stderr).toContain('field /rules/0/when');
  });
});

describe('driftplane classify --registry', () => {
  const registry = path.join(repoRoot, 'registry', 'examples', 'acme');
  const change = { relationship: 'desired!=actual', changeType: 'modified' };

  it('resolves a unit given by name with its auto-heal policy', () => {
    const input = {
      unit: 'checkout-web-staging',
      change: {
        ...change,
        resourceRef: 'apps/Deployment/checkout/web',
        resourceType: 'apps/Deployment',
        changedFields: ['/spec/template/spec/containers/0/image'],
      },
      context: {
        actor: { id: 'bob@acme.example', type: 'human' },
        detector: { status: 'ok' },
        healthy: true,
        now: '2026-12-01T00:00:00Z',
      },
    };
    const r = run('classify', file('reg-image.json', input), '--json', '--registry', registry);
    const d = JSON.parse(r.stdout) as { owner: string; autoHealAllowed: boolean; autoHealRefusedBy?: string };
    expect(d.owner).toBe('checkout');
    expect(d.autoHealAllowed).toBe(false);
    expect(d.autoHealRefusedBy).toMatch(/^AutoHealPolicy\/.*stateless-app-safe-fields.*\.deniedPaths$/);
    expect(r.code).toBe(2);
  });

  it('applies an active registry exception (risk lowered, drift ignored)', () => {
    const input = {
      unit: 'checkout-web-prod',
      change: {
        ...change,
        resourceRef: 'ConfigMap/checkout/checkout-web-flags',
        resourceType: 'ConfigMap',
        changedFields: ['/data/FLAG_NEW_PAYMENT_FLOW'],
      },
      context: {
        actor: { id: 'rm@acme.example', type: 'human' },
        detector: { status: 'ok' },
        now: '2026-12-01T00:00:00Z',
      },
    };
    const r = run('classify', file('reg-exception.json', input), '--json', '--registry', registry);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout) as {
      risk: string;
      recommendedAction: string;
      reasons: { ruleId: string; why: string }[];
    };
    expect(d).toMatchObject({ risk: 'LOW', recommendedAction: 'IGNORE' });
    expect(d.reasons[0]?.why).toContain('checkout-web-prod-payment-flow-flag');
  });

  it('exits 1 for a unit the registry does not know', () => {
    const r = run(
      'classify',
      file('reg-unknown.json', {
        unit: 'no-such-unit',
        change: { ...change, resourceRef: 'a', resourceType: 'b', changedFields: [] },
        context: { detector: { status: 'ok' } },
      }),
      '--registry',
      registry,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unit no-such-unit is not in registry');
  });
});

describe('driftplane schema classify-input', () => {
  it('publishes a JSON Schema that accepts valid input and rejects invalid input', () => {
    const r = run('schema', 'classify-input');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    const validate = ajv.compile(schema);
    expect(validate(statelessApp)).toBe(true);
    expect(validate(networkStack)).toBe(true);
    expect(validate({ ...statelessApp, change: { ...statelessApp.change, changeType: 'mutated' } })).toBe(
      false,
    );
  });
});

describe('driftplane policy test', () => {
  it('the default table passes its own suite (policy/tests)', () => {
    const r = run('policy', 'test', path.join(repoRoot, 'policy', 'tests'));
    expect(r.stdout).toMatch(/PASS: (\d+)\/\1/);
    expect(r.code).toBe(0);
  });

  it('a failing case shows a readable expected/actual diff and exits 1', () => {
    const t = file(
      'failing.yaml',
      [
        'cases:',
        '  - name: labels are not controller-owned',
        '    input:',
        `      unit: ${JSON.stringify(statelessApp.unit)}`,
        `      change: ${JSON.stringify(statelessApp.change)}`,
        `      context: ${JSON.stringify(statelessApp.context)}`,
        '    expect: { driftClass: CONTROLLER_OWNED_DRIFT, autoHealAllowed: true }',
        '  - name: invalid input is reported',
        '    input: { unit: { name: x } }',
        '    expect: { risk: LOW }',
      ].join('\n'),
    );
    const r = run('policy', 'test', t);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('FAIL');
    expect(r.stdout).toContain(
      'driftClass:\n      - expected: CONTROLLER_OWNED_DRIFT\n      + actual:   UNAUTHORIZED_RUNTIME_DRIFT',
    );
    expect(r.stdout).toContain('rules that fired: metadata-only');
    expect(r.stdout).toMatch(/INVALID .*failing\.yaml:8 invalid input is reported/);
    expect(r.stdout).toContain('field /input/unit/type');
    expect(r.stdout).toContain('PASS: 0/2  FAIL: 1  INVALID: 1');
  });
});
