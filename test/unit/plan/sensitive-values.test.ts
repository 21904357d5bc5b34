import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPlanSummary } from '../../../cli/commands/plan';
import { normalizePlan } from '../../../domain/plan/normalize-plan';
import { collectSensitiveValues, REDACTED, redactPlan } from '../../../domain/plan/redact-plan';
import { createScrubber, SCRUBBED } from '../../../domain/plan/scrub';
import { createRedactor } from '../../../domain/redaction';
import { sharedFixture } from '../../support/shared-fixtures';

const dir = path.dirname(
  sharedFixture('tofu', 'plan', 'testing__equivalence-tests__outputs__drift_simple__plan.json'),
);
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Written independently of domain/plan/redact-plan.ts: every value a plan marks sensitive, by
 * the rules of the JSON output format (masks `true`, outputs and variables marked `sensitive`).
 */
function sensitiveValuesOf(plan: Obj): Set<string> {
  const found = new Set<string>();
  const all = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (Array.isArray(v)) v.forEach(all);
    else if (isObj(v)) Object.entries(v).forEach(([k, x]) => (found.add(k), all(x)));
    else found.add(String(v));
  };
  const masked = (v: unknown, mask: unknown): void => {
    if (mask === true) return all(v);
    if (!isObj(mask) && !Array.isArray(mask)) return;
    const m = mask as Record<string, unknown>;
    if (Array.isArray(v)) v.forEach((x, i) => masked(x, m[i]));
    else if (isObj(v)) Object.entries(v).forEach(([k, x]) => masked(x, m[k]));
  };
  for (const key of ['resource_changes', 'resource_drift']) {
    for (const rc of (plan[key] as Obj[] | undefined) ?? []) {
      const c = rc.change as Obj;
      masked(c.before, c.before_sensitive);
      masked(c.after, c.after_sensitive);
    }
  }
  for (const c of Object.values((plan.output_changes as Obj | undefined) ?? {}) as Obj[]) {
    masked(c.before, c.before_sensitive);
    masked(c.after, c.after_sensitive);
  }
  const module = (m: unknown): void => {
    if (!isObj(m)) return;
    for (const r of (m.resources as Obj[] | undefined) ?? []) masked(r.values, r.sensitive_values);
    ((m.child_modules as unknown[] | undefined) ?? []).forEach(module);
  };
  const values = (v: unknown): void => {
    if (!isObj(v)) return;
    for (const o of Object.values((v.outputs as Obj | undefined) ?? {}) as Obj[])
      if (o.sensitive === true) all(o.value);
    module(v.root_module);
  };
  values(plan.planned_values);
  if (isObj(plan.prior_state)) values(plan.prior_state.values);
  const config =
    isObj(plan.configuration) && isObj(plan.configuration.root_module) ? plan.configuration.root_module : {};
  for (const [name, v] of Object.entries((config.variables as Obj | undefined) ?? {}) as [string, Obj][]) {
    if (v.sensitive !== true) continue;
    all(v.default);
    all(((plan.variables as Obj | undefined)?.[name] as Obj | undefined)?.value);
  }
  return found;
}

/** Values long enough to be searched for without matching by chance ("1", "true"). */
const searchable = (values: Iterable<string>): string[] =>
  [...values].filter((v) => v.length >= 4 && !['true', 'false', 'null'].includes(v));

describe('sensitive values in the shared plan fixtures never reach any output', () => {
  const perFixture = fixtures.map((name) => {
    const text = readFileSync(path.join(dir, name), 'utf8');
    return { name, text, plan: JSON.parse(text) as Obj };
  });

  it('the fixtures do carry sensitive values (the search below is not vacuous)', () => {
    const all = new Set(perFixture.flatMap((f) => searchable(sensitiveValuesOf(f.plan))));
    expect(all.has('boop')).toBe(true);
    const sensitiveFixture = perFixture.find((f) => f.name.includes('sensitive-values'))!;
    expect(sensitiveFixture.text.split('"boop"').length - 1).toBeGreaterThanOrEqual(5);
  });

  it.each(fixtures)('%s', (name) => {
    const { plan } = perFixture.find((f) => f.name === name)!;
    const secrets = searchable(sensitiveValuesOf(plan));
    const normalized = normalizePlan(plan, { file: name });
    const outputs = [
      JSON.stringify(normalized),
      formatPlanSummary(normalized, name),
      JSON.stringify(redactPlan(plan)),
      createScrubber(collectSensitiveValues(plan))(JSON.stringify(plan)),
    ];
    for (const out of outputs) for (const s of secrets) expect(out).not.toContain(s);
    // collectSensitiveValues (used to scrub logs) finds at least what the independent collector finds.
    for (const s of secrets) expect(collectSensitiveValues(plan)).toContain(s);
  });

  it('redactPlan keeps the shape and non-sensitive values', () => {
    const { plan } = perFixture.find((f) => f.name.includes('sensitive-values'))!;
    const r = redactPlan(plan) as Obj;
    expect(JSON.stringify(r).split(`"${REDACTED}"`).length - 1).toBeGreaterThanOrEqual(5);
    expect(((r.resource_changes as Obj[])[0]!.change as Obj).after).toEqual({ ami: REDACTED });
    expect(r.format_version).toBe(plan.format_version);
    expect(JSON.stringify(plan)).toContain('boop'); // the input is not modified
  });
});

describe('property: sensitive values never appear in normalized or redacted output', () => {
  const secret = fc.integer({ min: 0, max: 1_000_000_000 }).map((n) => `SECRET_${n}`);
  const plain = fc.oneof(
    fc.constantFrom('a', 'bb', 'x-1', ''),
    fc.integer({ min: -5, max: 5 }),
    fc.boolean(),
    fc.constant(null),
  );
  const attr = fc.record({
    kind: fc.constantFrom('plain', 'secret', 'secretMap', 'nestedSecret', 'unknownSecret'),
    before: fc.tuple(plain, secret, secret),
    after: fc.tuple(plain, secret, secret),
  });
  const resource = fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), attr, { minKeys: 1, maxKeys: 6 });

  function build(attrs: Record<string, { kind: string; before: unknown[]; after: unknown[] }>) {
    const before: Obj = {};
    const after: Obj = {};
    const bs: Obj = {};
    const as: Obj = {};
    const au: Obj = {};
    for (const [k, a] of Object.entries(attrs)) {
      const [bp, bsec, bsec2] = a.before as [unknown, string, string];
      const [ap, asec, asec2] = a.after as [unknown, string, string];
      if (a.kind === 'plain') {
        before[k] = bp;
        after[k] = ap;
      } else if (a.kind === 'secret') {
        before[k] = bsec;
        after[k] = asec;
        bs[k] = true;
        as[k] = true;
      } else if (a.kind === 'secretMap') {
        before[k] = { [bsec]: bsec2 };
        after[k] = { [asec]: asec2 };
        bs[k] = true;
        as[k] = true;
      } else if (a.kind === 'nestedSecret') {
        before[k] = [{ pw: bsec, note: bp }];
        after[k] = [{ pw: asec, note: ap }];
        bs[k] = [{ pw: true }];
        as[k] = [{ pw: true }];
      } else {
        before[k] = bsec;
        bs[k] = true;
        as[k] = true;
        au[k] = true;
      }
    }
    return { before, after, bs, as, au };
  }

  it('holds for random resources, drift, outputs and variables', () => {
    fc.assert(
      fc.property(
        resource,
        resource,
        secret,
        secret,
        fc.constantFrom(['update'], ['delete', 'create'], ['create', 'delete']),
        (r1, r2, outSecret, varSecret, actions) => {
          const c1 = build(r1);
          const c2 = build(r2);
          const change = (c: ReturnType<typeof build>) => ({
            actions,
            before: c.before,
            after: c.after,
            after_unknown: c.au,
            before_sensitive: c.bs,
            after_sensitive: c.as,
          });
          const planJson = {
            format_version: '1.2',
            variables: { db_password: { value: varSecret } },
            resource_drift: [{ address: 'x_db.main', type: 'x_db', change: change(c2) }],
            resource_changes: [{ address: 'x_db.main', type: 'x_db', change: change(c1) }],
            output_changes: {
              password: {
                actions: ['update'],
                before: outSecret,
                after: outSecret,
                before_sensitive: true,
                after_sensitive: true,
              },
            },
            planned_values: {
              outputs: { password: { sensitive: true, value: outSecret } },
              root_module: {
                resources: [{ address: 'x_db.main', values: c1.after, sensitive_values: c1.as }],
              },
            },
            prior_state: {
              values: {
                root_module: {
                  child_modules: [
                    { resources: [{ address: 'module.m.x', values: c2.before, sensitive_values: c2.bs }] },
                  ],
                },
              },
            },
            configuration: {
              root_module: { variables: { db_password: { sensitive: true, default: varSecret } } },
            },
          };
          const normalized = JSON.stringify(normalizePlan(planJson));
          const redacted = JSON.stringify(redactPlan(planJson));
          expect(normalized).not.toContain('SECRET_');
          expect(redacted).not.toContain('SECRET_');
          const scrubbed = createScrubber(collectSensitiveValues(planJson))(JSON.stringify(planJson));
          expect(scrubbed).not.toContain('SECRET_');
          expect(scrubbed).toContain(SCRUBBED);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('createScrubber', () => {
  const S = SCRUBBED;
  it.each([
    ['a literal secret', ['s3cr3t-value'], 'token is s3cr3t-value here', `token is ${S} here`],
    ['an AWS access key id', [], 'key AKIAIOSFODNN7EXAMPLE denied', `key ${S} denied`],
    [
      'an AWS secret in key=value form',
      [],
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG',
      `aws_secret_access_key = ${S}`,
    ],
    ['a bearer token (the whole credential of the header)', [], 'Authorization: Bearer abc.def.ghi-123', `Authorization: ${S}`],
    ['a bearer token in prose', [], 'sent Bearer abc.def.ghi-123 to it', `sent Bearer ${S} to it`],
    ['a GitHub token', [], 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', S],
    ['URL userinfo', [], 'dial postgres://app:pw@db:5432/app failed', `dial postgres://${S}@db:5432/app failed`],
    ['short values are left alone', ['ab'], 'ab cd', 'ab cd'],
    ['the longer of overlapping secrets first', ['abcd', 'abcdefgh'], 'x abcdefgh y', `x ${S} y`],
    ['regex characters in secrets', ['a.b*c(d)'], 'v=a.b*c(d)!', `v=${S}!`],
    ['already scrubbed text is left as it is', ['[REDACTED]'], `token=${S} Bearer ${S}`, `token=${S} Bearer ${S}`],
  ])('%s', (_name, secrets, input, expected) => {
    expect(createScrubber(secrets)(input)).toBe(expected);
  });

  it('with the installation redactor, a secret becomes its keyed fingerprint', () => {
    const redactor = createRedactor({ key: new Uint8Array(32).fill(1) });
    const out = createScrubber(['s3cr3t-value'], redactor)('a s3cr3t-value b s3cr3t-value');
    expect(out).toMatch(/^a \[REDACTED hmac:[0-9a-f]{16}\] b \[REDACTED hmac:[0-9a-f]{16}\]$/);
    const [first, second] = out.match(/hmac:[0-9a-f]{16}/g)!;
    expect(first).toBe(second);
  });
});

describe('redactPlan with the installation redactor', () => {
  const key = new Uint8Array(32).fill(9);
  const plan = (sensitive: string, unmarked: string) => ({
    format_version: '1.2',
    resource_changes: [
      {
        address: 'x_db.main',
        type: 'x_db',
        change: {
          actions: ['update'],
          before: { ami: 'ami-1', master_password: unmarked, secret: sensitive },
          after: { ami: 'ami-2', master_password: unmarked, secret: sensitive },
          before_sensitive: { secret: true },
          after_sensitive: { secret: true },
        },
      },
      {
        address: 'kubernetes_secret.db',
        type: 'kubernetes_secret',
        change: { actions: ['create'], before: null, after: { data: { user: unmarked } }, after_sensitive: {} },
      },
    ],
    configuration: {
      provider_config: { aws: { name: 'aws', expressions: { secret_key: { constant_value: unmarked } } } },
    },
  });

  it('marks sensitive values and unmarked secrets alike, as keyed fingerprints that compare equal for equal values', () => {
    const redactor = createRedactor({ key });
    const a = JSON.stringify(redactPlan(plan('SENSITIVE_1', 'UNMARKED_1'), redactor));
    const b = JSON.stringify(redactPlan(plan('SENSITIVE_1', 'UNMARKED_2'), redactor));
    for (const out of [a, b]) {
      expect(out).not.toMatch(/SENSITIVE_|UNMARKED_/);
      expect(out).toContain('ami-2'); // what is not secret stays
    }
    const fps = (s: string) => s.match(/\[REDACTED hmac:[0-9a-f]{16}\]/g)!;
    expect(fps(a).length).toBe(fps(b).length);
    // The sensitive value is the same in both plans, the unmarked one changed: some fingerprints
    // are shared, some differ.
    const shared = fps(a).filter((f) => fps(b).includes(f));
    expect(shared.length).toBeGreaterThan(0);
    expect(shared.length).toBeLessThan(fps(a).length);
  });

  it('collectSensitiveValues returns what redactPlan replaces, marked or not', () => {
    const found = collectSensitiveValues(plan('SENSITIVE_1', 'UNMARKED_1'));
    expect(found).toEqual(expect.arrayContaining(['SENSITIVE_1', 'UNMARKED_1']));
  });
});
