import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { diffManifests } from '../../../domain/kubernetes/diff';
import { repoRoot, sharedFixture } from '../../support/shared-fixtures';

const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
const argo = (name: string): string => sharedFixture('argocd', name);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'k8s-diff-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 99) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  writeFileSync(file, text);
  return file;
}

const readYaml = (file: string): unknown => parse(readFileSync(file, 'utf8'));

const DESIRED = argo('util__argo__testdata__desired_deployment.yaml');
const LIVE = argo('util__argo__testdata__live_deployment_with_managed_replica.yaml');

describe('driftplane k8s diff', () => {
  it('drift in YAML files: exit 2, --json is exactly { modified, changes } as the domain computes it', async () => {
    const r = await cli('k8s', 'diff', DESIRED, LIVE, '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('');
    const printed = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(printed).sort()).toEqual(['changes', 'modified']);
    expect(printed).toEqual(diffManifests(readYaml(DESIRED), readYaml(LIVE)));
    expect(printed).toEqual({
      modified: true,
      changes: [
        { path: '/spec/replicas', owner: 'kube-controller-manager', desired: 3, live: 2 },
        { path: '/spec/revisionHistoryLimit', owner: 'revision-history-manager', desired: 1, live: 3 },
      ],
    });
    for (const c of printed.changes as Record<string, unknown>[])
      for (const k of Object.keys(c)) expect(['path', 'owner', 'desired', 'live']).toContain(k);
  });

  it('text mode lists each path with its values and owner', async () => {
    const r = await cli('k8s', 'diff', DESIRED, LIVE);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('drift: 2 changed fields (three-way');
    expect(r.stdout).toContain('~ /spec/replicas  desired 3, live 2  (owner: kube-controller-manager)');
    expect(r.stdout).not.toContain('managedFields');
    expect(r.stdout).not.toContain('/status');
  });

  it('no drift: exit 0 (structured-merge on smd-deploy as argocd-controller)', async () => {
    const r = await cli(
      'k8s',
      'diff',
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-live.yaml'),
      '--mode',
      'structured-merge',
      '--manager',
      'argocd-controller',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ modified: false, changes: [] });
    const text = await cli(
      'k8s',
      'diff',
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__smd-deploy-live.yaml'),
      '--mode=structured-merge',
      '--manager=argocd-controller',
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^no drift: /);
  });

  it('server-side with a JSON predicted-live file', async () => {
    const r = await cli(
      'k8s',
      'diff',
      argo('gitops-engine__pkg__diff__testdata__ssd-svc-no-label-config.yaml'),
      argo('gitops-engine__pkg__diff__testdata__ssd-svc-label-live.yaml'),
      '--mode',
      'server-side',
      '--manager',
      'argocd-controller',
      '--predicted-live',
      argo('gitops-engine__pkg__diff__testdata__ssd-svc-no-label-predicted-live.json'),
      '--json',
    );
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      modified: true,
      changes: [{ path: '/metadata/labels/delete-me', live: 'delete-value' }],
    });
  });

  it('--ignore-aggregated-roles turns aggregated rules from drift (2) into no drift (0)', async () => {
    const role = (rules: string) =>
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: view-all\naggregationRule:\n  clusterRoleSelectors:\n    - matchLabels:\n        agg: "true"\nrules: ${rules}\n`;
    const desired = write('role-desired.yaml', role('[]'));
    const live = write(
      'role-live.json',
      JSON.stringify(parse(role('[{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]'))),
    );
    expect((await cli('k8s', 'diff', desired, live)).code).toBe(2);
    expect((await cli('k8s', 'diff', desired, live, '--ignore-aggregated-roles')).code).toBe(0);
  });

  it('Secret data values never reach the output, in JSON or text', async () => {
    const secret = (value: string) =>
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: ${value}\n`;
    const desired = write('secret-desired.yaml', secret('c2VjcmV0LWRlc2lyZWQ='));
    const live = write('secret-live.yaml', secret('c2VjcmV0LWxpdmU='));
    const json = await cli('k8s', 'diff', desired, live, '--json');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ modified: true, changes: [{ path: '/data/password' }] });
    const text = await cli('k8s', 'diff', desired, live);
    expect(text.stdout).toContain('/data/password  value hidden (Secret data)');
    for (const out of [json.stdout, json.stderr, text.stdout, text.stderr]) {
      expect(out).not.toContain('c2VjcmV0');
    }
  });

  it('a YAML syntax error is exit 1 naming the file and line', async () => {
    const bad = write(
      'bad.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: [unclosed\n',
    );
    const r = await cli('k8s', 'diff', bad, LIVE);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('a missing field is exit 1 naming the file, line and field', async () => {
    const noKind = write('no-kind.yaml', 'apiVersion: apps/v1\nmetadata:\n  name: kustomize-guestbook-ui\n');
    const r = await cli('k8s', 'diff', noKind, LIVE);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${noKind}:1:1 field /kind: missing or non-string kind`);
  });

  it('a kind mismatch, a missing file, several documents, an unknown mode, a missing manager: exit 1 with a clear error', async () => {
    const svc = argo('gitops-engine__pkg__diff__testdata__ssd-svc-label-live.yaml');
    const mismatch = await cli('k8s', 'diff', DESIRED, svc);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(
      new RegExp(
        `${svc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+ field /kind: kind Service \\(v1\\) does not match the desired kind Deployment \\(apps/v1\\)`,
      ),
    );

    const missing = await cli('k8s', 'diff', path.join(tmp, 'nope.yaml'), LIVE);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nope.yaml: no such file');

    const two = write(
      'two.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n',
    );
    const multi = await cli('k8s', 'diff', two, two);
    expect(multi.code).toBe(1);
    expect(multi.stderr).toContain(two);

    const list = write('list.json', '[]');
    expect((await cli('k8s', 'diff', list, LIVE)).stderr).toContain(
      `${list}:1:1: expected one Kubernetes object`,
    );

    const mode = await cli('k8s', 'diff', DESIRED, LIVE, '--mode', 'two-way');
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain('--mode "two-way" is not one of three-way, structured-merge, server-side');

    const noManager = await cli('k8s', 'diff', DESIRED, LIVE, '--mode', 'structured-merge');
    expect(noManager.code).toBe(1);
    expect(noManager.stderr).toContain('structured-merge mode needs the field manager (--manager)');
  });

  it('--help explains the modes and shows examples', async () => {
    const r = await cli('k8s', 'diff', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--mode <mode>');
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('--predicted-live predicted.json');
  });
});
