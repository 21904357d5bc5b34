/**
 * A fleet of auto-healing units, for the load scenario (test/chaos/load.test.ts) and the lifecycle
 * benchmark (bench/lifecycle.bench.ts):
 * copies of the demo's `catalog-web-staging` unit in a copy of the keyed example registry, each
 * with a few Deployments relabelled by hand (tier=experimental) in the local planes, and the audit
 * event of each change. Every relabelled Deployment is one distinct drift that the unit's policy
 * heals without asking anyone.
 *
 * Many small units rather than one large one: the template's policy auto-heals at most PER_UNIT
 * objects per reconcile, so a larger unit would need people to approve.
 */
import { appendFile, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { commitDesiredState, demoAuditEvent, seedDemoSandbox } from '../../cli/demo-sandbox';
import { keyedAcmeRegistry } from './approver-keys';
import { repoRoot } from './shared-fixtures';

/** The demo unit every fleet unit copies: staging, low risk, auto-heal allowed. */
export const TEMPLATE_UNIT = 'catalog-web-staging';
/** The demo unit whose drift needs a person's (signed) approval. */
export const APPROVAL_UNIT = 'checkout-web-prod';
/** Drifted Deployments per fleet unit: within the template's auto-heal bound of 5 objects per reconcile. */
export const PER_UNIT = 5;

/** One unit of the fleet and how many drifted Deployments it holds. */
export interface FleetUnit {
  name: string;
  resources: number;
}

/** Fleet units holding `findings` drifts between them, named `<prefix>-<i>`, PER_UNIT each (the last one fewer). */
export function fleetUnits(prefix: string, findings: number): FleetUnit[] {
  return Array.from({ length: Math.ceil(findings / PER_UNIT) }, (_, i) => ({
    name: `${prefix}-${String(i + 1).padStart(3, '0')}`,
    resources: Math.min(PER_UNIT, findings - i * PER_UNIT),
  }));
}

/** A temporary copy of the keyed example registry plus one copy of TEMPLATE_UNIT per name (units/fleet.yaml). */
export async function fleetRegistry(names: string[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'driftplane-fleet-registry-'));
  await cp((await keyedAcmeRegistry()).registryDir, dir, { recursive: true });
  const source = await readFile(path.join(repoRoot, 'registry', 'examples', 'acme', 'units', 'apps-catalog.yaml'), 'utf8');
  const template = source.split(/^---$/m).find((d) => d.includes(`name: ${TEMPLATE_UNIT}\n`));
  if (!template) throw new Error(`${TEMPLATE_UNIT} is not in registry/examples/acme/units/apps-catalog.yaml`);
  const docs = names.map((name) =>
    template
      .replace(`name: ${TEMPLATE_UNIT}\n`, `name: ${name}\n`)
      .replace(/path: apps\/catalog-web\/overlays\/staging/, `path: apps/${name}`)
      .trim(),
  );
  await writeFile(path.join(dir, 'units', 'fleet.yaml'), `${docs.join('\n---\n')}\n`);
  return dir;
}

/**
 * Seeds the demo sandbox (its two units drift: one heals itself, one needs approval) and every
 * fleet unit with its Deployments like the demo's staging one, relabelled by hand, then commits the
 * desired state.
 */
export async function seedFleet(planesDir: string, units: FleetUnit[], now: Date): Promise<void> {
  await seedDemoSandbox(planesDir, now);
  const template = path.join(planesDir, TEMPLATE_UNIT);
  const desired = parseYaml(await readFile(path.join(template, 'desired', 'deployment-web.yaml'), 'utf8')) as { metadata: object };
  const actual = JSON.parse(await readFile(path.join(template, 'actual', 'deployment-web.json'), 'utf8')) as {
    kind: string;
    metadata: { name: string; namespace: string };
  };
  for (const unit of units) {
    const dir = path.join(planesDir, unit.name);
    await mkdir(path.join(dir, 'desired'), { recursive: true });
    await mkdir(path.join(dir, 'actual'), { recursive: true });
    const audit: string[] = [];
    for (let i = 1; i <= unit.resources; i++) {
      const name = `web-${i}`;
      await writeFile(path.join(dir, 'desired', `deployment-${name}.json`), `${JSON.stringify({ ...desired, metadata: { ...desired.metadata, name } }, null, 2)}\n`);
      const live = { ...actual, metadata: { ...actual.metadata, name } };
      await writeFile(path.join(dir, 'actual', `deployment-${name}.json`), `${JSON.stringify(live, null, 2)}\n`);
      audit.push(JSON.stringify(demoAuditEvent(live, { id: 'sam.ortiz@acme.example', type: 'human' }, { verb: 'patch' }, new Date(now.getTime() - 60_000))));
    }
    await appendFile(path.join(dir, 'audit.jsonl'), `${audit.join('\n')}\n`);
  }
  await commitDesiredState(planesDir);
}
