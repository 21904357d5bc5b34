import { parse as hclParse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../domain/errors';
import {
  describeProviderUpgrade,
  lockedVersions,
  parseLockFile,
  providerVersionChanges,
  sameProvider,
  shortProviderName,
} from '../../../domain/plan/lock-file';

/** A lock file as `tofu init` writes it (header comment, aligned attributes, platform hashes). */
const LOCK = `# This file is maintained automatically by "tofu init".
# Manual edits may be lost in future updates.

provider "registry.opentofu.org/hashicorp/aws" {
  version     = "5.1.0"
  constraints = ">= 4.33.0, ~> 5.0"
  hashes = [
    "h1:JDZvDTI+0Roa4tCeq8satOmjMjzsFOovf6IILZcM5+8=",
    // a platform hash
    "zh:18825168fe8d5cdb90dc98da927507d3c86d1f8a28fd079503cc1f20082a9ef1",
  ]
}

/* an older block comment */
provider "registry.opentofu.org/hashicorp/random" {
  version = "3.7.2"
  hashes = [
    "h1:random=",
  ]
}
`;

describe('parseLockFile', () => {
  it('reads each provider block: address, version, constraints', () => {
    const p = parseLockFile(LOCK);
    expect([...p.keys()]).toEqual([
      'registry.opentofu.org/hashicorp/aws',
      'registry.opentofu.org/hashicorp/random',
    ]);
    expect(p.get('registry.opentofu.org/hashicorp/aws')).toEqual({
      address: 'registry.opentofu.org/hashicorp/aws',
      version: '5.1.0',
      constraints: '>= 4.33.0, ~> 5.0',
    });
    expect(lockedVersions(LOCK)).toEqual({
      'registry.opentofu.org/hashicorp/aws': '5.1.0',
      'registry.opentofu.org/hashicorp/random': '3.7.2',
    });
  });

  it('agrees with a full HCL parser (@cdktf/hcl2json) on the versions', async () => {
    const doc = (await hclParse('.terraform.lock.hcl', LOCK)) as {
      provider: Record<string, { version: string }[]>;
    };
    const expected = Object.fromEntries(
      Object.entries(doc.provider).map(([addr, blocks]) => [addr, blocks[0]!.version]),
    );
    expect(lockedVersions(LOCK)).toEqual(expected);
  });

  it('an empty file, or one with only comments, locks nothing; unknown blocks are skipped', () => {
    expect(lockedVersions('')).toEqual({});
    expect(lockedVersions('# nothing yet\n')).toEqual({});
    expect(
      lockedVersions(
        'future "x" {\n  a = "b"\n  nested { c = [1, 2] }\n}\nprovider "hashicorp/null" {\n  version = "3.2.1"\n}\n',
      ),
    ).toEqual({ 'hashicorp/null': '3.2.1' });
  });

  it('names the line of what is not a lock file', () => {
    const bad = (text: string) => () => parseLockFile(text, '.terraform.lock.hcl');
    expect(bad('provider "a/b" {\n  version = "1.0.0"\n}\nprovider "a/b" {\n}\n')).toThrow(
      /\.terraform\.lock\.hcl:4: provider a\/b is locked twice/,
    );
    expect(bad('provider "a/b" {\n  version = "1.0.0\n}\n')).toThrow(/:2: unterminated string/);
    expect(bad('provider "a/b" {\n  version = [ "1" ]\n}\n')).toThrow(
      /:2: provider a\/b: version must be a string/,
    );
    expect(bad('provider {\n}\n')).toThrow(/needs exactly one label/);
    expect(bad('provider "a/b" {\n  version = "1"\n')).toThrow(InputError);
    expect(bad('provider "a/b" { ; }')).toThrow(/unexpected character ";"/);
  });
});

describe('provider version changes', () => {
  it('lists changed, added and removed providers by address; equal versions are no change', () => {
    const before = {
      'registry.opentofu.org/hashicorp/aws': '5.1.0',
      'registry.opentofu.org/hashicorp/random': '3.7.2',
    };
    expect(providerVersionChanges(before, { ...before })).toEqual([]);
    expect(
      providerVersionChanges(before, {
        'registry.opentofu.org/hashicorp/aws': '5.2.0',
        'registry.opentofu.org/hashicorp/null': '3.2.1',
      }),
    ).toEqual([
      { provider: 'registry.opentofu.org/hashicorp/aws', from: '5.1.0', to: '5.2.0' },
      { provider: 'registry.opentofu.org/hashicorp/null', to: '3.2.1' },
      { provider: 'registry.opentofu.org/hashicorp/random', from: '3.7.2' },
    ]);
  });

  it('short names drop the public registries, so OpenTofu and Terraform addresses match', () => {
    expect(shortProviderName('registry.opentofu.org/hashicorp/aws')).toBe('hashicorp/aws');
    expect(shortProviderName('registry.terraform.io/hashicorp/aws')).toBe('hashicorp/aws');
    expect(shortProviderName('tf.example.com/acme/widget')).toBe('tf.example.com/acme/widget');
    expect(sameProvider('registry.terraform.io/hashicorp/aws', 'registry.opentofu.org/hashicorp/aws')).toBe(
      true,
    );
    expect(sameProvider('registry.opentofu.org/hashicorp/aws', 'registry.opentofu.org/hashicorp/awscc')).toBe(
      false,
    );
  });

  it('describes an upgrade as the classifier context carries it', () => {
    expect(describeProviderUpgrade([])).toBeUndefined();
    expect(
      describeProviderUpgrade([
        { provider: 'registry.opentofu.org/hashicorp/aws', from: '5.1.0', to: '5.2.0' },
      ]),
    ).toEqual({
      from: 'hashicorp/aws 5.1.0',
      to: 'hashicorp/aws 5.2.0',
    });
    expect(describeProviderUpgrade([{ provider: 'hashicorp/null', to: '3.2.1' }])).toEqual({
      from: 'hashicorp/null none',
      to: 'hashicorp/null 3.2.1',
    });
  });
});
