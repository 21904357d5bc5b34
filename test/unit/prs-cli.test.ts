import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localGitPrProvider } from '../../activities/git-local';
import { makeRepo, request, sh } from '../activities/git-local/helpers';
import { repoRoot } from '../support/shared-fixtures';

// The real `driftplane prs` command as a child process, on a real repository, with Temporal down
// (nothing listens at TEMPORAL_ADDRESS): the merge or close stands and only a warning says so.
let home: string;
let repo: string;
let branch1: string;

function driftplane(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'bin', 'driftplane.cjs'), ...args],
      {
        cwd: repoRoot,
        env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', DRIFTPLANE_HOME: home },
        encoding: 'utf8',
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  home = mkdtempSync(path.join(os.tmpdir(), 'driftplane-prs-home-'));
  // The default repository: the local planes folder, $DRIFTPLANE_HOME/planes.
  repo = path.join(home, 'planes');
  renameSync(makeRepo(), repo);
  const provider = localGitPrProvider();
  branch1 = (
    await provider.open(
      request(repo, 'checkout-web-prod:760c28255832dc80', {
        'apps/checkout/values.yaml': 'image: checkout@sha256:bbb\nreplicas: 3\n',
      }),
    )
  ).branch;
  await provider.open(request(repo, 'catalog-staging:11aa', { 'README.md': '# relabelled\n' }));
});

afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('driftplane prs', () => {
  it('lists the PRs as JSON, from --repo and from $DRIFTPLANE_HOME/planes', async () => {
    const explicit = await driftplane('prs', 'list', '--repo', repo, '--json');
    expect(explicit.code).toBe(0);
    const { prs } = JSON.parse(explicit.stdout) as {
      prs: { number: number; state: string; findingId: string; branch: string }[];
    };
    expect(prs.map((p) => [p.number, p.state, p.findingId])).toEqual([
      [1, 'open', 'checkout-web-prod:760c28255832dc80'],
      [2, 'open', 'catalog-staging:11aa'],
    ]);
    expect(prs[0]?.branch).toBe(branch1);
    const byDefault = await driftplane('prs', 'list', '--json', '--state', 'open');
    expect(byDefault.code).toBe(0);
    expect(JSON.parse(byDefault.stdout)).toEqual(JSON.parse(explicit.stdout));
  });

  it('merges for real with --no-signal and prints the record as JSON', async () => {
    const res = await driftplane(
      'prs',
      'merge',
      '1',
      '--repo',
      repo,
      '--no-signal',
      '--as',
      'a@b.c',
      '--json',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as {
      pr: { state: string; mergeCommit: string; closedBy: string };
      changed: boolean;
      signal: { sent: boolean };
    };
    const head = sh(repo, 'rev-parse', 'HEAD').trim();
    expect(out).toMatchObject({
      changed: true,
      signal: { sent: false },
      pr: { state: 'merged', mergeCommit: head, closedBy: 'a@b.c' },
    });
    expect(sh(repo, 'log', '-1', '--format=%s').trim()).toBe(
      'Merge driftplane PR #1: Reconcile checkout-web-prod:760c28255832dc80',
    );
    expect(readFileSync(path.join(repo, 'apps/checkout/values.yaml'), 'utf8')).toBe(
      'image: checkout@sha256:bbb\nreplicas: 3\n',
    );

    const again = await driftplane('prs', 'merge', '1', '--repo', repo, '--no-signal', '--as', 'x@y.z');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/PR #1 was already merged by a@b\.c .*nothing to do/);
    expect(sh(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
  });

  it('closes with Temporal down: the close stands, a warning says the lifecycle will see it at its next poll, exit 0', async () => {
    const res = await driftplane(
      'prs',
      'close',
      '2',
      '--repo',
      repo,
      '--as',
      'a@b.c',
      '--reason',
      'fixed by hand',
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/PR #2 closed by a@b\.c/);
    expect(res.stderr).toMatch(
      /^warning: cannot reach Temporal at 127\.0\.0\.1:1.*the lifecycle will see it at its next poll/,
    );
    const rec = JSON.parse(readFileSync(path.join(repo, '.git', 'driftplane', 'prs', '2.json'), 'utf8'));
    expect(rec).toMatchObject({ state: 'closed', closedBy: 'a@b.c', reason: 'fixed by hand' });
  });

  it('names what is wrong: a missing PR, a bad number, a missing repository', async () => {
    const missing = await driftplane('prs', 'show', '9', '--repo', repo);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(`error: field <number>: no driftplane PR #9 in ${repo}\n`);
    const [bad, noRepo] = await Promise.all([
      driftplane('prs', 'show', 'abc', '--repo', repo),
      driftplane('prs', 'list', '--repo', path.join(home, 'nope')),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/"abc" is not a PR number/);
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toMatch(/nope: no such folder/);
  });
});
