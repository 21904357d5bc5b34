#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so a fresh clone needs no build step.
require('tsx/cjs');
const { buildProgram } = require('../cli/main.ts');
buildProgram()
  .parseAsync(process.argv)
  .catch((err) => {
    process.stderr.write(`error: ${err && err.message ? err.message : String(err)}\n`);
    process.exitCode = 3;
  });
