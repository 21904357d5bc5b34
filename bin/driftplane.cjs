#!/usr/bin/env node
'use strict';
// The `driftplane` launcher. The build (scripts/build-dist.mjs, run by `npm ci` through `prepare`)
// copies this file to dist/bin/, next to the compiled CLI: there it runs dist/cli/main.js, and
// nothing else loads until a command does. In a checkout, bin/driftplane.cjs runs the TypeScript
// sources through tsx, so tests, `npm run demo` and `npm run dev` always run what is on disk.
const { existsSync } = require('node:fs');
const path = require('node:path');

const compiled = path.join(__dirname, '..', 'cli', 'main.js');
if (existsSync(compiled)) {
  require(compiled).main();
} else {
  require('tsx/cjs');
  require('../cli/main.ts').main();
}
