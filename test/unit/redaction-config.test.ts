import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { redactionPatternsOf } from '../../domain/redaction';
import { RedactionPolicySchema } from '../../domain/registry/schemas';
import { loadRegistry } from '../../registry';
import { loadConfig, readOrCreateRedactionKey } from '../../workers/config';
import { installationRedactor } from '../../workers/create-worker';
import { repoRoot } from '../support/shared-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'driftplane-redaction-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const home = () => path.join(tmp, `home-${n++}`);

describe('the installation redaction key', () => {
  it('is created on first use in $DRIFTPLANE_HOME/redaction.key: 32 random bytes, mode 0600, the same ever after', () => {
    const h = home();
    const config = loadConfig({ DRIFTPLANE_HOME: h });
    expect(config.redactionKeyFile).toBe(path.join(h, 'redaction.key'));
    // Reading the config creates nothing.
    expect(() => statSync(config.redactionKeyFile)).toThrow();
    const key = config.redactionKey();
    expect(key).toHaveLength(32);
    expect(statSync(config.redactionKeyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(config.redactionKeyFile, 'utf8').trim()).toBe(Buffer.from(key).toString('hex'));
    expect(loadConfig({ DRIFTPLANE_HOME: h }).redactionKey()).toEqual(key);
    expect(readOrCreateRedactionKey(config.redactionKeyFile)).toEqual(key);
    // Another installation gets another key.
    expect(loadConfig({ DRIFTPLANE_HOME: home() }).redactionKey()).not.toEqual(key);
  });

  it.each([
    ['hex', '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 32],
    ['base64', Buffer.alloc(24, 7).toString('base64'), 24],
    ['base64url', Buffer.alloc(20, 250).toString('base64url'), 20],
  ])('DRIFTPLANE_REDACTION_KEY as %s wins over the file', (_what, value, bytes) => {
    const h = home();
    const key = loadConfig({ DRIFTPLANE_HOME: h, DRIFTPLANE_REDACTION_KEY: value }).redactionKey();
    expect(key).toHaveLength(bytes);
    expect(() => statSync(path.join(h, 'redaction.key'))).toThrow();
  });

  it('a key that is too short or not hex/base64 is invalid input naming the variable, never echoing it', () => {
    for (const bad of ['abcd', 'not a key at all!', '0011']) {
      let message = '';
      try {
        loadConfig({ DRIFTPLANE_HOME: home(), DRIFTPLANE_REDACTION_KEY: bad });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain('DRIFTPLANE_REDACTION_KEY');
      expect(message).not.toContain(bad);
    }
  });

  it('a key file that holds no key is invalid input naming the file, not its content', () => {
    const file = path.join(tmp, 'bad.key');
    writeFileSync(file, 'hunter2\n');
    expect(() => readOrCreateRedactionKey(file)).toThrow(/bad\.key/);
    expect(() => readOrCreateRedactionKey(file)).not.toThrow(/hunter2/);
  });
});

describe('RedactionPolicy in the registry', () => {
  const doc = (spec: unknown) => ({ apiVersion: 'driftplane.io/v1alpha1', kind: 'RedactionPolicy', metadata: { name: 'extra' }, spec });

  it.each([
    ['a valid policy', { keyPatterns: ['^x-acme-sig$'], valuePatterns: ['acme_[a-z0-9]{12}'] }, true],
    ['an empty policy', {}, true],
    ['a pattern that does not compile', { keyPatterns: ['('] }, false],
    ['a value pattern matching the empty string', { valuePatterns: ['x*'] }, false],
    ['an unknown field (patterns only add; nothing removes a default)', { removeDefaults: true }, false],
  ])('%s', (_what, spec, ok) => {
    expect(RedactionPolicySchema.safeParse(doc(spec)).success).toBe(ok);
  });

  it('the worker uses the registry\'s patterns on top of the defaults, with the installation key', async () => {
    const dir = path.join(tmp, 'registry');
    cpSync(path.join(repoRoot, 'registry', 'examples', 'acme'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'policies', 'redaction.yaml'),
      'apiVersion: driftplane.io/v1alpha1\nkind: RedactionPolicy\nmetadata:\n  name: acme-extra\nspec:\n  keyPatterns: ["^x-acme-sig$"]\n  valuePatterns: ["acme_[a-z0-9]{12}"]\n',
    );
    const loaded = await loadRegistry(dir);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    expect(redactionPatternsOf(loaded.registry)).toEqual({ keyPatterns: ['^x-acme-sig$'], valuePatterns: ['acme_[a-z0-9]{12}'] });
    const redactor = await installationRedactor(loadConfig({ DRIFTPLANE_HOME: home(), DRIFTPLANE_REGISTRY: dir }));
    expect(redactor.keyed).toBe(true);
    const out = JSON.stringify(redactor.value({ 'x-acme-sig': 'sig1', note: 'use acme_abcdef123456', password: 'p' }));
    expect(out).not.toMatch(/sig1|acme_abcdef123456|"p"/);
  });

  it('an invalid registry stops the worker from building its redactor (its patterns would be missing)', async () => {
    const dir = path.join(tmp, 'broken-registry');
    cpSync(path.join(repoRoot, 'registry', 'examples', 'acme'), dir, { recursive: true });
    writeFileSync(path.join(dir, 'policies', 'redaction.yaml'), 'apiVersion: driftplane.io/v1alpha1\nkind: RedactionPolicy\nmetadata:\n  name: bad\nspec:\n  keyPatterns: ["("]\n');
    await expect(installationRedactor(loadConfig({ DRIFTPLANE_HOME: home(), DRIFTPLANE_REGISTRY: dir }))).rejects.toThrow(/redaction patterns/);
  });
});
