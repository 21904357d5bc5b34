import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assumeUnitRole,
  buildAssumeRoleInput,
  createAwsActivities,
  sessionNameFor,
  type AwsActivitiesConfig,
  type AwsUnit,
} from '../../../activities/aws';
import { motoAccountId, motoCredentials, startMoto, type MotoServer } from '../../support/moto';

const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: {
        Federated: `arn:aws:iam::${motoAccountId}:oidc-provider/token.actions.githubusercontent.com`,
      },
      Action: 'sts:AssumeRoleWithWebIdentity',
    },
  ],
});

let moto: MotoServer;
let config: AwsActivitiesConfig;
let dir: string;

const unit = (name: string, role: string, extra: Partial<AwsUnit['credentials']> = {}): AwsUnit => ({
  name,
  owner: 'platform-network',
  environment: 'prod',
  credentials: { roleArn: `arn:aws:iam::${motoAccountId}:role/${role}`, ...extra },
  state: { backend: 'local', path: '/nonexistent/terraform.tfstate' },
});

beforeAll(async () => {
  moto = await startMoto();
  config = { endpoint: moto.endpoint, region: 'us-east-1', baseCredentials: motoCredentials };
  dir = await mkdtemp(path.join(tmpdir(), 'driftplane-sts-'));
  const iam = new IAMClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials: motoCredentials });
  for (const role of ['iac-drift-payments-network', 'iac-drift-identity-core', 'iac-drift-web-edge']) {
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: trust }));
  }
});

afterAll(async () => {
  await moto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('credentials per stack (moto STS)', () => {
  it('gives each unit its own assumed-role identity, named after the unit', async () => {
    const tokenFile = path.join(dir, 'oidc-token');
    await writeFile(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvaW5mcmEtbGl2ZSJ9.c2ln\n');
    const units = [
      unit('payments-prod-network', 'iac-drift-payments-network'),
      unit('identity core/prod', 'iac-drift-identity-core'),
      unit('web-edge-prod', 'iac-drift-web-edge', { webIdentityTokenFile: tokenFile }),
    ];
    const envBefore = JSON.stringify(Object.entries(process.env).filter(([k]) => k.startsWith('AWS_')));
    const activities = createAwsActivities(config);
    const identities = [];
    for (const u of units) identities.push(await activities.checkUnitIdentity(u));

    expect(identities.map((i) => i.callerArn)).toEqual([
      `arn:aws:sts::${motoAccountId}:assumed-role/iac-drift-payments-network/payments-prod-network`,
      `arn:aws:sts::${motoAccountId}:assumed-role/iac-drift-identity-core/${sessionNameFor('identity core/prod')}`,
      `arn:aws:sts::${motoAccountId}:assumed-role/iac-drift-web-edge/web-edge-prod`,
    ]);
    expect(identities.every((i) => i.accountId === motoAccountId)).toBe(true);
    // The sanitized name is still recognisably the unit's.
    expect(identities[1]?.sessionName).toMatch(/^identity-core-prod-[0-9a-f]{8}$/);
    // Nothing leaked into the worker's own environment.
    expect(JSON.stringify(Object.entries(process.env).filter(([k]) => k.startsWith('AWS_')))).toBe(envBefore);
  });

  it('keeps each unit’s credentials in its own session, out of JSON and inspect output', async () => {
    const a = await assumeUnitRole(config, unit('payments-prod-network', 'iac-drift-payments-network'));
    const b = await assumeUnitRole(config, unit('identity-core-prod', 'iac-drift-identity-core'));
    const envA = a.processEnv({
      PATH: '/usr/bin',
      AWS_PROFILE: 'admin',
      AWS_ACCESS_KEY_ID: 'AKIAWORKERSHARED0001',
    });
    const envB = b.processEnv({});
    const keyA = envA.AWS_ACCESS_KEY_ID ?? '';
    const secretA = envA.AWS_SECRET_ACCESS_KEY ?? '';
    // Compare without handing secrets to the assertion library (a failure would print them).
    expect(keyA.length > 0 && keyA !== envB.AWS_ACCESS_KEY_ID).toBe(true);
    expect(envA.AWS_PROFILE).toBeUndefined();
    expect(envA.PATH).toBe('/usr/bin');
    expect(envA.AWS_ENDPOINT_URL).toBe(moto.endpoint);
    for (const shown of [JSON.stringify(a), inspect(a, { depth: 5, showHidden: true }), String(a)]) {
      expect(shown.includes(keyA) || shown.includes(secretA)).toBe(false);
    }
    expect(JSON.parse(JSON.stringify(a))).toEqual({
      unit: 'payments-prod-network',
      roleArn: `arn:aws:iam::${motoAccountId}:role/iac-drift-payments-network`,
      sessionName: 'payments-prod-network',
      assumedRoleArn: `arn:aws:sts::${motoAccountId}:assumed-role/iac-drift-payments-network/payments-prod-network`,
      expiration: expect.any(String),
    });
  });

  it('fails non-retryably, naming unit and file, when the OIDC token file is missing', async () => {
    const missing = path.join(dir, 'no-such-token');
    const err = await assumeUnitRole(
      config,
      unit('web-edge-prod', 'iac-drift-web-edge', { webIdentityTokenFile: missing }),
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    const failure = err as ApplicationFailure;
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe('WebIdentityTokenUnreadable');
    expect(failure.message).toContain('web-edge-prod');
    expect(failure.message).toContain(missing);
  });

  it('rejects an invalid unit before calling AWS', async () => {
    const bad = { ...unit('x1', 'r'), credentials: { roleArn: 'not-an-arn' } };
    const err = await createAwsActivities(config)
      .checkUnitIdentity(bad)
      .catch((e: unknown) => e);
    expect((err as ApplicationFailure).type).toBe('InvalidActivityInput');
    expect((err as ApplicationFailure).message).toContain('/credentials/roleArn');
  });
});

describe('AssumeRole request', () => {
  it('uses the unit name as session name and tags the session with unit, owner and environment', () => {
    expect(
      buildAssumeRoleInput({
        ...unit('payments-prod-network', 'r'),
        owner: 'team payments (eu)',
        credentials: { roleArn: 'arn:aws:iam::123456789012:role/r', externalId: 'ext-1' },
      }),
    ).toEqual({
      RoleArn: 'arn:aws:iam::123456789012:role/r',
      RoleSessionName: 'payments-prod-network',
      ExternalId: 'ext-1',
      Tags: [
        { Key: 'unit', Value: 'payments-prod-network' },
        { Key: 'owner', Value: 'team payments _eu_' },
        { Key: 'environment', Value: 'prod' },
      ],
    });
  });

  it.each([
    ['payments-prod-network', 'payments-prod-network'],
    ['a.b@c=d,e+f_g', 'a.b@c=d,e+f_g'],
  ])('keeps a valid session name %s', (name, expected) => {
    expect(sessionNameFor(name)).toBe(expected);
  });

  it.each(['x', 'team/unit name', 'ü-unit', 'n'.repeat(80), `${'n'.repeat(70)}-other`])(
    'sanitizes %s to STS rules',
    (name) => {
      const s = sessionNameFor(name);
      expect(s).toMatch(/^[\w+=,.@-]{2,64}$/);
    },
  );

  it('never maps two units onto one session name', () => {
    expect(sessionNameFor('a/b')).not.toBe(sessionNameFor('a b'));
    expect(sessionNameFor(`${'n'.repeat(70)}-one`)).not.toBe(sessionNameFor(`${'n'.repeat(70)}-two`));
  });
});
