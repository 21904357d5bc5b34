import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { coverageLines, readLedgerCoverage, readUnitCoverage } from '../../cli/commands/lifecycle';
import { openLedger, type Ledger } from '../../ledger';
import { LedgerInUseError, lockFileOf } from '../../ledger/folder-lock';
import type { DetectionCoverage } from '../../domain/finding';
import { dropDatabase, LEDGER_ENGINES } from '../support/ledger-db';
import { useLedgerOn } from '../support/ledger-hooks';

const at = new Date('2026-12-01T10:00:00Z');
const partial: DetectionCoverage = {
  coveredTypes: 5,
  totalTypes: 6,
  coveredResources: 40,
  totalResources: 48,
  uncoveredTypes: ['aws_lambda_function'],
};
const full: DetectionCoverage = {
  coveredTypes: 3,
  totalTypes: 3,
  coveredResources: 12,
  totalResources: 12,
  uncoveredTypes: [],
};

/** What the worker's scans record for four units: one partial, one full, one without coverage, one with an unlisted type. */
async function recordFour(ledger: Ledger): Promise<void> {
  const store = ledger.detection;
  await store.record('acme-prod-account', { status: 'ok', coverage: partial }, at);
  await store.record('network-prod', { status: 'ok', coverage: full }, at);
  await store.record('checkout-web', { status: 'ok' }, at);
  // A type that could not be listed: 100 % of the resources it counted, still not covered.
  await store.record('sandbox-account', { status: 'ok', coverage: { coveredTypes: 1, totalTypes: 2, coveredResources: 4, totalResources: 4, uncoveredTypes: ['aws_iam_user'] } }, at);
}

const EXPECTED_UNITS = [
  ['acme-prod-account', 83.3, false],
  ['network-prod', 100, true],
  ['sandbox-account', 100, false],
];

describe.each(LEDGER_ENGINES)('driftplane findings: coverage per unit from the ledger ($engine)', (engine) => {
  const h = useLedgerOn(engine, { truncate: ['unit_detection', 'detection_attempts'] });

  it('reads what the worker recorded and prints a line for each unit below 100 %', async () => {
    await recordFour(h.ledger);
    const { units, unreadable } = await readUnitCoverage(h.ledger.detection);
    expect(unreadable).toEqual([]);
    expect(units.map((u) => [u.unit, u.percent, u.full])).toEqual(EXPECTED_UNITS);
    expect(units[0]).toEqual({ unit: 'acme-prod-account', ...partial, percent: 83.3, full: false, at: at.toISOString() });
    expect(coverageLines(units)).toEqual([
      'coverage  acme-prod-account 83.3% (5/6 types, 40/48 resources); not covered: aws_lambda_function',
      'coverage  sandbox-account 100% (1/2 types, 4/4 resources); not covered: aws_iam_user',
    ]);
  });

  it('names records it cannot read instead of taking them for full coverage', async () => {
    await h.ledger.detection.record('network-prod', { status: 'ok', coverage: full }, at);
    await h.ledger.db.query(
      `INSERT INTO unit_detection (unit, last_result, last_success_at, consecutive_failures, coverage, coverage_at)
       VALUES ('broken', 'ok', now(), 0, '{"coveredTypes": "all"}'::jsonb, now())`,
    );
    const read = await readUnitCoverage(h.ledger.detection);
    expect(read.unreadable).toEqual(['broken']);
    expect(read.units.map((u) => u.unit)).toEqual(['network-prod']);
  });
});

describe('driftplane findings: opening the ledger at DRIFTPLANE_LEDGER_URL', () => {
  it('reads a PostgreSQL ledger another handle (the worker) has open', async () => {
    const url = await freshPostgresUrlOnce();
    const worker = await openLedger(url);
    try {
      await recordFour(worker);
      const read = await readLedgerCoverage(url);
      expect(read.unreadable).toEqual([]);
      expect(read.units.map((u) => [u.unit, u.percent, u.full])).toEqual(EXPECTED_UNITS);
    } finally {
      await worker.close();
      await dropDatabase(url);
    }
  });

  it('a PGlite ledger never created is no coverage, and is not created by reading it', async () => {
    const folder = path.join(await mkdtemp(path.join(os.tmpdir(), 'dp-findings-cov-')), 'ledger');
    expect(await readLedgerCoverage(`pglite:${folder}`)).toEqual({ units: [], unreadable: [] });
    expect(existsSync(folder)).toBe(false);
    expect(await readLedgerCoverage('pglite:memory')).toEqual({ units: [], unreadable: [] });
  });

  it('a PGlite folder another live process holds is refused with a clear error; once that process is gone it is read', async () => {
    const folder = path.join(await mkdtemp(path.join(os.tmpdir(), 'dp-findings-cov-')), 'ledger');
    const url = `pglite:${folder}`;
    const writer = await openLedger(url);
    await recordFour(writer);
    await writer.close();

    // Another process (the worker, say) holds the folder's lock.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((resolve) => holder.once('spawn', resolve));
    await writeFile(lockFileOf(folder), JSON.stringify({ pid: holder.pid, host: os.hostname() }));
    try {
      const err: unknown = await readLedgerCoverage(url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LedgerInUseError);
      expect((err as Error).message).toBe(
        `the ledger ${folder} is in use by process ${holder.pid} on ${os.hostname()}: PGlite allows one process at a time. ` +
          'Stop that process (the worker or `driftplane dev`), or set DRIFTPLANE_LEDGER_URL to a postgres:// database that several processes can share. ' +
          `If no such process runs, remove ${folder}.lock.`,
      );
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // The lock is left behind by a process that no longer runs: no one holds the folder.
    const read = await readLedgerCoverage(url);
    expect(read.units.map((u) => [u.unit, u.percent, u.full])).toEqual(EXPECTED_UNITS);
  });

  it('a unit name cannot paint the terminal', () => {
    const [line] = coverageLines([{ unit: 'evil\u001b[2J', ...partial, percent: 83.3, full: false }]);
    expect(line).not.toContain('\u001b');
    expect(line).toContain('83.3% (5/6 types, 40/48 resources)');
  });
});

/** A fresh PostgreSQL database (the engine table's factory). */
const freshPostgresUrlOnce = (): Promise<string> => LEDGER_ENGINES.find((e) => e.engine === 'postgres')!.url();
