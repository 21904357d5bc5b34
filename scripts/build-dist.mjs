#!/usr/bin/env node
// Compiles driftplane's TypeScript into dist/ (CommonJS for Node 20), one .js file per .ts file, and
// copies the files the code reads next to itself at run time (the default decision table, SQL
// migrations, the example registry). `npm ci` runs it through the `prepare` script.
//
// Why esbuild, file by file, and not `tsc`: tsconfig.json has `isolatedModules`, so every file
// compiles on its own with the same result; tsx, which runs the sources in tests and development,
// transpiles with this same esbuild, so dist/ and the tested sources come from one transpiler.
// Type checking stays where it is (`npm run typecheck`, part of `npm test` and CI): a build takes
// about a second and never fails `npm ci` over a type error in a test file. No bundling: each
// command's modules stay separate files, so the CLI loads only what the invoked command needs.
//
// Usage: node scripts/build-dist.mjs [outdir]   (default: dist/ at the repository root)
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist'));

/** The folders that make up the program (tests, benchmarks and scripts stay out). */
export const SOURCE_LAYERS = [
  'domain',
  'registry',
  'evidence',
  'ledger',
  'serve',
  'workflows',
  'activities',
  'workers',
  'cli',
];

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
}

const files = SOURCE_LAYERS.flatMap((layer) => walk(path.join(root, layer)));
const sources = files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
const assets = files.filter((f) => !f.endsWith('.ts'));

const started = Date.now();
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: sources,
  outdir,
  outbase: root,
  bundle: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  tsconfig: path.join(root, 'tsconfig.json'),
  // Linked maps: Node reads them only with --enable-source-maps (docs/deploy.md), so start-up pays nothing.
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const file of assets) {
  const to = path.join(outdir, path.relative(root, file));
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(file, to);
}
// The launcher finds ../cli/main.js next to itself and runs the compiled CLI (bin/driftplane.cjs).
const launcher = path.join(outdir, 'bin', 'driftplane.cjs');
mkdirSync(path.dirname(launcher), { recursive: true });
copyFileSync(path.join(root, 'bin', 'driftplane.cjs'), launcher);
chmodSync(launcher, 0o755);
process.stderr.write(
  `built ${path.relative(process.cwd(), outdir) || '.'}: ${sources.length} modules, ${assets.length} files copied, in ${Date.now() - started} ms\n`,
);
