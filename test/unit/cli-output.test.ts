import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/shared-fixtures';
import { baseRegistry, writeRegistry } from './registry/support';

const bin = path.join(repoRoot, 'bin', 'driftplane.cjs');
/** ESC, BEL or a right-to-left override: what a terminal would obey or reorder. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = (text: string) => /[\u001b\u0007\u202e]/u.test(text);

/** Runs the CLI with a stdout whose reader has gone before the first byte is written (`| head -0`). */
function runWithClosedStdout(
  ...args: string[]
): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

describe('a reader that closes the pipe early ends the command quietly', () => {
  it.each([
    ['schema registry', ['schema', 'registry']],
    [
      'registry validate --json',
      ['registry', 'validate', path.join(repoRoot, 'registry', 'examples', 'acme'), '--json'],
    ],
  ])('%s: no EPIPE stack trace, exit 0', async (_name, args) => {
    const r = await runWithClosedStdout(...args);
    expect(r.stderr).toBe('');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
  });
});

describe('text from files reaches the terminal made visible', () => {
  it('`registry validate` prints a value holding escape sequences and a bidi override escaped; --json keeps it exact', () => {
    const unit = `apiVersion: driftplane.io/v1alpha1
kind: DriftManagedUnit
metadata:
  name: web-staging
spec:
  type: argocd-app
  owner: web
  environment: staging
  riskTier: "\\e[2J\\e]0;pwned\\a\\e[32mAPPROVED BY CISO\\u202E"
  source: { repo: github.com/example/gitops, path: apps/web }
`;
    const dir = writeRegistry({ 'base.yaml': baseRegistry, 'unit.yaml': unit });
    const text = spawnSync(process.execPath, [bin, 'registry', 'validate', dir], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('\\x1b[2J\\x1b]0;pwned\\x07\\x1b[32mAPPROVED BY CISO\\u202e');
    expect(RAW(text.stdout)).toBe(false);

    const json = spawnSync(process.execPath, [bin, 'registry', 'validate', dir, '--json'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(RAW(json.stdout)).toBe(false);
    const parsed = JSON.parse(json.stdout) as { errors: { message: string }[] };
    expect(parsed.errors.map((e) => e.message).join('\n')).toContain(
      '\u001b[2J\u001b]0;pwned\u0007\u001b[32mAPPROVED BY CISO\u202e',
    );
  });
});
