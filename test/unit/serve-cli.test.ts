import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postSignedSlackSubmission } from '../../cli/slack-signed-request';
import { slackSignature } from '../../serve/slack/verify-signature';
import { repoRoot } from '../support/shared-fixtures';

// The real `driftplane serve` process, with Temporal down (nothing listens at TEMPORAL_ADDRESS):
// it starts, answers /healthz, refuses a forged request with 401, and acknowledges a signed one
// at once, within Slack's 3 seconds, whatever Temporal does.
const SECRET = 'serve-cli-test-secret';
let child: ChildProcess;
let url: string;
let stderr = '';

beforeAll(async () => {
  child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'driftplane.cjs'), 'serve', '--port', '0'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      SLACK_SIGNING_SECRET: SECRET,
      SLACK_BOT_TOKEN: '',
      DRIFTPLANE_HOME: mkdtempSync(path.join(os.tmpdir(), 'driftplane-serve-')),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 55_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  // Start-up opens and migrates the embedded ledger (PGlite: WASM, seconds on a busy machine).
}, 60_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

describe('driftplane serve, with Temporal down', () => {
  it('binds to loopback and answers GET /healthz', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await fetch(`${url}/healthz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ status: 'ok' });
  });

  it('refuses a forged request with 401', async () => {
    const body = 'payload=%7B%7D';
    const ts = String(Math.floor(Date.now() / 1000));
    const r = await fetch(`${url}/slack/interactivity`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': ts,
        'x-slack-signature': slackSignature('wrong', ts, body),
      },
      body,
    });
    expect(r.status).toBe(401);
  });

  it('acknowledges a signed modal submission within Slack’s 3 seconds although Temporal is unreachable', async () => {
    const started = Date.now();
    const r = await postSignedSlackSubmission({
      serveUrl: url,
      signingSecret: SECRET,
      slackUserId: 'U04PRIYA',
      findingId: 'checkout-web-prod:0123456789abcdef',
      answer: 'approve',
      reason: 'revert',
    });
    expect(r).toEqual({ status: 200, body: '' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stops on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The answer could not reach Temporal: it says so in the log, naming no secret.
    expect(stderr).toMatch(/could not record your answer|cannot reach Temporal/);
    expect(stderr).not.toContain(SECRET);
  });
});
