import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rename, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLifecycleActivities, type LifecycleDeps } from '../../activities/lifecycle';
import { createScanActivities, type ScanDeps } from '../../activities/scan';
import { DetectionStatusStore, DetectionStatusWriteFailed } from '../../activities/scan/detection-status';
import { staleObservation } from '../../domain/finding';
import { errnoOf, nodeFileOps, type FileOps } from '../../evidence/durable-file';
import { EvidenceStore, EvidenceWriteFailed } from '../../evidence/evidence-store';
import { repoRoot } from '../support/shared-fixtures';
import type { WriterReport } from '../support/store-writer';

const FINDING = 'checkout-web-prod:760c28255832dc80';
const WRITER = path.join(repoRoot, 'test', 'support', 'store-writer.ts');
const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'dp-stores-'));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

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
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`store-writer ${args.join(' ')} exited ${code}: ${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as WriterReport);
      }),
    );
    return { child, ready, done };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.stdin.end('go\n');
  return Promise.all(children.map((c) => c.done));
}

/** A Node errno error, as the file system would throw it. */
const errno = (code: string, syscall: string, file: string) => Object.assign(new Error(`${code}: ${syscall} '${file}'`), { code, syscall, path: file });

interface Fault {
  op: 'writeFile' | 'link' | 'unlink';
  match: (file: string) => boolean;
  code: string;
  times: number;
}

/**
 * The real file system, except that each fault fails its call `times` times. A failing
 * writeFile writes half its data first, as a disk filling up mid-write does.
 */
function withFaults(...faults: Fault[]): FileOps {
  const hit = (op: Fault['op'], file: string) => {
    const fault = faults.find((f) => f.op === op && f.times > 0 && f.match(file));
    if (!fault) return undefined;
    fault.times -= 1;
    return errno(fault.code, op, file);
  };
  return {
    ...nodeFileOps,
    async open(file, flags) {
      const handle = await nodeFileOps.open(file, flags);
      return {
        async writeFile(data) {
          const err = hit('writeFile', file);
          if (!err) return handle.writeFile(data);
          await handle.writeFile(data.slice(0, Math.floor(data.length / 2)));
          throw err;
        },
        sync: () => handle.sync(),
        close: () => handle.close(),
      };
    },
    async link(existing, newPath) {
      const err = hit('link', newPath);
      if (err) throw err;
      return nodeFileOps.link(existing, newPath);
    },
    async unlink(file) {
      const err = hit('unlink', file);
      if (err) throw err;
      return nodeFileOps.unlink(file);
    },
  };
}

const isTemp = (file: string) => file.endsWith('.tmp');
const entry = (i: number, step = `step-${i}`) => ({
  findingId: FINDING,
  runId: 'run-1',
  key: `run-1:${i}`,
  step,
  at: '2026-11-24T10:00:00.000Z',
  data: { i },
});

/** Expects a whole chain: seq 1..n in order, each key once, every hash and link intact. */
async function expectWholeChain(store: EvidenceStore, n: number): Promise<void> {
  const records = await store.read(FINDING);
  expect(records.map((r) => r.seq)).toEqual(range(1, n));
  expect(new Set(records.map((r) => r.key)).size).toBe(n);
  expect(await store.verify(FINDING)).toEqual({ ok: true, records: n, problems: [] });
}

describe('evidence store: every append kept', () => {
  it('50 concurrent appends in one process (some with the same step name) get seq 1..50 and a chain that verifies', async () => {
    const store = new EvidenceStore(await tempDir());
    const stored = await Promise.all(range(1, 50).map((i) => store.append(entry(i, i % 5 === 0 ? 'escalated' : `step-${i}`))));
    expect(stored.map((r) => r.seq).sort((a, b) => a - b)).toEqual(range(1, 50));
    await expectWholeChain(store, 50);
  });

  it('2 processes × 50 appends to one finding: all 100 records, seq 1..100, the chain verifies', async () => {
    const root = await tempDir();
    const reports = await inProcesses([
      ['evidence', root, FINDING, '50', 'a'],
      ['evidence', root, FINDING, '50', 'b'],
    ]);
    expect(reports).toEqual([
      { ok: 50, errors: [] },
      { ok: 50, errors: [] },
    ]);
    const store = new EvidenceStore(root);
    await expectWholeChain(store, 100);
    expect((await store.read(FINDING)).map((r) => r.key).sort()).toEqual([...range(0, 49).map((i) => `a:${i}`), ...range(0, 49).map((i) => `b:${i}`)].sort());
  });

  it('the same key appended concurrently (one process, two stores on one folder) is one record', async () => {
    const root = await tempDir();
    const [one, two] = [new EvidenceStore(root), new EvidenceStore(root)];
    const stored = await Promise.all(range(1, 20).map((i) => (i % 2 ? one : two).append({ ...entry(7, 'approval'), data: { attempt: i } })));
    expect(new Set(stored.map((r) => r.hash)).size).toBe(1);
    expect(await one.read(FINDING)).toEqual([stored[0]]);
  });

  it('the same 50 keys appended by 2 processes at once are 50 records, and the chain verifies', async () => {
    const root = await tempDir();
    const reports = await inProcesses([
      ['evidence', root, FINDING, '50', 'same'],
      ['evidence', root, FINDING, '50', 'same'],
    ]);
    expect(reports.map((r) => r.ok)).toEqual([50, 50]);
    const store = new EvidenceStore(root);
    await expectWholeChain(store, 50);
  });

  it('an append after ENOSPC succeeds once space is back, without a restart, past the temp file the failure left', async () => {
    const root = await tempDir();
    const fs = withFaults({ op: 'writeFile', match: isTemp, code: 'ENOSPC', times: 1 }, { op: 'unlink', match: isTemp, code: 'EIO', times: 1 });
    const store = new EvidenceStore(root, { fs });
    const failed: unknown = await store.append(entry(1, 'detected')).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(EvidenceWriteFailed);
    expect((failed as EvidenceWriteFailed).file).toBe(path.join(store.folderOf(FINDING), '000001-detected.json'));
    expect(errnoOf((failed as EvidenceWriteFailed).cause)).toBe('ENOSPC');
    const left = await readdir(store.folderOf(FINDING));
    expect(left).toEqual([expect.stringMatching(/\.tmp$/)]);

    // The activity's retry, in the same process: the half-written temp file is in the way of nothing.
    const stored = await store.append(entry(1, 'detected'));
    expect(stored.seq).toBe(1);
    expect((await store.append(entry(2, 'classified'))).seq).toBe(2);
    await expectWholeChain(store, 2);
    expect((await readdir(store.folderOf(FINDING))).filter(isTemp)).toEqual(left);
  });

  it('a claim whose writer stopped before naming the record is completed by the retry: one record, then the next seq', async () => {
    const root = await tempDir();
    const fs = withFaults({ op: 'link', match: (f) => f.endsWith('.json'), code: 'ENOSPC', times: 1 });
    const store = new EvidenceStore(root, { fs });
    await expect(store.append(entry(1, 'detected'))).rejects.toBeInstanceOf(EvidenceWriteFailed);
    expect(await store.read(FINDING)).toEqual([]);

    const retried = await store.append({ ...entry(1, 'detected'), at: '2026-11-24T11:00:00.000Z' });
    expect(retried).toMatchObject({ seq: 1, at: '2026-11-24T10:00:00.000Z' });
    expect((await store.append(entry(2, 'classified'))).seq).toBe(2);
    await expectWholeChain(store, 2);
  });
});

describe('detection status store: no update lost', () => {
  const failed = (i: number) => ({ status: 'failed' as const, error: `AccessDenied ${i}` });

  it('50 concurrent record() calls for one unit in one process all count', async () => {
    const dir = await tempDir();
    const store = new DetectionStatusStore(dir);
    const results = await Promise.allSettled(range(1, 50).map((i) => store.record('u', failed(i), new Date())));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await store.read('u')).toMatchObject({ unit: 'u', lastResult: 'failed', consecutiveFailures: 50 });
    expect(await readdir(dir)).toEqual(['u.json']);
  });

  it('2 processes × 50 record() calls for one unit: all 100 count', async () => {
    const dir = await tempDir();
    const reports = await inProcesses([
      ['status', dir, 'u', '50', 'a'],
      ['status', dir, 'u', '50', 'b'],
    ]);
    expect(reports).toEqual([
      { ok: 50, errors: [] },
      { ok: 50, errors: [] },
    ]);
    expect(await new DetectionStatusStore(dir).read('u')).toMatchObject({ consecutiveFailures: 100 });
  });

  it('noteSeen racing record() never overwrites the attempt', async () => {
    const store = new DetectionStatusStore(await tempDir());
    const seenAt = new Date('2026-07-01T09:00:00Z');
    await Promise.all(range(1, 10).flatMap((i) => [store.noteSeen('u', seenAt), store.record('u', failed(i), new Date('2026-07-01T10:00:00Z'))]));
    expect(await store.read('u')).toMatchObject({ consecutiveFailures: 10, lastResult: 'failed' });
  });

  it('a record after ENOSPC succeeds once space is back, without a restart, past the temp file the failure left', async () => {
    const dir = await tempDir();
    const fs = withFaults({ op: 'writeFile', match: isTemp, code: 'ENOSPC', times: 1 }, { op: 'unlink', match: isTemp, code: 'EIO', times: 1 });
    const store = new DetectionStatusStore(dir, { fs });
    const t = new Date('2026-07-01T10:00:00Z');
    const err: unknown = await store.record('u', failed(1), t).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DetectionStatusWriteFailed);
    expect((err as DetectionStatusWriteFailed).file).toBe(path.join(dir, 'u.json'));
    expect(errnoOf((err as DetectionStatusWriteFailed).cause)).toBe('ENOSPC');
    const left = await readdir(dir);
    expect(left).toEqual([expect.stringMatching(/^\.u\.json\..*\.tmp$/)]);

    expect(await store.record('u', failed(1), t)).toMatchObject({ consecutiveFailures: 1 });
    expect(await store.record('u', { status: 'ok' }, t)).toMatchObject({
      consecutiveFailures: 0,
      lastSuccessAt: t.toISOString(),
    });
    expect((await readdir(dir)).sort()).toEqual([...left, 'u.json'].sort());
  });

  it('waits for a live lock, and takes over one left by a writer that died', async () => {
    const dir = await tempDir();
    const store = new DetectionStatusStore(dir, { staleLockMs: 60_000 });
    const lock = path.join(dir, '.u.json.lock');
    await writeFile(lock, '');
    let settled = false;
    const waiting = store.record('u', failed(1), new Date()).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(settled).toBe(false);
    // Its holder has been gone for longer than staleLockMs.
    const longAgo = new Date(Date.now() - 120_000);
    await utimes(lock, longAgo, longAgo);
    expect(await waiting).toMatchObject({ consecutiveFailures: 1 });
    expect(await readdir(dir)).toEqual(['u.json']);
  });

  it('a writer whose lock was taken over while it stalled fails retryably and writes nothing', async () => {
    const dir = await tempDir();
    const lock = path.join(dir, '.u.json.lock');
    await new DetectionStatusStore(dir).record('u', failed(1), new Date());
    // While the writer reads the record under its lock, another takes the lock over.
    const fs: FileOps = {
      ...nodeFileOps,
      async readFile(file, encoding) {
        await rename(lock, `${lock}.gone`);
        await writeFile(lock, 'someone else');
        return nodeFileOps.readFile(file, encoding);
      },
    };
    const err: unknown = await new DetectionStatusStore(dir, { fs }).record('u', failed(2), new Date()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DetectionStatusWriteFailed);
    expect((err as Error).message).toContain('taken over');
    expect(await new DetectionStatusStore(dir).read('u')).toMatchObject({ consecutiveFailures: 1 });
    // The other writer's lock is left to it.
    expect((await readdir(dir)).sort()).toEqual(['.u.json.lock', '.u.json.lock.gone', 'u.json']);
  });
});

describe('activities surface a failed write as a retryable error', () => {
  const enospc = () => withFaults({ op: 'writeFile', match: isTemp, code: 'ENOSPC', times: 1 });

  it('recordDetection rejects with EvidenceWriteFailed, and its retry records the detection', async () => {
    const evidence = new EvidenceStore(await tempDir(), { fs: enospc() });
    const activities = createLifecycleActivities({ evidence } as unknown as LifecycleDeps);
    const observation = staleObservation({ unit: 'u', status: 'failed', error: 'AccessDenied', detectedAt: '2026-07-01T10:00:00.000Z', detector: 'unit-scan' });
    const input = { findingId: FINDING, runId: 'run-1', observation };
    await expect(activities.recordDetection(input)).rejects.toBeInstanceOf(EvidenceWriteFailed);
    await activities.recordDetection(input);
    expect((await evidence.read(FINDING)).map((r) => r.step)).toEqual(['detected']);
  });

  it('detectUnit rejects with DetectionStatusWriteFailed, and its retry records the attempt', async () => {
    const status = new DetectionStatusStore(await tempDir(), { fs: enospc() });
    const detector = { name: 'none', has: () => Promise.resolve(false) };
    const activities = createScanActivities({ status, detector } as unknown as ScanDeps);
    await expect(activities.detectUnit({ unit: 'u' })).rejects.toBeInstanceOf(DetectionStatusWriteFailed);
    await activities.detectUnit({ unit: 'u' });
    expect(await status.read('u')).toMatchObject({ lastResult: 'failed', consecutiveFailures: 1 });
  });
});
