import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../domain/errors';
import { classify, DecisionTableSchema, mergeDecisionTable } from '../../../domain/classify';
import {
  applyDecisionTableOverrides,
  defaultDecisionTablePath,
  loadDecisionTable,
  loadDecisionTableOverrides,
} from '../../../registry/decision-table';
import { NOW, inputOf, statelessApp, table } from './support';

const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-table-'));
const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('loadDecisionTable', () => {
  it('loads the default table when no file is given, once', () => {
    expect(loadDecisionTable()).toBe(loadDecisionTable());
    expect(loadDecisionTable(defaultDecisionTablePath).rules.length).toBe(table.rules.length);
    expect(DecisionTableSchema.safeParse(table).success).toBe(true);
  });

  it('every rule of the default table has an id, a why and a reference to the domain text', () => {
    for (const r of table.rules) expect(r.ref, r.id).toMatch(/§\d+/);
  });

  it.each([
    [
      'a misspelt condition',
      'rules:\n  - id: r1\n    why: w\n    when: { enviroment: [prod] }\n    then: {}\n',
      8,
      '/rules/0/when',
    ],
    [
      'an unknown drift class',
      'rules:\n  - id: r1\n    why: w\n    when: {}\n    then: { driftClass: SCARY_DRIFT }\n',
      9,
      '/rules/0/then/driftClass',
    ],
    [
      'a duplicate rule id',
      'rules:\n  - id: r1\n    why: w\n    when: {}\n    then: {}\n  - id: r1\n    why: w\n    when: {}\n    then: {}\n',
      10,
      '/rules/1/id',
    ],
  ])('names file, line and field for %s', (_what, rules, line, field) => {
    const file = write(
      't.yaml',
      `apiVersion: driftplane.dev/v1\nkind: DecisionTable\nmetadata: { name: t, version: "1" }\nclassDefaults: {}\n${rules}`,
    );
    const err = (() => {
      try {
        loadDecisionTable(file);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).location).toMatchObject({ file, line, field });
  });

  it('a YAML syntax error names the line', () => {
    const file = write('syntax.yaml', 'apiVersion: driftplane.dev/v1\nrules: [\n');
    expect(() => loadDecisionTable(file)).toThrow(/syntax\.yaml:3/);
  });

  it('a missing file is invalid input', () => {
    expect(() => loadDecisionTable(path.join(dir, 'nope.yaml'))).toThrow(InputError);
  });
});

describe('registry overrides and additions', () => {
  it('replaces a rule by id in place and adds rules before the catch-all or next to an anchor', () => {
    const file = write(
      'overrides.yaml',
      [
        'kind: DecisionTableOverrides',
        'metadata: { name: acme, version: "3" }',
        'rules:',
        '  - id: metadata-only',
        '    why: acme wants a person to look at every label change',
        '    ref: "§9.1"',
        '    when: { categoriesOnly: [metadata] }',
        '    then: { driftClass: UNAUTHORIZED_RUNTIME_DRIFT, action: OPEN_RECONCILIATION_PR, risk: LOW, autoHeal: deny }',
        '  - id: acme-freeze-weekends',
        '    why: no auto-heal in the acme payments namespace',
        '    after: change-freeze',
        '    when: { pathsAny: [/metadata/labels/payments] }',
        '    then: { autoHeal: deny }',
        'remove: [cost-drift-prod]',
      ].join('\n'),
    );
    const merged = applyDecisionTableOverrides(table, loadDecisionTableOverrides(file), file);
    const ids = merged.rules.map((r) => r.id);
    const before = table.rules[table.rules.findIndex((r) => r.id === 'metadata-only') - 1]?.id;
    expect(ids[ids.indexOf('metadata-only') - 1]).toBe(before);
    expect(ids.indexOf('acme-freeze-weekends')).toBe(ids.indexOf('change-freeze') + 1);
    expect(ids).not.toContain('cost-drift-prod');
    expect(merged.metadata.version).toBe(`${table.metadata.version}+acme@3`);
    const d = classify(inputOf(statelessApp), merged, { now: NOW });
    expect(d).toMatchObject({
      recommendedAction: 'OPEN_RECONCILIATION_PR',
      autoHealAllowed: false,
      autoHealRefusedBy: 'rule:metadata-only',
    });
    expect(d.table.digest).not.toBe(classify(inputOf(statelessApp), table, { now: NOW }).table.digest);
    // The base table is untouched.
    expect(table.rules.find((r) => r.id === 'metadata-only')?.then.autoHeal).toBeUndefined();
  });

  it('an unknown anchor or removal is invalid input', () => {
    expect(() => applyDecisionTableOverrides(table, { rules: [], remove: ['no-such-rule'] })).toThrow(
      InputError,
    );
    expect(() =>
      mergeDecisionTable(table, {
        rules: [{ id: 'x', why: 'w', when: {}, then: {}, before: 'nope' }],
        remove: [],
      }),
    ).toThrow(/unknown rule nope/);
  });

  it('a plain rule list (as a registry provides) is appended before the catch-all', () => {
    const merged = applyDecisionTableOverrides(table, [
      { id: 'acme-extra', why: 'w', when: { environment: ['prod'] }, then: {} },
    ]);
    expect(merged.rules[merged.rules.length - 2]?.id).toBe('acme-extra');
    expect(merged.rules[merged.rules.length - 1]?.id).toBe('unclassified');
  });
});
