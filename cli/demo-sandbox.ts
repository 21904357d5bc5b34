import { execFile } from 'node:child_process';
import { mkdir, readFile, realpath, rm, writeFile, appendFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { manifestRef } from '../domain/finding';

const run = promisify(execFile);

/**
 * The demo's sandbox: two Argo CD-style apps from registry/examples/acme, each with its desired
 * manifests (what Git renders) and its actual ones (what runs), then one out-of-band change each,
 * written the way a person would make it, with an audit line saying who did it.
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
  changes.push(await mutate(planesDir, 'checkout-web-prod', patched, { id: 'dave.kim@acme.example', type: 'human' }, 'kubectl set image', now, 'set image to a mutable debug tag'));

  // Someone relabels the staging app by hand (kubectl label): low risk, Git owns the field, auto-heal may revert it.
  const relabelled = withStatus(catalog);
  relabelled.metadata.labels = { ...relabelled.metadata.labels, tier: 'experimental' };
  changes.push(await mutate(planesDir, 'catalog-web-staging', relabelled, { id: 'sam.ortiz@acme.example', type: 'human' }, 'kubectl label', now, 'relabelled tier=experimental'));
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

async function mutate(
  planesDir: string,
  unit: string,
  manifest: { kind: string; metadata: { name: string; namespace: string } },
  actor: DemoChange['actor'],
  eventName: string,
  now: Date,
  what: string,
): Promise<DemoChange> {
  const resourceRef = manifestRef(manifest);
  await writeFile(path.join(planesDir, unit, 'actual', 'deployment-web.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await appendFile(
    path.join(planesDir, unit, 'audit.jsonl'),
    `${JSON.stringify({ resourceRef, actor, eventTime: new Date(now.getTime() - 60_000).toISOString(), eventName, source: 'k8s-audit' })}\n`,
  );
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
  const live = JSON.parse(await readFile(file, 'utf8')) as { kind: string; metadata: { name: string; namespace: string }; spec: { replicas?: number } };
  live.spec.replicas = (live.spec.replicas ?? 1) * 2;
  return mutate(planesDir, DEMO_HOTFIX.unit, live, { id: DEMO_HOTFIX.actor, type: 'break-glass' }, 'kubectl scale', now, `scaled to ${live.spec.replicas} replicas during ${DEMO_HOTFIX.incident}`);
}
