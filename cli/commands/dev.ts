import type { Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { loadConfig, type Config } from '../../workers/config';
import type * as CreateWorker from '../../workers/create-worker';
import type { DriftplaneWorker } from '../../workers/create-worker';
import type * as Telemetry from '../../workers/telemetry';
import { provisionApproverKeys } from '../approver-keys';
import { renderDemo, runDemo } from '../demo';
import { awsSandboxPaths, DEMO_AWS, DEMO_AWS_CREDENTIALS } from '../demo-aws-sandbox';
import { startMotoServer, type MotoServer } from '../moto-server';
import { ensureDevServer, type DevServer } from '../dev-server';
import { ExitCode } from '../exit-codes';
import { writeErr, writeJson, writeOut } from '../output';
import { runAction } from '../run-action';
import { startServe } from './serve';
import { connectClient, ensureSearchAttributes } from '../temporal';

const log = (line: string) => writeErr(`${line}\n`);

// The worker SDK and the activities load only when a worker starts: every other command stays light.
/* eslint-disable @typescript-eslint/no-require-imports */
const lazyCreateWorker = () => (require('../../workers/create-worker') as typeof CreateWorker).createDriftplaneWorker;
const lazyTelemetry = () => require('../../workers/telemetry') as typeof Telemetry;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The Temporal Runtime of this process (workers/telemetry.ts), once, before any worker or native
 * connection: JSON logs on stderr, quiet (WARN) unless DRIFTPLANE_LOG_LEVEL asks for more, so the
 * demo's console stays readable; worker metrics when DRIFTPLANE_WORKER_METRICS_ADDRESS is set.
 */
function installDevRuntime(config: Config): void {
  lazyTelemetry().installRuntime(config, { level: process.env.DRIFTPLANE_LOG_LEVEL ? config.telemetry.logLevel : 'warn' });
}

/** Starts (or finds) the Temporal server, registers the search attributes and starts a worker. */
async function startStack(config: Config, opts: { headless?: boolean; onStop?: () => Promise<void>; servePort?: number }) {
  const stopExtras = async () => {
    await opts.onStop?.().catch(() => undefined);
  };
  const server: DevServer = await ensureDevServer({
    address: config.temporalAddress,
    home: config.home,
    dbFile: path.join(config.home, 'temporal.db'),
    ...(opts.headless ? { headless: true } : {}),
  });
  log(server.started ? `started the Temporal dev server at ${server.address}` : `using the Temporal server at ${server.address}`);
  // Never leave a server we started running behind: not on failure, not on Ctrl-C mid-run.
  const onSignal = (signal: NodeJS.Signals) => {
    void Promise.allSettled([server.stop(), stopExtras()]).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let connection: Connection | undefined;
  try {
    const connected = await connectClient(config.temporalAddress, config.namespace);
    connection = connected.connection;
    const added = await ensureSearchAttributes(connection, config.namespace);
    if (added.length) log(`registered search attributes: ${added.join(', ')}`);
    installDevRuntime(config);
    const w: DriftplaneWorker = await lazyCreateWorker()(config);
    // Every worker of this process: the control queue, and one per declared credential boundary.
    const running = w.run();
    log(`worker polling task queue(s) ${w.workers.map((x) => x.taskQueue).join(', ')}; evidence in ${config.evidence.url}`);
    // `driftplane serve` beside the worker (Slack interactivity, /healthz); a busy port is a warning, not a failure.
    const quietConfig: Config = process.env.DRIFTPLANE_LOG_LEVEL ? config : { ...config, telemetry: { ...config.telemetry, logLevel: 'warn' } };
    const served = await startServe({ port: opts.servePort ?? config.servePort }, quietConfig).catch((err: unknown) => void log(`driftplane serve not started: ${(err as Error).message}`));
    if (served) log(`driftplane serve at ${served.url}`);
    const releaseSignals = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    const stop = async () => {
      releaseSignals();
      await served?.close().catch(() => undefined);
      w.shutdown();
      await running.catch(() => undefined);
      await w.close();
      await connected.connection.close();
      await server.stop();
      await stopExtras();
    };
    return { server, client: connected.client, stop, running, releaseSignals, ...(served ? { serveUrl: served.url } : {}) };
  } catch (err) {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await connection?.close();
    await server.stop();
    await stopExtras();
    throw err;
  }
}

/** Waits for Ctrl-C (or SIGTERM) to stop the stack gracefully instead of at once. */
function waitForCtrlC(stack: { releaseSignals(): void }): Promise<void> {
  stack.releaseSignals();
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}

/** `dev` and `demo`. */
export function registerDevCommands(program: Command): void {
  program
    .command('dev')
    .description(
      'Run driftplane locally: the Temporal dev server with its UI (started only if nothing answers at TEMPORAL_ADDRESS, ' +
        'state kept in $DRIFTPLANE_HOME/temporal.db) and a worker. Ctrl-C stops what it started.',
    )
    .option('--headless', 'start the dev server without its web UI')
    .action(
      runAction(async (opts: { headless?: boolean }) => {
        const config = loadConfig();
        const stack = await startStack(config, opts);
        if (stack.server.uiUrl) log(`Temporal UI: ${stack.server.uiUrl}`);
        log('ready; press Ctrl-C to stop');
        await Promise.race([waitForCtrlC(stack), stack.running]);
        log('stopping ...');
        await stack.stop();
        return ExitCode.ok;
      }),
    );

  program
    .command('demo')
    .description(
      'Run the demo end to end: start what it needs, make out-of-band changes in a sandbox, detect them, ' +
        'classify, route, approve through the CLI, reconcile and verify, then print a summary.',
    )
    .option('--json', 'print { "findings": [ { "findingId", "stage", "evidencePath", ... } ] } on stdout')
    .option('--keep-running', 'keep the server and worker up after the summary (default when run in a terminal)')
    .option('--no-keep-running', 'stop everything after the summary')
    .addHelpText('after', '\nThe demo uses registry/examples/acme and keeps its sandbox, evidence and Temporal state in $DRIFTPLANE_HOME (./.driftplane).')
    .action(
      runAction(async (opts: { json?: boolean; keepRunning?: boolean }) => {
        const loaded = loadConfig();
        // The demo's people sign their answers: a copy of the registry with an SSH key per person (private keys stay in $DRIFTPLANE_HOME).
        const approverKeys = await provisionApproverKeys(loaded.registryDir, path.join(loaded.home, 'demo-approvers'));
        const base: Config = { ...loaded, registryDir: approverKeys.registryDir };
        // The sandbox AWS account: a real moto_server on loopback, stopped with everything else.
        const moto: MotoServer = await startMotoServer({ accountId: DEMO_AWS.account });
        log(`started moto_server (sandbox AWS account ${DEMO_AWS.account}) at ${moto.endpoint}`);
        const sandbox = awsSandboxPaths(base.home);
        const demoSigningSecret = randomBytes(32).toString('hex');
        const config: Config = {
          ...base,
          aws: {
            ...base.aws,
            endpoint: moto.endpoint,
            region: DEMO_AWS.region,
            webIdentityTokenFile: sandbox.tokenFile,
            cloudTrail: { kind: 'folder', path: sandbox.cloudTrailDir },
            baseCredentials: DEMO_AWS_CREDENTIALS,
          },
          // Slack-shaped answers are signed with a signing secret made for this run, unless one is set.
          slack: { ...base.slack, signingSecret: base.slack.signingSecret ?? (() => demoSigningSecret) },
          // Every run replays the same scripted drift on the same Temporal database: a rerun is not a
          // regression of the last run's reconciled findings (unless DRIFTPLANE_REOPEN_WINDOW says so).
          reconcile: { ...base.reconcile, reopenWindow: process.env.DRIFTPLANE_REOPEN_WINDOW ?? 'off' },
        };
        // Any free port for the demo's `driftplane serve`, unless DRIFTPLANE_SERVE_PORT names one.
        const servePort = process.env.DRIFTPLANE_SERVE_PORT ? base.servePort : 0;
        const stack = await startStack(config, { onStop: () => moto.stop(), servePort }).catch(async (err: unknown) => {
          await moto.stop();
          throw err;
        });
        let result;
        try {
          result = await runDemo(stack.client, config, log, { awsEndpoint: moto.endpoint, sshKeyFor: approverKeys.keyFor, ...(stack.serveUrl ? { serveUrl: stack.serveUrl } : {}) });
        } catch (err) {
          await stack.stop();
          throw err;
        }
        if (stack.server.uiUrl) result.temporalUiUrl = stack.server.uiUrl;
        if (stack.serveUrl) result.serveUrl = stack.serveUrl;
        if (opts.json) writeJson(result);
        else writeOut(renderDemo(result));
        const keep = opts.keepRunning ?? (process.stdout.isTTY && stack.server.started);
        if (keep && stack.server.started) {
          log(`the server and worker keep running so you can look around${stack.server.uiUrl ? ` at ${stack.server.uiUrl}` : ''}; press Ctrl-C to stop`);
          await Promise.race([waitForCtrlC(stack), stack.running]);
        }
        await stack.stop();
        const allClosed = result.findings.every((f) => f.stage === 'closed' && f.outcome === 'RECONCILED');
        return allClosed ? ExitCode.ok : ExitCode.failed;
      }),
    );
}
