// A second process writing to the same store as the test: it says "ready", waits for "go" on
// stdin (so both processes start writing at the same moment), runs its writes all at once and
// prints how many succeeded and the errors of the others as one JSON line.
//
//   node --import tsx test/support/store-writer.ts evidence <root> <findingId> <count> <keyPrefix>
//   node --import tsx test/support/store-writer.ts status <ledgerUrl> <unit> <count> <errorPrefix> <firstAt>
//
// `status` opens the ledger (a postgres:// URL several processes share) before saying "ready" and
// records `count` failed detections of the unit, all at once, the i-th at `firstAt` + i ms.
import { createInterface } from 'node:readline';
import { EvidenceStore } from '../../evidence/evidence-store';
import { openLedger, type Ledger } from '../../ledger';

/** What the writer reports on stdout when it is done. */
export interface WriterReport {
  ok: number;
  errors: string[];
}

async function main(): Promise<void> {
  const [kind, dir, subject, countText, prefix, firstAt] = process.argv.slice(2);
  if (!kind || !dir || !subject || !countText || !prefix) throw new Error('usage: store-writer evidence|status <dir|ledgerUrl> <subject> <count> <keyPrefix>');
  const count = Number(countText);
  const ledger: Ledger | undefined = kind === 'status' ? await openLedger(dir) : undefined;
  // An instant of its own per attempt: the attempts log is keyed by (unit, at).
  const base = Date.parse(firstAt ?? new Date().toISOString());
  const write =
    kind === 'evidence'
      ? (i: number) => {
          const store = new EvidenceStore(dir);
          return store.append({
            findingId: subject,
            runId: prefix,
            key: `${prefix}:${i}`,
            step: `step-${prefix}-${i}`,
            at: new Date().toISOString(),
            data: { i },
          });
        }
      : (i: number) => ledger!.detection.record(subject, { status: 'failed', error: `${prefix}:${i}` }, new Date(base + i));

  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) if (line.trim() === 'go') break;
  lines.close();

  // Detection records: the writer's first attempt goes alone, then the rest at once, so the unit's
  // first-seen instant is the first attempt of whichever writer the database took first (the test's
  // claim); the two writers still race, and so do each writer's other attempts.
  const first = kind === 'status' ? await Promise.allSettled([write(0)]) : [];
  const results = [...first, ...(await Promise.allSettled(Array.from({ length: count - first.length }, (_, i) => write(i + first.length))))];
  const report: WriterReport = {
    ok: results.filter((r) => r.status === 'fulfilled').length,
    errors: results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error)?.message ?? r.reason)] : [])),
  };
  await ledger?.close();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
