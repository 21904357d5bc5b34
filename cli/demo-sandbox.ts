import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, rm, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { resourceOfKind } from '../domain/audit/k8s-audit';
import { manifestRef } from '../domain/finding';

const run = promisify(execFile);

/**
 * The demo's sandbox: two Argo CD-style apps from registry/examples/acme, each with its desired
 * manifests (what Git renders) and its actual ones (what runs), then one out-of-band change each,
 * written the way a person would make it, with the API server's audit event (`audit.k8s.io/v1`, one
 * JSON line in `<unit>/audit.jsonl`, as the log backend writes it) saying who did it.
 *
 * The sandbox folder is a real Git repository holding the desired manifests (YAML, with comments,
 * as a GitOps repository keeps them): reconciliation PRs are branches and commits in it, and
 * `driftplane prs merge` merges them with `git merge`. What runs (`actual/`) and the audit and
 * action logs are not desired state and stay out of Git.
 */

const deployment = (ns: string, name: string, image: string, labels: Record<string, string>) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns, labels },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name, image, resources: { requests: { cpu: '250m', memory: '256Mi' } } }] },
    },
  },
});

/** A live Deployment: the manifest plus the status its controller reports (all replicas available). */
const withStatus = <T extends { spec: { replicas: number } }>(m: T) => ({
  ...structuredClone(m),
  status: {
    replicas: m.spec.replicas,
    readyReplicas: m.spec.replicas,
    availableReplicas: m.spec.replicas,
    conditions: [{ type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable' }],
  },
});

/** One scripted out-of-band change. */
export interface DemoChange {
  unit: string;
  resourceRef: string;
  actor: { id: string; type: 'human' | 'break-glass' };
  what: string;
}

/** The units the demo uses, as named in registry/examples/acme. */
export const DEMO_UNITS = ['checkout-web-prod', 'catalog-web-staging'] as const;

/** The approver the demo answers as, and the actor whose change must not approve itself. */
export const DEMO_APPROVER = 'maria.lopez@acme.example';
/** Maria's Slack user id (registry: slackUserId): who the demo's Slack-shaped approval comes from. */
export const DEMO_APPROVER_SLACK_ID = 'U04MARIA';

/** Writes both planes for every demo unit (replacing an earlier run's), then makes the out-of-band changes. */
export async function seedDemoSandbox(planesDir: string, now: Date): Promise<DemoChange[]> {
  const checkout = deployment('checkout', 'web', 'ghcr.io/acme/checkout@sha256:4f3c9a1b7e2d', { app: 'web', tier: 'frontend' });
  const catalog = deployment('catalog', 'web', 'ghcr.io/acme/catalog@sha256:9b1d0c7e55aa', { app: 'web', tier: 'frontend' });
  const changes: DemoChange[] = [];
  for (const [unit, manifest] of [
    ['checkout-web-prod', checkout],
    ['catalog-web-staging', catalog],
  ] as const) {
    const dir = path.join(planesDir, unit);
    await rm(dir, { recursive: true, force: true });
    await mkdir(path.join(dir, 'desired'), { recursive: true });
    await mkdir(path.join(dir, 'actual'), { recursive: true });
    await writeFile(path.join(dir, 'desired', 'deployment-web.yaml'), desiredYaml(unit, manifest));
    // The live object carries the status its controller reports; Git never does.
    await writeFile(path.join(dir, 'actual', 'deployment-web.json'), `${JSON.stringify(withStatus(manifest), null, 2)}\n`);
  }
  await commitDesiredState(planesDir);

  // A person patches the production image by hand (kubectl set image): unauthorized runtime drift.
  const patched = withStatus(checkout);
  patched.spec.template.spec.containers[0]!.image = 'ghcr.io/acme/checkout:hotfix-debug';
  changes.push(await mutate(planesDir, 'checkout-web-prod', patched, { id: 'dave.kim@acme.example', type: 'human' }, { verb: 'patch' }, now, 'set image to a mutable debug tag'));

  // Someone relabels the staging app by hand (kubectl label): low risk, Git owns the field, auto-heal may revert it.
  const relabelled = withStatus(catalog);
  relabelled.metadata.labels = { ...relabelled.metadata.labels, tier: 'experimental' };
  changes.push(await mutate(planesDir, 'catalog-web-staging', relabelled, { id: 'sam.ortiz@acme.example', type: 'human' }, { verb: 'patch' }, now, 'relabelled tier=experimental'));
  return changes;
}

/** A desired manifest as the GitOps repository keeps it: YAML with a comment saying where it comes from. */
function desiredYaml(unit: string, manifest: object): string {
  return `# ${unit}: rendered by Argo CD from this file; driftplane PRs change it here.\n${stringify(manifest, { lineWidth: 0 })}`;
}

/**
 * Makes the sandbox a Git repository (once) and commits its desired state, so every run starts
 * from a clean working tree on \`main\`. Real \`git\`; an identity is passed so no global config is needed.
 */
export async function commitDesiredState(planesDir: string): Promise<void> {
  const git = (...args: string[]) => run('git', ['-c', 'user.name=driftplane demo', '-c', 'user.email=demo@driftplane.invalid', ...args], { cwd: planesDir });
  await mkdir(planesDir, { recursive: true });
  // The sandbox may sit inside another repository (a checkout of driftplane): it gets its own.
  const top = await git('rev-parse', '--show-toplevel').then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (!top || (await realpath(top)) !== (await realpath(planesDir))) await git('init', '-q', '-b', 'main');
  await writeFile(path.join(planesDir, '.gitignore'), '# What runs, and the audit and action logs, are not desired state.\n*/actual/\n*/audit.jsonl\n*/ledger.jsonl\n');
  // A branch left checked out by hand, or a merge left half-way, would make the next merge fail.
  await git('merge', '--abort').catch(() => undefined);
  await git('checkout', '-q', 'main').catch(() => undefined);
  await git('add', '-A');
  const staged = await git('diff', '--cached', '--quiet').then(
    () => false,
    () => true,
  );
  if (staged) await git('commit', '-q', '-m', 'demo: desired state');
}

/** The break-glass role of registry/examples/acme (units' and team's `breakGlassRoles`). */
export const DEMO_BREAK_GLASS_ROLE = 'arn:aws:iam::111122223333:role/acme-break-glass';

/** The request an out-of-band change made to the API server. */
interface DemoRequest {
  verb: 'patch' | 'update';
  subresource?: 'scale';
}

/**
 * The audit event the API server's log backend writes for a kubectl request (`audit.k8s.io/v1`,
 * level Metadata, stage ResponseComplete). A person signs in through the cluster's IAM mapping (as
 * on EKS): a break-glass session carries the role's ARNs in `user.extra`, as aws-iam-authenticator sets them.
 */
export function demoAuditEvent(
  manifest: { apiVersion?: string; kind: string; metadata: { name: string; namespace: string } },
  actor: DemoChange['actor'],
  request: DemoRequest,
  at: Date,
): Record<string, unknown> {
  const [group, version] = (manifest.apiVersion ?? 'apps/v1').includes('/') ? (manifest.apiVersion ?? 'apps/v1').split('/') : ['', manifest.apiVersion ?? 'v1'];
  const resource = resourceOfKind(manifest.kind);
  const received = new Date(at.getTime() - 7);
  const role = DEMO_BREAK_GLASS_ROLE.split('/').pop()!;
  const account = DEMO_BREAK_GLASS_ROLE.split(':')[4]!;
  const auditID = createHash('sha256').update(`${actor.id} ${manifestRef(manifest)} ${at.toISOString()}`).digest('hex');
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `${auditID.slice(0, 8)}-${auditID.slice(8, 12)}-${auditID.slice(12, 16)}-${auditID.slice(16, 20)}-${auditID.slice(20, 32)}`,
    stage: 'ResponseComplete',
    requestURI: `/apis/${group ? `${group}/` : ''}${version}/namespaces/${manifest.metadata.namespace}/${resource}/${manifest.metadata.name}${request.subresource ? `/${request.subresource}` : ''}`,
    verb: request.verb,
    user: {
      username: actor.id,
      uid: `aws-iam-authenticator:${account}:${actor.type === 'break-glass' ? 'AROA' : 'AIDA'}${auditID.slice(0, 16).toUpperCase()}`,
      groups: ['system:authenticated', ...(actor.type === 'break-glass' ? ['acme:break-glass'] : ['acme:developers'])],
      ...(actor.type === 'break-glass'
        ? {
            extra: {
              arn: [`arn:aws:sts::${account}:assumed-role/${role}/${actor.id}`],
              canonicalArn: [DEMO_BREAK_GLASS_ROLE],
              sessionName: [actor.id],
            },
          }
        : {}),
    },
    sourceIPs: ['10.20.4.17'],
    userAgent: 'kubectl/v1.30.2 (linux/amd64) kubernetes/3968350',
    objectRef: {
      resource,
      namespace: manifest.metadata.namespace,
      name: manifest.metadata.name,
      apiGroup: group,
      apiVersion: version,
      ...(request.subresource ? { subresource: request.subresource } : {}),
    },
    responseStatus: { metadata: {}, code: 200 },
    requestReceivedTimestamp: received.toISOString().replace('Z', '000Z'),
    stageTimestamp: at.toISOString().replace('Z', '000Z'),
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding' },
  };
}

async function mutate(
  planesDir: string,
  unit: string,
  manifest: { apiVersion?: string; kind: string; metadata: { name: string; namespace: string } },
  actor: DemoChange['actor'],
  request: DemoRequest,
  now: Date,
  what: string,
): Promise<DemoChange> {
  const resourceRef = manifestRef(manifest);
  await writeFile(path.join(planesDir, unit, 'actual', 'deployment-web.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await appendFile(path.join(planesDir, unit, 'audit.jsonl'), `${JSON.stringify(demoAuditEvent(manifest, actor, request, new Date(now.getTime() - 60_000)))}\n`);
  return { unit, resourceRef, actor, what };
}

/** The incident and the person of the demo's hotfix window. */
export const DEMO_HOTFIX = { unit: 'checkout-web-prod', incident: 'INC-9127', actor: 'maria.lopez@acme.example', reviewer: 'priya.nair@acme.example' } as const;

/**
 * During incident INC-9127 the on-call engineer scales the production checkout up by hand, under
 * a break-glass session, inside the hotfix window the demo opened: emergency drift, not an
 * unauthorized change. The actual plane is read as it is now (after any revert).
 */
export async function hotfixChange(planesDir: string, now: Date): Promise<DemoChange> {
  const file = path.join(planesDir, DEMO_HOTFIX.unit, 'actual', 'deployment-web.json');
  const live = JSON.parse(await readFile(file, 'utf8')) as { apiVersion?: string; kind: string; metadata: { name: string; namespace: string }; spec: { replicas?: number } };
  live.spec.replicas = (live.spec.replicas ?? 1) * 2;
  return mutate(planesDir, DEMO_HOTFIX.unit, live, { id: DEMO_HOTFIX.actor, type: 'break-glass' }, { verb: 'patch', subresource: 'scale' }, now, `scaled to ${live.spec.replicas} replicas during ${DEMO_HOTFIX.incident}`);
}
