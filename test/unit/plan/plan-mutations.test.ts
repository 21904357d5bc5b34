import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NormalizedPlanSchema } from '../../../domain/plan/normalized-plan-schema';
import { repoRoot, sharedFixture } from '../../support/shared-fixtures';

// `plan normalize` never guesses: every document below is a real `tofu show -json` plan (read at
// test time from ../shared) broken in one way, and none of them may exit 0 (nor 2). Invalid input
// exits 1 naming the file and the field or line; a plan whose changes were lost exits 3.

const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'plan-mutations-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const read = (...parts: string[]): string => readFileSync(sharedFixture('tofu', ...parts), 'utf8');
const planText = (name: string): string =>
  read('plan', `testing__equivalence-tests__outputs__${name}__plan.json`);
/** drift_simple: drift in resource_drift and the matching update in resource_changes. */
const BASE_TEXT = planText('drift_simple');

type Json = Record<string, unknown>;
type Plan = Json & {
  planned_values: Json & { root_module: Json & { resources: Json[] } };
  prior_state: Json;
  resource_changes: (Json & { change: Json & { after: Json } })[];
  resource_drift: (Json & { change: Json })[];
};
const base = (): Plan => JSON.parse(BASE_TEXT) as Plan;
const text = (v: unknown): string => JSON.stringify(v, null, 2);
/** The base plan, changed by `f`, as text. */
const edit = (f: (p: Plan) => unknown): string => {
  const p = base();
  const out = f(p);
  return text(out === undefined ? p : out);
};
/**
 * The base plan with `key` written twice in the object `at` picks: the placeholder member is added
 * last, then renamed in the text, so JSON.parse alone would see one member with the second value.
 */
const dup = (at: (p: Plan) => Json, key: string, value: unknown, spelled = JSON.stringify(key)): string => {
  const p = base();
  at(p).__DUPLICATE__ = value;
  return text(p).replace('"__DUPLICATE__"', spelled);
};
const without = (name: string, ...keys: string[]): string => {
  const p = JSON.parse(planText(name)) as Json;
  for (const k of keys) delete p[k];
  return text(p);
};

type Row = [name: string, content: string, exit: 1 | 3, stderr: RegExp];
const field = (pointer: string, message = ''): RegExp =>
  new RegExp(` field ${pointer.replace(/\//g, '\\/')}: ${message}`);
const notJson = /:\d+:\d+: not valid JSON \(/;
const dupKey = (pointer: string, key: string): RegExp =>
  new RegExp(`:\\d+:\\d+ field ${pointer.replace(/\//g, '\\/')}: duplicate key "${key}" in one object`);
const couldNotTell = (detail: string): RegExp =>
  new RegExp(`: could not tell: resource_changes is missing.*${detail}`);

const ROWS: Row[] = [
  // Not a JSON object at all.
  ['root is an array', text([base()]), 1, field('/', 'expected a JSON object .*got an array')],
  ['root is null', 'null', 1, field('/', 'expected a JSON object .*got null')],
  ['root is a string', '"plan"', 1, field('/', 'expected a JSON object .*got a string')],
  ['root is a number', '42', 1, field('/', 'expected a JSON object .*got a number')],
  ['root is true', 'true', 1, field('/', 'expected a JSON object .*got a boolean')],
  // An object, but not a plan.
  ['an empty object', '{}', 1, field('/format_version')],
  [
    'only format_version',
    '{"format_version":"1.2"}',
    1,
    field('/planned_values', 'required object is missing'),
  ],
  [
    'a state, not a plan (tofu show -json of the state)',
    read('state', 'testing__equivalence-tests__outputs__drift_simple__state.json'),
    1,
    field('/planned_values', 'required object is missing'),
  ],
  ['format_version removed', edit((p) => void delete p.format_version), 1, field('/format_version')],
  [
    'format_version a number',
    edit((p) => void (p.format_version = 1.2)),
    1,
    field('/format_version', '.*got a number'),
  ],
  [
    'format_version 2.0',
    edit((p) => void (p.format_version = '2.0')),
    1,
    field('/format_version', 'unsupported'),
  ],
  ['format_version empty', edit((p) => void (p.format_version = '')), 1, field('/format_version')],
  [
    'planned_values removed',
    edit((p) => void delete (p as Json).planned_values),
    1,
    field('/planned_values'),
  ],
  [
    'planned_values null',
    edit((p) => void ((p as Json).planned_values = null)),
    1,
    field('/planned_values', '.*got null'),
  ],
  [
    'planned_values an array',
    edit((p) => void ((p as Json).planned_values = [])),
    1,
    field('/planned_values', '.*got an array'),
  ],
  [
    'planned_values without root_module',
    edit((p) => void delete (p.planned_values as Json).root_module),
    1,
    field('/planned_values/root_module', 'required object is missing'),
  ],
  [
    'planned resources an object',
    edit((p) => void ((p.planned_values.root_module as Json).resources = {})),
    1,
    field('/planned_values/root_module/resources', 'expected an array'),
  ],
  // Top-level lists, objects and flags of the wrong type.
  [
    'resource_changes null',
    edit((p) => void ((p as Json).resource_changes = null)),
    1,
    field('/resource_changes', '.*got null'),
  ],
  [
    'resource_changes an object',
    edit((p) => void ((p as Json).resource_changes = {})),
    1,
    field('/resource_changes'),
  ],
  [
    'resource_changes a string',
    edit((p) => void ((p as Json).resource_changes = '[]')),
    1,
    field('/resource_changes'),
  ],
  [
    'resource_drift an object',
    edit((p) => void ((p as Json).resource_drift = {})),
    1,
    field('/resource_drift'),
  ],
  [
    'prior_state an array',
    edit((p) => void ((p as Json).prior_state = [])),
    1,
    field('/prior_state', '.*got an array'),
  ],
  [
    'prior_state values a string',
    edit((p) => void (p.prior_state.values = 'x')),
    1,
    field('/prior_state/values'),
  ],
  ['errored a string', edit((p) => void (p.errored = 'false')), 1, field('/errored', 'expected a boolean')],
  [
    'errored null',
    edit((p) => void (p.errored = null)),
    1,
    field('/errored', 'expected a boolean, got null'),
  ],
  ['complete a number', edit((p) => void (p.complete = 0)), 1, field('/complete', 'expected a boolean')],
  ['output_changes an array', edit((p) => void (p.output_changes = [])), 1, field('/output_changes')],
  [
    'relevant_attributes an object',
    edit((p) => void (p.relevant_attributes = {})),
    1,
    field('/relevant_attributes'),
  ],
  // Malformed entries.
  [
    'a change entry null',
    edit((p) => void ((p.resource_changes as unknown[])[0] = null)),
    1,
    field('/resource_changes/0', 'expected an object'),
  ],
  [
    'actions removed',
    edit((p) => void delete p.resource_changes[0]!.change.actions),
    1,
    field('/resource_changes/0/change/actions'),
  ],
  [
    'actions empty',
    edit((p) => void (p.resource_changes[0]!.change.actions = [])),
    1,
    field('/resource_changes/0/change/actions'),
  ],
  [
    'an action null',
    edit((p) => void (p.resource_changes[0]!.change.actions = ['update', null])),
    1,
    field('/resource_changes/0/change/actions/1'),
  ],
  [
    'address removed',
    edit((p) => void delete p.resource_changes[0]!.address),
    1,
    field('/resource_changes/0/address'),
  ],
  [
    'change a string',
    edit(
      (p) =>
        void (p.resource_changes[0]!.change = 'update' as unknown as Plan['resource_changes'][0]['change']),
    ),
    1,
    field('/resource_changes/0/change'),
  ],
  [
    'drift type a number',
    edit((p) => void (p.resource_drift[0]!.type = 7)),
    1,
    field('/resource_drift/0/type'),
  ],
  // Damaged text.
  ['truncated in the middle', BASE_TEXT.slice(0, Math.floor(BASE_TEXT.length / 2)), 1, notJson],
  ['the last brace cut off', BASE_TEXT.trimEnd().slice(0, -1), 1, notJson],
  ['an empty file', '', 1, notJson],
  ['trailing garbage', `${BASE_TEXT}\n{}`, 1, notJson],
  ['two plans back to back', `${BASE_TEXT}${BASE_TEXT}`, 1, notJson],
  // Keys written twice (JSON.parse keeps the last one).
  [
    'format_version twice',
    dup((p) => p, 'format_version', '2.0'),
    1,
    dupKey('/format_version', 'format_version'),
  ],
  [
    'resource_changes twice, the second empty',
    dup((p) => p, 'resource_changes', []),
    1,
    dupKey('/resource_changes', 'resource_changes'),
  ],
  [
    'actions twice in a change',
    dup((p) => p.resource_changes[0]!.change, 'actions', ['no-op']),
    1,
    dupKey('/resource_changes/0/change/actions', 'actions'),
  ],
  [
    'an attribute twice in after',
    dup((p) => p.resource_changes[0]!.change.after, 'string', 'x'),
    1,
    dupKey('/resource_changes/0/change/after/string', 'string'),
  ],
  [
    'a value twice in planned_values',
    dup((p) => p.planned_values.root_module.resources[0]!.values as Json, 'id', 'i-other'),
    1,
    dupKey('/planned_values/root_module/resources/0/values/id', 'id'),
  ],
  [
    'format_version twice, once escaped',
    dup((p) => p, 'format_version', '2.0', '"format\\u005fversion"'),
    1,
    dupKey('/format_version', 'format_version'),
  ],
  [
    'actions twice in drift, once escaped',
    dup((p) => p.resource_drift[0]!.change, 'actions', ['no-op'], '"actio\\u006es"'),
    1,
    dupKey('/resource_drift/0/change/actions', 'actions'),
  ],
  // The changes are gone: could not tell.
  [
    'resource_changes removed (a hidden update)',
    without('drift_simple', 'resource_changes'),
    3,
    couldNotTell('1 with other values \\(tfcoremock_simple_resource\\.drift\\)'),
  ],
  [
    'resource_changes emptied',
    edit((p) => void (p.resource_changes = [])),
    3,
    couldNotTell('with other values'),
  ],
  [
    'resource_changes and resource_drift removed',
    without('drift_simple', 'resource_changes', 'resource_drift'),
    3,
    couldNotTell('with other values'),
  ],
  [
    'resource_changes removed (a hidden delete)',
    without('local_provider_delete', 'resource_changes'),
    3,
    couldNotTell('1 only in prior_state \\(local_file\\.local_file\\)'),
  ],
  [
    'resource_changes removed (hidden creates, no prior state)',
    without('data_read', 'resource_changes'),
    3,
    couldNotTell('only in planned_values'),
  ],
  [
    'resource_changes removed (a hidden move, the states agree)',
    without('moved_simple', 'resource_changes'),
    3,
    couldNotTell('a move or an import may be hidden'),
  ],
];

function cli(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, 'plan', 'normalize', file, '--json'],
      { cwd: repoRoot },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 99) : 0, stdout, stderr });
      },
    );
  });
}

describe('plan normalize on broken real plans: exit 1 or 3, never 0', () => {
  it('the table is large enough to mean something, and the base plan itself is fine', async () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ROWS.map((r) => r[0])).size).toBe(ROWS.length);
    const file = path.join(tmp, 'base.json');
    writeFileSync(file, BASE_TEXT);
    expect((await cli(file)).code).toBe(2);
  });

  it.concurrent.each(ROWS.map((r, i) => [i, ...r] as const))(
    '#%i %s → exit %i',
    async (i, _name, content, exit, message) => {
      const file = path.join(tmp, `mutation-${i}.json`);
      writeFileSync(file, content);
      const r = await cli(file);
      expect(r.code).toBe(exit);
      expect(r.stderr.startsWith(`error: ${file}`)).toBe(true);
      expect(r.stderr).toMatch(message);
      if (exit === 1) {
        expect(r.stdout).toBe('');
      } else {
        const printed = NormalizedPlanSchema.parse(JSON.parse(r.stdout));
        expect(printed).toMatchObject({ result: 'DETECTION_FAILED', changesMissing: true });
      }
    },
  );
});
