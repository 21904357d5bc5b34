import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ArgoCdCredentialsError,
  ArgoCdForbidden,
  ArgoCdNotFound,
  ArgoCdUnauthorized,
  ArgoCdUnavailable,
  createArgoCdClient,
  readBearerToken,
} from '../../../activities/argocd/client';
import {
  argoCdFixture,
  resourceDiffOf,
  startArgoCdApiServer,
  type ArgoCdApiServer,
} from '../../support/argocd-api-server';

const TOKEN = 'argocd-test-token.eyJzdWIiOiJkcmlmdHBsYW5lIn0.c2lnbmF0dXJl';
let server: ArgoCdApiServer;
let dir: string;

beforeAll(async () => {
  server = await startArgoCdApiServer({ token: TOKEN });
  dir = mkdtempSync(path.join(os.tmpdir(), 'argocd-client-'));
  // The real Application of argo-cd's controller tests (namespace argo-cd), with the util/argo desired/live pair.
  const app = argoCdFixture('controller__testdata__diff-cache.yaml');
  const desired = argoCdFixture('util__argo__testdata__desired_deployment.yaml');
  const live = argoCdFixture('util__argo__testdata__live_deployment_with_managed_replica.yaml');
  server.setApplication(app, [resourceDiffOf({ desired, live, modified: true })]);
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  expect(server.invalid()).toEqual([]);
  server.requests.length = 0;
});

const client = (env: NodeJS.ProcessEnv = { ARGOCD_TOKEN: TOKEN }, timeoutMs?: number) =>
  createArgoCdClient({
    server: server.url,
    token: { ref: { env: 'ARGOCD_TOKEN' }, env },
    ...(timeoutMs ? { timeoutMs } : {}),
  });

/** Every field and message of an error, as text: where a leaked token would show. */
const everything = (err: unknown): string =>
  `${String(err)} ${JSON.stringify(err)} ${(err as Error).stack ?? ''}`;

describe('Argo CD client, against the swagger-validating stand-in', () => {
  it('reads the Application with appNamespace, as ApplicationService_Get', async () => {
    const app = await client().getApplication('velero-test', { appNamespace: 'argo-cd' });
    expect(app.status?.sync?.status).toBe('Synced');
    expect(app.status?.operationState?.phase).toBe('Succeeded');
    expect(app.status?.resources?.map((r) => r.kind)).toEqual(['Service', 'Deployment']);
    const [req] = server.requests;
    expect(req).toMatchObject({
      operationId: 'ApplicationService_Get',
      template: '/api/v1/applications/{name}',
      pathParams: { name: 'velero-test' },
      query: { appNamespace: ['argo-cd'] },
      bearer: 'ok',
      status: 200,
    });
  });

  it('reads the managed resources, as ApplicationService_ManagedResources, each state a JSON string', async () => {
    const r = await client().managedResources('velero-test', { appNamespace: 'argo-cd' });
    expect(r.items).toHaveLength(1);
    const item = r.items[0]!;
    expect(item).toMatchObject({
      group: 'apps',
      kind: 'Deployment',
      name: 'kustomize-guestbook-ui',
      namespace: 'default',
      modified: true,
    });
    expect(typeof item.liveState).toBe('string');
    expect((JSON.parse(item.liveState!) as { spec: { replicas: number } }).spec.replicas).toBe(2);
    expect(server.requests[0]).toMatchObject({
      operationId: 'ApplicationService_ManagedResources',
      template: '/api/v1/applications/{applicationName}/managed-resources',
      pathParams: { applicationName: 'velero-test' },
    });
  });

  it('sends no appNamespace when none is set (the server then looks in its own namespace)', async () => {
    await expect(client().getApplication('velero-test')).rejects.toBeInstanceOf(ArgoCdNotFound);
    expect(server.requests[0]!.query).toEqual({});
  });

  it('reads the token at call time, from env or a file (trailing newline dropped)', async () => {
    const env: NodeJS.ProcessEnv = {};
    const c = client(env);
    await expect(c.getApplication('velero-test', { appNamespace: 'argo-cd' })).rejects.toBeInstanceOf(
      ArgoCdCredentialsError,
    );
    expect(server.requests).toHaveLength(0); // nothing is sent without a token
    env.ARGOCD_TOKEN = TOKEN;
    await expect(c.getApplication('velero-test', { appNamespace: 'argo-cd' })).resolves.toBeTruthy();

    const file = path.join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    expect(await readBearerToken({ ref: { file } })).toBe(TOKEN);
    const fromFile = createArgoCdClient({ server: server.url, token: { ref: { file } } });
    await expect(fromFile.managedResources('velero-test', { appNamespace: 'argo-cd' })).resolves.toBeTruthy();
    await expect(readBearerToken({ ref: { file: path.join(dir, 'missing') } })).rejects.toThrow(
      /token file .*missing cannot be read \(ENOENT\)/,
    );
    writeFileSync(file, '\n');
    await expect(readBearerToken({ ref: { file } })).rejects.toThrow(/is empty/);
  });

  it.each([
    [401, ArgoCdUnauthorized],
    [403, ArgoCdForbidden],
    [404, ArgoCdNotFound],
    [500, ArgoCdUnavailable],
    [503, ArgoCdUnavailable],
  ] as const)('maps %i onto %o with its status and operation', async (status, type) => {
    server.failNext({ status, message: `failure ${status}`, times: 1 });
    const err = await client()
      .getApplication('velero-test', { appNamespace: 'argo-cd' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect(err).toMatchObject({ status, operation: 'ApplicationService_Get' });
    expect((err as Error).message).toContain(`answered ${status}: failure ${status}`);
  });

  it('a token the server does not accept is 401 ArgoCdUnauthorized (a valid request, not a malformed one)', async () => {
    const err = await client({ ARGOCD_TOKEN: 'another-token-value-1234567890' })
      .getApplication('velero-test', { appNamespace: 'argo-cd' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgoCdUnauthorized);
    expect(server.requests[0]).toMatchObject({ bearer: 'wrong', valid: true, status: 401 });
  });

  it('never lets the token into an error, even when the server echoes the Authorization header', async () => {
    server.failNext({ status: 500, message: 'upstream said: {authorization}', times: 1 });
    const err = await client()
      .getApplication('velero-test', { appNamespace: 'argo-cd' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgoCdUnavailable);
    expect((err as Error).message).toContain('upstream said: Bearer [REDACTED]');
    expect(everything(err)).not.toContain(TOKEN);
  });

  it('times out as ArgoCdUnavailable, naming the limit', async () => {
    server.failNext({ status: 200, delayMs: 2_000, times: 1 });
    const err = await client(undefined, 200)
      .getApplication('velero-test', { appNamespace: 'argo-cd' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgoCdUnavailable);
    expect((err as Error).message).toMatch(/timed out after 200 ms/);
  });

  it('a server that is not there is ArgoCdUnavailable', async () => {
    const gone = await startArgoCdApiServer({ token: TOKEN });
    const url = gone.url;
    await gone.close();
    const err = await createArgoCdClient({ server: url, token: { ref: { env: 'T' }, env: { T: TOKEN } } })
      .getApplication('x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgoCdUnavailable);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(everything(err)).not.toContain(TOKEN);
  });

  it('a 200 that is not the documented shape is a bad response, never an empty app', async () => {
    server.failNext({ status: 200, rawBody: '{"items":{"not":"a list"}}', times: 1 });
    await expect(client().managedResources('velero-test', { appNamespace: 'argo-cd' })).rejects.toThrow(
      /items is not a list/,
    );
    server.failNext({ status: 200, rawBody: '<html>proxy login</html>', times: 1 });
    await expect(client().getApplication('velero-test', { appNamespace: 'argo-cd' })).rejects.toThrow(
      /not JSON/,
    );
  });
});

describe('the stand-in catches requests that break the API description', () => {
  it('records an undeclared query parameter, a wrong method, an unknown path and a missing bearer as invalid', async () => {
    const base = server.url;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const r1 = await fetch(`${base}/api/v1/applications/velero-test?appNamespace=argo-cd&namespace=x`, {
      headers: auth,
    });
    const r2 = await fetch(`${base}/api/v1/applications/velero-test/managed-resources`, {
      method: 'POST',
      headers: auth,
    });
    const r3 = await fetch(`${base}/api/v1/application/velero-test`, { headers: auth });
    const r4 = await fetch(`${base}/api/v1/applications/velero-test?appNamespace=argo-cd`);
    const r5 = await fetch(`${base}/api/v1/applications/velero-test/managed-resources?appNamespace=argo-cd`, {
      headers: { authorization: TOKEN },
    });
    expect([r1.status, r2.status, r3.status, r4.status, r5.status]).toEqual([400, 400, 400, 400, 400]);
    const reasons = server.invalid().map((r) => r.reasons.join('; '));
    expect(reasons).toEqual([
      expect.stringContaining('query parameter namespace is not declared by ApplicationService_Get'),
      expect.stringContaining(
        'POST is not an operation of /api/v1/applications/{applicationName}/managed-resources',
      ),
      expect.stringContaining('no path of the Argo CD API matches /api/v1/application/velero-test'),
      expect.stringContaining('no Authorization header'),
      expect.stringContaining('not `Bearer <token>`'),
    ]);
    server.requests.length = 0; // these were meant to be invalid
  });

  it('refuses to serve an Application that does not fit v1alpha1Application', () => {
    expect(() =>
      server.setApplication({ metadata: { name: 'bad' }, status: { resources: 'none' } }, []),
    ).toThrow(/does not fit v1alpha1Application/);
    expect(() =>
      server.setApplication({ metadata: { name: 'bad' } }, [
        { kind: 'Deployment', liveState: { not: 'a string' } },
      ]),
    ).toThrow(/applicationManagedResourcesResponse/);
  });
});
