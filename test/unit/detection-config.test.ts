import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../workers/config';
import { detectorNamesFor } from '../../activities/scan/pick-detectors';
import { DriftManagedUnitSchema } from '../../domain/registry/schemas';

describe('detection configuration', () => {
  it('has the embedded defaults: no audit log, no incidents, a 24h matching window, plan state under home', () => {
    const c = loadConfig({ DRIFTPLANE_HOME: '/tmp/dp-home' });
    expect(c.detection).toEqual({ planStateDir: path.join('/tmp/dp-home', 'plan-state'), matchingWindow: '24h' });
  });
  it('reads the audit log, the incidents file and a PagerDuty-shaped API with its token file', () => {
    const c = loadConfig({
      DRIFTPLANE_HOME: '/tmp/dp-home',
      DRIFTPLANE_K8S_AUDIT_LOG: '/var/log/kube/{cluster}/audit.log',
      DRIFTPLANE_INCIDENTS_FILE: 'incidents.yaml',
      DRIFTPLANE_PAGERDUTY_API_URL: 'https://api.pagerduty.example',
      DRIFTPLANE_PAGERDUTY_TOKEN_FILE: '/run/secrets/pd',
      DRIFTPLANE_MATCHING_WINDOW: '3d',
    });
    expect(c.detection.k8sAuditLog).toBe('/var/log/kube/{cluster}/audit.log');
    expect(c.detection.incidentsFile).toBe(path.resolve('incidents.yaml'));
    expect(c.detection.pagerDuty).toEqual({ apiUrl: 'https://api.pagerduty.example', tokenFile: '/run/secrets/pd' });
    expect(c.detection.matchingWindow).toBe('3d');
  });
  it('refuses a PagerDuty API without its token file, and a bad window, naming the variable', () => {
    expect(() => loadConfig({ DRIFTPLANE_PAGERDUTY_API_URL: 'https://api.pagerduty.example' })).toThrow(/DRIFTPLANE_PAGERDUTY_API_URL needs DRIFTPLANE_PAGERDUTY_TOKEN_FILE/);
    expect(() => loadConfig({ DRIFTPLANE_MATCHING_WINDOW: 'a day' })).toThrow(/DRIFTPLANE_MATCHING_WINDOW/);
  });
});

const unit = (spec: Record<string, unknown>) =>
  DriftManagedUnitSchema.parse({
    apiVersion: 'driftplane.io/v1alpha1',
    kind: 'DriftManagedUnit',
    metadata: { name: 'u' },
    spec: { owner: 'team', environment: 'dev', riskTier: 'standard', source: { repo: 'github.com/acme/x', path: 'p' }, ...spec },
  });

describe('detectors picked by unit type (one place)', () => {
  it.each([
    ['a stack with a source, s3 state and an account', { type: 'opentofu-stack', account: '111122223333', state: { backend: 's3', bucket: 'b', key: 'k' }, credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } }, ['plan', 'aws-inventory', 'aws-unmanaged']],
    ['a state-only terraform stack', { type: 'terraform-stack', detection: { plan: 'off' }, state: { backend: 'local', path: 's.tfstate' }, credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } }, ['aws-inventory']],
    ['a terragrunt stack opting out of the unmanaged scan', { type: 'terragrunt-stack', account: '111122223333', detection: { plan: 'refresh-only', unmanaged: false }, credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } }, ['plan']],
    ['an AWS account', { type: 'aws-account', account: '111122223333', credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } }, ['aws-unmanaged']],
    ['an Argo CD app with its API server', { type: 'argocd-app', gitops: { server: 'https://argocd.example' }, credentials: { token: { env: 'ARGOCD_TOKEN' } } }, ['argocd']],
    ['an Argo CD app without one (the demo)', { type: 'argocd-app' }, ['local-planes']],
    ['a Flux Kustomization on a cluster', { type: 'flux-kustomization', cluster: 'prod-a' }, ['flux']],
    ['an ExternalSecret unit', { type: 'external-secret', cluster: 'prod-a' }, ['external-secrets']],
    ['a database (no detector yet: its scans fail, stale)', { type: 'database', credentials: { roleArn: 'arn:aws:iam::111122223333:role/r' } }, []],
  ])('%s', (_name, spec, names) => {
    expect(detectorNamesFor(unit(spec))).toEqual(names);
  });
  it('a unit the registry does not know is left to local planes', () => {
    expect(detectorNamesFor(undefined)).toEqual(['local-planes']);
  });
});
