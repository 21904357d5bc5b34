import { stat } from 'node:fs/promises';
import path from 'node:path';
import { changeKindOf, matchChangeToDrift, type ChangedFile } from '../../domain/audit/matching-change';
import type { DriftObservation } from '../../domain/finding';
import { parseDuration } from '../../domain/registry/durations';
import type { DriftManagedUnit } from '../../registry';
import type { ContextPatch, ContextSource } from '../context/source';
import { runGit, type GitRunner } from './git';

/** How the Git history source finds and reads a unit's repository. */
export interface MatchingChangeWindowOptions {
  /** How far back a change may explain a drift (default `24h`); the window is at least this long. */
  window?: string;
  /** The unit's last successful detection: when older than `window`, the window reaches back to it. */
  lastSuccessAt?: (unit: string) => Promise<string | undefined> | string | undefined;
  /** At most this many commits are read per unit and detection (default 100). */
  maxCommits?: number;
}

/** Options of the local Git history source. */
export interface GitMatchingChangeOptions extends MatchingChangeWindowOptions {
  /** The git executable (default `git` on PATH). */
  gitBin?: string;
  /** The local planes folder: a unit with `<planesDir>/<unit>/desired` there has its desired state in that repository (the demo's). */
  planesDir?: string;
}

/** One commit of the unit's source path, newest first. */
export interface SourceCommit {
  sha: string;
  parents: string[];
  /** Committer date, ISO-8601. */
  at: string;
  subject: string;
  /** Paths (from the repository root) the commit changed against its first parent. */
  files: string[];
}

/** The window a change must fall in to explain an observation: `[since, until]`, in ms. */
export async function windowOf(
  o: Pick<DriftObservation, 'unit' | 'detectedAt'>,
  options: MatchingChangeWindowOptions,
): Promise<{ since: number; until: number }> {
  const windowMs = parseDuration(options.window ?? '24h');
  if (windowMs === undefined)
    throw new Error(`matching-change window ${JSON.stringify(options.window)} is not a duration such as 24h`);
  const until = Date.parse(o.detectedAt);
  const last = await options.lastSuccessAt?.(o.unit);
  const lastMs = last === undefined ? Number.NaN : Date.parse(last);
  return { since: Number.isNaN(lastMs) ? until - windowMs : Math.min(lastMs, until - windowMs), until };
}

/** Where a unit's desired state is in a local repository: the planes folder first (what the local detector compares), then a `file://` source. */
export async function localSourceOf(
  unit: DriftManagedUnit,
  options: Pick<GitMatchingChangeOptions, 'planesDir'>,
): Promise<{ repo: string; dir: string; revision: string } | undefined> {
  const name = unit.metadata.name;
  if (options.planesDir) {
    const isDir = (p: string) =>
      stat(p).then(
        (s) => s.isDirectory(),
        () => false,
      );
    const hasGit = await stat(path.join(options.planesDir, '.git')).then(
      () => true,
      () => false,
    );
    if (hasGit && (await isDir(path.join(options.planesDir, name, 'desired'))))
      return { repo: options.planesDir, dir: `${name}/desired`, revision: 'HEAD' };
  }
  const src = unit.spec.source;
  if (src.repo.startsWith('file://')) {
    const dir = src.path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
    return {
      repo: decodeURIComponent(new URL(src.repo).pathname),
      dir: dir === '.' ? '' : dir,
      revision: src.revision ?? 'main',
    };
  }
  return undefined;
}

/** Files worth reading for a resource definition. */
const DEFINING = /\.(ya?ml|json|tf|hcl)$/i;

/**
 * The commits on `revision`'s first-parent line (merges of PRs appear as their merge commit,
 * with the files the merge brought in) that touched `dir` between `since` and `until`, newest first.
 */
export async function commitsTouching(
  r: GitRunner,
  where: { dir: string; revision: string },
  since: Date,
  until: Date,
  max: number,
): Promise<SourceCommit[]> {
  const res = await runGit(r, [
    'log',
    '--first-parent',
    '--diff-merges=first-parent',
    '--name-only',
    '--format=%x1e%H%x1f%P%x1f%cI%x1f%s',
    `--since=${since.toISOString()}`,
    `--until=${until.toISOString()}`,
    `--max-count=${max}`,
    where.revision,
    '--',
    where.dir || '.',
  ]);
  if (res.code !== 0)
    throw new Error(
      `git log ${where.revision} -- ${where.dir || '.'} in ${r.repo} failed: ${res.stderr.trim().split('\n')[0] ?? `exit ${res.code}`}`,
    );
  return res.stdout
    .split('\x1e')
    .filter((chunk) => chunk.trim())
    .map((chunk) => {
      const [head = '', ...rest] = chunk.split('\n');
      const [sha = '', parents = '', at = '', subject = ''] = head.split('\x1f');
      return {
        sha,
        parents: parents.split(' ').filter(Boolean),
        at,
        subject,
        files: rest.map((l) => l.trim()).filter(Boolean),
      };
    });
}

async function blob(r: GitRunner, rev: string, file: string): Promise<string | undefined> {
  const res = await runGit(r, ['cat-file', '-p', `${rev}:${file}`]);
  return res.code === 0 ? res.stdout : undefined;
}

/**
 * The Git history of a unit's source as a context source (`git-history`): for a unit whose
 * desired state is in a local repository (the planes folder, or a `file://` source), real `git
 * log` over the unit's path in the detection window (at least `window`, back to the last
 * successful detection when that is older; until detectedAt). The newest commit or merged PR
 * that matches a drift (domain/audit/matching-change.ts: it changed the file defining the
 * resource, and its new values are the observed ones) becomes `matchingChange`: `pr` for a merge
 * (`file://<repo>#pr-<n>` when the subject names the PR, else `file://<repo>@<merge sha>`),
 * `apply` for a direct commit (`file://<repo>@<sha>`). Units elsewhere get nothing; a repository
 * or revision that cannot be read throws (the context is then unjoined).
 */
export function gitMatchingChangeSource(options: GitMatchingChangeOptions = {}): ContextSource {
  return {
    name: 'git-history',
    async contextFor({ unit, observations }) {
      const where = await localSourceOf(unit, options);
      if (!where || observations.length === 0) return observations.map(() => undefined);
      const r: GitRunner = { gitBin: options.gitBin ?? 'git', repo: where.repo };
      const top = await runGit(r, ['rev-parse', '--show-toplevel']);
      if (top.code !== 0)
        throw new Error(`${where.repo} is not a Git repository: ${top.stderr.trim().split('\n')[0] ?? ''}`);
      // Paths in `git log` output and in `<rev>:<path>` are from the top of the working tree.
      const root: GitRunner = { ...r, repo: top.stdout.trim() };
      const windows = await Promise.all(observations.map((o) => windowOf(o, options)));
      const since = Math.min(...windows.map((w) => w.since));
      const until = Math.max(...windows.map((w) => w.until));
      const commits = await commitsTouching(
        root,
        where,
        new Date(since),
        new Date(until),
        options.maxCommits ?? 100,
      );
      const files = new Map<string, Promise<ChangedFile[]>>();
      const filesOf = (c: SourceCommit) => {
        let got = files.get(c.sha);
        if (!got) {
          const parent = c.parents[0];
          got = Promise.all(
            c.files
              .filter((f) => DEFINING.test(f))
              .map(async (f) => {
                const [before, after] = await Promise.all([
                  parent ? blob(root, parent, f) : Promise.resolve(undefined),
                  blob(root, c.sha, f),
                ]);
                return {
                  path: f,
                  ...(before !== undefined ? { before } : {}),
                  ...(after !== undefined ? { after } : {}),
                };
              }),
          );
          files.set(c.sha, got);
        }
        return got;
      };
      const repoUrl = `file://${where.repo}`;
      const out: (ContextPatch | undefined)[] = [];
      for (const [i, o] of observations.entries()) {
        const w = windows[i]!;
        let patch: ContextPatch | undefined;
        for (const c of commits) {
          const at = Date.parse(c.at);
          if (at < w.since || at > w.until) continue;
          if (!matchChangeToDrift(o, await filesOf(c))) continue;
          const kind = changeKindOf({ subject: c.subject, parents: c.parents.length });
          patch = {
            matchingChange: {
              kind: kind.kind,
              ref: kind.pr !== undefined ? `${repoUrl}#pr-${kind.pr}` : `${repoUrl}@${c.sha}`,
            },
          };
          break;
        }
        out.push(patch);
      }
      return out;
    },
  };
}
