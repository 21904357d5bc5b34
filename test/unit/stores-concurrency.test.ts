import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycleActivities, type LifecycleDeps } from '../../activities/lifecycle';
import { createScanActivities, type ScanDeps } from '../../activities/scan';
import { staleObservation } from '../../domain/finding';
import { errnoOf, nodeFileOps, type FileOps } from '../../evidence/durable-file';
import { EvidenceStore, EvidenceWriteFailed } from '../../evidence/evidence-store';
import { openLedger } from '../../ledger';
import { dropDatabase, freshPostgresUrl, LEDGER_ENGINES } from '../support/ledger-db';
import { useLedgerOn } from '../support/ledger-hooks';
import { repoRoot } from '../support/shared-fixtures';
import type { WriterReport } from '../support/store-writer';

const FINDING = 'checkout-web-prod:760c28255832dc80';
const WRITER = path.join(repoRoot, 'test', 'support', 'store-writer.ts');
const tempDir = () => mkdtemp(path.join(os.tmpdir(), 'dp-stores-'));
/**
 * Tests that start store-writer processes: each child loads tsx and the stores before it says
 * "ready", which takes seconds on a loaded 2-core CI machine running the workflow tests beside.
 */
const CHILD_PROCESSES = { timeout: 180_000 };
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

  it('2 processes × 50 appends to one finding: all 100 records, seq 1..100, the chain verifies', CHILD_PROCESSES, async () => {
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

  it('the same 50 keys appended by 2 processes at once are 50 records, and the chain verifies', CHILD_PROCESSES, async () => {
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

describe.each(LEDGER_ENGINES)('detection records in the ledger: no update lost ($engine)', (engine) => {
  const failed = (i: number) => ({ status: 'failed' as const, error: `AccessDenied ${i}` });
  const h = useLedgerOn(engine, { truncate: ['unit_detection', 'detection_attempts'] });

  it('50 concurrent record() calls for one unit in one process all count, and each attempt is logged once', async () => {
    const t0 = Date.parse('2026-07-01T10:00:00Z');
    const results = await Promise.allSettled(range(1, 50).map((i) => h.ledger.detection.record('u', failed(i), new Date(t0 + i))));
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await h.ledger.detection.read('u')).toMatchObject({ unit: 'u', lastResult: 'failed', consecutiveFailures: 50 });
    expect(await h.ledger.db.query('SELECT count(*)::int AS n FROM detection_attempts WHERE unit = $1', ['u'])).toEqual([{ n: 50 }]);
  });

  it('noteSeen racing record() never overwrites the attempt', async () => {
    const seenAt = new Date('2026-07-01T09:00:00Z');
    await Promise.all(range(1, 10).flatMap((i) => [h.ledger.detection.noteSeen('u', seenAt), h.ledger.detection.record('u', failed(i), new Date('2026-07-01T10:00:00Z'))]));
    const s = await h.ledger.detection.read('u');
    expect(s).toMatchObject({ consecutiveFailures: 10, lastResult: 'failed', lastAttemptAt: '2026-07-01T10:00:00.000Z' });
    // Whichever came first started the clock: the sweep's note (09:00) or the first attempt (10:00).
    expect(['2026-07-01T09:00:00.000Z', '2026-07-01T10:00:00.000Z']).toContain(s?.firstSeenAt);
  });

  it('a record whose write fails changes nothing (neither the record nor the attempts log), and its retry counts once', async () => {
    await h.ledger.detection.record('u', failed(1), new Date('2026-07-01T10:00:00Z'));
    // A real failure of the database, after the attempt's row was written in the same transaction.
    await h.ledger.db.exec(`
      CREATE FUNCTION dp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
      CREATE TRIGGER dp_test_refuse BEFORE UPDATE ON unit_detection FOR EACH ROW EXECUTE FUNCTION dp_test_refuse();
    `);
    try {
      await expect(h.ledger.detection.record('u', failed(2), new Date('2026-07-01T11:00:00Z'))).rejects.toThrow(/No space left on device/);
      expect(await h.ledger.detection.read('u')).toMatchObject({ consecutiveFailures: 1, lastError: 'AccessDenied 1' });
      expect(await h.ledger.db.query('SELECT count(*)::int AS n FROM detection_attempts')).toEqual([{ n: 1 }]);
    } finally {
      await h.ledger.db.exec('DROP TRIGGER dp_test_refuse ON unit_detection; DROP FUNCTION dp_test_refuse()');
    }
    expect(await h.ledger.detection.record('u', failed(2), new Date('2026-07-01T11:00:00Z'))).toMatchObject({ consecutiveFailures: 2, lastError: 'AccessDenied 2' });
    expect(await h.ledger.db.query('SELECT count(*)::int AS n FROM detection_attempts')).toEqual([{ n: 2 }]);
  });

  it('detectUnit rejects when the ledger write fails, and its retry records the attempt', async () => {
    await h.ledger.db.exec(`
      CREATE FUNCTION dp_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the ledger is read-only'; END $$;
      CREATE TRIGGER dp_test_refuse BEFORE INSERT ON detection_attempts FOR EACH ROW EXECUTE FUNCTION dp_test_refuse();
    `);
    const detector = { name: 'none', has: () => Promise.resolve(false) };
    const activities = createScanActivities({ status: h.ledger.detection, detector } as unknown as ScanDeps);
    try {
      await expect(activities.detectUnit({ unit: 'u' })).rejects.toThrow(/the ledger is read-only/);
    } finally {
      await h.ledger.db.exec('DROP TRIGGER dp_test_refuse ON detection_attempts; DROP FUNCTION dp_test_refuse()');
    }
    expect(await h.ledger.detection.read('u')).toBeUndefined();
    await activities.detectUnit({ unit: 'u' });
    expect(await h.ledger.detection.read('u')).toMatchObject({ lastResult: 'failed', consecutiveFailures: 1, lastError: 'no detector can observe u' });
  });
});

describe('detection records on one PostgreSQL ledger shared by several workers: no update lost', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshPostgresUrl();
    // Migrated once up front: the writers below find the schema in place.
    await (await openLedger(url)).close();
  });
  afterAll(async () => {
    await dropDatabase(url);
  });

  it('two handles × 50 concurrent record() calls for one unit: consecutiveFailures is exactly 100', async () => {
    const [a, b] = [await openLedger(url), await openLedger(url)];
    try {
      await a.db.exec('TRUNCATE unit_detection, detection_attempts');
      const t0 = Date.parse('2026-07-01T10:00:00Z');
      const writes = range(0, 99).map((i) => (i % 2 ? a : b).detection.record('u', { status: 'failed', error: `e${i}` }, new Date(t0 + i)));
      expect((await Promise.allSettled(writes)).filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await a.detection.read('u')).toMatchObject({ consecutiveFailures: 100, lastResult: 'failed' });
      expect(await b.detection.read('u')).toEqual(await a.detection.read('u'));
      expect(await a.db.query('SELECT count(*)::int AS n FROM detection_attempts')).toEqual([{ n: 100 }]);

      // A success from one worker resets the count for both; failures after it count from zero.
      await a.detection.record('u', { status: 'ok' }, new Date(t0 + 1_000));
      await Promise.all(range(1, 20).map((i) => (i % 2 ? a : b).detection.record('u', { status: 'failed', error: `f${i}` }, new Date(t0 + 2_000 + i))));
      expect(await b.detection.read('u')).toMatchObject({ consecutiveFailures: 20, lastSuccessAt: new Date(t0 + 1_000).toISOString() });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('2 processes × 50 record() calls for one unit: all 100 count', CHILD_PROCESSES, async () => {
    const ledger = await openLedger(url);
    try {
      await ledger.db.exec('TRUNCATE unit_detection, detection_attempts');
      const reports = await inProcesses([
        ['status', url, 'u', '50', 'a', '2026-07-01T10:00:00.000Z'],
        ['status', url, 'u', '50', 'b', '2026-07-01T11:00:00.000Z'],
      ]);
      expect(reports).toEqual([
        { ok: 50, errors: [] },
        { ok: 50, errors: [] },
      ]);
      const s = await ledger.detection.read('u');
      expect(s).toMatchObject({ consecutiveFailures: 100, lastResult: 'failed' });
      // The clock starts at whichever writer's attempt the database took first.
      expect(['2026-07-01T10:00:00.000Z', '2026-07-01T11:00:00.000Z']).toContain(s?.firstSeenAt);
      expect(await ledger.db.query("SELECT count(*)::int AS n, count(*) FILTER (WHERE error LIKE 'a:%')::int AS a FROM detection_attempts")).toEqual([{ n: 100, a: 50 }]);
    } finally {
      await ledger.close();
    }
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
});
