import { canonicalJson } from './table';
import type { Decision } from './decision';

/**
 * A decision without the per-detection identifiers (findingId, detectedAt, evidenceUri), so two
 * detections of the same drift can be compared for equality: the classification itself never
 * depends on a finding's fingerprint or time of detection.
 */
export function fingerprintless(decision: Decision): Decision {
  const { findingId: _id, detectedAt: _at, evidenceUri: _uri, ...finding } = decision.finding;
  return { ...decision, finding };
}

/** Canonical JSON of {@link fingerprintless}: equal for equal decisions, usable as a memo key or in evidence. */
export function decisionKey(decision: Decision): string {
  return canonicalJson(fingerprintless(decision));
}
