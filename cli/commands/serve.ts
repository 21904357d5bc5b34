import type { Command } from 'commander';
import { InputError, ToolError } from '../../domain/errors';
import type * as Serve from '../../serve';
import type * as Check from '../../workers/check';
import { loadConfig } from '../../workers/config';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson } from '../output';
import { runAction } from '../run-action';

const log = (line: string) => writeErr(`${line}\n`);

// The HTTP framework loads only when the server starts: every other command stays light.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lazyServe = () => require('../../serve') as typeof Serve;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lazyCheck = () => require('../../workers/check') as typeof Check;

/**
 * `serve --check`: the configuration, the server's modules, the registry, the ledger, the data
 * folder and Temporal, checked once (workers/check.ts); prints the report and returns 0 ready or 3.
 */
async function checkServe(json: boolean): Promise<ExitCode> {
  const config = loadConfig();
  const { runStartCheck, renderCheckReport, checkExitCode } = lazyCheck();
  const report = await runStartCheck('serve', config, {
    loadModules: () => {
      lazyServe();
      return `the server's modules load (${Object.keys(require.cache).length} files)`;
    },
  });
  if (json) writeJson(report);
  else writeErr(renderCheckReport(report));
  // The check's codes are the CLI's: 0 ready, 1 invalid configuration, 3 not ready.
  return checkExitCode(report);
}

/** Parses `--port`: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535)
    throw new InputError(`--port: expected a port number from 0 to 65535, got ${value}`, { field: '--port' });
  return Number(value);
}

/** Starts `driftplane serve` and returns a function that stops it; shared by `serve`, `dev` and the demo. */
export async function startServe(
  opts: { host?: string; port?: number } = {},
  config = loadConfig(),
): Promise<{ url: string; close(): Promise<void> }> {
  const { startDriftplaneServer, DEFAULT_SERVE_HOST } = lazyServe();
  const host = opts.host ?? DEFAULT_SERVE_HOST;
  const port = opts.port ?? config.servePort;
  try {
    return await startDriftplaneServer(config, { host, port }, { log });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ToolError(
        `cannot listen on ${host}:${port}: ${code}`,
        'choose another port with --port or DRIFTPLANE_SERVE_PORT',
      );
    }
    throw err;
  }
}

/** `serve`: the HTTP server for the dashboard, /metrics, Slack interactivity, GitHub webhooks and health checks. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the driftplane HTTP server: the dashboard at / (executive, /platform, /owner?team=, /security, /findings/<id>; ' +
        'sign-in under /auth/), GET /metrics (Prometheus), POST /slack/interactivity (Slack buttons and the reason modal; every request ' +
        'must carry a valid Slack signature), POST /github/webhook (pull_request closed: merged or not, to the ' +
        "finding's lifecycle; X-Hub-Signature-256 checked first) and GET /healthz. Binds to 127.0.0.1 unless --host says otherwise.",
    )
    .option(
      '--port <n>',
      'port to listen on (default: $DRIFTPLANE_SERVE_PORT, else 8787; 0 picks a free port)',
    )
    .option('--host <address>', 'address to bind (default 127.0.0.1; 0.0.0.0 inside a container)')
    .option(
      '--check',
      'check the configuration, modules, ledger, data folder and Temporal, print the report and exit (0 ready, 1 invalid configuration, 3 not ready)',
    )
    .option(
      '--json',
      'with --check: print the report as JSON ({ "role", "ok", "items": [ { "name", "status", "detail", "error"? } ] })',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  driftplane serve\n' +
        '  driftplane serve --port 9000\n' +
        '  driftplane serve --host 0.0.0.0            # in a container, behind a TLS-terminating proxy\n' +
        '  driftplane serve --check                   # ready to start? (configuration, ledger, Temporal), then exit\n' +
        '  curl http://127.0.0.1:8787/healthz\n' +
        '  curl -s http://127.0.0.1:8787/metrics | grep driftplane_open_findings\n' +
        '  DRIFTPLANE_DASHBOARD_DEV_USER=priya.nair@acme.example driftplane serve   # answer from the dashboard on this machine\n\n' +
        'Settings: SLACK_SIGNING_SECRET (verifies requests), SLACK_BOT_TOKEN (views.open, chat.postEphemeral), ' +
        'SLACK_API_URL (another Web API base URL), DRIFTPLANE_REGISTRY (Slack user ids of approvers), TEMPORAL_ADDRESS, ' +
        'DRIFTPLANE_LEDGER_URL (the ledger the dashboard and /metrics read), DRIFTPLANE_OIDC_ISSUER/_CLIENT_ID/_CLIENT_SECRET_FILE ' +
        'and DRIFTPLANE_DASHBOARD_URL (dashboard sign-in, docs/dashboard.md).\n' +
        'Slack app: set the Interactivity Request URL to https://<your host>/slack/interactivity.\n' +
        'GitHub: a webhook to https://<your host>/github/webhook, content type application/json, the secret in ' +
        'GITHUB_WEBHOOK_SECRET, events "Pull requests" (docs/github.md).',
    )
    .action(
      runAction(async (opts: { port?: string; host?: string; check?: boolean; json?: boolean }) => {
        if (opts.check) return checkServe(opts.json === true);
        const config = loadConfig();
        const server = await startServe(
          {
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.port !== undefined ? { port: parsePort(opts.port) } : {}),
          },
          config,
        );
        log(`driftplane serve listening at ${server.url} (dashboard at /, GET /metrics, GET /healthz, POST /slack/interactivity, POST /github/webhook)`);
        if (!config.github.webhookSecret) log('GITHUB_WEBHOOK_SECRET is not set: /github/webhook answers 503');
        if (!config.slack.signingSecret)
          log('SLACK_SIGNING_SECRET is not set: /slack/interactivity answers 503');
        else if (!config.slack.botToken)
          log('SLACK_BOT_TOKEN is not set: buttons cannot open the reason modal; replies go to this log');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        log('stopping ...');
        await server.close();
        return ExitCode.ok;
      }),
    );
}
