import { describe, expect, it } from 'vitest';
import { keylessRedactor } from '../../domain/redaction';
import type { DriftObservation } from '../../domain/finding';

const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

const observation: DriftObservation = {
  unit: 'u',
  resourceRef: 'Deployment/ns/web',
  resourceType: 'Deployment',
  relationship: 'desired!=actual',
  changeType: 'modified',
  changedFields: ['/spec/replicas'],
  diff: [{ path: '/spec/replicas', kind: 'changed', desired: 2, actual: 5 }],
  detectedAt: '2026-12-03T10:00:00Z',
  detector: 'argocd',
  context: {
    reconcile: { attempts: 2, lastError: `clone https://x:${token}@github.com/acme/gitops failed` },
    unjoined: [`git-history: auth ${token} refused`],
    dependency: { ref: `registry.example/app:latest?token=${token}`, why: 'mutable tag' },
    matchingChange: { kind: 'pr', ref: `PR #4 ${token}` },
    conditions: [`Ready=False ${token}`],
    gitops: { controller: 'argocd', sync: 'Synced', health: 'Degraded' },
  },
};

describe('the redactor scrubs the free text of an observation context', () => {
  it('removes a token from every context text field and keeps the rest', () => {
    const out = keylessRedactor.observation(observation);
    expect(JSON.stringify(out)).not.toContain(token);
    expect(out.context?.reconcile?.attempts).toBe(2);
    expect(out.context?.reconcile?.lastError).toMatch(/^clone https:\/\/.*github\.com\/acme\/gitops failed$/);
    expect(out.context?.gitops).toEqual(observation.context?.gitops);
    expect(out.context?.matchingChange?.kind).toBe('pr');
  });
  it('leaves an observation without context unchanged in shape', () => {
    const { context: _c, ...plain } = observation;
    expect(keylessRedactor.observation(plain).context).toBeUndefined();
  });
});
