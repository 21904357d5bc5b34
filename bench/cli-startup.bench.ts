// CLI start-up: how long `driftplane` takes to answer, against `node -e 0` measured in the same run.
//
// Builds dist/ from the current sources into a temporary folder (scripts/build-dist.mjs, what
// `npm ci` runs), then times, alternating so that every command sees the same machine noise:
//   - `node -e 0`                                             the baseline
//   - `driftplane --version` from dist/                        target ≤ 4× the baseline
//   - `driftplane registry validate registry/examples/acme`    target ≤ 8× the baseline
// and, for comparison, the same two commands from the sources through tsx (bin/driftplane.cjs in
// the checkout). Prints medians, ratios and how many modules each command loads.
//
// Run: npx tsx bench/cli-startup.bench.ts [--runs N]   (or via `npm run bench cli-startup`)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const repoRoot = path.resolve(__dirname, '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
/** tsx compiles on every start (its cache helps, not much): fewer runs keep the bench short. */
const SOURCE_RUNS = Math.max(3, Math.ceil(RUNS / 3));
const ACME = path.join(repoRoot, 'registry', 'examples', 'acme');

interface Case {
  label: string;
  args: string[];
  runs: number;
  /** Ratio to the baseline this case must stay under (dist only). */
  target?: number;
}

/** Runs a command once and returns its wall time in ms; a failing command fails the bench. */
function timeOnce(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** How many modules (files and built-ins) a command loads: counted by a preloaded hook in a separate run. */
function modulesLoaded(args: string[], hook: string): number {
  const r = spawnSync(process.execPath, ['--require', hook, ...args], { cwd: repoRoot, encoding: 'utf8' });
  const m = /modules-loaded (\d+)/.exec(r.stderr);
  return m ? Number(m[1]) : NaN;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function main(): void {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'driftplane-cli-bench-'));
  try {
    const dist = path.join(tmp, 'dist');
    const built = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-dist.mjs'), dist], {
      stdio: 'inherit',
    });
    if (built.status !== 0) throw new Error('the build failed');
    // dist/ resolves packages from the folder above it, as it does in a checkout or the image.
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(tmp, 'node_modules'), 'dir');
    const hook = path.join(tmp, 'count-modules.cjs');
    writeFileSync(
      hook,
      `const Module = require('node:module'); const seen = new Set(); const load = Module._load;
Module._load = function (request, parent, isMain) { seen.add(isMain || !parent ? request : Module._resolveFilename(request, parent, isMain)); return load.apply(this, arguments); };
process.on('exit', () => process.stderr.write('modules-loaded ' + seen.size + '\\n'));\n`,
    );

    const distBin = path.join(dist, 'bin', 'driftplane.cjs');
    const srcBin = path.join(repoRoot, 'bin', 'driftplane.cjs');
    const baseline: Case = { label: 'node -e 0', args: ['-e', '0'], runs: RUNS };
    const cases: Case[] = [
      { label: 'dist    driftplane --version', args: [distBin, '--version'], runs: RUNS, target: 4 },
      {
        label: 'dist    driftplane registry validate acme',
        args: [distBin, 'registry', 'validate', ACME],
        runs: RUNS,
        target: 8,
      },
      { label: 'sources driftplane --version (tsx)', args: [srcBin, '--version'], runs: SOURCE_RUNS },
      {
        label: 'sources driftplane registry validate acme (tsx)',
        args: [srcBin, 'registry', 'validate', ACME],
        runs: SOURCE_RUNS,
      },
    ];

    // Warm the file cache and tsx's transform cache, then alternate: baseline, then each case, per round.
    for (const c of [baseline, ...cases]) timeOnce(c.args);
    const times = new Map<Case, number[]>([baseline, ...cases].map((c) => [c, []]));
    for (let round = 0; round < RUNS; round++) {
      for (const c of [baseline, ...cases]) if (round < c.runs) times.get(c)!.push(timeOnce(c.args));
    }

    const base = median(times.get(baseline)!);
    const lines = [`baseline: node -e 0 in ${base.toFixed(0)} ms (median of ${RUNS})`];
    let over = false;
    for (const c of cases) {
      const ms = median(times.get(c)!);
      const ratio = ms / base;
      const verdict =
        c.target === undefined
          ? ''
          : ratio <= c.target
            ? `  (target <= ${c.target}x) OK`
            : `  (target <= ${c.target}x) OVER TARGET`;
      if (c.target !== undefined && ratio > c.target) over = true;
      lines.push(
        `${c.label.padEnd(48)} ${ms.toFixed(0).padStart(6)} ms  ratio ${ratio.toFixed(2).padStart(6)}x  ` +
          `${String(modulesLoaded(c.args, hook)).padStart(4)} modules  (median of ${c.runs})${verdict}`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    if (over) process.exitCode = 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
