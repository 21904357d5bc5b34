import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalPlanes } from '../../activities/local-planes/local-planes';
import { observationOf } from '../../activities/scan/detectors';
import { compareUnitInventory } from '../../domain/inventory/compare';
import { parseTfStateV4 } from '../../domain/inventory/tfstate';
import { normalizePlan } from '../../domain/plan/normalize-plan';
import { collectSensitiveValues, redactPlan } from '../../domain/plan/redact-plan';
import { createScrubber } from '../../domain/plan/scrub';
import { createRedactor, isRedactionToken, isSecretKey, keylessRedactor } from '../../domain/redaction';

const KEY = new Uint8Array(32).map((_, i) => (i * 37 + 11) % 256);
const redactor = createRedactor({ key: KEY });
const FP = /\[REDACTED hmac:[0-9a-f]{16}\]/;

describe('which keys name a secret', () => {
  it.each([
    'password', 'dbPassword', 'DB_PASSWORD', 'passwd', 'api_key', 'apiKey', 'X-Api-Key', 'APIKey', 'client_secret',
    'clientSecret', 'x-auth-token', 'access_token', 'privateKey', 'private_key', 'private', 'SESSION_COOKIE', 'session',
    'session_id', 'sentry_dsn', 'SENTRY_DSN', 'credentials', 'STRIPE_KEY', 'GITHUB_TOKEN', 'DB_PASS', 'tls.key',
    'Authorization', 'auth', 'basic_auth', 'connectionString', 'aws_secret_access_key', 'secretaccesskey',
    'encryption_key', 'routing_key', 'vault.hashicorp.com/agent-token', 'cookie', 'master_key', 'primary_key',
  ])('%s is secret', (k) => expect(isSecretKey(k)).toBe(true));

  it.each([
    // `key` on its own is a name (selectors, tolerations, secretKeyRef.key, S3 objects, tag pairs).
    'key', 'keys', 'Key', 'name', 'value', 'values', 'image', 'data', 'description', 'tags',
    // Metadata about a secret, not the secret.
    'secretName', 'secretKeyRef', 'secretRef', 'secret_arn', 'secret_id', 'tokenPeriod', 'token_endpoint', 'auth_url',
    'password_length', 'passwordPolicy', 'kms_key_id', 'KMS_KEY_ID', 'AWS_ACCESS_KEY_ID', 'api_key_id', 'key_name', 'keyName',
    'DATABASE_URL', 'credentials_file', 'sessionTimeout', 'authMode',
    // Words that only look alike.
    'author', 'authority', 'oauth_scopes', 'sessionAffinity', 'private_ip', 'privateIpAddress',
    // Structural keys.
    'hash_key', 'sort_key', 'partition_key', 'public_key', 'publicKey', 'host_key', 'provider_config_key', 'object_key', 'PUBLIC_KEY',
  ])('%s is not secret', (k) => expect(isSecretKey(k)).toBe(false));

  it('configured key patterns add to the rules, case-insensitively, and win over the metadata exemption', () => {
    const r = createRedactor({ keyPatterns: ['^x-acme-sig$', 'hidden_name$'] });
    expect(r.isSecretKey('X-Acme-Sig')).toBe(true);
    expect(r.isSecretKey('hidden_name')).toBe(true);
    expect(r.isSecretKey('password')).toBe(true); // the defaults stay
    expect(r.value({ 'x-acme-sig': 'abc', other: 'abc' })).toEqual({ 'x-acme-sig': '[REDACTED]', other: 'abc' });
  });

  it('configured value patterns replace their matches in every string', () => {
    const r = createRedactor({ valuePatterns: ['acme_[a-z0-9]{12}'] });
    expect(r.value({ note: 'use acme_abcdef123456 here' })).toEqual({ note: 'use [REDACTED] here' });
  });

  it('an invalid pattern is an InputError naming the field', () => {
    expect(() => createRedactor({ valuePatterns: ['('] })).toThrow(/valuePatterns\/0/);
  });
});

describe('values', () => {
  it.each<[string, unknown, unknown]>([
    ['a secret key', { password: 'hunter2' }, { password: '[REDACTED]' }],
    ['a number under a secret key', { pin: 1, password: 1234 }, { pin: 1, password: '[REDACTED]' }],
    ['booleans are never secret', { automountServiceAccountToken: false }, { automountServiceAccountToken: false }],
    ['an env pair', [{ name: 'DB_PASSWORD', value: 'x' }, { name: 'LOG_LEVEL', value: 'info' }], [{ name: 'DB_PASSWORD', value: '[REDACTED]' }, { name: 'LOG_LEVEL', value: 'info' }]],
    ['a tag pair', [{ Key: 'api_token', Value: 'x' }], [{ Key: 'api_token', Value: '[REDACTED]' }]],
    ['a reference is shown', { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
    ['metadata under a secret key is shown', { secret: { secretName: 'db', defaultMode: 420, extra: 'x' } }, { secret: { secretName: 'db', defaultMode: 420, extra: '[REDACTED]' } }],
    ['a label selector keeps its keys', { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }],
    ['a flag and its argument', ['--password', 'x', '--verbose', 'y'], ['--password', '[REDACTED]', '--verbose', 'y']],
    ['URL userinfo inside an argument', ['--db-url=postgres://app:pw@db:5432/app'], ['--db-url=postgres://[REDACTED]@db:5432/app']],
    ['a header', { headers: ['Authorization: Bearer abcdefgh12'] }, { headers: ['Authorization: [REDACTED]'] }],
    ['key=value in a string', { command: 'run --token=abc123 --x=1' }, { command: 'run --token=[REDACTED] --x=1' }],
    ['an AWS access key', { note: 'AKIAIOSFODNN7EXAMPLE' }, { note: '[REDACTED]' }],
    ['a GitHub token', { note: 'pat ghp_abcdefghijklmnopqrstuvwxyz0123456789' }, { note: 'pat [REDACTED]' }],
    ['a fine-grained GitHub token', { note: 'github_pat_11ABCDEFG0123456789_abcdefghijklmnop' }, { note: '[REDACTED]' }],
    ['a Slack token', { note: 'xoxb-123456789012-abcdefghij' }, { note: '[REDACTED]' }],
    ['a JWT', { note: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl' }, { note: '[REDACTED]' }],
    ['a PEM private key', { cert: 'a\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----\nb' }, { cert: 'a\n[REDACTED]\nb' }],
    ['a public certificate is shown', { ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }, { ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' }],
    ['embedded JSON', { policy: '{"env":[{"name":"API_TOKEN","value":"t"}]}' }, { policy: '{"env":[{"name":"API_TOKEN","value":"[REDACTED]"}]}' }],
    ['embedded JSON without secrets keeps its bytes', { policy: '{ "Version": "2012-10-17" }' }, { policy: '{ "Version": "2012-10-17" }' }],
    ['plain text is left alone', { image: 'nginx:1.25', url: 'https://example.com/a?b=c' }, { image: 'nginx:1.25', url: 'https://example.com/a?b=c' }],
  ])('%s', (_what, input, expected) => {
    expect(keylessRedactor.value(input)).toEqual(expected);
  });

  it.each([
    ['a Secret\'s data, whatever its keys', 'Secret', { data: { 'config.yaml': 'YQ==' }, stringData: { x: 'y' }, metadata: { name: 'db' } }],
    ['a SealedSecret\'s encryptedData', 'bitnami.com/SealedSecret', { encryptedData: { x: 'AgB' } }],
    ['a kubernetes_secret\'s data', 'kubernetes_secret', { data: { user: 'u' } }],
  ])('%s', (_what, resourceType, doc) => {
    const out = JSON.stringify(keylessRedactor.value(doc, { resourceType }));
    expect(out).not.toMatch(/YQ==|"y"|AgB|"u"/);
  });

  it('a ConfigMap\'s data is checked key by key, not hidden wholesale', () => {
    const out = keylessRedactor.value({ data: { 'nginx.conf': 'worker 1;', DB_PASSWORD: 'x' } }, { resourceType: 'ConfigMap' });
    expect(out).toEqual({ data: { 'nginx.conf': 'worker 1;', DB_PASSWORD: '[REDACTED]' } });
  });

  it('a field change is judged by its path too (/data/…, a secret-named token)', () => {
    expect(keylessRedactor.fieldChange({ path: '/data/user', kind: 'changed', desired: 'a', actual: 'b' }, 'Secret')).toEqual({ path: '/data/user', kind: 'changed', desired: '[REDACTED]', actual: '[REDACTED]' });
    expect(keylessRedactor.fieldChange({ path: '/metadata/annotations/vault.io~1token', kind: 'added', actual: 'abc' })).toEqual({ path: '/metadata/annotations/vault.io~1token', kind: 'added', actual: '[REDACTED]' });
    expect(keylessRedactor.fieldChange({ path: '/spec/replicas', kind: 'changed', desired: 2, actual: 3 })).toEqual({ path: '/spec/replicas', kind: 'changed', desired: 2, actual: 3 });
  });

  it('fingerprints: keyed, stable, equal for equal values, different for different values and keys', () => {
    const a = redactor.fingerprint('hunter2');
    expect(a).toMatch(/^\[REDACTED hmac:[0-9a-f]{16}\]$/);
    expect(redactor.fingerprint('hunter2')).toBe(a);
    expect(redactor.fingerprint('hunter3')).not.toBe(a);
    expect(createRedactor({ key: new Uint8Array(32).fill(1) }).fingerprint('hunter2')).not.toBe(a);
    expect(redactor.fingerprint({ b: 1, a: 2 })).toBe(redactor.fingerprint({ a: 2, b: 1 }));
    expect(redactor.fingerprint(5)).not.toBe(redactor.fingerprint('5'));
    expect(() => createRedactor({ key: new Uint8Array(8) })).toThrow(/at least 16 bytes/);
  });
});

// ---------------------------------------------------------------- the property

/** A random secret body: long enough never to appear by chance, and never inside a fingerprint (hex). */
const body = fc.stringMatching(/^[A-Za-z0-9]{24}$/).filter((s) => /[G-Zg-z]/.test(s));

/** A planted secret: the shape that carries it (as a function of its body) and the strings that must not appear. */
interface Plant {
  shape: string;
  make: (b: string) => unknown;
  /** What must not appear in any output, for a body. */
  secrets: (b: string) => string[];
}

const SECRET_KEYS = ['password', 'dbPassword', 'api_key', 'apiKey', 'client_secret', 'x-auth-token', 'access_token', 'privateKey', 'SESSION_COOKIE', 'sentry_dsn', 'credentials', 'STRIPE_KEY', 'GITHUB_TOKEN', 'tls.key', 'vault.hashicorp.com/agent-token'];
const ENV_NAMES = ['DB_PASSWORD', 'API_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'STRIPE_KEY', 'SENTRY_DSN', 'SESSION_SECRET', 'DB_PASS'];

const plantArb: fc.Arbitrary<Plant> = fc.oneof(
  fc.constantFrom(...SECRET_KEYS).map((k): Plant => ({ shape: `key ${k}`, make: (b) => ({ [k]: b }), secrets: (b) => [b] })),
  fc.constantFrom(...ENV_NAMES).map((n): Plant => ({ shape: `env ${n}`, make: (b) => ({ name: n, value: b }), secrets: (b) => [b] })),
  fc.constant<Plant>({ shape: 'url userinfo in an arg', make: (b) => `--db-url=postgres://app:${b}@db.internal:5432/app`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'url userinfo (user is a token)', make: (b) => `https://x-access-token:${b}@github.com/acme/app.git`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'authorization header string', make: (b) => `Authorization: Bearer ${b}`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'authorization header pair', make: (b) => ({ name: 'Authorization', value: `Basic ${b}` }), secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'bearer in text', make: (b) => `curl -H "X: 1" -H 'Bearer ${b}'`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'flag and argument', make: (b) => ['serve', '--password', b, '--port', '8080'], secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'key=value in a string', make: (b) => `--db-password=${b}`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'GitHub token', make: (b) => `see ghp_${b}${b.slice(0, 12)} for access`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'fine-grained GitHub token', make: (b) => `github_pat_11A${b}_${b}`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'Slack token', make: (b) => `xoxb-123456789012-${b}`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'JWT', make: (b) => `eyJhbGciOiJIUzI1NiJ9.eyJ${b}.${b}`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'PEM', make: (b) => `-----BEGIN RSA PRIVATE KEY-----\nMII${b}\n${b}==\n-----END RSA PRIVATE KEY-----\n`, secrets: (b) => [b] }),
  fc.constant<Plant>({ shape: 'embedded JSON', make: (b) => JSON.stringify({ containerDefinitions: [{ environment: [{ name: 'DB_PASSWORD', value: b }] }] }), secrets: (b) => [b] }),
);
const awsKey = (b: string): string => `AKIA${b.toUpperCase().slice(0, 16)}`;
const awsKeyPlant = fc.constant<Plant>({ shape: 'AWS access key', make: (b) => `note ${awsKey(b)} end`, secrets: (b) => [awsKey(b)] });

/** Neutral places a planted secret is nested in (keys no rule calls secret). */
const NEUTRAL = ['spec', 'template', 'config', 'items', 'extra', 'nested', 'list', 'annotations', 'options', 'settings'];
type Wrap = (inner: unknown) => unknown;
const wrapArb: fc.Arbitrary<Wrap[]> = fc.array(
  fc.oneof(
    fc.constantFrom(...NEUTRAL).map((k): Wrap => (inner) => ({ [k]: inner, image: 'nginx:1.25' })),
    fc.constant<Wrap>((inner) => [inner]),
    fc.constant<Wrap>((inner) => ['plain', 42, inner]),
  ),
  { maxLength: 4 },
);

/** One drifted resource with planted secrets: desired has bodies `a`, actual bodies `b` (equal or not, per plant). */
const scenarioArb = fc
  .array(fc.record({ plant: fc.oneof({ weight: 12, arbitrary: plantArb }, { weight: 1, arbitrary: awsKeyPlant }), wrap: wrapArb, a: body, b: body, same: fc.boolean() }), {
    minLength: 1,
    maxLength: 6,
  })
  .map((plants) =>
    plants.map((p) => {
      const b = p.same ? p.a : p.b;
      return { ...p, b, same: JSON.stringify(p.plant.make(p.a)) === JSON.stringify(p.plant.make(b)) };
    }),
  );
type Scenario = { plant: Plant; wrap: Wrap[]; a: string; b: string; same: boolean }[];

const tree = (s: Scenario, side: 'a' | 'b'): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  s.forEach((p, i) => {
    let v = p.plant.make(p[side]);
    for (const w of p.wrap) v = w(v);
    out[`part${i}`] = v;
  });
  return out;
};
const plantedOf = (s: Scenario): string[] => s.flatMap((p) => [...p.plant.secrets(p.a), ...p.plant.secrets(p.b)]);
/** Where planted secrets were found (a list of places and shapes, never the values). */
const foundIn = (outputs: Record<string, string>, s: Scenario): string[] =>
  Object.entries(outputs).flatMap(([where, text]) =>
    s.flatMap((p) => (p.plant.secrets(p.a).concat(p.plant.secrets(p.b)).some((x) => text.includes(x)) ? [`${where}: ${p.plant.shape}`] : [])),
  );

const tmp = mkdtempSync(path.join(os.tmpdir(), 'driftplane-redaction-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let run = 0;

/** Writes one unit of a planes folder: a Deployment carrying the tree, and a Secret carrying the bodies as data. */
function writeUnit(s: Scenario): { root: string; unit: string } {
  const root = path.join(tmp, `planes-${run++}`);
  const unit = 'u';
  for (const side of ['a', 'b'] as const) {
    const dir = path.join(root, unit, side === 'a' ? 'desired' : 'actual');
    mkdirSync(dir, { recursive: true });
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' }, spec: { template: { spec: tree(s, side) } } };
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: Object.fromEntries(s.map((p, i) => [`k${i}`, p[side]])) };
    writeFileSync(path.join(dir, 'deployment.json'), JSON.stringify(deployment));
    writeFileSync(path.join(dir, 'secret.json'), JSON.stringify(secret));
  }
  return { root, unit };
}

describe('property: planted secrets never leave a detector, and their drift is still detected', () => {
  it('local planes: none of the planted values in the detection; a changed secret is a diff with different fingerprints', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { root, unit } = writeUnit(s);
        const detection = await new LocalPlanes(root, redactor).detect(unit, new Date('2026-01-01T00:00:00Z'));
        expect(detection.status).toBe('ok');
        if (detection.status !== 'ok') return;
        expect(foundIn({ detection: JSON.stringify(detection) }, s)).toEqual([]);
        const changed = s.some((p) => !p.same);
        expect(detection.observations.map((o) => o.resourceRef).sort()).toEqual(changed ? ['Deployment/shop/web', 'Secret/shop/db'] : []);
        for (const o of detection.observations) {
          expect(o.changedFields.length).toBeGreaterThan(0);
          // Every reported difference is visible without the value: the two sides differ.
          for (const c of o.diff) expect(JSON.stringify(c.desired)).not.toBe(JSON.stringify(c.actual));
          expect(JSON.stringify(o.diff)).toMatch(FP);
        }
        rmSync(root, { recursive: true, force: true });
      }),
      { numRuns: 120 },
    );
  });

  it('the same secret fingerprints the same in every resource and run; a different one differently', () => {
    fc.assert(
      fc.property(plantArb, body, body, (plant, x, y) => {
        const fx = JSON.stringify(redactor.value(plant.make(x)));
        expect(JSON.stringify(redactor.value(plant.make(x)))).toBe(fx);
        expect(fx).toMatch(FP);
        if (x !== y) expect(JSON.stringify(redactor.value(plant.make(y)))).not.toBe(fx);
      }),
      { numRuns: 300 },
    );
  });

  it('AWS inventory: the observation built from the comparison carries none of them, and changed values differ', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        // Tags are strings: each plant becomes one tag (its JSON when it is not a string); secret-named tag keys too.
        const tags = (side: 'a' | 'b') =>
          Object.fromEntries(
            s.flatMap((p, i) => {
              const v = p.plant.make(p[side]);
              return [[`note${i}`, typeof v === 'string' ? v : JSON.stringify(v)], [`db_password_${i}`, p[side]]];
            }),
          );
        const [recorded] = parseTfStateV4(
          { version: 4, resources: [{ mode: 'managed', type: 'aws_instance', name: 'web', instances: [{ attributes: { id: 'i-1', instance_type: 't3.micro', ami: 'ami-1', vpc_security_group_ids: [], tags: tags('a') } }] }] },
          'test.tfstate',
        );
        const report = compareUnitInventory({
          unit: 'u',
          stateSource: 's3://state/u.tfstate',
          recorded: [recorded!],
          observations: new Map([['aws_instance.web', { status: 'present', attributes: { id: 'i-1', instance_type: 't3.micro', ami: 'ami-1', vpc_security_group_ids: [], tags: tags('b') } }]]),
        });
        expect(report.failures).toEqual([]);
        const observations = report.findings.map((f) => observationOf(f, { stateSource: report.stateSource, detectedAt: '2026-01-01T00:00:00.000Z', redactor }));
        expect(foundIn({ observations: JSON.stringify(observations) }, s)).toEqual([]);
        const changed = s.some((p) => !p.same);
        expect(observations).toHaveLength(changed ? 1 : 0);
        for (const o of observations) for (const c of o.diff) expect(c.desired).not.toEqual(c.actual);
        // Each changed plant shows up as a changed path (its secret-named tag at least).
        for (const [i, p] of s.entries()) expect(observations[0]?.changedFields.includes(`/tags/db_password_${i}`) ?? false).toBe(!p.same);
      }),
      { numRuns: 150 },
    );
  });

  it('plans: neither the redacted plan, the normalized plan nor a scrubbed log carries them (marked sensitive or not)', () => {
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, markSensitive) => {
        const before = tree(s, 'a');
        const after = tree(s, 'b');
        const plan = {
          format_version: '1.2',
          variables: { db_password: { value: s[0]!.a } },
          resource_changes: [
            { address: 'x_app.main', mode: 'managed', type: 'x_app', name: 'main', change: { actions: ['update'], before, after, after_unknown: {}, before_sensitive: markSensitive ? { part0: true } : {}, after_sensitive: markSensitive ? { part0: true } : {} } },
            { address: 'kubernetes_secret.db', mode: 'managed', type: 'kubernetes_secret', name: 'db', change: { actions: ['update'], before: { data: { k: s[0]!.a } }, after: { data: { k: s[0]!.b } }, after_unknown: {}, before_sensitive: {}, after_sensitive: {} } },
          ],
          resource_drift: [{ address: 'x_app.main', mode: 'managed', type: 'x_app', name: 'main', change: { actions: ['update'], before: after, after: before, before_sensitive: {}, after_sensitive: {} } }],
          planned_values: { root_module: { resources: [{ address: 'x_app.main', mode: 'managed', type: 'x_app', name: 'main', values: after, sensitive_values: {} }] } },
          prior_state: { values: { root_module: { resources: [{ address: 'x_app.main', mode: 'managed', type: 'x_app', name: 'main', values: before, sensitive_values: {} }] } } },
        };
        const raw = JSON.stringify(plan);
        const outputs = {
          'redactPlan (keyed)': JSON.stringify(redactPlan(plan, redactor)),
          'redactPlan (keyless)': JSON.stringify(redactPlan(plan)),
          'normalizePlan': JSON.stringify(normalizePlan(plan)),
          'a log line scrubbed with collectSensitiveValues': createScrubber(collectSensitiveValues(plan))(`tofu said: ${raw}`),
        };
        expect(foundIn(outputs, s)).toEqual([]);
        // The fixture is not vacuous: the raw plan does carry them.
        for (const x of plantedOf(s)) expect(raw).toContain(x);
        // Drift stays visible in the keyed redaction: changed plants give different before/after.
        const rc = (JSON.parse(outputs['redactPlan (keyed)']) as { resource_changes: { change: { before: unknown; after: unknown } }[] }).resource_changes[0]!.change;
        expect(JSON.stringify(rc.before) === JSON.stringify(rc.after)).toBe(s.every((p) => p.same));
      }),
      { numRuns: 150 },
    );
  });

  it('redaction is idempotent: a second pass (evidence, the CLI) changes nothing', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const once = redactor.value(tree(s, 'a'), { resourceType: 'Deployment' });
        expect(redactor.value(once, { resourceType: 'Deployment' })).toEqual(once);
        expect(keylessRedactor.value(once)).toEqual(once);
        const text = JSON.stringify(once);
        expect(redactor.text(text)).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('redaction tokens', () => {
  it.each([
    ['[REDACTED]', true],
    ['[REDACTED hmac:0123456789abcdef]', true],
    ['[REDACTED hmac:0123]', false],
    ['x [REDACTED]', false],
  ])('%s is a token: %s', (s, yes) => expect(isRedactionToken(s)).toBe(yes));
});
