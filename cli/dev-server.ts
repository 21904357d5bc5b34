import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { ToolError } from '../domain/errors';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';
import { locateTemporalCli } from './local-tools';
import { isReachable } from './temporal';
import { devServerConfigArgs } from '../workers/server-limits';

/** A Temporal server the CLI uses: one it found running, or a dev server it started. */
export interface DevServer {
  address: string;
  uiUrl?: string;
  started: boolean;
  /** Stops the server if this process started it. */
  stop(): Promise<void>;
}

/**
 * Uses the Temporal server at `address` if one answers; otherwise starts `temporal server
 * start-dev` there (SQLite in `dbFile`, UI one thousand ports up, driftplane's search attributes
 * registered) and waits until it answers. Its log goes to `<home>/temporal-dev.log`.
 */
export async function ensureDevServer(opts: { address: string; home: string; dbFile?: string; headless?: boolean; timeoutMs?: number }): Promise<DevServer> {
  const [host = '127.0.0.1', portText = '7233'] = opts.address.split(':');
  const port = Number(portText);
  const uiPort = port + 1000;
  if (await isReachable(opts.address)) {
    return { address: opts.address, uiUrl: `http://${host === 'localhost' ? 'localhost' : host}:${uiPort}`, started: false, stop: async () => {} };
  }
  if (!['localhost', '127.0.0.1'].includes(host)) {
    throw new ToolError(`nothing answers at ${opts.address}, and driftplane only starts a dev server on this machine`, 'start the server there, or unset TEMPORAL_ADDRESS');
  }
  const cli = locateTemporalCli();
  mkdirSync(opts.home, { recursive: true });
  const log = openSync(path.join(opts.home, 'temporal-dev.log'), 'a');
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
    '--log-level', 'warn',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ...devServerConfigArgs(),
  ];
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', log, log], detached: false });
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (!(await isReachable(opts.address))) {
    if (exited !== null) throw new ToolError(`the Temporal dev server exited with code ${exited}`, `see ${path.join(opts.home, 'temporal-dev.log')}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new ToolError(`the Temporal dev server did not answer at ${opts.address} in time`, `see ${path.join(opts.home, 'temporal-dev.log')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    address: opts.address,
    ...(opts.headless ? {} : { uiUrl: `http://localhost:${uiPort}` }),
    started: true,
    stop: async () => {
      if (exited !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (exited === null) child.kill('SIGKILL');
    },
  };
}
