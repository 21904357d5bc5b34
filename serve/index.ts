/**
 * `driftplane serve`: one HTTP server for everything a person or a webhook reaches. Each endpoint
 * family is one module (serve/health.ts, serve/slack/, serve/github/; later serve/dashboard/,
 * serve/metrics/): add it to the list in {@link startDriftplaneServer}.
 */
import type { ApprovalStatement, SignedStatement } from '../domain/signing/statement';
import type { Config } from '../workers/config';
import { healthModule } from './health';
import { startServer, type RunningServer } from './server';
import { slackFromConfig } from './slack';
import { githubFromConfig } from './github';

export { buildServer, startServer, type ServeModule, type RunningServer } from './server';

/** The default bind address: loopback, unless told otherwise (`--host 0.0.0.0` in a container). */
export const DEFAULT_SERVE_HOST = '127.0.0.1';

/** Starts `driftplane serve` with every module; `close()` stops it and waits for work in flight. */
export async function startDriftplaneServer(
  config: Config,
  listen: { host?: string; port?: number } = {},
  opts: { log?: (line: string) => void; sign?: (s: ApprovalStatement) => SignedStatement } = {},
): Promise<RunningServer> {
  const slack = slackFromConfig(config, opts);
  const github = githubFromConfig(config, opts.log ? { log: opts.log } : {});
  const server = await startServer([healthModule, slack.module, github.module], {
    host: listen.host ?? DEFAULT_SERVE_HOST,
    port: listen.port ?? config.servePort,
  });
  return {
    ...server,
    close: async () => {
      await server.close();
      await slack.close();
      await github.close();
    },
  };
}
