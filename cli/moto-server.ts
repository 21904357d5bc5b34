import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './free-port';
import { locateMotoServer } from './local-tools';

/** A running moto_server on loopback (AWS APIs for the demo's sandbox account and for tests). */
export interface MotoServer {
  endpoint: string;
  port: number;
  /** Wipes every resource in every backend (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  output: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${output()}`);
    try {
      const res = await fetch(`${endpoint}/moto-api/data.json`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms: ${output()}`);
}

/**
 * Starts a real moto_server on a free 127.0.0.1 port, waits until it answers, and returns a
 * handle to reset and stop it. It is killed when this process exits, whatever the path.
 */
export async function startMotoServer(opts: { timeoutMs?: number; accountId?: string } = {}): Promise<MotoServer> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const bin = locateMotoServer();
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false', ...(opts.accountId ? { MOTO_ACCOUNT_ID: opts.accountId } : {}) },
  });
  let log = '';
  const keep = (b: Buffer): void => {
    log = (log + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // If the test process dies without afterAll, do not leave moto behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  try {
    await waitUntilAnswering(endpoint, child, () => log, timeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    endpoint,
    port,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      });
    },
  };
}
