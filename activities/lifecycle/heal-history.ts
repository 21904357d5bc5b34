import type { EvidenceStore } from '../../evidence/evidence-store';

/**
 * When a finding (one fingerprint) was auto-healed, oldest first, read from its evidence chain:
 * every lifecycle run of the same drift appends to the same chain, so a run whose approval was
 * the auto-heal policy and whose reconcile executed is one heal. Feeds the controller-fight
 * breaker (§24.3). Evidence is the audit record, so the breaker counts what an auditor would.
 */
export async function autoHealTimes(evidence: EvidenceStore, findingId: string): Promise<Date[]> {
  const records = await evidence.read(findingId);
  const autoHealed = new Set(records.filter((r) => r.step === 'approval' && (r.data as { kind?: string } | null)?.kind === 'auto-heal').map((r) => r.runId));
  return records
    .filter((r) => r.step === 'reconciled' && autoHealed.has(r.runId) && (r.data as { executed?: boolean } | null)?.executed === true)
    .map((r) => new Date(r.at))
    .sort((a, b) => a.getTime() - b.getTime());
}
