import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { beforeEach, describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../evidence/evidence-store';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const FINDING = 'checkout-web-prod:760c28255832dc80';
let dir: string;
let store: EvidenceStore;

async function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [
      path.join(repoRoot, 'bin', 'driftplane.cjs'),
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The record files an auditor reads (the hidden claim files beside them are the store's own). */
async function files(): Promise<string[]> {
  const folder = store.folderOf(FINDING);
  return (await readdir(folder))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(folder, n));
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'evidence-'));
  store = new EvidenceStore(dir);
  for (const [i, step] of ['detected', 'classified', 'routed'].entries()) {
    await store.append({
      findingId: FINDING,
      runId: 'run-1',
      key: `run-1:${step}`,
      step,
      at: `2026-11-24T10:0${i}:00.000Z`,
      data: { step, n: i },
    });
  }
});

describe('the evidence store', () => {
  it('appends once per key, so a retried step writes nothing twice', async () => {
    const again = await store.append({
      findingId: FINDING,
      runId: 'run-1',
      key: 'run-1:classified',
      step: 'classified',
      at: '2026-11-24T11:00:00.000Z',
      data: { retried: true },
    });
    expect(again.seq).toBe(2);
    expect(again.data).toEqual({ step: 'classified', n: 1 });
    expect((await store.read(FINDING)).map((r) => r.step)).toEqual(['detected', 'classified', 'routed']);
    expect(await store.verify(FINDING)).toEqual({ ok: true, records: 3, problems: [] });
  });
});

describe('driftplane evidence', () => {
  it('verify: exit 0 for a whole chain; show lists the records', async () => {
    const ok = await driftplane('evidence', 'verify', FINDING, '--dir', dir);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain(`${FINDING}: 3 record(s), chain intact`);
    const shown = await driftplane('evidence', 'show', `finding:${FINDING}`, '--dir', dir, '--json');
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { records: { step: string }[] }).records.map((r) => r.step)).toEqual([
      'detected',
      'classified',
      'routed',
    ]);
  });

  it('verify: exit 1 naming the file whose content was changed after it was written', async () => {
    const [, second] = await files();
    const record = JSON.parse(await readFile(second!, 'utf8')) as { data: unknown };
    record.data = { step: 'classified', n: 1, driftClass: 'NONE' };
    await writeFile(second!, JSON.stringify(record, null, 2));
    const r = await driftplane('evidence', 'verify', FINDING, '--dir', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${second}: field hash does not match`);
  });

  it('verify: exit 1 when a record was removed from the middle of the chain', async () => {
    const [, second, third] = await files();
    await rm(second!);
    const r = await driftplane('evidence', 'verify', FINDING, '--dir', dir, '--json');
    expect(r.code).toBe(1);
    const check = JSON.parse(r.stdout) as { ok: boolean; problems: string[] };
    expect(check.ok).toBe(false);
    expect(check.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`${third}: field seq is 3, expected 2`),
        expect.stringContaining(`${third}: field prevHash`),
      ]),
    );
  });

  it('schema evidence: the JSON Schema of a record, which the stored records satisfy', async () => {
    const r = await driftplane('schema', 'evidence');
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(schema).toMatchObject({
      $id: 'https://driftplane.io/schemas/evidence-record/v1.json',
      type: 'object',
      additionalProperties: false,
    });
    const validate = new Ajv({ strict: false }).compile(schema);
    for (const record of await store.read(FINDING))
      expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
  });

  it('exit 1 naming the file for a record that is not JSON, and for a finding without evidence', async () => {
    const [first] = await files();
    await writeFile(first!, '{ not json');
    const broken = await driftplane('evidence', 'show', FINDING, '--dir', dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${first}: not valid JSON`);
    const none = await driftplane('evidence', 'verify', 'nobody:0000000000000000', '--dir', dir);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no evidence for nobody:0000000000000000');
  });
});
