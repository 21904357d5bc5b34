/**
 * The evidence store's retention from the registry (issue 13 §1): each record is locked for its
 * unit's `evidence.retention`, and the transparency log for at least the longest of them.
 */
import type { EvidenceSettings } from '../evidence/settings';
import { DEFAULT_RETENTION, longerRetention } from '../evidence/retention';
import { evidenceRetentionOf, type Registry } from '../registry';

/**
 * `settings` with `retentionFor` (the unit's `evidence.retention` for an evidence id, from the
 * registry last read: read once now, refreshed in the background whenever the reader's cache
 * expires; undefined, so DRIFTPLANE_EVIDENCE_RETENTION, for a unit that sets none) and
 * `logRetention` raised to the longest unit retention, so an inclusion proof outlives every record
 * it proves. An unreadable registry leaves both to the settings.
 */
export async function withUnitRetention(
  settings: EvidenceSettings,
  registry: () => Promise<Registry | undefined>,
): Promise<EvidenceSettings> {
  let last = await registry();
  const retentionFor = (evidenceId: string): string | undefined => {
    void registry().then(
      (r) => (last = r ?? last),
      () => undefined,
    );
    return last ? evidenceRetentionOf(last, evidenceId) : undefined;
  };
  const logRetention = [...(last?.units.values() ?? [])]
    .flatMap((u) => (u.spec.evidence?.retention ? [u.spec.evidence.retention] : []))
    .reduce((a, b) => longerRetention(a, b), settings.logRetention ?? settings.retention ?? DEFAULT_RETENTION);
  return { ...settings, retentionFor, logRetention };
}
