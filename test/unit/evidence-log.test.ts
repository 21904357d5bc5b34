// The transparency log of the local store: appends never leave a gap and log each record once,
// across processes and failures; checkpoints extend each other; the settings open the right store.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { auditEvidence } from '../../evidence/audit';
import { noteVerifierOf, openNote, parseCheckpoint } from '../../evidence/checkpoint';
import { nodeFileOps, type FileOps } from '../../evidence/durable-file';
import { LocalEvidenceStore } from '../../evidence/evidence-store';
import { leafText, parseLeaf } from '../../evidence/log';
import {
  adoptUnlogged,
  checkpointSignerOf,
  defaultOrigin,
  EvidenceSettingsError,
  evidenceSettingsFrom,
  EvidenceVariablesSchema,
  openEvidenceStore,
  publishCheckpoint,
  startCheckpointing,
} from '../../evidence/open';
import { evidenceRecordJsonSchema, recordHashOf, type EvidenceRecord } from '../../evidence/record';
import { retainUntil } from '../../evidence/retention';
import { S3EvidenceStore } from '../../evidence/s3-store';
import { EvidenceWriteFailed } from '../../evidence/store';
import { repoRoot } from '../support/shared-fixtures';
import type { WriterReport } from '../support/store-writer';

const WRITER = path.join(repoRoot, 'test', 'support', 'store-writer.ts');
const SIGNER = {
  origin: 'evidence.test.example/log',
  secretKey: Uint8Array.from({ length: 32 }, (_, i) => i),
};
const VKEY = noteVerifierOf(SIGNER.origin, SIGNER.secretKey).vkey;
const tempDir = (): Promise<string> => mkdtemp(path.join(os.tmpdir(), 'evidence-log-'));
const entry = (findingId: string, i: number) => ({
  findingId,
  runId: 'run-1',
  key: `run-1:${i}`,
  step: `step-${i}`,
  at: '2026-11-24T10:00:00.000Z',
  data: { i },
});

/** The log's leaves as stored: index → parsed leaf. */
async function leavesOf(
  root: string,
): Promise<{ index: number; findingId: string; seq: number; hash: string }[]> {
  const dir = path.join(root, '.log', 'leaves');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (n) => ({
      index: Number(n.slice(0, 12)),
      ...parseLeaf(await readFile(path.join(dir, n), 'utf8'))!,
    })),
  );
}

/** Every record of the store is a leaf exactly once, and the leaves are 0..n-1 without a gap. */
async function expectLoggedOnce(store: LocalEvidenceStore, findingIds: string[]): Promise<void> {
  const leaves = await leavesOf(store.root);
  const records = (await Promise.all(findingIds.map((f) => store.read(f)))).flat();
  expect(leaves.map((l) => l.index)).toEqual(records.map((_, i) => i));
  expect(new Set(leaves.map((l) => `${l.findingId}#${l.seq}#${l.hash}`))).toEqual(
    new Set(records.map((r) => `${r.findingId}#${r.seq}#${r.hash}`)),
  );
}

/** Starts one store-writer process per argument list, lets them all write at once, returns their reports. */
async function inProcesses(argLists: string[][]): Promise<WriterReport[]> {
  const children = argLists.map((args) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('ready\n')) resolve();
      });
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const done = new Promise<WriterReport>((resolve, reject) =>
      child.on('close', (code) =>
        code === 0
          ? resolve(JSON.parse(stdout.trim().split('\n').pop()!) as WriterReport)
          : reject(new Error(`store-writer exited ${code}: ${stderr}`)),
      ),
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.end('go\n');
  return Promise.all(children.map((c) => c.done));
}

/** File operations whose link() to a leaf fails once, as a full disk would make it. */
function leafLinkFailsOnce(): FileOps {
  let failed = false;
  return {
    ...nodeFileOps,
    link: (from, to) => {
      if (!failed && to.includes(`${path.sep}leaves${path.sep}`)) {
        failed = true;
        return Promise.reject(Object.assign(new Error(`ENOSPC: link '${to}'`), { code: 'ENOSPC' }));
      }
      return nodeFileOps.link(from, to);
    },
  };
}

describe('the log of the local store', () => {
  it('100 concurrent appends to 10 findings in one process: leaves 0..99, each record once, and a checkpoint over them verifies', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    const ids = Array.from({ length: 10 }, (_, i) => `unit-${i}:00000000000000${String(i).padStart(2, '0')}`);
    await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.append(entry(ids[i % 10]!, Math.floor(i / 10)))),
    );
    await expectLoggedOnce(store, ids);
    const cp = await publishCheckpoint(store, SIGNER);
    expect(cp).toMatchObject({ size: 100, created: true, verifierKey: VKEY });
    const report = await auditEvidence(store, { trustedKeys: [VKEY] });
    expect(report).toMatchObject({ ok: true, problems: [], warnings: [], logSize: 100 });
    expect(report.findings.map((f) => f.anchored)).toEqual(ids.map(() => 10));
  });

  it(
    '2 processes × 50 appends to two findings at once: leaves 0..99 without a gap, each record once',
    { timeout: 180_000 },
    async () => {
      const root = await tempDir();
      const reports = await inProcesses([
        ['evidence', root, 'alpha:0000000000000001', '50', 'a'],
        ['evidence', root, 'beta:0000000000000002', '50', 'b'],
      ]);
      expect(reports).toEqual([
        { ok: 50, errors: [] },
        { ok: 50, errors: [] },
      ]);
      const store = new LocalEvidenceStore(root);
      await expectLoggedOnce(store, ['alpha:0000000000000001', 'beta:0000000000000002']);
      await publishCheckpoint(store, SIGNER);
      expect(await auditEvidence(store, { trustedKeys: [VKEY] })).toMatchObject({ ok: true, logSize: 100 });
    },
  );

  it('the same key appended again (a retried activity) adds no leaf', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    const first = await store.append(entry('u:1', 1));
    const again = await store.append({ ...entry('u:1', 1), data: { retried: true } });
    expect(again).toEqual(first);
    await expectLoggedOnce(store, ['u:1']);
  });

  it('a leaf that could not be written fails the append (retryable); the retry logs the record once', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root, { fs: leafLinkFailsOnce() });
    const failed: unknown = await store.append(entry('u:1', 1)).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(EvidenceWriteFailed);
    expect((failed as Error).message).toContain('ENOSPC');
    expect(await store.read('u:1')).toHaveLength(1);
    await store.append(entry('u:1', 1));
    await store.append(entry('u:1', 2));
    await expectLoggedOnce(store, ['u:1']);
  });

  it('a crash between the leaf and its note costs a second, identical leaf: verification accepts it and says so', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    await store.append(entry('u:1', 1));
    await rm(path.join(root, '.log', 'records'), { recursive: true });
    await new LocalEvidenceStore(root).append(entry('u:1', 1));
    expect((await leavesOf(root)).map((l) => [l.index, l.seq])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    await publishCheckpoint(store, SIGNER);
    const report = await auditEvidence(store, { findingId: 'u:1', trustedKeys: [VKEY] });
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([expect.stringContaining('1 record(s) are in the log more than once')]);
  });
});

describe('checkpoints', () => {
  it('each extends the one before; none is signed when nothing was appended; the pointer names the latest', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    await store.append(entry('u:1', 1));
    const one = await publishCheckpoint(store, SIGNER);
    expect(await publishCheckpoint(store, SIGNER)).toEqual({ ...one, created: false });
    for (let i = 2; i <= 6; i++) await store.append(entry('u:1', i));
    const six = await publishCheckpoint(store, SIGNER);
    expect(six).toMatchObject({ size: 6, created: true });
    expect(await readdir(path.join(root, '.log', 'checkpoints'))).toEqual(['000000000001', '000000000006']);
    expect(await readFile(path.join(root, '.log', 'checkpoint'), 'utf8')).toBe(six.note);
    expect(
      parseCheckpoint(openNote(six.note, [noteVerifierOf(SIGNER.origin, SIGNER.secretKey)]).text),
    ).toMatchObject({
      origin: SIGNER.origin,
      size: 6,
    });
    expect(await auditEvidence(store, { trustedKeys: [VKEY] })).toMatchObject({ ok: true, checkpoints: 2 });
  });

  it('a lost or changed tree edge is rebuilt from the leaves; a lost pointer is found in the history', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    for (let i = 1; i <= 3; i++) await store.append(entry('u:1', i));
    await publishCheckpoint(store, SIGNER);
    await writeFile(path.join(root, '.log', 'state', '000000000003.json'), '{"size":3,"hashes":["AAAA"]}');
    await rm(path.join(root, '.log', 'checkpoint'));
    await store.append(entry('u:1', 4));
    expect(await publishCheckpoint(store, SIGNER)).toMatchObject({ size: 4, created: true });
    expect(await auditEvidence(store, { trustedKeys: [VKEY] })).toMatchObject({ ok: true, checkpoints: 2 });
  });

  it('a timer publishes at start and on every tick, and stop() waits for the one in progress', async () => {
    const store = new LocalEvidenceStore(await tempDir());
    await store.append(entry('u:1', 1));
    const seen: number[] = [];
    const timer = startCheckpointing(store, SIGNER, { everyMs: 20, onCheckpoint: (r) => seen.push(r.size) });
    await new Promise((r) => setTimeout(r, 60));
    await store.append(entry('u:1', 2));
    await new Promise((r) => setTimeout(r, 80));
    await timer.stop();
    expect(seen[0]).toBe(1);
    expect(seen.at(-1)).toBe(2);
  });

  it('adopting records written before the log existed: each once, a broken chain left out and named', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    for (let i = 1; i <= 3; i++) {
      await store.append(entry('u:1', i));
      await store.append(entry('u:2', i));
    }
    await rm(path.join(root, '.log'), { recursive: true });
    const file = path.join(store.folderOf('u:2'), '000002-step-2.json');
    const edited = JSON.parse(await readFile(file, 'utf8')) as EvidenceRecord;
    await writeFile(file, JSON.stringify({ ...edited, data: { i: 99 } }));
    expect(await adoptUnlogged(store)).toEqual({ adopted: 3, skipped: ['u:2'] });
    expect(await adoptUnlogged(store)).toEqual({ adopted: 0, skipped: ['u:2'] });
    expect((await leavesOf(root)).map((l) => [l.findingId, l.seq])).toEqual([
      ['u:1', 1],
      ['u:1', 2],
      ['u:1', 3],
    ]);
  });
});

describe('records and their schema', () => {
  it('new records name their schema version; records written before versions existed still verify', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    const [r] = [await store.append(entry('u:1', 1))];
    expect(r!.v).toBe(1);
    // A record as the store wrote it before `v` existed: same fields, hashed without it.
    const { v: _v, hash: _h, ...old } = { ...r!, key: 'run-1:2', seq: 2, prevHash: r!.hash };
    const legacy = { ...old, hash: recordHashOf(old) };
    await writeFile(path.join(store.folderOf('u:1'), '000002-step-2.json'), JSON.stringify(legacy));
    expect(await store.verify('u:1')).toEqual({ ok: true, records: 2, problems: [] });
    const validate = new Ajv({ strict: false }).compile(evidenceRecordJsonSchema());
    expect(validate(r)).toBe(true);
    expect(validate(legacy)).toBe(true);
    expect(validate({ ...r, v: 2 })).toBe(false);
    expect(validate({ ...r, extra: 1 })).toBe(false);
  });

  it('a record that breaks the schema is named by file and field', async () => {
    const root = await tempDir();
    const store = new LocalEvidenceStore(root);
    await store.append(entry('u:1', 1));
    const file = path.join(store.folderOf('u:1'), '000001-step-1.json');
    const r = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    await writeFile(file, JSON.stringify({ ...r, seq: '1' }));
    expect((await store.verify('u:1')).problems).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${file}: field seq: `))]),
    );
  });

  it('leaves are canonical JSON of finding id, hash and seq; anything else is not a leaf', () => {
    const leaf = { findingId: 'u:1', seq: 3, hash: 'ab'.repeat(32) };
    expect(leafText(leaf)).toBe(`{"findingId":"u:1","hash":"${'ab'.repeat(32)}","seq":3}`);
    expect(parseLeaf(leafText(leaf))).toEqual(leaf);
    expect(parseLeaf(JSON.stringify(leaf))).toBeUndefined();
    expect(parseLeaf('{}')).toBeUndefined();
  });
});

describe('settings', () => {
  it.each([
    ['2026-01-31T00:00:00.000Z', '400d', '2027-03-07T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', '6w', '2026-03-14T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', '1m', '2026-03-03T00:00:00.000Z'],
    ['2024-02-29T12:00:00.000Z', '7y', '2031-03-01T12:00:00.000Z'],
  ])('retention from %s for %s: until %s', (from, retention, until) => {
    expect(retainUntil(new Date(from), retention).toISOString()).toBe(until);
  });

  it('a folder, a file: URL and an s3:// URL open the matching store; anything else is refused', async () => {
    const root = await tempDir();
    expect(openEvidenceStore({ url: root })).toBeInstanceOf(LocalEvidenceStore);
    expect(openEvidenceStore({ url: `file://${root}` }).location).toBe(root);
    const s3 = openEvidenceStore({
      url: 's3://acme-evidence/prod',
      s3Endpoint: 'http://127.0.0.1:1',
      retention: '7y',
    });
    expect(s3).toBeInstanceOf(S3EvidenceStore);
    expect(s3.location).toBe('s3://acme-evidence/prod/');
    expect(s3.folderOf('checkout:1')).toBe('s3://acme-evidence/prod/checkout_1/');
    expect(() => openEvidenceStore({ url: 'https://example.com/x' })).toThrow(EvidenceSettingsError);
    expect(() => openEvidenceStore({ url: root, retention: '7 years' })).toThrow(
      'retention "7 years" is not a period',
    );
    expect(defaultOrigin('s3://acme-evidence/prod')).toBe('driftplane.evidence/s3/acme-evidence/prod');
  });

  it('the variables map onto settings; the key file is read only when a checkpoint is signed', () => {
    let reads = 0;
    const logKeyFile = (): Uint8Array => {
      reads += 1;
      return SIGNER.secretKey;
    };
    const vars = EvidenceVariablesSchema.parse({
      DRIFTPLANE_EVIDENCE_URL: 's3://acme-evidence/prod',
      DRIFTPLANE_EVIDENCE_S3_ENDPOINT: 'http://127.0.0.1:5000',
      DRIFTPLANE_EVIDENCE_RETENTION: '7y',
      DRIFTPLANE_EVIDENCE_LOG_ORIGIN: 'evidence.acme.example/prod',
    });
    const settings = evidenceSettingsFrom(vars, {
      evidenceDir: '/var/lib/driftplane/evidence',
      logKeyFile,
      awsRegion: 'eu-west-1',
    });
    expect(settings).toMatchObject({
      url: 's3://acme-evidence/prod',
      s3Endpoint: 'http://127.0.0.1:5000',
      region: 'eu-west-1',
      retention: '7y',
      origin: 'evidence.acme.example/prod',
      checkpointEveryMs: 600_000,
    });
    expect(reads).toBe(0);
    expect(checkpointSignerOf(settings)).toEqual({
      origin: 'evidence.acme.example/prod',
      secretKey: SIGNER.secretKey,
    });
    expect(reads).toBe(1);
    const fromEnvKey = evidenceSettingsFrom(
      EvidenceVariablesSchema.parse({
        DRIFTPLANE_EVIDENCE_LOG_KEY: Buffer.from(SIGNER.secretKey).toString('hex'),
      }),
      { evidenceDir: '/e', logKeyFile },
    );
    expect(checkpointSignerOf(fromEnvKey)).toEqual({
      origin: 'driftplane.evidence/local',
      secretKey: SIGNER.secretKey,
    });
    const bad = EvidenceVariablesSchema.safeParse({ DRIFTPLANE_EVIDENCE_LOG_KEY: 'secret-value-123' });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error)).not.toContain('secret-value-123');
  });
});
