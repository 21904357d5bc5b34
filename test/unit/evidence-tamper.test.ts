// Tampering with a local evidence store, detected by the real `driftplane evidence verify` against a
// signed checkpoint (issue 13 §1): an edited record, a deleted last record, a reordered pair, a whole
// finding rewritten with recomputed hashes, a dropped finding; and what an attacker who also rewrites
// the log, or re-signs it with a key of their own, runs into.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeEach, describe, expect, it } from 'vitest';
import { noteVerifierOf } from '../../evidence/checkpoint';
import { LocalEvidenceStore } from '../../evidence/evidence-store';
import { leafText } from '../../evidence/log';
import { publishCheckpoint } from '../../evidence/open';
import { GENESIS, recordHashOf, type EvidenceRecord } from '../../evidence/record';
import { repoRoot } from '../support/shared-fixtures';

const run = promisify(execFile);
const FINDINGS = [
  'checkout-web-prod:760c28255832dc80',
  'payments-db-prod:0a1b2c3d4e5f6789',
  'edge-dns:1111222233334444',
];
const [CHECKOUT, PAYMENTS] = FINDINGS as [string, string, string];
const STEPS = ['detected', 'classified', 'routed', 'reconciled'];
const ORIGIN = 'evidence.test.example/tamper';
const SECRET = Uint8Array.from({ length: 32 }, (_, i) => 7 * i + 3);
const VKEY = noteVerifierOf(ORIGIN, SECRET).vkey;

let home: string;
let dir: string;
let store: LocalEvidenceStore;
let savedCheckpoint: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function driftplane(...args: string[]): Promise<Result> {
  return driftplaneWith({}, ...args);
}

async function driftplaneWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args],
      {
        env: { ...process.env, DRIFTPLANE_HOME: home, DRIFTPLANE_EVIDENCE_DIR: dir, ...env },
        timeout: 120_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `evidence verify` trusting only the test's checkpoint key, as JSON. */
async function verify(...args: string[]): Promise<
  Result & {
    report: { ok: boolean; problems: string[]; warnings: string[]; findings: { chain: { ok: boolean } }[] };
  }
> {
  const r = await driftplane('evidence', 'verify', ...args, '--dir', dir, '--key', VKEY, '--json');
  return { ...r, report: JSON.parse(r.stdout) as never };
}

/** A finding's record files in chain order. */
async function files(findingId: string): Promise<string[]> {
  const folder = store.folderOf(findingId);
  return (await readdir(folder))
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(folder, n));
}
const readRecord = async (file: string): Promise<EvidenceRecord> =>
  JSON.parse(await readFile(file, 'utf8')) as EvidenceRecord;
const writeRecord = (file: string, r: unknown): Promise<void> =>
  writeFile(file, `${JSON.stringify(r, null, 2)}\n`);

/** Rewrites a finding's records with `change`, recomputing every seq link and hash so the chain verifies. */
async function rewriteChain(
  findingId: string,
  change: (records: EvidenceRecord[]) => EvidenceRecord[],
): Promise<EvidenceRecord[]> {
  const paths = await files(findingId);
  const records = change(await Promise.all(paths.map(readRecord)));
  let prevHash = GENESIS;
  const rewritten = records.map((r, i) => {
    const body = { ...r, seq: i + 1, prevHash } as Omit<EvidenceRecord, 'hash'> & { hash?: string };
    delete body.hash;
    const out = { ...body, hash: recordHashOf(body) };
    prevHash = out.hash;
    return out;
  });
  await Promise.all(paths.map((p, i) => writeRecord(p, rewritten[i])));
  return rewritten;
}

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'evidence-tamper-home-'));
  dir = path.join(home, 'evidence');
  store = new LocalEvidenceStore(dir);
  for (const [s, step] of STEPS.entries())
    for (const findingId of FINDINGS)
      await store.append({
        findingId,
        runId: 'run-1',
        key: `run-1:${step}`,
        step,
        at: `2026-11-24T10:0${s}:00.000Z`,
        data: { step, approver: 'ana@acme.example' },
      });
  const { note } = await publishCheckpoint(store, { origin: ORIGIN, secretKey: SECRET });
  savedCheckpoint = path.join(home, 'auditor-copy.checkpoint');
  await writeFile(savedCheckpoint, note);
});

describe('driftplane evidence verify against a signed checkpoint', () => {
  it('an untouched store verifies: every chain intact, every record in the log under the checkpoint', async () => {
    const one = await driftplane('evidence', 'verify', CHECKOUT, '--dir', dir, '--key', VKEY);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toContain(
      `checkpoint 12 of ${ORIGIN}, signed by ${VKEY.split('+').slice(0, 2).join('+')}`,
    );
    expect(one.stdout).toContain(`${CHECKOUT}: 4 record(s), chain intact, 4 in the log under checkpoint 12`);
    const all = await verify('--all', '--checkpoint', savedCheckpoint);
    expect(all.code, all.stderr).toBe(0);
    expect(all.report).toMatchObject({ ok: true, problems: [], warnings: [], checkpoints: 1, logSize: 12 });
  });

  it('an edited record: its hash no longer matches, and its inclusion proof fails', async () => {
    const [, second] = await files(CHECKOUT);
    await writeRecord(second!, {
      ...(await readRecord(second!)),
      data: { step: 'classified', driftClass: 'NONE' },
    });
    const r = await verify(CHECKOUT);
    expect(r.code).toBe(1);
    expect(r.report.problems).toEqual(
      expect.arrayContaining([
        `${second}: field hash does not match the record's content (changed after it was written)`,
        expect.stringMatching(
          new RegExp(
            `^${second}: not the record the log holds as seq 2 .*inclusion proof fails against checkpoint 12`,
          ),
        ),
      ]),
    );
  });

  it('a deleted last record: the chain alone still verifies; the log holds the record, so verify fails', async () => {
    const last = (await files(CHECKOUT)).at(-1)!;
    await rm(last);
    await rm(path.join(path.dirname(last), '.000004.claim'));
    const r = await verify(CHECKOUT);
    expect(r.code).toBe(1);
    expect(r.report.findings[0]!.chain.ok).toBe(true);
    expect(r.report.problems).toEqual([
      `${store.folderOf(CHECKOUT)}: seq 4 is missing; the log holds it (leaf 9, checkpoint 12): the record was removed`,
    ]);
  });

  it('a reordered pair: swapped files break the chain; swapped and re-hashed, the log catches it', async () => {
    const [, second, third] = await files(CHECKOUT);
    const [a, b] = [await readFile(second!, 'utf8'), await readFile(third!, 'utf8')];
    await writeFile(second!, b);
    await writeFile(third!, a);
    const swapped = await verify(CHECKOUT);
    expect(swapped.code).toBe(1);
    expect(swapped.report.problems).toEqual(
      expect.arrayContaining([`${second}: field seq is 3, expected 2 (a record is missing or was inserted)`]),
    );

    await writeFile(second!, a);
    await writeFile(third!, b);
    await rewriteChain(PAYMENTS, ([r1, r2, r3, r4]) => [r1!, r3!, r2!, r4!]);
    const rehashed = await verify(PAYMENTS);
    expect(rehashed.code).toBe(1);
    expect(rehashed.report.findings[0]!.chain.ok).toBe(true);
    const [, p2, p3, p4] = await files(PAYMENTS);
    expect(rehashed.report.problems).toEqual(
      [p2, p3, p4].map((f) => expect.stringMatching(new RegExp(`^${f}: not the record the log holds`))),
    );
  });

  it('a whole finding rewritten with recomputed hashes: the chain verifies, every inclusion proof fails', async () => {
    await rewriteChain(CHECKOUT, (rs) =>
      rs.map((r) => ({ ...r, data: { ...(r.data as object), approver: 'mallory@evil.example' } })),
    );
    const r = await verify(CHECKOUT);
    expect(r.code).toBe(1);
    expect(r.report.findings[0]!.chain.ok).toBe(true);
    const paths = await files(CHECKOUT);
    expect(r.report.problems).toEqual(
      paths.map((f, i) => expect.stringContaining(`${f}: not the record the log holds as seq ${i + 1}`)),
    );
    // Human output names them too.
    const human = await driftplane('evidence', 'verify', CHECKOUT, '--dir', dir, '--key', VKEY);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('error: evidence verification failed: 4 problem(s)');
  });

  it('a dropped finding: by its id, and by --all without knowing it', async () => {
    await rm(store.folderOf(PAYMENTS), { recursive: true });
    const dropped = `${PAYMENTS}: the log holds 4 record(s) of it under checkpoint 12, but the store has none at ${store.folderOf(PAYMENTS)}: the finding was dropped`;
    const one = await verify(PAYMENTS);
    expect(one.code).toBe(1);
    expect(one.report.problems).toEqual([dropped]);
    const all = await driftplane('evidence', 'verify', '--all', '--dir', dir, '--key', VKEY);
    expect(all.code).toBe(1);
    expect(all.stderr).toContain(dropped);
    expect(all.stderr).toContain(`${PAYMENTS}: no records in the store`);
  });

  it('rewriting the log leaves to match: the stored log no longer reproduces the checkpoint', async () => {
    const rewritten = await rewriteChain(CHECKOUT, (rs) => rs.map((r) => ({ ...r, data: { forged: true } })));
    // Leaves 0, 3, 6, 9 are CHECKOUT's (appended step by step across the three findings).
    for (const [k, r] of rewritten.entries())
      await writeFile(
        path.join(dir, '.log', 'leaves', `${String(3 * k).padStart(12, '0')}.json`),
        leafText(r),
      );
    const r = await verify('--all');
    expect(r.code).toBe(1);
    expect(r.report.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('the stored log does not reproduce checkpoint 12')]),
    );
    // The checkpointer extends its last checkpoint from the tree edge it stored with it; without
    // that, it recomputes the edge from the leaves, finds they no longer match, and signs nothing
    // (exit 3: the store is not what it signed).
    await rm(path.join(dir, '.log', 'state'), { recursive: true });
    await store.append({
      findingId: PAYMENTS,
      runId: 'run-1',
      key: 'run-1:verified',
      step: 'verified',
      at: '2026-11-24T11:00:00.000Z',
      data: {},
    });
    await writeFile(path.join(home, 'evidence-log.key'), Buffer.from(SECRET).toString('hex'));
    const cp = await driftplaneWith(
      { DRIFTPLANE_EVIDENCE_LOG_ORIGIN: ORIGIN },
      'evidence',
      'checkpoint',
      '--dir',
      dir,
    );
    expect(cp.code).toBe(3);
    expect(cp.stderr).toContain(
      `the log at ${path.join(dir, '.log')} does not match its checkpoint of size 12`,
    );
  });

  it("re-signed with the attacker's own key: nothing verifies under the trusted key, and the saved checkpoint disagrees", async () => {
    await rewriteChain(CHECKOUT, (rs) => rs.map((r) => ({ ...r, data: { forged: true } })));
    // Rebuild the whole log from the forged store and sign it with a key of one's own.
    await rm(path.join(dir, '.log'), { recursive: true });
    const forged = new LocalEvidenceStore(dir);
    for (const s of [1, 2, 3, 4])
      for (const f of FINDINGS) await forged.log.add((await forged.read(f))[s - 1]!, { fresh: false });
    const mallory = Uint8Array.from({ length: 32 }, () => 9);
    await publishCheckpoint(forged, { origin: ORIGIN, secretKey: mallory });

    const pinned = await verify('--all');
    expect(pinned.code).toBe(1);
    expect(pinned.report.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('no checkpoint signed by a trusted key')]),
    );
    const withCopy = await verify('--all', '--checkpoint', savedCheckpoint);
    expect(withCopy.code).toBe(1);
    expect(withCopy.report.problems).toEqual(
      expect.arrayContaining([expect.stringContaining('the stored log does not reproduce checkpoint 12')]),
    );
    // Trusting whatever key the store holds is the weak mode, and says so.
    const unpinned = await driftplane('evidence', 'verify', '--all', '--dir', dir, '--json');
    expect((JSON.parse(unpinned.stdout) as { warnings: string[] }).warnings).toEqual(
      expect.arrayContaining([expect.stringContaining('checked with the key(s) stored with the log')]),
    );
  });

  it('a truncated log: a leaf the checkpoint covers is gone', async () => {
    await rm(path.join(dir, '.log', 'leaves', '000000000011.json'));
    const r = await verify('--all');
    expect(r.code).toBe(1);
    expect(r.report.problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('the log lacks 1 leaf/leaves that checkpoint 12 covers'),
      ]),
    );
  });

  it('records after the checkpoint are reported as not covered yet; --strict fails on them; a new checkpoint covers them', async () => {
    await store.append({
      findingId: CHECKOUT,
      runId: 'run-1',
      key: 'run-1:verified',
      step: 'verified',
      at: '2026-11-24T11:00:00.000Z',
      data: {},
    });
    const loose = await verify(CHECKOUT);
    expect(loose.code).toBe(0);
    expect(loose.report.warnings).toEqual([
      expect.stringContaining('1 record(s) are not covered by a signed checkpoint yet'),
    ]);
    expect((await verify(CHECKOUT, '--strict')).code).toBe(1);
    await writeFile(path.join(home, 'evidence-log.key'), Buffer.from(SECRET).toString('hex'));
    const cp = await driftplaneWith(
      { DRIFTPLANE_EVIDENCE_LOG_ORIGIN: ORIGIN },
      'evidence',
      'checkpoint',
      '--dir',
      dir,
      '--json',
    );
    expect(cp.code, cp.stderr).toBe(0);
    expect(JSON.parse(cp.stdout)).toMatchObject({
      origin: ORIGIN,
      size: 13,
      created: true,
      verifierKey: VKEY,
    });
    // Both checkpoints are checked, the second against the first by a consistency proof.
    const strict = await verify(CHECKOUT, '--strict', '--checkpoint', savedCheckpoint);
    expect(strict.code, strict.stderr).toBe(0);
    expect(strict.report).toMatchObject({ ok: true, checkpoints: 2, warnings: [], checkpoint: { size: 13 } });
  });
});

describe('driftplane evidence checkpoint and key', () => {
  it('signs once per new leaf; the printed note is what verify --checkpoint reads; key prints the verifier key', async () => {
    const env = { DRIFTPLANE_EVIDENCE_LOG_ORIGIN: 'evidence.acme.example/prod' };
    const withEnv = async (...args: string[]): Promise<Result> => {
      try {
        const { stdout, stderr } = await run(
          process.execPath,
          [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args],
          {
            env: { ...process.env, DRIFTPLANE_HOME: home, DRIFTPLANE_EVIDENCE_DIR: dir, ...env },
          },
        );
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as Result;
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    };
    const first = await withEnv('evidence', 'checkpoint');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(
      /^evidence\.acme\.example\/prod\n12\n[A-Za-z0-9+/]{43}=\n\n— evidence\.acme\.example\/prod \S+\n$/,
    );
    expect(first.stderr).toContain('signed checkpoint 12 of evidence.acme.example/prod');
    const again = await withEnv('evidence', 'checkpoint', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ size: 12, created: false, note: first.stdout });
    const key = await withEnv('evidence', 'key');
    expect(key.code).toBe(0);
    const vkey = key.stdout.trim();
    expect(vkey).toMatch(/^evidence\.acme\.example\/prod\+[0-9a-f]{8}\+A/);
    await writeFile(path.join(home, 'kept.txt'), first.stdout);
    const checked = await withEnv(
      'evidence',
      'verify',
      '--all',
      '--key',
      vkey,
      '--checkpoint',
      path.join(home, 'kept.txt'),
      '--json',
    );
    expect(checked.code, checked.stdout).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({
      ok: true,
      checkpoint: { origin: 'evidence.acme.example/prod', size: 12 },
    });
  });

  it('bad input is exit 1 naming what: a malformed key, both a finding and --all, an unreadable checkpoint file', async () => {
    const badKey = await driftplane('evidence', 'verify', CHECKOUT, '--dir', dir, '--key', 'not-a-key');
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('verifier key "not-a-key": not a note verifier key');
    const both = await driftplane('evidence', 'verify', CHECKOUT, '--all', '--dir', dir);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give a finding or --all, not both');
    const missing = await driftplane(
      'evidence',
      'verify',
      CHECKOUT,
      '--dir',
      dir,
      '--checkpoint',
      path.join(home, 'nope.txt'),
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${path.join(home, 'nope.txt')}: cannot read the checkpoint`);
  });
});
