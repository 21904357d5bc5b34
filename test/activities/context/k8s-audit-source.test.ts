import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { k8sAuditSource, readK8sAuditLog } from '../../../activities/context/k8s-audit-source';
import { joinContext } from '../../../activities/context/source';
import { LocalPlanes } from '../../../activities/local-planes/local-planes';
import { DEMO_BREAK_GLASS_ROLE, DEMO_HOTFIX, hotfixChange, seedDemoSandbox } from '../../../cli/demo-sandbox';
import type { DriftObservation } from '../../../domain/finding';
import {
  breakGlassRolesFor,
  defaultRegistryDir,
  loadRegistryOrThrow,
  type Registry,
} from '../../../registry';
import { sharedFixture } from '../../support/shared-fixtures';

const FIXTURES = sharedFixture('k8s-audit');
let tmp: string;
let registry: Registry;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'driftplane-k8s-audit-'));
  registry = await loadRegistryOrThrow(defaultRegistryDir);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every fixture event, as the objects the API server wrote (read at test time). */
async function fixtureEvents(): Promise<Record<string, unknown>[]> {
  const files = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(
      async (f) => JSON.parse(await readFile(path.join(FIXTURES, f), 'utf8')) as Record<string, unknown>,
    ),
  );
}

const observation = (
  resourceRef: string,
  detectedAt: string,
  over: Partial<DriftObservation> = {},
): DriftObservation => ({
  unit: 'checkout-web-prod',
  resourceRef,
  resourceType: resourceRef.split('/')[0]!,
  relationship: 'desired!=actual',
  changeType: 'modified',
  changedFields: ['/spec'],
  diff: [{ path: '/spec', kind: 'changed' }],
  detectedAt,
  detector: 'argocd',
  ...over,
});

const unit = () => registry.units.get('checkout-web-prod')!;

describe('k8s-audit context source', () => {
  it('names the actor of each Kubernetes observation from a log file of JSON lines (the log backend)', async () => {
    const log = path.join(tmp, 'audit.log');
    await writeFile(log, (await fixtureEvents()).map((e) => `${JSON.stringify(e)}\n`).join(''));
    const source = k8sAuditSource({ path: log });
    const observations = [
      observation('ClusterRole/_/system:node-problem-detector', '2026-01-01T00:00:00Z'),
      // Between the human's create (13:07:36) and delete (13:09:27) of the Deployment.
      observation('Deployment/default/nginx-deployment', '2018-10-26T13:08:00Z'),
      observation('Secret/test2/default-token-7v4pb', '2026-01-01T00:00:00Z'),
      observation('aws_security_group.web', '2026-01-01T00:00:00Z'),
      observation('Deployment/default/never-touched', '2026-01-01T00:00:00Z'),
    ];
    const patches = await source.contextFor({
      unit: unit(),
      registry,
      observations,
      now: new Date('2026-01-01T00:00:00Z'),
    });
    expect(source.name).toBe('k8s-audit');
    expect(patches).toEqual([
      {
        actor: {
          actor: { id: 'minikube-user', type: 'human' },
          source: 'k8s-audit',
          eventTime: '2018-10-26T14:11:51.039Z',
          eventName: 'patch',
        },
      },
      {
        actor: {
          actor: { id: 'minikube-user', type: 'human' },
          source: 'k8s-audit',
          eventTime: '2018-10-26T13:07:36.911Z',
          eventName: 'create',
        },
      },
      {
        actor: {
          actor: { id: 'system:kube-controller-manager', type: 'controller' },
          source: 'k8s-audit',
          eventTime: '2020-04-21T17:32:29.942Z',
          eventName: 'create',
        },
      },
      undefined,
      undefined,
    ]);
    // After the delete, the delete is the latest change.
    const [after] = await source.contextFor({
      unit: unit(),
      registry,
      observations: [observation('Deployment/default/nginx-deployment', '2026-01-01T00:00:00Z')],
      now: new Date(),
    });
    expect(after?.actor).toMatchObject({
      actor: { id: 'minikube-user', type: 'human' },
      eventName: 'delete',
    });
  });

  it('names the replicaset-controller service account as a controller (the Pod it created)', async () => {
    const log = path.join(tmp, 'audit-pods.log');
    await writeFile(log, (await fixtureEvents()).map((e) => JSON.stringify(e)).join('\n'));
    const events = await readK8sAuditLog(log);
    const pod = events.find((e) => e.objectRef.resource === 'pods')!;
    const [patch] = await k8sAuditSource({ path: log }).contextFor({
      unit: unit(),
      registry,
      observations: [observation(`Pod/default/${pod.objectRef.name!}`, '2026-01-01T00:00:00Z')],
      now: new Date(),
    });
    expect(patch?.actor?.actor).toEqual({
      id: 'system:serviceaccount:kube-system:replicaset-controller',
      type: 'controller',
    });
  });

  it('reads a folder the webhook backend writes: EventList bodies and event arrays, every file', async () => {
    const dir = path.join(tmp, 'webhook');
    await mkdir(dir, { recursive: true });
    const events = await fixtureEvents();
    await writeFile(
      path.join(dir, '0001.json'),
      JSON.stringify({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1',
        metadata: {},
        items: events.slice(0, 3),
      }),
    );
    await writeFile(path.join(dir, '0002.json'), JSON.stringify(events.slice(3), null, 2));
    expect(await readK8sAuditLog(dir)).toHaveLength(events.length);
    const [p] = await k8sAuditSource({ path: dir }).contextFor({
      unit: unit(),
      registry,
      observations: [
        observation(
          'ConfigMap/openshift-kube-controller-manager/cert-recovery-controller-lock',
          '2026-01-01T00:00:00Z',
        ),
      ],
      now: new Date(),
    });
    expect(p?.actor).toMatchObject({
      actor: {
        id: 'system:serviceaccount:openshift-kube-controller-manager:localhost-recovery-client',
        type: 'controller',
      },
      eventName: 'update',
    });
  });

  it('takes break-glass roles from the registry (unit and team) and CI identities from config', async () => {
    expect(breakGlassRolesFor(registry, 'checkout-web-prod')).toContain(DEMO_BREAK_GLASS_ROLE);
    const base = (await fixtureEvents()).find(
      (e) =>
        e.verb === 'create' &&
        (e.objectRef as { resource: string }).resource === 'secrets' &&
        (e.user as { username: string }).username === 'minikube-user',
    )!;
    const as = (user: object, at: string) =>
      JSON.stringify({
        ...base,
        user,
        stageTimestamp: at,
        objectRef: {
          resource: 'deployments',
          apiGroup: 'apps',
          apiVersion: 'v1',
          namespace: 'checkout',
          name: 'web',
        },
        verb: 'patch',
      });
    const log = path.join(tmp, 'bg.log');
    await writeFile(
      log,
      [
        as(
          {
            username: 'maria.lopez@acme.example',
            groups: ['system:authenticated'],
            extra: {
              arn: ['arn:aws:sts::111122223333:assumed-role/acme-break-glass/maria.lopez@acme.example'],
              canonicalArn: [DEMO_BREAK_GLASS_ROLE],
            },
          },
          '2026-01-01T10:00:00Z',
        ),
        as(
          { username: 'system:serviceaccount:ci:deploy-bot', groups: ['system:serviceaccounts'] },
          '2026-01-01T11:00:00Z',
        ),
      ].join('\n') + '\n',
    );
    const source = k8sAuditSource({ path: log, actors: { ciIdentities: ['deploy-bot'] } });
    const [bg, ci] = await source.contextFor({
      unit: unit(),
      registry,
      observations: [
        observation('Deployment/checkout/web', '2026-01-01T10:30:00Z'),
        observation('Deployment/checkout/web', '2026-01-01T12:00:00Z'),
      ],
      now: new Date(),
    });
    expect(bg?.actor?.actor).toEqual({ id: 'maria.lopez@acme.example', type: 'break-glass' });
    expect(ci?.actor?.actor).toEqual({ id: 'system:serviceaccount:ci:deploy-bot', type: 'ci' });
    // A unit of a team without break-glass roles: the same session is just a person.
    const other = [...registry.units.values()].find(
      (u) => breakGlassRolesFor(registry, u.metadata.name).length === 0,
    )!;
    const [plain] = await k8sAuditSource({ path: log }).contextFor({
      unit: other,
      registry,
      observations: [observation('Deployment/checkout/web', '2026-01-01T10:30:00Z')],
      now: new Date(),
    });
    expect(plain?.actor?.actor).toEqual({ id: 'maria.lopez@acme.example', type: 'human' });
  });

  it('picks the log per cluster; a missing or broken log is unjoined context, never an empty one', async () => {
    const source = k8sAuditSource({ path: path.join(tmp, 'clusters', '{cluster}', 'audit.log') });
    const obs = [observation('Deployment/checkout/web', '2026-01-01T00:00:00Z')];
    await expect(
      source.contextFor({ unit: unit(), registry, observations: obs, now: new Date() }),
    ).rejects.toThrow(/Kubernetes audit log .*clusters\/.+\/audit\.log: no such file or folder/);
    const joined = await joinContext([source], {
      unit: unit(),
      registry,
      observations: obs,
      now: new Date(),
    });
    expect(joined[0]!.context?.unjoined).toEqual([
      expect.stringMatching(/^k8s-audit: Kubernetes audit log .*no such file or folder/),
    ]);
    expect(joined[0]!.auditCorrelation).toBeUndefined();

    const bad = path.join(tmp, 'bad.log');
    await writeFile(bad, '{"kind":"Event"\n{"kind":"Event"}\n');
    const broken = await joinContext([k8sAuditSource({ path: bad })], {
      unit: unit(),
      registry,
      observations: obs,
      now: new Date(),
    });
    expect(broken[0]!.context?.unjoined).toEqual([
      expect.stringMatching(/^k8s-audit: .*bad\.log line 1: not JSON/),
    ]);
  });

  it('joins the actor into an observation the detector left without one, and keeps a detector’s own', async () => {
    const log = path.join(tmp, 'join.log');
    await writeFile(log, (await fixtureEvents()).map((e) => JSON.stringify(e)).join('\n') + '\n');
    const own = {
      actor: { id: 'someone', type: 'ci' as const },
      source: 'argocd',
      eventTime: '2025-01-01T00:00:00.000Z',
    };
    const [joined, kept] = await joinContext([k8sAuditSource({ path: log })], {
      unit: unit(),
      registry,
      observations: [
        observation('ClusterRole/_/system:node-problem-detector', '2026-01-01T00:00:00Z'),
        observation('ClusterRole/_/system:node-problem-detector', '2026-01-01T00:00:00Z', {
          auditCorrelation: own,
        }),
      ],
      now: new Date(),
    });
    expect(joined!.auditCorrelation).toMatchObject({
      actor: { id: 'minikube-user', type: 'human' },
      source: 'k8s-audit',
    });
    expect(kept!.auditCorrelation).toEqual(own);
  });
});

describe('the demo sandbox writes audit.k8s.io/v1 events, and local planes read them', () => {
  it('names the people of the out-of-band changes, and the break-glass session of the hotfix', async () => {
    const planes = path.join(tmp, 'planes');
    const now = new Date();
    await seedDemoSandbox(planes, now);
    const lines = (await readFile(path.join(planes, 'checkout-web-prod', 'audit.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        stage: 'ResponseComplete',
        verb: 'patch',
        user: expect.objectContaining({ username: 'dave.kim@acme.example' }),
        userAgent: expect.stringMatching(/^kubectl\//),
        objectRef: expect.objectContaining({
          resource: 'deployments',
          apiGroup: 'apps',
          namespace: 'checkout',
          name: 'web',
        }),
        responseStatus: expect.objectContaining({ code: 200 }),
      }),
    ]);
    // The same line read by the production parser (the context source) as by the local planes.
    const viaSource = await readK8sAuditLog(path.join(planes, 'checkout-web-prod', 'audit.jsonl'));
    expect(viaSource[0]).toMatchObject({ verb: 'patch', user: { username: 'dave.kim@acme.example' } });

    const plain = new LocalPlanes(planes);
    const detected = await plain.detect('checkout-web-prod', new Date(now.getTime() + 1000));
    expect(detected.status).toBe('ok');
    const o = detected.status === 'ok' ? detected.observations[0]! : undefined;
    expect(o?.auditCorrelation).toEqual({
      actor: { id: 'dave.kim@acme.example', type: 'human' },
      source: 'k8s-audit',
      eventTime: new Date(now.getTime() - 60_000).toISOString(),
      eventName: 'patch',
    });
    const staging = await plain.detect('catalog-web-staging', new Date(now.getTime() + 1000));
    expect(staging.status === 'ok' && staging.observations[0]?.auditCorrelation?.actor).toEqual({
      id: 'sam.ortiz@acme.example',
      type: 'human',
    });
    // Detected before the change happened: no event explains it.
    const early = await plain.detect('checkout-web-prod', new Date(now.getTime() - 120_000));
    expect(early.status === 'ok' && early.observations[0]?.auditCorrelation).toBeUndefined();

    const later = new Date(now.getTime() + 5 * 60_000);
    await hotfixChange(planes, later);
    const withRoles = new LocalPlanes(planes, undefined, {
      auditActors: (u) => ({ breakGlassRoleArns: breakGlassRolesFor(registry, u) }),
    });
    const hot = await withRoles.detect(DEMO_HOTFIX.unit, new Date(later.getTime() + 1000));
    expect(hot.status === 'ok' && hot.observations[0]?.auditCorrelation).toEqual({
      actor: { id: DEMO_HOTFIX.actor, type: 'break-glass' },
      source: 'k8s-audit',
      eventTime: new Date(later.getTime() - 60_000).toISOString(),
      eventName: 'patch scale',
    });
    // Without the registry's roles, the same session is a person, not break-glass.
    const hotPlain = await plain.detect(DEMO_HOTFIX.unit, new Date(later.getTime() + 1000));
    expect(hotPlain.status === 'ok' && hotPlain.observations[0]?.auditCorrelation?.actor).toEqual({
      id: DEMO_HOTFIX.actor,
      type: 'human',
    });
  });

  it('still reads the hand-written lines, and an event whose actor a test set by hand', async () => {
    const planes = path.join(tmp, 'planes-legacy');
    const now = new Date();
    await seedDemoSandbox(planes, now);
    const file = path.join(planes, 'checkout-web-prod', 'audit.jsonl');
    const lines = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as object);
    const override = { id: 'maria.lopez@acme.example', type: 'break-glass' as const };
    await writeFile(
      file,
      lines.map((l) => JSON.stringify({ ...l, actor: override, eventTime: now.toISOString() })).join('\n') +
        '\n',
    );
    const d = await new LocalPlanes(planes).detect('checkout-web-prod', new Date(now.getTime() + 1000));
    expect(d.status === 'ok' && d.observations[0]?.auditCorrelation).toEqual({
      actor: override,
      source: 'k8s-audit',
      eventTime: now.toISOString(),
      eventName: 'patch',
    });

    const legacy = {
      resourceRef: 'Deployment/checkout/web',
      actor: { id: 'tom.berg@acme.example', type: 'human' },
      eventTime: new Date(now.getTime() + 500).toISOString(),
      eventName: 'kubectl scale',
      source: 'k8s-audit',
    };
    await writeFile(file, `${JSON.stringify(legacy)}\n`, { flag: 'a' });
    const d2 = await new LocalPlanes(planes).detect('checkout-web-prod', new Date(now.getTime() + 1000));
    expect(d2.status === 'ok' && d2.observations[0]?.auditCorrelation).toEqual({
      actor: legacy.actor,
      source: 'k8s-audit',
      eventTime: legacy.eventTime,
      eventName: 'kubectl scale',
    });

    await writeFile(file, '{"kind":"Event","verb":"patch"}\n', { flag: 'a' });
    const bad = await new LocalPlanes(planes).detect('checkout-web-prod', new Date());
    expect(bad).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/audit\.jsonl line 3 \/user: not an audit event/),
    });
  });
});
