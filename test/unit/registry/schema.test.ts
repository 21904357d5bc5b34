import Ajv from 'ajv';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultRegistryDir, listRegistryFiles } from '../../../registry';
import { repoRoot } from '../../support/shared-fixtures';

const cli = path.join(repoRoot, 'bin', 'driftplane.cjs');

function schemaFromCli(): Record<string, unknown> {
  return JSON.parse(
    execFileSync(process.execPath, [cli, 'schema', 'registry'], { encoding: 'utf8' }),
  ) as Record<string, unknown>;
}

function compile(schema: Record<string, unknown>) {
  // An independent validator: formats are not checked here (ajv-formats is not a dependency); patterns are.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  return ajv.compile(schema);
}

describe('driftplane schema registry', () => {
  const schema = schemaFromCli();
  const validate = compile(schema);

  it('is a draft-07 JSON Schema', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.$id).toBe('https://driftplane.io/schemas/registry/v1alpha1.json');
  });

  it('validates every acme document (ajv, from the CLI output)', async () => {
    const files = await listRegistryFiles(defaultRegistryDir);
    let n = 0;
    for (const file of files) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8')) as ReturnType<
        typeof parseAllDocuments
      > &
        unknown[]) {
        const value: unknown = doc.toJS();
        if (value === null) continue;
        n++;
        const ok = validate(value);
        expect(ok, `${path.relative(repoRoot, file)}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(
          true,
        );
      }
    }
    expect(n).toBeGreaterThanOrEqual(60);
  });

  it.each([
    ['a misspelt field', { ownr: 'x' }],
    ['an unknown unit type', { type: 'helm-chart' }],
    ['a bad risk tier', { riskTier: 'urgent' }],
    ['a role that is not an ARN', { credentials: { oidcRole: 'drift-role' } }],
  ])('rejects a unit with %s', (_what, override) => {
    const unit = {
      apiVersion: 'driftplane.io/v1alpha1',
      kind: 'DriftManagedUnit',
      metadata: { name: 'u' },
      spec: {
        type: 'argocd-app',
        owner: 'web',
        environment: 'prod',
        riskTier: 'high',
        source: { repo: 'r', path: 'p' },
        ...override,
      },
    };
    expect(validate(unit)).toBe(false);
  });

  it('is the file the acme modelines point at (registry/schema/registry.schema.json is up to date)', () => {
    const committed = JSON.parse(
      readFileSync(path.join(repoRoot, 'registry', 'schema', 'registry.schema.json'), 'utf8'),
    ) as unknown;
    expect(committed).toEqual(schema);
  });
});
