import { cp, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { keyedAcmeRegistry } from './approver-keys';

/** The boundary `auto` gives catalog-web-staging (its cluster staging-use1). */
export const STAGING_BOUNDARY = 'k8s-staging-use1';
/** The boundary `auto` gives checkout-web-prod (its cluster prod-euw1-a). */
export const PROD_BOUNDARY = 'k8s-prod-euw1-a';

/**
 * A copy of the keyed example registry where the two demo units declare `boundary: auto`, for the
 * two-boundary test (test/workflows/boundaries.test.ts) and the recorded boundary histories.
 */
export async function registryWithBoundaries(): Promise<string> {
  const dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'driftplane-boundaries-')), 'registry');
  await cp((await keyedAcmeRegistry()).registryDir, dir, { recursive: true });
  const unitsDir = path.join(dir, 'units');
  for (const name of await readdir(unitsDir)) {
    const file = path.join(unitsDir, name);
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    const hit = docs.filter((d) =>
      ['catalog-web-staging', 'checkout-web-prod'].includes(String(d.getIn(['metadata', 'name']))),
    );
    for (const d of hit) d.setIn(['spec', 'boundary'], 'auto');
    if (hit.length) await writeFile(file, docs.map((d) => d.toString({ lineWidth: 0 })).join(''));
  }
  return dir;
}
