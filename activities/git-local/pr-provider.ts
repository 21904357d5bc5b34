import { createHash } from 'node:crypto';
import { mkdtemp, open, readdir, readFile, rm, stat, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { branchOf } from '../../domain/reconcile/branch';
import { errnoOf, writeDurably } from '../../evidence/durable-file';
import type { PrProvider, PrRef, PrRequest, PrStatus } from '../reconcile/pr-provider';
import {
  BranchNotFound,
  GitCommandFailed,
  InvalidPrRequest,
  LocalRepoNotFound,
  MergeConflict,
  NotOnBaseBranch,
  PrBusy,
  PrNotFound,
  PrNotOpen,
  PrRecordInvalid,
  WorkingTreeDirty,
} from './errors';
import { git, runGit, type GitRunner } from './git';

/** A local PR as recorded in `<git dir>/driftplane/prs/<number>.json` (its body is in `<number>.md`). */
export const LocalPrRecordSchema = z.object({
  number: z.number().int().positive(),
  findingId: z.string().min(1),
  branch: z.string().min(1),
  base: z.string().min(1),
  /** The base commit the branch's one commit was made on. */
  baseCommit: z.string().min(1),
  title: z.string(),
  labels: z.array(z.string()),
  reviewers: z.object({ teams: z.array(z.string()), users: z.array(z.string()) }),
  state: z.enum(['open', 'merged', 'closed']),
  createdAt: z.string(),
  /** The branch's commit when the PR was opened. */
  commit: z.string().min(1),
  /** The paths the commit changes. */
  files: z.array(z.string()),
  url: z.string(),
  /** When it was merged or closed, by whom, and why (`--reason`). */
  closedAt: z.string().optional(),
  closedBy: z.string().optional(),
  reason: z.string().optional(),
  mergeCommit: z.string().optional(),
});
/** A local PR record. */
export type LocalPrRecord = z.infer<typeof LocalPrRecordSchema>;

/** Options of the local Git provider and its functions. */
export interface LocalGitOptions {
  /** The git executable (default `git` on PATH). */
  gitBin?: string;
}

interface Repo {
  r: GitRunner;
  /** The folder as the caller named it (absolute), used in URLs and messages. */
  folder: string;
  gitDir: string;
  prsDir: string;
  bare: boolean;
}

/** Opens a repository folder; anything that is not an absolute path to a Git repository is LocalRepoNotFound. */
async function openRepo(folder: string, options: LocalGitOptions = {}): Promise<Repo> {
  if (!path.isAbsolute(folder)) throw new LocalRepoNotFound(folder, 'not an absolute path');
  const gitBin = options.gitBin ?? 'git';
  try {
    if (!(await stat(folder)).isDirectory()) throw new LocalRepoNotFound(folder, 'not a folder');
  } catch (err) {
    if (err instanceof LocalRepoNotFound) throw err;
    throw new LocalRepoNotFound(
      folder,
      errnoOf(err) === 'ENOENT' ? 'no such folder' : `cannot read: ${(err as Error).message}`,
    );
  }
  const res = await runGit({ gitBin, repo: folder }, [
    'rev-parse',
    '--absolute-git-dir',
    '--is-bare-repository',
  ]);
  if (res.code !== 0)
    throw new LocalRepoNotFound(folder, `not a Git repository (${res.stderr.trim().split('\n')[0] ?? ''})`);
  const [gitDir = '', bareText = ''] = res.stdout.split('\n');
  const bare = bareText.trim() === 'true';
  let top = folder;
  if (!bare) {
    // Paths in the index and in `<rev>:<path>` are taken from the top of the working tree: run there.
    const t = await runGit({ gitBin, repo: folder }, ['rev-parse', '--show-toplevel']);
    if (t.code === 0 && t.stdout.trim()) top = t.stdout.trim();
  }
  return {
    r: { gitBin, repo: top },
    folder: path.resolve(folder),
    gitDir,
    prsDir: path.join(gitDir, 'driftplane', 'prs'),
    bare,
  };
}

const recordFile = (repo: Repo, n: number) => path.join(repo.prsDir, `${n}.json`);
const bodyFile = (repo: Repo, n: number) => path.join(repo.prsDir, `${n}.md`);
// One claim per branch: a PR's identity. A finding has one branch, unless its PR was closed unmerged
// and it opens another on `<branch>-r<n>`.
const claimFile = (repo: Repo, branch: string) =>
  path.join(
    repo.prsDir,
    'branches',
    `${createHash('sha256').update(branch).digest('hex').slice(0, 32)}.json`,
  );
const urlOf = (repo: Repo, n: number) => `file://${repo.folder}#pr-${n}`;

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function readRecord(repo: Repo, n: number): Promise<LocalPrRecord | undefined> {
  const file = recordFile(repo, n);
  const text = await readText(file);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PrRecordInvalid(file, (err as Error).message);
  }
  const parsed = LocalPrRecordSchema.safeParse(json);
  if (!parsed.success)
    throw new PrRecordInvalid(
      file,
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    );
  return parsed.data;
}

async function mustReadRecord(repo: Repo, n: number): Promise<LocalPrRecord> {
  const rec = await readRecord(repo, n);
  if (!rec) throw new PrNotFound(repo.folder, n);
  return rec;
}

async function recordNumbers(repo: Repo): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(repo.prsDir);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return [];
    throw err;
  }
  return names
    .map((n) => /^([1-9]\d*)\.json$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

const writeRecord = (repo: Repo, rec: LocalPrRecord) =>
  writeDurably(recordFile(repo, rec.number), `${JSON.stringify(rec, null, 2)}\n`);

/** The commit a revision names, or undefined when there is none. */
async function commitOf(repo: Repo, rev: string): Promise<string | undefined> {
  const res = await runGit(repo.r, [
    'rev-parse',
    '--verify',
    '--quiet',
    '--end-of-options',
    `${rev}^{commit}`,
  ]);
  return res.code === 0 ? res.stdout.trim() : undefined;
}

async function isAncestor(repo: Repo, a: string, b: string): Promise<boolean> {
  const res = await runGit(repo.r, ['merge-base', '--is-ancestor', a, b]);
  if (res.code === 0) return true;
  if (res.code === 1) return false;
  throw new GitCommandFailed(['merge-base', '--is-ancestor', a, b], res.code, res.stderr);
}

function checkRef(field: string, name: string): void {
  // A name starting with `-` would be read as an option by some git commands.
  if (!name || name.startsWith('-') || /[\0-\x20\x7f~^:?*[\\]/.test(name))
    throw new InvalidPrRequest(field, `not a usable branch name: ${JSON.stringify(name)}`);
}

function checkPath(p: string): void {
  const bad = (why: string) => new InvalidPrRequest('files', `${JSON.stringify(p)}: ${why}`);
  if (!p) throw bad('empty path');
  if (/[\0\n\r]/.test(p)) throw bad('control characters in a path');
  if (p.startsWith('/') || p.includes('\\'))
    throw bad('expected a path relative to the repository root, with / separators');
  if (path.posix.normalize(p) !== p || p.split('/').some((s) => s === '..' || s === '.' || s === ''))
    throw bad('not a normalized path inside the repository');
  if (p.split('/').some((s) => s.toLowerCase() === '.git')) throw bad('paths inside .git cannot be changed');
}

/** Makes the branch's one commit on `baseCommit` from a temporary index: the working tree and the real index are never touched. */
async function commitFiles(repo: Repo, req: PrRequest, baseCommit: string): Promise<string> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'driftplane-index-'));
  const env = { GIT_INDEX_FILE: path.join(tmp, 'index') };
  try {
    await git(repo.r, ['read-tree', baseCommit], { env });
    // Keep the mode of a file that exists (an executable stays executable); new files are 100644.
    const modes = new Map<string, string>();
    const listed = req.files.length
      ? await git(repo.r, ['ls-tree', '-r', '-z', baseCommit, '--', ...req.files.map((f) => f.path)])
      : '';
    for (const entry of listed.split('\0')) {
      const m = /^(\d+) blob [0-9a-f]+\t(.*)$/s.exec(entry);
      if (m?.[1] && m[2] !== undefined) modes.set(m[2], m[1]);
    }
    for (const f of req.files) {
      const sha = (await git(repo.r, ['hash-object', '-w', '--stdin'], { input: f.content })).trim();
      const mode = modes.get(f.path) === '100755' ? '100755' : '100644';
      await git(repo.r, ['update-index', '--add', '--cacheinfo', `${mode},${sha},${f.path}`], { env });
    }
    const tree = (await git(repo.r, ['write-tree'], { env })).trim();
    return (
      await git(repo.r, ['commit-tree', tree, '-p', baseCommit, '-m', req.message ?? req.title])
    ).trim();
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Creates `refs/heads/<branch>` at `commit` unless it exists; returns the commit the branch points at. */
async function createBranch(repo: Repo, branch: string, commit: string): Promise<string> {
  // The empty old value makes creation atomic: it fails when the branch exists (a concurrent open won).
  const res = await runGit(repo.r, [
    'update-ref',
    '-m',
    'driftplane: open PR',
    `refs/heads/${branch}`,
    commit,
    '',
  ]);
  if (res.code === 0) return commit;
  const now = await commitOf(repo, `refs/heads/${branch}`);
  if (now) return now;
  throw new GitCommandFailed(['update-ref', `refs/heads/${branch}`, commit, ''], res.code, res.stderr);
}

async function readClaim(repo: Repo, branch: string): Promise<number | undefined> {
  const text = await readText(claimFile(repo, branch));
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PrRecordInvalid(claimFile(repo, branch), (err as Error).message);
  }
  const parsed = z.object({ branch: z.string(), number: z.number().int().positive() }).safeParse(json);
  if (!parsed.success || parsed.data.branch !== branch)
    throw new PrRecordInvalid(claimFile(repo, branch), 'not the claim of this branch');
  return parsed.data.number;
}

/** Claims the branch for PR `n`; returns the number that holds the claim (ours, or the one that got there first). */
async function claim(repo: Repo, branch: string, n: number): Promise<number> {
  const created = await writeDurably(claimFile(repo, branch), `${JSON.stringify({ branch, number: n })}\n`, {
    mode: 'create',
  });
  if (created) return n;
  return (await readClaim(repo, branch)) ?? n;
}

function refOf(repo: Repo, rec: LocalPrRecord, commit: string, created: boolean): PrRef {
  return {
    provider: 'local-git',
    repo: repo.folder,
    number: rec.number,
    url: rec.url,
    branch: rec.branch,
    commit,
    created,
    recordPath: recordFile(repo, rec.number),
  };
}

/** The existing PR of a claimed finding; an open PR whose branch was deleted gets it back. */
async function existingRef(repo: Repo, rec: LocalPrRecord, req: PrRequest): Promise<PrRef> {
  if ((await readText(bodyFile(repo, rec.number))) === undefined)
    await writeDurably(bodyFile(repo, rec.number), req.body, { mode: 'create' });
  let head = await commitOf(repo, `refs/heads/${rec.branch}`);
  if (!head && rec.state === 'open') head = await createBranch(repo, rec.branch, rec.commit);
  return refOf(repo, rec, head ?? rec.commit, false);
}

async function openPr(repo: Repo, req: PrRequest): Promise<PrRef> {
  const branch = req.branch ?? branchOf(req.findingId);
  checkRef(req.branch === undefined ? 'findingId' : 'branch', branch);
  checkRef('base', req.base);
  const seen = new Set<string>();
  for (const f of req.files) {
    checkPath(f.path);
    if (seen.has(f.path)) throw new InvalidPrRequest('files', `${JSON.stringify(f.path)} appears twice`);
    seen.add(f.path);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    // 1. The branch already has its PR (or a crash left the claim before the record).
    const claimed = await readClaim(repo, branch);
    if (claimed !== undefined) {
      const rec = await readRecord(repo, claimed);
      if (rec) return existingRef(repo, rec, req);
    }
    // 2. A record without a claim: a crash between the two. Adopt it.
    if (claimed === undefined) {
      let orphan: LocalPrRecord | undefined;
      for (const n of await recordNumbers(repo)) {
        const rec = await readRecord(repo, n).catch(() => undefined);
        if (rec?.branch === branch) {
          orphan = rec;
          break;
        }
      }
      if (orphan) {
        await claim(repo, branch, orphan.number);
        continue;
      }
    }
    // 3. The branch and its one commit (an existing branch is a retry's: it is kept).
    const baseCommit = await commitOf(repo, req.base);
    if (!baseCommit) throw new BranchNotFound(repo.folder, req.base);
    let commit = await commitOf(repo, `refs/heads/${branch}`);
    commit ??= await createBranch(repo, branch, await commitFiles(repo, req, baseCommit));
    const parent = await commitOf(repo, `${commit}^`);
    // 4. The record, under the next free number (exclusive create: two opens never share one), then the claim.
    const createdAt = new Date().toISOString();
    let n = claimed ?? ((await recordNumbers(repo)).at(-1) ?? 0) + 1;
    let rec: LocalPrRecord;
    let wrote = false;
    for (;;) {
      rec = {
        number: n,
        findingId: req.findingId,
        branch,
        base: req.base,
        baseCommit: parent ?? baseCommit,
        title: req.title,
        labels: req.labels,
        reviewers: req.reviewers,
        state: 'open',
        createdAt,
        commit,
        files: req.files.map((f) => f.path),
        url: urlOf(repo, n),
      };
      wrote = await writeDurably(recordFile(repo, n), `${JSON.stringify(rec, null, 2)}\n`, {
        mode: 'create',
      });
      if (wrote) break;
      // The claimed number's record was written by a concurrent open: step 1 reads it.
      if (claimed !== undefined) break;
      n += 1;
    }
    if (!wrote) continue;
    await writeDurably(bodyFile(repo, n), req.body);
    if (claimed !== undefined) return refOf(repo, rec, commit, true);
    const winner = await claim(repo, branch, n);
    if (winner === n) return refOf(repo, rec, commit, true);
    // A concurrent open of the same branch claimed it first: ours is withdrawn, theirs is returned.
    await unlink(recordFile(repo, n)).catch(() => undefined);
    await unlink(bodyFile(repo, n)).catch(() => undefined);
  }
  throw new Error(
    `could not open a PR for ${req.findingId} in ${repo.folder}: the records kept changing (20 attempts)`,
  );
}

/** The merge commit that brought `tip` into HEAD, when it was merged without driftplane. */
async function findMergeOf(repo: Repo, tip: string): Promise<string | undefined> {
  const out = await git(repo.r, [
    'rev-list',
    '--merges',
    '--parents',
    '--reverse',
    '--ancestry-path',
    `${tip}..HEAD`,
  ]);
  for (const line of out.split('\n')) {
    const [c, ...parents] = line.trim().split(' ');
    if (c && parents.includes(tip)) return c;
  }
  return undefined;
}

/**
 * A Git repository as a place for reconciliation PRs, with real `git`: the PR's branch is
 * `req.branch ?? branchOf(findingId)` holding one commit made without touching the working tree or the index, and
 * the PR itself is a record in `<repo>/.git/driftplane/prs/<number>.json` (body in `<number>.md`).
 * `repo` is the absolute folder of a non-bare repository checked out on the base branch.
 */
export function localGitPrProvider(options: LocalGitOptions = {}): PrProvider {
  return {
    name: 'local-git',
    async open(req) {
      return openPr(await openRepo(req.repo, options), req);
    },
    async status(ref) {
      const repo = await openRepo(ref.repo, options);
      const rec = await mustReadRecord(repo, ref.number);
      if (rec.state === 'open') {
        // Merged by hand with plain git: the PR's commit is in the base branch.
        const tip = (await commitOf(repo, `refs/heads/${rec.branch}`)) ?? rec.commit;
        const base = await commitOf(repo, rec.base);
        if (base && (await isAncestor(repo, tip, base))) {
          const mergeCommit = await findMergeOf(repo, tip).catch(() => undefined);
          return { state: 'merged', ...(mergeCommit ? { mergeCommit } : {}) };
        }
      }
      return statusOf(rec);
    },
    async readFile(repoFolder, branch, file) {
      const repo = await openRepo(repoFolder, options);
      checkRef('branch', branch);
      checkPath(file);
      const blob = await runGit(repo.r, [
        'rev-parse',
        '--verify',
        '--quiet',
        '--end-of-options',
        `${branch}:${file}`,
      ]);
      if (blob.code !== 0) return undefined;
      const sha = blob.stdout.trim();
      if ((await git(repo.r, ['cat-file', '-t', sha])).trim() !== 'blob') return undefined;
      return git(repo.r, ['cat-file', 'blob', sha]);
    },
    async listFiles(repoFolder, branch, dir) {
      const repo = await openRepo(repoFolder, options);
      checkRef('branch', branch);
      const folder = dir.replace(/\/+$/, '');
      if (folder !== '' && folder !== '.') checkPath(folder);
      const commit = await commitOf(repo, branch);
      if (!commit) return [];
      // `<folder>/` lists what is directly inside the folder; no -r, so sub-folders are not entered.
      const res = await runGit(repo.r, [
        'ls-tree',
        '-z',
        '--full-tree',
        commit,
        ...(folder === '' || folder === '.' ? [] : ['--', `${folder}/`]),
      ]);
      if (res.code !== 0) return [];
      return res.stdout
        .split('\0')
        .map((e) => /^\d+ blob [0-9a-f]+\t(.*)$/s.exec(e)?.[1])
        .filter((p): p is string => p !== undefined)
        .sort();
    },
  };
}

function statusOf(rec: LocalPrRecord): PrStatus {
  return {
    state: rec.state,
    ...(rec.closedAt ? { at: rec.closedAt } : {}),
    ...(rec.closedBy ? { by: rec.closedBy } : {}),
    ...(rec.mergeCommit ? { mergeCommit: rec.mergeCommit } : {}),
  };
}

/** Every local PR of the repository, by number; `state` keeps only those in that state. */
export async function listPrs(
  repoFolder: string,
  filter: { state?: LocalPrRecord['state'] } = {},
  options: LocalGitOptions = {},
): Promise<LocalPrRecord[]> {
  const repo = await openRepo(repoFolder, options);
  const out: LocalPrRecord[] = [];
  for (const n of await recordNumbers(repo)) {
    const rec = await readRecord(repo, n);
    if (rec && (!filter.state || rec.state === filter.state)) out.push(rec);
  }
  return out;
}

/** One local PR: its record, its body, and its change (`git diff --stat` and the full diff, from the commit it was made on). */
export interface LocalPrDetail {
  record: LocalPrRecord;
  body: string;
  /** The branch's head now (it may have moved since the PR was opened), or the recorded commit when the branch is gone. */
  head: string;
  stat: string;
  diff: string;
}

/** Reads one local PR; PrNotFound when there is none with that number. */
export async function showPr(
  repoFolder: string,
  number: number,
  options: LocalGitOptions = {},
): Promise<LocalPrDetail> {
  const repo = await openRepo(repoFolder, options);
  const record = await mustReadRecord(repo, number);
  const body = (await readText(bodyFile(repo, number))) ?? '';
  const head = (await commitOf(repo, `refs/heads/${record.branch}`)) ?? record.commit;
  // From the commit the PR was made on rather than the base branch's tip: once merged, `base...branch` is empty.
  const range = `${record.baseCommit}...${head}`;
  const stat = await git(repo.r, ['diff', '--stat', range]);
  const diff = await git(repo.r, ['diff', range]);
  return { record, body, head, stat, diff };
}

/** What a merge or close did. */
export interface LocalPrChange {
  record: LocalPrRecord;
  /** False when the PR was already in the asked state (nothing was done). */
  changed: boolean;
}

/** Holds `<number>.lock` while merging or closing, so two processes never do it at once. */
async function withPrLock<T>(repo: Repo, n: number, fn: () => Promise<T>): Promise<T> {
  const lock = path.join(repo.prsDir, `${n}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      const h = await open(lock, 'wx');
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      break;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      if (attempt > 0) throw new PrBusy(lock, n);
      // A lock whose process is gone (a crash) is stale: remove it and try once more.
      const pid = Number((await readText(lock))?.trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new PrBusy(lock, n);
      await unlink(lock).catch(() => undefined);
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoOf(err) === 'EPERM';
  }
}

async function unmergedFiles(repo: Repo): Promise<string[]> {
  const res = await runGit(repo.r, ['diff', '--name-only', '--diff-filter=U', '-z']);
  return res.stdout.split('\0').filter(Boolean);
}

async function mergeInProgress(repo: Repo): Promise<boolean> {
  return await stat(path.join(repo.gitDir, 'MERGE_HEAD')).then(
    () => true,
    () => false,
  );
}

/**
 * Merges a local PR for real: `git merge --no-ff` of its branch into the working tree, which must be
 * on the PR's base branch with no uncommitted changes to tracked files (untracked files are fine,
 * unless the merge would overwrite one: git refuses, and so does this). A conflict aborts the merge
 * (MergeConflict) and leaves the repository as it was. Merging a merged PR changes nothing.
 */
export async function mergePr(
  repoFolder: string,
  number: number,
  by: { by: string; at: string; reason?: string },
  options: LocalGitOptions = {},
): Promise<LocalPrChange> {
  const repo = await openRepo(repoFolder, options);
  await mustReadRecord(repo, number);
  if (repo.bare)
    throw new LocalRepoNotFound(repo.folder, 'is a bare repository: a merge needs a working tree');
  return withPrLock(repo, number, async () => {
    const rec = await mustReadRecord(repo, number);
    if (rec.state === 'merged') return { record: rec, changed: false };
    if (rec.state === 'closed') throw new PrNotOpen(repo.folder, number, rec.state, 'merge');
    const head = await runGit(repo.r, ['symbolic-ref', '--quiet', '--short', 'HEAD']);
    const headName = head.code === 0 ? head.stdout.trim() : 'detached';
    if (headName !== rec.base) throw new NotOnBaseBranch(repo.folder, rec.base, headName);
    if (await mergeInProgress(repo))
      throw new WorkingTreeDirty(repo.folder, await unmergedFiles(repo), 'a merge in progress');
    const dirty = await git(repo.r, ['status', '--porcelain=v1', '-z', '--untracked-files=no']);
    const files = dirty
      .split('\0')
      .filter((e) => /^.. /.test(e))
      .map((e) => e.slice(3));
    if (files.length) throw new WorkingTreeDirty(repo.folder, files);
    const tip = (await commitOf(repo, `refs/heads/${rec.branch}`)) ?? rec.commit;
    let mergeCommit: string | undefined;
    if (await isAncestor(repo, tip, 'HEAD')) {
      // Already in the base branch (merged by hand, or a crash after the merge before the record): record it.
      mergeCommit = await findMergeOf(repo, tip);
    } else {
      const args = [
        'merge',
        '--no-ff',
        '--no-edit',
        '-m',
        `Merge driftplane PR #${number}: ${rec.title}`,
        tip,
      ];
      const res = await runGit(repo.r, args);
      if (res.code !== 0) {
        const conflicted = await unmergedFiles(repo);
        if (conflicted.length || (await mergeInProgress(repo))) {
          await git(repo.r, ['merge', '--abort']);
          throw new MergeConflict(repo.folder, number, conflicted);
        }
        throw new GitCommandFailed(args, res.code, res.stderr);
      }
      mergeCommit = (await git(repo.r, ['rev-parse', 'HEAD'])).trim();
    }
    const merged: LocalPrRecord = {
      ...rec,
      state: 'merged',
      closedAt: by.at,
      closedBy: by.by,
      ...(by.reason ? { reason: by.reason } : {}),
      ...(mergeCommit ? { mergeCommit } : {}),
    };
    await writeRecord(repo, merged);
    return { record: merged, changed: true };
  });
}

/** Closes a local PR without merging it (its branch is kept). Closing a closed PR changes nothing; a merged one is PrNotOpen. */
export async function closePr(
  repoFolder: string,
  number: number,
  by: { by: string; at: string; reason?: string },
  options: LocalGitOptions = {},
): Promise<LocalPrChange> {
  const repo = await openRepo(repoFolder, options);
  await mustReadRecord(repo, number);
  return withPrLock(repo, number, async () => {
    const rec = await mustReadRecord(repo, number);
    if (rec.state === 'closed') return { record: rec, changed: false };
    if (rec.state === 'merged') throw new PrNotOpen(repo.folder, number, rec.state, 'close');
    const closed: LocalPrRecord = {
      ...rec,
      state: 'closed',
      closedAt: by.at,
      closedBy: by.by,
      ...(by.reason ? { reason: by.reason } : {}),
    };
    await writeRecord(repo, closed);
    return { record: closed, changed: true };
  });
}
