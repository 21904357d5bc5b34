/**
 * Chaos: tampering with evidence, detected by the real `driftplane evidence verify`
 * (bin/driftplane.cjs) given the log's verifier key and a signed checkpoint kept outside the store.
 * The evidence is what a worker wrote for a real lifecycle (auto-healed, closed RECONCILED); the
 * checkpoint is signed by `driftplane evidence checkpoint`. Each case tampers with its own copy of
 * the store: an edited record, two records swapped, the tail truncated, the whole finding rewritten
 * with recomputed hashes (a chain that verifies on its own), and the finding dropped. The untouched
 * copy must verify, so a detection is never the verifier failing on everything.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { evidenceFolderName } from '../../domain/finding';
import { LocalEvidenceStore, type EvidenceRecord } from '../../evidence/evidence-store';
import { recordHashOf } from '../../evidence/record';
import type { LifecycleState } from '../../workflows/messages';
import { scanOne } from '../support/chaos-lifecycle';
import { chaosWorkers, type ChaosWorkers } from '../support/chaos-workers';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');

let w: ChaosWorkers;
let tmp: string;
let findingId: string;
let verifierKey: string;
let checkpointFile: string;

/** Runs the real `driftplane` binary; its exit code instead of a throw. */
async function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, DRIFTPLANE_HOME: w.config.home, TEMPORAL_ADDRESS: w.config.temporalAddress },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

interface Verified {
  code: number;
  ok?: boolean;
  problems: string[];
  stderr: string;
}

/** `evidence verify` of the finding (or `--all`) in `dir`, against the verifier key and the checkpoint saved outside the store. */
async function verify(dir: string, target: string[] = [findingId]): Promise<Verified> {
  const r = await driftplane(
    'evidence',
    'verify',
    ...target,
    '--dir',
    dir,
    '--key',
    verifierKey,
    '--checkpoint',
    checkpointFile,
    '--strict',
    '--json',
  );
  let parsed: { ok?: boolean; problems?: string[] } = {};
  try {
    parsed = JSON.parse(r.stdout) as typeof parsed;
  } catch {
    // no JSON: the exit code and stderr say what happened
  }
  return {
    code: r.code,
    ...(parsed.ok !== undefined ? { ok: parsed.ok } : {}),
    problems: parsed.problems ?? [],
    stderr: r.stderr,
  };
}

/** A copy of the whole store (records, log, checkpoints) to tamper with. */
async function copyOfStore(name: string): Promise<string> {
  const dir = path.join(tmp, name);
  await cp(w.config.evidenceDir, dir, { recursive: true });
  return dir;
}

/** The finding's record files in a store copy, in chain order. */
async function recordFiles(dir: string): Promise<string[]> {
  const folder = path.join(dir, evidenceFolderName(findingId));
  return (await readdir(folder))
    .filter((n) => /^\d{6}-.*\.json$/.test(n))
    .sort()
    .map((n) => path.join(folder, n));
}

const readRecord = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as EvidenceRecord;
const writeRecord = (file: string, r: EvidenceRecord) => writeFile(file, `${JSON.stringify(r, null, 2)}\n`);

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'driftplane-chaos-tamper-'));
  w = await chaosWorkers(inject('temporalAddress'));
  await seedDemoSandbox(w.config.planesDir, new Date());
  await w.start();
  // A real lifecycle's evidence: the staging relabel auto-heals and closes.
  const f = await scanOne(w.client, w.config.taskQueue, 'catalog-web-staging');
  findingId = f.findingId;
  const s = (await w.client.workflow.getHandle(f.workflowId).result()) as LifecycleState;
  expect(s.outcome).toBe('RECONCILED');
  await w.close();

  const signed = await driftplane('evidence', 'checkpoint', '--dir', w.config.evidenceDir);
  expect(signed.stderr).not.toMatch(/^error:/m);
  expect(signed.code).toBe(0);
  checkpointFile = path.join(tmp, 'saved-checkpoint.txt');
  await writeFile(checkpointFile, signed.stdout);
  const key = await driftplane('evidence', 'key', '--dir', w.config.evidenceDir);
  expect(key.code).toBe(0);
  verifierKey = key.stdout.trim();
}, 180_000);

afterAll(async () => {
  await w?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('tampering with evidence is detected by driftplane evidence verify', () => {
  it('the untouched store verifies (exit 0), every record covered by the signed checkpoint', async () => {
    const v = await verify(await copyOfStore('untouched'));
    expect(v).toMatchObject({ code: 0, ok: true, problems: [] });
    expect((await recordFiles(w.config.evidenceDir)).length).toBeGreaterThanOrEqual(7);
  });

  it('an edited record', async () => {
    const dir = await copyOfStore('edited');
    const file = (await recordFiles(dir)).find((f) => f.includes('-reconciled'))!;
    const r = await readRecord(file);
    await writeRecord(file, { ...r, data: { ...(r.data as object), detail: 'nothing was changed' } });
    const v = await verify(dir);
    expect(v.code).toBe(1);
    expect(v.ok).toBe(false);
    expect(v.problems.join('\n')).toContain(path.basename(file));
  });

  it('two records swapped', async () => {
    const dir = await copyOfStore('reordered');
    const files = await recordFiles(dir);
    const [a, b] = [files[2]!, files[3]!];
    const [ta, tb] = [await readFile(a, 'utf8'), await readFile(b, 'utf8')];
    await writeFile(a, tb);
    await writeFile(b, ta);
    const v = await verify(dir);
    expect(v.code).toBe(1);
    expect(v.ok).toBe(false);
    expect(v.problems.length).toBeGreaterThan(0);
  });

  it('the tail truncated (the last record removed: the chain that is left verifies on its own)', async () => {
    const dir = await copyOfStore('truncated');
    const files = await recordFiles(dir);
    await rm(files.at(-1)!);
    expect((await new LocalEvidenceStore(dir).verify(findingId)).ok).toBe(true);
    const v = await verify(dir);
    expect(v.code).toBe(1);
    expect(v.ok).toBe(false);
    expect(v.problems.join('\n')).toMatch(/missing|removed|truncat/i);
  });

  it('the whole finding rewritten consistently, every hash recomputed (the chain verifies on its own)', async () => {
    const dir = await copyOfStore('rewritten');
    let prevHash: string | undefined;
    for (const file of await recordFiles(dir)) {
      const { hash: _old, ...body } = await readRecord(file);
      if (body.step === 'reconciled')
        body.data = { ...(body.data as object), detail: 'nothing was changed', executed: false };
      if (prevHash !== undefined) body.prevHash = prevHash;
      const hash = recordHashOf(body);
      await writeRecord(file, { ...body, hash });
      prevHash = hash;
    }
    expect((await new LocalEvidenceStore(dir).verify(findingId)).ok).toBe(true);
    const v = await verify(dir);
    expect(v.code).toBe(1);
    expect(v.ok).toBe(false);
    // Only the log can tell: each rewritten record is not the one the signed checkpoint covers.
    expect(v.problems.join('\n')).toMatch(/log|checkpoint|inclusion/i);
  });

  it('the finding dropped from the store (verify --all)', async () => {
    const dir = await copyOfStore('dropped');
    expect(await verify(dir, ['--all'])).toMatchObject({ code: 0, ok: true });
    await rm(path.join(dir, evidenceFolderName(findingId)), { recursive: true });
    const v = await verify(dir, ['--all']);
    expect(v.code).toBe(1);
    expect(v.ok).toBe(false);
    expect(v.problems.join('\n')).toContain(findingId);
  });
});
