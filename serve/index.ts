/**
 * `driftplane serve`: one HTTP server for everything a person or a webhook reaches. Each endpoint
 * family is one module (serve/health.ts, serve/slack/, serve/github/, serve/dashboard/,
 * serve/metrics/): add it to the list in {@link startDriftplaneServer}.
 */
import type { ApprovalStatement, SignedStatement } from '../domain/signing/statement';
import type { Config } from '../workers/config';
import { healthModule } from './health';
import { startServer, type RunningServer } from './server';
import { slackFromConfig } from './slack';
import { githubFromConfig } from './github';
import { sharedLedger } from '../ledger';
import { createDashboardAuth } from './dashboard/auth';
import { dashboardModule } from './dashboard';
import { metricsModule } from './metrics';
import { loggerFor } from '../workers/logger';

export { buildServer, startServer, type ServeModule, type RunningServer } from './server';

/** The default bind address: loopback, unless told otherwise (`--host 0.0.0.0` in a container). */
export const DEFAULT_SERVE_HOST = '127.0.0.1';

/** Starts `driftplane serve` with every module; `close()` stops it and waits for work in flight. */
export async function startDriftplaneServer(
  config: Config,
  listen: { host?: string; port?: number } = {},
  opts: { log?: (line: string) => void; sign?: (s: ApprovalStatement) => SignedStatement } = {},
): Promise<RunningServer> {
  const host = listen.host ?? DEFAULT_SERVE_HOST;
  // First: a bad sign-in configuration (dev mode off loopback, an unreadable secret) fails before anything is opened.
  const auth = await createDashboardAuth(config, { listenHost: host, ...(opts.log ? { log: opts.log } : {}), ...(opts.sign ? { sign: opts.sign } : {}) });
  const slack = slackFromConfig(config, opts);
  const github = githubFromConfig(config, opts.log ? { log: opts.log } : {});
  // The ledger the dashboard and /metrics read: the same handle as a worker in this process (PGlite).
  const ledger = await sharedLedger(config.ledger.url).catch(async (err: unknown) => {
    await Promise.allSettled([slack.close(), github.close(), auth.close()]);
    throw err;
  });
  const log = loggerFor(config, { base: { component: 'serve' } });
  const modules = [healthModule, slack.module, github.module, auth.module, dashboardModule({ config, ledger, auth }), metricsModule({ config, ledger, log })];
  let server: RunningServer;
  try {
    server = await startServer(modules, { host, port: listen.port ?? config.servePort }, { log });
  } catch (err) {
    await Promise.allSettled([slack.close(), github.close(), auth.close(), ledger.close()]);
    throw err;
  }
  return {
    ...server,
    close: async () => {
      await server.close();
      await slack.close();
      await github.close();
      await auth.close();
      await ledger.close();
    },
  };
}
