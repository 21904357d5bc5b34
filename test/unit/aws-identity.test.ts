import { describe, expect, it } from 'vitest';
import { awsIdentityOf, awsUnitOf } from '../../activities/scan/detectors';
import { testUnit } from '../support/classify-observation';

const role = 'arn:aws:iam::111122223333:role/drift-web';

describe("a unit's AWS identity is its role alone; the inventory scan also needs its state", () => {
  it('a stack whose state is behind an http backend still has an identity for its plan process, but no inventory scan', () => {
    const u = testUnit('web', { type: 'opentofu-stack', state: { backend: 'http', url: 'https://tf.example/state' }, credentials: { roleArn: role, externalId: 'x-1' } });
    expect(awsIdentityOf(u, {})).toEqual({ identity: { name: 'web', owner: 'shop', environment: 'dev', credentials: { roleArn: role, externalId: 'x-1' } } });
    expect(awsUnitOf(u, {})).toEqual({ error: 'unit web: the inventory scan reads s3 or local tfstate, not backend http' });
  });
  it('an OIDC role needs the worker token file; a token-only unit has no AWS role, and says so', () => {
    const oidc = testUnit('web', { type: 'opentofu-stack', credentials: { oidcRole: role } });
    expect(awsIdentityOf(oidc, {})).toEqual({ error: 'unit web uses an OIDC role but no web identity token file is configured (DRIFTPLANE_AWS_WEB_IDENTITY_TOKEN_FILE)' });
    expect(awsIdentityOf(oidc, { webIdentityTokenFile: '/var/run/token' })).toMatchObject({ identity: { credentials: { roleArn: role, webIdentityTokenFile: '/var/run/token' } } });
    const tokenOnly = testUnit('app', { type: 'argocd-app', credentials: { token: { env: 'ARGOCD_TOKEN' } } });
    expect(awsIdentityOf(tokenOnly, {})).toEqual({ error: 'unit app has no AWS role in the registry (credentials.roleArn or credentials.oidcRole)' });
  });
});
