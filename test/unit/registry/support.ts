import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** A fixed clock: every test of expiry is evaluated at this instant. */
export const testNow = new Date('2026-11-24T12:00:00Z');

/** A small valid registry that the negative cases add one broken file to. */
export const baseRegistry = `apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: web
spec:
  slackChannel: "#team-web"
  members:
    - email: ann@example.com
    - email: bob@example.com
  approverGroups:
    - name: web-approvers
      members: [ann@example.com]
---
apiVersion: driftplane.io/v1alpha1
kind: Team
metadata:
  name: data
spec:
  members:
    - email: cy@example.com
  approverGroups:
    - name: data-approvers
      members: [cy@example.com]
---
apiVersion: driftplane.io/v1alpha1
kind: AutoHealPolicy
metadata:
  name: safe
spec:
  appliesTo: {}
  allowedPaths: [/metadata/labels]
  maxObjectsPerReconcile: 3
---
apiVersion: driftplane.io/v1alpha1
kind: AutoHealPolicy
metadata:
  name: frozen
spec:
  mode: deny
  appliesTo:
    units:
      matchLabels: { frozen: "true" }
---
apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: web-prod
spec:
  type: argocd-app
  owner: web
  environment: prod
  riskTier: high
  domain: app
  source: { repo: github.com/example/gitops, path: apps/web/prod }
  approvers: [web-approvers]
`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes files (relative path → content) into a fresh temp dir and returns its absolute path. */
export function writeRegistry(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'driftplane-registry-'));
  dirs.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(dir, rel);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}

/**
 * The 1-based line of the line marked with `# <` in a YAML text (the marker is a YAML comment,
 * so the case stays valid YAML apart from the problem it tests).
 */
export function markedLine(text: string): number {
  const i = text.split('\n').findIndex((l) => l.includes('# <'));
  if (i < 0) throw new Error('case has no "# <" marker');
  return i + 1;
}

/** A unit document with overrides spliced into spec (YAML lines, indented 2). */
export function unit(name: string, specLines: string, opts: { header?: string } = {}): string {
  return `${opts.header ?? ''}apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: ${name}
spec:
${specLines}`;
}
