import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closePr,
  listPrs,
  localGitPrProvider,
  LocalRepoNotFound,
  MergeConflict,
  mergePr,
  NotOnBaseBranch,
  PrNotFound,
  PrNotOpen,
  showPr,
  WorkingTreeDirty,
} from '../../../activities/git-local';
import { branchOf, findingIdOfBranch } from '../../../domain/reconcile/branch';
import { makeRepo, put, removeRepos, request, sh } from './helpers';

afterAll(removeRepos);

const provider = localGitPrProvider();
const NEW_VALUES = 'image: checkout@sha256:bbb\nreplicas: 3\n';
const by = { by: 'maria.lopez@acme.example', at: '2025-01-02T03:04:05.000Z' };

describe('localGitPrProvider.open', () => {
  it('creates the finding branch with one commit holding exactly the files changed, leaving the working tree and index alone', async () => {
    const repo = makeRepo();
    // Something in progress in the working tree and the index: open must not disturb either.
    put(repo, 'README.md', '# edited, not staged\n');
    put(repo, 'staged.txt', 'staged\n');
    sh(repo, 'add', 'staged.txt');
    put(repo, 'untracked.txt', 'untracked\n');
    const before = sh(repo, 'status', '--porcelain');
    const indexBefore = sh(repo, 'ls-files', '-s');
    const mainBefore = sh(repo, 'rev-parse', 'main').trim();

    const ref = await provider.open(
      request(repo, 'checkout-web-prod:760c28255832dc80', {
        'apps/checkout/values.yaml': NEW_VALUES,
        'apps/checkout/new.yaml': 'a: 1\n',
      }),
    );

    expect(ref).toMatchObject({
      provider: 'local-git',
      repo,
      number: 1,
      branch: 'driftplane/checkout-web-prod/760c28255832dc80',
      created: true,
      url: `file://${repo}#pr-1`,
    });
    expect(ref.branch).toBe(branchOf('checkout-web-prod:760c28255832dc80'));
    expect(findingIdOfBranch(ref.branch)).toBe('checkout-web-prod:760c28255832dc80');
    expect(sh(repo, 'rev-parse', `refs/heads/${ref.branch}`).trim()).toBe(ref.commit);
    // One commit on main, changing exactly those two files.
    expect(sh(repo, 'rev-parse', `${ref.commit}^`).trim()).toBe(mainBefore);
    expect(sh(repo, 'show', '--format=%s', '--name-status', ref.commit).trim().split('\n')).toEqual([
      'Reconcile checkout-web-prod:760c28255832dc80',
      '',
      'A\tapps/checkout/new.yaml',
      'M\tapps/checkout/values.yaml',
    ]);
    expect(sh(repo, 'show', '--stat', '--format=', ref.commit)).toMatch(
      /2 files changed, 2 insertions\(\+\), 1 deletion\(-\)/,
    );
    expect(sh(repo, 'show', `${ref.commit}:apps/checkout/values.yaml`)).toBe(NEW_VALUES);

    expect(sh(repo, 'status', '--porcelain')).toBe(before);
    expect(sh(repo, 'ls-files', '-s')).toBe(indexBefore);
    expect(sh(repo, 'rev-parse', 'main').trim()).toBe(mainBefore);
    expect(readFileSync(path.join(repo, 'apps/checkout/values.yaml'), 'utf8')).toBe(
      'image: checkout@sha256:aaa\nreplicas: 3\n',
    );

    // The record and the body.
    expect(ref.recordPath).toBe(path.join(repo, '.git', 'driftplane', 'prs', '1.json'));
    const rec = JSON.parse(readFileSync(ref.recordPath!, 'utf8'));
    expect(rec).toMatchObject({
      number: 1,
      findingId: 'checkout-web-prod:760c28255832dc80',
      branch: ref.branch,
      base: 'main',
      title: 'Reconcile checkout-web-prod:760c28255832dc80',
      labels: ['driftplane', 'reconcile'],
      reviewers: { teams: ['platform'], users: ['maria.lopez'] },
      state: 'open',
      commit: ref.commit,
    });
    expect(Date.parse(rec.createdAt)).not.toBeNaN();
    expect(readFileSync(path.join(repo, '.git', 'driftplane', 'prs', '1.md'), 'utf8')).toBe(
      '## Drift\n\nfinding checkout-web-prod:760c28255832dc80\n',
    );
    expect(await provider.status({ repo, number: 1 })).toEqual({ state: 'open' });
  });

  it('is idempotent by finding: a second open makes no commit and returns the same number', async () => {
    const repo = makeRepo();
    const req = request(repo, 'catalog-staging:abc123', { 'apps/checkout/values.yaml': NEW_VALUES });
    const first = await provider.open(req);
    const refsBefore = sh(repo, 'for-each-ref');
    const objectsBefore = sh(repo, 'count-objects', '-v');
    const second = await provider.open({ ...req, title: 'a different title' });
    expect(second).toEqual({ ...first, created: false });
    expect(sh(repo, 'for-each-ref')).toBe(refsBefore);
    expect(sh(repo, 'count-objects', '-v')).toBe(objectsBefore);
    expect(await listPrs(repo)).toHaveLength(1);
  });

  it('keeps the commit of a branch a crashed attempt left without a record', async () => {
    const repo = makeRepo();
    const req = request(repo, 'catalog-staging:crash1', { 'apps/checkout/values.yaml': NEW_VALUES });
    const first = await provider.open(req);
    // Lose the record and the claim, as if the process died after update-ref.
    rmSync(path.join(repo, '.git', 'driftplane'), { recursive: true });
    const again = await provider.open(req);
    expect(again).toMatchObject({ number: 1, commit: first.commit, created: true });
  });

  it('gives concurrent opens of different findings different numbers, and of one finding one PR', async () => {
    const repo = makeRepo();
    const ids = Array.from({ length: 8 }, (_, i) => `unit-${i}:f${i}`);
    const refs = await Promise.all(
      ids.map((id) => provider.open(request(repo, id, { [`apps/${id.split(':')[0]}.yaml`]: `n: ${id}\n` }))),
    );
    expect(new Set(refs.map((r) => r.number)).size).toBe(8);
    expect(refs.map((r) => r.number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const same = await Promise.all(
      [1, 2, 3, 4].map(() => provider.open(request(repo, 'shared:f0', { 'apps/shared.yaml': 'x\n' }))),
    );
    expect(new Set(same.map((r) => r.number)).size).toBe(1);
    expect(new Set(same.map((r) => r.commit)).size).toBe(1);
    expect((await listPrs(repo)).filter((p) => p.findingId === 'shared:f0')).toHaveLength(1);
    expect(await listPrs(repo)).toHaveLength(9);
  });

  it('names a missing repository and a missing base branch', async () => {
    await expect(
      provider.open(request('/nonexistent/driftplane-repo', 'u:f', { a: 'b' })),
    ).rejects.toBeInstanceOf(LocalRepoNotFound);
    await expect(provider.open(request('relative/repo', 'u:f', { a: 'b' }))).rejects.toThrow(
      /not an absolute path/,
    );
    const repo = makeRepo();
    await expect(provider.open(request(repo, 'u:f', { a: 'b' }, { base: 'develop' }))).rejects.toThrow(
      /no branch or commit "develop"/,
    );
    await expect(provider.open(request(repo, 'u:f', { '../escape': 'b' }))).rejects.toThrow(
      /not a normalized path/,
    );
    await expect(provider.open(request(repo, 'u:f', { '.git/config': 'b' }))).rejects.toThrow(/inside .git/);
  });
});

describe('localGitPrProvider.readFile', () => {
  it('reads a file on a branch, and undefined for a missing file or branch', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:r1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    expect(await provider.readFile(repo, ref.branch, 'apps/checkout/values.yaml')).toBe(NEW_VALUES);
    expect(await provider.readFile(repo, 'main', 'apps/checkout/values.yaml')).toBe(
      'image: checkout@sha256:aaa\nreplicas: 3\n',
    );
    expect(await provider.readFile(repo, ref.branch, 'apps/missing.yaml')).toBeUndefined();
    expect(await provider.readFile(repo, 'no-such-branch', 'README.md')).toBeUndefined();
    expect(await provider.readFile(repo, ref.branch, 'apps')).toBeUndefined();
  });
});

describe('localGitPrProvider.listFiles', () => {
  it('lists the files directly inside a folder on a branch', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:l1', {
        'apps/checkout/extra.yaml': 'x: 1\n',
        'apps/checkout/deep/one.yaml': 'y\n',
      }),
    );
    expect(await provider.listFiles(repo, ref.branch, 'apps/checkout')).toEqual([
      'apps/checkout/extra.yaml',
      'apps/checkout/values.yaml',
    ]);
    expect(await provider.listFiles(repo, 'main', 'apps/checkout/')).toEqual(['apps/checkout/values.yaml']);
    expect(await provider.listFiles(repo, 'main', '')).toEqual(['README.md']);
    expect(await provider.listFiles(repo, 'main', 'apps/missing')).toEqual([]);
    expect(await provider.listFiles(repo, 'no-such-branch', 'apps')).toEqual([]);
  });
});

describe('a PR opened again on another branch', () => {
  it('is a new PR for the same finding once the first was closed unmerged', async () => {
    const repo = makeRepo();
    const first = await provider.open(
      request(repo, 'checkout-web-prod:again', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    await closePr(repo, first.number, by);
    const second = await provider.open(
      request(
        repo,
        'checkout-web-prod:again',
        { 'apps/checkout/values.yaml': NEW_VALUES },
        { branch: `${first.branch}-r2` },
      ),
    );
    expect(second).toMatchObject({
      number: 2,
      branch: 'driftplane/checkout-web-prod/again-r2',
      created: true,
    });
    expect((await listPrs(repo)).map((p) => [p.findingId, p.branch, p.state])).toEqual([
      ['checkout-web-prod:again', first.branch, 'closed'],
      ['checkout-web-prod:again', second.branch, 'open'],
    ]);
    // Without a branch, the finding's first PR is found again (closed): the caller decides.
    expect(await provider.open(request(repo, 'checkout-web-prod:again', {}))).toMatchObject({
      number: 1,
      created: false,
    });
  });
});

describe('listPrs, showPr', () => {
  it('lists by state and shows the record, body and the diff', async () => {
    const repo = makeRepo();
    await provider.open(request(repo, 'a:1', { 'apps/checkout/values.yaml': NEW_VALUES }));
    await provider.open(request(repo, 'b:2', { 'other.yaml': 'x: 1\n' }));
    await closePr(repo, 2, { ...by, reason: 'not needed' });
    expect((await listPrs(repo)).map((p) => [p.number, p.state])).toEqual([
      [1, 'open'],
      [2, 'closed'],
    ]);
    expect((await listPrs(repo, { state: 'open' })).map((p) => p.number)).toEqual([1]);
    const d = await showPr(repo, 1);
    expect(d.record.findingId).toBe('a:1');
    expect(d.body).toContain('finding a:1');
    expect(d.stat).toMatch(/apps\/checkout\/values\.yaml \| 2 \+-/);
    expect(d.diff).toContain('-image: checkout@sha256:aaa');
    expect(d.diff).toContain('+image: checkout@sha256:bbb');
    await expect(showPr(repo, 99)).rejects.toBeInstanceOf(PrNotFound);
    expect(await listPrs(makeRepo())).toEqual([]);
  });
});

describe('mergePr', () => {
  it('makes a real merge commit in the working tree and records it; merging again is a no-op', async () => {
    const repo = makeRepo();
    put(repo, 'untracked.txt', 'fine\n');
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:m1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    const mainBefore = sh(repo, 'rev-parse', 'main').trim();

    const res = await mergePr(repo, ref.number, by);
    expect(res.changed).toBe(true);
    const head = sh(repo, 'rev-parse', 'HEAD').trim();
    expect(res.record).toMatchObject({
      state: 'merged',
      mergeCommit: head,
      closedBy: by.by,
      closedAt: by.at,
    });
    expect(sh(repo, 'log', '-1', '--format=%P%n%s', head).trim().split('\n')).toEqual([
      `${mainBefore} ${ref.commit}`,
      `Merge driftplane PR #1: Reconcile checkout-web-prod:m1`,
    ]);
    expect(readFileSync(path.join(repo, 'apps/checkout/values.yaml'), 'utf8')).toBe(NEW_VALUES);
    expect(sh(repo, 'status', '--porcelain')).toBe('?? untracked.txt\n');
    expect(await provider.status({ repo, number: 1 })).toEqual({
      state: 'merged',
      at: by.at,
      by: by.by,
      mergeCommit: head,
    });
    // The PR's change is still shown once merged.
    expect((await showPr(repo, 1)).stat).toMatch(/values\.yaml/);

    const again = await mergePr(repo, ref.number, {
      by: 'someone.else@acme.example',
      at: '2025-02-01T00:00:00.000Z',
    });
    expect(again.changed).toBe(false);
    expect(again.record.closedBy).toBe(by.by);
    expect(sh(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(path.join(repo, '.git', 'driftplane', 'prs', '1.lock'))).toBe(false);
    await expect(closePr(repo, 1, by)).rejects.toBeInstanceOf(PrNotOpen);
  });

  it('refuses a dirty working tree and a HEAD that is not the base branch, changing nothing', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:d1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    put(repo, 'README.md', '# local edit\n');
    const head = sh(repo, 'rev-parse', 'HEAD').trim();
    const err = await mergePr(repo, ref.number, by).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkingTreeDirty);
    expect((err as Error).message).toMatch(/uncommitted changes to tracked files \(README\.md\)/);
    expect(sh(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect((await listPrs(repo))[0]?.state).toBe('open');
    sh(repo, 'checkout', '-q', '--', 'README.md');
    sh(repo, 'switch', '-q', '-c', 'feature');
    await expect(mergePr(repo, ref.number, by)).rejects.toBeInstanceOf(NotOnBaseBranch);
    sh(repo, 'switch', '-q', 'main');
    expect((await mergePr(repo, ref.number, by)).changed).toBe(true);
  });

  it('aborts a conflicting merge with MergeConflict and leaves the repository clean', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:c1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    // Someone changes the same line on main after the PR was opened.
    put(repo, 'apps/checkout/values.yaml', 'image: checkout@sha256:ccc\nreplicas: 3\n');
    sh(repo, 'commit', '-q', '-am', 'hand edit');
    const head = sh(repo, 'rev-parse', 'HEAD').trim();
    const err = await mergePr(repo, ref.number, by).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MergeConflict);
    expect((err as MergeConflict).files).toEqual(['apps/checkout/values.yaml']);
    expect(sh(repo, 'status', '--porcelain')).toBe('');
    expect(sh(repo, 'rev-parse', 'HEAD').trim()).toBe(head);
    expect(existsSync(path.join(repo, '.git', 'MERGE_HEAD'))).toBe(false);
    expect(readFileSync(path.join(repo, 'apps/checkout/values.yaml'), 'utf8')).toBe(
      'image: checkout@sha256:ccc\nreplicas: 3\n',
    );
    expect((await listPrs(repo))[0]?.state).toBe('open');
  });

  it('records a PR merged by hand with plain git, and status sees it before', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:h1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    sh(repo, 'merge', '-q', '--no-ff', '-m', 'by hand', ref.branch);
    const mergeCommit = sh(repo, 'rev-parse', 'HEAD').trim();
    expect(await provider.status({ repo, number: 1 })).toEqual({ state: 'merged', mergeCommit });
    const res = await mergePr(repo, 1, by);
    expect(res.record).toMatchObject({ state: 'merged', mergeCommit });
    expect(sh(repo, 'rev-parse', 'HEAD').trim()).toBe(mergeCommit);
  });

  it('closes without merging; a closed PR cannot be merged', async () => {
    const repo = makeRepo();
    const ref = await provider.open(
      request(repo, 'checkout-web-prod:x1', { 'apps/checkout/values.yaml': NEW_VALUES }),
    );
    const res = await closePr(repo, ref.number, { ...by, reason: 'superseded' });
    expect(res.record).toMatchObject({ state: 'closed', closedBy: by.by, reason: 'superseded' });
    expect((await closePr(repo, ref.number, by)).changed).toBe(false);
    expect(await provider.status({ repo, number: 1 })).toEqual({ state: 'closed', at: by.at, by: by.by });
    await expect(mergePr(repo, ref.number, by)).rejects.toBeInstanceOf(PrNotOpen);
    expect(sh(repo, 'rev-parse', `refs/heads/${ref.branch}`).trim()).toBe(ref.commit);
    await expect(mergePr(repo, 42, by)).rejects.toBeInstanceOf(PrNotFound);
  });
});
