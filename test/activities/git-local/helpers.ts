import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PrRequest } from '../../../activities/reconcile/pr-provider';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Person',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test Person',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

/** Runs real git in `repo` and returns its stdout. */
export function sh(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { env: GIT_ENV, encoding: 'utf8' });
}

/** Writes a file in the working tree. */
export function put(repo: string, file: string, content: string): void {
  mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  writeFileSync(path.join(repo, file), content);
}

const made: string[] = [];

/** Removes every folder `makeRepo` made (call it in afterAll). */
export function removeRepos(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh non-bare repository on `main` with two committed files. */
export function makeRepo(prefix = 'driftplane-git-'): string {
  const repo = mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(repo);
  sh(repo, 'init', '-q', '-b', 'main');
  put(repo, 'apps/checkout/values.yaml', 'image: checkout@sha256:aaa\nreplicas: 3\n');
  put(repo, 'README.md', '# desired state\n');
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'initial');
  return repo;
}

/** A PR request for a finding, changing `files`. */
export function request(
  repo: string,
  findingId: string,
  files: Record<string, string>,
  extra: Partial<PrRequest> = {},
): PrRequest {
  return {
    findingId,
    repo,
    base: 'main',
    title: `Reconcile ${findingId}`,
    body: `## Drift\n\nfinding ${findingId}\n`,
    files: Object.entries(files).map(([p, content]) => ({ path: p, content })),
    labels: ['driftplane', 'reconcile'],
    reviewers: { teams: ['platform'], users: ['maria.lopez'] },
    ...extra,
  };
}
