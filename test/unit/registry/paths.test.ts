import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  joinPointer,
  pathCovers,
  pathMatches,
  sensitiveCoverage,
  sensitiveSegmentCategory,
  splitPointer,
} from '../../../domain/registry/paths';
import { parseDuration, parseInstant } from '../../../domain/registry/durations';
import { parseResourceRef } from '../../../domain/registry/resolve';

describe('field path wildcards', () => {
  it.each([
    ['/spec/template/spec/containers/*/image', '/spec/template/spec/containers/0/image', true],
    ['/spec/template/spec/containers/*/image', '/spec/template/spec/containers/0/image/tag', false],
    ['/spec/template/spec/containers/*/image', '/spec/template/spec/containers/image', false],
    ['/metadata/labels', '/metadata/labels', true],
    [
      '/metadata/annotations/sidecar.istio.io~1status',
      '/metadata/annotations/sidecar.istio.io~1status',
      true,
    ],
  ])('pathMatches(%s, %s) = %s', (pattern, p, expected) => {
    expect(pathMatches(pattern, p)).toBe(expected);
  });

  it.each([
    ['/metadata/annotations', '/metadata/annotations/team', true],
    [
      '/spec/template/spec/containers/*/resources',
      '/spec/template/spec/containers/1/resources/limits/cpu',
      true,
    ],
    ['/spec/template/spec/containers/*/resources', '/spec/template/spec/containers/1/image', false],
    ['/spec/replicas', '/spec', false],
    ['/', '/anything/at/all', true],
  ])('pathCovers(%s, %s) = %s', (pattern, p, expected) => {
    expect(pathCovers(pattern, p)).toBe(expected);
  });

  const segment = fc.stringMatching(/^[a-zA-Z0-9_.~/-]{1,8}$/);
  it('splitPointer inverts joinPointer (escaping ~ and /)', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        expect(splitPointer(joinPointer(segs))).toEqual(segs);
      }),
    );
  });

  it('a path covers itself and everything below it, and nothing above it', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { minLength: 1, maxLength: 5 }),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        (base, more) => {
          const p = joinPointer(base);
          const child = joinPointer([...base, ...more]);
          expect(pathCovers(p, p)).toBe(true);
          expect(pathCovers(p, child)).toBe(true);
          expect(pathCovers(child, p)).toBe(false);
        },
      ),
    );
  });
});

describe('sensitive field coverage (§14.1)', () => {
  it.each([
    ['/spec/template/spec/containers', ['image', 'network', 'privilege', 'persistence', 'command']],
    ['/spec/template/spec', ['identity', 'image', 'network', 'privilege', 'persistence', 'command']],
    ['/spec/template/spec/containers/0/image', ['image']],
    ['/spec/template/spec/containers/*/command', ['command']],
    ['/spec/template/spec/securityContext', ['privilege']],
    ['/spec/template/spec/serviceAccountName', ['identity']],
    ['/policy', ['identity']],
    ['/assume_role_policy', ['identity']],
    ['/ingress/0/cidr_blocks', ['network']],
    ['/spec/template/spec/volumes', ['persistence']],
    ['/metadata/annotations/eks.amazonaws.com~1role-arn', ['identity']],
    ['/user_data', ['command']],
  ])('%s covers %j', (p, categories) => {
    expect(sensitiveCoverage(p).categories).toEqual(categories);
  });

  it.each([
    '/status',
    '/metadata/managedFields',
    '/spec/replicas',
    '/metadata/labels',
    '/metadata/annotations/sidecar.istio.io~1status',
    '/spec/template/spec/containers/*/resources',
    '/spec/template/spec/containers/*/resources/requests',
    '/tags_all',
    '/data/FLAG',
  ])('%s is narrow (covers nothing sensitive)', (p) => {
    expect(sensitiveCoverage(p).categories).toEqual([]);
  });

  it('narrowing never widens: a child path covers nothing its parent does not, except what its own name adds', () => {
    const seg = fc.constantFrom(
      'spec',
      'template',
      'containers',
      'initContainers',
      '*',
      '0',
      'image',
      'resources',
      'metadata',
      'labels',
      'securityContext',
      'ingress',
      'volumes',
      'jobTemplate',
      'status',
    );
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 7 }), seg, (parentSegs, last) => {
        const parent = new Set(sensitiveCoverage(joinPointer(parentSegs)).categories);
        const own = sensitiveSegmentCategory(last);
        for (const c of sensitiveCoverage(joinPointer([...parentSegs, last])).categories) {
          expect(parent.has(c) || c === own).toBe(true);
        }
      }),
    );
  });
});

describe('durations, instants and resource refs', () => {
  it.each([
    ['15m', 900_000],
    ['6h', 21_600_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['0m', undefined],
    ['15', undefined],
  ])('parseDuration(%s) = %s', (d, ms) => {
    expect(parseDuration(d)).toBe(ms);
  });

  it('reads a date as 00:00 UTC', () => {
    expect(parseInstant('2027-02-15')?.toISOString()).toBe('2027-02-15T00:00:00.000Z');
    expect(parseInstant('2027-02-15T12:00:00+02:00')?.toISOString()).toBe('2027-02-15T10:00:00.000Z');
  });

  it.each([
    ['aws_security_group.web', { address: 'aws_security_group.web' }],
    [
      'apps/Deployment/checkout/checkout-web',
      { group: 'apps', kind: 'Deployment', namespace: 'checkout', name: 'checkout-web' },
    ],
    ['ConfigMap/checkout/flags', { kind: 'ConfigMap', namespace: 'checkout', name: 'flags' }],
    ['Namespace/checkout', { kind: 'Namespace', name: 'checkout' }],
  ])('parseResourceRef(%s)', (ref, parsed) => {
    expect(parseResourceRef(ref)).toEqual(parsed);
  });
});
