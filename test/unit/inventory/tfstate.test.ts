import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StateFormatError } from '../../../domain/inventory/errors';
import { parseTfStateV4 } from '../../../domain/inventory/tfstate';
import { sharedFixture } from '../../support/shared-fixtures';

const stateDir = sharedFixture('tofu', 'state');
const read = (name: string): string => readFileSync(`${stateDir}/${name}`, 'utf8');

describe('parseTfStateV4 on the shared OpenTofu state fixtures', () => {
  const raw = readdirSync(stateDir).filter((f) => f.endsWith('.tfstate'));

  it('finds the raw tfstate v4 fixtures', () => {
    expect(raw.length).toBeGreaterThanOrEqual(5);
  });

  it.each(raw)('parses %s into managed instances with addresses', (name) => {
    const doc = JSON.parse(read(name)) as { resources: { mode: string; instances: unknown[] }[] };
    const expected = doc.resources
      .filter((r) => r.mode === 'managed')
      .reduce((n, r) => n + r.instances.length, 0);
    const parsed = parseTfStateV4(read(name), name);
    expect(parsed).toHaveLength(expected);
    for (const r of parsed) {
      expect(r.address).toMatch(/^(module\.[\w-]+\.)*[\w-]+\.[\w-]+(\[.+\])?$/);
      // None of these fixture types is an AWS type: they are listed, not scanned.
      expect(r.supported).toBe(false);
    }
  });

  it('renders module and index addresses the way OpenTofu prints them', () => {
    const parsed = parseTfStateV4(
      read('internal__command__testdata__show-json-state__modules__terraform.tfstate'),
      'modules',
    );
    expect(parsed.map((r) => r.address)).toEqual([
      'module.module_test_foo.test_instance.example[0]',
      'module.module_test_bar.test_instance.example',
    ]);
  });

  it('keeps the names of sensitive attributes', () => {
    const parsed = parseTfStateV4(
      read('internal__command__testdata__show-json-state__sensitive-variables__terraform.tfstate'),
      'sensitive',
    );
    expect(parsed[0]?.sensitiveAttributes).toEqual(['ami']);
  });

  it.each(readdirSync(stateDir).filter((f) => f.endsWith('output.json') || f.includes('__outputs__')))(
    'rejects the `show -json` rendering %s: it is not raw state',
    (name) => {
      expect(() => parseTfStateV4(read(name), name)).toThrow(StateFormatError);
    },
  );

  it('names the source and never quotes the content of a non-JSON state', () => {
    const err = (() => {
      try {
        parseTfStateV4('{"password": "hunter2-secret", oops', 's3://b/k.tfstate');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(StateFormatError);
    expect(err?.message).toContain('s3://b/k.tfstate');
    expect(err?.message).not.toContain('hunter2');
  });

  it('names the field of an invalid state', () => {
    expect(() =>
      parseTfStateV4({ version: 4, resources: [{ mode: 'managed', type: 'x' }] }, 'f.tfstate'),
    ).toThrow(/f\.tfstate field \/resources\/0\/name/);
    expect(() => parseTfStateV4({ version: 3, resources: [] }, 'old.tfstate')).toThrow(/field \/version/);
  });

  it('derives the cloud identity of supported types', () => {
    const parsed = parseTfStateV4(
      {
        version: 4,
        resources: [
          {
            mode: 'managed',
            type: 'aws_iam_role_policy_attachment',
            name: 'a',
            instances: [{ attributes: { id: 'r-2026', role: 'r', policy_arn: 'arn:aws:iam::aws:policy/X' } }],
          },
          {
            mode: 'managed',
            type: 'aws_iam_role_policy',
            name: 'p',
            instances: [{ attributes: { id: 'r:p', role: 'r', name: 'p' } }],
          },
          {
            mode: 'managed',
            type: 'aws_s3_bucket',
            name: 'b',
            instances: [{ attributes: { id: 'bkt', bucket: 'bkt' } }],
          },
          {
            mode: 'data',
            type: 'aws_iam_policy_document',
            name: 'd',
            instances: [{ attributes: { json: '{}' } }],
          },
          {
            mode: 'managed',
            type: 'aws_instance',
            name: 'i',
            instances: [
              { attributes: { id: 'i-old' }, deposed: '00000001' },
              { attributes: { id: 'i-new' } },
            ],
          },
        ],
      },
      'x',
    );
    expect(parsed.map((r) => [r.address, r.key])).toEqual([
      ['aws_iam_role_policy_attachment.a', 'r/arn:aws:iam::aws:policy/X'],
      ['aws_iam_role_policy.p', 'r:p'],
      ['aws_s3_bucket.b', 'bkt'],
      ['aws_instance.i', 'i-new'],
    ]);
  });
});
