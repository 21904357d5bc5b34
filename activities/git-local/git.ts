import { spawn } from 'node:child_process';
import { GitCommandFailed } from './errors';

/** How to run `git` for one repository. */
export interface GitRunner {
  /** The git executable (default `git` on PATH). */
  gitBin: string;
  /** The repository folder (`git -C`). */
  repo: string;
}

/** What one git command did. */
export interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Identity and settings for driftplane's own git commands, so they work on a machine without a
 * global Git configuration and never wait for a person: no prompts, no editor, no signing agent.
 */
const FIXED_CONFIG = [
  '-c',
  'user.name=driftplane',
  '-c',
  'user.email=driftplane@localhost',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'core.quotePath=false',
];

// Variables that would point git at another repository, index or object store than the one asked
// for (set, say, when driftplane runs from inside a Git hook). Only `options.env` may set them.
const REDIRECTING = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
];

function inherited(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of REDIRECTING) delete env[k];
  return env;
}

/**
 * Runs one git command without a shell. Returns whatever it did (exit code included); `git()`
 * below is the version that throws on a non-zero exit.
 */
export function runGit(
  r: GitRunner,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(r.gitBin, ['-C', r.repo, ...FIXED_CONFIG, ...args], {
      env: {
        ...inherited(),
        GIT_LITERAL_PATHSPECS: '1',
        GIT_TERMINAL_PROMPT: '0',
        GIT_EDITOR: 'true',
        GIT_MERGE_AUTOEDIT: 'no',
        GIT_OPTIONAL_LOCKS: '0',
        LC_ALL: 'C',
        ...options.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    // A command that exits before reading its input (a bad argument) closes the pipe: not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs one git command and returns its stdout; a non-zero exit is a GitCommandFailed. */
export async function git(
  r: GitRunner,
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<string> {
  const res = await runGit(r, args, options);
  if (res.code !== 0) throw new GitCommandFailed(args, res.code, res.stderr);
  return res.stdout;
}
