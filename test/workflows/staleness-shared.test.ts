// Two workers, each with its own task queue and its own home (planes, evidence), sharing one
// PostgreSQL ledger: what one worker's scans record about a unit is what the other's staleness
// sweep judges it by (issue 12: "staleness is the same whichever worker asks").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoSandbox } from '../../cli/demo-sandbox';
import { openLedger, type Ledger } from '../../ledger';
import { isOverdue } from '../../ledger/detection';
import { detectionIntervalMs, loadRegistry } from '../../registry';
import type { StalenessSweepResult } from '../../workflows/staleness-sweep';
import type { UnitScanResult } from '../../workflows/unit-scan';
import { dropDatabase, freshPostgresUrl } from '../support/ledger-db';
import { useDevServerWorker, type DevServerWorker } from '../support/lifecycle-harness';

let sharedUrl: Promise<string> | undefined;
const ledgerUrl = () => (sharedUrl ??= freshPostgresUrl());
const shared = async () => ({ DRIFTPLANE_LEDGER_URL: await ledgerUrl() });

// afterAll hooks run last-registered first: this one, registered before the workers', runs after they have stopped.
afterAll(async () => {
  if (sharedUrl) await dropDatabase(await sharedUrl);
});
const a = useDevServerWorker(shared);
const b = useDevServerWorker(shared);

// A third handle on the ledger with a pool of its own: what any other process reading it sees.
let reader: Ledger;
beforeAll(async () => {
  reader = await openLedger(await ledgerUrl());
});
afterAll(async () => {
  await reader?.close();
});

const scanOn = (w: DevServerWorker, unit: string) =>
  w.env.client.workflow.execute('unitScan', { workflowId: `scan:${unit}:${Date.now()}:${Math.random()}`, taskQueue: w.config.taskQueue, args: [{ unit }] }) as Promise<UnitScanResult>;

const sweepOn = (w: DevServerWorker, units: string[]) =>
  w.env.client.workflow.execute('stalenessSweep', { workflowId: `sweep:${Date.now()}:${Math.random()}`, taskQueue: w.config.taskQueue, args: [{ units }] }) as Promise<StalenessSweepResult>;

async function intervalOf(unit: string): Promise<number | undefined> {
  const loaded = await loadRegistry(a.config.registryDir);
  if (!loaded.ok) throw new Error('the test registry is invalid');
  return detectionIntervalMs(loaded.registry.units.get(unit)!);
}

/** Moves a unit's first-seen time back, as if the ledger had known it that long (the sweep's clock is real time). */
const knownSince = (unit: string, msAgo: number) => reader.db.query('UPDATE unit_detection SET first_seen_at = $2 WHERE unit = $1', [unit, new Date(Date.now() - msAgo).toISOString()]);

describe('two workers sharing one PostgreSQL ledger agree on staleness', () => {
  it('the two workers are apart in everything but the ledger', () => {
    expect(a.config.taskQueue).not.toBe(b.config.taskQueue);
    expect(a.config.home).not.toBe(b.config.home);
    expect(a.config.ledger.url).toBe(b.config.ledger.url);
    expect(a.config.ledger.url).toMatch(/^postgres:\/\//);
  });

  it("worker A's successful scan makes the unit fresh for worker B's sweep", async () => {
    const unit = 'checkout-web-prod';
    // registry/examples/acme/units/apps-checkout.yaml: `frequency: 15m`.
    expect(await intervalOf(unit)).toBe(15 * 60_000);

    // B's sweep meets the unit first and starts its clock.
    expect(await sweepOn(b, [unit])).toMatchObject({ overdue: [], findings: [] });
    const noted = await reader.detection.read(unit);
    expect(noted).toEqual({ unit, firstSeenAt: expect.any(String), consecutiveFailures: 0 });
    // The ledger has known it for 20 minutes, with no success: B's sweep now finds it overdue.
    await knownSince(unit, 20 * 60_000);
    const before = await sweepOn(b, [unit]);
    expect(before.overdue).toEqual([{ unit, intervalMs: 15 * 60_000 }]);
    expect(before.findings).toHaveLength(1);

    // Worker A (its own planes, seeded with the demo's drift) detects the unit successfully: drift is a successful detection.
    await seedDemoSandbox(a.config.planesDir, new Date());
    const scanned = await scanOn(a, unit);
    expect(scanned.status).toBe('drift');

    // B's sweep, on B's queue, reads A's success: not overdue, no DETECTION_STALE finding.
    const after = await sweepOn(b, [unit]);
    expect(after).toMatchObject({ overdue: [], findings: [] });
    const seenByB = await b.worker.ledger.detection.read(unit);
    expect(seenByB).toMatchObject({ lastResult: 'ok', consecutiveFailures: 0, lastSuccessAt: expect.any(String) });
    expect(await reader.detection.read(unit)).toEqual(seenByB);
    expect(Date.now() - Date.parse(seenByB!.lastSuccessAt!)).toBeLessThan(5 * 60_000);
  });

  it("failures worker A records are worker B's view of the unit, and both sweeps find it overdue alike", async () => {
    const unit = 'payments-prod-network';
    const interval = await intervalOf(unit);
    expect(interval).toBe(15 * 60_000);

    // An AWS stack whose OIDC role has no token file: A's detector fails, twice.
    for (let i = 0; i < 2; i++) expect((await scanOn(a, unit)).status).toBe('failed');
    const viewOfA = await a.worker.ledger.detection.read(unit);
    expect(viewOfA).toMatchObject({ lastResult: 'failed', consecutiveFailures: 2, lastError: expect.stringMatching(/web identity token file/) });
    expect(viewOfA?.lastSuccessAt).toBeUndefined();
    expect(await b.worker.ledger.detection.read(unit)).toEqual(viewOfA);
    expect(await reader.detection.read(unit)).toEqual(viewOfA);
    const now = new Date();
    expect(isOverdue(viewOfA, interval, now)).toBe(false);
    expect(isOverdue(await reader.detection.read(unit), interval, now)).toBe(false);
    expect(await sweepOn(b, [unit])).toMatchObject({ overdue: [], findings: [] });

    // Its 15 minutes pass with no success: overdue for every reader, and both sweeps say so alike.
    await knownSince(unit, 20 * 60_000);
    const later = new Date();
    expect(isOverdue(await a.worker.ledger.detection.read(unit), interval, later)).toBe(true);
    expect(isOverdue(await reader.detection.read(unit), interval, later)).toBe(true);
    const [byA, byB] = [await sweepOn(a, [unit]), await sweepOn(b, [unit])];
    const expected = [{ unit, intervalMs: 15 * 60_000 }];
    expect(byA.overdue).toEqual(expected);
    expect(byB.overdue).toEqual(expected);
    // The same fingerprint: B's sweep joins the lifecycle A's failed scans opened, not a second one.
    expect(byB.findings.map((f) => f.findingId)).toEqual(byA.findings.map((f) => f.findingId));
    expect(byB.findings).toHaveLength(1);
  });
});
