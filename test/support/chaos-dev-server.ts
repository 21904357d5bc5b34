import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { freePort } from '../../cli/free-port';
import { isReachable } from '../../cli/temporal';
import { locateTemporalCli } from '../../cli/local-tools';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes';
import { devServerConfigArgs } from '../../workers/server-limits';

/**
 * A Temporal dev server of a test's own on a SQLite file and a fixed port, that the test can kill
 * with SIGKILL (no shutdown of any kind) and start again on the same file and port.
 */
export interface FileDevServer {
  address: string;
  dbFile: string;
  /** The running server process (undefined after kill9). */
  process(): ChildProcess | undefined;
  kill9(): Promise<void>;
  /** Starts the server again on the same database file and port, and waits until it answers. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` as driftplane's dev server runs it (cli/dev-server.ts: search
 * attributes, server limits), headless, on `dbFile` and a free port; its log is appended to `logFile`.
 */
export async function startFileDevServer(
  dbFile: string,
  logFile: string,
  timeoutMs = 60_000,
): Promise<FileDevServer> {
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--headless',
    '--db-filename',
    dbFile,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_KEYS.flatMap((k) => ['--search-attribute', `${k.name}=Keyword`]),
    ...devServerConfigArgs(),
  ];
  let child: ChildProcess | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async (): Promise<void> => {
    const log = openSync(logFile, 'a');
    const c = spawn(locateTemporalCli(), args, { stdio: ['ignore', log, log] });
    closeSync(log);
    child = c;
    const deadline = Date.now() + timeoutMs;
    while (!(await isReachable(address))) {
      if (c.exitCode !== null)
        throw new Error(`the dev server on ${dbFile} exited with ${c.exitCode}; see ${logFile}`);
      if (Date.now() > deadline)
        throw new Error(
          `the dev server on ${dbFile} did not answer at ${address} within ${timeoutMs} ms; see ${logFile}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const kill9 = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };

  await start();
  return {
    address,
    dbFile,
    process: () => child,
    kill9,
    restart: start,
    stop: async () => {
      await kill9();
      process.removeListener('exit', killOnExit);
    },
  };
}
