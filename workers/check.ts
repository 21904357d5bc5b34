/**
 * The start check (`node dist/workers/main.js --check`, `driftplane serve --check`): everything a
 * worker or `serve` needs before it can run, checked once, then the process exits. Kubernetes and
 * compose run it before the real start (docs/deploy.md), and test/unit/dist-start.test.ts runs it
 * from a folder holding only what the Dockerfile copies: a missing compiled module, package, data
 * file or folder fails here, with a named error, instead of at the first lifecycle.
 *
 * Checked: the compiled modules load (the caller imports them first); the workflow code; the
 * registry; the decision table; the ledger's migrations and its database; the data folders are
 * writable; an S3 evidence store answers with Object Lock on; Temporal answers and the namespace
 * exists. The OpenTofu binary is only a warning: only units with plan detection or state executors
 * need it.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError, ToolError } from '../domain/errors';
import { openEvidenceStore } from '../evidence/open';
import { S3EvidenceStore } from '../evidence/s3-store';
import { loadMigrations, MIGRATIONS_DIR } from '../ledger/migrate';
import { openDb, redactUrl } from '../ledger/db';
import { loadRegistry } from '../registry';
import { loadDecisionTableWith } from '../registry/decision-table';
import type { Config } from './config';
import { connectTemporalClient, connectTemporalWorker, type TemporalConnection } from './connection';
import { WorkerExitCode } from './report-error';
import { boundaryTaskQueue } from './task-queues';

/** Temporal did not answer at the configured address (or refused the connection's TLS or API key). */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Temporal answered, but the configured namespace does not exist there. */
export class NamespaceNotFoundError extends Error {
  override readonly name = 'NamespaceNotFoundError';
  constructor(
    readonly namespace: string,
    readonly describe: string,
  ) {
    super(`namespace "${namespace}" does not exist on Temporal at ${describe}`);
  }
}

/** A folder the process must write (its home, evidence) cannot be created or written. */
export class FolderNotWritableError extends Error {
  override readonly name = 'FolderNotWritableError';
  constructor(
    readonly folder: string,
    cause: unknown,
  ) {
    super(`${folder} is not writable: ${(cause as Error).message}`);
  }
}

/** A file the process reads at start (the workflow bundle, migrations, the decision table) is missing or unreadable. */
export class MissingFileError extends Error {
  override readonly name = 'MissingFileError';
}

/** Who is checked: the worker entrypoint or `driftplane serve`. */
export type CheckRole = 'worker' | 'serve';

/** One line of the check. `warn` never fails it. */
export interface CheckItem {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** The named error of a failed or warned item. */
  error?: string;
  hint?: string;
}

/** What the check found. `ok` is false when any item failed. */
export interface CheckReport {
  role: CheckRole;
  ok: boolean;
  items: CheckItem[];
}

/**
 * Connects to Temporal the way the role does (the worker through Core's NativeConnection, `serve`
 * through the client), asks for the server's version and describes the namespace, then closes.
 * Throws TemporalUnreachableError or NamespaceNotFoundError; returns one line for the report.
 */
export async function checkTemporal(conn: TemporalConnection, role: CheckRole): Promise<string> {
  let connection:
    Awaited<ReturnType<typeof connectTemporalWorker>> | Awaited<ReturnType<typeof connectTemporalClient>>;
  try {
    // The client waits for the channel until its deadline; a refused port fails at once either way.
    connection =
      role === 'worker'
        ? await connectTemporalWorker(conn)
        : await connectTemporalClient(conn, { connectTimeout: '5s' });
  } catch (err) {
    throw new TemporalUnreachableError(
      (err as Error).message,
      err instanceof ToolError ? err.hint : undefined,
    );
  }
  try {
    const info = await connection.workflowService.getSystemInfo({});
    try {
      await connection.workflowService.describeNamespace({ namespace: conn.namespace });
    } catch (err) {
      // gRPC NOT_FOUND: the server is fine, the namespace is not there.
      if ((err as { code?: number }).code === 5)
        throw new NamespaceNotFoundError(conn.namespace, conn.describe);
      throw err;
    }
    return `${conn.describe}: server ${info.serverVersion || 'version unknown'}, namespace ${conn.namespace} found (${role === 'worker' ? 'worker' : 'client'} connection)`;
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) throw err;
    throw new TemporalUnreachableError(
      `Temporal at ${conn.describe} answered the connection but not the call: ${(err as Error).message}`,
    );
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Creates the folder if needed and writes and removes a probe file in it, as the process will. */
function probeWritable(folder: string): void {
  try {
    mkdirSync(folder, { recursive: true });
    const probe = path.join(folder, `.driftplane-check-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new FolderNotWritableError(folder, err);
  }
}

/** Where `name` would run from: an absolute or relative path as given, else the first executable on PATH. */
function onPath(name: string): string | undefined {
  const candidates = name.includes('/')
    ? [path.resolve(name)]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, name));
  return candidates.find((f) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  });
}

/** The promise's value, or a rejection after `ms` (the promise keeps running; the process exits after the check). */
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ToolError(message)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function item(
  items: CheckItem[],
  name: string,
  run: () => string | Promise<string>,
  failAs: 'fail' | 'warn' = 'fail',
): Promise<void> {
  try {
    items.push({ name, status: 'ok', detail: await run() });
  } catch (err) {
    const e = err as Error & { hint?: string };
    items.push({
      name,
      status: failAs,
      detail: e.message,
      error: e.name,
      ...(e.hint ? { hint: e.hint } : {}),
    });
  }
}

/**
 * Runs every check for the role and returns the report; never throws for what it checks (a bad
 * configuration is thrown by loadConfig before it). `loadModules` loads what the role runs and
 * says what it loaded. Temporal comes last: the other lines stay useful when it is down.
 */
export async function runStartCheck(
  role: CheckRole,
  config: Config,
  opts: { loadModules?: () => string } = {},
): Promise<CheckReport> {
  const items: CheckItem[] = [];
  await item(items, 'config', () => {
    if (role === 'serve')
      return `environment read; Temporal ${config.temporal.describe}; control queue ${config.taskQueue}`;
    if (!config.control && config.boundaries.length === 0)
      throw new InputError('nothing to run: DRIFTPLANE_CONTROL=false and no DRIFTPLANE_BOUNDARIES', {
        file: 'environment',
        field: 'DRIFTPLANE_BOUNDARIES',
      });
    const queues = [
      ...(config.control ? [`${config.taskQueue} (control)`] : []),
      ...config.boundaries.map((b) => `${boundaryTaskQueue(config.taskQueue, b)} (boundary ${b})`),
    ];
    return `environment read; Temporal ${config.temporal.describe}; polls ${queues.join(', ')}`;
  });
  // The role's whole module graph, as its start loads it: a compiled file or a package the image lacks fails here.
  if (opts.loadModules) await item(items, 'modules', opts.loadModules);
  if (role === 'worker') {
    await item(items, 'workflow code', () => {
      if (!config.control)
        return 'not needed: no control worker (DRIFTPLANE_CONTROL=false); boundary queues carry activities only';
      if (!config.workflowBundle)
        return 'no DRIFTPLANE_WORKFLOW_BUNDLE: the worker bundles the workflow sources at start (development only)';
      if (!existsSync(config.workflowBundle))
        throw new MissingFileError(
          `DRIFTPLANE_WORKFLOW_BUNDLE=${config.workflowBundle} does not exist (npm run build:bundle)`,
        );
      return `prebuilt bundle ${config.workflowBundle} (${Math.round(statSync(config.workflowBundle).size / 1024)} KiB)`;
    });
  }
  // The worker stops on a registry it cannot read (its redaction patterns); `serve` only reads approvers from it.
  await item(
    items,
    'registry',
    async () => {
      const loaded = await loadRegistry(config.registryDir);
      if (!loaded.ok) {
        const first = loaded.errors[0];
        throw new MissingFileError(
          `${config.registryDir}: ${loaded.errors.length} problem(s); first: ${first?.file}:${first?.line ?? '?'} ${first?.message}`,
        );
      }
      return `${config.registryDir}: ${loaded.registry.units.size} unit(s)`;
    },
    role === 'worker' ? 'fail' : 'warn',
  );
  if (role === 'worker') {
    await item(items, 'decision table', () => {
      loadDecisionTableWith(config.decisionTableFile);
      return config.decisionTableFile ?? 'the built-in table';
    });
  }
  await item(items, 'ledger', async () => {
    const migrations = loadMigrations();
    if (migrations.length === 0) throw new MissingFileError(`no migrations in ${MIGRATIONS_DIR}`);
    const where = redactUrl(config.ledger.url);
    if (config.ledger.url.startsWith('pglite:')) {
      // PGlite serves one process: opening it here would take the running process's lock. Its folder must be writable.
      const folder = config.ledger.url.slice('pglite:'.length);
      if (folder !== 'memory') probeWritable(path.resolve(folder));
      return `${migrations.length} migration(s); ${where} (embedded, folder writable)`;
    }
    // pg has no connect timeout of its own: a host that drops packets would hold the check forever.
    const db = await withTimeout(
      openDb(config.ledger.url, { maxConnections: 1 }),
      10_000,
      `no answer from ${where} within 10s`,
    );
    await db.close();
    return `${migrations.length} migration(s); ${where} answers`;
  });
  await item(items, 'data folders', () => {
    const folders = role === 'worker' ? [config.home, config.evidenceDir] : [config.home];
    for (const f of folders) probeWritable(f);
    return `${folders.join(', ')} writable`;
  });
  if (role === 'worker') {
    // An S3 store must exist, answer, and have Object Lock: without it no record could be locked.
    await item(items, 'evidence store', async () => {
      const store = openEvidenceStore(config.evidence);
      if (!(store instanceof S3EvidenceStore)) return `${config.evidence.url} (a folder; checked above)`;
      await withTimeout(store.check(), 10_000, `no answer from ${config.evidence.url} within 10s`);
      return `${config.evidence.url}: Object Lock enabled`;
    });
    await item(
      items,
      'tofu',
      () => {
        const found = onPath(config.reconcile.tofuBinary);
        if (!found)
          throw new MissingFileError(
            `\`${config.reconcile.tofuBinary}\` not found: plan detection and OpenTofu state executors will fail (DRIFTPLANE_TOFU_BIN)`,
          );
        return found;
      },
      'warn',
    );
  }
  await item(items, 'temporal', () => checkTemporal(config.temporal, role));
  return { role, ok: items.every((i) => i.status !== 'fail'), items };
}

/** The exit code of a check: 0 ready, 1 when the configuration itself is wrong, 3 when something it needs is not there. */
export function checkExitCode(report: CheckReport): WorkerExitCode {
  if (report.ok) return WorkerExitCode.ok;
  return report.items.some((i) => i.status === 'fail' && i.error === 'InputError')
    ? WorkerExitCode.invalidInput
    : WorkerExitCode.failed;
}

/** The report for a person: one line per check, hints under failures, and the verdict. */
export function renderCheckReport(report: CheckReport): string {
  const lines = [`driftplane ${report.role} --check`];
  for (const i of report.items) {
    lines.push(
      `  ${(i.status === 'fail' ? 'FAIL' : i.status).padEnd(5)} ${i.name.padEnd(15)} ${i.error ? `${i.error}: ` : ''}${i.detail}`,
    );
    if (i.hint) lines.push(`        ${''.padEnd(15)} hint: ${i.hint}`);
  }
  const failed = report.items.filter((i) => i.status === 'fail').length;
  lines.push(report.ok ? 'ready' : `not ready: ${failed} check(s) failed`);
  return `${lines.join('\n')}\n`;
}
