import { writeFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  boundaryTaskQueue,
  derivedBoundary,
  gitOrganizationOf,
  parseBoundaryList,
  unitBoundary,
} from '../../domain/boundaries';
import { InputError } from '../../domain/errors';
import { DriftManagedUnitSchema } from '../../domain/registry/schemas';
import { loadConfig } from '../../workers/config';
import { loadTemporalConnection } from '../../workers/connection';
import { tuningOptions } from '../../workers/create-worker';

const unit = (spec: Record<string, unknown>) => ({
  apiVersion: 'driftplane.io/v1alpha1',
  kind: 'DriftManagedUnit',
  metadata: { name: 'u' },
  spec: {
    type: 'argocd-app',
    owner: 'team',
    environment: 'prod',
    riskTier: 'high',
    source: { repo: 'github.com/acme/gitops', path: 'apps/u' },
    ...spec,
  },
});

describe('credential boundaries (domain/boundaries.ts)', () => {
  it.each([
    [{ account: '111122223333', cluster: 'prod-euw1-a' }, 'aws-111122223333'],
    [{ cluster: 'prod-euw1-a' }, 'k8s-prod-euw1-a'],
    [{ cluster: 'Prod_EU.1' }, 'k8s-prod-eu-1'],
    [{ source: { repo: 'github.com/acme/gitops' } }, 'git-acme'],
    [{ source: { repo: 'file:///srv/git/planes' } }, undefined],
  ])('derives %j as %s', (subject, expected) => {
    expect(derivedBoundary(subject)).toBe(expected);
  });

  it.each([
    ['github.com/acme/gitops', 'acme'],
    ['https://github.example.com/platform/infra.git', 'platform'],
    ['git@github.com:acme/infra-live.git', 'acme'],
    ['acme/infra-live', 'acme'],
    ['/srv/git/repo', undefined],
    ['file:///srv/git/repo', undefined],
  ])('finds the Git organization of %s', (repo, org) => {
    expect(gitOrganizationOf(repo)).toBe(org);
  });

  it('uses only what the unit declares: a name as written, auto derived, nothing for none', () => {
    expect(unitBoundary({ cluster: 'prod-euw1-a' })).toBeUndefined();
    expect(unitBoundary({ cluster: 'prod-euw1-a', boundary: 'auto' })).toBe('k8s-prod-euw1-a');
    expect(unitBoundary({ cluster: 'prod-euw1-a', boundary: 'eu-platform' })).toBe('eu-platform');
    expect(boundaryTaskQueue('driftplane', 'aws-111122223333')).toBe('driftplane.aws-111122223333');
  });

  it('validates the registry field: a boundary name, or auto where it can be derived', () => {
    expect(DriftManagedUnitSchema.safeParse(unit({ cluster: 'prod-euw1-a', boundary: 'auto' })).success).toBe(
      true,
    );
    const bad = DriftManagedUnitSchema.safeParse(unit({ boundary: 'Not A Name' }));
    expect(bad.success).toBe(false);
    const underivable = DriftManagedUnitSchema.safeParse(
      unit({ source: { repo: 'file:///srv/git/x', path: '.' }, boundary: 'auto' }),
    );
    expect(underivable.success).toBe(false);
    expect(underivable.error?.issues[0]).toMatchObject({
      path: ['spec', 'boundary'],
      message: expect.stringMatching(/boundary auto needs an account, a cluster or a source repository/),
    });
  });

  it('parses DRIFTPLANE_BOUNDARIES, naming the first bad entry', () => {
    expect(parseBoundaryList(' aws-111122223333, k8s-prod-euw1-a,,aws-111122223333 ')).toEqual({
      ok: true,
      boundaries: ['aws-111122223333', 'k8s-prod-euw1-a'],
    });
    expect(parseBoundaryList('aws-1,AWS 2')).toEqual({ ok: false, invalid: 'AWS 2' });
  });
});

describe('worker configuration (workers/config.ts)', () => {
  it('defaults to one control worker, no boundary, and a 10 s shutdown grace time', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      control: true,
      boundaries: [],
      taskQueue: 'driftplane',
      temporalAddress: 'localhost:7233',
      namespace: 'default',
    });
    expect(c.worker).toEqual({ shutdownGraceTime: '10s' });
    expect(c.temporal).toMatchObject({ security: 'off', apiKey: false });
  });

  it('reads boundaries, concurrency limits, shutdown times and Worker Versioning into worker options', () => {
    const c = loadConfig({
      DRIFTPLANE_CONTROL: 'false',
      DRIFTPLANE_BOUNDARIES: 'aws-111122223333,k8s-prod-euw1-a',
      DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES: '20',
      DRIFTPLANE_MAX_CONCURRENT_WORKFLOW_TASKS: '10',
      DRIFTPLANE_SHUTDOWN_GRACE_TIME: '45s',
      DRIFTPLANE_SHUTDOWN_FORCE_TIME: '2m',
      DRIFTPLANE_BUILD_ID: '2026.12.1',
      DRIFTPLANE_WORKER_VERSIONING: 'pinned',
    });
    expect(c.control).toBe(false);
    expect(c.boundaries).toEqual(['aws-111122223333', 'k8s-prod-euw1-a']);
    expect(tuningOptions(c)).toEqual({
      maxConcurrentActivityTaskExecutions: 20,
      maxConcurrentWorkflowTaskExecutions: 10,
      shutdownGraceTime: '45s',
      shutdownForceTime: '2m',
      workerDeploymentOptions: {
        version: { deploymentName: 'driftplane', buildId: '2026.12.1' },
        useWorkerVersioning: true,
        defaultVersioningBehavior: 'PINNED',
      },
    });
    // A build id without versioning is recorded, not routed by.
    expect(tuningOptions(loadConfig({ DRIFTPLANE_BUILD_ID: 'abc123' })).workerDeploymentOptions).toEqual({
      version: { deploymentName: 'driftplane', buildId: 'abc123' },
      useWorkerVersioning: false,
    });
  });

  it.each([
    [{ DRIFTPLANE_BOUNDARIES: 'aws-1,Bad Name' }, /DRIFTPLANE_BOUNDARIES: "Bad Name" is not a boundary name/],
    [{ DRIFTPLANE_CONTROL: 'maybe' }, /DRIFTPLANE_CONTROL/],
    [
      { DRIFTPLANE_WORKER_VERSIONING: 'pinned' },
      /DRIFTPLANE_WORKER_VERSIONING=pinned needs DRIFTPLANE_BUILD_ID/,
    ],
    [{ DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES: '0' }, /DRIFTPLANE_MAX_CONCURRENT_ACTIVITIES/],
    [{ DRIFTPLANE_SHUTDOWN_GRACE_TIME: 'soon' }, /DRIFTPLANE_SHUTDOWN_GRACE_TIME/],
  ])('refuses %j with an error naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(InputError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('the Temporal connection (workers/connection.ts)', () => {
  it('keeps TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE over the profile, and the profile over the defaults', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-envconfig-'));
    const file = path.join(dir, 'temporal.toml');
    await writeFile(
      file,
      '[profile.cloud]\naddress = "acme.a1b2c.tmprl.cloud:7233"\nnamespace = "acme.a1b2c"\napi_key = "secret-api-key-value"\n',
    );
    const cloud = loadTemporalConnection({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' });
    expect(cloud).toMatchObject({
      address: 'acme.a1b2c.tmprl.cloud:7233',
      namespace: 'acme.a1b2c',
      security: 'tls',
      apiKey: true,
      profile: 'cloud',
      configFile: file,
    });
    // An API key turns TLS on (system roots); the key itself is only in the connect options, never in the description.
    expect(cloud.connectOptions()).toMatchObject({
      address: 'acme.a1b2c.tmprl.cloud:7233',
      apiKey: 'secret-api-key-value',
      tls: true,
    });
    expect(JSON.stringify(cloud)).not.toContain('secret-api-key-value');
    expect(cloud.describe).toBe(
      `acme.a1b2c.tmprl.cloud:7233 (namespace acme.a1b2c; profile "cloud" of ${file}; TLS (CA system roots); API key)`,
    );
    const overridden = loadTemporalConnection({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'cloud',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'dev',
    });
    expect(overridden).toMatchObject({ address: '127.0.0.1:7233', namespace: 'dev', apiKey: true });
  });

  it('names the file and line of a profile file that is not TOML', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-envconfig-'));
    const file = path.join(dir, 'temporal.toml');
    await writeFile(file, '[profile.default]\naddress = \n');
    expect(() => loadTemporalConnection({ TEMPORAL_CONFIG_FILE: file })).toThrow(
      new RegExp(`^${file.replace(/[.]/g, '\\.')}:2(:\\d+)?: not a valid envconfig TOML file`),
    );
  });
});
