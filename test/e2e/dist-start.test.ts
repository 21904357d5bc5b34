// The honest image test (issue 13 §4). There is no Docker engine here, so the image is rebuilt as
// folders from the Dockerfile itself (test/support/dockerfile-emulator.ts): the build stage copies
// the sources its COPY lines name and runs its RUN lines (`npm run build`, the workflow bundle), the
// deps stage links the production packages, and the runtime stage gets exactly what its COPY lines
// name, its ENV, and its data folders made and owned as its RUN line says. Then the worker's CMD
// and compose's `serve` command run with --check from there, as the `node` user when this runs
// as root: against the dev server they connect and exit 0; against a closed port they explain and
// exit 3. A Dockerfile that forgets what the runtime needs fails here (the last tests prove it).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import type { CheckReport } from '../../workers/check';
import { emulateImage, parseDockerfile, type EmulatedImage } from '../support/dockerfile-emulator';
import { repoRoot } from '../support/shared-fixtures';

const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');
const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { image?: string; command?: string[] }>;
};
// The image runs as `node` (uid 1000 in the official Node images); only root can switch to it here.
const runAsNode = process.getuid?.() === 0 ? { uid: 1000, gid: 1000 } : undefined;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'driftplane-dist-start-'));
const stageCache = new Map<string, { root: string; workdir: string }>();
let image: EmulatedImage;
let closedPort: number;

/** Builds the image from a Dockerfile text into its own folder (build stages reused while unchanged). */
function build(text: string, name: string): EmulatedImage {
  return emulateImage(text, {
    context: repoRoot,
    into: path.join(tmp, name),
    stageCache,
    ...(runAsNode ? { runAsNode } : {}),
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command of the image with --check --json from its WORKDIR, with only the image's environment. */
function runCheck(img: EmulatedImage, command: string[], temporalAddress: string): Promise<Run> {
  const [exe, ...args] = command;
  expect(exe).toBe('node');
  const env = {
    ...img.env,
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: path.join(img.rootfs, 'home/node'),
    TMPDIR: path.join(img.rootfs, 'tmp'),
    TEMPORAL_ADDRESS: temporalAddress,
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '--check', '--json'], {
      cwd: img.workdir,
      env,
      ...(runAsNode ?? {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const reportOf = (r: Run): CheckReport => {
  try {
    return JSON.parse(r.stdout) as CheckReport;
  } catch {
    throw new Error(`no JSON report (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
};
const statusOf = (report: CheckReport) => Object.fromEntries(report.items.map((i) => [i.name, i.status]));

const workerCommand = () => image.cmd;
const serveCommand = () => compose.services.serve!.command!;

beforeAll(async () => {
  chmodSync(tmp, 0o755);
  image = build(dockerfile, 'image');
  closedPort = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}, 240_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the image, rebuilt from the Dockerfile', () => {
  it('has a build stage, a production-dependencies stage and a runtime stage that runs compiled JS as node', () => {
    const stages = parseDockerfile(dockerfile);
    expect(stages.map((s) => s.name)).toEqual(['tofu', 'build', 'deps', '3']);
    expect(image.user).toBe('node');
    expect(image.cmd).toEqual(['node', 'dist/workers/main.js']);
    // Compose runs the worker and `serve` from this one image.
    expect(compose.services.serve!.image).toBe(compose.services['driftplane-worker']!.image);
    expect(serveCommand().slice(0, 3)).toEqual(['node', 'dist/bin/driftplane.cjs', 'serve']);
    // Only the OpenTofu binary (a download) is not rebuilt here.
    expect(image.skipped).toEqual([
      expect.stringMatching(/^stage tofu/),
      expect.stringMatching(/COPY --from=tofu \/usr\/local\/bin\/tofu/),
    ]);
  });

  it('holds no TypeScript sources and no dev dependencies', () => {
    const app = image.workdir;
    expect(readFileSync(path.join(app, 'dist/workers/main.js'), 'utf8')).toContain('runStartCheck');
    for (const src of ['domain', 'workers', 'cli', 'tsconfig.json'])
      expect(existsSync(path.join(app, src)), src).toBe(false);
    for (const dev of ['tsx', 'esbuild', 'vitest', 'typescript'])
      expect(existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
    // Production dependencies are there.
    for (const dep of ['@temporalio/worker', 'zod', 'commander'])
      expect(existsSync(path.join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
  });

  it('the worker entrypoint connects to the dev server and exits 0 with --check', async () => {
    const r = await runCheck(image, workerCommand(), inject('temporalAddress'));
    const report = reportOf(r);
    expect(r.code, r.stderr).toBe(0);
    expect(report.ok).toBe(true);
    expect(statusOf(report)).toEqual({
      config: 'ok',
      modules: 'ok',
      'workflow code': 'ok',
      registry: 'ok',
      'decision table': 'ok',
      ledger: 'ok',
      'data folders': 'ok',
      // The evidence folder (an S3 store would be asked for its Object Lock here).
      'evidence store': 'ok',
      // No OpenTofu on this machine; the image copies it from its own stage.
      tofu: expect.stringMatching(/^(ok|warn)$/),
      temporal: 'ok',
    });
    expect(report.items.find((i) => i.name === 'workflow code')!.detail).toContain(
      path.join(image.rootfs, 'app/build/workflow-bundle.js'),
    );
    expect(report.items.find((i) => i.name === 'data folders')!.detail).toContain(
      path.join(image.rootfs, 'var/lib/driftplane'),
    );
  });

  it('`serve` connects to the dev server and exits 0 with --check', async () => {
    const r = await runCheck(image, serveCommand(), inject('temporalAddress'));
    const report = reportOf(r);
    expect(r.code, r.stderr).toBe(0);
    expect(statusOf(report)).toEqual({
      config: 'ok',
      modules: 'ok',
      registry: 'ok',
      ledger: 'ok',
      'data folders': 'ok',
      temporal: 'ok',
    });
  });

  it.each([
    ['the worker', workerCommand],
    ['serve', serveCommand],
  ])('%s explains a closed Temporal port and exits 3', async (_who, command) => {
    const r = await runCheck(image, command(), `127.0.0.1:${closedPort}`);
    const report = reportOf(r);
    expect(r.code).toBe(3);
    expect(report.ok).toBe(false);
    const temporal = report.items.find((i) => i.name === 'temporal')!;
    expect(temporal).toMatchObject({ status: 'fail', error: 'TemporalUnreachableError' });
    expect(temporal.detail).toContain(`127.0.0.1:${closedPort}`);
    expect(temporal.hint).toMatch(/TEMPORAL_ADDRESS/);
    expect(report.items.filter((i) => i.status === 'fail').map((i) => i.name)).toEqual(['temporal']);
  });
});

describe('a Dockerfile that forgets what the runtime needs fails the test', () => {
  it('without the workflow bundle, the worker is not ready', async () => {
    const broken = dockerfile.replace(/^COPY --from=build \/app\/build\/workflow-bundle\.js .*$/m, '');
    expect(broken).not.toBe(dockerfile);
    const r = await runCheck(build(broken, 'no-bundle'), workerCommand(), inject('temporalAddress'));
    expect(r.code).toBe(3);
    expect(reportOf(r).items.find((i) => i.name === 'workflow code')).toMatchObject({
      status: 'fail',
      error: 'MissingFileError',
    });
  });

  it('without the production dependencies, nothing loads', async () => {
    const broken = dockerfile.replace(/^COPY --from=deps .*$/m, '');
    expect(broken).not.toBe(dockerfile);
    const r = await runCheck(build(broken, 'no-deps'), workerCommand(), inject('temporalAddress'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Cannot find module '(zod|commander|@temporalio\/[a-z-]+|@aws-sdk\/[a-z0-9-]+|yaml)'/);
  });

  it.runIf(runAsNode)(
    'without its data folder made and owned for node, the worker cannot write and is not ready',
    async () => {
      const broken = dockerfile.replace(/^RUN mkdir -p .*chown .*$/m, '');
      expect(broken).not.toBe(dockerfile);
      const r = await runCheck(build(broken, 'no-data-folder'), workerCommand(), inject('temporalAddress'));
      expect(r.code).toBe(3);
      const report = reportOf(r);
      expect(report.items.find((i) => i.name === 'data folders')).toMatchObject({
        status: 'fail',
        error: 'FolderNotWritableError',
      });
    },
  );

  it('without a source folder in the build stage, the build fails', () => {
    const broken = dockerfile.replace(/^COPY evidence \.\/evidence$/m, '');
    expect(broken).not.toBe(dockerfile);
    expect(() => build(broken, 'no-evidence')).toThrow(/RUN npm run build failed: .*evidence/s);
  });
});
